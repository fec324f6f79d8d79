package link

import (
	"bytes"
	"math"
	"math/bits"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/seqack/seqack/wire"
)

var netemEpoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// netemArrival is one copy a NetemPath delivered.
type netemArrival struct {
	at  time.Time
	seq int // which packet it is a copy of
	pkt []byte
}

// netemRun sends n packets into a path made from cfg and seed, packet i of
// size(i) bytes (its first bytes hold i) at netemEpoch + i×gap, and returns the
// copies in the order they were delivered, with the path's stats.
func netemRun(t testing.TB, cfg NetemConfig, seed uint64, n int, gap time.Duration, size func(i int) int) ([]netemArrival, NetemStats) {
	t.Helper()
	p, err := NewNetemPath(cfg, seed)
	if err != nil {
		t.Fatal(err)
	}
	var out []netemArrival
	for i := range n {
		pkt := make([]byte, size(i))
		for j := 0; j < len(pkt) && j < 4; j++ {
			pkt[j] = byte(i >> (8 * j))
		}
		p.Send(pkt, netemEpoch.Add(time.Duration(i)*gap), func(at time.Time, b []byte) {
			out = append(out, netemArrival{at, i, b})
		})
	}
	checkNetemStats(t, p.Stats())
	return out, p.Stats()
}

func netemSize(n int) func(int) int { return func(int) int { return n } }

// checkNetemStats checks that every packet sent is accounted for once.
func checkNetemStats(t testing.TB, s NetemStats) {
	t.Helper()
	if s.Sent != s.TooBig+s.Lost+s.QueueDrops+s.Delivered-s.Duplicated {
		t.Errorf("stats do not add up: %+v", s)
	}
}

func TestNetemConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  NetemConfig
		want string // substring of the error; "" for valid
	}{
		{"zero", NetemConfig{}, ""},
		{"netemEverything", NetemConfig{Loss: 0.1, Burst: GilbertElliott{0.01, 0.3, 0, 1}, Delay: time.Millisecond,
			Jitter: time.Millisecond, Reorder: 0.1, Duplicate: 0.1, Corrupt: 0.1, Rate: 1e6, QueueLimit: 1e4, MTU: 1500}, ""},
		{"probabilities 0 and 1", NetemConfig{Loss: 1, Duplicate: 0, Corrupt: 1}, ""},
		{"loss above 1", NetemConfig{Loss: 1.5}, "Loss is 1.5, not a probability"},
		{"loss negative", NetemConfig{Loss: -0.1}, "Loss is -0.1"},
		{"loss NaN", NetemConfig{Loss: math.NaN()}, "Loss is NaN"},
		{"burst", NetemConfig{Burst: GilbertElliott{GoodToBad: 2}}, "Burst.GoodToBad is 2"},
		{"burst loss", NetemConfig{Burst: GilbertElliott{LossBad: -1}}, "Burst.LossBad is -1"},
		{"duplicate", NetemConfig{Duplicate: math.Inf(1)}, "Duplicate is +Inf"},
		{"corrupt", NetemConfig{Corrupt: 1.01}, "Corrupt is 1.01"},
		{"reorder", NetemConfig{Reorder: 2, Delay: time.Millisecond}, "Reorder is 2"},
		{"reorder without delay", NetemConfig{Reorder: 0.1}, "Reorder needs a Delay"},
		{"delay", NetemConfig{Delay: -time.Millisecond}, "Delay -1ms is negative"},
		{"jitter", NetemConfig{Jitter: -1}, "Jitter -1ns is negative"},
		{"rate", NetemConfig{Rate: -5}, "Rate -5 bit/s is negative"},
		{"queue", NetemConfig{Rate: 1e6, QueueLimit: -1}, "QueueLimit -1 bytes is negative"},
		{"queue without rate", NetemConfig{QueueLimit: 1000}, "QueueLimit needs a Rate"},
		{"mtu", NetemConfig{MTU: -1}, "MTU -1 is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			_, perr := NewNetemPath(tt.cfg, 1)
			if tt.want == "" {
				if err != nil || perr != nil {
					t.Fatalf("Validate = %v, NewNetemPath = %v; want no error", err, perr)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "link: netem ") {
				t.Errorf("Validate = %v; want an error with %q", err, tt.want)
			}
			if perr == nil || perr.Error() != err.Error() {
				t.Errorf("NewNetemPath error = %v; want %v", perr, err)
			}
			a, b := Pipe()
			defer b.Close()
			if n, err := NewNetem(a, tt.cfg, NetemConfig{}, 1); err == nil || !strings.Contains(err.Error(), "egress "+tt.want) {
				t.Errorf("NewNetem(bad egress) = %v; want an error with %q", err, "egress "+tt.want)
				if n != nil {
					n.Close()
				}
			}
			if n, err := NewNetem(a, NetemConfig{}, tt.cfg, 1); err == nil || !strings.Contains(err.Error(), "ingress "+tt.want) {
				t.Errorf("NewNetem(bad ingress) = %v; want an error with %q", err, "ingress "+tt.want)
				if n != nil {
					n.Close()
				}
			}
			a.Close()
		})
	}
}

