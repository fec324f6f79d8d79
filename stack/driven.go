package stack

import (
	"slices"
	"time"

	"github.com/seqack/seqack/tcp"
)

// This file is the interface for running a stack from outside, on a clock
// that is not the real one (Config.Clock): a simulator hands it packets and
// runs its timers, all on one goroutine, with no sleeping.

// Deliver processes one arriving IPv4 packet, as if it had been read from
// the link: it is validated, counted, and handed to TCP or ICMP, and any
// answer is written to the link before Deliver returns. Deliver does not
// keep pkt. It is how a driven stack (Config.Clock) receives packets, and
// on any stack a way to inject one. After Close it does nothing.
func (s *Stack) Deliver(pkt []byte) {
	if isClosed(s.done) {
		return
	}
	s.deliver(pkt)
}

// NextTimer returns when the earliest connection timer is due, or the zero
// time if no timer is pending. A timer may turn out to have nothing to do
// when it comes (its connection moved its deadline); running it is harmless.
func (s *Stack) NextTimer() time.Time {
	if isClosed(s.done) {
		return time.Time{}
	}
	next, tw := s.timers.peek(), s.nextTimeWait()
	if !tw.IsZero() && (next.IsZero() || tw.Before(next)) {
		next = tw
	}
	return next
}

// RunTimers fires every connection timer due at the stack's clock, as the
// timer goroutine of a stack on the real clock does. Segments the timers
// send are written to the link before it returns.
func (s *Stack) RunTimers() {
	if isClosed(s.done) {
		return
	}
	s.fireDue(nil)
}

// ConnInfo describes one connection in a stack's table, with its queues
// as ss(8) shows them.
type ConnInfo struct {
	ID    tcp.ID
	State tcp.State

	// RecvQueue is the bytes received in order that the application has
	// not read (ss's Recv-Q); data held out of order is not counted.
	RecvQueue int
	// SendQueue is the bytes written by the application that the peer has
	// not acknowledged: those in flight and those not sent yet (ss's
	// Send-Q).
	SendQueue int
}

// Connections returns the connections in the stack's table — every one not
// yet CLOSED, TIME_WAIT included — ordered by local then remote address.
func (s *Stack) Connections() []ConnInfo {
	s.mu.RLock()
	cs := make([]*Conn, 0, len(s.conns))
	for _, c := range s.conns {
		cs = append(cs, c)
	}
	out := s.timeWaitInfosLocked(s.conns)
	s.mu.RUnlock()
	for _, c := range cs {
		out = append(out, c.info())
	}
	slices.SortFunc(out, func(a, b ConnInfo) int {
		if c := a.ID.Local.Compare(b.ID.Local); c != 0 {
			return c
		}
		return a.ID.Remote.Compare(b.ID.Remote)
	})
	return out
}
