package tcp

// The timers around an established connection besides retransmission:
// delayed ACKs (RFC 1122 §4.2.3.2, RFC 5681 §4.2), keep-alive (RFC 1122
// §4.2.3.6) and the user timeout (RFC 5482, RFC 9293 §3.8.3).

import (
	"errors"
	"syscall"
	"testing"
	"time"
)

// sendSmall has the peer send n in-order segments of 100 bytes from
// RCV.NXT = *seq, acknowledging our data up to una, and expects an
// immediate ACK <SEQ=una><ACK=RCV.NXT> of each when quick is set and
// nothing otherwise.
func sendSmall(h *harness, una Value, seq *Value, n int, quick bool) {
	h.t.Helper()
	for range n {
		h.send(ack(*seq, una).data(pattern(100)))
		*seq += 100
		if quick {
			h.expect(ack(una, *seq))
		} else {
			h.expectNone()
		}
	}
}

// Delayed ACKs. The first 16 segments of a connection are acknowledged at
// once (quick-ACK mode, so that a sender in slow start is not held back,
// as Linux's TCP_MAX_QUICKACKS). After them, an ACK for in-order data
// waits up to DelayedACK (40 ms by default), for a second full-sized
// segment (RFC 1122 §4.2.3.2: "an ACK SHOULD be generated for at least
// every second full-sized segment", RFC 5681 §4.2) or for data of ours to
// ride on. After a silence longer than the RTO, quick-ACK mode starts
// again.
func TestDelayedACKTiming(t *testing.T) {
	h := newActive(t, nil)
	h.establish() // RTO 200 ms
	seq := Value(5001)
	sendSmall(h, 1001, &seq, 16, true)

	// The 17th: held for 40 ms, then acknowledged by the timer.
	sendSmall(h, 1001, &seq, 1, false)
	h.expectDeadline(40 * time.Millisecond)
	h.advance(40*time.Millisecond - time.Nanosecond)
	h.expectNone()
	h.advance(time.Nanosecond)
	h.expect(ack(1001, seq))
	h.expectNoTimer()

	// Two small segments: the second does not restart the timer, and one
	// ACK covers both.
	sendSmall(h, 1001, &seq, 1, false)
	h.advance(30 * time.Millisecond)
	sendSmall(h, 1001, &seq, 1, false)
	h.expectDeadline(10 * time.Millisecond)
	h.advance(10 * time.Millisecond)
	h.expect(ack(1001, seq))

	// Full-sized segments: the first waits, the second is acknowledged at
	// once, with the first.
	full := pattern(segSize)
	h.send(ack(seq, 1001).data(full))
	seq += segSize
	h.expectNone()
	h.send(ack(seq, 1001).data(full))
	seq += segSize
	h.expect(ack(1001, seq))
	h.expectNoTimer()

	// Data going out carries the ACK owed, and the timer stops.
	sendSmall(h, 1001, &seq, 1, false)
	h.advance(5 * time.Millisecond)
	h.write([]byte("reply"))
	h.expect(psh(1001, seq, "reply"))
	h.expectDeadline(200 * time.Millisecond) // the retransmission timer only
	h.send(ack(seq, 1006))
	h.expectNoTimer()

	// A silence longer than the RTO: quick ACKs again.
	h.advance(time.Second)
	sendSmall(h, 1006, &seq, 3, true)
}

// The delayed-ACK time is configurable, up to 200 ms (Linux's
// TCP_DELACK_MAX); a negative value acknowledges every segment at once.
func TestDelayedACKConfig(t *testing.T) {
	for _, tc := range []struct {
		delay, want time.Duration
	}{
		{100 * time.Millisecond, 100 * time.Millisecond},
		{time.Second, 200 * time.Millisecond},
		{-1, 0},
	} {
		h := newActive(t, &Config{DelayedACK: tc.delay})
		h.establish()
		seq := Value(5001)
		sendSmall(h, 1001, &seq, 16, true)
		sendSmall(h, 1001, &seq, 1, tc.want == 0)
		if tc.want == 0 {
			h.expectNoTimer()
			continue
		}
		h.expectDeadline(tc.want)
		h.advance(tc.want)
		h.expect(ack(1001, seq))
	}
}

// Keep-alive (RFC 1122 §4.2.3.6): after KeepAliveIdle without a segment
// from the peer, a probe <SEQ=SND.NXT-1><ACK=RCV.NXT> with no data (the
// form Linux sends: the peer must answer a segment below its window with
// an ACK); unanswered, one every KeepAliveInterval; after KeepAliveCount
// unanswered probes, at the next interval, the connection fails with
// ETIMEDOUT. (Linux sends a reset at that point; the engine sends
// nothing.)
func TestKeepAliveProbesAndTimeout(t *testing.T) {
	h := newActive(t, &Config{KeepAliveIdle: 10 * time.Second, KeepAliveInterval: 2 * time.Second, KeepAliveCount: 3})
	h.establish()
	h.expectDeadline(10 * time.Second)
	h.advance(10*time.Second - time.Nanosecond)
	h.expectNone()
	h.advance(time.Nanosecond)
	h.expect(ack(1000, 5001))
	for range 2 {
		h.expectDeadline(2 * time.Second)
		h.advance(2 * time.Second)
		h.expect(ack(1000, 5001))
	}
	h.state(Established)
	h.advance(2*time.Second - time.Nanosecond)
	h.state(Established)
	h.advance(time.Nanosecond)
	// Giving up, the connection resets, as Linux's tcp_keepalive_timer
	// does, so a peer that was only cut off does not keep a half-open
	// connection when it comes back.
	h.expect(rstAck(1001, 5001))
	h.state(Closed)
	h.expectNoTimer()
	if err := h.c.Err(); !errors.Is(err, syscall.ETIMEDOUT) {
		t.Errorf("Err = %v, want ETIMEDOUT", err)
	}
}

