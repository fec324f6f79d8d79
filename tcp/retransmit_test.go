package tcp

// Retransmission: RFC 6298 (the timer, backoff, Karn's rule) and RFC 9293
// §3.8.1, with the retry limits of Linux.

import (
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/seqack/seqack/trace"
)

// A lost SYN is sent again after InitialRTO (1 s, RFC 6298 §2.1), then after
// 2 s, 4 s, 8 s: the timer doubles on each expiry (RFC 6298 §5.5). The
// repeats are marked Retransmit; nothing goes out in between.
func TestSYNRetransmitBackoff(t *testing.T) {
	h := newActive(t, nil)
	h.connect()
	for _, wait := range []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second} {
		h.advance(wait - time.Millisecond)
		h.expectNone()
		h.advance(time.Millisecond)
		h.expect(syn(1000).mss(1460).rtx())
		h.state(SynSent)
	}
	var fired int
	for _, e := range h.events {
		if e.Kind == trace.TimerFired && e.Timer == "retransmit" {
			fired++
		}
	}
	if fired != 4 {
		t.Errorf("%d retransmit timer events, want 4", fired)
	}
	// The handshake still completes on the retransmitted SYN.
	h.send(synAck(5000, 1001).mss(1460))
	h.expect(ack(1001, 5001))
	h.state(Established)
}

// With SynRetries 2 the SYN is sent three times; the third expiry
// (at 1+2+4 = 7 s) ends the connection with ETIMEDOUT.
func TestSYNRetriesExhausted(t *testing.T) {
	h := newActive(t, &Config{SynRetries: 2})
	h.connect()
	h.advance(time.Second)
	h.expect(syn(1000).rtx())
	h.advance(2 * time.Second)
	h.expect(syn(1000).rtx())
	h.advance(4*time.Second - time.Nanosecond)
	h.state(SynSent)
	h.advance(time.Nanosecond)
	h.expectNone()
	h.state(Closed)
	h.expectNoTimer()
	if err := h.c.Err(); !errors.Is(err, syscall.ETIMEDOUT) {
		t.Errorf("Err = %v, want ETIMEDOUT", err)
	}
}

// A lost SYN-ACK: the passive side sends it again after InitialRTO.
func TestSYNACKRetransmit(t *testing.T) {
	h := newPassive(t, nil)
	h.toSynRcvd()
	h.advance(time.Second - time.Nanosecond)
	h.expectNone()
	h.advance(time.Nanosecond)
	h.expect(synAck(5000, 1001).mss(1460).rtx())
	h.advance(2 * time.Second)
	h.expect(synAck(5000, 1001).mss(1460).rtx())
	h.state(SynReceived)
	h.send(ack(1001, 5001))
	h.state(Established)
	h.expectNoTimer()
}

// With SynAckRetries 2 the third expiry ends the embryonic connection with
// ETIMEDOUT.
func TestSYNACKRetriesExhausted(t *testing.T) {
	h := newPassive(t, &Config{SynAckRetries: 2})
	h.toSynRcvd()
	h.advance(time.Second)
	h.expect(synAck(5000, 1001).rtx())
	h.advance(2 * time.Second)
	h.expect(synAck(5000, 1001).rtx())
	h.advance(4 * time.Second)
	h.expectNone()
	h.state(Closed)
	if err := h.c.Err(); !errors.Is(err, syscall.ETIMEDOUT) {
		t.Errorf("Err = %v, want ETIMEDOUT", err)
	}
}

// A retransmitted SYN arriving in SYN_RCVD means our SYN-ACK was lost: it
// draws the SYN-ACK again at once, without waiting for the timer.
func TestRetransmittedSYNInSynRcvdDrawsSYNACK(t *testing.T) {
	h := newPassive(t, nil)
	h.toSynRcvd()
	h.advance(300 * time.Millisecond)
	h.send(syn(1000).mss(1460))
	h.expect(synAck(5000, 1001).mss(1460).rtx())
	h.state(SynReceived)
}

// A lost FIN is sent again after the RTO (RFC 9293 §3.10.4: the FIN is
// retransmitted like data). After a zero-RTT handshake the RTO is MinRTO.
func TestFINRetransmit(t *testing.T) {
	h := newActive(t, nil)
	h.toFinWait1()
	h.advance(200*time.Millisecond - time.Nanosecond)
	h.expectNone()
	h.advance(time.Nanosecond)
	h.expect(fin(1001, 5001).rtx())
	h.state(FinWait1)
	h.advance(400 * time.Millisecond)
	h.expect(fin(1001, 5001).rtx())
	h.send(ack(5001, 1002))
	h.state(FinWait2)
	h.expectNoTimer()
}

