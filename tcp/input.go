package tcp

import (
	"time"

	"github.com/seqack/seqack/tcp/cc"
	"github.com/seqack/seqack/trace"
	"github.com/seqack/seqack/wire"
)

// Input processes one arriving segment, following the order of RFC 9293
// §3.10.7. The segment's payload is copied if accepted; seg is not retained.
func (c *Conn) Input(seg *Segment, now time.Time) {
	if c.state == TimeWait {
		c.inputTimeWait(seg, now)
		return
	}
	if c.sink != nil {
		c.traceSegment(trace.SegmentReceived, seg, now)
	}
	c.lastRecvAt, c.kaProbes = c.at(now), 0
	switch c.state {
	case Closed:
		// RFC 9293 §3.10.7.1: a segment to no connection draws a reset.
		if rst, ok := ResetFor(seg); ok {
			c.transmit(c.scratch(rst), now)
		}
		return
	case Listen:
		c.inputListen(seg, now)
		return
	case SynSent:
		c.inputSynSent(seg, now)
		return
	}
	c.inputSynchronized(seg, now)
	if c.state != Closed {
		c.output(now)
	}
}

// inputListen is RFC 9293 §3.10.7.2.
func (c *Conn) inputListen(seg *Segment, now time.Time) {
	switch {
	case seg.Flags&wire.FlagRST != 0:
		// "An incoming RST segment could not be valid ... ignore it."
	case seg.Flags&wire.FlagACK != 0:
		// "Any acknowledgment is bad if it arrives on a connection still in
		// the LISTEN state. An acceptable reset segment should be formed."
		c.transmit(c.scratch(Segment{Seq: seg.Ack, Flags: wire.FlagRST}), now)
	case seg.Flags&wire.FlagSYN != 0:
		c.initSend(now)
		c.irs = seg.Seq
		c.rcvNxt = seg.Seq + 1
		c.rcvAdvEdge = c.rcvNxt
		c.lastAckSent = c.rcvNxt
		c.takePeerOptions(seg, now)
		c.updateWindow(seg)
		c.setState(SynReceived, now)
		// Data and FIN on a SYN are not accepted: the peer will send them
		// again once the connection is established (no TCP Fast Open).
		c.sendSYN(now, false)
	}
}

// synRetryAfterBadACK is how soon the SYN is sent again after a segment
// with an unacceptable ACK arrived in SYN-SENT: Linux's TCP_TIMEOUT_MIN,
// two jiffies (8 ms at HZ=250).
const synRetryAfterBadACK = 8 * time.Millisecond

// inputSynSent is RFC 9293 §3.10.7.3.
func (c *Conn) inputSynSent(seg *Segment, now time.Time) {
	hasACK := seg.Flags&wire.FlagACK != 0
	if hasACK {
		// First: "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset
		// (unless the RST bit is set, if so drop the segment and return)."
		if seg.Ack.LessThanEq(c.iss) || seg.Ack.GreaterThan(c.sndNxt) {
			if seg.Flags&wire.FlagRST == 0 {
				c.transmit(c.scratch(Segment{Seq: seg.Ack, Flags: wire.FlagRST}), now)
			}
			// The segment likely comes from an old connection of the
			// peer's that our reset now ends: send the SYN again soon, not
			// a whole RTO later, unless it has been sent again already
			// (Linux's tcp_rcv_synsent_state_process, "Previous FIN/ACK or
			// RST/ACK might be ignored").
			if c.retries == 0 {
				c.rtoAt = c.at(now).Add(synRetryAfterBadACK)
			}
			return
		}
	}
	if seg.Flags&wire.FlagRST != 0 {
		// Second: a reset is acceptable only with an acceptable ACK
		// (RFC 5961 §3.2 leaves SYN-SENT's rule as it was).
		if hasACK {
			c.fail(ErrConnectionRefused, now)
		}
		return
	}
	if seg.Flags&wire.FlagSYN == 0 {
		// Fifth: "If neither of the SYN or RST bits is set, then drop the
		// segment and return."
		return
	}
	// Fourth: the SYN.
	c.irs = seg.Seq
	c.rcvNxt = seg.Seq + 1
	c.rcvAdvEdge = c.rcvNxt
	c.lastAckSent = c.rcvNxt
	c.takePeerOptions(seg, now)
	if hasACK {
		c.sndUna = seg.Ack
		c.handshakeAcked(now)
	}
	if c.sndUna.GreaterThan(c.iss) {
		// Our SYN has been acknowledged: the connection is open.
		c.updateWindow(seg)
		c.setState(Established, now)
		c.ackNow = true
		c.output(now)
		return
	}
	// Simultaneous open: "enter SYN-RECEIVED, form a SYN,ACK segment".
	c.updateWindow(seg)
	c.setState(SynReceived, now)
	c.sendSYN(now, false)
}

