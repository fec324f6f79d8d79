package tcp

import (
	"time"

	"github.com/seqack/seqack/trace"
	"github.com/seqack/seqack/wire"
)

// maxWindow is the largest value of the 16-bit window field.
const maxWindow = 65535

// sendSYN sends our SYN (in SYN_SENT) or SYN-ACK (in SYN_RCVD), with its
// options, and arms the retransmission timer.
func (c *Conn) sendSYN(now time.Time, retransmit bool) {
	seg := c.scratch(Segment{Seq: c.iss, Flags: wire.FlagSYN})
	if c.state == SynReceived {
		seg.Flags |= wire.FlagACK
		seg.Ack = c.rcvNxt
	}
	c.synOptions(&seg.Options, now)
	seg.Retransmit = retransmit || c.sndMax != c.iss
	c.transmit(seg, now)
	c.sndNxt = c.iss + 1
	c.sndMax = c.sndNxt
	if !seg.Retransmit {
		c.startRTT(c.sndNxt, now)
	}
	c.rtoAt = c.at(now).Add(c.rto.rto)
}

// output sends whatever the state, the send buffer, the peer's window and
// the congestion window allow, then a bare ACK if one is still owed
// (RFC 9293 §3.8.6, §3.10.2).
func (c *Conn) output(now time.Time) {
	switch c.state {
	case Established, CloseWait, FinWait1, Closing, LastAck:
		c.sendData(now)
	}
	if c.ackNow && c.state != Closed && c.state != Listen && c.state != SynSent {
		c.sendACK(now)
	}
}

// sendData sends segments while the windows allow: first retransmissions
// of segments deemed lost during recovery (RFC 6675 §4 NextSeg rule 1),
// then new data from SND.NXT (rule 2). Every segment must fit in
// cwnd - pipe (RFC 5681, RFC 6675), and new data in the peer's window too.
func (c *Conn) sendData(now time.Time) {
	mss := uint32(c.sendMSS)
	c.appLimited = false
	for {
		pipe := c.pipe()
		room := uint32(0)
		if cwnd := uint32(c.cc.Cwnd()); cwnd > pipe {
			room = cwnd - pipe
		}
		if s, e, ok := c.nextLost(); ok {
			if room < min(mss, e.Sub(s)) {
				return
			}
			n := c.sendAt(s, min(int(e.Sub(s)), c.sendMSS), true, now)
			if n == 0 {
				return // nothing left to resend (cannot happen; never spin)
			}
			c.highRxt = s.Add(n)
			c.noteRetransmission(s)
			continue
		}

		dataEnd := c.bufSeq.Add(uint32(c.sendBuf.Len()))
		avail := uint32(0)
		if dataEnd.GreaterThan(c.sndNxt) {
			avail = dataEnd.Sub(c.sndNxt)
		}
		finToSend := c.finQueued && !c.sndMax.GreaterThan(dataEnd)
		if avail == 0 && !finToSend {
			if room == 0 {
				c.noteCwndFull()
			}
			c.appLimited = !c.cwndFullInWindow()
			return
		}
		if avail > 0 && c.sndUna == c.sndMax && !c.lastSendAt.IsZero() && c.at(now).Sub(c.lastSendAt) > c.rto.rto {
			// RFC 5681 §4.1, RFC 7661: after an idle period longer than
			// the RTO, the window the ACK clock no longer vouches for is
			// cut back before sending again.
			c.cc.OnIdle(now, c.at(now).Sub(c.lastSendAt), c.rto.rto)
			// Once per idle period: the loop comes back here, and with
			// lastSendAt unchanged it would cut cwnd again, for ever.
			c.lastSendAt = c.at(now)
			continue
		}
		usable := uint32(0)
		if wndEnd := c.sndUna.Add(c.sndWnd); wndEnd.GreaterThan(c.sndNxt) {
			usable = wndEnd.Sub(c.sndNxt)
		}
		n := min(avail, mss)
		if n > usable {
			// Limited by the peer's window. Sender-side silly window
			// syndrome avoidance (RFC 1122 §4.2.3.4): send a short
			// segment only if it is at least half the largest window the
			// peer has offered; otherwise wait for the window to open, or
			// for the persist timer (the "override timeout") if nothing
			// is in flight to bring an ACK.
			if usable == 0 || usable < c.maxSndWnd/2 {
				if c.sndUna == c.sndMax && c.persistAt.IsZero() {
					c.persistRTO = c.rto.rto
					c.persistAt = c.at(now).Add(c.persistRTO)
				}
				return
			}
			n = usable
		}
		if n > room && pipe > 0 {
			c.noteCwndFull()
			return // the congestion window is full
		}
		// Nagle (RFC 896, RFC 1122 §4.2.3.4) in Minshall's variant, as
		// Linux's tcp_nagle_check: with it on, a segment shorter than the
		// MSS waits while an earlier short segment is unacknowledged,
		// unless the application has closed (the FIN pushes it, as in
		// Linux). The short tail of a long write goes with the rest,
		// rather than a round trip later.
		if !c.noDelay && n < mss && n == avail && !c.finQueued && c.smallInFlight() {
			return
		}
		fin := finToSend && n == avail
		if n == 0 && !fin {
			return
		}
		if c.sndUna == c.sndMax {
			c.progressAt = c.at(now)
		}
		c.sendAt(c.sndNxt, int(n), fin, now)
		if fin {
			return
		}
	}
}

