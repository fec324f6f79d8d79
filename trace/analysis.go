package trace

import (
	"bytes"
	"net/netip"
	"strconv"
	"time"

	"github.com/seqack/seqack/wire"
)

// Retransmission says why a segment was sent again, as far as the events
// show it.
type Retransmission uint8

// The kinds of retransmission.
const (
	NotRetransmitted Retransmission = iota
	// TimeoutRetransmission: the sender's retransmission timer expired
	// (RFC 6298 §5.4), or the segment was resent in the recovery that
	// followed, before the data outstanding then was all acknowledged.
	TimeoutRetransmission
	// FastRetransmission: the first segment resent on duplicate ACKs or
	// SACK blocks, before the timer expired (RFC 5681 §3.2, RFC 6675 §5).
	FastRetransmission
	// RecoveryRetransmission: a later segment resent in the same fast
	// recovery, on a partial ACK or more SACK blocks (RFC 6582, RFC 6675).
	RecoveryRetransmission
	// AnswerRetransmission: a SYN-ACK resent at once in answer to the
	// peer's SYN received again, as Linux does: the peer's repeated SYN
	// says the first SYN-ACK was lost.
	AnswerRetransmission
	// OtherRetransmission: a retransmission the events do not explain.
	OtherRetransmission
	// ProbeRetransmission: the last segment resent by a tail loss probe
	// (RFC 8985 §7), two round trips after it, so that the ACK it draws
	// shows what is missing.
	ProbeRetransmission
)

var retransmissionNames = [...]string{
	NotRetransmitted:       "",
	TimeoutRetransmission:  "retransmission",
	FastRetransmission:     "fast retransmission",
	RecoveryRetransmission: "retransmission in fast recovery",
	AnswerRetransmission:   "retransmission",
	OtherRetransmission:    "retransmission",
	ProbeRetransmission:    "tail loss probe",
}

// String returns how the ladder marks r: "fast retransmission",
// "retransmission in fast recovery", "retransmission" for the others, or
// "" for NotRetransmitted.
func (r Retransmission) String() string {
	if int(r) < len(retransmissionNames) {
		return retransmissionNames[r]
	}
	return "retransmission"
}

// ConnReport is what [Analyze] found in one connection.
type ConnReport struct {
	// Left and Right are the endpoints in the ladder's columns: the active
	// opener is on the left, unless LadderOptions.Left says otherwise.
	Left, Right netip.AddrPort
	// Segments are the connection's segments in the order the ladder
	// draws them (by the time they were sent, or received if their sender
	// is not traced).
	Segments []*SegmentReport
}

// SegmentReport is what the ladder knows about one segment: its fate, and
// what Wireshark's expert analysis would say about it. It is read from
// both ends' events, so, unlike a capture, it knows whether a segment
// arrived.
type SegmentReport struct {
	From, To netip.AddrPort
	Seg      Segment
	// Seq and Ack are the numbers as the ladder shows them: relative to
	// each side's ISN with LadderOptions.Relative.
	Seq, Ack uint32

	// Sent is set if the sender is traced and sent it, at SentAt since the
	// ladder's first event; Received if the receiver is traced and
	// received it, at ReceivedAt. A copy the network made is reported on
	// its own, as received and not sent.
	Sent, Received     bool
	SentAt, ReceivedAt time.Duration
	// Lost is set if the receiver is traced and never received it.
	Lost bool

	// Retransmission says why the segment was sent again, if it was.
	// Spurious is set if it was not needed: when it arrived, the receiver
	// already had every byte of it and had sent an ACK for them that was
	// not lost, so the first copy or that ACK was only late. (A
	// retransmission that makes up for a lost ACK is not spurious.)
	Retransmission Retransmission
	Spurious       bool
	// DupACKs is, for a FastRetransmission or a TimeoutRetransmission,
	// how many duplicate ACKs in a row its sender had received (for a
	// timeout, too few to start a fast retransmission).
	DupACKs int

	// DupACK is n if the segment is the nth duplicate ACK in a row: no
	// data, no SYN or FIN, the same acknowledgment number as the ACK
	// before it from the same side, while the other side had sent more,
	// and either SACK blocks or the same window (RFC 5681 §2, RFC 6675
	// §2). DSACK is set if its first SACK block reports data received
	// twice (RFC 2883); such an ACK is not counted as a duplicate.
	DupACK int
	DSACK  bool

	// Window is the window it advertises, in bytes: the 16-bit field,
	// multiplied as RFC 7323 §2.3 says when both SYNs were seen offering
	// window scaling (a SYN's own window is never scaled); -1 on a reset.
	// ZeroWindow marks a window of 0; WindowUpdate the same ACK again
	// with only the window changed, and not to 0; WindowChange a window
	// at most half or at least twice PrevWindow, the last one marked (or
	// the first of the connection), or the first after a zero window.
	Window, PrevWindow                     int
	ZeroWindow, WindowUpdate, WindowChange bool

	// Probe is "keep-alive" or "window probe" for a probe its sender's
	// keep-alive or persist timer sent.
	Probe string

	// Marks are what the ladder writes after the segment's label.
	Marks []string
}

