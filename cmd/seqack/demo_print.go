package main

import (
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/seqack/seqack/trace"
	"github.com/seqack/seqack/wire"
)

// printDemo writes the ladder and the notes that point out what a reader
// of a textbook chapter on TCP should see in it.
func printDemo(w io.Writer, o demoOptions, r *demoResult) {
	closeMode := "the client closes first"
	switch {
	case o.serverClosesFirst:
		closeMode = "the server closes first"
	case o.simultaneousClose:
		closeMode = "both sides close at once"
	}
	fmt.Fprintf(w, "seqack demo: client 10.0.0.1 → server 10.0.0.2:80 over a simulated link (%s); %s.\n", linkText(o), closeMode)
	if o.bytes > 0 {
		fmt.Fprintf(w, "The client sends %d bytes, the server answers %q, then they close.\n\n", o.bytes, demoAnswer(o, o.bytes))
	} else {
		fmt.Fprintf(w, "The client sends %q, the server answers, then they close.\n\n", o.message)
	}
	opts := trace.LadderOptions{Relative: o.relative, HideTimestamps: true}
	trace.WriteLadder(w, r.events, opts)
	fmt.Fprintln(w)
	for _, line := range demoNotes(o, r, opts) {
		fmt.Fprintln(w, line)
	}
}

// linkText describes the simulated link.
func linkText(o demoOptions) string {
	s := fmt.Sprintf("one-way delay %v", o.delay)
	if o.loss > 0 {
		s += fmt.Sprintf(", loss %s%%", o.loss.String())
	}
	if o.reorder > 0 {
		s += fmt.Sprintf(", reorder %s%%", o.reorder.String())
	}
	return s + fmt.Sprintf(", seed %d", o.seed)
}

// demoNotes explains the numbers in the ladder, read from the same events:
// the handshake and the close (always in absolute numbers, whatever the
// ladder shows), then what the network did and how TCP made up for it.
func demoNotes(o demoOptions, r *demoResult, opts trace.LadderOptions) []string {
	var notes []string
	var conn *trace.ConnReport
	for _, c := range trace.Analyze(r.events, opts) {
		if c.Left.Addr() == demoClient && c.Right == netip.AddrPortFrom(demoServer, demoPort) {
			conn = &c
			break
		}
	}
	if conn == nil {
		return nil
	}
	var clientSYN, serverSYN *trace.SegmentReport
	fins := map[netip.AddrPort]*trace.SegmentReport{}
	for _, s := range conn.Segments {
		if !s.Sent {
			continue
		}
		f := s.Seg.Flags
		switch {
		case f.Has(wire.FlagSYN) && !f.Has(wire.FlagACK) && clientSYN == nil:
			clientSYN = s
		case f.Has(wire.FlagSYN|wire.FlagACK) && serverSYN == nil:
			serverSYN = s
		case f.Has(wire.FlagFIN) && fins[s.From] == nil:
			fins[s.From] = s
		}
	}
	if clientSYN != nil && serverSYN != nil {
		x, y := clientSYN.Seg.Seq, serverSYN.Seg.Seq
		notes = append(notes,
			fmt.Sprintf("Handshake: the client's ISN is x = %d and the server's is y = %d.", x, y),
			fmt.Sprintf("  The SYN-ACK carries ack x+1 = %d and the client's ACK carries ack y+1 = %d:", serverSYN.Seg.Ack, y+1),
			"  a SYN consumes one sequence number although it carries no data.")
		for _, who := range []struct {
			name string
			fin  *trace.SegmentReport
		}{{"client", fins[clientSYN.From]}, {"server", fins[serverSYN.From]}} {
			if who.fin == nil {
				continue
			}
			line := fmt.Sprintf("Close: the %s's FIN has seq %d", who.name, who.fin.Seg.Seq)
			if ack := findACK(conn.Segments, who.fin); ack != nil {
				line += fmt.Sprintf(" and is acknowledged with ack %d: a FIN consumes one sequence number too.", ack.Seg.Ack)
			}
			notes = append(notes, line)
		}
		if o.relative {
			notes = append(notes, "(The ladder shows these numbers relative to each side's ISN, so x and y appear there as 0.)")
		}
	}
	if d, ok := timeWait(r.events); ok {
		line := fmt.Sprintf("TIME_WAIT lasts 2×MSL. On Linux the MSL is 30s, so TIME_WAIT lasts 60s; this demo uses --msl %v, so it lasted %v.",
			o.msl, 2*o.msl)
		if d > 2*o.msl {
			line = fmt.Sprintf("TIME_WAIT lasts 2×MSL. On Linux the MSL is 30s, so TIME_WAIT lasts 60s; this demo uses --msl %v, so 2×MSL is %v;", o.msl, 2*o.msl) +
				fmt.Sprintf("\n  here it lasted %s, for it starts again when the peer's FIN comes again (RFC 9293 §3.10.7.4).", ms(d))
		}
		notes = append(notes, line)
	}
	if more := networkNotes(o, r, conn); len(more) > 0 {
		if len(notes) > 0 {
			notes = append(notes, "")
		}
		notes = append(notes, more...)
	}
	return notes
}

