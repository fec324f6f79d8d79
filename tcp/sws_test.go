package tcp

// When small segments may leave: Nagle's algorithm (RFC 896, RFC 1122
// §4.2.3.4), sender-side silly window syndrome avoidance (RFC 1122
// §4.2.3.4), and the zero window, its probes and its update (RFC 9293
// §3.8.6.1, §3.8.6.2.2).

import (
	"bytes"
	"testing"
	"time"

	"github.com/seqack/seqack/wire"
)

// With Nagle on (SetNoDelay(false)), a segment shorter than the MSS waits
// while an earlier short segment is unacknowledged: RFC 1122 §4.2.3.4 in
// Minshall's variant, as Linux has it (tcp_nagle_check). The first small
// write goes at once; the next ones are held and leave together at the
// ACK. A full segment is never held, nor the short tail after it when no
// short segment is out; a short write after that tail waits for the
// tail's ACK, not the full segment's. Turning Nagle off sends what is
// held; closing pushes it out with the FIN.
func TestNagleHoldsSmallSegmentUntilACK(t *testing.T) {
	h := newActive(t, nil)
	h.establish()
	h.c.SetNoDelay(false, h.now)
	h.write([]byte("a"))
	h.expect(psh(1001, 5001, "a"))
	h.write([]byte("b"))
	h.write([]byte("c"))
	h.expectNone()
	h.advance(20 * time.Millisecond)
	h.expectNone()
	h.send(ack(5001, 1002))
	h.expect(psh(1002, 5001, "bc"))
	h.send(ack(5001, 1004))

	// A full-sized segment goes, and the 10 bytes after it with it: no
	// short segment is unacknowledged. A short write now waits for the
	// ACK of those 10 bytes; the full segment's ACK does not free it.
	big := pattern(segSize + 10)
	h.write(big)
	h.expect(ack(1004, 5001).data(big[:segSize]), psh(1004+segSize, 5001, "").data(big[segSize:]))
	h.write([]byte("w"))
	h.expectNone()
	h.send(ack(5001, 1004+segSize))
	h.expectNone() // the 10-byte tail is still unacknowledged
	h.send(ack(5001, 1014+segSize))
	h.expect(psh(1014+segSize, 5001, "w"))

	// SetNoDelay(true) lets a held segment go at once.
	h.write([]byte("x"))
	h.expectNone()
	h.c.SetNoDelay(true, h.now)
	h.expect(psh(2475, 5001, "x"))

	// And the FIN pushes one out, Nagle or not (as Linux's tcp_send_fin).
	h.c.SetNoDelay(false, h.now)
	h.write([]byte("y"))
	h.expectNone()
	h.closeWrite()
	h.expect(fin(2476, 5001).with(wire.FlagPSH).text("y"))
}

// With the default (Nagle off, as Go's net.TCPConn has it), every write
// goes out at once, whatever is outstanding.
func TestNoNagleByDefault(t *testing.T) {
	h := newActive(t, nil)
	h.establish()
	h.write([]byte("a"))
	h.write([]byte("b"))
	h.write([]byte("c"))
	h.expect(psh(1001, 5001, "a"), psh(1002, 5001, "b"), psh(1003, 5001, "c"))
}

// Config.Nagle turns it on for new connections.
func TestNagleFromConfig(t *testing.T) {
	h := newActive(t, &Config{Nagle: true})
	h.establish()
	h.write([]byte("a"))
	h.write([]byte("b"))
	h.expect(psh(1001, 5001, "a"))
	h.send(ack(5001, 1002))
	h.expect(psh(1002, 5001, "b"))
}

// Sender-side silly window syndrome avoidance (RFC 1122 §4.2.3.4): a
// segment is sent if it is full-sized, or if all the queued data fits, or
// if it is at least half the largest window the peer has offered
// (Fs = 1/2); otherwise the sender waits, for the window to open or, with
// nothing in flight, for the override timeout (the persist timer), when
// it sends what fits.
func TestSenderSWSAvoidance(t *testing.T) {
	h := newActive(t, nil)
	h.establishWith(0, synAck(5000, 1001).mss(1460).win(4000)) // max window 4000; RTO 200 ms
	data := pattern(6000)
	h.write(data)
	// 4000 bytes of window: two full segments; the 1080 left is less
	// than half of 4000, and more data is queued.
	h.expect(ack(1001, 5001).data(data[:1460]), ack(2461, 5001).data(data[1460:2920]))

	// Everything acknowledged, but a window of 1000: still less than
	// 2000. Nothing in flight, so the persist timer starts.
	h.send(ack(5001, 3921).win(1000))
	h.expectNone()
	h.expectDeadline(200 * time.Millisecond)
	h.advance(200 * time.Millisecond)
	h.expect(ack(3921, 5001).data(data[2920:3920])) // the override: what fits

	// A window of 2000 is half the largest: a full segment fits; the 540
	// left after it is too small and waits for the ACK.
	h.send(ack(5001, 4921).win(2000))
	h.expect(ack(4921, 5001).data(data[3920:5380]))
	h.send(ack(5001, 6381).win(4000))
	h.expect(psh(6381, 5001, "").data(data[5380:])) // all the rest fits
	h.send(ack(5001, 7001).win(4000))
	h.expectNoTimer()
}

