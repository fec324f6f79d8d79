package tcp

import "time"

// recoveryKind says which loss recovery, if any, is under way.
type recoveryKind uint8

const (
	notRecovering recoveryKind = iota
	// fastRecovery follows a fast retransmit (RFC 5681 §3.2, RFC 6582,
	// RFC 6675): cwnd is held at ssthresh until RecoveryPoint is acked.
	fastRecovery
	// lossRecovery follows a retransmission timeout (RFC 5681 §3.1,
	// RFC 6675 §5.1): everything outstanding is deemed lost and resent in
	// order, under a congestion window that starts again from one segment.
	lossRecovery
)

// pipe is RFC 6675 §4's estimate of the bytes in flight: every byte
// between SND.UNA and SND.MAX that the peer has not SACKed counts once
// unless it is deemed lost, and once more if it has been retransmitted.
// Without SACK, each duplicate ACK stands for one segment that left the
// network (the dup-ACK counting of RFC 5681 §3.2 and RFC 6582).
func (c *Conn) pipe() uint32 {
	flight := c.sndMax.Sub(c.sndUna)
	if flight == 0 {
		return 0
	}
	if c.recovery == notRecovering && len(c.sb.ranges) == 0 && c.dupAcks == 0 {
		return flight
	}
	lost := c.sndUna
	if c.recovery != notRecovering {
		lost = c.lossBoundary()
	}
	var p uint32
	for from := c.sndUna; from.LessThan(c.sndMax); {
		s, e := c.sb.nextHole(from, c.sndMax)
		if !s.LessThan(c.sndMax) {
			break
		}
		p += e.Sub(s) - overlap(s, e, c.sndUna, lost) + overlap(s, e, c.sndUna, c.highRxt)
		from = e
	}
	if !c.sackOK {
		p -= min(p, uint32(c.dupAcks)*uint32(c.sendMSS))
	}
	return p
}

// overlap returns how much of [s, e) lies in [lo, hi).
func overlap(s, e, lo, hi Value) uint32 {
	if s.LessThan(lo) {
		s = lo
	}
	if e.GreaterThan(hi) {
		e = hi
	}
	if !s.LessThan(e) {
		return 0
	}
	return e.Sub(s)
}

// lossBoundary returns the sequence number below which unSACKed bytes are
// deemed lost: from the scoreboard (RFC 6675 IsLost), or set by a
// timeout or a partial ACK.
func (c *Conn) lossBoundary() Value {
	lost := c.lostEnd
	if c.sackOK {
		if b := c.sb.lostBelow(c.sndUna, c.sendMSS); b.GreaterThan(lost) {
			lost = b
		}
	}
	return lost
}

// nextLost is rule 1 of RFC 6675 §4's NextSeg: the first hole above
// HighRxt that is deemed lost, as [start, end).
func (c *Conn) nextLost() (start, end Value, ok bool) {
	if c.recovery == notRecovering {
		return 0, 0, false
	}
	lost := c.lossBoundary()
	from := c.highRxt
	if from.LessThan(c.sndUna) {
		from = c.sndUna
	}
	s, e := c.sb.nextHole(from, c.sndMax)
	if !s.LessThan(lost) || !s.LessThan(c.sndMax) {
		return 0, 0, false
	}
	if e.GreaterThan(lost) {
		e = lost
	}
	return s, e, true
}

// retransmitLost resends the first segment deemed lost, whatever cwnd says
// (RFC 5681 §3.2 step 3, RFC 6675 §5 step 4.3, RFC 6298 §5.4).
func (c *Conn) retransmitLost(now time.Time) bool {
	s, e, ok := c.nextLost()
	if !ok {
		return false
	}
	n := c.sendAt(s, min(int(e.Sub(s)), c.sendMSS), true, now)
	c.highRxt = s.Add(n)
	c.noteRetransmission(s)
	return true
}

// noteRetransmission records the marks detectLostRetransmissions works
// from, after a retransmission from s: SND.MAX now, and, if s is the head
// (SND.UNA), SND.MAX now as the head's mark.
func (c *Conn) noteRetransmission(s Value) {
	c.rxtMark, c.rxtMarkSet = c.sndMax, true
	if s == c.sndUna {
		c.headMark, c.headMarkSet = c.sndMax, true
	}
}

// sampleRTT folds one round-trip measurement into the RTO estimate
// (RFC 6298 §2) and the minimum RTT the congestion controller uses.
func (c *Conn) sampleRTT(rtt time.Duration) {
	rtt = max(rtt, time.Microsecond) // a sample is never zero
	c.rto.sample(rtt)
	if c.minRTT == 0 || rtt < c.minRTT {
		c.minRTT = rtt
	}
}

// rtoDeadline is when the retransmission timer started now expires: one RTO
// away, but never past the user timeout (as Linux's
// tcp_clamp_rto_to_user_timeout).
func (c *Conn) rtoDeadline(now time.Time) instant {
	t := c.at(now)
	at := t.Add(c.rto.rto)
	if c.userTimeout > 0 && !c.progressAt.IsZero() {
		if limit := c.progressAt.Add(c.userTimeout); limit.Before(at) {
			at = max(limit, t)
		}
	}
	return at
}