// Analyze lays out events as [WriteLadder] does and returns, for each
// connection in the same order, the report on each segment that the
// ladder draws with its marks.
func Analyze(events []Event, opts LadderOptions) []ConnReport {
	var out []ConnReport
	for _, conn := range connections(events) {
		l := newLadder(conn, opts)
		c := ConnReport{Left: l.sides[left].addr, Right: l.sides[right].addr}
		for _, r := range l.rows {
			if r.report != nil {
				c.Segments = append(c.Segments, r.report)
			}
		}
		out = append(out, c)
	}
	return out
}

// seqLess reports whether a comes before b in sequence space (RFC 9293
// §3.4).
func seqLess(a, b uint32) bool { return int32(a-b) < 0 }

// spaceEnd returns the sequence number after s: SYN and FIN take one each.
func spaceEnd(s *Segment) uint32 {
	end := s.Seq + uint32(s.Len)
	if s.Flags&wire.FlagSYN != 0 {
		end++
	}
	if s.Flags&wire.FlagFIN != 0 {
		end++
	}
	return end
}

// A spanSet is a set of sequence numbers, as offsets from a base, in
// sorted, disjoint, non-adjacent [start, end) spans.
type spanSet [][2]uint32

func (s *spanSet) add(a, b uint32) {
	if a >= b {
		return
	}
	var out spanSet
	for _, sp := range *s {
		switch {
		case sp[1] < a || sp[0] > b:
			out = append(out, sp)
		default:
			a, b = min(a, sp[0]), max(b, sp[1])
		}
	}
	out = append(out, [2]uint32{a, b})
	for i := len(out) - 1; i > 0 && out[i][0] < out[i-1][0]; i-- {
		out[i], out[i-1] = out[i-1], out[i]
	}
	*s = out
}

func (s spanSet) contains(a, b uint32) bool {
	for _, sp := range s {
		if sp[0] <= a && b <= sp[1] {
			return true
		}
	}
	return false
}

// sideState is what the analysis keeps about one side of a connection.
type sideState struct {
	// What it sent.
	highSent uint32 // the highest sequence number after a segment it sent
	hasHigh  bool
	lastAck  uint32 // the acknowledgment number it last sent
	hasAck   bool
	lastWin  int    // the window it last advertised
	ackOK    uint32 // the highest acknowledgment it sent that was not lost
	hasAckOK bool
	refWin   int // the window its last window mark was against; -1 before one
	dupRun   int // its duplicate ACKs in a row

	// What it knows, from what it received.
	ackRecv       uint32 // the highest acknowledgment received
	hasAckRecv    bool
	dupRecv       int  // duplicate ACKs received since ackRecv moved
	sackRecv      bool // SACK blocks received since ackRecv moved
	episode       Retransmission
	recoveryPoint uint32 // the episode ends when this is acknowledged
	rtoFired      bool   // its retransmission timer expired; no segment sent since
	tlpFired      bool   // its tail loss probe timer expired; no segment sent since
	probe         string // a probe timer expired; no segment sent since
	synRecv       bool   // it received a SYN without ACK; no segment sent since
	received      spanSet
}

