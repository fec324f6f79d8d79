package tcp

// Flow control: the receive window (RFC 9293 §3.8.6, RFC 1122 §4.2.3.3),
// the send window, the persist timer (RFC 9293 §3.8.6.1) and the MSS
// (RFC 9293 §3.7.1).

import (
	"bytes"
	"errors"
	"fmt"
	"syscall"
	"testing"
	"time"
)

// smallBuffer is the receive buffer of the flow-control tests.
const smallBuffer = 4096

// fillReceiveBuffer establishes a connection with a 4096-byte receive
// buffer and has the peer fill it in four 1024-byte segments. It returns
// the data sent.
func fillReceiveBuffer(h *harness) []byte {
	h.t.Helper()
	h.connect()
	h.send(synAck(5000, 1001).mss(1460))
	h.expect(ack(1001, 5001).win(smallBuffer))
	data := pattern(smallBuffer)
	for i := range 4 {
		seq := Value(5001 + 1024*i)
		h.send(ack(seq, 1001).data(data[1024*i : 1024*(i+1)]))
		h.expect(ack(1001, seq+1024).win(uint16(smallBuffer - 1024*(i+1))))
	}
	return data
}

// The window advertised is the free receive buffer space (RFC 9293 §3.8.6:
// RCV.WND): it shrinks as data arrives unread, to 0 when the buffer is full.
func TestAdvertisedWindowIsFreeBuffer(t *testing.T) {
	h := newActive(t, &Config{ReceiveBufferSize: smallBuffer})
	data := fillReceiveBuffer(h)
	if got := h.c.Unread(); got != smallBuffer {
		t.Errorf("Unread = %d, want %d", got, smallBuffer)
	}
	if got := h.read(); !bytes.Equal(got, data) {
		t.Errorf("Read returned %d bytes, not the data sent", len(got))
	}
}

// The largest window without window scaling is 65535, even with a bigger
// buffer (RFC 7323 §2: without the option the field is the window).
func TestAdvertisedWindowCappedAt65535(t *testing.T) {
	h := newActive(t, &Config{ReceiveBufferSize: 1 << 20})
	h.connect()
	h.send(synAck(5000, 1001).mss(1460))
	h.expect(ack(1001, 5001).win(65535))
}

// RFC 9293 §3.10.7.4 (first): on a zero window a segment with data is not
// acceptable, but "special allowance should be made to accept valid ACKs,
// URGs, and RSTs": its text is dropped and it is acknowledged with the
// window still 0. Data beyond RCV.NXT draws the same ACK.
func TestZeroWindowDataNotAccepted(t *testing.T) {
	for _, seq := range []Value{9097, 9197} {
		t.Run(fmt.Sprint("seq ", seq), func(t *testing.T) {
			h := newActive(t, &Config{ReceiveBufferSize: smallBuffer})
			fillReceiveBuffer(h)
			h.send(ack(seq, 1001).data(pattern(100)))
			h.expect(ack(1001, 9097).win(0))
			if got := h.c.Unread(); got != smallBuffer {
				t.Errorf("Unread = %d, want %d", got, smallBuffer)
			}
		})
	}
}

// On a zero window the ACK of a segment at RCV.NXT is still processed
// (RFC 9293 §3.10.7.4: "special allowance ... to accept valid ACKs").
func TestZeroWindowStillProcessesACK(t *testing.T) {
	h := newActive(t, &Config{ReceiveBufferSize: smallBuffer})
	fillReceiveBuffer(h)
	h.write([]byte("out"))
	h.expect(psh(1001, 9097, "out").win(0))
	h.send(ack(9097, 1004).data([]byte("more")))
	h.expect(ack(1004, 9097).win(0))
	if got := h.c.Buffered(); got != 0 {
		t.Errorf("Buffered = %d, want 0: the ACK was not processed", got)
	}
}

// On a zero window a segment beyond RCV.NXT is unacceptable: it draws an
// ACK and is dropped whole, its acknowledgment field included (RFC 9293
// §3.10.7.4, first: "After sending the acknowledgment, drop the
// unacceptable segment and return").
func TestZeroWindowUnacceptableSegmentDropped(t *testing.T) {
	h := newActive(t, &Config{ReceiveBufferSize: smallBuffer})
	fillReceiveBuffer(h)
	h.write([]byte("out"))
	h.expect(psh(1001, 9097, "out").win(0))
	h.send(ack(9150, 1004).data([]byte("ahead")))
	h.expect(ack(1004, 9097).win(0)) // SND.NXT is 1004: the data went out
	if got := h.c.Buffered(); got != 3 {
		t.Errorf("Buffered = %d, want 3: the unacceptable segment's ACK was processed", got)
	}
}