// A lost data segment: after one RTT sample of 100 ms, RFC 6298 §2.2 gives
// SRTT 100 ms, RTTVAR 50 ms, RTO = SRTT + 4·RTTVAR = 300 ms (above MinRTO
// 200 ms). Only the oldest unacknowledged segment is resent (§5.4), then the
// timer doubles (§5.5). When its ACK arrives, the rest follows.
func TestDataRetransmitAfterMeasuredRTO(t *testing.T) {
	h := newActive(t, nil)
	h.establishWith(100*time.Millisecond, synAck(5000, 1001).mss(1460))
	data := pattern(2000)
	h.write(data)
	h.expect(
		ack(1001, 5001).data(data[:1460]).fresh(),
		psh(2461, 5001, "").data(data[1460:]).fresh(),
	)
	h.expectDeadline(300 * time.Millisecond)
	h.advance(300*time.Millisecond - time.Nanosecond)
	h.expectNone()
	h.advance(time.Nanosecond)
	h.expect(ack(1001, 5001).data(data[:1460]).rtx())
	h.expectDeadline(600 * time.Millisecond)
	h.advance(600 * time.Millisecond)
	h.expect(ack(1001, 5001).data(data[:1460]).rtx())
	h.expectDeadline(1200 * time.Millisecond)
	h.send(ack(5001, 2461))
	h.expect(psh(2461, 5001, "").data(data[1460:]).rtx())
	h.send(ack(5001, 3001))
	h.expectNone()
	h.expectNoTimer()
	if h.c.Buffered() != 0 {
		t.Errorf("Buffered = %d, want 0", h.c.Buffered())
	}
}

// An ACK of new data restarts the timer for what is still outstanding
// (RFC 6298 §5.3).
func TestACKRestartsRetransmitTimer(t *testing.T) {
	h := newActive(t, nil) // RTO 200 ms
	h.establish()
	data := pattern(2000)
	h.write(data)
	h.expect(ack(1001, 5001).data(data[:1460]), psh(2461, 5001, "").data(data[1460:]))
	h.advance(150 * time.Millisecond)
	h.send(ack(5001, 2461))
	h.expectNone()
	h.expectDeadline(200 * time.Millisecond)
}

// Karn's algorithm (RFC 6298 §3, §5): an ACK for a retransmitted segment
// gives no RTT sample, so the backed-off RTO stays until a segment sent
// only once is acknowledged.
func TestKarnNoSampleFromRetransmission(t *testing.T) {
	h := newActive(t, nil)
	h.establishWith(100*time.Millisecond, synAck(5000, 1001).mss(1460)) // RTO 300 ms
	h.write([]byte("a"))
	h.expect(psh(1001, 5001, "a"))
	h.advance(300 * time.Millisecond)
	h.expect(psh(1001, 5001, "a").rtx()) // RTO now 600 ms
	h.advance(50 * time.Millisecond)
	h.send(ack(5001, 1002)) // ambiguous: no sample
	h.expectNoTimer()
	h.write([]byte("b"))
	h.expect(psh(1002, 5001, "b").fresh())
	h.expectDeadline(600 * time.Millisecond)
	h.advance(100 * time.Millisecond)
	h.send(ack(5001, 1003)) // a clean 100 ms sample
	// RTTVAR = 3/4·50 + 1/4·|100-100| = 37.5 ms; SRTT = 100 ms;
	// RTO = 100 + 4·37.5 = 250 ms.
	h.write([]byte("c"))
	h.expect(psh(1003, 5001, "c"))
	h.expectDeadline(250 * time.Millisecond)
}

// With Retries 2, data is resent twice; the third expiry ends the
// connection with ETIMEDOUT, and later calls report it.
func TestDataRetriesExhausted(t *testing.T) {
	h := newActive(t, &Config{Retries: 2})
	h.establish() // RTO 200 ms
	h.write([]byte("lost"))
	h.expect(psh(1001, 5001, "lost"))
	h.advance(200 * time.Millisecond)
	h.expect(psh(1001, 5001, "lost").rtx())
	h.advance(400 * time.Millisecond)
	h.expect(psh(1001, 5001, "lost").rtx())
	h.advance(800*time.Millisecond - time.Nanosecond)
	h.state(Established)
	h.advance(time.Nanosecond)
	h.expectNone()
	h.state(Closed)
	h.expectNoTimer()
	if err := h.c.Err(); !errors.Is(err, syscall.ETIMEDOUT) {
		t.Errorf("Err = %v, want ETIMEDOUT", err)
	}
	if _, err := h.c.Write([]byte("x"), h.now); !errors.Is(err, syscall.ETIMEDOUT) {
		t.Errorf("Write error = %v, want ETIMEDOUT", err)
	}
	if _, err := h.c.Read(make([]byte, 1), h.now); !errors.Is(err, syscall.ETIMEDOUT) {
		t.Errorf("Read error = %v, want ETIMEDOUT", err)
	}
}