// userTimedOut reports whether sent data has waited longer than the user
// timeout for an acknowledgment.
func (c *Conn) userTimedOut(now time.Time) bool {
	return c.userTimeout > 0 && !c.progressAt.IsZero() && c.at(now).Sub(c.progressAt) >= c.userTimeout
}

// autotuneReceive grows the receive buffer as Linux's dynamic right-sizing
// (tcp_rcv_space_adjust) does: once per round trip it compares the bytes
// delivered in that round trip with the buffer, and makes the buffer twice
// the round trip's delivery, so the window stays ahead of a sender whose
// congestion window is still growing; up to MaxReceiveBufferSize.
func (c *Conn) autotuneReceive(n int, now time.Time) {
	if c.rcvBufLocked {
		return
	}
	c.rcvSpaceBytes += n
	rtt := c.rcvRTT
	if rtt <= 0 {
		rtt = c.rto.srtt
	}
	if rtt <= 0 {
		return
	}
	if c.rcvSpaceAt.IsZero() {
		c.rcvSpaceAt, c.rcvSpaceBytes = c.at(now), 0
		return
	}
	if c.at(now).Sub(c.rcvSpaceAt) < rtt {
		return
	}
	if want := 2 * c.rcvSpaceBytes; want > c.rcvBuf.Cap() && c.rcvBuf.Cap() < c.cfg.MaxReceiveBufferSize {
		size := min(max(want, c.rcvBuf.Cap()*3/2), c.cfg.MaxReceiveBufferSize)
		c.rcvBuf.Resize(size, c.rcvSpaceInUse())
		if c.maxAdvertised() < size && !c.wsOK {
			// Without window scaling nothing beyond 64 KiB can be offered.
			c.rcvBufLocked = true
		}
	}
	c.rcvSpaceAt, c.rcvSpaceBytes = c.at(now), 0
}

// sampleReceiveRTT takes the receiver's round-trip estimate from the echo
// of our timestamp in arriving data (as Linux's tcp_rcv_rtt_measure_ts),
// for auto-tuning: a bulk receiver sends no data of its own to time.
func (c *Conn) sampleReceiveRTT(seg *Segment, now time.Time) {
	if !c.tsOK || !seg.Options.HasTimestamps || seg.Options.TSEcr == 0 || seg.PayloadLen() == 0 {
		return
	}
	rtt := time.Duration(c.tsNow(now)-seg.Options.TSEcr) * time.Millisecond
	if rtt < 0 || rtt > time.Minute {
		return
	}
	rtt = max(rtt, time.Millisecond)
	if c.rcvRTT == 0 {
		c.rcvRTT = rtt
	} else {
		c.rcvRTT = (7*c.rcvRTT + rtt) / 8
	}
}

// rcvSpaceInUse returns how much of the receive ring must survive a resize:
// the unread data, and beyond it everything out to the window's edge and
// the highest out-of-order byte held.
func (c *Conn) rcvSpaceInUse() int {
	end := c.rcvNxt.Add(c.receiveWindow())
	if h := c.ooo.highest(c.rcvNxt); h.GreaterThan(end) {
		end = h
	}
	return c.rcvBuf.Len() + int(end.Sub(c.rcvNxt))
}

// detectLostRetransmissions resends holes whose retransmission was lost
// too. Retransmissions go out in order, and the latest went out when
// SND.MAX was rxtMark; once the peer SACKs data from rxtMark on — sent
// after every retransmission so far — a hole below HighRxt that is still
// missing cannot be late, only lost (RFC 8985 §6.2's rule, with the
// transmission order standing in for send times, as Linux's
// tcp_mark_lost_retrans did before RACK). HighRxt goes back to SND.UNA,
// so NextSeg resends such holes; the congestion window is not cut again,
// as one recovery episode answers one congestion event.
func (c *Conn) detectLostRetransmissions() {
	if c.recovery == notRecovering || !c.rxtMarkSet || len(c.sb.ranges) == 0 {
		return
	}
	if !c.sb.ranges[len(c.sb.ranges)-1].end.GreaterThan(c.rxtMark) {
		return
	}
	if s, _ := c.sb.nextHole(c.sndUna, c.sndMax); s.LessThan(c.highRxt) {
		c.highRxt = c.sndUna
		c.rxtMarkSet = false
		c.lostRetransmits++
	}
}

// detectLostHead applies the same rule to the head alone, sooner: the
// hole at SND.UNA holds everything back, and once data sent after its
// retransmission (from headMark on) is SACKed while it is still missing,
// that retransmission was lost, and the head is resent at once. headMark
// also moves to SND.MAX whenever SND.UNA advances in recovery, so a new
// head is judged only by data sent after it became the head.
func (c *Conn) detectLostHead(now time.Time) {
	if c.recovery == notRecovering || !c.headMarkSet || len(c.sb.ranges) == 0 ||
		!c.sndUna.LessThan(c.highRxt) || !c.sb.ranges[len(c.sb.ranges)-1].end.GreaterThan(c.headMark) {
		return
	}
	_, e := c.sb.nextHole(c.sndUna, c.sndMax)
	if c.sendAt(c.sndUna, min(int(e.Sub(c.sndUna)), c.sendMSS), true, now) > 0 {
		c.headMark = c.sndMax
		c.lostRetransmits++
	}
}