// Read frees space; a window update goes out only once the window can move
// by at least min(MSS, buffer/2) = min(1460, 2048) bytes (receiver-side
// silly window syndrome avoidance, RFC 1122 §4.2.3.3).
func TestWindowUpdateAfterRead(t *testing.T) {
	h := newActive(t, &Config{ReceiveBufferSize: smallBuffer})
	data := fillReceiveBuffer(h)
	got := h.readN(1000)
	h.expectNone() // 1000 free: not worth a segment
	got = append(got, h.readN(459)...)
	h.expectNone() // 1459 free
	got = append(got, h.readN(1)...)
	h.expect(ack(1001, 9097).win(1460)) // 1460 free
	got = append(got, h.readN(1000)...)
	h.expectNone() // the edge would move by 1000 only
	got = append(got, h.readN(460)...)
	h.expect(ack(1001, 9097).win(2920))
	if !bytes.Equal(got, data[:2920]) {
		t.Errorf("read data differs from the data sent")
	}
	// The peer can now send into the window.
	h.send(ack(9097, 1001).data(pattern(2920)))
	h.expect(ack(1001, 9097+2920).win(0))
}

// A small Read does not move the window's right edge (receiver-side SWS
// avoidance, RFC 1122 §4.2.3.3): later ACKs still offer the old edge, the
// window shrinking only by the data received.
func TestSmallReadKeepsWindowEdge(t *testing.T) {
	h := newActive(t, &Config{ReceiveBufferSize: smallBuffer})
	h.connect()
	h.send(synAck(5000, 1001).mss(1460))
	h.expect(ack(1001, 5001).win(4096))
	h.send(ack(5001, 1001).data(pattern(100)))
	h.expect(ack(1001, 5101).win(3996))
	h.readN(50) // 50 more free: too little to move the edge
	h.expectNone()
	h.send(ack(5101, 1001).data(pattern(100)))
	h.expect(ack(1001, 5201).win(3896)) // right edge still 5001+4096
}

// The sender never sends beyond SND.UNA + SND.WND (RFC 9293 §3.8.6), and a
// window update without new acknowledgment opens more room.
func TestSenderRespectsPeerWindow(t *testing.T) {
	h := newActive(t, nil)
	h.establishWith(0, synAck(5000, 1001).mss(1460).win(1000))
	data := pattern(3000)
	h.write(data)
	h.expect(ack(1001, 5001).data(data[:1000]))
	h.send(ack(5001, 2001).win(1000))
	h.expect(ack(2001, 5001).data(data[1000:2000]))
	// A pure window update: 500 more. That is less than half the largest
	// window the peer has offered, and the ACK of the data in flight will
	// bring more, so sender-side SWS avoidance (RFC 1122 §4.2.3.4) waits.
	h.send(ack(5001, 2001).win(1500))
	h.expectNone()
	h.send(ack(5001, 3001).win(1500))
	h.expect(psh(3001, 5001, "").data(data[2000:]))
	h.send(ack(5001, 4001).win(1500))
	h.expectNone()
	if got := h.c.Buffered(); got != 0 {
		t.Errorf("Buffered = %d, want 0", got)
	}
}

// A segment older than the last window update (SEG.SEQ < SND.WL1) does not
// change the window (RFC 9293 §3.10.7.4, fifth: "If SND.WL1 < SEG.SEQ or
// (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK), set SND.WND <- SEG.WND").
// Here an out-of-order segment carried the newer window.
func TestOldSegmentDoesNotUpdateWindow(t *testing.T) {
	h := newActive(t, nil)
	h.establishWith(0, synAck(5000, 1001).mss(1460).win(100))
	h.send(psh(5101, 1001, "y").win(300)) // out of order, but newer
	h.expect(ack(1001, 5001))
	h.send(ack(5001, 1001).win(50)) // in order, but older than SND.WL1
	h.expectNone()
	data := pattern(300)
	h.write(data)
	h.expect(psh(1001, 5001, "").data(data))
}

// A zero window with data queued starts the persist timer (RFC 9293
// §3.8.6.1); each expiry sends a probe <SEQ=SND.UNA-1><CTL=ACK> with no
// data, which the peer must answer; the interval backs off; when the window
// opens the data flows.
func TestPersistProbe(t *testing.T) {
	h := newActive(t, nil)
	h.establishWith(0, synAck(5000, 1001).mss(1460).win(0)) // RTO 200 ms
	data := pattern(100)
	h.write(data)
	h.expectNone()
	h.expectDeadline(200 * time.Millisecond)
	h.advance(200*time.Millisecond - time.Nanosecond)
	h.expectNone()
	h.advance(time.Nanosecond)
	h.expect(ack(1000, 5001))
	h.send(ack(5001, 1001).win(0)) // the peer's answer: still closed
	h.expectNone()
	h.advance(400*time.Millisecond - time.Nanosecond)
	h.expectNone()
	h.advance(time.Nanosecond)
	h.expect(ack(1000, 5001))
	h.send(ack(5001, 1001).win(1000))
	h.expect(psh(1001, 5001, "").data(data))
	h.expectDeadline(200 * time.Millisecond) // now the retransmission timer
	h.send(ack(5001, 1101).win(1000))
	h.expectNoTimer()
}