// inputSynchronized is RFC 9293 §3.10.7.4: SYN_RCVD and every later state.
func (c *Conn) inputSynchronized(seg *Segment, now time.Time) {
	isSYN := seg.Flags&wire.FlagSYN != 0
	isRST := seg.Flags&wire.FlagRST != 0

	// A retransmitted SYN while we wait for the handshake's ACK means our
	// SYN-ACK was lost: send it again (as Linux does), rather than the
	// plain ACK the acceptability test would draw.
	if c.state == SynReceived && isSYN && !isRST && seg.Flags&wire.FlagACK == 0 && seg.Seq == c.irs {
		if !c.oowLimited(seg, now) { // as Linux's tcp_check_req
			c.sendSYN(now, true)
		}
		return
	}

	// Simultaneous open (RFC 9293 Figure 7, line 6): the peer's SYN,ACK
	// repeats its SYN (SEG.SEQ = IRS, so the acceptability test would
	// reject it) but acknowledges ours. It completes the handshake, as in
	// the figure and in Linux (tcp_validate_incoming's SYN_RECV exception
	// to RFC 5961 §4.2).
	if c.state == SynReceived && !c.passive && seg.Flags&(wire.FlagSYN|wire.FlagACK|wire.FlagRST) == wire.FlagSYN|wire.FlagACK &&
		seg.Seq == c.irs && seg.Ack == c.sndNxt && seg.PayloadLen() == 0 {
		c.updateTSRecent(seg, now)
		c.updateWindow(seg)
		c.setState(Established, now)
		c.sndUna = seg.Ack
		c.handshakeAcked(now)
		if c.finQueued {
			c.setState(FinWait1, now)
		}
		// Its SYN is old by now (SEG.SEQ < RCV.NXT): acknowledge it, with a
		// D-SACK block naming the duplicate, as Linux does (tcp_data_queue's
		// "A retransmit" case) and as §3.10.7.4 does for a segment that is
		// not acceptable.
		c.noteDuplicate(seg.Seq, seg.Seq.Add(1))
		return
	}

	// RFC 7323 §5.3 R1 (PAWS): an old duplicate, recognised by its
	// timestamp, is answered with an ACK and dropped before anything else.
	if c.pawsRejects(seg, now) {
		if !c.oowLimited(seg, now) {
			c.sendACK(now)
		}
		return
	}

	// First: check the sequence number.
	if !c.acceptable(seg) {
		if isRST {
			return
		}
		if isSYN {
			// RFC 5961 §4.2: a SYN, whatever its sequence number.
			c.challengeACK(now)
			return
		}
		if n := seg.PayloadLen(); n > 0 && seg.Seq.LessThan(c.rcvNxt) {
			// Data we already have (a retransmission whose original, or
			// whose ACK, was only delayed or lost): report it in a D-SACK
			// block (RFC 2883 §4, as Linux's tcp_send_dupack does).
			end := seg.Seq.Add(uint32(n))
			if end.GreaterThan(c.rcvNxt) {
				end = c.rcvNxt
			}
			c.noteDuplicate(seg.Seq, end)
		}
		if !c.oowLimited(seg, now) {
			c.sendACK(now)
		}
		return
	}
	// A zero window accepts no data, but the ACK and flags of a segment
	// that starts at RCV.NXT are still processed (RFC 9293 §3.10.7.4).
	data := seg.Payload
	fin := seg.Flags&wire.FlagFIN != 0
	if c.receiveWindow() == 0 && seg.PayloadLen() > 0 {
		data, fin = nil, false
		c.ackNow = true
	}

	// Second: the RST bit (RFC 5961 §3.2).
	if isRST {
		if seg.Seq != c.rcvNxt {
			c.challengeACK(now)
			return
		}
		c.reset(now)
		return
	}

	// Fourth: the SYN bit (RFC 5961 §4.2, RFC 9293 §3.10.7.4).
	if isSYN {
		if c.state == SynReceived && c.passive {
			// "If the connection was initiated with a passive OPEN, then
			// return this connection to the LISTEN state and return."
			c.setState(Listen, now)
			return
		}
		c.challengeACK(now)
		return
	}

	// Fifth: the ACK field.
	if seg.Flags&wire.FlagACK == 0 {
		return
	}
	if c.state == SynReceived {
		if !seg.Ack.GreaterThan(c.sndUna) || seg.Ack.GreaterThan(c.sndMax) {
			// "If the segment acknowledgment is not acceptable, form a
			// reset segment <SEQ=SEG.ACK><CTL=RST> and send it."
			c.transmit(c.scratch(Segment{Seq: seg.Ack, Flags: wire.FlagRST}), now)
			return
		}
	} else if !c.ackAcceptable(seg, now) {
		return
	}
	// Only now is the segment known to come from the peer: its timestamp
	// may become TS.Recent (RFC 7323 §4.3), here rather than at the first
	// step, as Linux does (tcp_ack's FLAG_UPDATE_TS_RECENT), so that a
	// blind in-window RST, SYN or data with a bad ACK (RFC 5961 §3-5)
	// cannot move TS.Recent ahead and have PAWS drop the peer's segments.
	c.updateTSRecent(seg, now)
	c.sampleReceiveRTT(seg, now)
	if c.state == SynReceived {
		c.updateWindow(seg)
		c.sndUna = seg.Ack
		c.handshakeAcked(now)
		c.setState(Established, now)
		if c.finQueued {
			c.setState(FinWait1, now)
		}
	}
	c.processACK(seg, now)
	switch c.state {
	case FinWait1:
		if c.finAcked() {
			c.setState(FinWait2, now)
			if c.readClosed {
				c.finWait2At = c.at(now).Add(c.cfg.FinWait2Timeout)
			}
		}
	case Closing:
		if c.finAcked() {
			c.setState(TimeWait, now)
		}
	case LastAck:
		if c.finAcked() {
			c.setState(Closed, now)
			return
		}
	}

	// Sixth: the URG bit. Urgent data is delivered inline, as
	// RFC 6093 §6 recommends; the pointer itself is not acted on.

	// Seventh: the segment text.
	switch c.state {
	case Established, FinWait1, FinWait2:
	default:
		// CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT: the peer has already
		// sent its FIN, so text cannot arrive; ignore it.
		return
	}
	c.receiveText(seg.Seq, seg.Ack, data, fin, now)
}