// analyze fills in the report of every segment row that is not late.
func (l *ladder) analyze() {
	var st [2]sideState
	st[left].refWin, st[right].refWin = -1, -1
	var reports []*SegmentReport
	for _, r := range l.rows {
		switch {
		case r.kind == noteRow && r.timer != "":
			switch r.timer {
			case "retransmit":
				st[r.side].rtoFired = true
			case "tail-loss-probe":
				st[r.side].tlpFired = true
			case "keepalive":
				st[r.side].probe = "keep-alive"
			case "persist":
				st[r.side].probe = "window probe"
			}
			continue
		case r.kind != segmentRow:
			continue
		}
		if r.late {
			rep := r.sentRow.report
			rep.Received, rep.ReceivedAt = l.sides[1-r.side].traced, r.recvAt
			l.receive(&st, rep, r.side)
			continue
		}
		rep := l.send(&st, r)
		r.report = rep
		reports = append(reports, rep)
		if r.inFlight || r.lost {
			continue
		}
		rep.Received = l.sides[1-r.side].traced
		if rep.Received {
			rep.ReceivedAt = r.recvAt
		}
		l.receive(&st, rep, r.side)
	}
	for _, rep := range reports {
		rep.Marks = rep.marks()
	}
}

// send analyses the segment of row r, which side r.side sent (or which was
// received from it, if no send was seen), and returns its report.
func (l *ladder) send(st *[2]sideState, r *row) *SegmentReport {
	x := r.side
	s := r.seg
	me, peer := &st[x], &st[1-x]
	rep := &SegmentReport{
		From: l.sides[x].addr, To: l.sides[1-x].addr,
		Seg:    *s,
		Sent:   l.sides[x].traced && !r.unmatched && !r.netDup,
		Lost:   r.lost,
		Window: -1,
	}
	rep.Seq, rep.Ack = l.shown(x, s)
	if rep.Sent {
		rep.SentAt = r.at
	}

	if s.Retransmit {
		switch {
		case me.rtoFired:
			rep.Retransmission = TimeoutRetransmission
			rep.DupACKs = me.dupRecv
			me.episode, me.recoveryPoint = TimeoutRetransmission, me.highSent
		case me.tlpFired:
			rep.Retransmission = ProbeRetransmission
			rep.DupACKs = me.dupRecv
		case me.synRecv && s.Flags&(wire.FlagSYN|wire.FlagACK) == wire.FlagSYN|wire.FlagACK:
			rep.Retransmission = AnswerRetransmission
		case me.episode == TimeoutRetransmission:
			rep.Retransmission = TimeoutRetransmission
		case me.episode == FastRetransmission:
			rep.Retransmission = RecoveryRetransmission
		case me.dupRecv > 0 || me.sackRecv:
			rep.Retransmission = FastRetransmission
			rep.DupACKs = me.dupRecv
			me.episode, me.recoveryPoint = FastRetransmission, me.highSent
		default:
			rep.Retransmission = OtherRetransmission
		}
	}
	if rep.Sent {
		rep.Probe = me.probe
		me.rtoFired, me.tlpFired, me.probe, me.synRecv = false, false, "", false
	}
	if end := spaceEnd(s); !me.hasHigh || seqLess(me.highSent, end) {
		me.highSent, me.hasHigh = end, true
	}

	if s.Flags&wire.FlagRST != 0 {
		return rep
	}
	win := int(s.Window)
	if s.Flags&wire.FlagSYN == 0 && l.sides[left].wscale >= 0 && l.sides[right].wscale >= 0 {
		win <<= l.sides[x].wscale
	}
	rep.Window = win
	if s.Flags&wire.FlagACK == 0 {
		return rep
	}
	var o wire.TCPOptions
	nSACK := 0
	if o.Unmarshal(s.RawOptions()) == nil {
		nSACK = int(o.NumSACK)
	}
	if nSACK > 0 {
		b0 := o.SACKBlocks[0]
		rep.DSACK = !seqLess(s.Ack, uint32(b0.Right)) ||
			nSACK > 1 && !seqLess(uint32(b0.Left), uint32(o.SACKBlocks[1].Left)) && !seqLess(uint32(o.SACKBlocks[1].Right), uint32(b0.Right))
	}
	pure := s.Len == 0 && s.Flags&(wire.FlagSYN|wire.FlagFIN) == 0
	sameAck := me.hasAck && s.Ack == me.lastAck
	outstanding := peer.hasHigh && seqLess(s.Ack, peer.highSent)
	switch {
	case !sameAck:
		me.dupRun = 0
	case !pure || rep.Probe != "" || rep.DSACK:
	case outstanding && (nSACK > 0 || win == me.lastWin):
		me.dupRun++
		rep.DupACK = me.dupRun
	case win != me.lastWin && win != 0:
		rep.WindowUpdate = true
	}
	switch {
	case s.Flags&wire.FlagSYN != 0:
	case win == 0:
		rep.ZeroWindow = true
		me.refWin = 0
	case me.refWin < 0:
		me.refWin = win
	case me.refWin == 0 || 2*win <= me.refWin || win >= 2*me.refWin:
		rep.WindowChange, rep.PrevWindow = true, me.refWin
		me.refWin = win
	}
	me.lastAck, me.hasAck, me.lastWin = s.Ack, true, win
	if !r.lost && (!me.hasAckOK || seqLess(me.ackOK, s.Ack)) {
		me.ackOK, me.hasAckOK = s.Ack, true
	}
	return rep
}