// Probing never gives up while the window stays closed, and it does not
// count against Retries.
func TestPersistProbeDoesNotTimeOut(t *testing.T) {
	h := newActive(t, &Config{Retries: 1, MinRTO: time.Second, MaxRTO: time.Second})
	h.establishWith(0, synAck(5000, 1001).mss(1460).win(0))
	h.write([]byte("x"))
	for range 10 {
		h.advance(time.Second)
		h.expect(ack(1000, 5001))
		h.send(ack(5001, 1001).win(0))
	}
	h.state(Established)
}

// The receiving side of a probe: a segment at RCV.NXT-1 is unacceptable and
// so draws an ACK with the current window (RFC 9293 §3.10.7.4, first) —
// with an open window and with a closed one.
func TestReceiverAnswersZeroWindowProbe(t *testing.T) {
	t.Run("open window", func(t *testing.T) {
		h := newActive(t, nil)
		h.establish()
		h.send(ack(5000, 1001))
		h.expect(ack(1001, 5001).win(65535))
	})
	t.Run("closed window", func(t *testing.T) {
		h := newActive(t, &Config{ReceiveBufferSize: smallBuffer})
		fillReceiveBuffer(h)
		h.send(ack(9096, 1001))
		h.expect(ack(1001, 9097).win(0))
	})
}

// The peer's MSS option bounds our segments (RFC 9293 §3.7.1); without one
// the default is 536 (RFC 9293 §3.7.1, RFC 1122 §4.2.2.6); and we never send
// more than our own MSS.
func TestPeerMSSHonoured(t *testing.T) {
	for _, tc := range []struct {
		name    string
		synack  pkt
		sendMSS int
		sizes   []int
	}{
		{"MSS 1000", synAck(5000, 1001).mss(1000), 1000, []int{1000, 1000, 1000}},
		{"no MSS option", synAck(5000, 1001), 536, []int{536, 536, 536, 536, 536, 320}},
		{"MSS above ours", synAck(5000, 1001).mss(9000), 1460, []int{1460, 1460, 80}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newActive(t, nil)
			h.establishWith(0, tc.synack)
			if got := h.c.SendMSS(); got != tc.sendMSS {
				t.Errorf("SendMSS = %d, want %d", got, tc.sendMSS)
			}
			data := pattern(3000)
			h.write(data)
			var want []pkt
			off := 0
			for i, n := range tc.sizes {
				p := ack(Value(1001+off), 5001).data(data[off : off+n])
				if i == len(tc.sizes)-1 {
					p = psh(Value(1001+off), 5001, "").data(data[off : off+n])
				}
				want = append(want, p)
				off += n
			}
			h.expect(want...)
		})
	}
}

// The passive side honours the MSS of the SYN in the same way.
func TestPassiveHonoursPeerMSS(t *testing.T) {
	h := newPassive(t, nil)
	if err := h.c.Listen(h.now); err != nil {
		t.Fatal(err)
	}
	h.send(syn(1000).mss(700))
	h.expect(synAck(5000, 1001).mss(1460))
	h.send(ack(1001, 5001))
	data := pattern(1000)
	h.write(data)
	h.expect(ack(5001, 1001).data(data[:700]), psh(5701, 1001, "").data(data[700:]))
}

// An absurdly small MSS is raised to 48 bytes so that a peer cannot make us
// send one-byte segments.
func TestTinyPeerMSSRaised(t *testing.T) {
	h := newActive(t, nil)
	h.establishWith(0, synAck(5000, 1001).mss(1))
	if got := h.c.SendMSS(); got != 48 {
		t.Errorf("SendMSS = %d, want 48", got)
	}
}

// A peer that stops answering zero-window probes is given up on: after
// Retries probes with no ACK between them the connection fails with
// ETIMEDOUT (Linux's tcp_probe_timer), and the FIN that waited behind the
// data never leaves the connection stuck in FIN_WAIT_1.
func TestPersistProbeGivesUpOnDeadPeer(t *testing.T) {
	h := newActive(t, &Config{Retries: 3, MinRTO: time.Second, MaxRTO: time.Second})
	h.establishWith(0, synAck(5000, 1001).mss(1460).win(0))
	h.write([]byte("x"))
	if err := h.c.CloseWrite(h.now); err != nil {
		t.Fatal(err)
	}
	h.state(FinWait1)
	for range 3 {
		h.advance(time.Second)
		h.expect(ack(1000, 5001)) // probes, unanswered
	}
	h.advance(time.Second)
	h.expectNone()
	h.state(Closed)
	if !errors.Is(h.c.Err(), syscall.ETIMEDOUT) {
		t.Errorf("Err = %v, want ETIMEDOUT", h.c.Err())
	}
	h.expectNoTimer()
}

// A closed (orphaned) connection gives up after at most 8 probes, like
// Linux's tcp_orphan_retries.
func TestPersistProbeOrphanLimit(t *testing.T) {
	h := newActive(t, &Config{MinRTO: time.Second, MaxRTO: time.Second})
	h.establishWith(0, synAck(5000, 1001).mss(1460).win(0))
	h.write([]byte("x"))
	h.close()
	for range 8 {
		h.advance(time.Second)
		h.expect(ack(1000, 5001))
	}
	h.advance(time.Second)
	h.expectNone()
	h.state(Closed)
}
