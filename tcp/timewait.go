package tcp

import (
	"time"

	"github.com/seqack/seqack/trace"
	"github.com/seqack/seqack/wire"
)

// TimeWaitEntry is a connection in the TIME-WAIT state (RFC 9293 §3.4.2)
// in a compact form: once both FINs are acknowledged, all that is left to
// do for 2×MSL is to answer what the peer may still send — above all a
// retransmission of its FIN, whose ACK was lost — and to keep the 4-tuple
// from a new incarnation that old duplicates could corrupt. That needs the
// sequence numbers, the window and the timestamps, not the buffers, timers
// and congestion state of a Conn, so a host keeps a TimeWaitEntry (144
// bytes) per closed connection rather than a Conn (Conn.CompactTimeWait),
// as Linux keeps an inet_timewait_sock.
//
// Like Conn, a TimeWaitEntry does no I/O and reads no clock: segments and
// times go in, segments and events come out. A Conn in TIME-WAIT answers
// through one too, so both behave alike. It is not safe for concurrent
// use.
type TimeWaitEntry struct {
	id      ID
	cfg     *Config
	expires time.Time // 2×MSL after entering TIME-WAIT, or after the peer's last FIN

	sndNxt   Value  // SND.NXT: our FIN is acknowledged, so nothing beyond it was sent
	rcvNxt   Value  // RCV.NXT, just past the peer's FIN
	ackFloor Value  // the oldest acceptable SEG.ACK (RFC 5961 §5.2)
	rcvWnd   uint32 // RCV.WND as last advertised, in bytes
	window   uint16 // the window field of our segments

	tsOK     bool   // timestamps (RFC 7323) are in use
	closed   bool   // the state has ended: expired, reset or reopened
	tsRecent uint32 // TS.Recent (RFC 7323 §4.3)
	tsOffset uint32 // our timestamp clock's offset (RFC 7323 §7.1)
	tsLast   uint32 // our latest TSval: the clock never goes back

	challengeAt    uint32 // millisecond clock when this second of challenge ACKs began
	challengeCount uint32 // challenge ACKs sent in it (RFC 5961 §7)
	lastOOW        uint32 // millisecond clock of the last out-of-window answer; 0: none
}

// CompactTimeWait hands the TIME-WAIT of a connection in that state over to
// a TimeWaitEntry, which the caller keeps in its place for the rest of the
// 2×MSL, and returns it; in any other state it returns nil. The Conn
// itself becomes CLOSED without an event (the connection lives on in the
// TimeWaitEntry, which reports its end) and keeps only the data the
// application has yet to read.
func (c *Conn) CompactTimeWait() *TimeWaitEntry {
	if c.state != TimeWait {
		return nil
	}
	tw := c.timeWait()
	c.tw = nil
	c.state = Closed
	c.stopTimers()
	c.releaseBuffers()
	return tw
}

// timeWait returns the TimeWaitEntry that answers for the connection in
// TIME-WAIT, made the first time it is needed: after the ACK of the peer's
// FIN has gone out, so that it starts from what that ACK said.
func (c *Conn) timeWait() *TimeWaitEntry {
	if c.tw != nil {
		return c.tw
	}
	window := c.advertise(false)
	c.tw = &TimeWaitEntry{
		id:       c.id,
		cfg:      c.cfg,
		expires:  c.timeOf(c.timeWaitAt),
		sndNxt:   c.sndMax,
		rcvNxt:   c.rcvNxt,
		ackFloor: c.sndUna - Value(min(c.maxSndWnd, c.sndUna.Sub(c.iss+1))),
		rcvWnd:   c.receiveWindow(),
		window:   window,
		tsOK:     c.tsOK,
		tsRecent: c.tsRecent,
		tsOffset: c.tsOffset,
		tsLast:   c.tsLast,
	}
	return c.tw
}

