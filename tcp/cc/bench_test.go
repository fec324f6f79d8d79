package cc

import (
	"testing"
	"time"
)

// ackStream feeds a Controller a steady stream of one-segment ACKs, 10 µs
// apart, from an Ack kept in the struct as the engine keeps one in its
// connection state.
type ackStream struct {
	c   Controller
	mss int
	ack Ack
}

func newAckStream(c Controller, mss int) *ackStream {
	return &ackStream{c: c, mss: mss, ack: Ack{
		Now: t0, Acked: mss, RTT: 20 * time.Millisecond, MinRTT: 20 * time.Millisecond,
		SRTT: 20 * time.Millisecond, SndUna: 1, SndNxt: 1,
	}}
}

// next delivers one ACK.
func (s *ackStream) next() {
	a := &s.ack
	a.Now = a.Now.Add(10 * time.Microsecond)
	a.SndUna += uint32(s.mss)
	a.InFlight = s.c.Cwnd()
	a.SndNxt = a.SndUna + uint32(a.InFlight)
	s.c.OnAck(*a)
}

// TestNoAllocations checks that no method allocates, OnAck above all,
// which the engine calls for every ACK.
func TestNoAllocations(t *testing.T) {
	for _, ctl := range controllers {
		s := newAckStream(ctl.make(1460), 1460)
		for range 100 {
			s.next() // into slow start's HyStart++ rounds
		}
		if n := testing.AllocsPerRun(1000, s.next); n != 0 {
			t.Errorf("%s: OnAck in slow start: %v allocations per call, want 0", ctl.name, n)
		}
		s.c.OnCongestion(s.ack.Now, s.c.Cwnd())
		s.c.OnRecoveryExit(s.ack.Now)
		if n := testing.AllocsPerRun(1000, s.next); n != 0 {
			t.Errorf("%s: OnAck in congestion avoidance: %v allocations per call, want 0", ctl.name, n)
		}
		events := func() {
			now := s.ack.Now
			s.c.OnCongestion(now, s.c.Cwnd())
			s.c.OnSpuriousCongestion(now)
			s.c.OnCongestion(now, s.c.Cwnd())
			s.c.OnRecoveryExit(now)
			s.c.OnRTO(now, s.c.Cwnd())
			s.c.OnIdle(now, 2*time.Second, time.Second)
			s.c.SetMSS(1400)
			s.c.SetMSS(1460)
			s.next()
		}
		if n := testing.AllocsPerRun(100, events); n != 0 {
			t.Errorf("%s: congestion events: %v allocations per round of calls, want 0", ctl.name, n)
		}
	}
}

// BenchmarkOnAck measures OnAck through the Controller interface: in
// CUBIC's HyStart++ slow start (restarted from a saved copy every 1000
// ACKs), and in congestion avoidance with a loss and a recovery every
// 10 000 ACKs.
func BenchmarkOnAck(b *testing.B) {
	for _, ctl := range controllers {
		b.Run(ctl.name+"/slowstart", func(b *testing.B) {
			c := ctl.make(1460)
			s := newAckStream(c, 1460)
			reset := resetter(c)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if i%1000 == 0 {
					reset()
				}
				s.next()
			}
		})
		b.Run(ctl.name+"/avoidance", func(b *testing.B) {
			c := ctl.make(1460)
			s := newAckStream(c, 1460)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if i%10000 == 0 {
					c.OnCongestion(s.ack.Now, c.Cwnd())
					c.OnRecoveryExit(s.ack.Now)
				}
				s.next()
			}
		})
	}
}

// resetter returns a function that puts c back in its initial state.
func resetter(c Controller) func() {
	switch c := c.(type) {
	case *Cubic:
		fresh := *c
		return func() { *c = fresh }
	case *Reno:
		fresh := *c
		return func() { *c = fresh }
	}
	panic("unknown controller")
}