// netemEverything impairs packets in every way at once.
var netemEverything = NetemConfig{
	Loss: 0.05, Burst: GilbertElliott{GoodToBad: 0.02, BadToGood: 0.3, LossBad: 0.8},
	Delay: 10 * time.Millisecond, Jitter: 5 * time.Millisecond,
	Reorder: 0.05, Duplicate: 0.05, Corrupt: 0.05,
	Rate: 10e6, QueueLimit: 20000, MTU: 1400,
}

func TestNetemPathSameSeedSameFates(t *testing.T) {
	size := func(i int) int { return 40 + (i*7919)%1500 }
	a, sa := netemRun(t, netemEverything, 42, 5000, 200*time.Microsecond, size)
	b, sb := netemRun(t, netemEverything, 42, 5000, 200*time.Microsecond, size)
	if sa != sb {
		t.Fatalf("same seed, different stats:\n%+v\n%+v", sa, sb)
	}
	if len(a) != len(b) {
		t.Fatalf("same seed, %d and %d copies", len(a), len(b))
	}
	for i := range a {
		if !a[i].at.Equal(b[i].at) || a[i].seq != b[i].seq || !bytes.Equal(a[i].pkt, b[i].pkt) {
			t.Fatalf("same seed, copy %d differs: %v #%d and %v #%d", i, a[i].at, a[i].seq, b[i].at, b[i].seq)
		}
	}
	// Every impairment happened, so the comparison above covered each.
	if sa.Lost == 0 || sa.QueueDrops == 0 || sa.TooBig == 0 || sa.Duplicated == 0 || sa.Corrupted == 0 || sa.Reordered == 0 {
		t.Errorf("some impairment never happened: %+v", sa)
	}
	_, sc := netemRun(t, netemEverything, 43, 5000, 200*time.Microsecond, size)
	if sc == sa {
		t.Errorf("seeds 42 and 43 gave the same stats %+v", sa)
	}
}

// TestNetemPathDrawsPerPacket checks that a packet's fate depends on its
// number, not on what happened to the packets before it: a loss pattern is
// the same whatever the sizes of the packets and whether earlier ones were
// dropped by the MTU.
func TestNetemPathDrawsPerPacket(t *testing.T) {
	cfg := NetemConfig{Loss: 0.3, MTU: 1000}
	lostSet := func(size func(int) int) map[int]bool {
		out, _ := netemRun(t, cfg, 7, 2000, time.Millisecond, size)
		got := map[int]bool{}
		for _, a := range out {
			got[a.seq] = true
		}
		return got
	}
	small := lostSet(netemSize(100))
	mixed := lostSet(func(i int) int {
		if i%3 == 0 {
			return 1200 // too big: dropped before the loss draw matters
		}
		return 100 + i%800
	})
	for i := range 2000 {
		if i%3 == 0 {
			if mixed[i] {
				t.Fatalf("packet %d is too big but was delivered", i)
			}
			continue
		}
		if small[i] != mixed[i] {
			t.Fatalf("packet %d: delivered=%v with one size sequence, %v with another", i, small[i], mixed[i])
		}
	}
}