// inputTimeWait is Input for a Conn in TIME-WAIT: its TimeWaitEntry answers.
func (c *Conn) inputTimeWait(seg *Segment, now time.Time) {
	tw := c.timeWait()
	if tw.Input(seg, now, c.out, c.sink) {
		c.endTimeWait()
		return
	}
	c.timeWaitAt = c.at(tw.expires) // a retransmitted FIN restarts it
}

// endTimeWait makes the Conn CLOSED once its TimeWaitEntry has ended (and
// reported the change).
func (c *Conn) endTimeWait() {
	c.tw = nil
	c.state = Closed
	c.stopTimers()
	c.releaseBuffers()
}

// ID returns the connection's endpoints.
func (tw *TimeWaitEntry) ID() ID { return tw.id }

// State returns TIME_WAIT, or CLOSED once the state has ended.
func (tw *TimeWaitEntry) State() State {
	if tw.closed {
		return Closed
	}
	return TimeWait
}

// Expires returns when TIME-WAIT ends unless a segment restarts it: 2×MSL
// after it began, or after the peer's latest retransmitted FIN.
func (tw *TimeWaitEntry) Expires() time.Time { return tw.expires }

// Expire ends TIME-WAIT if its 2×MSL has passed at now, reports the timer
// and the change to CLOSED to sink (which may be nil), and reports whether
// it did.
func (tw *TimeWaitEntry) Expire(now time.Time, sink trace.Sink) bool {
	if tw.closed || now.Before(tw.expires) {
		return false
	}
	if sink != nil {
		sink.Emit(&trace.Event{Time: now, Kind: trace.TimerFired, Timer: "time-wait", Local: tw.id.Local, Remote: tw.id.Remote})
	}
	tw.end(now, sink)
	return true
}

// Abort ends TIME-WAIT at once, sending nothing, and reports the change
// to sink (which may be nil): for a SYN that Reopens the connection, which
// the caller then hands to its listener as the first segment of the new
// incarnation, or as Conn.Abort does in TIME-WAIT (a host that shuts
// down).
func (tw *TimeWaitEntry) Abort(now time.Time, sink trace.Sink) {
	if !tw.closed {
		tw.end(now, sink)
	}
}

// end moves the connection to CLOSED and reports it.
func (tw *TimeWaitEntry) end(now time.Time, sink trace.Sink) {
	tw.closed = true
	if sink != nil {
		sink.Emit(&trace.Event{Time: now, Kind: trace.StateChanged, From: TimeWait.String(), To: Closed.String(),
			Local: tw.id.Local, Remote: tw.id.Remote})
	}
}

// Reopens reports whether seg is a SYN that may open a new incarnation of
// the connection. RFC 1122 §4.2.2.13 allows it when the SYN's sequence
// number lies beyond the old incarnation's (SEG.SEQ > RCV.NXT); RFC 6191
// also when the connection used timestamps and the SYN's is newer than
// TS.Recent, whatever its sequence number — but never when its timestamp
// is older, which marks an old duplicate (PAWS), as in Linux's
// tcp_timewait_state_process. It is for the caller to reopen (Abort, then
// a new connection from the SYN), if a listener is there to take the SYN:
// Input answers such a SYN as any other.
func (tw *TimeWaitEntry) Reopens(seg *Segment) bool {
	return !tw.closed && reopens(seg, tw.rcvNxt, tw.tsOK, tw.tsRecent)
}

func reopens(seg *Segment, rcvNxt Value, tsOK bool, tsRecent uint32) bool {
	if seg.Flags&(wire.FlagSYN|wire.FlagACK|wire.FlagRST) != wire.FlagSYN {
		return false
	}
	if tsOK && seg.Options.HasTimestamps {
		switch d := int32(seg.Options.TSVal - tsRecent); {
		case d < 0:
			return false
		case d > 0:
			return true
		}
	}
	return seg.Seq.GreaterThan(rcvNxt)
}