// The sender's side of a zero window (RFC 9293 §3.8.6.1): the peer closes
// its window with data still to send; the persist timer sends a probe
// <SEQ=SND.UNA-1><ACK=RCV.NXT> with no data at the RTO, then at doubling
// intervals. The peer's window update is lost; the next probe's answer
// carries the open window, and the data flows.
func TestZeroWindowProbeThenWindowUpdate(t *testing.T) {
	h := newActive(t, nil)
	h.establish() // RTO 200 ms
	data := pattern(3000)
	h.write(data[:1000])
	h.expect(psh(1001, 5001, "").data(data[:1000]))
	h.send(ack(5001, 2001).win(0))
	h.write(data[1000:])
	h.expectNone()
	h.expectDeadline(200 * time.Millisecond)

	h.advance(200 * time.Millisecond)
	h.expect(ack(2000, 5001))
	h.send(ack(5001, 2001).win(0))
	h.expectNone()
	h.expectDeadline(400 * time.Millisecond)
	// (The peer's window update would come here, and is lost.)
	h.advance(400 * time.Millisecond)
	h.expect(ack(2000, 5001))
	h.expectDeadline(800 * time.Millisecond)
	h.send(ack(5001, 2001).win(4000))
	h.expect(ack(2001, 5001).data(data[1000:2460]), psh(3461, 5001, "").data(data[2460:]))
	h.expectDeadline(200 * time.Millisecond) // the retransmission timer now
	h.send(ack(5001, 4001))
	h.expectNoTimer()
}

// The receiver's side: our buffer fills and the window closes; the peer's
// probe (a segment at RCV.NXT-1) draws an ACK with the window still 0;
// when the application reads, a window update goes out at once (RFC 9293
// §3.8.6.2.2), and the peer's data is accepted again.
func TestReceiverZeroWindowThenUpdate(t *testing.T) {
	h := newActive(t, &Config{ReceiveBufferSize: smallBuffer})
	data := fillReceiveBuffer(h) // the last ACK offered a window of 0
	h.send(ack(9096, 1001))
	h.expect(ack(1001, 9097).win(0))
	h.send(ack(9097, 1001).data([]byte("more")))
	h.expect(ack(1001, 9097).win(0)) // no room: not accepted
	buf := make([]byte, smallBuffer)
	if n, err := h.c.Read(buf, h.now); n != smallBuffer || err != nil || !bytes.Equal(buf, data) {
		t.Fatalf("Read = %d, %v, or not the data sent", n, err)
	}
	h.expect(ack(1001, 9097).win(smallBuffer))
	h.send(ack(9097, 1001).data([]byte("more")))
	h.expect(ack(1001, 9101).win(smallBuffer - 4))
}

// Writing after an idle period longer than the RTO: the congestion window
// the ACK clock no longer vouches for is cut to the restart window,
// min(IW, cwnd) (RFC 5681 §4.1), once — the write goes out at once (this
// used to spin for ever), ten segments and no more.
func TestWriteAfterIdleUsesRestartWindow(t *testing.T) {
	h := newActive(t, &Config{CongestionControl: "reno"})
	h.establish() // RTO 200 ms
	first := pattern(30 * segSize)
	h.write(first)
	for una := Value(1001); una != 1001+Value(len(first)); {
		if len(h.sent) == 0 {
			t.Fatalf("nothing in flight at SND.UNA %d", una)
		}
		s := h.sent[0]
		h.sent = h.sent[1:]
		una = s.Seq.Add(uint32(len(s.Payload)))
		h.send(ack(5001, una))
	}
	if cwnd := h.c.Info().CongestionWindow; cwnd <= 14600 {
		t.Fatalf("cwnd %d after slow start, want more than the initial 14600", cwnd)
	}
	h.advance(time.Second)
	b := bulk{data: pattern(20 * segSize), ack: 5001}
	h.write(b.data)
	var want []pkt
	for i := range 10 {
		want = append(want, ack(Value(1001+len(first)+segSize*i), 5001).data(b.data[segSize*i:segSize*(i+1)]))
	}
	h.expect(want...)
	if cwnd := h.c.Info().CongestionWindow; cwnd != 14600 {
		t.Errorf("cwnd %d after idle, want the restart window 14600", cwnd)
	}
}