func TestNetemPathLossRate(t *testing.T) {
	const n = 50000
	for _, p := range []float64{0, 0.01, 0.05, 0.1, 0.2, 0.5, 1} {
		_, s := netemRun(t, NetemConfig{Loss: p}, 1, n, time.Microsecond, netemSize(60))
		// Five standard deviations of a binomial count.
		sd := math.Sqrt(n * p * (1 - p))
		if got := float64(s.Lost); math.Abs(got-n*p) > 5*sd {
			t.Errorf("loss %v: lost %v of %d, want %v ± %.0f", p, got, n, n*p, 5*sd)
		}
	}
}

// TestNetemPathLossIndependent checks that independent loss is independent:
// a packet is no likelier to be lost after a loss, one or a few packets
// back, than at any time.
func TestNetemPathLossIndependent(t *testing.T) {
	const n, p = 200000, 0.25
	out, _ := netemRun(t, NetemConfig{Loss: p}, 12, n, time.Microsecond, netemSize(60))
	lost := make([]bool, n)
	for i := range lost {
		lost[i] = true
	}
	for _, a := range out {
		lost[a.seq] = false
	}
	for _, lag := range []int{1, 2, 3, 8} {
		after, both := 0, 0
		for i := 0; i+lag < n; i++ {
			if lost[i] {
				after++
				if lost[i+lag] {
					both++
				}
			}
		}
		// Five standard deviations of the conditional frequency.
		got, sd := float64(both)/float64(after), math.Sqrt(p*(1-p)/float64(after))
		if math.Abs(got-p) > 5*sd {
			t.Errorf("P(loss | loss %d packets back) = %.4f; want %v ± %.4f", lag, got, p, 5*sd)
		}
	}
}

func TestNetemPathGilbertElliott(t *testing.T) {
	tests := []struct {
		name      string
		ge        GilbertElliott
		wantRate  float64 // stationary loss rate
		wantBurst float64 // mean netemRun of consecutive losses
	}{
		// The Gilbert model: bursts of mean length 1/BadToGood.
		{"gilbert", GilbertElliott{GoodToBad: 0.01, BadToGood: 0.25, LossBad: 1}, 0.01 / 0.26, 4},
		{"long bursts", GilbertElliott{GoodToBad: 0.002, BadToGood: 0.1, LossBad: 1}, 0.002 / 0.102, 10},
		// Elliott's bad state loses only half: a netemRun ends on a loss miss
		// or a move back; P(netemRun continues) = (1-r)·h.
		{"elliott", GilbertElliott{GoodToBad: 0.02, BadToGood: 0.2, LossBad: 0.5}, 0.02 / 0.22 * 0.5, 1 / (1 - 0.8*0.5)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const n = 200000
			out, s := netemRun(t, NetemConfig{Burst: tt.ge}, 3, n, time.Microsecond, netemSize(60))
			delivered := make([]bool, n)
			for _, a := range out {
				delivered[a.seq] = true
			}
			runs, lost, cur := 0, 0, 0
			for _, d := range delivered {
				if !d {
					lost++
					cur++
					continue
				}
				if cur > 0 {
					runs++
				}
				cur = 0
			}
			if uint64(lost) != s.Lost {
				t.Fatalf("counted %d losses, stats say %d", lost, s.Lost)
			}
			rate := float64(lost) / n
			burst := float64(lost) / float64(runs)
			if math.Abs(rate-tt.wantRate) > 0.1*tt.wantRate {
				t.Errorf("loss rate %.4f, want %.4f ± 10%%", rate, tt.wantRate)
			}
			if math.Abs(burst-tt.wantBurst) > 0.1*tt.wantBurst {
				t.Errorf("mean burst %.2f packets, want %.2f ± 10%%", burst, tt.wantBurst)
			}
		})
	}
}