// Input processes one segment that arrived for the connection, as RFC 9293
// §3.10.7.4 says for TIME-WAIT, sends any answer through out, reports
// events to sink (which may be nil), and reports whether the connection
// has ended. A retransmission of the peer's FIN is acknowledged again and
// restarts the 2×MSL; other segments that are not acceptable draw an ACK
// (a SYN, whatever its sequence number, a rate-limited challenge ACK,
// RFC 5961 §4.2); acceptable ones are dropped, since no text can arrive
// after the FIN. A reset in the window is answered with a challenge ACK
// (RFC 5961 §3.2) unless it is exactly at RCV.NXT, when it ends TIME-WAIT
// (RFC 9293 §3.10.7.4: the TIME-WAIT assassination of RFC 1337) — unless
// Config.RFC1337 is set, when every reset is ignored (RFC 1337 §3, "R1").
// Answers to segments out of the window, the re-ACK of a FIN among them,
// go out at most once per Config.InvalidRateLimit, as Linux's
// tcp_timewait_check_oow_rate_limit allows.
func (tw *TimeWaitEntry) Input(seg *Segment, now time.Time, out Sender, sink trace.Sink) (ended bool) {
	if tw.closed {
		return true
	}
	if sink != nil {
		e := segmentEvent(trace.SegmentReceived, seg, now)
		e.Local, e.Remote = tw.id.Local, tw.id.Remote
		sink.Emit(&e)
	}
	isRST := seg.Flags&wire.FlagRST != 0
	isSYN := seg.Flags&wire.FlagSYN != 0
	if isRST && tw.cfg.RFC1337 {
		// RFC 1337 §3: a reset in TIME-WAIT could be an old duplicate, or
		// the answer to one of our ACKs from a peer that has forgotten
		// the connection; letting it end TIME-WAIT early lets old
		// segments into a new incarnation. Ignore it (Linux's
		// net.ipv4.tcp_rfc1337 = 1).
		return false
	}

	// RFC 7323 §5.3 R1 (PAWS): an old duplicate, by its timestamp.
	if tw.tsOK && seg.Options.HasTimestamps && !isRST && int32(seg.Options.TSVal-tw.tsRecent) < 0 {
		if !tw.oowLimited(seg, now) {
			tw.sendACK(now, out, sink)
		}
		return false
	}

	// First: the sequence number.
	if !tw.acceptable(seg) {
		switch {
		case isRST:
		case seg.Flags&wire.FlagFIN != 0 && seg.Seq.Add(seg.Len()) == tw.rcvNxt:
			// A retransmission of the peer's FIN: our last ACK was lost.
			// Acknowledge it again and restart the 2×MSL timeout
			// (RFC 9293 §3.10.7.4, eighth step, TIME-WAIT).
			tw.expires = now.Add(2 * tw.cfg.MSL)
			if !tw.oowLimited(seg, now) {
				tw.sendACK(now, out, sink)
			}
		case isSYN:
			// RFC 5961 §4.2: a SYN, whatever its sequence number.
			tw.challengeACK(now, out, sink)
		default:
			if !tw.oowLimited(seg, now) {
				tw.sendACK(now, out, sink)
			}
		}
		return false
	}

	// Second: the RST bit (RFC 5961 §3.2).
	if isRST {
		if seg.Seq != tw.rcvNxt {
			tw.challengeACK(now, out, sink)
			return false
		}
		tw.end(now, sink)
		return true
	}
	// Fourth: the SYN bit (RFC 5961 §4.2).
	if isSYN {
		tw.challengeACK(now, out, sink)
		return false
	}
	// Fifth: the ACK field, which must lie between what the peer can have
	// seen and what we sent (RFC 5961 §5.2).
	if seg.Flags&wire.FlagACK == 0 {
		return false
	}
	if seg.Ack.GreaterThan(tw.sndNxt) || seg.Ack.LessThan(tw.ackFloor) {
		tw.challengeACK(now, out, sink)
		return false
	}
	// The segment is from the peer: its timestamp may become TS.Recent
	// (RFC 7323 §4.3), if it covers the last ACK we sent, at RCV.NXT.
	if tw.tsOK && seg.Options.HasTimestamps && int32(seg.Options.TSVal-tw.tsRecent) >= 0 && seg.Seq.LessThanEq(tw.rcvNxt) {
		tw.tsRecent = seg.Options.TSVal
	}
	// Seventh: text cannot arrive after the FIN; it is ignored. On a zero
	// window the sender is probing it: tell it the window is still shut.
	if tw.rcvWnd == 0 && seg.PayloadLen() > 0 {
		tw.sendACK(now, out, sink)
	}
	return false
}

