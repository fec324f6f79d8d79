package cc

import (
	"math"
	"time"
)

// t0 is the start of virtual time in the tests.
var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// flow drives a Controller as a sender that always has data to send: each
// round delivers the ACKs for the window that was in flight when the round
// started, spread evenly over one RTT, and after every ACK the sender fills
// the window again. A round of the model is thus one round of HyStart++.
type flow struct {
	c       Controller
	now     time.Time
	una     uint32
	nxt     uint32
	ackSize int // bytes acknowledged per ACK: one MSS, or two for delayed ACKs

	ack Ack // reused, as the engine would

	// appLimited marks every ACK application-limited (and stops the
	// window from being refilled past what is in flight).
	appLimited bool
	// observe, if set, is called after every ACK.
	observe func(a *Ack)
}

func newFlow(c Controller, mss int) *flow {
	f := &flow{c: c, now: t0, una: 1_000_000, ackSize: mss}
	f.nxt = f.una + uint32(c.Cwnd())
	return f
}

// round delivers one round trip of ACKs, each with RTT sample rtt (also
// used as the smoothed RTT), and returns the number of ACKs.
func (f *flow) round(rtt time.Duration) int {
	start := f.now
	n := max(1, int(f.nxt-f.una)/f.ackSize)
	for i := 1; i <= n; i++ {
		f.now = start.Add(rtt * time.Duration(i) / time.Duration(n))
		inFlight := int(f.nxt - f.una)
		f.una += uint32(f.ackSize)
		f.ack = Ack{
			Now:        f.now,
			Acked:      f.ackSize,
			RTT:        rtt,
			MinRTT:     rtt,
			SRTT:       rtt,
			InFlight:   inFlight,
			SndUna:     f.una,
			SndNxt:     f.nxt,
			AppLimited: f.appLimited,
		}
		f.c.OnAck(f.ack)
		if f.observe != nil {
			f.observe(&f.ack)
		}
		f.refill()
	}
	return n
}

// refill sends new data up to cwnd.
func (f *flow) refill() {
	if f.appLimited {
		return
	}
	if end := f.una + uint32(f.c.Cwnd()); seqGT(end, f.nxt) {
		f.nxt = end
	}
}

// inFlight returns the bytes in flight.
func (f *flow) inFlight() int { return int(f.nxt - f.una) }

// recover models a loss recovery that takes one RTT: the engine calls
// OnCongestion, retransmits, and a full ACK for everything in flight ends
// recovery one RTT later.
func (f *flow) recover(rtt time.Duration) {
	f.c.OnCongestion(f.now, f.inFlight())
	f.now = f.now.Add(rtt)
	f.una = f.nxt
	f.c.OnRecoveryExit(f.now)
	f.refill()
}

// segs converts bytes to segments of mss.
func segs(bytes float64, mss int) float64 { return bytes / float64(mss) }

// near reports whether a and b differ by at most tol.
func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }
