package tcp

// The data path: RFC 9293 §3.10.2 (SEND), §3.10.3 (RECEIVE) and
// §3.10.7.4 (seventh step, the segment text).

import (
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/seqack/seqack/wire"
)

// In-order data is delivered and acknowledged at once (RFC 9293
// §3.10.7.4, seventh: "Once the TCP endpoint takes responsibility for the
// data, it advances RCV.NXT over the data accepted ... Send an
// acknowledgment of the form: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>").
func TestInOrderDataDelivered(t *testing.T) {
	h := newActive(t, nil)
	h.establish()
	if h.c.Readable() {
		t.Error("Readable() = true before any data")
	}
	if n, err := h.c.Read(make([]byte, 10), h.now); n != 0 || err != nil {
		t.Errorf("Read before data = %d, %v; want 0, nil", n, err)
	}
	h.send(psh(5001, 1001, "hello"))
	h.expect(ack(1001, 5006))
	h.send(psh(5006, 1001, ", world"))
	h.expect(ack(1001, 5013))
	if !h.c.Readable() {
		t.Error("Readable() = false with data")
	}
	if got := string(h.read()); got != "hello, world" {
		t.Errorf("Read = %q, want %q", got, "hello, world")
	}
	h.state(Established)
}

// Sending: Write queues the data and it goes out at once with PSH on the
// segment that empties the queue; the peer's ACK frees it.
func TestWriteSendsData(t *testing.T) {
	h := newActive(t, nil)
	h.establish()
	h.write([]byte("hello"))
	h.expect(psh(1001, 5001, "hello").fresh().win(65535))
	if got := h.c.Buffered(); got != 5 {
		t.Errorf("Buffered = %d before the ACK, want 5", got)
	}
	h.send(ack(5001, 1006))
	h.expectNone()
	if got := h.c.Buffered(); got != 0 {
		t.Errorf("Buffered = %d after the ACK, want 0", got)
	}
	h.expectNoTimer()
}

// Received data and sent data share segments: the ACK rides on our data.
func TestDataPiggybacksACK(t *testing.T) {
	h := newActive(t, nil)
	h.establish()
	h.send(psh(5001, 1001, "ping"))
	h.expect(ack(1001, 5005))
	h.write([]byte("pong"))
	h.expect(psh(1001, 5005, "pong"))
}

// The send buffer bounds Write: what does not fit is refused, and room
// comes back as the peer acknowledges.
func TestWriteLimitedBySendBuffer(t *testing.T) {
	h := newActive(t, &Config{SendBufferSize: 1000})
	h.establish()
	n, err := h.c.Write(pattern(1500), h.now)
	if n != 1000 || err != nil {
		t.Fatalf("Write(1500) = %d, %v; want 1000, nil", n, err)
	}
	h.expect(psh(1001, 5001, "").data(pattern(1000)))
	if n, err := h.c.Write([]byte("x"), h.now); n != 0 || err != nil {
		t.Errorf("Write to a full buffer = %d, %v; want 0, nil", n, err)
	}
	if h.c.Writable() {
		t.Error("Writable() = true with a full buffer")
	}
	h.send(ack(5001, 1501))
	if !h.c.Writable() {
		t.Error("Writable() = false after 500 bytes were acknowledged")
	}
	h.write(pattern(500))
	h.expect(psh(2001, 5001, "").data(pattern(500)))
}

// An out-of-order segment is not delivered (this engine keeps no
// out-of-order queue) but draws an immediate duplicate ACK that shows the
// sender the hole (RFC 9293 §3.10.7.4, RFC 5681 §4.2: "A TCP receiver
// SHOULD send an immediate duplicate ACK when an out-of-order segment
// arrives"). The segment itself is kept, and delivered once the hole is
// filled, whose ACK covers both at once.
func TestOutOfOrderSegmentKeptAndDuplicateACKed(t *testing.T) {
	h := newActive(t, nil)
	h.establish()
	h.send(psh(5006, 1001, "world"))
	h.expect(ack(1001, 5001))
	if n := h.c.Unread(); n != 0 {
		t.Errorf("Unread = %d after an out-of-order segment, want 0", n)
	}
	h.send(psh(5011, 1001, "again"))
	h.expect(ack(1001, 5001))
	h.send(psh(5001, 1001, "hello"))
	h.expect(ack(1001, 5016))
	if got := string(h.read()); got != "helloworldagain" {
		t.Errorf("Read = %q, want %q", got, "helloworldagain")
	}
	// A retransmission of what arrived is a duplicate: ACKed at once.
	h.send(psh(5006, 1001, "world"))
	h.expect(ack(1001, 5016))
}

// An out-of-order FIN is held too, and takes effect when the data before
// it arrives.
func TestOutOfOrderFINHeld(t *testing.T) {
	h := newActive(t, nil)
	h.establish()
	h.send(fin(5006, 1001))
	h.expect(ack(1001, 5001))
	h.state(Established)
	h.send(psh(5001, 1001, "hello"))
	h.expect(ack(1001, 5007))
	h.state(CloseWait)
	if got := string(h.read()); got != "hello" {
		t.Errorf("Read = %q, want %q", got, "hello")
	}
	// The FIN again: a duplicate, acknowledged.
	h.send(fin(5006, 1001))
	h.expect(ack(1001, 5007))
}

// A segment that overlaps data already received is trimmed: "If a segment's
// contents straddle the boundary between old and new, only the new parts
// are processed" (RFC 9293 §3.10.7.4, first). Nothing is delivered twice.
func TestOverlappingDataTrimmed(t *testing.T) {
	h := newActive(t, nil)
	h.establish()
	h.send(psh(5001, 1001, "hello"))
	h.expect(ack(1001, 5006))
	h.send(psh(5004, 1001, "lo, world")) // 5004-5005 old, 5006-5012 new
	h.expect(ack(1001, 5013))
	if got := string(h.read()); got != "hello, world" {
		t.Errorf("Read = %q, want %q", got, "hello, world")
	}
}

// A retransmitted segment already received is acknowledged and not
// delivered again.
func TestDuplicateDataNotDeliveredTwice(t *testing.T) {
	h := newActive(t, nil)
	h.establish()
	h.send(psh(5001, 1001, "hello"))
	h.expect(ack(1001, 5006))
	h.send(psh(5001, 1001, "hello"))
	h.expect(ack(1001, 5006))
	if got := string(h.read()); got != "hello" {
		t.Errorf("Read = %q, want %q", got, "hello")
	}
}

// A retransmission of data already received with a FIN not yet received:
// the old data is trimmed and the FIN taken.
func TestRetransmittedDataWithNewFIN(t *testing.T) {
	h := newActive(t, nil)
	h.establish()
	h.send(psh(5001, 1001, "hello"))
	h.expect(ack(1001, 5006))
	h.send(fin(5001, 1001).text("hello"))
	h.expect(ack(1001, 5007))
	h.state(CloseWait)
	if got := string(h.read()); got != "hello" {
		t.Errorf("Read = %q, want %q", got, "hello")
	}
}

// Data beyond the window's right edge is trimmed to the window.
func TestDataBeyondWindowTrimmed(t *testing.T) {
	h := newActive(t, &Config{ReceiveBufferSize: 10})
	h.connect()
	h.send(synAck(5000, 1001).mss(1460))
	h.expect(ack(1001, 5001).win(10))
	h.send(psh(5001, 1001, "0123456789abcdef"))
	h.expect(ack(1001, 5011).win(0))
	if got := string(h.read()); got != "0123456789" {
		t.Errorf("Read = %q, want %q", got, "0123456789")
	}
}

// A FIN beyond the window's right edge is not processed: it lies outside
// the window with the data that was cut off (RFC 9293 §3.10.7.4, first:
// "Segments with higher beginning sequence numbers SHOULD be held for later
// processing" — or dropped).
func TestFINBeyondWindowNotProcessed(t *testing.T) {
	h := newActive(t, &Config{ReceiveBufferSize: 10})
	h.connect()
	h.send(synAck(5000, 1001).mss(1460))
	h.expect(ack(1001, 5001).win(10))
	h.send(fin(5001, 1001).text("0123456789abcdef"))
	h.expect(ack(1001, 5011).win(0))
	h.state(Established)
	if got := string(h.read()); got != "0123456789" {
		t.Errorf("Read = %q, want %q", got, "0123456789")
	}
}

// Data arriving after a full Close, in FIN_WAIT_1 or FIN_WAIT_2, cannot be
// read by anyone: the connection is reset (RFC 1122 §4.2.2.13, RFC 2525
// §2.17) and CLOSED. The reset answers the segment, <SEQ=SEG.ACK><CTL=RST>,
// as Linux's does: in FIN_WAIT_1 the data need not acknowledge our FIN.
// (conform/scripts/teardown/data-after-close*.pkt, against the kernel.)
func TestDataAfterCloseResets(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(h *harness)
		state State
		in    pkt
	}{
		{"FIN_WAIT_1", func(h *harness) {}, FinWait1, psh(5001, 1001, "late")},
		{"FIN_WAIT_2", func(h *harness) { h.send(ack(5001, 1002)); h.expectNone() }, FinWait2, psh(5001, 1002, "late")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newActive(t, nil)
			h.establish()
			h.close()
			h.expect(fin(1001, 5001))
			tc.setup(h)
			h.state(tc.state)
			h.markTransitions()
			h.send(tc.in)
			h.expect(rst(tc.in.ack))
			h.state(Closed)
			h.expectTransitions(Closed)
			h.expectNoTimer()
		})
	}
}

// Close with received data still unread resets the connection instead of
// sending a FIN, to show the peer that data was lost (RFC 1122 §4.2.2.13:
// "If such a host issues a CLOSE call while received data is still pending
// in TCP, or if new data is received after CLOSE is called, its TCP SHOULD
// send a RST to show that data was lost").
func TestCloseWithUnreadDataResets(t *testing.T) {
	h := newActive(t, nil)
	h.establish()
	h.send(psh(5001, 1001, "unread"))
	h.expect(ack(1001, 5007))
	h.close()
	h.expect(rstAck(1001, 5007)) // as Linux's active reset: with the ACK
	h.state(Closed)
	h.expectNoTimer()
}

// CloseWrite with unread data is an ordinary half-close: a FIN, no reset.
func TestCloseWriteWithUnreadDataSendsFIN(t *testing.T) {
	h := newActive(t, nil)
	h.establish()
	h.send(psh(5001, 1001, "unread"))
	h.expect(ack(1001, 5007))
	h.closeWrite()
	h.expect(fin(1001, 5007))
	h.state(FinWait1)
	if got := string(h.read()); got != "unread" {
		t.Errorf("Read = %q, want %q", got, "unread")
	}
}

// Write after CloseWrite fails with EPIPE (RFC 9293 §3.10.2, FIN-WAIT-1 ...
// "return 'error: connection closing'"); Write and CloseWrite on a
// connection never opened fail too.
func TestWriteAfterCloseWrite(t *testing.T) {
	h := newActive(t, nil)
	h.establish()
	h.closeWrite()
	h.expect(fin(1001, 5001))
	if _, err := h.c.Write([]byte("x"), h.now); !errors.Is(err, syscall.EPIPE) {
		t.Errorf("Write after CloseWrite: %v, want EPIPE", err)
	}
	h.expectNone()
	if err := h.c.CloseWrite(h.now); err != nil {
		t.Errorf("second CloseWrite: %v, want nil", err)
	}
	h.expectNone()

	fresh := newActive(t, nil)
	if _, err := fresh.c.Write([]byte("x"), fresh.now); err == nil {
		t.Error("Write on a CLOSED connection succeeded")
	}
	if err := fresh.c.CloseWrite(fresh.now); !errors.Is(err, syscall.ENOTCONN) {
		t.Errorf("CloseWrite on a CLOSED connection: %v, want ENOTCONN", err)
	}
	fresh.expectNone()
}

// Data that wraps around the end of the send buffer goes out as Payload +
// PayloadWrap and reaches the peer intact.
func TestSendBufferWrap(t *testing.T) {
	h := newActive(t, &Config{SendBufferSize: 1000, MaxSendBufferSize: 1000})
	h.establish()
	first := pattern(800)
	h.write(first)
	h.expect(psh(1001, 5001, "").data(first))
	h.send(ack(5001, 1701)) // 100 bytes stay unacknowledged at ring offset 700
	second := pattern(240)
	for i := range second {
		second[i] = 'A' + byte(i%26)
	}
	h.write(second) // 200 bytes at the end of the ring, 40 at its start
	h.expect(psh(1801, 5001, "").data(second))
	if h.wraps != 1 {
		t.Errorf("%d segments used PayloadWrap, want 1", h.wraps)
	}
	h.send(ack(5001, 2041))
	if h.c.Buffered() != 0 {
		t.Errorf("Buffered = %d, want 0", h.c.Buffered())
	}
}

// Sequence numbers wrap around 2³² without harm (RFC 9293 §3.4).
func TestSequenceWraparound(t *testing.T) {
	h := newHarness(t, nil, 0xFFFFFFF0)
	if err := h.c.Connect(h.now); err != nil {
		t.Fatal(err)
	}
	h.expect(syn(0xFFFFFFF0))
	h.send(synAck(0xFFFFFFFA, 0xFFFFFFF1).mss(1460))
	h.expect(ack(0xFFFFFFF1, 0xFFFFFFFB))
	h.write([]byte("0123456789abcdefghij")) // 0xFFFFFFF1 .. 0x00000004
	h.expect(psh(0xFFFFFFF1, 0xFFFFFFFB, "0123456789abcdefghij"))
	h.send(psh(0xFFFFFFFB, 0x00000005, "ABCDEFGHIJ")) // 0xFFFFFFFB .. 0x00000004
	h.expect(ack(0x00000005, 0x00000005))
	if h.c.Buffered() != 0 {
		t.Errorf("Buffered = %d, want 0 after an ACK across the wrap", h.c.Buffered())
	}
	if got := string(h.read()); got != "ABCDEFGHIJ" {
		t.Errorf("Read = %q", got)
	}
	h.closeWrite()
	h.expect(fin(0x00000005, 0x00000005))
	h.send(fin(0x00000005, 0x00000006))
	h.expect(ack(0x00000006, 0x00000006))
	h.state(TimeWait)
}

// A half-closed side that has reached TIME_WAIT with data still unread
// keeps its TIME_WAIT when the application finally closes: the exchange
// is over, so there is nothing to reset, and 2×MSL must still run.
func TestCloseInTimeWaitWithUnreadData(t *testing.T) {
	h := newActive(t, nil)
	h.establish()
	h.closeWrite()
	h.expect(fin(1001, 5001))
	h.send(ack(5001, 1002))
	h.state(FinWait2)
	h.send(psh(5001, 1002, "unread").with(wire.FlagFIN))
	h.expect(ack(1002, 5008))
	h.state(TimeWait)
	h.close()
	h.expectNone()
	h.state(TimeWait)
	h.expectDeadline(60 * time.Second)
}
