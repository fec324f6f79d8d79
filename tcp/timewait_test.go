package tcp

// TIME_WAIT: RFC 9293 §3.4.2 / §3.10.7.4 and RFC 1122 §4.2.2.13.

import (
	"testing"
	"time"

	"github.com/seqack/seqack/wire"
)

// RFC 9293 §3.10.7.4 (eighth, TIME-WAIT): "The only thing that can arrive
// in this state is a retransmission of the remote FIN. Acknowledge it, and
// restart the 2 MSL timeout." So the connection outlives the original
// expiry and closes 2×MSL after the retransmitted FIN.
func TestTimeWaitRetransmittedFINRestartsTimer(t *testing.T) {
	h := newActive(t, nil) // MSL 30 s
	h.toTimeWait()
	h.advance(30 * time.Second)
	h.send(fin(5001, 1002)) // our ACK of the FIN was lost
	h.expect(ack(1002, 5002))
	h.state(TimeWait)
	h.expectDeadline(60 * time.Second)
	h.advance(30 * time.Second) // the original expiry
	h.expectNone()
	h.state(TimeWait)
	h.advance(30*time.Second - time.Nanosecond)
	h.state(TimeWait)
	h.advance(time.Nanosecond)
	h.expectNone()
	h.state(Closed)
}

// A retransmitted FIN that carried data is recognised too (it ends at
// RCV.NXT).
func TestTimeWaitRetransmittedFINWithData(t *testing.T) {
	h := newActive(t, nil)
	h.toFinWait2()
	h.send(fin(5001, 1002).text("tail"))
	h.expect(ack(1002, 5006))
	h.state(TimeWait)
	h.advance(10 * time.Second)
	h.send(fin(5001, 1002).text("tail"))
	h.expect(ack(1002, 5006))
	h.expectDeadline(60 * time.Second)
}

// Other old segments in TIME_WAIT, a FIN among them if it is not the
// retransmission of the peer's last FIN, draw a plain ACK (they are
// unacceptable, RFC 9293 §3.10.7.4 first) but do not restart the timer.
func TestTimeWaitOldSegmentDoesNotRestartTimer(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   pkt
	}{
		{"old data", psh(4990, 1002, "old")},
		{"old FIN not ending at RCV.NXT", fin(4990, 1002).text("old")},
		{"bare ACK", ack(5001, 1002)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newActive(t, nil)
			h.toTimeWait()
			h.advance(10 * time.Second)
			h.send(tc.in)
			h.expect(ack(1002, 5002))
			h.expectDeadline(50 * time.Second)
		})
	}
}

// RFC 1122 §4.2.2.13: a new SYN may reopen a TIME_WAIT connection if its
// sequence number is larger than the old incarnation's (SEG.SEQ > RCV.NXT).
// ReopensFromTimeWait says yes only for a bare SYN that does so, and only
// in TIME_WAIT.
func TestReopensFromTimeWait(t *testing.T) {
	h := newActive(t, nil)
	h.toTimeWait() // RCV.NXT 5002
	for _, tc := range []struct {
		name string
		in   pkt
		want bool
	}{
		{"SYN beyond RCV.NXT", syn(5003), true},
		{"SYN far beyond RCV.NXT", syn(5002 + 1<<30), true},
		{"SYN at RCV.NXT", syn(5002), false},
		{"SYN before RCV.NXT", syn(4000), false},
		{"SYN-ACK", synAck(6000, 1002), false},
		{"SYN-RST", syn(6000).with(wire.FlagRST), false},
		{"ACK", ack(6000, 1002), false},
	} {
		if got := h.c.ReopensFromTimeWait(tc.in.segment()); got != tc.want {
			t.Errorf("%s: ReopensFromTimeWait = %v, want %v", tc.name, got, tc.want)
		}
	}
	h.expectNone() // asking sends nothing

	e := newActive(t, nil)
	e.establish()
	if e.c.ReopensFromTimeWait(syn(900000).segment()) {
		t.Error("ReopensFromTimeWait = true in ESTABLISHED")
	}
}

// A SYN that the stack does not let reopen the connection is handled by
// the connection itself: a challenge ACK (RFC 5961 §4.2), still TIME_WAIT.
func TestTimeWaitSYNDrawsChallengeACK(t *testing.T) {
	h := newActive(t, nil)
	h.toTimeWait()
	h.send(syn(4000))
	h.expect(ack(1002, 5002))
	h.state(TimeWait)
}