// noteCwndFull records that the sender was limited by cwnd with data
// up to SND.MAX out: until that data is acknowledged, the sender counts as
// cwnd-limited, though it may run out of data meanwhile (as Linux's
// is_cwnd_limited holds for a window of data, tcp_cwnd_validate). So a
// flight that filled cwnd grows it by every ACK of that flight, even when
// nothing more is queued when the ACKs come (RFC 7661 §4.3: cwnd was used,
// hence validated).
func (c *Conn) noteCwndFull() { c.cwndFullMark, c.cwndFullSet = c.sndMax, true }

// cwndFullInWindow reports whether cwnd was full since the data now
// unacknowledged began to be sent.
func (c *Conn) cwndFullInWindow() bool {
	if c.cwndFullSet && !c.sndUna.LessThan(c.cwndFullMark) {
		c.cwndFullSet = false
	}
	return c.cwndFullSet
}

// sendAt sends one segment of at most n data bytes from seq, with the FIN
// if finOK and the segment reaches the end of the data, and returns the
// sequence space it took. A segment below SND.MAX is a retransmission.
func (c *Conn) sendAt(seq Value, n int, finOK bool, now time.Time) uint32 {
	off := int(seq.Sub(c.bufSeq))
	// SACK blocks riding on the segment take room from its payload, as in
	// Linux's tcp_current_mss: the packet must still fit the path.
	n = max(min(n, c.sendBuf.Len()-off, c.sendMSS-c.sackSpace()), 0)
	seg := c.scratch(Segment{Seq: seq, Flags: wire.FlagACK})
	seg.Payload, seg.PayloadWrap = c.sendBuf.Peek(off, n)
	if n > 0 && off+n == c.sendBuf.Len() {
		seg.Flags |= wire.FlagPSH
	}
	if finOK && c.finQueued && off+n == c.sendBuf.Len() {
		seg.Flags |= wire.FlagFIN
	}
	seg.Retransmit = seq.LessThan(c.sndMax)
	if !seg.Retransmit && n > 0 && n < c.sendMSS-c.sackSpace() {
		c.sndSml = seq.Add(uint32(n))
	}
	c.transmit(seg, now)
	end := seq.Add(seg.Len())
	if end.GreaterThan(c.sndNxt) {
		c.sndNxt = end
	}
	if end.GreaterThan(c.sndMax) {
		c.sndMax = end
	}
	if !seg.Retransmit && !c.rttTiming {
		c.startRTT(end, now)
	}
	if c.rtoAt.IsZero() {
		c.rtoAt = c.rtoDeadline(now)
	}
	if !seg.Retransmit && !c.tlpOut {
		c.scheduleTLP(now)
	}
	c.persistAt = 0
	c.lastSendAt = c.at(now)
	return seg.Len()
}