// timeWait returns how long the first connection to leave TIME_WAIT for
// CLOSED was in it, and whether one did.
func timeWait(events []trace.Event) (time.Duration, bool) {
	entered := map[netip.AddrPort]time.Time{}
	for _, e := range events {
		if e.Kind != trace.StateChanged {
			continue
		}
		switch {
		case e.To == "TIME_WAIT":
			entered[e.Local] = e.Time
		case e.From == "TIME_WAIT" && e.To == "CLOSED":
			if t, ok := entered[e.Local]; ok {
				return e.Time.Sub(t), true
			}
		}
	}
	return 0, false
}

// findACK returns the first segment sent by fin's receiver that
// acknowledges the FIN.
func findACK(segs []*trace.SegmentReport, fin *trace.SegmentReport) *trace.SegmentReport {
	want := fin.Seg.Seq + uint32(fin.Seg.Len) + 1
	for _, s := range segs {
		if s.Sent && s.From == fin.To && s.Seg.Flags.Has(wire.FlagACK) && s.Seg.Ack == want {
			return s
		}
	}
	return nil
}

// maxLossNotes bounds the lost segments described one by one.
const maxLossNotes = 10

// noteWidth is the width the notes on the network are wrapped to.
const noteWidth = 110

// networkNotes says what the link did, how each lost segment came back,
// and the goodput.
func networkNotes(o demoOptions, r *demoResult, conn *trace.ConnReport) []string {
	var paras []string // paragraphs, wrapped at the end
	var lost, resent, spurious []*trace.SegmentReport
	var sent [2]int // client's, server's
	var lostBy [2]int
	kinds := map[trace.Retransmission]int{}
	for _, s := range conn.Segments {
		if !s.Sent {
			continue
		}
		i := sideIndex(s.From)
		sent[i]++
		if s.Lost {
			lost = append(lost, s)
			lostBy[i]++
		}
		if s.Retransmission != trace.NotRetransmitted {
			resent = append(resent, s)
			kinds[s.Retransmission]++
			if s.Spurious {
				spurious = append(spurious, s)
			}
		}
	}
	impaired := o.loss > 0 || o.reorder > 0
	if !impaired && len(lost) == 0 && len(resent) == 0 && o.bytes == 0 {
		return nil
	}
	line := fmt.Sprintf("  %d of the client's %d segments and %d of the server's %d were lost", lostBy[0], sent[0], lostBy[1], sent[1])
	if n := r.forward.Reordered + r.reverse.Reordered; n > 0 {
		line += fmt.Sprintf("; %d overtook others", n)
	}
	paras = append(paras, line+".")
	told := map[*trace.SegmentReport]bool{} // lost copies already told of
	n := 0
	for i, s := range lost {
		if told[s] {
			continue
		}
		if n == maxLossNotes {
			paras = append(paras, fmt.Sprintf("  ... and %d more.", len(lost)-i))
			break
		}
		n++
		paras = append(paras, lossNote(o, conn.Segments, s, told)...)
	}
	if r.forward.Reordered+r.reverse.Reordered > 0 && hasDupACK(conn.Segments) {
		paras = append(paras, "  A segment that overtakes others makes the receiver send duplicate ACKs, as if those it passed were lost; "+
			"the sender waits for 3 of them before it resends (RFC 5681 §3.2), so a little reordering costs nothing.")
	}
	if len(resent) > 0 {
		var how []string
		for _, k := range []struct {
			kind trace.Retransmission
			text string
		}{
			{trace.FastRetransmission, "by fast retransmission"},
			{trace.RecoveryRetransmission, "later in the same fast recovery"},
			{trace.TimeoutRetransmission, "after the retransmission timer expired"},
			{trace.AnswerRetransmission, "in answer to a repeated SYN"},
			{trace.ProbeRetransmission, "by a tail loss probe"},
			{trace.OtherRetransmission, "for no reason the trace shows"},
		} {
			if n := kinds[k.kind]; n > 0 {
				how = append(how, fmt.Sprintf("%d %s", n, k.text))
			}
		}
		paras = append(paras, fmt.Sprintf("  %s resent: %s.", plural(len(resent), "segment was", "segments were"), strings.Join(how, ", ")))
	}
	for _, s := range spurious {
		paras = append(paras, fmt.Sprintf("  The %s's %s, resent at %s, was spurious: the %s already had it, and had acknowledged it (the first copy, or that ACK, was only late).",
			sideName(s.From), segmentText(s), ms(s.SentAt), sideName(s.To)))
	}
	if o.bytes > 0 && r.received > 0 && r.lastByte > r.firstData {
		d := r.lastByte - r.firstData
		paras = append(paras, fmt.Sprintf("  Goodput: %d bytes in %s of virtual time, from the client's first write at %s to the server reading the last byte at %s: %s.",
			r.received, ms(d), ms(r.firstData), ms(r.lastByte), bitRate(r.received, d)))
	}
	notes := []string{fmt.Sprintf("The network (%s):", linkText(o))}
	for _, p := range paras {
		notes = append(notes, wrap(p, noteWidth)...)
	}
	return notes
}

