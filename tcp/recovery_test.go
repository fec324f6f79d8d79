package tcp

// Loss recovery: fast retransmit and fast recovery (RFC 5681 §3.2), NewReno
// partial acknowledgments (RFC 6582), limited transmit (RFC 3042),
// SACK-based recovery (RFC 2018, RFC 6675), and recovery after a
// retransmission timeout (RFC 6298 §5, RFC 5681 §3.1).
//
// The sender writes whole segments of 1460 bytes from ISS 1000, so segment
// i covers [1001+1460·i, 2461+1460·i): seg(0) starts at 1001, seg(2) at
// 3921, seg(5) at 8301, seg(6) at 9761, and ten segments end at 15601.

import (
	"testing"
	"time"
)

const segSize = 1460

// segStart returns where segment i of a bulk write from ISS 1000 starts.
func segStart(i int) Value { return Value(1001 + segSize*i) }

// bulk is data written in full segments, and the segments it goes out in.
type bulk struct {
	data []byte
	ack  Value // the acknowledgment the segments carry
}

func newBulk(segments int, ack Value) bulk {
	return bulk{data: pattern(segments * segSize), ack: ack}
}

// seg returns segment i as it must leave: PSH on the one that empties the
// send buffer (the last one of the data).
func (b bulk) seg(i int) pkt {
	payload := b.data[segSize*i : segSize*(i+1)]
	p := ack(segStart(i), b.ack).data(payload)
	if segSize*(i+1) == len(b.data) {
		p = p.with(psh(0, 0, "").flags)
	}
	return p
}

// segs returns segments from..to inclusive.
func (b bulk) segs(from, to int) []pkt {
	var ps []pkt
	for i := from; i <= to; i++ {
		ps = append(ps, b.seg(i))
	}
	return ps
}

// checkCC checks the congestion state Info reports.
func checkCC(h *harness, recovering bool, cwnd, ssthresh int) {
	h.t.Helper()
	in := h.c.Info()
	if in.InRecovery != recovering || in.CongestionWindow != cwnd || in.SlowStartThreshold != ssthresh {
		h.t.Fatalf("at +%v: InRecovery %v, cwnd %d, ssthresh %d; want %v, %d, %d",
			h.now.Sub(h.start), in.InRecovery, in.CongestionWindow, in.SlowStartThreshold, recovering, cwnd, ssthresh)
	}
}