// receiveText is the seventh and eighth steps of RFC 9293 §3.10.7.4 for an
// acceptable segment in ESTABLISHED, FIN_WAIT_1 or FIN_WAIT_2: its text and
// its FIN. Text that arrives out of order is kept in the receive buffer at
// its place and reported in SACK blocks; a duplicate is reported as a
// D-SACK (RFC 2883). ack is the segment's acknowledgment number.
func (c *Conn) receiveText(seq, ack Value, data []byte, fin bool, now time.Time) {
	if len(data) == 0 && !fin {
		// A bare ACK: nothing to receive. (Its SEG.SEQ may lie beyond
		// RCV.NXT when data before it was lost; that is no reason to
		// answer, or two such ACKs would answer each other forever.)
		return
	}
	if len(data) > 0 {
		c.rcvMSS = max(c.rcvMSS, len(data))
		if c.lastDataAt.IsZero() || c.at(now).Sub(c.lastDataAt) > c.rto.rto {
			// The first data, or data after a silence: acknowledge the
			// next segments at once so a sender in slow start is not held
			// back by delayed ACKs (as Linux's tcp_event_data_recv).
			c.quickAcks = maxQuickAcks
		}
		c.lastDataAt = c.at(now)
	}
	if seq.LessThan(c.rcvNxt) {
		// Trim what we already have, and report it (RFC 2883 §4).
		skip := min(c.rcvNxt.Sub(seq), uint32(len(data)))
		if skip > 0 {
			c.noteDuplicate(seq, seq.Add(skip))
		}
		data = data[skip:]
		seq = seq.Add(skip)
		if len(data) == 0 && !(fin && seq == c.rcvNxt) {
			return
		}
	}
	// Keep only what fits the window we offered and the buffer behind it.
	offset := int(seq.Sub(c.rcvNxt))
	room := min(int(c.receiveWindow()), c.rcvBuf.Free()) - offset
	if len(data) > room {
		data, fin = data[:max(room, 0)], false
	}
	if len(data) > 0 && c.readClosed {
		// The application has closed: nobody will read this. Reset to
		// show that data was lost (RFC 1122 §4.2.2.13), answering the
		// segment as Linux does (tcp_reset, then tcp_v4_send_reset:
		// <SEQ=SEG.ACK><CTL=RST>, no options), which is SND.NXT only if
		// the segment acknowledges everything, our FIN included.
		c.abort(now, &Segment{Seq: ack, Flags: wire.FlagRST})
		return
	}
	end := seq.Add(uint32(len(data)))

	if seq != c.rcvNxt {
		// Out of order: keep it where it belongs, and send the duplicate
		// ACK (with SACK blocks) at once (RFC 5681 §4.2, RFC 2018 §4).
		if len(data) > 0 {
			if c.ooo.contains(seq, end) {
				c.noteDuplicate(seq, end)
			} else {
				c.rcvBuf.WriteAt(c.rcvBuf.Len()+offset, data)
			}
			// A duplicate too moves the block that holds it to the front:
			// RFC 2883 §4 wants it in the second SACK block, right after
			// the D-SACK block (as Linux's tcp_sack_new_ofo_skb does).
			c.ooo.add(seq, end)
		}
		if fin {
			c.oooFin, c.oooFinSet = end, true
		}
		c.ackNow = true
		c.quickAcks = maxQuickAcks
		return
	}

	if len(data) > 0 {
		filling := !c.ooo.empty()
		c.rcvBuf.WriteAt(c.rcvBuf.Len(), data)
		next := c.ooo.advance(end)
		n := int(next.Sub(c.rcvNxt))
		c.rcvBuf.Commit(n)
		c.rcvNxt = next
		c.autotuneReceive(n, now)
		if filling {
			// A segment that fills a hole is acknowledged at once
			// (RFC 5681 §4.2).
			c.ackNow = true
		} else {
			c.ackData(len(data), now)
		}
	}
	if c.oooFinSet && c.rcvNxt == c.oooFin {
		fin = true
	}

	// Eighth: the FIN bit.
	if fin {
		c.rcvNxt++
		c.finReceived = true
		c.oooFinSet = false
		c.ackNow = true
		switch c.state {
		case Established:
			c.setState(CloseWait, now)
		case FinWait1:
			// Our FIN is not acknowledged yet (else we would be in
			// FIN_WAIT_2): both sides closed at once.
			c.setState(Closing, now)
		case FinWait2:
			c.setState(TimeWait, now)
		}
	}
}