// wrap breaks a paragraph into lines at most width runes wide where it
// can; the lines after the first are indented two spaces more.
func wrap(p string, width int) []string {
	indent := len(p) - len(strings.TrimLeft(p, " "))
	words := strings.Fields(p)
	var lines []string
	line := strings.Repeat(" ", indent)
	more := strings.Repeat(" ", indent+2)
	empty := true
	for _, w := range words {
		if !empty && utf8.RuneCountInString(line)+1+utf8.RuneCountInString(w) > width {
			lines = append(lines, line)
			line, empty = more, true
		}
		if !empty {
			line += " "
		}
		line += w
		empty = false
	}
	return append(lines, line)
}

// lossNote describes a lost segment and how it came back, and marks the lost copies it tells of in told.
func lossNote(o demoOptions, segs []*trace.SegmentReport, l *trace.SegmentReport, told map[*trace.SegmentReport]bool) []string {
	who, peer := sideName(l.From), sideName(l.To)
	head := fmt.Sprintf("  Lost: the %s's %s, sent at %s.", who, segmentText(l), ms(l.SentAt))
	told[l] = true
	if l.Seg.Seq == spaceEnd(&l.Seg) {
		if how := lastACKNote(o, segs, l); how != "" {
			return []string{head + " " + how}
		}
		return []string{head + " An ACK is never resent: the next one acknowledges as much, or more."}
	}
	// Follow the copies resent while they were lost too.
	var again []string
	backoff := true
	r := resentCopy(segs, l)
	for r != nil && r.Lost {
		told[r] = true
		t := ms(r.SentAt)
		if r.Retransmission != trace.TimeoutRetransmission {
			t += " (" + r.Retransmission.String() + ")"
			backoff = false
		}
		again = append(again, t)
		r = resentCopy(segs, r)
	}
	if len(again) > 0 {
		head = fmt.Sprintf("  Lost: the %s's %s, sent at %s, and again at %s", who, segmentText(l), ms(l.SentAt), strings.Join(again, ", "))
		if backoff && len(again) > 1 {
			head += ", each time after twice as long a wait (the timer's exponential backoff, RFC 6298 §5.5)"
		}
		head += "."
		var how string
		switch {
		case r == nil:
			how = fmt.Sprintf("The %s gave up.", who)
		case r.Retransmission == trace.TimeoutRetransmission && backoff:
			how = fmt.Sprintf("Its retransmission timer expired once more, and the copy the %s sent at %s arrived at %s.", who, ms(r.SentAt), ms(r.ReceivedAt))
		case r.Retransmission == trace.TimeoutRetransmission:
			how = fmt.Sprintf("Nothing tells a sender that a retransmission was lost but its retransmission timer: it expired, and the copy the %s sent at %s arrived at %s.",
				who, ms(r.SentAt), ms(r.ReceivedAt))
		default:
			how = fmt.Sprintf("The copy the %s sent at %s (%s) arrived at %s.", who, ms(r.SentAt), r.Retransmission, ms(r.ReceivedAt))
		}
		return []string{head + " " + how}
	}
	if r == nil {
		return []string{head + " It was never resent."}
	}
	var how string
	switch r.Retransmission {
	case trace.FastRetransmission:
		switch {
		case r.DupACKs >= 3:
			how = fmt.Sprintf("After %d duplicate ACKs from the %s (ack %d again and again, with SACK blocks for what arrived past the hole), "+
				"the %s resent it at %s by fast retransmission, without waiting for its retransmission timer", r.DupACKs, peer, r.Seq, who, ms(r.SentAt))
		case r.DupACKs > 0:
			how = fmt.Sprintf("After %s from the %s, too few to start a fast retransmission by themselves, its SACK blocks showed the hole lost: "+
				"more than 2 segments had arrived past it (RFC 6675 counts those, not the ACKs), or a tail loss probe sent later had arrived (RFC 8985); "+
				"the %s resent it at %s by fast retransmission, without waiting for its retransmission timer", plural(r.DupACKs, "duplicate ACK", "duplicate ACKs"), peer, who, ms(r.SentAt))
		default:
			how = fmt.Sprintf("The %s's SACK blocks showed the hole, and the %s resent it at %s by fast retransmission, without waiting for its retransmission timer",
				peer, who, ms(r.SentAt))
		}
	case trace.ProbeRetransmission:
		how = fmt.Sprintf("Too little came back after it to start a fast retransmission, so two round trips later the %s sent a tail loss probe (RFC 8985): "+
			"it resent the segment at %s", who, ms(r.SentAt))
	case trace.RecoveryRetransmission:
		how = fmt.Sprintf("The %s resent it at %s, in the fast recovery already under way: a partial ACK or the SACK blocks showed this hole too", who, ms(r.SentAt))
	case trace.AnswerRetransmission:
		how = fmt.Sprintf("The %s, hearing nothing, sent its SYN again when its retransmission timer expired, and the %s answered the repeated SYN with its SYN-ACK again at %s",
			peer, who, ms(r.SentAt))
	case trace.TimeoutRetransmission:
		switch {
		case l.Seg.Flags.Has(wire.FlagSYN):
			how = fmt.Sprintf("Nothing answers a lost %s: the %s waited for its retransmission timer (1s at first, RFC 6298) and sent it again at %s", segmentText(l), who, ms(r.SentAt))
		case l.Seg.Len == 0:
			how = fmt.Sprintf("Nothing answers a lost FIN: the %s waited for its retransmission timer and resent it at %s", who, ms(r.SentAt))
		case r.DupACKs > 0:
			how = fmt.Sprintf("Only %s came back, fewer than the 3 that start a fast retransmission (too little was sent after it), so the %s waited for its retransmission timer and resent it at %s",
				plural(r.DupACKs, "duplicate ACK", "duplicate ACKs"), who, ms(r.SentAt))
		default:
			how = fmt.Sprintf("No duplicate ACK reached the %s (nothing it sent after this segment arrived), so it waited for its retransmission timer and resent it at %s", who, ms(r.SentAt))
		}
	default:
		how = fmt.Sprintf("The %s resent it at %s", who, ms(r.SentAt))
	}
	switch {
	case r.Received:
		how += fmt.Sprintf("; it arrived at %s.", ms(r.ReceivedAt))
	case r.Lost:
		how += "; that copy was lost too."
	default:
		how += "."
	}
	return []string{head + " " + how}
}

