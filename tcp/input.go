package tcp

import (
	"time"

	"github.com/seqack/seqack/trace"
	"github.com/seqack/seqack/wire"
)

// Input processes one arriving segment, following the order of RFC 9293
// §3.10.7. The segment's payload is copied if accepted; seg is not retained.
func (c *Conn) Input(seg *Segment, now time.Time) {
	if c.sink != nil {
		c.traceSegment(trace.SegmentReceived, seg, now)
	}
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
		c.takePeerOptions(seg)
		c.updateWindow(seg)
		c.setState(SynReceived, now)
		// Data and FIN on a SYN are not accepted: the peer will send them
		// again once the connection is established (no TCP Fast Open).
		c.sendSYN(now, false)
	}
}

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
	c.takePeerOptions(seg)
	if hasACK {
		c.sndUna = seg.Ack
		c.ackAdvanced(now)
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
		c.sendSYN(now, true)
		return
	}

	// Simultaneous open (RFC 9293 Figure 7, line 6): the peer's SYN,ACK
	// repeats its SYN (SEG.SEQ = IRS, so the acceptability test would
	// reject it) but acknowledges ours. It completes the handshake, as in
	// the figure and in Linux (tcp_validate_incoming's SYN_RECV exception
	// to RFC 5961 §4.2).
	if c.state == SynReceived && !c.passive && seg.Flags&(wire.FlagSYN|wire.FlagACK|wire.FlagRST) == wire.FlagSYN|wire.FlagACK &&
		seg.Seq == c.irs && seg.Ack == c.sndNxt && seg.PayloadLen() == 0 {
		c.updateWindow(seg)
		c.setState(Established, now)
		c.sndUna = seg.Ack
		c.ackAdvanced(now)
		if c.finQueued {
			c.setState(FinWait1, now)
		}
		return
	}

	// First: check the sequence number.
	if !c.acceptable(seg) {
		if isRST {
			return
		}
		if c.state == TimeWait && seg.Flags&wire.FlagFIN != 0 && seg.Seq.Add(seg.Len()) == c.rcvNxt {
			// A retransmission of the peer's FIN: our last ACK was lost.
			// Acknowledge it again and restart the 2 MSL timer
			// (RFC 9293 §3.10.7.4, eighth step, TIME-WAIT).
			c.timeWaitAt = now.Add(2 * c.cfg.MSL)
			c.sendACK(now)
			return
		}
		if isSYN {
			// RFC 5961 §4.2: a SYN, whatever its sequence number.
			c.challengeACK(now)
			return
		}
		c.sendACK(now)
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
		c.updateWindow(seg)
		c.setState(Established, now)
		if c.finQueued {
			c.setState(FinWait1, now)
		}
	}
	if !c.processACK(seg, now) {
		return
	}
	switch c.state {
	case FinWait1:
		if c.finAcked() {
			c.setState(FinWait2, now)
			if c.readClosed {
				c.finWait2At = now.Add(c.cfg.FinWait2Timeout)
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
	seq := seg.Seq
	if seq.LessThan(c.rcvNxt) {
		// Trim what we already have.
		skip := c.rcvNxt.Sub(seq)
		if int(skip) >= len(data) {
			// Nothing new in the text; a FIN here has been seen too
			// unless it sits exactly at RCV.NXT.
			skip = uint32(len(data))
		}
		data = data[skip:]
		seq = seq.Add(skip)
	}
	if seq != c.rcvNxt {
		// Out of order: it is not kept yet, but the immediate duplicate
		// ACK tells the sender where the hole is (RFC 5681 §4.2).
		c.ackNow = true
		return
	}
	if len(data) > 0 {
		if c.readClosed {
			// The application has closed: nobody will read this. Reset
			// to show that data was lost (RFC 1122 §4.2.2.13).
			c.Abort(now)
			return
		}
		room := int(c.receiveWindow())
		if len(data) > room {
			data, fin = data[:room], false
		}
		n := c.rcvBuf.Write(data)
		c.rcvNxt = c.rcvNxt.Add(uint32(n))
		c.ackNow = true
	}

	// Eighth: the FIN bit.
	if fin {
		c.rcvNxt++
		c.finReceived = true
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

// processACK handles the fifth step's ACK for the states from ESTABLISHED
// on. It reports whether processing of the segment continues.
func (c *Conn) processACK(seg *Segment, now time.Time) bool {
	ack := seg.Ack
	// RFC 9293 §3.10.7.4: "If the ACK acks something not yet sent
	// (SEG.ACK > SND.NXT), then send an ACK, drop the segment, and return."
	// SND.NXT rewinds on a timeout, so "sent" is measured by SND.MAX.
	if ack.GreaterThan(c.sndMax) {
		c.challengeACK(now) // rate-limited, RFC 5961 §5.2 and §7
		return false
	}
	c.probes = 0 // the peer is alive: zero-window probing may go on
	// RFC 5961 §5.2: an ACK older than anything the peer could have seen
	// (SND.UNA - MAX.SND.WND) is answered with a challenge ACK and dropped.
	if ack.LessThan(c.sndUna - Value(c.maxSndWnd)) {
		c.challengeACK(now)
		return false
	}
	if ack.GreaterThan(c.sndUna) {
		c.sndUna = ack
		if c.sndNxt.LessThan(ack) {
			c.sndNxt = ack
		}
		c.ackAdvanced(now)
	}
	// Window update: only from a segment newer than the last one used
	// (RFC 9293 §3.10.7.4), so an old reordered segment cannot shrink it.
	if c.sndWl1.LessThan(seg.Seq) || (c.sndWl1 == seg.Seq && c.sndWl2.LessThanEq(ack)) {
		c.updateWindow(seg)
	}
	return true
}

// ackAdvanced is called when SND.UNA has moved forward: it frees the
// acknowledged data, takes an RTT sample, and restarts or stops the
// retransmission timer (RFC 6298 §5.2, §5.3).
func (c *Conn) ackAdvanced(now time.Time) {
	if c.sndUna.GreaterThan(c.bufSeq) {
		acked := min(int(c.sndUna.Sub(c.bufSeq)), c.sendBuf.Len())
		c.sendBuf.Discard(acked)
		c.bufSeq = c.bufSeq.Add(uint32(acked))
	}
	if c.rttTiming && c.sndUna.GreaterThanEq(c.rttSeq) {
		c.rto.sample(now.Sub(c.rttStart))
		c.rttTiming = false
	}
	c.retries = 0
	c.persistAt = time.Time{}
	if c.sndUna == c.sndMax {
		c.rtoAt = time.Time{}
	} else {
		c.rtoAt = now.Add(c.rto.rto)
	}
}

// finAcked reports whether our FIN has been sent and acknowledged.
func (c *Conn) finAcked() bool {
	return c.finQueued && c.sndUna.GreaterThan(c.bufSeq.Add(uint32(c.sendBuf.Len())))
}

// updateWindow records the peer's window from seg (SND.WND, SND.WL1,
// SND.WL2 of RFC 9293 §3.10.7.4).
func (c *Conn) updateWindow(seg *Segment) {
	c.sndWnd = uint32(seg.Window)
	c.maxSndWnd = max(c.maxSndWnd, c.sndWnd)
	c.sndWl1 = seg.Seq
	c.sndWl2 = seg.Ack
}

// takePeerOptions applies the options of the peer's SYN.
func (c *Conn) takePeerOptions(seg *Segment) {
	mss := defaultMSS
	if seg.Options.HasMSS {
		mss = max(int(seg.Options.MSS), minMSS)
	}
	c.sendMSS = min(mss, c.cfg.MSS)
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