// maxQuickAcks is how many segments are acknowledged at once after the
// connection starts, after a silence, or after a loss (Linux's
// TCP_MAX_QUICKACKS).
const maxQuickAcks = 16

// ackData applies the delayed-ACK policy to in-order data (RFC 1122
// §4.2.3.2, RFC 5681 §4.2): acknowledge at once while in quick-ACK mode
// and at least every second full-sized segment; otherwise within
// DelayedACK, unless data going out carries the ACK first.
func (c *Conn) ackData(n int, now time.Time) {
	c.rcvUnacked += n
	switch {
	case c.cfg.DelayedACK < 0, c.rcvUnacked > c.rcvMSS:
		c.ackNow = true
	case c.quickAcks > 0:
		c.quickAcks--
		c.ackNow = true
	case c.delackAt.IsZero():
		c.delackAt = c.at(now).Add(c.cfg.DelayedACK)
	}
}

// noteDuplicate records a duplicate segment for a D-SACK block
// (RFC 2883 §4) and acknowledges at once.
func (c *Conn) noteDuplicate(start, end Value) {
	if c.sackOK {
		c.dsack, c.dsackPending = seqRange{start, end}, true
	}
	c.ackNow = true
}

// acceptable is the segment acceptability test of RFC 9293 §3.10.7.4.
//
//	Segment Receive  Test
//	Length  Window
//	------- -------  -------------------------------------------
//	   0       0     SEG.SEQ = RCV.NXT
//	   0      >0     RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
//	  >0       0     not acceptable
//	  >0      >0     RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
//	              or RCV.NXT =< SEG.SEQ+SEG.LEN-1 < RCV.NXT+RCV.WND
//
// A segment with text arriving on a zero window that starts exactly at
// RCV.NXT is treated as acceptable so that its ACK and flags are processed
// (the "special allowance" of the same section); its text is dropped.
func (c *Conn) acceptable(seg *Segment) bool {
	segLen := seg.Len()
	wnd := c.receiveWindow()
	switch {
	case segLen == 0 && wnd == 0:
		return seg.Seq == c.rcvNxt
	case segLen == 0:
		return seg.Seq.InWindow(c.rcvNxt, wnd)
	case wnd == 0:
		return seg.Seq == c.rcvNxt
	default:
		return seg.Seq.InWindow(c.rcvNxt, wnd) ||
			seg.Seq.Add(segLen-1).InWindow(c.rcvNxt, wnd)
	}
}