// Fast retransmit and NewReno fast recovery without SACK (the peer's
// SYN-ACK does not offer it). Ten segments go out in the initial window
// (RFC 6928); seg(2) and seg(6) are lost.
//
//   - Two duplicate ACKs are not enough; the third triggers the fast
//     retransmit of seg(2) (RFC 5681 §3.2 steps 1–3), with ssthresh =
//     max(FlightSize/2, 2·SMSS) = 11680/2 = 5840 and cwnd = ssthresh (the
//     inflation of step 4 is done by counting each duplicate ACK as a
//     segment gone from the pipe).
//   - Three more duplicate ACKs (for seg 7–9) bring nothing, having no data;
//     new data written now goes out as the duplicate ACKs allow (RFC 5681
//     §3.2 step 4): two segments.
//   - The ACK of the retransmission covers up to seg(6) only: a partial
//     ACK (RFC 6582 §3.2 step 5), which retransmits seg(6) at once, and
//     nothing else.
//   - The ACK of everything sent before recovery, and beyond, is a full ACK
//     (RFC 6582 §3.2 step 6): recovery ends with cwnd = ssthresh.
func TestFastRetransmitAndNewRenoPartialACK(t *testing.T) {
	h := newActive(t, &Config{CongestionControl: "reno"})
	h.establish() // the SYN-ACK offers no SACK
	h.exactOptions()
	b := newBulk(10, 5001)
	h.write(b.data)
	h.expect(b.segs(0, 9)...)
	checkCC(h, false, 14600, maxInt32)

	// The flight filled cwnd, so its ACKs grow it though nothing more
	// is queued (RFC 7661 §4.3: cwnd was used; Linux's is_cwnd_limited).
	h.send(ack(5001, segStart(1))) // seg(0)
	h.send(ack(5001, segStart(2))) // seg(1)
	h.expectNone()
	h.send(ack(5001, segStart(2))) // seg(3): duplicate 1
	h.send(ack(5001, segStart(2))) // seg(4): duplicate 2
	h.expectNone()
	checkCC(h, false, 17520, maxInt32)
	h.send(ack(5001, segStart(2))) // seg(5): duplicate 3
	h.expect(b.seg(2).rtx())
	checkCC(h, true, 5840, 5840)
	h.expectDeadline(200 * time.Millisecond)

	for range 3 { // seg(7), seg(8), seg(9)
		h.send(ack(5001, segStart(2)))
	}
	h.expectNone()
	// Six duplicate ACKs: six segments have left the network, and
	// 11680 - 6·1460 = 2920 bytes are in flight, 2920 below cwnd.
	more := newBulk(2, 5001)
	h.write(more.data)
	h.expect(
		ack(segStart(10), 5001).data(more.data[:segSize]).fresh(),
		psh(segStart(11), 5001, "").data(more.data[segSize:]).fresh(),
	)

	h.send(ack(5001, segStart(6))) // the retransmitted seg(2) filled up to seg(6)
	h.expect(b.seg(6).rtx())
	checkCC(h, true, 5840, 5840)
	h.send(ack(5001, segStart(6))) // the new segments arrive: duplicates
	h.send(ack(5001, segStart(6)))
	h.expectNone()

	h.send(ack(5001, segStart(12))) // the retransmitted seg(6) fills the hole
	h.expectNone()
	checkCC(h, false, 5840, 5840)
	h.expectNoTimer()
	if n := h.c.Buffered(); n != 0 {
		t.Errorf("Buffered = %d, want 0", n)
	}
}

// maxInt32 is the "arbitrarily high" initial ssthresh (RFC 5681 §3.1).
const maxInt32 = 1<<31 - 1

// A duplicate ACK is one that carries no data, no SYN or FIN, the same
// window, and acknowledges nothing new while data is outstanding
// (RFC 5681 §2). An ACK that updates the window is not one, so three ACKs
// of which one opens the window do not trigger a fast retransmit.
func TestWindowUpdateIsNotDuplicateACK(t *testing.T) {
	h := newActive(t, &Config{CongestionControl: "reno"})
	h.establish()
	b := newBulk(5, 5001)
	h.write(b.data)
	h.expect(b.segs(0, 4)...)
	h.send(ack(5001, segStart(0)))
	h.send(ack(5001, segStart(0)).win(65000)) // a window update
	h.send(ack(5001, segStart(0)).win(65000))
	h.expectNone()
	h.send(psh(5001, segStart(0), "x").win(65000)) // carries data
	h.expect(ack(segStart(5), 5002))
	checkCC(h, false, 14600, maxInt32)
	h.send(ack(5002, segStart(0)).win(65000)) // the third true duplicate
	b.ack = 5002
	h.expect(b.seg(0).rtx())
	checkCC(h, true, 3650, 3650) // FlightSize 7300 / 2
}

// Limited transmit (RFC 3042 §2): each of the first two duplicate ACKs
// lets one new segment out, if the peer's window allows, without touching
// cwnd; the third triggers the fast retransmit.
func TestLimitedTransmit(t *testing.T) {
	h := newActive(t, &Config{CongestionControl: "reno"})
	h.establish()
	h.exactOptions()
	b := newBulk(12, 5001)
	h.write(b.data)
	h.expect(b.segs(0, 9)...) // the initial window: 10 segments
	h.send(ack(5001, segStart(0)))
	h.expect(b.seg(10).fresh())
	h.send(ack(5001, segStart(0)))
	h.expect(b.seg(11).fresh())
	checkCC(h, false, 14600, maxInt32)
	h.send(ack(5001, segStart(0)))
	h.expect(b.seg(0).rtx())
	checkCC(h, true, 8760, 8760) // FlightSize 17520 / 2
}