// receive brings what the receiver of rep's segment, sent by side x,
// knows up to date.
func (l *ladder) receive(st *[2]sideState, rep *SegmentReport, x int) {
	s := &rep.Seg
	me := &st[1-x]
	if rep.Received && rep.Retransmission != NotRetransmitted && spaceEnd(s) != s.Seq {
		from := l.sides[x].base
		rep.Spurious = me.received.contains(s.Seq-from, spaceEnd(s)-from) &&
			me.hasAckOK && !seqLess(me.ackOK, spaceEnd(s))
	}
	if from := l.sides[x].base; l.sides[x].hasBase {
		me.received.add(s.Seq-from, spaceEnd(s)-from)
	}
	if isOpen(s.Flags) {
		me.synRecv = true
	}
	if s.Flags&wire.FlagACK == 0 || s.Flags&wire.FlagRST != 0 {
		return
	}
	switch {
	case !me.hasAckRecv || seqLess(me.ackRecv, s.Ack):
		me.ackRecv, me.hasAckRecv = s.Ack, true
		me.dupRecv, me.sackRecv = 0, false
		if me.episode != NotRetransmitted && !seqLess(s.Ack, me.recoveryPoint) {
			me.episode = NotRetransmitted
		}
	case rep.DupACK > 0:
		me.dupRecv++
		me.sackRecv = me.sackRecv || hasSACK(s.RawOptions())
	}
}

// hasSACK reports whether raw holds a SACK option.
func hasSACK(raw []byte) bool {
	var o wire.TCPOptions
	return o.Unmarshal(raw) == nil && o.NumSACK > 0
}

