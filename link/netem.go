package link

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// NetemConfig describes what one direction of a path does to the packets
// that cross it, as Linux's tc netem and a bottleneck router do. The zero
// value is a perfect wire: no loss, no delay, no limit.
//
// A packet meets the impairments in this order: the MTU check, loss
// (independent, then the Gilbert–Elliott model), the bottleneck queue (Rate
// and QueueLimit), corruption, duplication, and last the propagation delay
// with its jitter, which a packet chosen for reordering skips.
type NetemConfig struct {
	// Loss is the probability that a packet is lost, independently of every
	// other packet.
	Loss float64

	// Burst adds bursty loss on top of Loss (a packet is lost if either
	// loses it). The zero value loses nothing.
	Burst GilbertElliott

	// Delay is the one-way propagation delay. Jitter spreads it uniformly
	// over [Delay-Jitter, Delay+Jitter] (never below zero), but never
	// reorders: a packet arrives no earlier than the one sent before it,
	// unless Reorder chose it.
	Delay, Jitter time.Duration

	// Reorder is the probability that a packet skips the delay and so
	// overtakes the packets in flight, as in netem. It needs Delay > 0.
	Reorder float64

	// Duplicate is the probability that a packet arrives twice; the copy
	// arrives just after the original, undamaged by Corrupt.
	Duplicate float64

	// Corrupt is the probability that one bit, chosen at random anywhere
	// in the packet, is flipped. The IPv4 and TCP checksums detect every
	// single-bit error, so a receiver drops such a packet.
	Corrupt float64

	// Rate is the bottleneck's rate in bits per second; zero means no
	// limit. Packets wait in a FIFO queue for their turn to be sent.
	Rate int64

	// QueueLimit bounds the bottleneck queue in bytes (the packet being
	// sent included); a packet that does not fit is dropped (tail drop).
	// It needs Rate. Default, when Rate is set: what the rate sends in
	// 100 ms, and at least [DefaultNetemQueueMin] bytes.
	QueueLimit int

	// MTU drops packets longer than this many bytes; zero means no limit.
	MTU int
}

// GilbertElliott is the two-state Markov model of bursty loss: the path is
// either good or bad, loses a packet with probability LossGood or LossBad
// depending on its state, and after each packet moves from good to bad
// with probability GoodToBad and from bad to good with probability
// BadToGood. With LossGood 0 and LossBad 1 (the Gilbert model) the mean
// loss burst is 1/BadToGood packets and the loss rate
// GoodToBad/(GoodToBad+BadToGood). The path starts good.
type GilbertElliott struct {
	GoodToBad, BadToGood float64
	LossGood, LossBad    float64
}

// DefaultNetemQueueMin is the smallest default bottleneck queue, in bytes:
// 64 full-sized Ethernet packets.
const DefaultNetemQueueMin = 64 * 1500

// defaultQueueTime is how long the default bottleneck queue takes to drain.
const defaultQueueTime = 100 * time.Millisecond

// Validate reports whether c makes sense: probabilities in [0, 1],
// durations, rate, queue limit and MTU not negative, Reorder only with a
// Delay, and QueueLimit only with a Rate.
func (c *NetemConfig) Validate() error { return c.validate("link: netem") }

