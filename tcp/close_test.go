package tcp

// Closing a connection: the lower half of RFC 9293 Figure 5, resets in
// every synchronized state, ABORT, and half-close.

import (
	"errors"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/seqack/seqack/wire"
)

// ESTABLISHED → FIN_WAIT_1. RFC 9293 §3.10.4 (CLOSE, ESTABLISHED): "form a
// FIN segment and send it, and set FIN-WAIT-1 state". Both CloseWrite
// (shutdown) and Close do it; the FIN is timed for retransmission.
func TestCloseSendsFIN(t *testing.T) {
	for _, tc := range []struct {
		name  string
		close func(h *harness)
	}{
		{"CloseWrite", (*harness).closeWrite},
		{"Close", (*harness).close},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newActive(t, nil)
			h.establish()
			tc.close(h)
			h.expect(fin(1001, 5001).win(65535))
			h.state(FinWait1)
			h.expectTransitions(FinWait1)
			h.expectDeadline(200 * time.Millisecond)
			if _, err := h.c.Write([]byte("x"), h.now); !errors.Is(err, syscall.EPIPE) {
				t.Errorf("Write after %s: %v, want EPIPE", tc.name, err)
			}
		})
	}
}

// Queued data goes out before the FIN, the FIN riding on the last segment.
func TestFINFollowsQueuedData(t *testing.T) {
	h := newActive(t, nil)
	h.establishWith(0, synAck(5000, 1001).mss(1460).win(0))
	h.write([]byte("bye"))
	h.closeWrite()
	h.expectNone() // the window is closed
	h.state(FinWait1)
	h.send(ack(5001, 1001).win(1000))
	h.expect(psh(1001, 5001, "bye").with(wire.FlagFIN))
}

// FIN_WAIT_1 → FIN_WAIT_2. RFC 9293 §3.10.7.4 (fifth, FIN-WAIT-1): "if the
// FIN segment is now acknowledged, then enter FIN-WAIT-2".
func TestFinWait1ACKOfFINToFinWait2(t *testing.T) {
	h := newActive(t, nil)
	h.toFinWait1()
	h.send(ack(5001, 1002))
	h.expectNone()
	h.state(FinWait2)
	h.expectTransitions(FinWait2)
	h.expectNoTimer() // CloseWrite: no orphan timeout
}

// FIN_WAIT_1 → CLOSING (simultaneous close), then CLOSING → TIME_WAIT.
// RFC 9293 §3.10.7.4 (eighth, FIN-WAIT-1): "Otherwise [our FIN not ACKed],
// enter the CLOSING state"; the FIN is acknowledged. (fifth, CLOSING): "if
// the ACK acknowledges our FIN, then enter the TIME-WAIT state".
func TestSimultaneousClose(t *testing.T) {
	h := newActive(t, nil)
	h.toFinWait1()
	h.send(fin(5001, 1001))
	h.expect(ack(1002, 5002))
	h.state(Closing)
	h.expectTransitions(Closing)
	h.send(ack(5002, 1002))
	h.expectNone()
	h.state(TimeWait)
	h.expectTransitions(TimeWait)
	h.expectDeadline(2 * 30 * time.Second)
}

// FIN_WAIT_1 → TIME_WAIT on a FIN that also acknowledges ours. RFC 9293
// §3.10.7.4 (eighth, FIN-WAIT-1): "If our FIN has been ACKed (perhaps in
// this segment), then enter TIME-WAIT, start the time-wait timer". The
// fifth step passes through FIN-WAIT-2 on the way.
func TestFinWait1FINACKToTimeWait(t *testing.T) {
	h := newActive(t, nil)
	h.toFinWait1()
	h.send(fin(5001, 1002))
	h.expect(ack(1002, 5002))
	h.state(TimeWait)
	h.expectTransitions(FinWait2, TimeWait)
	h.expectDeadline(60 * time.Second)
}

// FIN_WAIT_2 → TIME_WAIT. RFC 9293 §3.10.7.4 (eighth, FIN-WAIT-2): "Enter
// the TIME-WAIT state. Start the time-wait timer", the FIN being ACKed.
func TestFinWait2FINToTimeWait(t *testing.T) {
	h := newActive(t, nil)
	h.toFinWait2()
	h.advance(5 * time.Second)
	h.send(fin(5001, 1002))
	h.expect(ack(1002, 5002))
	h.state(TimeWait)
	h.expectTransitions(TimeWait)
	h.expectDeadline(60 * time.Second)
}