// ackAcceptable is the ACK acceptability test of RFC 5961 §5.2 for the
// states from ESTABLISHED on:
//
//	SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT
//
// where SND.NXT is the highest sequence number sent (SND.MAX) and, as in
// Linux's tcp_ack, MAX.SND.WND is no more than the bytes acknowledged so
// far: an ACK below ISS+1 acknowledges what was never sent. A segment
// that fails it is dropped and answered with a challenge ACK
// (rate-limited, §7): "If the ACK acks something not yet sent (SEG.ACK >
// SND.NXT), then send an ACK, drop the segment, and return" (RFC 9293
// §3.10.7.4), and an ACK older than anything the peer could have seen is
// what a blind data injection (§5) most likely carries.
func (c *Conn) ackAcceptable(seg *Segment, now time.Time) bool {
	ack := seg.Ack
	maxWnd := min(c.maxSndWnd, c.sndUna.Sub(c.iss+1))
	if ack.GreaterThan(c.sndMax) || ack.LessThan(c.sndUna-Value(maxWnd)) {
		c.challengeACK(now)
		return false
	}
	return true
}

// processACK handles the fifth step's ACK, found acceptable, for the
// states from ESTABLISHED on.
func (c *Conn) processACK(seg *Segment, now time.Time) {
	ack := seg.Ack
	c.probes = 0 // the peer is alive: zero-window probing may go on
	pipe := c.pipe()
	var sacked uint32
	if c.sackOK && seg.Options.NumSACK > 0 {
		sacked = c.takeSACK(seg)
	}
	if ack.GreaterThan(c.sndUna) {
		acked := ack.Sub(c.sndUna)
		c.sndUna = ack
		if c.sndNxt.LessThan(ack) {
			c.sndNxt = ack
		}
		c.sb.ackTo(ack)
		c.dataAcked(seg, acked+sacked, pipe, now)
	} else if c.isDupAck(seg, sacked) {
		c.dupAck(now)
	}
	c.probeAcked(seg, now)
	if sacked > 0 {
		c.detectLostRetransmissions()
		c.detectLostHead(now)
	}
	// Window update: only from a segment newer than the last one used
	// (RFC 9293 §3.10.7.4), so an old reordered segment cannot shrink it.
	if c.sndWl1.LessThan(seg.Seq) || (c.sndWl1 == seg.Seq && c.sndWl2.LessThanEq(ack)) {
		c.updateWindow(seg)
	}
}