func TestNetemPathRate(t *testing.T) {
	// 1 Mbit/s: a 1000-byte packet takes 8 ms. The queue holds 5 packets.
	cfg := NetemConfig{Rate: 1e6, QueueLimit: 5000, Delay: 20 * time.Millisecond}
	p, err := NewNetemPath(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	var got []time.Time
	deliver := func(at time.Time, _ []byte) { got = append(got, at) }
	pkt := make([]byte, 1000)
	for range 8 { // a burst at netemEpoch: five fit, three are dropped
		p.Send(pkt, netemEpoch, deliver)
	}
	want := []time.Time{}
	for k := 1; k <= 5; k++ {
		want = append(want, netemEpoch.Add(time.Duration(k)*8*time.Millisecond+20*time.Millisecond))
	}
	if s := p.Stats(); s.QueueDrops != 3 || s.Delivered != 5 {
		t.Fatalf("after a burst of 8: %+v; want 5 delivered, 3 queue drops", s)
	}
	// At 16 ms two packets have left: two more fit, the third does not.
	for range 3 {
		p.Send(pkt, netemEpoch.Add(16*time.Millisecond), deliver)
	}
	want = append(want, netemEpoch.Add(48*time.Millisecond+20*time.Millisecond), netemEpoch.Add(56*time.Millisecond+20*time.Millisecond))
	// Once the queue is empty, a packet waits only its own 8 ms.
	p.Send(pkt, netemEpoch.Add(time.Second), deliver)
	want = append(want, netemEpoch.Add(time.Second+28*time.Millisecond))
	if len(got) != len(want) {
		t.Fatalf("delivered at %v; want %v", got, want)
	}
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Errorf("packet %d arrives at +%v; want +%v", i, got[i].Sub(netemEpoch), want[i].Sub(netemEpoch))
		}
	}
	if s := p.Stats(); s.QueueDrops != 4 || s.Delivered != 8 {
		t.Errorf("stats %+v; want 8 delivered, 4 queue drops", s)
	}
	checkNetemStats(t, p.Stats())
}