// smallInFlight reports whether a segment shorter than the MSS is sent
// and unacknowledged: SND.UNA < end of it =< SND.MAX (the second test
// keeps a mark left far behind by a long idle stretch from passing).
func (c *Conn) smallInFlight() bool {
	return c.sndSml.GreaterThan(c.sndUna) && c.sndSml.LessThanEq(c.sndMax)
}

// startRTT times the segment that ends at end (RFC 6298 §3: one at a
// time, and never a retransmitted one — Karn's algorithm).
func (c *Conn) startRTT(end Value, now time.Time) {
	c.rttTiming = true
	c.rttSeq = end
	c.rttStart = c.at(now)
}

// sendACK sends a bare acknowledgment <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>,
// where SND.NXT is the highest sequence number sent (SND.MAX): the peer
// (Linux, for one) drops a segment that ends below its RCV.NXT together
// with the ACK it carries.
func (c *Conn) sendACK(now time.Time) {
	c.transmit(c.scratch(Segment{Seq: c.sndMax, Flags: wire.FlagACK}), now)
}

// challengeACK sends the challenge ACK of RFC 5961 (§3.2, §4.2, §5.2),
// unless this second's allowance (§7) is spent: the connection's own
// (ChallengeACKLimit), or the host's (Config.ChallengeACKs).
func (c *Conn) challengeACK(now time.Time) {
	if c.oowLimitedAny(now) {
		if host := c.cfg.ChallengeACKs; host != nil {
			host.limited.Add(1)
		}
		return
	}
	if c.at(now).Sub(c.challengeSecond) >= time.Second {
		c.challengeSecond = c.at(now)
		c.challengeCount = 0
	}
	host := c.cfg.ChallengeACKs
	if c.challengeCount >= c.cfg.ChallengeACKLimit {
		if host != nil {
			host.limited.Add(1)
		}
		return
	}
	if host != nil && !host.allow(now) {
		return
	}
	c.challengeCount++
	c.sendACK(now)
}

// scratch copies s into the connection's outgoing segment and returns it.
// Segments are handed to the Sender through an interface, so a local one
// would escape to the heap on every send; this one is reused, which is safe
// because SendSegment is synchronous and never re-enters the Conn.
func (c *Conn) scratch(s Segment) *Segment {
	c.txSeg = s
	return &c.txSeg
}

// transmit completes a segment and hands it to the Sender. On every
// segment but a reset it fills in the window and the options every segment
// carries: timestamps once negotiated (RFC 7323 §3.2), and SACK blocks on
// ACKs while out-of-order data is held (RFC 2018 §4). On every segment with
// the ACK bit but a reset (whose numbers its caller chose as RFC 9293
// prescribes) it fills in the acknowledgment, which settles any ACK owed.
func (c *Conn) transmit(seg *Segment, now time.Time) {
	if seg.Flags&wire.FlagRST == 0 {
		if seg.Flags&wire.FlagSYN == 0 {
			if c.tsOK {
				o := &seg.Options
				o.HasTimestamps, o.TSVal, o.TSEcr = true, c.tsNow(now), c.tsRecent
			}
			if c.sackOK && seg.Flags&wire.FlagACK != 0 && (c.dsackPending || !c.ooo.empty()) {
				c.sackBlocks(&seg.Options)
			}
		}
		seg.Window = c.advertise(seg.Flags&wire.FlagSYN != 0)
	}
	if seg.Flags&(wire.FlagACK|wire.FlagRST) == wire.FlagACK {
		seg.Ack = c.rcvNxt
		c.ackNow = false
		c.delackAt = 0
		c.rcvUnacked = 0
		c.lastAckSent = c.rcvNxt
	}
	seg.Tag = 0
	c.out.SendSegment(c.id, seg) // may set seg.Tag
	if c.sink != nil {
		c.traceSegment(trace.SegmentSent, seg, now)
	}
}

// maxAdvertised returns the largest window the connection can advertise:
// 65535 bytes, shifted by our window scale once that is agreed.
func (c *Conn) maxAdvertised() int { return maxWindow << c.rcvWscale }