// An answered probe resets the count: the peer is alive, and the next
// probe comes a full idle period after its answer. Any segment from the
// peer does the same. Set with SetKeepAlive, as net.TCPConn's
// SetKeepAlivePeriod.
func TestKeepAliveAnsweredProbeResets(t *testing.T) {
	h := newActive(t, nil)
	h.establish()
	h.expectNoTimer() // off by default in the engine
	if err := h.c.SetKeepAlive(10*time.Second, 2*time.Second, 2); err != nil {
		t.Fatal(err)
	}
	h.advance(10 * time.Second)
	h.expect(ack(1000, 5001))
	h.advance(time.Second)
	h.send(ack(5001, 1001)) // the answer
	h.expectNone()
	h.expectDeadline(10 * time.Second)
	h.advance(10 * time.Second)
	h.expect(ack(1000, 5001))
	h.advance(2 * time.Second)
	h.expect(ack(1000, 5001))
	h.advance(time.Second)
	h.send(psh(5001, 1001, "late")) // data answers too
	h.expect(ack(1001, 5005))
	h.expectDeadline(10 * time.Second)
	for range 2 {
		h.advance(10 * time.Second)
		h.expect(ack(1000, 5005))
		h.send(ack(5005, 1001))
	}
	h.state(Established)
}

// With data outstanding the retransmission timer watches the peer, not
// keep-alive: no probe is sent while a segment waits for its ACK.
func TestKeepAliveNotWhileDataOutstanding(t *testing.T) {
	h := newActive(t, &Config{KeepAliveIdle: time.Second, MinRTO: 10 * time.Second, MaxRTO: 10 * time.Second})
	h.establish()
	h.write([]byte("x"))
	h.expect(psh(1001, 5001, "x"))
	h.advance(10*time.Second - time.Nanosecond)
	h.expectNone()
	h.advance(time.Nanosecond)
	h.expect(psh(1001, 5001, "x").rtx())
	h.send(ack(5001, 1002))
	h.expectDeadline(time.Second)
}

// The user timeout (RFC 5482, Linux's TCP_USER_TIMEOUT) fails a
// connection whose data has waited that long for an acknowledgment, long
// before Retries (15) would: with RTO 200 ms the retransmissions go at
// 200 ms and 600 ms; the next expiry, due at 1.4 s, is brought forward to
// the user timeout, 1 s after the data was sent, and the connection fails
// with ETIMEDOUT without sending again.
func TestUserTimeoutBeforeRetries(t *testing.T) {
	h := newActive(t, &Config{UserTimeout: time.Second})
	h.establish()
	h.write([]byte("data"))
	h.expect(psh(1001, 5001, "data"))
	h.advance(200 * time.Millisecond)
	h.expect(psh(1001, 5001, "data").rtx())
	h.advance(400 * time.Millisecond)
	h.expect(psh(1001, 5001, "data").rtx())
	h.expectDeadline(400 * time.Millisecond) // not 800 ms
	h.advance(400*time.Millisecond - time.Nanosecond)
	h.state(Established)
	h.advance(time.Nanosecond)
	h.expectNone()
	h.state(Closed)
	if err := h.c.Err(); !errors.Is(err, syscall.ETIMEDOUT) {
		t.Errorf("Err = %v, want ETIMEDOUT", err)
	}
}

// Progress restarts the user timeout: it measures how long the oldest
// unacknowledged data has waited, not the connection's age. Set with
// SetUserTimeout.
func TestUserTimeoutRestartsOnProgress(t *testing.T) {
	h := newActive(t, nil)
	h.establish()
	if err := h.c.SetUserTimeout(time.Second); err != nil {
		t.Fatal(err)
	}
	h.write([]byte("one"))
	h.expect(psh(1001, 5001, "one"))
	h.advance(200 * time.Millisecond)
	h.expect(psh(1001, 5001, "one").rtx())
	h.advance(300 * time.Millisecond)
	h.write([]byte("two")) // in flight behind "one"
	h.expect(psh(1004, 5001, "two"))
	h.advance(100 * time.Millisecond)
	// The second expiry: everything outstanding is resent, in one segment.
	h.expect(psh(1001, 5001, "onetwo").rtx())
	h.advance(100 * time.Millisecond) // 700 ms
	h.send(ack(5001, 1004))           // "one" acknowledged: progress
	h.expectNone()
	// "two" has waited 400 ms, but the clock restarted at the ACK: the
	// timer (RTO 800 ms after backoff) is cut to the user timeout 1 s
	// after the progress, not 1 s after "one" was sent.
	h.expectDeadline(800 * time.Millisecond)
	h.advance(800 * time.Millisecond)
	h.expect(psh(1004, 5001, "two").rtx())
	h.expectDeadline(200 * time.Millisecond)
	h.advance(200 * time.Millisecond)
	h.expectNone()
	h.state(Closed)
	if err := h.c.Err(); !errors.Is(err, syscall.ETIMEDOUT) {
		t.Errorf("Err = %v, want ETIMEDOUT", err)
	}
}