// lastACKNote tells, for a lost ACK of the peer's FIN, what became of
// the FIN the peer resent, or returns "" if the lost ACK was not of a
// FIN the peer resent.
func lastACKNote(o demoOptions, segs []*trace.SegmentReport, l *trace.SegmentReport) string {
	who, peer := sideName(l.From), sideName(l.To)
	var first *trace.SegmentReport // the first copy of the FIN resent after the loss
	for _, s := range segs {
		if !s.Sent || s.From != l.To || s.SentAt < l.SentAt || !s.Seg.Flags.Has(wire.FlagFIN) ||
			s.Retransmission == trace.NotRetransmitted || spaceEnd(&s.Seg) != l.Seg.Ack {
			continue
		}
		if first == nil {
			first = s
		}
		if !s.Received {
			continue
		}
		// What did the side that closed first answer?
		for _, a := range segs {
			if !a.Sent || a.From != l.From || a.SentAt < s.ReceivedAt {
				continue
			}
			if a.Seg.Flags.Has(wire.FlagRST) {
				return fmt.Sprintf("It acknowledged the %s's FIN, so the %s resent its FIN (first at %s), but the copy that arrived, at %s, "+
					"came after the %s's TIME_WAIT had ended (2×MSL = %v with --msl %v): the %s no longer knew the connection and answered with a reset. "+
					"TIME_WAIT is there to acknowledge such a FIN again; Linux's lasts 60s.", peer, peer, ms(first.SentAt), ms(s.ReceivedAt), who, 2*o.msl, o.msl, who)
			}
			if a.Seg.Flags.Has(wire.FlagACK) && a.Seg.Ack == l.Seg.Ack {
				return fmt.Sprintf("It acknowledged the %s's FIN, so the %s resent its FIN (first at %s) when its retransmission timer expired; "+
					"the %s, still in TIME_WAIT for just this, acknowledged it again at %s: that is what TIME_WAIT is for.", peer, peer, ms(first.SentAt), who, ms(a.SentAt))
			}
			break
		}
	}
	return ""
}