// SACK-based loss recovery (RFC 6675) repairs two holes in one window with
// exactly two retransmissions. The peer's SYN-ACK offers SACK-permitted
// (RFC 2018 §2); ten segments go out; seg(2) and seg(5) are lost, and
// every ACK after them carries SACK blocks for what arrived (RFC 2018 §4,
// the most recently changed block first).
//
//   - seg(3), seg(4): duplicate ACKs, but only 2·SMSS is SACKed above the
//     hole: not yet lost (RFC 6675 §4 IsLost, DupThresh 3).
//   - seg(6): the third duplicate ACK; seg(2) is retransmitted (RFC 6675
//     §5 step 4). seg(5) has only one segment SACKed above it: not lost.
//   - seg(7): two segments above seg(5): still not lost.
//   - seg(8): three segments, more than (DupThresh-1)·SMSS, above seg(5):
//     lost, and retransmitted (NextSeg rule 1) as the pipe allows.
//   - seg(9), then the two partial and the full ACK: nothing more is sent.
func TestSACKRepairsTwoHoles(t *testing.T) {
	h := newActive(t, nil)
	h.establishWith(0, synAck(5000, 1001).mss(1460).sackOK())
	h.exactOptions()
	if !h.c.Info().SACK {
		t.Fatal("SACK not negotiated")
	}
	b := newBulk(10, 5001)
	h.write(b.data)
	h.expect(b.segs(0, 9)...)

	h.send(ack(5001, segStart(1)))
	h.send(ack(5001, segStart(2)))
	h.send(ack(5001, segStart(2)).sack(segStart(3), segStart(4)))
	h.send(ack(5001, segStart(2)).sack(segStart(3), segStart(5)))
	h.expectNone()
	h.send(ack(5001, segStart(2)).sack(segStart(6), segStart(7), segStart(3), segStart(5)))
	h.expect(b.seg(2).rtx())
	if !h.c.Info().InRecovery {
		t.Fatal("not in recovery after the third duplicate ACK")
	}
	h.send(ack(5001, segStart(2)).sack(segStart(6), segStart(8), segStart(3), segStart(5)))
	h.expectNone()
	h.send(ack(5001, segStart(2)).sack(segStart(6), segStart(9), segStart(3), segStart(5)))
	h.expect(b.seg(5).rtx())
	h.send(ack(5001, segStart(2)).sack(segStart(6), segStart(10), segStart(3), segStart(5)))
	h.expectNone()

	h.send(ack(5001, segStart(5)).sack(segStart(6), segStart(10))) // seg(2) arrived
	h.expectNone()
	h.send(ack(5001, segStart(10))) // seg(5) arrived
	h.expectNone()
	h.expectNoTimer()
	if h.c.Info().InRecovery {
		t.Error("still in recovery after the full ACK")
	}
}