// handshakeAcked is called when the ACK of our SYN arrives: it takes the
// handshake's RTT sample and stops the retransmission timer.
func (c *Conn) handshakeAcked(now time.Time) {
	if c.rttTiming && c.sndUna.GreaterThanEq(c.rttSeq) {
		c.sampleRTT(c.at(now).Sub(c.rttStart))
	}
	c.rttTiming = false
	c.retries = 0
	c.rtoAt = 0
	c.highRxt, c.lostEnd = c.sndUna, c.sndUna
	// RFC 6582 §3.2 step 1: "recover" starts at the ISS, not at the ACK of
	// the SYN, so that three duplicate ACKs of SND.UNA = ISS+1 (the first
	// data segment lost) do "cover more than recover" and trigger a fast
	// retransmit.
	c.recoveryPoint = c.iss
	c.progressAt = c.at(now)
}

// dataAcked is called when SND.UNA has moved forward over acked bytes (and
// the ACK SACKed some more): it frees the acknowledged data, takes an RTT
// sample, moves loss recovery along, grows the congestion window, and
// restarts or stops the retransmission timer (RFC 6298 §5.2, §5.3).
func (c *Conn) dataAcked(seg *Segment, acked, pipe uint32, now time.Time) {
	if c.sndUna.GreaterThan(c.bufSeq) {
		n := min(int(c.sndUna.Sub(c.bufSeq)), c.sendBuf.Len())
		c.sendBuf.Discard(n)
		c.bufSeq = c.bufSeq.Add(uint32(n))
		if c.sendBuf.Len() == 0 {
			c.drained(now)
		}
	}
	var rtt time.Duration
	switch {
	case c.tsOK && seg.Options.HasTimestamps && seg.Options.TSEcr != 0 &&
		(c.recovery == notRecovering || int32(seg.Options.TSEcr-c.rtoTSVal) >= 0):
		// RFC 7323 §4.1 (RTTM): every ACK of new data gives a sample.
		// After a timeout, only an echo of a segment sent since: an
		// older echo measures the wait for the timer, not the path, and
		// one inflated sample feeds an ever longer RTO. A fresh one
		// ends the backoff, as the RTO is computed anew (as in Linux).
		rtt = time.Duration(c.tsNow(now)-seg.Options.TSEcr) * time.Millisecond
		rtt = max(rtt, time.Millisecond/2)
	case c.rttTiming && c.sndUna.GreaterThanEq(c.rttSeq):
		rtt = c.at(now).Sub(c.rttStart)
	}
	if c.rttTiming && c.sndUna.GreaterThanEq(c.rttSeq) {
		c.rttTiming = false
	}
	if rtt > 0 {
		c.sampleRTT(rtt)
	}
	c.retries = 0
	c.persistAt = 0
	c.progressAt = c.at(now)
	if c.highRxt.LessThan(c.sndUna) {
		c.highRxt = c.sndUna
	}
	if c.lostEnd.LessThan(c.sndUna) {
		c.lostEnd = c.sndUna
	}
	c.headMark, c.headMarkSet = c.sndMax, c.recovery != notRecovering
	mss := uint32(c.sendMSS)
	switch c.recovery {
	case fastRecovery:
		if c.sndUna.GreaterThanEq(c.recoveryPoint) {
			// RFC 6582 §3.2 step 6 / RFC 6675 §5: a full acknowledgment
			// ends recovery; cwnd goes to ssthresh.
			c.recovery = notRecovering
			c.dupAcks = 0
			c.cc.OnRecoveryExit(now)
			break
		}
		// A partial acknowledgment (RFC 6582 §3.2 step 5): the segment
		// now at SND.UNA is lost too; retransmit it (unless it already
		// was, in this episode).
		c.dupAcks = max(0, c.dupAcks-int((acked+mss-1)/mss))
		if end := c.sndUna.Add(min(mss, c.sndMax.Sub(c.sndUna))); end.GreaterThan(c.lostEnd) {
			c.lostEnd = end
		}
	case lossRecovery:
		if c.sndUna.GreaterThanEq(c.recoveryPoint) {
			c.recovery = notRecovering
			c.dupAcks = 0
		}
		c.growCwnd(acked, rtt, pipe, now)
	default:
		c.dupAcks = 0
		c.growCwnd(acked, rtt, pipe, now)
	}
	if c.sndUna == c.sndMax {
		c.rtoAt = 0
	} else {
		c.rtoAt = c.rtoDeadline(now)
	}
	c.scheduleTLP(now)
}

