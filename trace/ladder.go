package trace

import (
	"bytes"
	"encoding/binary"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/seqack/seqack/wire"
)

// LadderOptions control how [WriteLadder] draws a connection.
type LadderOptions struct {
	// Relative shows sequence numbers relative to the sender's initial
	// sequence number and acknowledgment numbers relative to the
	// receiver's, as Wireshark does by default: a SYN has seq 0 and the
	// segment that acknowledges it has ack 1. When a side's SYN was not
	// seen, the first sequence number it was seen to send stands in for
	// its ISN.
	Relative bool

	// Left, when it is one of a connection's endpoints, is drawn in the
	// left column. Otherwise the left column is the active opener (the
	// side that sent the first SYN without ACK) or, failing that, the
	// endpoint seen first.
	Left netip.AddrPort

	// HideTimestamps leaves the timestamps option (RFC 7323), and the
	// NOPs that pad it, out of the labels of every segment but SYNs, where
	// it still shows that both ends offered it. Its two 32-bit numbers on
	// every line make a ladder hard to read; the other options, SACK
	// blocks among them, are still shown.
	HideTimestamps bool
}

// WriteLadder draws each connection found in events as a ladder diagram,
// the time-sequence figure of the textbooks, and writes the ladders to w in
// the order the connections first appear.
//
// Events belong to a connection by the unordered pair of its endpoints, so
// the events of both ends, traced into one stream, make one ladder. The
// events of a listening socket (whose Remote is the zero AddrPort) are
// drawn in each connection that it accepted. Only one end may be traced, as
// when seqack talks to another host; the untraced end's state is then left
// blank and every segment it sent or was sent is still drawn.
//
// A ladder has a column of states for each end and, between them, one line
// per segment: an arrow from sender to receiver labelled as tcpdump would
// label the segment, the time since the ladder's first event, and each
// end's state after the segment was sent and, if the receiver is traced,
// received and processed. After the label, in parentheses, comes what
// Wireshark's expert analysis would say about the segment (see [Analyze]):
// a retransmission and why it was sent, a duplicate ACK and its number in
// the run, a D-SACK, a zero window, a window update or a large change of
// the window, a keep-alive or a window probe. A sent segment is paired with its receipt by
// direction, sequence and acknowledgment numbers, flags and length. A
// segment that was still in flight while other segments were sent is drawn
// as two half arrows, one where it was sent and one where it was received
// (the "..." of RFC 9293's figures); a segment its traced receiver never
// received is drawn as lost. State changes that no segment caused (such
// as the end of TIME-WAIT), timers and errors get lines of their own.
// After the ladder come a legend for the marks it uses and the states
// each end passed through.
func WriteLadder(w io.Writer, events []Event, opts LadderOptions) error {
	var buf bytes.Buffer
	for i, conn := range connections(events) {
		if i > 0 {
			buf.WriteByte('\n')
		}
		newLadder(conn, opts).write(&buf)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// connections groups events by connection, in the order each connection
// first appears. A listener's events go to each connection with the
// listener's address as an endpoint, from the listener's last move to
// LISTEN before the connection's first event.
func connections(events []Event) [][]*Event {
	type conn struct {
		a, b  netip.AddrPort // a sorts before b
		first int
		idx   []int
	}
	var conns []*conn
	byPair := make(map[[2]netip.AddrPort]*conn)
	listeners := make(map[netip.AddrPort][]int)
	for i := range events {
		e := &events[i]
		switch {
		case !e.Local.IsValid():
			continue
		case !e.Remote.IsValid():
			listeners[e.Local] = append(listeners[e.Local], i)
			continue
		}
		a, b := e.Local, e.Remote
		if a.Compare(b) > 0 {
			a, b = b, a
		}
		c := byPair[[2]netip.AddrPort{a, b}]
		if c == nil {
			c = &conn{a: a, b: b, first: i}
			byPair[[2]netip.AddrPort{a, b}] = c
			conns = append(conns, c)
		}
		c.idx = append(c.idx, i)
	}

	out := make([][]*Event, 0, len(conns))
	for _, c := range conns {
		var idx []int
		for _, addr := range [2]netip.AddrPort{c.a, c.b} {
			start, end := 0, 0
			for j, li := range listeners[addr] {
				if li > c.first {
					break
				}
				end = j + 1
				if e := &events[li]; e.Kind == StateChanged && e.To == "LISTEN" {
					start = j
				}
			}
			idx = append(idx, listeners[addr][start:end]...)
		}
		idx = append(idx, c.idx...)
		slices.Sort(idx)
		evs := make([]*Event, len(idx))
		for j, i := range idx {
			evs[j] = &events[i]
		}
		out = append(out, evs)
	}
	return out
}

// The two columns of a ladder.
const (
	left  = 0
	right = 1
)

// A ladder is one connection laid out for drawing.
type ladder struct {
	relative bool
	hideTS   bool
	sides    [2]side
	rows     []*row
}

// A side is one end of a connection.
type side struct {
	addr    netip.AddrPort
	traced  bool   // the events include this end's own
	active  bool   // it sent a SYN without ACK
	passive bool   // it sent a SYN-ACK or listened
	isn     uint32 // the sequence number of its SYN, if hasISN
	hasISN  bool
	seq     uint32 // the first sequence number it sent, if hasSeq
	hasSeq  bool
	base    uint32 // what Relative subtracts, if hasBase
	hasBase bool
	wscale  int      // the window scale its SYN offered, or -1
	path    []string // the states it passed through, from its first
}

type rowKind uint8

const (
	startRow   rowKind = iota // each side's state before the first event
	segmentRow                // a segment: one arrow
	stateRow                  // a state change that no segment caused
	noteRow                   // a timer or an error
)

// A row is one line of a ladder.
type row struct {
	kind  rowKind
	index int           // position in ladder.rows
	at    time.Duration // since the ladder's first event
	side  int           // a segment's sender; the side of a state or note
	seg   *Segment
	note  string

	lost      bool          // sent, never received by its traced receiver
	inFlight  bool          // sent here, received on a later row
	late      bool          // received here, sent on an earlier row
	unmatched bool          // received from a traced sender not seen sending it
	netDup    bool          // received once more than its traced sender sent it
	sentRow   *row          // for a late row, the row where the segment was sent
	recvAt    time.Duration // when the receiver got it, if it did

	timer  string         // for a timer's note row, the timer
	report *SegmentReport // for a segment row that is not late: what the analysis found

	state [2]string // the sides' states after this row, where set
	set   [2]bool
}

func (r *row) setState(x int, state string) {
	r.state[x], r.set[x] = state, true
}

// A cause is what a side did last, to which its next state changes are
// attributed.
type cause struct {
	recv  *row   // it processed the segment drawn on this row
	timer string // this timer fired
}

// newLadder lays out one connection's events, which are in the order they
// happened.
func newLadder(evs []*Event, opts LadderOptions) *ladder {
	l := &ladder{relative: opts.Relative, hideTS: opts.HideTimestamps}
	start := evs[0].Time
	l.sides[left].wscale, l.sides[right].wscale = -1, -1

	// Choose the columns.
	var a, b netip.AddrPort
	for _, e := range evs {
		if e.Remote.IsValid() {
			a, b = e.Local, e.Remote
			break
		}
	}
	leftAddr := evs[0].Local
	for _, e := range evs {
		if e.Kind != SegmentSent && e.Kind != SegmentReceived || !isOpen(e.Seg.Flags) {
			continue
		}
		if e.Kind == SegmentSent {
			leftAddr = e.Local
		} else {
			leftAddr = e.Remote
		}
		break
	}
	if opts.Left == a || opts.Left == b {
		leftAddr = opts.Left
	}
	l.sides[left].addr = leftAddr
	l.sides[right].addr = a
	if a == leftAddr {
		l.sides[right].addr = b
	}
	sideOf := func(addr netip.AddrPort) int {
		if addr == leftAddr {
			return left
		}
		return right
	}

	// What each side did, and which sends were received.
	type segKey struct {
		sender   int
		seq, ack uint32
		flags    wire.TCPFlags
		length   int
		tag      uint32 // zero when the tracer knows no packet identity
	}
	sends := make(map[segKey][]int)
	recvs := make(map[segKey][]int)
	for i, e := range evs {
		x := sideOf(e.Local)
		s := &l.sides[x]
		s.traced = true
		switch e.Kind {
		case StateChanged:
			if n := len(s.path); n == 0 || s.path[n-1] != e.From {
				s.path = append(s.path, e.From)
			}
			s.path = append(s.path, e.To)
			if e.To == "LISTEN" {
				s.passive = true
			}
		case SegmentSent, SegmentReceived:
			sender := x
			if e.Kind == SegmentReceived {
				sender = 1 - x
			}
			k := segKey{sender, e.Seg.Seq, e.Seg.Ack, e.Seg.Flags, e.Seg.Len, e.Seg.Tag}
			if e.Kind == SegmentSent {
				sends[k] = append(sends[k], i)
			} else {
				recvs[k] = append(recvs[k], i)
			}
			from := &l.sides[sender]
			if f := e.Seg.Flags; f&wire.FlagSYN != 0 {
				if f&wire.FlagACK == 0 {
					from.active = true
				} else {
					from.passive = true
				}
				if !from.hasISN {
					from.isn, from.hasISN = e.Seg.Seq, true
					var o wire.TCPOptions
					if o.Unmarshal(e.Seg.RawOptions()) == nil && o.HasWindowScale {
						from.wscale = int(o.WindowScale)
					}
				}
			}
			if !from.hasSeq {
				from.seq, from.hasSeq = e.Seg.Seq, true
			}
		}
	}
	for x := range l.sides {
		s := &l.sides[x]
		switch {
		case s.hasISN:
			s.base, s.hasBase = s.isn, true
		case s.hasSeq:
			s.base, s.hasBase = s.seq, true
		}
	}
	received := matchSegments(sends, recvs)
	sent := make(map[int]bool, len(received))
	for _, si := range received {
		sent[si] = true
	}

	// For each event and side, the latest receipt of the segments that
	// side sent up to that event (-1 if none arrived): a segment sent at
	// event si crossed one going the other way if latestRecv[receiver][si]
	// comes after si.
	recvOf := make(map[int]int, len(received)) // send → its first receipt
	for ri, si := range received {
		if old, ok := recvOf[si]; !ok || ri < old {
			recvOf[si] = ri
		}
	}
	var latestRecv [2][]int
	for x := range latestRecv {
		latestRecv[x] = make([]int, len(evs))
	}
	for i, e := range evs {
		for x := range latestRecv {
			latestRecv[x][i] = -1
			if i > 0 {
				latestRecv[x][i] = latestRecv[x][i-1]
			}
		}
		if ri, ok := recvOf[i]; ok && e.Kind == SegmentSent {
			x := sideOf(e.Local)
			latestRecv[x][i] = max(latestRecv[x][i], ri)
		}
	}

	// For each event, the next event on the same side, and the next one
	// that is not a state change (nil if there is none).
	nextAny := make([]*Event, len(evs))
	nextNonState := make([]*Event, len(evs))
	var na, ns [2]*Event
	for i := len(evs) - 1; i >= 0; i-- {
		x := sideOf(evs[i].Local)
		nextAny[i], nextNonState[i] = na[x], ns[x]
		na[x] = evs[i]
		if evs[i].Kind != StateChanged {
			ns[x] = evs[i]
		}
	}

	// Lay out the rows. A row that shows a side's state may only follow
	// that side's earlier rows, so that each column reads down as that
	// side's history; lastRow tracks this.
	var (
		cur     [2]string // each side's state, as of the event at hand
		lastRow [2]int
		causes  [2]cause
		rowOf   = make(map[int]*row) // a send event's row
	)
	first := &row{kind: startRow}
	for x, s := range l.sides {
		if len(s.path) > 0 {
			cur[x] = s.path[0]
		}
		first.setState(x, cur[x])
	}
	l.add(first)
	for i, e := range evs {
		x := sideOf(e.Local)
		at := e.Time.Sub(start)
		switch e.Kind {
		case SegmentSent:
			r := l.add(&row{kind: segmentRow, at: at, side: x, seg: &e.Seg})
			r.setState(x, cur[x])
			r.lost = l.sides[1-x].traced && !sent[i]
			rowOf[i] = r
			lastRow[x] = r.index
			causes[x] = cause{}

		case SegmentReceived:
			var r *row
			if si, ok := received[i]; ok {
				r = rowOf[si]
				crossed := latestRecv[x][si] > si
				if lastRow[x] > r.index || l.eventfulSince(r) || crossed {
					// x has moved on since the segment was sent, or time
					// has visibly passed (a timer fired, a state changed),
					// or a segment x sent earlier was still on its way
					// when this one left (they crossed): split the arrow.
					r.inFlight = true
					r = l.add(&row{kind: segmentRow, at: at, side: 1 - x, seg: r.seg, late: true, sentRow: r})
				}
			} else {
				r = l.add(&row{kind: segmentRow, at: at, side: 1 - x, seg: &e.Seg})
				k := segKey{1 - x, e.Seg.Seq, e.Seg.Ack, e.Seg.Flags, e.Seg.Len, e.Seg.Tag}
				if ss := sends[k]; len(ss) > 0 && ss[0] < i {
					// Sent once, received once more: the network copied it.
					r.netDup = true
				} else {
					r.unmatched = l.sides[1-x].traced
				}
			}
			r.recvAt = at
			r.setState(x, cur[x])
			lastRow[x] = r.index
			causes[x] = cause{recv: r}

		case StateChanged:
			cur[x] = e.To
			c := causes[x]
			causes[x] = cause{}
			next := nextNonState[i]
			willSend := next != nil && next.Kind == SegmentSent
			abort := e.To == "CLOSED" && willSend && next.Seg.Flags&wire.FlagRST != 0
			switch {
			case c.recv != nil && !userTransition(e.From, e.To) && !abort:
				c.recv.setState(x, e.To)
				causes[x] = c
			case c.timer != "":
				lastRow[x] = l.addState(x, at, e.To, timerNote(c.timer))
			case willSend:
				// Caused by the user; the segment it sends shows it.
			default:
				note := e.Note
				if note == "" {
					note = userNote(e.From, e.To)
				}
				lastRow[x] = l.addState(x, at, e.To, note)
			}

		case TimerFired:
			causes[x] = cause{}
			if next := nextAny[i]; next != nil && next.Kind == StateChanged {
				causes[x].timer = e.Timer
				break
			}
			r := l.add(&row{kind: noteRow, at: at, side: x, note: timerNote(e.Timer), timer: e.Timer})
			lastRow[x] = r.index

		case ConnError:
			causes[x] = cause{}
			note := "error"
			if e.Note != "" {
				note += ": " + e.Note
			}
			r := l.add(&row{kind: noteRow, at: at, side: x, note: note})
			lastRow[x] = r.index
		}
	}
	l.analyze()
	return l
}

// eventfulSince reports whether a timer, a state change or a note was
// drawn after the send row r: a segment that outlived one of those was in
// flight for a while, and an arrow drawn whole on r would claim it arrived
// before them. (Segments crossing each other are handled by the receiver's
// own rows.)
func (l *ladder) eventfulSince(r *row) bool {
	for _, later := range l.rows[r.index+1:] {
		if later.kind != segmentRow {
			return true
		}
	}
	return false
}

func (l *ladder) add(r *row) *row {
	r.index = len(l.rows)
	l.rows = append(l.rows, r)
	return r
}

// addState adds a row for side x entering state, and returns its index.
func (l *ladder) addState(x int, at time.Duration, state, note string) int {
	r := l.add(&row{kind: stateRow, at: at, side: x, note: note})
	r.setState(x, state)
	return r.index
}

// isOpen reports whether flags are those of an active open: SYN without ACK.
func isOpen(flags wire.TCPFlags) bool {
	return flags&(wire.FlagSYN|wire.FlagACK) == wire.FlagSYN
}

// matchSegments pairs receive events with the send events of the same
// segments. sends and recvs hold event positions, in order, by segment.
// Where a segment was sent more often than received (a retransmission), the
// receipts are paired with the last sends that precede them: when a first
// copy is lost, it is the retransmission that arrives. It returns the send
// position for each paired receive position.
func matchSegments[K comparable](sends, recvs map[K][]int) map[int]int {
	match := make(map[int]int)
	for k, rs := range recvs {
		ss := sends[k]
		prev := -1 // the last send paired
		for j, ri := range rs {
			lo := prev + 1
			t := min(max(len(ss)-len(rs)+j, lo), len(ss)-1)
			for t >= lo && ss[t] > ri {
				t--
			}
			if t < lo {
				continue // no send for this receipt
			}
			match[ri] = ss[t]
			prev = t
		}
	}
	return match
}

// userTransition reports whether only a user's call, never a segment, moves
// a connection from one state to the other (RFC 9293 §3.3.2, Figure 5).
func userTransition(from, to string) bool {
	switch to {
	case "SYN_SENT", "FIN_WAIT_1", "LAST_ACK":
		return true
	case "LISTEN":
		return from == "CLOSED"
	}
	return false
}

// userNote describes the call that moved a connection from one state to the
// other without sending a segment.
func userNote(from, to string) string {
	switch {
	case from == "CLOSED" && to == "LISTEN":
		return "listen"
	case to == "SYN_SENT":
		return "connect"
	case to == "FIN_WAIT_1" || to == "LAST_ACK":
		return "close"
	}
	return ""
}

// timerNote describes a timer's expiry.
func timerNote(timer string) string {
	switch timer {
	case "time-wait":
		return "2MSL timer expired"
	case "retransmit":
		return "retransmission timer expired"
	case "delayed-ack":
		return "delayed ACK timer expired"
	case "keepalive":
		return "keep-alive timer expired"
	case "tail-loss-probe":
		return "tail loss probe timer expired"
	case "fin-wait-2":
		return "FIN_WAIT_2 timer expired"
	}
	return timer + " timer expired"
}

// Arrow parts, one rune each.
const (
	shaft      = "─"
	headRight  = "▶"
	headLeft   = "◀"
	lostMark   = "X"
	flightMark = "…"
)

// write draws l into b.
func (l *ladder) write(b *bytes.Buffer) {
	// Measure the columns: the middle one fits the widest label.
	labels := make([]string, len(l.rows))
	timeW, stateW, midW := len("time"), len("state"), 0
	for i, r := range l.rows {
		switch r.kind {
		case segmentRow:
			labels[i] = l.label(r)
			midW = max(midW, utf8.RuneCountInString(labels[i])+7)
		case stateRow, noteRow:
			if r.note != "" {
				labels[i] = "(" + r.note + ")"
			}
			midW = max(midW, utf8.RuneCountInString(labels[i]))
		}
		if r.kind != startRow {
			timeW = max(timeW, len(formatMillis(r.at)))
		}
		for _, s := range r.state {
			stateW = max(stateW, len(s))
		}
	}
	leftCol := timeW + 2
	rightCol := leftCol + stateW + 2 + midW + 2

	// The header.
	b.WriteString(l.sides[left].addr.String())
	b.WriteString(" ↔ ")
	b.WriteString(l.sides[right].addr.String())
	if l.relative {
		b.WriteString(", relative sequence numbers (seq - sender's ISN, ack - receiver's ISN)\n\n")
	} else {
		b.WriteString(", absolute sequence numbers\n\n")
	}
	header := func(lt, rt string) {
		line := strings.Repeat(" ", leftCol) + lt
		line += strings.Repeat(" ", max(2, rightCol-utf8.RuneCountInString(line))) + rt
		b.WriteString(strings.TrimRight(line, " "))
		b.WriteByte('\n')
	}
	header(l.sides[left].title(), l.sides[right].title())
	header(l.sides[left].isnText(l.relative), l.sides[right].isnText(l.relative))
	b.WriteString(strings.TrimRight(pad(strings.Repeat(" ", timeW-len("time"))+"time", leftCol)+pad("state", rightCol-leftCol)+"state", " "))
	b.WriteByte('\n')

	// The rows.
	var (
		shown        [2]string
		lost, flight bool
	)
	for i, r := range l.rows {
		for x := range shown {
			if r.set[x] {
				shown[x] = r.state[x]
			}
		}
		t := ""
		if r.kind != startRow {
			t = formatMillis(r.at)
		}
		var mid string
		switch r.kind {
		case segmentRow:
			mid = arrow(labels[i], midW, r)
			lost = lost || r.lost
			flight = flight || r.inFlight
		case stateRow, noteRow:
			mid = labels[i]
			if r.side == right {
				mid = strings.Repeat(" ", midW-utf8.RuneCountInString(mid)) + mid
			}
		}
		line := strings.Repeat(" ", timeW-len(t)) + t + "  " + pad(shown[left], stateW) + "  " + pad(mid, midW) + "  " + shown[right]
		b.WriteString(strings.TrimRight(line, " "))
		b.WriteByte('\n')
	}

	// The legend and each side's path.
	b.WriteByte('\n')
	if lost {
		b.WriteString(lostMark + " lost: sent, never received\n")
	}
	if flight {
		b.WriteString(flightMark + " in flight: sent on one line (ending in " + flightMark + "), received on a later one (starting with " + flightMark + ")\n")
	}
	l.writeLegend(b)
	for _, s := range l.sides {
		b.WriteString(s.addr.String())
		b.WriteString(": ")
		switch {
		case !s.traced:
			b.WriteString("not traced")
		case len(s.path) == 0:
			b.WriteString("no state changes")
		default:
			b.WriteString(strings.Join(s.path, " → "))
		}
		b.WriteByte('\n')
	}
}

// label returns the text of r's arrow: the segment as tcpdump shows it,
// then in parentheses what the analysis found.
func (l *ladder) label(r *row) string {
	s := r.seg
	seq, ack := l.shown(r.side, s)
	b := wire.AppendTCPSummary(nil, s.Flags, seq, ack, s.Window, s.Len, l.options(r.side, s))
	var marks []string
	switch {
	case r.report != nil:
		marks = r.report.Marks
	case r.sentRow != nil && r.sentRow.report != nil:
		marks = r.sentRow.report.Marks
	}
	switch {
	case r.unmatched:
		marks = append(marks[:len(marks):len(marks)], "no matching send")
	case r.netDup:
		marks = append(marks[:len(marks):len(marks)], "copied by the network")
	}
	if len(marks) > 0 {
		b = append(b, " ("...)
		b = append(b, strings.Join(marks, ", ")...)
		b = append(b, ')')
	}
	return string(b)
}

// shown returns the sequence and acknowledgment numbers of s, sent by
// side x, as the ladder shows them.
func (l *ladder) shown(x int, s *Segment) (seq, ack uint32) {
	seq, ack = s.Seq, s.Ack
	if l.relative {
		if from := &l.sides[x]; from.hasBase {
			seq -= from.base
		}
		if to := &l.sides[1-x]; to.hasBase {
			ack -= to.base
		}
	}
	return seq, ack
}

// options returns the raw options of s, sent by side x, as the ladder
// shows them: with Relative, the SACK blocks relative to the receiver's
// ISN, as its acknowledgment number is (as Wireshark and tcpdump show
// them); with HideTimestamps, without the timestamps and their padding,
// except on a SYN.
func (l *ladder) options(x int, s *Segment) []byte {
	raw := s.RawOptions()
	to := &l.sides[1-x]
	rel := l.relative && to.hasBase
	hide := l.hideTS && s.Flags&wire.FlagSYN == 0
	var o wire.TCPOptions
	if !rel && !hide || o.Unmarshal(raw) != nil {
		return raw // a bad list is drawn as it is
	}
	out := make([]byte, 0, len(raw))
	for len(raw) > 0 {
		kind := raw[0]
		switch {
		case kind == wire.OptEOL:
			if !hide {
				out = append(out, raw...)
			}
			return out
		case kind == wire.OptNOP:
			if !hide {
				out = append(out, kind)
			}
			raw = raw[1:]
			continue
		}
		opt := raw[:raw[1]]
		raw = raw[len(opt):]
		switch {
		case kind == wire.OptTimestamps && hide:
		case kind == wire.OptSACK && rel:
			start := len(out)
			out = append(out, opt...)
			for i := start + 2; i+4 <= len(out); i += 4 {
				binary.BigEndian.PutUint32(out[i:], binary.BigEndian.Uint32(out[i:])-to.base)
			}
		default:
			out = append(out, opt...)
		}
	}
	return out
}

// arrow draws r's arrow, width runes wide, around label.
func arrow(label string, width int, r *row) string {
	fill := strings.Repeat(shaft, width-utf8.RuneCountInString(label)-5)
	tail := shaft + shaft
	if r.side == left {
		head := headRight
		switch {
		case r.lost:
			head = lostMark
		case r.inFlight:
			head = flightMark
		}
		if r.late {
			tail = flightMark + shaft
		}
		return tail + " " + label + " " + fill + head
	}
	head := headLeft
	switch {
	case r.lost:
		head = lostMark
	case r.inFlight:
		head = flightMark
	}
	if r.late {
		tail = shaft + flightMark
	}
	return head + fill + " " + label + " " + tail
}

// title names s and says how it opened.
func (s *side) title() string {
	var how []string
	switch {
	case s.active:
		how = append(how, "active open")
	case s.passive:
		how = append(how, "passive open")
	}
	if !s.traced {
		how = append(how, "not traced")
	}
	if len(how) == 0 {
		return s.addr.String()
	}
	return s.addr.String() + " (" + strings.Join(how, ", ") + ")"
}

// isnText gives s's initial sequence number for the header.
func (s *side) isnText(relative bool) string {
	switch {
	case s.hasISN:
		return "ISN " + strconv.FormatUint(uint64(s.isn), 10)
	case relative && s.hasBase:
		return "ISN unknown; relative to seq " + strconv.FormatUint(uint64(s.base), 10)
	}
	return "ISN unknown"
}

// formatMillis formats d in milliseconds with three decimals.
func formatMillis(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64) + "ms"
}

// pad pads s with spaces to width runes.
func pad(s string, width int) string {
	if n := utf8.RuneCountInString(s); n < width {
		return s + strings.Repeat(" ", width-n)
	}
	return s
}