// advertise returns the window field for an outgoing segment and records
// the window's right edge. The edge never moves left (RFC 9293 §3.8.6),
// and moves right only by a worthwhile amount (receiver-side silly window
// syndrome avoidance, RFC 1122 §4.2.3.3). The window of a SYN is never
// scaled (RFC 7323 §2.2).
func (c *Conn) advertise(syn bool) uint16 {
	if syn {
		w := min(c.rcvBuf.Free(), maxWindow)
		if c.state == SynReceived {
			c.rcvAdvEdge = c.rcvNxt.Add(uint32(w))
		}
		return uint16(w)
	}
	if c.windowWorthAdvertising() {
		// The edge sits on a multiple of the scale unit, so the peer
		// computes the same edge from the field as we record.
		w := uint32(min(c.rcvBuf.Free(), c.maxAdvertised()))
		c.rcvAdvEdge = c.rcvNxt.Add(w &^ (1<<c.rcvWscale - 1))
	}
	// Round up, as Linux does: rounding down would move the edge the peer
	// computes left. The peer may then send up to that rounded-up edge, so
	// it becomes the edge we accept (RFC 9293 §3.8.6: a window offered is
	// not withdrawn) — if the buffer can hold it. If it cannot, round
	// down, RFC 7323 §2.3's SEG.WND = RCV.WND >> Rcv.Wind.Shift: the peer
	// sees the edge retract by less than one unit (RFC 7323 Appendix F),
	// rather than have data we offered room for dropped.
	wnd := c.receiveWindow()
	field := min((wnd+1<<c.rcvWscale-1)>>c.rcvWscale, maxWindow)
	if offered := field << c.rcvWscale; offered > wnd {
		if int(offered) <= c.rcvBuf.Free() {
			c.rcvAdvEdge = c.rcvNxt.Add(offered)
		} else {
			field = wnd >> c.rcvWscale
		}
	}
	return uint16(field)
}

// windowWorthAdvertising reports whether the free buffer space would move
// the window's right edge by at least min(buffer/2, MSS) (RFC 1122
// §4.2.3.3), or open a window that is now closed.
func (c *Conn) windowWorthAdvertising() bool {
	edge := c.rcvNxt.Add(uint32(min(c.rcvBuf.Free(), c.maxAdvertised())))
	if !edge.GreaterThan(c.rcvAdvEdge) {
		return false
	}
	step := uint32(min(c.rcvBuf.Cap()/2, c.cfg.MSS))
	return edge.Sub(c.rcvAdvEdge) >= step || c.receiveWindow() == 0 && c.rcvBuf.Free() >= min(c.rcvBuf.Cap(), c.cfg.MSS)
}

// windowUpdateWorthSending reports whether reading has freed enough room
// to send a window update of its own rather than wait for the next ACK:
// when the window offered has fallen to half the buffer or less and the
// new one would be at least twice as large (as Linux's tcp_cleanup_rbuf),
// and the move is worth it by RFC 1122 §4.2.3.3.
func (c *Conn) windowUpdateWorthSending() bool {
	if !c.windowWorthAdvertising() {
		return false
	}
	cur := c.receiveWindow()
	clamp := uint32(min(c.rcvBuf.Cap(), c.maxAdvertised()))
	next := uint32(min(c.rcvBuf.Free(), c.maxAdvertised()))
	return 2*cur <= clamp && next >= 2*cur
}

// traceSegment reports a segment sent or received.
func (c *Conn) traceSegment(kind trace.Kind, seg *Segment, now time.Time) {
	e := segmentEvent(kind, seg, now)
	c.emit(&e)
}

// segmentEvent returns the event that reports seg sent or received, but
// for the endpoints.
func segmentEvent(kind trace.Kind, seg *Segment, now time.Time) trace.Event {
	e := trace.Event{Time: now, Kind: kind}
	e.Seg.Seq, e.Seg.Ack = uint32(seg.Seq), uint32(seg.Ack)
	e.Seg.Flags = seg.Flags
	e.Seg.Window = seg.Window
	e.Seg.Len = seg.PayloadLen()
	e.Seg.Retransmit = seg.Retransmit
	e.Seg.Tag = seg.Tag
	if seg.RawOptions != nil {
		e.Seg.OptionsLen = uint8(copy(e.Seg.Options[:], seg.RawOptions))
	} else {
		e.Seg.OptionsLen = uint8(seg.Options.Marshal(e.Seg.Options[:]))
	}
	return e
}