// A retransmission timeout (RFC 6298 §5.4–5.6, RFC 5681 §3.1): with no ACK
// for eight segments in flight, the first unacknowledged one is resent when
// the timer expires, and again when the doubled timer expires; ssthresh =
// FlightSize/2 = 5840, cwnd = 1 segment. As ACKs come back the rest is
// resent in slow start (cwnd growing by one SMSS per ACK after a timeout,
// RFC 3465 §2.3: two segments per ACK), then in congestion avoidance
// above ssthresh. The timer keeps its backed-off value, since no ACK of
// a retransmission gives an RTT sample (Karn's algorithm, RFC 6298 §3).
func TestRTOBackoffAndSlowStartRecovery(t *testing.T) {
	h := newActive(t, &Config{CongestionControl: "reno"})
	h.establish() // RTO 200 ms
	h.exactOptions()
	b := newBulk(8, 5001)
	h.write(b.data)
	h.expect(b.segs(0, 7)...)
	h.expectDeadline(200 * time.Millisecond)

	h.advance(200*time.Millisecond - time.Nanosecond)
	h.expectNone()
	h.advance(time.Nanosecond)
	h.expect(b.seg(0).rtx())
	checkCC(h, true, 1460, 5840)
	h.expectDeadline(400 * time.Millisecond)
	h.advance(400*time.Millisecond - time.Nanosecond)
	h.expectNone()
	h.advance(time.Nanosecond)
	h.expect(b.seg(0).rtx())
	checkCC(h, true, 1460, 5840)
	h.expectDeadline(800 * time.Millisecond)

	h.advance(10 * time.Millisecond)
	h.send(ack(5001, segStart(1)))
	h.expect(b.seg(1).rtx(), b.seg(2).rtx())
	checkCC(h, true, 2920, 5840)
	h.expectDeadline(800 * time.Millisecond) // restarted, still backed off
	h.send(ack(5001, segStart(2)))
	h.expect(b.seg(3).rtx(), b.seg(4).rtx())
	h.send(ack(5001, segStart(3)))
	h.expect(b.seg(5).rtx(), b.seg(6).rtx())
	checkCC(h, true, 5840, 5840)
	h.send(ack(5001, segStart(4)))
	h.expect(b.seg(7).rtx())
	h.send(ack(5001, segStart(8)))
	h.expectNone()
	h.expectNoTimer()
}

// RFC 6675 §5: with SACK, recovery starts as soon as the scoreboard says a
// segment is lost (IsLost: more than (DupThresh-1)·SMSS bytes SACKed above
// it), without waiting for the third duplicate ACK — here the first ACK
// after the loss SACKs three segments at once (the ACKs for the ones
// before it were lost).
func TestSACKRecoveryWithoutThreeDupACKs(t *testing.T) {
	h := newActive(t, nil)
	h.establishWith(0, synAck(5000, 1001).mss(1460).sackOK())
	h.exactOptions()
	b := newBulk(6, 5001)
	h.write(b.data)
	h.expect(b.segs(0, 5)...)
	h.send(ack(5001, segStart(0)).sack(segStart(1), segStart(4)))
	h.expect(b.seg(0).rtx())
	if !h.c.Info().InRecovery {
		t.Error("not in recovery")
	}
	h.send(ack(5001, segStart(6)))
	h.expectNone()
	h.expectNoTimer()
}

// After a retransmission timeout with SACK, what the peer has SACKed is
// not sent again (RFC 6675 §5.1): seg(0) and seg(2) were lost, seg(1) and
// seg(3) SACKed (too little to start fast recovery). The timeout resends
// seg(0); its ACK (up to seg(2)) lets two segments go in slow start:
// seg(2) and seg(4), skipping seg(3).
func TestRTORecoverySkipsSACKed(t *testing.T) {
	h := newActive(t, &Config{CongestionControl: "reno", NoTailLossProbe: true})
	h.establishWith(0, synAck(5000, 1001).mss(1460).sackOK())
	h.exactOptions()
	b := newBulk(6, 5001)
	h.write(b.data)
	h.expect(b.segs(0, 5)...)
	h.send(ack(5001, segStart(0)).sack(segStart(1), segStart(2)))
	h.send(ack(5001, segStart(0)).sack(segStart(3), segStart(4), segStart(1), segStart(2)))
	h.expectNone()
	h.advance(200 * time.Millisecond)
	h.expect(b.seg(0).rtx())
	h.send(ack(5001, segStart(2)).sack(segStart(3), segStart(4)))
	h.expect(b.seg(2).rtx(), b.seg(4).rtx())
	h.send(ack(5001, segStart(5)))
	h.expect(b.seg(5).rtx())
	h.send(ack(5001, segStart(6)))
	h.expectNone()
	h.expectNoTimer()
}
