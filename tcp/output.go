package tcp

import (
	"time"

	"github.com/seqack/seqack/trace"
	"github.com/seqack/seqack/wire"
)

// maxWindow is the largest window the 16-bit field can carry without
// window scaling (RFC 7323), which this engine does not negotiate yet.
const maxWindow = 65535

// sendSYN sends our SYN (in SYN_SENT) or SYN-ACK (in SYN_RCVD), with the MSS
// option (RFC 9293 §3.7.1), and arms the retransmission timer.
func (c *Conn) sendSYN(now time.Time, retransmit bool) {
	seg := c.scratch(Segment{Seq: c.iss, Flags: wire.FlagSYN})
	if c.state == SynReceived {
		seg.Flags |= wire.FlagACK
		seg.Ack = c.rcvNxt
	}
	seg.Options.MSS, seg.Options.HasMSS = uint16(min(c.cfg.MSS, 65535)), true
	seg.Retransmit = retransmit || c.sndMax != c.iss
	c.transmit(seg, now)
	c.sndNxt = c.iss + 1
	c.sndMax = c.sndNxt
	if !seg.Retransmit {
		c.startRTT(c.sndNxt, now)
	}
	c.rtoAt = now.Add(c.rto.rto)
}

// output sends whatever the state, the send buffer and the peer's window
// allow, then a bare ACK if one is still owed (RFC 9293 §3.8.6, §3.10.2).
func (c *Conn) output(now time.Time) {
	switch c.state {
	case Established, CloseWait, FinWait1, Closing, LastAck:
		c.sendData(now, false)
	}
	if c.ackNow && c.state != Closed && c.state != Listen && c.state != SynSent {
		c.sendACK(now)
	}
}

// sendData sends segments from SND.NXT while there is data (or a FIN) and
// window for it. With once set, it sends at most one segment and ignores
// the window: that is the retransmission of the oldest unacknowledged
// segment after a timeout (RFC 6298 §5.4).
func (c *Conn) sendData(now time.Time, once bool) {
	dataEnd := c.bufSeq.Add(uint32(c.sendBuf.Len()))
	for c.sndNxt.LessThanEq(dataEnd) {
		off := int(c.sndNxt.Sub(c.bufSeq))
		avail := c.sendBuf.Len() - off
		n := min(avail, c.sendMSS)
		if !once {
			usable := 0
			if wndEnd := c.sndUna.Add(c.sndWnd); wndEnd.GreaterThan(c.sndNxt) {
				usable = int(wndEnd.Sub(c.sndNxt))
			}
			n = min(n, usable)
		}
		// The FIN goes with the last data (or alone) once all data is
		// out; like Linux, it is sent even into a closed window, since it
		// carries no data.
		fin := c.finQueued && off+n == c.sendBuf.Len()
		if n == 0 && !fin {
			if avail > 0 && c.sndUna == c.sndMax && c.persistAt.IsZero() {
				// Data waits on a zero window with nothing in flight:
				// probe it (RFC 9293 §3.8.6.1).
				c.persistRTO = c.rto.rto
				c.persistAt = now.Add(c.persistRTO)
			}
			return
		}
		seg := c.scratch(Segment{Seq: c.sndNxt, Flags: wire.FlagACK})
		seg.Payload, seg.PayloadWrap = c.sendBuf.Peek(off, n)
		if n > 0 && off+n == c.sendBuf.Len() {
			seg.Flags |= wire.FlagPSH
		}
		if fin {
			seg.Flags |= wire.FlagFIN
		}
		seg.Retransmit = c.sndNxt.LessThan(c.sndMax)
		c.transmit(seg, now)
		c.sndNxt = c.sndNxt.Add(seg.Len())
		if c.sndNxt.GreaterThan(c.sndMax) {
			c.sndMax = c.sndNxt
		}
		if !seg.Retransmit && !c.rttTiming {
			c.startRTT(c.sndNxt, now)
		}
		if c.rtoAt.IsZero() {
			c.rtoAt = now.Add(c.rto.rto)
		}
		c.persistAt = time.Time{}
		if once || fin {
			return
		}
	}
}

// startRTT times the segment that ends at end (RFC 6298 §3: one at a
// time, and never a retransmitted one — Karn's algorithm).
func (c *Conn) startRTT(end Value, now time.Time) {
	c.rttTiming = true
	c.rttSeq = end
	c.rttStart = now
}

// sendACK sends a bare acknowledgment <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>,
// where SND.NXT is the highest sequence number sent (SND.MAX): after a
// timeout our SND.NXT has gone back, and the peer (Linux, for one) drops a
// segment that ends below its RCV.NXT together with the ACK it carries.
func (c *Conn) sendACK(now time.Time) {
	c.transmit(c.scratch(Segment{Seq: c.sndMax, Flags: wire.FlagACK}), now)
}

// challengeACK sends the challenge ACK of RFC 5961 (§3.2, §4.2, §5.2),
// unless this second's allowance (§7) is spent.
func (c *Conn) challengeACK(now time.Time) {
	if now.Sub(c.challengeSecond) >= time.Second {
		c.challengeSecond = now
		c.challengeCount = 0
	}
	if c.challengeCount >= c.cfg.ChallengeACKLimit {
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

// transmit fills in the acknowledgment (on every segment with the ACK
// bit but a reset, whose numbers its caller chose as RFC 9293 prescribes)
// and the window (on every segment but a reset), reports the segment, and
// hands it to the Sender.
func (c *Conn) transmit(seg *Segment, now time.Time) {
	if seg.Flags&(wire.FlagACK|wire.FlagRST) == wire.FlagACK {
		seg.Ack = c.rcvNxt
		c.ackNow = false
	}
	if seg.Flags&wire.FlagRST == 0 {
		seg.Window = c.advertise()
	}
	seg.Tag = 0
	c.out.SendSegment(c.id, seg) // may set seg.Tag
	if c.sink != nil {
		c.traceSegment(trace.SegmentSent, seg, now)
	}
}

// advertise returns the window to put in an outgoing segment and records
// its right edge. The edge never moves left (RFC 9293 §3.8.6), and moves
// right only by a worthwhile amount (receiver-side silly window syndrome
// avoidance, RFC 1122 §4.2.3.3).
func (c *Conn) advertise() uint16 {
	if c.state == SynSent {
		// RCV.NXT is not known yet: offer the whole buffer.
		return uint16(min(c.rcvBuf.Free(), maxWindow))
	}
	if c.windowWorthAdvertising() {
		c.rcvAdvEdge = c.rcvNxt.Add(uint32(min(c.rcvBuf.Free(), maxWindow)))
	}
	return uint16(c.receiveWindow())
}

// windowWorthAdvertising reports whether the free buffer space would move
// the window's right edge by at least min(buffer/2, MSS) (RFC 1122
// §4.2.3.3), or open a window that is now closed.
func (c *Conn) windowWorthAdvertising() bool {
	edge := c.rcvNxt.Add(uint32(min(c.rcvBuf.Free(), maxWindow)))
	if !edge.GreaterThan(c.rcvAdvEdge) {
		return false
	}
	step := uint32(min(c.rcvBuf.Cap()/2, c.cfg.MSS))
	return edge.Sub(c.rcvAdvEdge) >= step || c.receiveWindow() == 0 && c.rcvBuf.Free() >= min(c.rcvBuf.Cap(), c.cfg.MSS)
}

// traceSegment reports a segment sent or received.
func (c *Conn) traceSegment(kind trace.Kind, seg *Segment, now time.Time) {
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
	c.emit(&e)
}