// validate is Validate with the errors prefixed by prefix.
func (c *NetemConfig) validate(prefix string) error {
	probs := []struct {
		name string
		p    float64
	}{
		{"Loss", c.Loss},
		{"Burst.GoodToBad", c.Burst.GoodToBad},
		{"Burst.BadToGood", c.Burst.BadToGood},
		{"Burst.LossGood", c.Burst.LossGood},
		{"Burst.LossBad", c.Burst.LossBad},
		{"Reorder", c.Reorder},
		{"Duplicate", c.Duplicate},
		{"Corrupt", c.Corrupt},
	}
	for _, p := range probs {
		if !(p.p >= 0 && p.p <= 1) { // also rejects NaN
			return fmt.Errorf("%s %s is %v, not a probability in [0, 1]", prefix, p.name, p.p)
		}
	}
	switch {
	case c.Delay < 0:
		return fmt.Errorf("%s Delay %v is negative", prefix, c.Delay)
	case c.Jitter < 0:
		return fmt.Errorf("%s Jitter %v is negative", prefix, c.Jitter)
	case c.Reorder > 0 && c.Delay == 0:
		return errors.New(prefix + " Reorder needs a Delay for packets to overtake")
	case c.Rate < 0:
		return fmt.Errorf("%s Rate %d bit/s is negative", prefix, c.Rate)
	case c.QueueLimit < 0:
		return fmt.Errorf("%s QueueLimit %d bytes is negative", prefix, c.QueueLimit)
	case c.QueueLimit > 0 && c.Rate == 0:
		return errors.New(prefix + " QueueLimit needs a Rate: without one there is no queue")
	case c.MTU < 0:
		return fmt.Errorf("%s MTU %d is negative", prefix, c.MTU)
	}
	return nil
}

// NetemStats counts what a path did to the packets sent into it.
//
// Every packet sent is counted in Sent and in exactly one of TooBig, Lost,
// QueueDrops or (once per copy) Delivered, so that
// Sent = TooBig + Lost + QueueDrops + Delivered − Duplicated. Corrupted and
// Reordered count delivered packets that were also damaged or hurried.
type NetemStats struct {
	Sent       uint64 // packets sent into the path
	Delivered  uint64 // copies handed on, duplicates included
	Lost       uint64 // lost to Loss or the Gilbert–Elliott model
	QueueDrops uint64 // dropped by a full bottleneck queue
	TooBig     uint64 // dropped for being longer than the MTU
	Duplicated uint64 // packets delivered twice
	Corrupted  uint64 // packets delivered with a flipped bit
	Reordered  uint64 // packets that skipped the delay
}

// A NetemPath is one direction of an impaired path, without I/O or clock:
// [NetemPath.Send] is told the time and decides, at once, the fate of a
// packet and when its copies arrive. The same configuration and seed give
// the same fates to the same sequence of packet lengths and send times,
// because packet number i draws its random numbers from a generator seeded
// with (seed, i) alone.
//
// A NetemPath is not safe for concurrent use.
type NetemPath struct {
	cfg  NetemConfig
	seed uint64
	pcg  rand.PCG
	rng  *rand.Rand // draws from pcg
	n    uint64     // packets sent so far

	bad         bool      // Gilbert–Elliott state
	queue       []queued  // bottleneck FIFO: packets not yet fully sent
	queueBytes  int       // sum of the sizes in queue
	lastDepart  time.Time // when the bottleneck finishes its last packet
	lastArrival time.Time // arrival of the last packet not reordered

	stats NetemStats
}

type queued struct {
	depart time.Time
	size   int
}

// NewNetemPath returns a path that impairs packets as cfg says, with its
// random choices drawn from seed. It returns an error if cfg is invalid.
func NewNetemPath(cfg NetemConfig, seed uint64) (*NetemPath, error) {
	return newNetemPath(cfg, seed, "link: netem")
}

// newNetemPath is NewNetemPath with configuration errors prefixed by prefix.
func newNetemPath(cfg NetemConfig, seed uint64, prefix string) (*NetemPath, error) {
	if err := cfg.validate(prefix); err != nil {
		return nil, err
	}
	if cfg.Rate > 0 && cfg.QueueLimit == 0 {
		perQueue := int64(time.Second / defaultQueueTime)
		cfg.QueueLimit = int(max(min(cfg.Rate/8/perQueue, math.MaxInt32), DefaultNetemQueueMin))
	}
	p := &NetemPath{cfg: cfg, seed: seed}
	p.rng = rand.New(&p.pcg)
	return p, nil
}

// Config returns the path's configuration, with defaults filled in.
func (p *NetemPath) Config() NetemConfig { return p.cfg }

// Stats returns the path's counters.
func (p *NetemPath) Stats() NetemStats { return p.stats }