// TIME_WAIT → CLOSED after exactly 2×MSL, not a nanosecond before
// (RFC 9293 §3.10.8, "Time-Wait Timeout"). Tried with the default MSL
// (30 s) and a configured one.
func TestTimeWaitLastsTwoMSL(t *testing.T) {
	for _, tc := range []struct {
		name string
		msl  time.Duration
		want time.Duration
	}{
		{"default MSL", 0, 60 * time.Second},
		{"MSL 2s", 2 * time.Second, 4 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newActive(t, &Config{MSL: tc.msl})
			h.toTimeWait()
			h.advance(tc.want - time.Nanosecond)
			h.state(TimeWait)
			h.advance(time.Nanosecond)
			h.expectNone()
			h.expectClosedCleanly()
		})
	}
}

// ESTABLISHED → CLOSE_WAIT. RFC 9293 §3.10.7.4 (eighth): "advance RCV.NXT
// over the FIN, and send an acknowledgment for the FIN ... ESTABLISHED
// STATE: Enter the CLOSE-WAIT state". Read returns the data, then io.EOF
// ("signal the user 'connection closing'").
func TestEstablishedFINToCloseWait(t *testing.T) {
	h := newActive(t, nil)
	h.establish()
	h.send(fin(5001, 1001).text("hello"))
	h.expect(ack(1001, 5007))
	h.state(CloseWait)
	h.expectTransitions(CloseWait)
	if !h.c.Readable() {
		t.Error("Readable() = false with data and FIN received")
	}
	buf := make([]byte, 100)
	n, err := h.c.Read(buf, h.now)
	if n != 5 || err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("first Read = %d %q, %v; want 5 \"hello\", nil", n, buf[:n], err)
	}
	if n, err := h.c.Read(buf, h.now); n != 0 || err != io.EOF {
		t.Fatalf("second Read = %d, %v; want 0, io.EOF", n, err)
	}
}

// CLOSE_WAIT → LAST_ACK. RFC 9293 §3.10.4 (CLOSE, CLOSE-WAIT): "Queue this
// request until all preceding SENDs have been segmentized; then send a FIN
// segment, enter LAST-ACK state." Close (everything read) and CloseWrite
// both do it.
func TestCloseWaitCloseToLastAck(t *testing.T) {
	for _, tc := range []struct {
		name  string
		close func(h *harness)
	}{
		{"CloseWrite", (*harness).closeWrite},
		{"Close", (*harness).close},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newActive(t, nil)
			h.toCloseWait()
			tc.close(h)
			h.expect(fin(1001, 5002))
			h.state(LastAck)
			h.expectTransitions(LastAck)
			h.expectDeadline(200 * time.Millisecond)
		})
	}
}

// LAST_ACK → CLOSED. RFC 9293 §3.10.7.4 (fifth, LAST-ACK): "The only thing
// that can arrive in this state is an acknowledgment of our FIN. If our FIN
// is now acknowledged, delete the TCB, enter the CLOSED state".
func TestLastAckACKCloses(t *testing.T) {
	h := newActive(t, nil)
	h.toLastAck()
	h.send(ack(5002, 1002))
	h.expectNone()
	h.expectClosedCleanly()
}

// An ACK in LAST_ACK that does not cover the FIN leaves the state alone.
func TestLastAckPartialACK(t *testing.T) {
	h := newActive(t, nil)
	h.toCloseWait()
	h.write([]byte("abc"))
	h.expect(psh(1001, 5002, "abc"))
	h.closeWrite()
	h.expect(fin(1004, 5002))
	h.send(ack(5002, 1004))
	h.expectNone()
	h.state(LastAck)
	h.send(ack(5002, 1005))
	h.state(Closed)
}