// growCwnd reports acknowledged data to the congestion controller, and
// lets the send buffer grow with the window (as Linux's
// tcp_sndbuf_expand), so a buffer-limited sender can fill the path.
func (c *Conn) growCwnd(acked uint32, rtt time.Duration, pipe uint32, now time.Time) {
	c.cc.OnAck(cc.Ack{
		Now:        now,
		Acked:      int(acked),
		RTT:        rtt,
		SRTT:       c.rto.srtt,
		MinRTT:     c.minRTT,
		InFlight:   int(pipe),
		SndUna:     uint32(c.sndUna),
		SndNxt:     uint32(c.sndMax),
		AppLimited: c.appLimited,
	})
	if !c.sndBufLocked {
		if want := 2 * c.cc.Cwnd(); want > c.sendBuf.Cap() && c.sendBuf.Cap() < c.cfg.MaxSendBufferSize {
			size := min(max(want, 2*c.sendBuf.Cap()), c.cfg.MaxSendBufferSize)
			c.sendBuf.Resize(size, c.sendBuf.Len())
		}
	}
}

// isDupAck reports whether seg is a duplicate acknowledgment: for a SACK
// connection one that SACKs new data (RFC 6675 §2), otherwise the
// classic definition of RFC 5681 §2 — no data, no SYN or FIN, the same
// window, and data outstanding.
func (c *Conn) isDupAck(seg *Segment, sacked uint32) bool {
	if seg.Ack != c.sndUna || c.sndUna == c.sndMax {
		return false
	}
	if c.sackOK {
		return sacked > 0
	}
	return seg.PayloadLen() == 0 && seg.Flags&(wire.FlagSYN|wire.FlagFIN) == 0 &&
		c.scaledWindow(seg) == c.sndWnd
}

// dupAck counts a duplicate ACK and enters fast recovery at the third
// (RFC 5681 §3.2) or as soon as the scoreboard shows a loss (RFC 6675 §5).
// Before that, each one lets a new segment out (limited transmit,
// RFC 3042), which pipe accounts for.
func (c *Conn) dupAck(now time.Time) {
	c.dupAcks++
	if c.recovery != notRecovering {
		return
	}
	lost := c.dupAcks >= dupThresh
	if c.sackOK {
		lost = lost || c.sb.lostBelow(c.sndUna, c.sendMSS) != c.sndUna
	} else if !c.sndUna.GreaterThan(c.recoveryPoint) {
		// RFC 6582 §3.2 step 2: duplicate ACKs that do not cover more
		// than the last recovery's end may be echoes of its
		// retransmissions; do not start another.
		lost = false
	}
	if lost {
		c.enterRecovery(now)
	}
}