// acceptable is the acceptability test of RFC 9293 §3.10.7.4 against the
// window last advertised (Conn.acceptable).
func (tw *TimeWaitEntry) acceptable(seg *Segment) bool {
	segLen := seg.Len()
	switch {
	case tw.rcvWnd == 0:
		return seg.Seq == tw.rcvNxt
	case segLen == 0:
		return seg.Seq.InWindow(tw.rcvNxt, tw.rcvWnd)
	default:
		return seg.Seq.InWindow(tw.rcvNxt, tw.rcvWnd) ||
			seg.Seq.Add(segLen-1).InWindow(tw.rcvNxt, tw.rcvWnd)
	}
}

// sendACK sends <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, with timestamps if
// they are in use.
func (tw *TimeWaitEntry) sendACK(now time.Time, out Sender, sink trace.Sink) {
	seg := Segment{Seq: tw.sndNxt, Ack: tw.rcvNxt, Flags: wire.FlagACK, Window: tw.window}
	if tw.tsOK {
		o := &seg.Options
		o.HasTimestamps, o.TSVal, o.TSEcr = true, tsClock(now, tw.tsOffset, &tw.tsLast), tw.tsRecent
	}
	out.SendSegment(tw.id, &seg) // may set seg.Tag
	if sink != nil {
		e := segmentEvent(trace.SegmentSent, &seg, now)
		e.Local, e.Remote = tw.id.Local, tw.id.Remote
		sink.Emit(&e)
	}
}

// challengeACK sends the challenge ACK of RFC 5961 unless this second's
// allowance (§7) is spent: the connection's own (ChallengeACKLimit), or
// the host's (Config.ChallengeACKs), as Conn.challengeACK.
func (tw *TimeWaitEntry) challengeACK(now time.Time, out Sender, sink trace.Sink) {
	if tw.oowLimitedAny(now) {
		if host := tw.cfg.ChallengeACKs; host != nil {
			host.limited.Add(1)
		}
		return
	}
	ms := uint32(now.UnixMilli())
	if ms-tw.challengeAt >= 1000 {
		tw.challengeAt, tw.challengeCount = ms, 0
	}
	host := tw.cfg.ChallengeACKs
	if tw.challengeCount >= uint32(tw.cfg.ChallengeACKLimit) {
		if host != nil {
			host.limited.Add(1)
		}
		return
	}
	if host != nil && !host.allow(now) {
		return
	}
	tw.challengeCount++
	tw.sendACK(now, out, sink)
}

// oowLimited is Conn.oowLimited for TIME-WAIT: an answer to a segment out
// of the window goes out at most once per Config.InvalidRateLimit, unless
// the segment carries data without SYN (Linux's
// tcp_timewait_check_oow_rate_limit).
func (tw *TimeWaitEntry) oowLimited(seg *Segment, now time.Time) bool {
	if seg.PayloadLen() > 0 && seg.Flags&wire.FlagSYN == 0 {
		return false
	}
	return tw.oowLimitedAny(now)
}

// oowLimitedAny is oowLimited for any segment.
func (tw *TimeWaitEntry) oowLimitedAny(now time.Time) bool {
	limit := tw.cfg.InvalidRateLimit
	if limit < 0 {
		return false
	}
	ms := uint32(now.UnixMilli())
	if tw.lastOOW != 0 && time.Duration(ms-tw.lastOOW)*time.Millisecond < limit {
		return true
	}
	tw.lastOOW = max(ms, 1)
	return false
}