// Every synchronized state → CLOSED on a RST at exactly RCV.NXT. RFC 9293
// §3.10.7.4 (second) with RFC 5961 §3.2: ESTABLISHED, FIN-WAIT-1,
// FIN-WAIT-2, CLOSE-WAIT: "any outstanding RECEIVEs and SEND should receive
// 'reset' responses ... Enter the CLOSED state"; CLOSING, LAST-ACK,
// TIME-WAIT: "enter the CLOSED state, delete the TCB, and return".
func TestRSTClosesSynchronizedStates(t *testing.T) {
	for _, tc := range []struct {
		state   State
		setup   func(h *harness)
		rcvNxt  Value
		wantErr error
		readErr error // what Read returns afterwards
	}{
		{Established, (*harness).establish, 5001, syscall.ECONNRESET, syscall.ECONNRESET},
		{FinWait1, (*harness).toFinWait1, 5001, syscall.ECONNRESET, syscall.ECONNRESET},
		{FinWait2, (*harness).toFinWait2, 5001, syscall.ECONNRESET, syscall.ECONNRESET},
		// The peer's stream had ended with its FIN: Read reports that end,
		// as Linux's read(2) does; Write reports the reset.
		{CloseWait, (*harness).toCloseWait, 5002, syscall.ECONNRESET, io.EOF},
		{Closing, (*harness).toClosing, 5002, nil, nil},
		{LastAck, (*harness).toLastAck, 5002, nil, nil},
		{TimeWait, (*harness).toTimeWait, 5002, nil, nil},
	} {
		t.Run(tc.state.String(), func(t *testing.T) {
			h := newActive(t, nil)
			tc.setup(h)
			h.state(tc.state)
			h.send(rst(tc.rcvNxt))
			h.expectNone()
			h.state(Closed)
			h.expectTransitions(Closed)
			h.expectNoTimer()
			err := h.c.Err()
			if tc.wantErr == nil {
				if err != nil {
					t.Errorf("Err = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("Err = %v, want %v", err, tc.wantErr)
			}
			if _, err := h.c.Read(make([]byte, 10), h.now); !errors.Is(err, tc.readErr) {
				t.Errorf("Read error = %v, want %v", err, tc.readErr)
			}
			if _, err := h.c.Write([]byte("x"), h.now); !errors.Is(err, tc.wantErr) {
				t.Errorf("Write error = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

// ABORT. RFC 9293 §3.10.5: in SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1,
// FIN-WAIT-2 and CLOSE-WAIT "send a reset segment: <SEQ=SND.NXT><CTL=RST>",
// which carries the ACK and RCV.NXT as well, as Linux's does; in SYN-SENT,
// CLOSING, LAST-ACK and TIME-WAIT nothing is sent. Either way the
// connection is CLOSED with no timer left.
func TestAbort(t *testing.T) {
	for _, tc := range []struct {
		name    string
		passive bool
		setup   func(h *harness)
		want    []pkt
	}{
		{"SYN_SENT", false, (*harness).connect, nil},
		{"SYN_RCVD", true, (*harness).toSynRcvd, []pkt{rstAck(5001, 1001)}},
		{"ESTABLISHED with data in flight", false, func(h *harness) {
			h.establish()
			h.write([]byte("abc"))
			h.expect(psh(1001, 5001, "abc"))
		}, []pkt{rstAck(1004, 5001)}},
		{"FIN_WAIT_1", false, (*harness).toFinWait1, []pkt{rstAck(1002, 5001)}},
		{"FIN_WAIT_2", false, (*harness).toFinWait2, []pkt{rstAck(1002, 5001)}},
		{"CLOSE_WAIT", false, (*harness).toCloseWait, []pkt{rstAck(1001, 5002)}},
		{"CLOSING", false, (*harness).toClosing, nil},
		{"LAST_ACK", false, (*harness).toLastAck, nil},
		{"TIME_WAIT", false, (*harness).toTimeWait, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newActive(t, nil)
			if tc.passive {
				h = newPassive(t, nil)
			}
			tc.setup(h)
			h.markTransitions()
			h.c.Abort(h.now)
			h.expect(tc.want...)
			h.state(Closed)
			h.expectTransitions(Closed)
			h.expectNoTimer()
			h.advance(time.Minute)
			h.expectNone()
		})
	}
}

// Half-close, the sending side still open: in CLOSE_WAIT the application
// can still Write and the data goes out (RFC 9293 §3.10.2, CLOSE-WAIT:
// "Segmentize any text to be sent and queue for output").
func TestCloseWaitCanStillSend(t *testing.T) {
	h := newActive(t, nil)
	h.toCloseWait()
	h.write([]byte("pong"))
	h.expect(psh(1001, 5002, "pong"))
	h.state(CloseWait)
	h.send(ack(5002, 1005))
	h.expectNone()
	if got := h.c.Buffered(); got != 0 {
		t.Errorf("Buffered = %d after the ACK, want 0", got)
	}
	h.closeWrite()
	h.expect(fin(1005, 5002))
	h.state(LastAck)
}

// Half-close, the receiving side still open: after CloseWrite, FIN_WAIT_2
// still takes the peer's data and Read returns it (RFC 9293 §3.10.7.4,
// seventh: FIN-WAIT-2 processes the segment text as ESTABLISHED does).
func TestFinWait2StillReceives(t *testing.T) {
	h := newActive(t, nil)
	h.toFinWait2()
	h.send(psh(5001, 1002, "late data"))
	h.expect(ack(1002, 5010))
	h.state(FinWait2)
	if got := string(h.read()); got != "late data" {
		t.Errorf("Read = %q, want %q", got, "late data")
	}
	h.send(fin(5010, 1002))
	h.expect(ack(1002, 5011))
	h.state(TimeWait)
	if _, err := h.c.Read(make([]byte, 1), h.now); err != io.EOF {
		t.Errorf("Read after FIN: %v, want io.EOF", err)
	}
}

// FIN_WAIT_1 also still receives (the peer has not seen our FIN yet).
func TestFinWait1StillReceives(t *testing.T) {
	h := newActive(t, nil)
	h.toFinWait1()
	h.send(psh(5001, 1001, "crossing"))
	h.expect(ack(1002, 5009))
	h.state(FinWait1)
	if got := string(h.read()); got != "crossing" {
		t.Errorf("Read = %q, want %q", got, "crossing")
	}
}

// A fully closed (orphaned) connection does not wait in FIN_WAIT_2 forever:
// after FinWait2Timeout it is CLOSED. A half-closed one (CloseWrite) waits.
func TestFinWait2Timeout(t *testing.T) {
	t.Run("Close", func(t *testing.T) {
		h := newActive(t, &Config{FinWait2Timeout: 10 * time.Second})
		h.establish()
		h.close()
		h.expect(fin(1001, 5001))
		h.send(ack(5001, 1002))
		h.state(FinWait2)
		h.expectDeadline(10 * time.Second)
		h.advance(10*time.Second - time.Nanosecond)
		h.state(FinWait2)
		h.advance(time.Nanosecond)
		h.expectNone()
		h.state(Closed)
	})
	t.Run("CloseWrite", func(t *testing.T) {
		h := newActive(t, &Config{FinWait2Timeout: 10 * time.Second})
		h.toFinWait2()
		h.expectNoTimer()
		h.advance(time.Hour)
		h.state(FinWait2)
	})
	t.Run("CloseWrite then Close", func(t *testing.T) {
		h := newActive(t, &Config{FinWait2Timeout: 10 * time.Second})
		h.toFinWait2()
		h.close()
		h.expectNone()
		h.expectDeadline(10 * time.Second)
		h.advance(10 * time.Second)
		h.state(Closed)
	})
}

// The peer's FIN, sent again because our ACK of it was lost, draws that
// ACK again in every state after it (RFC 9293 §3.10.7.4, first: the
// segment is old, so it is acknowledged and dropped); the state stays.
func TestRetransmittedPeerFINReACKed(t *testing.T) {
	for _, tc := range []struct {
		state State
		setup func(h *harness)
		want  pkt
	}{
		{CloseWait, (*harness).toCloseWait, ack(1001, 5002)},
		{Closing, (*harness).toClosing, ack(1002, 5002)},
		{LastAck, (*harness).toLastAck, ack(1002, 5002)},
	} {
		t.Run(tc.state.String(), func(t *testing.T) {
			h := newActive(t, nil)
			tc.setup(h)
			h.send(fin(5001, 1001))
			h.expect(tc.want)
			h.state(tc.state)
		})
	}
}
