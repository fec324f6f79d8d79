package tcp

// Losses at the edges of a connection: the handshake's last ACK, a FIN,
// and the ACK of the peer's FIN. RFC 9293 §3.5, §3.6, §3.10.7.4.

import (
	"testing"
	"time"
)

// The handshake's ACK is lost. The passive side, in SYN_RCVD, sends its
// SYN-ACK again at InitialRTO (RFC 6298 §2.1, backing off after, §5.5);
// the peer, already ESTABLISHED, sends data, whose ACK field
// acknowledges our SYN: it completes the handshake (RFC 9293 §3.10.7.4,
// fifth, SYN-RECEIVED: "If SND.UNA < SEG.ACK =< SND.NXT, then enter
// ESTABLISHED state and continue processing"), and the data is taken.
// The options the SYN offered are answered, and timestamps echo the
// peer's.
func TestLostHandshakeACK(t *testing.T) {
	h := newPassive(t, nil)
	h.exactOptions()
	if err := h.c.Listen(h.now); err != nil {
		t.Fatal(err)
	}
	h.send(syn(1000).mss(1460).sackOK().ts(700, 0).ws(2))
	synack := func() pkt {
		return synAck(5000, 1001).mss(1460).sackOK().ts(h.tsv(), 700).ws(ourWscale).win(65535)
	}
	h.expect(synack().fresh())
	h.state(SynReceived)
	h.expectDeadline(time.Second)

	h.advance(time.Second) // the peer's ACK never came
	h.expect(synack().rtx())
	h.expectDeadline(2 * time.Second)
	h.advance(100 * time.Millisecond)
	// The peer got our first SYN-ACK; its ACK was lost, and now its data
	// comes (it answers our retransmitted SYN-ACK later, see below).
	h.send(psh(1001, 5001, "GET /").ts(800, h.tsv()-1100).win(1000))
	h.state(Established)
	h.expect(ack(5001, 1006).ts(h.tsv(), 800))
	if got := string(h.read()); got != "GET /" {
		t.Errorf("Read = %q, want %q", got, "GET /")
	}
	if got := h.c.Info().SendWindow; got != 4000 {
		t.Errorf("SendWindow = %d, want 4000 (1000 << 2)", got)
	}
	// The peer's answer to our retransmitted SYN-ACK: a duplicate ACK,
	// nothing to do.
	h.send(ack(1006, 5001).ts(801, h.tsv()-100).win(1000))
	h.expectNone()
	// After a timed-out SYN-ACK, data starts with an RTO of 3 s
	// (RFC 6298 §5.7) and one segment of congestion window (RFC 6928 §2).
	if in := h.c.Info(); in.RTO != 3*time.Second || in.CongestionWindow != in.SendMSS {
		t.Errorf("RTO %v, cwnd %d; want 3s and one segment (%d)", in.RTO, in.CongestionWindow, in.SendMSS)
	}
}

// The FIN of a LAST_ACK connection is lost: it is retransmitted when the
// retransmission timer expires, like data (RFC 9293 §3.10.4, RFC 6298),
// with backoff; its ACK closes the connection.
func TestLostFINFromLastAck(t *testing.T) {
	h := newActive(t, nil)
	h.toLastAck() // RTO 200 ms
	h.expectDeadline(200 * time.Millisecond)
	h.advance(200*time.Millisecond - time.Nanosecond)
	h.expectNone()
	h.advance(time.Nanosecond)
	h.expect(fin(1001, 5002).rtx())
	h.state(LastAck)
	h.expectDeadline(400 * time.Millisecond)
	h.advance(400 * time.Millisecond)
	h.expect(fin(1001, 5002).rtx())
	h.send(ack(5002, 1002))
	h.expectNone()
	h.expectClosedCleanly()
}

// A FIN that follows data: the data is acknowledged, the FIN is lost, and
// only the FIN is retransmitted, with the peer's FIN+ACK then taking the
// connection to TIME_WAIT.
func TestLostFINAfterData(t *testing.T) {
	h := newActive(t, nil)
	h.establish()
	h.write([]byte("bye"))
	h.expect(psh(1001, 5001, "bye"))
	h.closeWrite()
	h.expect(fin(1004, 5001))
	h.send(ack(5001, 1004)) // the data only
	h.expectNone()
	h.state(FinWait1)
	h.expectDeadline(200 * time.Millisecond)
	h.advance(200 * time.Millisecond)
	h.expect(fin(1004, 5001).rtx())
	h.send(fin(5001, 1005))
	h.expect(ack(1005, 5002))
	h.state(TimeWait)
}

// The ACK of the peer's FIN is lost: the peer, in LAST_ACK, retransmits
// its FIN, and TIME_WAIT answers it with the same ACK and restarts its
// 2×MSL timer (RFC 9293 §3.10.7.4, eighth, TIME-WAIT). With timestamps,
// the ACK echoes TS.Recent, which an out-of-window segment does not
// update (RFC 7323 §4.3, §5.3 R3 after R2).
func TestLostFinalACKAnsweredFromTimeWait(t *testing.T) {
	h := newActive(t, nil) // MSL 30 s
	h.establishTS()
	h.closeWrite()
	h.expect(fin(1001, 5001).ts(h.tsv(), peerTS))
	h.advance(10 * time.Millisecond)
	h.send(ack(5001, 1002).ts(peerTS+10, h.tsv()-10))
	h.expectNone()
	h.state(FinWait2)
	h.advance(10 * time.Millisecond)
	h.send(fin(5001, 1002).ts(peerTS+20, h.tsv()-20))
	h.expect(ack(1002, 5002).ts(h.tsv(), peerTS+20))
	h.state(TimeWait)
	h.markTransitions()
	h.expectDeadline(60 * time.Second)

	h.advance(time.Second) // our ACK was lost; the peer's RTO
	h.send(fin(5001, 1002).ts(peerTS+1020, h.tsv()-1020))
	h.expect(ack(1002, 5002).ts(h.tsv(), peerTS+20))
	h.state(TimeWait)
	h.expectDeadline(60 * time.Second)
	h.advance(60*time.Second - time.Nanosecond)
	h.state(TimeWait)
	h.advance(time.Nanosecond)
	h.expectNone()
	h.expectClosedCleanly()
}