func TestNetemPathDefaultQueue(t *testing.T) {
	tests := []struct {
		rate int64
		want int
	}{
		{1e6, DefaultNetemQueueMin},    // 100 ms is only 12.5 kB
		{100e6, 1250000},               // 100 ms at 100 Mbit/s
		{math.MaxInt64, math.MaxInt32}, // clamped
		{0, 0},                         // no rate, no queue
	}
	for _, tt := range tests {
		p, err := NewNetemPath(NetemConfig{Rate: tt.rate}, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Config().QueueLimit; got != tt.want {
			t.Errorf("rate %d: default queue %d bytes; want %d", tt.rate, got, tt.want)
		}
	}
	p, _ := NewNetemPath(NetemConfig{Rate: 1e6, QueueLimit: 3000}, 1)
	if got := p.Config().QueueLimit; got != 3000 {
		t.Errorf("explicit queue limit became %d", got)
	}
}

// netemTCPPacket builds a whole IPv4 packet carrying a TCP segment with payload.
func netemTCPPacket(payload []byte) []byte {
	src, dst := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	b := make([]byte, 40+len(payload))
	th := wire.TCPHeader{SrcPort: 49152, DstPort: 80, Seq: 1000, Ack: 2000, Flags: wire.FlagACK | wire.FlagPSH, Window: 65535}
	n := th.Marshal(b[20:], nil)
	copy(b[20+n:], payload)
	wire.SetTCPChecksum(src, dst, b[20:])
	ih := wire.IPv4Header{ID: 1, TTL: 64, Protocol: wire.ProtoTCP, Src: src, Dst: dst, PayloadLen: len(b) - 20}
	ih.Marshal(b)
	return b
}

// netemIntact reports whether pkt passes the receiver's checks: the IPv4 header
// and the TCP checksum.
func netemIntact(pkt []byte) bool {
	ip, err := wire.ParseIPv4(pkt)
	if err != nil || ip.Protocol() != wire.ProtoTCP {
		return false
	}
	return wire.VerifyTCPChecksum(ip.Src(), ip.Dst(), ip.Payload())
}

func TestNetemPathCorruptionIsCaught(t *testing.T) {
	orig := netemTCPPacket([]byte("the quick brown fox jumps over the lazy dog"))
	if !netemIntact(orig) {
		t.Fatal("the test packet itself does not verify")
	}
	p, err := NewNetemPath(NetemConfig{Corrupt: 1}, 9)
	if err != nil {
		t.Fatal(err)
	}
	bitsHit := map[int]bool{}
	for range 5000 {
		p.Send(orig, netemEpoch, func(_ time.Time, got []byte) {
			diff := -1
			for i := range got {
				x := got[i] ^ orig[i]
				if x == 0 {
					continue
				}
				if diff >= 0 || x&(x-1) != 0 {
					t.Fatalf("more than one bit flipped: %x", got)
				}
				diff = i*8 + bits.TrailingZeros8(x)
			}
			if diff < 0 {
				t.Fatal("Corrupt 1 delivered an undamaged packet")
			}
			bitsHit[diff] = true
			if netemIntact(got) {
				t.Fatalf("flipping bit %d went unnoticed by the checksums", diff)
			}
		})
	}
	if s := p.Stats(); s.Corrupted != 5000 {
		t.Errorf("Corrupted = %d; want 5000", s.Corrupted)
	}
	// 5000 flips over 664 bits: every bit, header and payload, is hit.
	if len(bitsHit) != len(orig)*8 {
		t.Errorf("flips hit %d of the %d bits", len(bitsHit), len(orig)*8)
	}
	if !netemIntact(orig) {
		t.Error("Send modified the caller's packet")
	}
	// An empty packet has no bit to flip; it passes undamaged.
	p.Send(nil, netemEpoch, func(_ time.Time, got []byte) {
		if len(got) != 0 {
			t.Errorf("empty packet came out as %x", got)
		}
	})
}

func TestNetemPathDuplicate(t *testing.T) {
	out, s := netemRun(t, NetemConfig{Duplicate: 1, Delay: time.Millisecond}, 5, 100, time.Millisecond, netemSize(100))
	if len(out) != 200 || s.Duplicated != 100 {
		t.Fatalf("Duplicate 1: %d copies, %+v; want 200", len(out), s)
	}
	for i := 0; i < len(out); i += 2 {
		a, b := out[i], out[i+1]
		if a.seq != b.seq || !a.at.Equal(b.at) || !bytes.Equal(a.pkt, b.pkt) || &a.pkt[0] == &b.pkt[0] {
			t.Fatalf("copies %d and %d are not two separate identical copies arriving together", i, i+1)
		}
	}
	const n = 100000
	_, s = netemRun(t, NetemConfig{Duplicate: 0.1}, 5, n, time.Microsecond, netemSize(60))
	if sd := math.Sqrt(n * 0.1 * 0.9); math.Abs(float64(s.Duplicated)-n*0.1) > 5*sd {
		t.Errorf("Duplicate 0.1: %d of %d duplicated", s.Duplicated, n)
	}
}

func TestNetemPathReorder(t *testing.T) {
	const delay = 10 * time.Millisecond
	out, s := netemRun(t, NetemConfig{Delay: delay, Reorder: 0.2}, 11, 2000, time.Millisecond, netemSize(60))
	if len(out) != 2000 {
		t.Fatalf("%d copies of 2000", len(out))
	}
	reordered, overtook := 0, 0
	var last time.Time
	for i, a := range out {
		sent := netemEpoch.Add(time.Duration(a.seq) * time.Millisecond)
		switch a.at.Sub(sent) {
		case 0: // skipped the delay
			reordered++
			// Some packet sent before it arrives after it.
			for _, b := range out[:i] {
				if b.seq < a.seq && b.at.After(a.at) {
					overtook++
					break
				}
			}
		case delay:
			if a.at.Before(last) {
				t.Fatalf("packet %d, not reordered, arrives before an earlier one", a.seq)
			}
			last = a.at
		default:
			t.Fatalf("packet %d took %v; want 0 or %v", a.seq, a.at.Sub(sent), delay)
		}
	}
	if uint64(reordered) != s.Reordered || math.Abs(float64(reordered)-400) > 5*math.Sqrt(2000*0.2*0.8) {
		t.Errorf("%d reordered, stats say %d; want about 400", reordered, s.Reordered)
	}
	if overtook != reordered {
		t.Errorf("%d of %d reordered packets overtook another; with a packet every 1 ms and a 10 ms delay, all should", overtook, reordered)
	}
}

func TestNetemPathJitterKeepsOrder(t *testing.T) {
	const delay, jitter = 10 * time.Millisecond, 8 * time.Millisecond
	out, _ := netemRun(t, NetemConfig{Delay: delay, Jitter: jitter}, 13, 5000, 100*time.Microsecond, netemSize(60))
	if len(out) != 5000 {
		t.Fatalf("%d copies of 5000", len(out))
	}
	minD, maxD := time.Hour, time.Duration(0)
	for i, a := range out {
		if a.seq != i {
			t.Fatalf("copy %d is packet %d: jitter reordered", i, a.seq)
		}
		if i > 0 && a.at.Before(out[i-1].at) {
			t.Fatalf("packet %d arrives before packet %d", i, i-1)
		}
		d := a.at.Sub(netemEpoch.Add(time.Duration(i) * 100 * time.Microsecond))
		minD, maxD = min(minD, d), max(maxD, d)
		// A packet may wait for the one before it, but that one left at
		// most Delay+Jitter after it was sent, and earlier.
		if d < delay-jitter || d > delay+jitter {
			t.Fatalf("packet %d delayed %v; want within %v ± %v", i, d, delay, jitter)
		}
	}
	if maxD-minD < jitter {
		t.Errorf("delays spread over only %v..%v; jitter %v had little effect", minD, maxD, jitter)
	}
}

func TestNetemPathMTU(t *testing.T) {
	p, err := NewNetemPath(NetemConfig{MTU: 576}, 1)
	if err != nil {
		t.Fatal(err)
	}
	delivered := 0
	for _, n := range []int{0, 20, 575, 576, 577, 1500, 65535} {
		p.Send(make([]byte, n), netemEpoch, func(time.Time, []byte) { delivered++ })
	}
	if s := p.Stats(); s.TooBig != 3 || delivered != 4 || s.Delivered != 4 {
		t.Errorf("MTU 576: %d delivered, %+v; want 4 delivered, 3 too big", delivered, s)
	}
}

func TestNetemPathNilDeliver(t *testing.T) {
	p, err := NewNetemPath(netemEverything, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		p.Send(make([]byte, i%1500), netemEpoch.Add(time.Duration(i)*time.Millisecond), nil)
	}
	if s := p.Stats(); s.Sent != 1000 || s.Delivered == 0 {
		t.Errorf("stats %+v", s)
	}
	checkNetemStats(t, p.Stats())
}

func TestNetemOverPipe(t *testing.T) {
	a, b := Pipe()
	defer b.Close()
	// Delays and duplicates both ways, no loss: every packet arrives,
	// in order, and duplicates show up as pairs.
	cfg := NetemConfig{Delay: 2 * time.Millisecond, Jitter: time.Millisecond, Duplicate: 0.2}
	n, err := NewNetem(a, cfg, cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if n.MTU() != a.MTU() {
		t.Errorf("MTU %d; want the inner link's %d", n.MTU(), a.MTU())
	}

	const count = 200
	pkts := make([][]byte, count)
	for i := range pkts {
		pkts[i] = []byte{byte(i), byte(i >> 8), 'x'}
	}
	// Egress: write through n, read at b.
	if k, err := n.WritePackets(pkts); k != count || err != nil {
		t.Fatalf("WritePackets = %d, %v", k, err)
	}
	got := netemReadAll(t, b, n, true, count)
	netemCheckOrder(t, "egress", got, count)
	// Ingress: write at b, read through n.
	if k, err := b.WritePackets(pkts); k != count || err != nil {
		t.Fatalf("WritePackets = %d, %v", k, err)
	}
	got = netemReadAll(t, n, n, false, count)
	netemCheckOrder(t, "ingress", got, count)

	eg, in := n.Stats()
	for _, s := range []NetemStats{eg, in} {
		checkNetemStats(t, s)
		if s.Sent != count || s.Duplicated == 0 {
			t.Errorf("stats %+v; want %d sent, some duplicated", s, count)
		}
	}

	// Close unblocks a reader, and later calls fail.
	errc := make(chan error, 1)
	go func() {
		_, err := n.ReadPackets(make([][]byte, 1), make([]int, 1))
		errc <- err
	}()
	if err := n.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	if err := <-errc; err != ErrClosed {
		t.Errorf("blocked ReadPackets returned %v; want ErrClosed", err)
	}
	if _, err := n.WritePackets(pkts[:1]); err != ErrClosed {
		t.Errorf("WritePackets after Close = %v; want ErrClosed", err)
	}
	if _, err := a.WritePackets(pkts[:1]); err != ErrClosed {
		t.Errorf("the inner link is still open after Close: %v", err)
	}
	if err := n.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

// netemReadAll reads from l until the direction has seen count packets and
// every copy it delivered has been read.
func netemReadAll(t *testing.T, l Link, n *Netem, egress bool, count uint64) [][]byte {
	t.Helper()
	var got [][]byte
	bufs := [][]byte{make([]byte, 64), make([]byte, 64), make([]byte, 64)}
	sizes := make([]int, len(bufs))
	for {
		eg, in := n.Stats()
		s := in
		if egress {
			s = eg
		}
		if s.Sent == count && uint64(len(got)) == s.Delivered {
			return got
		}
		k, err := l.ReadPackets(bufs, sizes)
		if err != nil {
			t.Fatal(err)
		}
		for i := range k {
			got = append(got, append([]byte(nil), bufs[i][:sizes[i]]...))
		}
	}
}

// netemCheckOrder checks that got holds packets 0..count-1 in order, each once
// or twice in a row.
func netemCheckOrder(t *testing.T, dir string, got [][]byte, count int) {
	t.Helper()
	next := 0
	for i, p := range got {
		k := int(p[0]) | int(p[1])<<8
		switch {
		case k == next:
			next++
		case k == next-1 && i > 0 && bytes.Equal(p, got[i-1]):
			// a duplicate
		default:
			t.Fatalf("%s: packet %d read after packet %d", dir, k, next-1)
		}
	}
	if next != count {
		t.Errorf("%s: read %d distinct packets; want %d", dir, next, count)
	}
}

func TestNetemLoss(t *testing.T) {
	a, b := Pipe()
	defer b.Close()
	n, err := NewNetem(a, NetemConfig{Loss: 1}, NetemConfig{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	n.WritePackets([][]byte{{1}, {2}, {3}})
	if eg, _ := n.Stats(); eg.Lost != 3 || eg.Delivered != 0 {
		t.Errorf("egress stats %+v; want 3 lost", eg)
	}
	if st := a.Stats(); st.Sent != 0 {
		t.Errorf("the inner link carried %d packets", st.Sent)
	}
}

// FuzzNetemPath sends fuzzed packets through a path with a fuzzed
// configuration: an invalid one must be refused, a valid one must never
// panic, keep its counters consistent, deliver copies of the right length,
// and never deliver before the send time.
func FuzzNetemPath(f *testing.F) {
	f.Add([]byte("packet"), 0.1, 0.5, 0.1, 0.1, 0.1, int64(1000), int64(1e6), 1000, 1400, uint64(1))
	f.Add([]byte{}, 1.0, 0.0, 1.0, 1.0, 1.0, int64(0), int64(0), 0, 0, uint64(2))
	f.Fuzz(func(t *testing.T, pkt []byte, loss, burst, reorder, dup, corrupt float64, delay, rate int64, queue, mtu int, seed uint64) {
		cfg := NetemConfig{
			Loss: loss, Burst: GilbertElliott{GoodToBad: burst, BadToGood: burst, LossBad: burst},
			Delay: time.Duration(delay), Jitter: time.Duration(delay / 2),
			Reorder: reorder, Duplicate: dup, Corrupt: corrupt,
			Rate: rate, QueueLimit: queue, MTU: mtu,
		}
		p, err := NewNetemPath(cfg, seed)
		if err != nil {
			if cfg.Validate() == nil {
				t.Fatalf("NewNetemPath refused a valid config: %v", err)
			}
			return
		}
		for i := range 50 {
			now := netemEpoch.Add(time.Duration(i) * time.Millisecond)
			p.Send(pkt[:i%(len(pkt)+1)], now, func(at time.Time, got []byte) {
				if at.Before(now) {
					t.Fatalf("delivered at %v, before it was sent at %v", at, now)
				}
				if len(got) != i%(len(pkt)+1) {
					t.Fatalf("delivered %d bytes of %d", len(got), i%(len(pkt)+1))
				}
			})
		}
		checkNetemStats(t, p.Stats())
	})
}