// enterRecovery starts fast retransmit and fast recovery (RFC 5681 §3.2,
// RFC 6582, RFC 6675 §5): ssthresh and cwnd come down, and the first
// segment deemed lost is retransmitted at once, whatever cwnd says.
func (c *Conn) enterRecovery(now time.Time) {
	c.recovery = fastRecovery
	c.recoveryPoint = c.sndMax
	c.highRxt = c.sndUna
	c.lostEnd = c.sndUna.Add(min(uint32(c.sendMSS), c.sndMax.Sub(c.sndUna)))
	c.cc.OnCongestion(now, int(c.sndMax.Sub(c.sndUna)))
	c.rttTiming = false // Karn: the timed segment may be among those resent
	c.retransmitLost(now)
}

// takeSACK folds the SACK blocks of seg into the scoreboard and returns
// how many bytes they newly covered. A first block below the cumulative
// ACK, or inside the second block, is a D-SACK (RFC 2883 §4): it reports a
// duplicate, not new data, and is counted. Blocks outside SND.UNA..SND.MAX
// are ignored: they cannot be true.
func (c *Conn) takeSACK(seg *Segment) uint32 {
	o := &seg.Options
	low := c.sndUna
	if seg.Ack.GreaterThan(low) {
		low = seg.Ack
	}
	var newly uint32
	for i := 0; i < int(o.NumSACK); i++ {
		start, end := Value(o.SACKBlocks[i].Left), Value(o.SACKBlocks[i].Right)
		if !start.LessThan(end) {
			continue
		}
		if i == 0 {
			if end.LessThanEq(seg.Ack) || o.NumSACK > 1 &&
				Value(o.SACKBlocks[1].Left).LessThanEq(start) && end.LessThanEq(Value(o.SACKBlocks[1].Right)) {
				c.dsacksReceived++
				continue
			}
		}
		if end.GreaterThan(c.sndMax) || end.LessThanEq(low) {
			continue
		}
		if start.LessThan(low) {
			start = low
		}
		newly += c.sb.add(start, end)
	}
	return newly
}

// finAcked reports whether our FIN has been sent and acknowledged.
func (c *Conn) finAcked() bool {
	return c.finQueued && c.sndUna.GreaterThan(c.bufSeq.Add(uint32(c.sendBuf.Len())))
}

// updateWindow records the peer's window from seg (SND.WND, SND.WL1,
// SND.WL2 of RFC 9293 §3.10.7.4).
func (c *Conn) updateWindow(seg *Segment) {
	c.sndWnd = c.scaledWindow(seg)
	c.maxSndWnd = max(c.maxSndWnd, c.sndWnd)
	c.sndWl1 = seg.Seq
	c.sndWl2 = seg.Ack
}

// scaledWindow returns the window seg offers, in bytes: the field shifted
// by the peer's window scale, except in a SYN, whose window is never scaled
// (RFC 7323 §2.2).
func (c *Conn) scaledWindow(seg *Segment) uint32 {
	if seg.Flags&wire.FlagSYN != 0 {
		return uint32(seg.Window)
	}
	return uint32(seg.Window) << c.sndWscale
}

// reset handles an acceptable RST (RFC 9293 §3.10.7.4, second step).
func (c *Conn) reset(now time.Time) {
	switch c.state {
	case SynReceived:
		if c.passive {
			// "If this connection was initiated with a passive OPEN ...
			// then return this connection to LISTEN state."
			c.setState(Listen, now)
			return
		}
		c.fail(ErrConnectionRefused, now)
	case Established, FinWait1, FinWait2, CloseWait:
		c.fail(ErrConnectionReset, now)
	default:
		// CLOSING, LAST-ACK, TIME-WAIT: "enter the CLOSED state".
		c.setState(Closed, now)
	}
}

// receiveWindow returns RCV.WND: the room between RCV.NXT and the right
// edge last advertised.
func (c *Conn) receiveWindow() uint32 {
	if c.rcvAdvEdge.LessThanEq(c.rcvNxt) {
		return 0
	}
	return c.rcvAdvEdge.Sub(c.rcvNxt)
}