// resentCopy returns the first retransmission, after l, of l's first
// sequence number, or nil.
func resentCopy(segs []*trace.SegmentReport, l *trace.SegmentReport) *trace.SegmentReport {
	start := l.Seg.Seq
	for _, s := range segs {
		if s.Sent && s != l && s.From == l.From && s.SentAt >= l.SentAt && s.Retransmission != trace.NotRetransmitted &&
			!seqBefore(start, s.Seg.Seq) && seqBefore(start, spaceEnd(&s.Seg)) {
			return s
		}
	}
	return nil
}

// hasDupACK reports whether any of segs is a duplicate ACK.
func hasDupACK(segs []*trace.SegmentReport) bool {
	for _, s := range segs {
		if s.DupACK > 0 {
			return true
		}
	}
	return false
}

// seqBefore reports whether a comes before b in sequence space.
func seqBefore(a, b uint32) bool { return int32(a-b) < 0 }

// spaceEnd returns the sequence number after s.
func spaceEnd(s *trace.Segment) uint32 {
	end := s.Seq + uint32(s.Len)
	if s.Flags.Has(wire.FlagSYN) {
		end++
	}
	if s.Flags.Has(wire.FlagFIN) {
		end++
	}
	return end
}

// segmentText names a segment for the notes, with its numbers as the
// ladder shows them.
func segmentText(s *trace.SegmentReport) string {
	f := s.Seg.Flags
	switch {
	case f.Has(wire.FlagRST):
		return "RST"
	case f.Has(wire.FlagSYN | wire.FlagACK):
		return "SYN-ACK"
	case f.Has(wire.FlagSYN):
		return "SYN"
	case s.Seg.Len > 0 && f.Has(wire.FlagFIN):
		return fmt.Sprintf("data seq %d length %d with its FIN", s.Seq, s.Seg.Len)
	case s.Seg.Len > 0:
		return fmt.Sprintf("data seq %d length %d", s.Seq, s.Seg.Len)
	case f.Has(wire.FlagFIN):
		return fmt.Sprintf("FIN (seq %d)", s.Seq)
	case s.DupACK > 0:
		return fmt.Sprintf("ACK %d (dup ACK #%d)", s.Ack, s.DupACK)
	}
	return fmt.Sprintf("ACK %d", s.Ack)
}

// sideIndex is 0 for the client and 1 for the server.
func sideIndex(a netip.AddrPort) int {
	if a.Addr() == demoClient {
		return 0
	}
	return 1
}

func sideName(a netip.AddrPort) string {
	return [2]string{"client", "server"}[sideIndex(a)]
}

// plural formats n with the singular or plural noun.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// bitRate formats n bytes over d in bits per second.
func bitRate(n int, d time.Duration) string {
	bps := float64(n) * 8 / d.Seconds()
	switch {
	case bps >= 1e9:
		return fmt.Sprintf("%.2f Gbit/s", bps/1e9)
	case bps >= 1e6:
		return fmt.Sprintf("%.2f Mbit/s", bps/1e6)
	case bps >= 1e3:
		return fmt.Sprintf("%.2f kbit/s", bps/1e3)
	}
	return fmt.Sprintf("%.0f bit/s", bps)
}