// Progress resets the retry count: each ACK of new data gives the next
// segment the full set of retries.
func TestRetriesResetByProgress(t *testing.T) {
	h := newActive(t, &Config{Retries: 1})
	h.establish()
	h.write([]byte("one"))
	h.expect(psh(1001, 5001, "one"))
	h.advance(200 * time.Millisecond)
	h.expect(psh(1001, 5001, "one").rtx())
	h.send(ack(5001, 1004))
	h.write([]byte("two"))
	h.expect(psh(1004, 5001, "two"))
	h.advance(400 * time.Millisecond) // RTO still backed off (Karn)
	h.expect(psh(1004, 5001, "two").rtx())
	h.state(Established)
}

// The RTO is capped at MaxRTO when it backs off (RFC 6298 §5.5, §2.5).
func TestBackoffCappedAtMaxRTO(t *testing.T) {
	h := newActive(t, &Config{MaxRTO: 3 * time.Second})
	h.connect()
	h.advance(time.Second)
	h.expect(syn(1000).rtx())
	h.expectDeadline(2 * time.Second)
	h.advance(2 * time.Second)
	h.expect(syn(1000).rtx())
	h.expectDeadline(3 * time.Second)
	h.advance(3 * time.Second)
	h.expect(syn(1000).rtx())
	h.expectDeadline(3 * time.Second)
}

// RFC 6298 §5.7: "If the timer expires awaiting the ACK of a SYN segment
// and the TCP implementation is using an RTO less than 3 seconds, the RTO
// MUST be re-initialized to 3 seconds when data transmission begins (i.e.,
// after the three-way handshake completes)." Linux does the same
// (TCP_TIMEOUT_FALLBACK). After one lost SYN the backed-off RTO is 2 s, so
// the first data segment must be timed with 3 s.
func TestRTOIsThreeSecondsAfterSYNTimeout(t *testing.T) {
	h := newActive(t, nil)
	h.connect()
	h.advance(time.Second)
	h.expect(syn(1000).rtx())
	h.advance(100 * time.Millisecond)
	h.send(synAck(5000, 1001).mss(1460)) // acks a retransmitted SYN: no sample
	h.expect(ack(1001, 5001))
	h.write([]byte("data"))
	h.expect(psh(1001, 5001, "data"))
	h.expectDeadline(3 * time.Second)
}

// Same rule on the passive side, for a lost SYN-ACK.
func TestRTOIsThreeSecondsAfterSYNACKTimeout(t *testing.T) {
	h := newPassive(t, nil)
	h.toSynRcvd()
	h.advance(time.Second)
	h.expect(synAck(5000, 1001).rtx())
	h.advance(100 * time.Millisecond)
	h.send(ack(1001, 5001))
	h.state(Established)
	h.write([]byte("data"))
	h.expect(psh(5001, 1001, "data"))
	h.expectDeadline(3 * time.Second)
}

// The retransmitted data segment carries the current ACK and window, like
// any other.
func TestRetransmissionCarriesCurrentACK(t *testing.T) {
	h := newActive(t, nil)
	h.establish()
	h.write([]byte("ping"))
	h.expect(psh(1001, 5001, "ping"))
	h.send(psh(5001, 1001, "pong")) // acks nothing of ours
	h.expect(ack(1005, 5005))
	h.advance(200 * time.Millisecond)
	h.expect(psh(1001, 5005, "ping").rtx().win(65535 - 4))
}

// After a timeout SND.NXT goes back to SND.UNA, but bare ACKs and resets
// still carry the highest sequence number sent: a peer that has the data
// (its ACKs were lost) would drop a segment below its RCV.NXT, and Linux
// ignores such a reset.
func TestBareSegmentsUseHighestSeqAfterTimeout(t *testing.T) {
	h := newActive(t, nil)
	h.establish() // RTO 200 ms
	data := pattern(2000)
	h.write(data)
	h.expect(ack(1001, 5001).data(data[:1460]), psh(2461, 5001, "").data(data[1460:]))
	h.advance(200 * time.Millisecond)
	h.expect(ack(1001, 5001).data(data[:1460]).rtx()) // SND.NXT is now 2461, SND.MAX 3001
	// The peer's data arrives with a stale ACK and a window that lets no
	// more go out: our bare ACK carries seq 3001, not the rewound 2461.
	h.send(psh(5001, 1001, "y").win(1460))
	h.expect(ack(3001, 5002))
	h.c.Abort(h.now)
	h.expect(rstAck(3001, 5002))
}
