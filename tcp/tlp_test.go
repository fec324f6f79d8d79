package tcp

// Tail loss probes (RFC 8985 §7): a loss at the end of a flight, where no
// duplicate ACKs can come, is repaired two round trips later by a probe,
// not by the retransmission timer.

import (
	"testing"
	"time"
)

// The last segment is lost: 2·SRTT + WCDelAckT after the ACK of the rest
// (one segment is in flight), the probe resends it, and its ACK ends the
// episode without a timeout or a congestion response.
func TestTailLossProbeResendsLastSegment(t *testing.T) {
	h := newActive(t, nil)
	h.establishWith(100*time.Millisecond, synAck(5000, 1001).mss(1460).sackOK())
	b := newBulk(6, 5001)
	h.write(b.data)
	h.expect(b.segs(0, 5)...)
	h.advance(100 * time.Millisecond)
	h.send(ack(5001, segStart(5))) // segment 5 was lost
	h.expectNone()
	cwnd := h.c.Info().CongestionWindow
	// SRTT is 100 ms and one segment is in flight: the probe is due
	// 2×100 ms + 200 ms later — but never after the RTO (SRTT + 4·RTTVAR
	// = 250 ms), whose place it takes.
	h.expectDeadline(250 * time.Millisecond)
	h.advance(250 * time.Millisecond)
	h.expect(b.seg(5).rtx())
	h.advance(100 * time.Millisecond)
	h.send(ack(5001, segStart(6)))
	h.expectNone()
	h.expectNoTimer()
	if in := h.c.Info(); in.InRecovery || in.CongestionWindow < cwnd {
		t.Errorf("after the probe repaired the tail: InRecovery %v, cwnd %d (was %d)", in.InRecovery, in.CongestionWindow, cwnd)
	}
}

// The third-last segment is lost: the SACK of the two after it is too
// little for fast retransmit (RFC 6675 IsLost wants three segments above
// the hole). The probe resends the last segment; the peer reports it as a
// duplicate (D-SACK, RFC 2883), which shows everything sent before the
// probe and still missing is lost, and fast recovery resends segment 3 at
// once.
func TestTailLossProbeStartsRecovery(t *testing.T) {
	h := newActive(t, nil)
	h.establishWith(100*time.Millisecond, synAck(5000, 1001).mss(1460).sackOK())
	b := newBulk(6, 5001)
	h.write(b.data)
	h.expect(b.segs(0, 5)...)
	h.advance(100 * time.Millisecond)
	h.send(ack(5001, segStart(3)).sack(segStart(4), segStart(6))) // segment 3 lost
	h.expectNone()
	h.advance(200 * time.Millisecond) // 2×SRTT: more than one segment is in flight
	h.expect(b.seg(5).rtx())
	h.advance(100 * time.Millisecond)
	// The D-SACK of the probe, then the SACK of what the peer holds.
	h.send(ack(5001, segStart(3)).sack(segStart(5), segStart(6), segStart(4), segStart(6)))
	h.expect(b.seg(3).rtx())
	if !h.c.Info().InRecovery {
		t.Error("not in recovery after the probe showed segment 3 lost")
	}
	h.send(ack(5001, segStart(6)))
	h.expectNone()
	h.expectNoTimer()
}

// Without SACK there is no probe: the retransmission timer repairs the
// tail (RFC 6298 §5), as before.
func TestNoTailLossProbeWithoutSACK(t *testing.T) {
	h := newActive(t, nil)
	h.establishWith(100*time.Millisecond, synAck(5000, 1001).mss(1460))
	b := newBulk(2, 5001)
	h.write(b.data)
	h.expect(b.segs(0, 1)...)
	h.advance(100 * time.Millisecond)
	h.send(ack(5001, segStart(1)))
	h.expectDeadline(250 * time.Millisecond) // the RTO: SRTT + 4·RTTVAR
	h.advance(250 * time.Millisecond)
	h.expect(b.seg(1).rtx())
	if !h.c.Info().InRecovery {
		t.Error("a timeout did not start loss recovery")
	}
}