// marks returns what the ladder writes after the label of rep's segment.
func (rep *SegmentReport) marks() []string {
	var m []string
	if rep.Retransmission != NotRetransmitted {
		text := rep.Retransmission.String()
		if rep.Spurious {
			text = "spurious " + text
		}
		m = append(m, text)
	}
	if rep.Probe != "" {
		m = append(m, rep.Probe)
	}
	if rep.DupACK > 0 {
		m = append(m, "dup ACK #"+strconv.Itoa(rep.DupACK))
	}
	if rep.DSACK {
		m = append(m, "D-SACK")
	}
	switch {
	case rep.ZeroWindow:
		m = append(m, "zero window")
	case rep.WindowUpdate && rep.WindowChange:
		m = append(m, "window update: "+strconv.Itoa(rep.PrevWindow)+" → "+strconv.Itoa(rep.Window))
	case rep.WindowUpdate:
		m = append(m, "window update")
	case rep.WindowChange:
		m = append(m, "window "+strconv.Itoa(rep.PrevWindow)+" → "+strconv.Itoa(rep.Window))
	}
	return m
}

// writeLegend explains the marks the ladder uses.
func (l *ladder) writeLegend(b *bytes.Buffer) {
	var has struct {
		sack, dup, dsack, fast, recovery, timeout, tlp, spurious, zero, update, change, ts bool
	}
	for _, r := range l.rows {
		rep := r.report
		if rep == nil {
			continue
		}
		has.sack = has.sack || hasSACK(rep.Seg.RawOptions())
		has.dup = has.dup || rep.DupACK > 0
		has.dsack = has.dsack || rep.DSACK
		has.fast = has.fast || rep.Retransmission == FastRetransmission
		has.recovery = has.recovery || rep.Retransmission == RecoveryRetransmission
		has.tlp = has.tlp || rep.Retransmission == ProbeRetransmission
		has.timeout = has.timeout || rep.Retransmission == TimeoutRetransmission || rep.Retransmission == OtherRetransmission
		has.spurious = has.spurious || rep.Spurious
		has.zero = has.zero || rep.ZeroWindow
		has.update = has.update || rep.WindowUpdate
		has.change = has.change || rep.WindowChange
		if l.hideTS && rep.Seg.Flags&wire.FlagSYN == 0 {
			var o wire.TCPOptions
			has.ts = has.ts || o.Unmarshal(rep.Seg.RawOptions()) == nil && o.HasTimestamps
		}
	}
	line := func(ok bool, text string) {
		if ok {
			b.WriteString(text + "\n")
		}
	}
	line(has.sack, "sack {a:b}: the receiver also holds bytes a to b-1, beyond a hole (RFC 2018)")
	line(has.dup, "dup ACK #n: the nth repeat of an ACK while more data was sent after it: a segment is missing or late (RFC 5681)")
	line(has.dsack, "D-SACK: the first SACK block reports data received twice (RFC 2883)")
	line(has.fast, "fast retransmission: resent on duplicate ACKs or SACK blocks, without waiting for the timer (RFC 5681 §3.2, RFC 6675)")
	line(has.recovery, "retransmission in fast recovery: another hole filled before the recovery ends (RFC 6675, RFC 6582)")
	line(has.timeout, "retransmission: resent after the retransmission timer expired (RFC 6298)")
	line(has.tlp, "tail loss probe: the last segment resent two round trips on, when no ACK came back, so that the ACK it draws shows what is missing (RFC 8985 §7)")
	line(has.spurious, "spurious: not needed; the receiver already had it, and had acknowledged it")
	line(has.zero, "zero window: the receiver's buffer is full; the sender must wait, and probe (RFC 9293 §3.8.6.1)")
	line(has.update, "window update: the same ACK again, with a new window")
	line(has.change, "window a → b: the window, in bytes, halved or doubled since it was last marked")
	if a, c := l.sides[left], l.sides[right]; a.wscale >= 0 && c.wscale >= 0 {
		b.WriteString("win is the 16-bit field: " + a.addr.String() + " scales it by " + strconv.Itoa(1<<a.wscale) +
			", " + c.addr.String() + " by " + strconv.Itoa(1<<c.wscale) + " (wscale, RFC 7323); a SYN's window is never scaled\n")
	}
	line(has.ts, "TS val/ecr (timestamps, RFC 7323) are shown on the SYNs only")
}