// Send decides the fate of pkt, sent at now, and calls deliver for each
// copy that arrives (none, one, or two), with its arrival time, in the
// order the copies arrive. Each copy is a new slice the callee may keep;
// pkt itself is not retained or modified. Calls should come with times
// that do not go backwards.
func (p *NetemPath) Send(pkt []byte, now time.Time, deliver func(at time.Time, pkt []byte)) {
	// Packet i always makes the same draws, in the same order, whatever
	// its fate, from a generator seeded by (seed, i) alone.
	p.pcg.Seed(p.seed, mix64(p.n))
	p.n++
	var (
		uLoss      = p.rng.Float64()
		uBurstLoss = p.rng.Float64()
		uBurstMove = p.rng.Float64()
		uCorrupt   = p.rng.Float64()
		uDuplicate = p.rng.Float64()
		uReorder   = p.rng.Float64()
		uJitter    = p.rng.Float64()
		bit        = p.rng.Uint64()
	)
	p.stats.Sent++
	cfg := &p.cfg

	if cfg.MTU > 0 && len(pkt) > cfg.MTU {
		p.stats.TooBig++
		return
	}

	// Gilbert–Elliott: the loss probability of the current state, then
	// the move to the next state (as netem's loss_gilb_ell does).
	burstLost := false
	if p.bad {
		burstLost = uBurstLoss < cfg.Burst.LossBad
		if uBurstMove < cfg.Burst.BadToGood {
			p.bad = false
		}
	} else {
		burstLost = uBurstLoss < cfg.Burst.LossGood
		if uBurstMove < cfg.Burst.GoodToBad {
			p.bad = true
		}
	}
	if uLoss < cfg.Loss || burstLost {
		p.stats.Lost++
		return
	}

	// The bottleneck: a FIFO that sends Rate bits per second and holds at
	// most QueueLimit bytes, the packet in service included.
	depart := now
	if cfg.Rate > 0 {
		for len(p.queue) > 0 && !p.queue[0].depart.After(now) {
			p.queueBytes -= p.queue[0].size
			p.queue = p.queue[1:]
		}
		if p.queueBytes+len(pkt) > cfg.QueueLimit {
			p.stats.QueueDrops++
			return
		}
		start := now
		if p.lastDepart.After(start) {
			start = p.lastDepart
		}
		depart = start.Add(txTime(len(pkt), cfg.Rate))
		p.lastDepart = depart
		p.queue = append(p.queue, queued{depart, len(pkt)})
		p.queueBytes += len(pkt)
	}

	out := append([]byte(nil), pkt...)
	if uCorrupt < cfg.Corrupt && len(out) > 0 {
		i := bit % uint64(len(out)*8)
		out[i/8] ^= 1 << (i % 8)
		p.stats.Corrupted++
	}
	copies := 1
	if uDuplicate < cfg.Duplicate {
		copies = 2
		p.stats.Duplicated++
	}

	var at time.Time
	if uReorder < cfg.Reorder {
		// netem's reordering: this packet goes at once, ahead of those
		// still in flight.
		p.stats.Reordered++
		at = depart
	} else {
		d := cfg.Delay
		if cfg.Jitter > 0 {
			d += time.Duration((2*uJitter - 1) * float64(cfg.Jitter))
			d = max(d, 0)
		}
		at = depart.Add(d)
		// Jitter alone never reorders: a packet waits for the one before.
		if at.Before(p.lastArrival) {
			at = p.lastArrival
		}
		p.lastArrival = at
	}
	p.stats.Delivered += uint64(copies)
	if deliver == nil {
		return
	}
	if copies == 2 {
		dup := append([]byte(nil), pkt...)
		deliver(at, out)
		deliver(at, dup)
		return
	}
	deliver(at, out)
}

// txTime is how long a link of rate bits per second takes to send size
// bytes, rounded up to the nanosecond.
func txTime(size int, rate int64) time.Duration {
	bits := uint64(size) * 8 * uint64(time.Second)
	return time.Duration((bits + uint64(rate) - 1) / uint64(rate))
}

// mix64 is SplitMix64's finalizer: it spreads consecutive packet numbers
// over the whole 64-bit space before they seed a generator.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
