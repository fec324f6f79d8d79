package tcp

// The test harness: one Conn driven segment by segment, in the style of
// smoltcp's socket tests. A test injects a segment (h.send), states exactly
// which segments must come out (h.expect / h.expectNone) and which state the
// connection is in (h.state), and moves a virtual clock (h.advance) that
// fires the connection's timers at their deadlines.
//
// Sequence numbers are fixed so that the tests read like the textbook
// diagrams: when we open actively our ISS is 1000 and the peer's is 5000;
// when we are the listener our ISS is 5000 and the peer's is 1000.

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/seqack/seqack/trace"
	"github.com/seqack/seqack/wire"
)

var (
	testID = ID{
		Local:  netip.MustParseAddrPort("10.0.0.1:40000"),
		Remote: netip.MustParseAddrPort("10.0.0.2:80"),
	}
	// epoch is where every virtual clock starts.
	epoch = time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
)

const (
	activeISS  Value = 1000 // our ISS when we Connect (the peer uses 5000)
	passiveISS Value = 5000 // our ISS when we Listen (the peer uses 1000)

	// peerWindow is the window of every injected segment that does not say
	// otherwise (.win).
	peerWindow = 65535
)

// ---------------------------------------------------------------------------
// pkt: a segment to inject, or the description of one we expect.

// pkt describes a segment. As an expectation, Seq and Flags are always
// compared, Ack when ACK is among the flags, the payload always (none means
// none), and the window, MSS option and Retransmit mark only when set with
// .win, .mss and .rtx / .fresh.
type pkt struct {
	seq, ack  Value
	flags     wire.TCPFlags
	window    uint16
	hasWindow bool
	mssOpt    uint16
	hasMSS    bool
	payload   []byte
	rtxMark   bool
	hasRtx    bool

	// The options of RFC 7323 and RFC 2018. As an expectation each one is
	// compared when the pkt says something about it (.ts/.noTS,
	// .sack, .ws/.noWS, .sackOK/.noSackOK); in a harness with
	// exactOptions, one the pkt says nothing about must be absent, the
	// MSS option included.
	tsW      optWant
	tsVal    uint32
	tsEcr    uint32
	sackW    optWant
	sackBlk  []wire.SACKBlock
	wsW      optWant
	wsOpt    uint8
	sackPerm optWant
}

// optWant is what a pkt says about one option.
type optWant uint8

const (
	optUnsaid  optWant = iota // nothing: not compared (or absent, with exactOptions)
	optPresent                // present, with the values given
	optAbsent                 // absent
)

// syn is <SEQ=seq><CTL=SYN>.
func syn(seq Value) pkt {
	return pkt{seq: seq, flags: wire.FlagSYN}
}

// synAck is <SEQ=seq><ACK=ackNo><CTL=SYN,ACK>.
func synAck(seq, ackNo Value) pkt {
	return pkt{seq: seq, ack: ackNo, flags: wire.FlagSYN | wire.FlagACK}
}

// ack is <SEQ=seq><ACK=ackNo><CTL=ACK>.
func ack(seq, ackNo Value) pkt {
	return pkt{seq: seq, ack: ackNo, flags: wire.FlagACK}
}

// fin is <SEQ=seq><ACK=ackNo><CTL=FIN,ACK>.
func fin(seq, ackNo Value) pkt {
	return pkt{seq: seq, ack: ackNo, flags: wire.FlagFIN | wire.FlagACK}
}

// rst is <SEQ=seq><CTL=RST>.
func rst(seq Value) pkt {
	return pkt{seq: seq, flags: wire.FlagRST}
}

// rstAck is <SEQ=seq><ACK=ackNo><CTL=RST,ACK>.
func rstAck(seq, ackNo Value) pkt {
	return pkt{seq: seq, ack: ackNo, flags: wire.FlagRST | wire.FlagACK}
}

// psh is <SEQ=seq><ACK=ackNo><CTL=PSH,ACK> carrying s (use .data for
// binary payloads).
func psh(seq, ackNo Value, s string) pkt {
	return pkt{seq: seq, ack: ackNo, flags: wire.FlagPSH | wire.FlagACK, payload: []byte(s)}
}

func (p pkt) win(w uint16) pkt         { p.window, p.hasWindow = w, true; return p }
func (p pkt) mss(m uint16) pkt         { p.mssOpt, p.hasMSS = m, true; return p }
func (p pkt) text(s string) pkt        { p.payload = []byte(s); return p }
func (p pkt) data(b []byte) pkt        { p.payload = b; return p }
func (p pkt) with(f wire.TCPFlags) pkt { p.flags |= f; return p }
func (p pkt) rtx() pkt                 { p.rtxMark, p.hasRtx = true, true; return p }
func (p pkt) fresh() pkt               { p.rtxMark, p.hasRtx = false, true; return p }

// ts sets the timestamps option <TSval=val, TSecr=ecr> (RFC 7323 §3.2).
func (p pkt) ts(val, ecr uint32) pkt { p.tsW, p.tsVal, p.tsEcr = optPresent, val, ecr; return p }

// sack sets the SACK blocks (RFC 2018 §3), given as left, right edge
// pairs in the order they appear; with no edges it says there are none.
func (p pkt) sack(edges ...Value) pkt {
	if len(edges)%2 != 0 || len(edges) > 2*wire.MaxSACKBlocks {
		panic("sack: want up to 4 left, right pairs")
	}
	p.sackBlk = nil
	for i := 0; i < len(edges); i += 2 {
		p.sackBlk = append(p.sackBlk, wire.SACKBlock{Left: uint32(edges[i]), Right: uint32(edges[i+1])})
	}
	p.sackW = optPresent
	if len(edges) == 0 {
		p.sackW = optAbsent
	}
	return p
}

// ws sets the window scale option (RFC 7323 §2.2) to shift.
func (p pkt) ws(shift uint8) pkt { p.wsW, p.wsOpt = optPresent, shift; return p }

// sackOK sets the SACK-permitted option (RFC 2018 §2).
func (p pkt) sackOK() pkt { p.sackPerm = optPresent; return p }

// segment turns p into a segment to inject; without .win its window is
// peerWindow.
func (p pkt) segment() *Segment {
	s := &Segment{Seq: p.seq, Ack: p.ack, Flags: p.flags, Window: peerWindow}
	if p.hasWindow {
		s.Window = p.window
	}
	if p.hasMSS {
		s.Options.MSS, s.Options.HasMSS = p.mssOpt, true
	}
	o := &s.Options
	if p.tsW == optPresent {
		o.HasTimestamps, o.TSVal, o.TSEcr = true, p.tsVal, p.tsEcr
	}
	if p.sackW == optPresent {
		o.NumSACK = uint8(copy(o.SACKBlocks[:], p.sackBlk))
	}
	if p.wsW == optPresent {
		o.HasWindowScale, o.WindowScale = true, p.wsOpt
	}
	o.SACKPermitted = p.sackPerm == optPresent
	if len(p.payload) > 0 {
		s.Payload = append([]byte(nil), p.payload...)
	}
	return s
}

// String formats the expectation as a tcpdump-like line; "*" marks a field
// that is not compared.
func (p pkt) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Flags [%s], seq %d", p.flags, uint32(p.seq))
	if p.flags&wire.FlagACK != 0 {
		fmt.Fprintf(&b, ", ack %d", uint32(p.ack))
	}
	if p.hasWindow {
		fmt.Fprintf(&b, ", win %d", p.window)
	} else {
		b.WriteString(", win *")
	}
	var opts []string
	if p.hasMSS {
		opts = append(opts, fmt.Sprintf("mss %d", p.mssOpt))
	}
	if p.sackPerm == optPresent {
		opts = append(opts, "sackOK")
	}
	if p.tsW == optPresent {
		opts = append(opts, fmt.Sprintf("TS val %d ecr %d", p.tsVal, p.tsEcr))
	}
	if p.wsW == optPresent {
		opts = append(opts, fmt.Sprintf("wscale %d", p.wsOpt))
	}
	if p.sackW == optPresent {
		opts = append(opts, formatSACK(p.sackBlk))
	}
	for _, a := range []struct {
		w    optWant
		name string
	}{{p.sackPerm, "sackOK"}, {p.tsW, "TS"}, {p.wsW, "wscale"}, {p.sackW, "sack"}} {
		if a.w == optAbsent {
			opts = append(opts, "no "+a.name)
		}
	}
	if len(opts) > 0 {
		fmt.Fprintf(&b, ", options [%s]", strings.Join(opts, ","))
	}
	b.WriteString(formatPayload(p.payload))
	if p.hasRtx {
		fmt.Fprintf(&b, ", rtx %v", p.rtxMark)
	}
	return b.String()
}

// mismatches lists how s differs from the expectation p.
func (p pkt) mismatches(s *Segment) []string { return p.mismatchesExact(s, false) }

// mismatchesExact is mismatches, and with exact an option p says nothing
// about must be absent.
func (p pkt) mismatchesExact(s *Segment, exact bool) []string {
	var d []string
	if s.Flags != p.flags {
		d = append(d, fmt.Sprintf("flags [%s], want [%s]", s.Flags, p.flags))
	}
	if s.Seq != p.seq {
		d = append(d, fmt.Sprintf("seq %d, want %d", uint32(s.Seq), uint32(p.seq)))
	}
	if p.flags&wire.FlagACK != 0 && s.Ack != p.ack {
		d = append(d, fmt.Sprintf("ack %d, want %d", uint32(s.Ack), uint32(p.ack)))
	}
	if p.hasWindow && s.Window != p.window {
		d = append(d, fmt.Sprintf("win %d, want %d", s.Window, p.window))
	}
	if p.hasMSS && (!s.Options.HasMSS || s.Options.MSS != p.mssOpt) {
		d = append(d, fmt.Sprintf("mss option %v/%d, want %d", s.Options.HasMSS, s.Options.MSS, p.mssOpt))
	}
	o := &s.Options
	if exact && !p.hasMSS && o.HasMSS {
		d = append(d, fmt.Sprintf("mss option %d, want none", o.MSS))
	}
	want := func(w optWant) optWant {
		if w == optUnsaid && exact {
			return optAbsent
		}
		return w
	}
	switch want(p.tsW) {
	case optPresent:
		if !o.HasTimestamps || o.TSVal != p.tsVal || o.TSEcr != p.tsEcr {
			d = append(d, fmt.Sprintf("%s, want TS val %d ecr %d", formatTS(o), p.tsVal, p.tsEcr))
		}
	case optAbsent:
		if o.HasTimestamps {
			d = append(d, fmt.Sprintf("%s, want none", formatTS(o)))
		}
	}
	switch want(p.sackW) {
	case optPresent, optAbsent:
		got := o.SACKBlocks[:min(int(o.NumSACK), len(o.SACKBlocks))]
		if formatSACK(got) != formatSACK(p.sackBlk) {
			d = append(d, fmt.Sprintf("%s, want %s", formatSACK(got), formatSACK(p.sackBlk)))
		}
	}
	switch want(p.wsW) {
	case optPresent:
		if !o.HasWindowScale || o.WindowScale != p.wsOpt {
			d = append(d, fmt.Sprintf("wscale option %v/%d, want %d", o.HasWindowScale, o.WindowScale, p.wsOpt))
		}
	case optAbsent:
		if o.HasWindowScale {
			d = append(d, fmt.Sprintf("wscale option %d, want none", o.WindowScale))
		}
	}
	switch want(p.sackPerm) {
	case optPresent:
		if !o.SACKPermitted {
			d = append(d, "no sackOK option, want one")
		}
	case optAbsent:
		if o.SACKPermitted {
			d = append(d, "sackOK option, want none")
		}
	}
	if !bytes.Equal(s.Payload, p.payload) {
		d = append(d, fmt.Sprintf("payload of %d bytes%s, want %d bytes%s",
			len(s.Payload), formatPayload(s.Payload), len(p.payload), formatPayload(p.payload)))
	}
	if p.hasRtx && s.Retransmit != p.rtxMark {
		d = append(d, fmt.Sprintf("retransmit %v, want %v", s.Retransmit, p.rtxMark))
	}
	return d
}

// formatSegment formats a segment the engine sent as a tcpdump-like line.
func formatSegment(s *Segment) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Flags [%s], seq %d", s.Flags, uint32(s.Seq))
	if s.Flags&wire.FlagACK != 0 {
		fmt.Fprintf(&b, ", ack %d", uint32(s.Ack))
	}
	fmt.Fprintf(&b, ", win %d", s.Window)
	o := &s.Options
	var opts []string
	if o.HasMSS {
		opts = append(opts, fmt.Sprintf("mss %d", o.MSS))
	}
	if o.SACKPermitted {
		opts = append(opts, "sackOK")
	}
	if o.HasTimestamps {
		opts = append(opts, fmt.Sprintf("TS val %d ecr %d", o.TSVal, o.TSEcr))
	}
	if o.HasWindowScale {
		opts = append(opts, fmt.Sprintf("wscale %d", o.WindowScale))
	}
	if o.NumSACK > 0 {
		opts = append(opts, formatSACK(o.SACKBlocks[:min(int(o.NumSACK), len(o.SACKBlocks))]))
	}
	if len(opts) > 0 {
		fmt.Fprintf(&b, ", options [%s]", strings.Join(opts, ","))
	}
	b.WriteString(formatPayload(s.Payload))
	fmt.Fprintf(&b, ", rtx %v", s.Retransmit)
	return b.String()
}

// formatSACK formats SACK blocks as tcpdump does: "sack 2 {a:b}{c:d}".
func formatSACK(blocks []wire.SACKBlock) string {
	if len(blocks) == 0 {
		return "no sack"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "sack %d ", len(blocks))
	for _, s := range blocks {
		fmt.Fprintf(&b, "{%d:%d}", s.Left, s.Right)
	}
	return b.String()
}

// formatTS formats the timestamps option of o, or says there is none.
func formatTS(o *wire.TCPOptions) string {
	if !o.HasTimestamps {
		return "no TS option"
	}
	return fmt.Sprintf("TS val %d ecr %d", o.TSVal, o.TSEcr)
}

func formatPayload(p []byte) string {
	const show = 16
	if len(p) == 0 {
		return ", length 0"
	}
	if len(p) > show {
		return fmt.Sprintf(", length %d %q...", len(p), p[:show])
	}
	return fmt.Sprintf(", length %d %q", len(p), p)
}

// pattern returns n bytes of recognisable data.
func pattern(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = 'a' + byte(i%26)
	}
	return p
}

// ---------------------------------------------------------------------------
// The harness.

// sentSeg is a segment the engine emitted, copied, with the time it left.
type sentSeg struct {
	Segment
	at time.Time
}

type harness struct {
	t      *testing.T
	c      *Conn
	tw     *TimeWaitEntry // once compact: answers instead of c (see compact)
	sink   trace.Sink
	start  time.Time
	now    time.Time
	sent   []sentSeg     // emitted and not yet matched by expect
	wraps  int           // segments emitted with a PayloadWrap part
	events []trace.Event // every event, in order
	seen   int           // events[:seen] have been checked by expectTransitions

	// exact makes expect treat an option a pkt says nothing about as one
	// that must be absent (exactOptions).
	exact bool
	// tsBase is our timestamp clock (RFC 7323 §5.4) at h.start, learnt
	// from the first segment we sent with the option (see tsv).
	tsBase  uint32
	tsKnown bool
}

// newHarness returns a harness around a CLOSED connection whose ISN is iss.
// cfg may be nil; its ISN field is replaced.
func newHarness(t *testing.T, cfg *Config, iss Value) *harness {
	t.Helper()
	h := &harness{t: t, start: epoch, now: epoch}
	var c Config
	if cfg != nil {
		c = *cfg
	}
	c.ISN = func(id ID, now time.Time) Value { return iss }
	h.sink = trace.SinkFunc(func(e *trace.Event) { h.events = append(h.events, *e) })
	h.c = NewConn(testID, &c, h, h.sink)
	return h
}

// compact hands the connection, in TIME_WAIT, over to a TimeWaitEntry
// (Conn.CompactTimeWait), which from then on takes the segments and the
// clock, and whose state is the one checked.
func (h *harness) compact() {
	h.t.Helper()
	h.tw = h.c.CompactTimeWait()
	if h.tw == nil {
		h.t.Fatalf("CompactTimeWait in %v returned nil", h.c.State())
	}
	if st := h.c.State(); st != Closed {
		h.t.Fatalf("the Conn is %v after CompactTimeWait, want CLOSED", st)
	}
}

// twEnded is what the TimeWaitEntry's last Input returned.
var twEnded bool

// newActive returns a harness for a connection that will Connect (ISS 1000).
func newActive(t *testing.T, cfg *Config) *harness { return newHarness(t, cfg, activeISS) }

// newPassive returns a harness for a connection that will Listen (ISS 5000).
func newPassive(t *testing.T, cfg *Config) *harness { return newHarness(t, cfg, passiveISS) }

// SendSegment is the recording Sender. The segment's slices are valid only
// during the call, so it copies Payload and PayloadWrap into one slice.
func (h *harness) SendSegment(id ID, seg *Segment) {
	if id != testID {
		h.t.Errorf("segment sent for %v, want %v", id, testID)
	}
	s := sentSeg{Segment: *seg, at: h.now}
	s.Payload = nil
	if n := seg.PayloadLen(); n > 0 {
		s.Payload = make([]byte, 0, n)
		s.Payload = append(s.Payload, seg.Payload...)
		s.Payload = append(s.Payload, seg.PayloadWrap...)
	}
	if len(seg.PayloadWrap) > 0 {
		h.wraps++
	}
	if o := &seg.Options; o.HasTimestamps && !h.tsKnown {
		h.tsBase, h.tsKnown = o.TSVal-uint32(h.now.Sub(h.start).Milliseconds()), true
	}
	s.PayloadWrap = nil
	s.RawOptions = nil
	h.sent = append(h.sent, s)
}

// send injects a segment from the peer at the current time.
func (h *harness) send(p pkt) {
	if h.tw != nil {
		twEnded = h.tw.Input(p.segment(), h.now, h, h.sink)
		return
	}
	h.c.Input(p.segment(), h.now)
}

// expect checks that exactly the segments want were sent since the last
// expect, in this order, and forgets them.
func (h *harness) expect(want ...pkt) {
	h.t.Helper()
	got := h.sent
	h.sent = nil
	var notes []string
	for i := 0; i < max(len(got), len(want)); i++ {
		switch {
		case i >= len(got):
			notes = append(notes, fmt.Sprintf("#%d missing", i+1))
		case i >= len(want):
			notes = append(notes, fmt.Sprintf("#%d unexpected", i+1))
		default:
			for _, m := range want[i].mismatchesExact(&got[i].Segment, h.exact) {
				notes = append(notes, fmt.Sprintf("#%d %s", i+1, m))
			}
		}
	}
	if len(notes) == 0 {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "at +%v in %v: segments sent differ\ngot (%d):\n", h.now.Sub(h.start), h.c.State(), len(got))
	for i := range got {
		fmt.Fprintf(&b, "  #%d +%-8v %s\n", i+1, got[i].at.Sub(h.start), formatSegment(&got[i].Segment))
	}
	fmt.Fprintf(&b, "want (%d):\n", len(want))
	for i, w := range want {
		fmt.Fprintf(&b, "  #%d %s\n", i+1, w)
	}
	b.WriteString("differences:\n")
	for _, n := range notes {
		fmt.Fprintf(&b, "  %s\n", n)
	}
	h.t.Fatal(b.String())
}

// exactOptions makes every later expect compare all the options: one a pkt
// says nothing about must be absent.
func (h *harness) exactOptions() { h.exact = true }

// tsv returns our timestamp clock now: TSval of a segment sent now
// (RFC 7323 §5.4: one tick per millisecond, from a per-connection
// offset learnt from our first segment carrying the option).
func (h *harness) tsv() uint32 {
	h.t.Helper()
	if !h.tsKnown {
		h.t.Fatal("tsv: no segment with timestamps sent yet")
	}
	return h.tsBase + uint32(h.now.Sub(h.start).Milliseconds())
}

// expectNone checks that nothing was sent since the last expect.
func (h *harness) expectNone() {
	h.t.Helper()
	h.expect()
}

// state checks the connection's state.
func (h *harness) state(want State) {
	h.t.Helper()
	got := h.c.State()
	if h.tw != nil {
		got = h.tw.State()
	}
	if got != want {
		h.t.Fatalf("at +%v: state %v, want %v", h.now.Sub(h.start), got, want)
	}
}

// advance moves the clock forward by d, calling HandleTimer at each
// deadline that falls within it (at the deadline's own instant).
func (h *harness) advance(d time.Duration) {
	h.t.Helper()
	target := h.now.Add(d)
	if h.tw != nil {
		if !h.tw.Expires().After(target) {
			if h.tw.Expires().After(h.now) {
				h.now = h.tw.Expires()
			}
			h.tw.Expire(h.now, h.sink)
		}
		h.now = target
		return
	}
	for i := 0; ; i++ {
		dl := h.c.Deadline()
		if dl.IsZero() || dl.After(target) {
			break
		}
		if i > 1000 {
			h.t.Fatalf("timer at %v keeps firing without moving", dl.Sub(h.start))
		}
		if dl.After(h.now) {
			h.now = dl
		}
		h.c.HandleTimer(h.now)
	}
	h.now = target
}

// expectDeadline checks that the next timer is d from now.
func (h *harness) expectDeadline(d time.Duration) {
	h.t.Helper()
	got := h.c.timeOf(h.c.deadline(false)) // the protocol's timers, not housekeeping
	if h.tw != nil && h.tw.State() == TimeWait {
		got = h.tw.Expires()
	}
	if got.IsZero() {
		h.t.Fatalf("no timer running, want one in %v", d)
	}
	if got.Sub(h.now) != d {
		h.t.Fatalf("next timer in %v, want %v", got.Sub(h.now), d)
	}
}

// expectNoTimer checks that no timer is running.
func (h *harness) expectNoTimer() {
	h.t.Helper()
	if dl := h.c.timeOf(h.c.deadline(false)); !dl.IsZero() { // not housekeeping
		h.t.Fatalf("timer running (due in %v), want none", dl.Sub(h.now))
	}
}

// expectTransitions checks the states entered since the last call, in
// order, and that the StateChanged events chain (each From is the previous
// To).
func (h *harness) expectTransitions(want ...State) {
	h.t.Helper()
	var got []string
	prev := ""
	for _, e := range h.events[h.seen:] {
		if e.Kind != trace.StateChanged {
			continue
		}
		if prev != "" && e.From != prev {
			h.t.Errorf("state event %s→%s does not follow %s", e.From, e.To, prev)
		}
		prev = e.To
		got = append(got, e.To)
	}
	h.seen = len(h.events)
	var ws []string
	for _, s := range want {
		ws = append(ws, s.String())
	}
	if strings.Join(got, " ") != strings.Join(ws, " ") {
		h.t.Fatalf("states entered: [%s], want [%s]", strings.Join(got, " "), strings.Join(ws, " "))
	}
}

// markTransitions forgets the state events so far.
func (h *harness) markTransitions() { h.seen = len(h.events) }

// write queues p and checks that all of it was taken.
func (h *harness) write(p []byte) {
	h.t.Helper()
	n, err := h.c.Write(p, h.now)
	if err != nil || n != len(p) {
		h.t.Fatalf("Write(%d bytes) = %d, %v; want %d, nil", len(p), n, err, len(p))
	}
}

// read returns everything that Read gives before it returns 0 or io.EOF.
func (h *harness) read() []byte {
	h.t.Helper()
	return h.readN(1 << 20)
}

// readN reads at most n bytes.
func (h *harness) readN(n int) []byte {
	h.t.Helper()
	var all []byte
	buf := make([]byte, 512)
	for len(all) < n {
		m, err := h.c.Read(buf[:min(len(buf), n-len(all))], h.now)
		if err == io.EOF {
			break
		}
		if err != nil {
			h.t.Fatalf("Read: %v", err)
		}
		if m == 0 {
			break
		}
		all = append(all, buf[:m]...)
	}
	return all
}

func (h *harness) closeWrite() {
	h.t.Helper()
	if err := h.c.CloseWrite(h.now); err != nil {
		h.t.Fatalf("CloseWrite: %v", err)
	}
}

func (h *harness) close() {
	h.t.Helper()
	if err := h.c.Close(h.now); err != nil {
		h.t.Fatalf("Close: %v", err)
	}
}

// ---------------------------------------------------------------------------
// Getting a connection into a state. The active side: ISS 1000, peer 5000.

// connect calls Connect and expects the SYN.
func (h *harness) connect() {
	h.t.Helper()
	if err := h.c.Connect(h.now); err != nil {
		h.t.Fatalf("Connect: %v", err)
	}
	h.expect(syn(1000).mss(1460))
	h.state(SynSent)
}

// establish performs the active open with a zero round-trip time, so the RTO
// afterwards is MinRTO (200 ms).
func (h *harness) establish() {
	h.t.Helper()
	h.establishWith(0, synAck(5000, 1001).mss(1460))
}

// establishWith performs the active open: SYN out, the peer's synack in
// after rtt, ACK out.
func (h *harness) establishWith(rtt time.Duration, synack pkt) {
	h.t.Helper()
	h.connect()
	h.advance(rtt)
	h.send(synack)
	h.expect(ack(1001, 5001))
	h.state(Established)
	h.markTransitions()
}

func (h *harness) toFinWait1() {
	h.t.Helper()
	h.establish()
	h.closeWrite()
	h.expect(fin(1001, 5001))
	h.state(FinWait1)
	h.markTransitions()
}

func (h *harness) toFinWait2() {
	h.t.Helper()
	h.toFinWait1()
	h.send(ack(5001, 1002))
	h.expectNone()
	h.state(FinWait2)
	h.markTransitions()
}

func (h *harness) toCloseWait() {
	h.t.Helper()
	h.establish()
	h.send(fin(5001, 1001))
	h.expect(ack(1001, 5002))
	h.state(CloseWait)
	h.markTransitions()
}

func (h *harness) toClosing() {
	h.t.Helper()
	h.toFinWait1()
	h.send(fin(5001, 1001))
	h.expect(ack(1002, 5002))
	h.state(Closing)
	h.markTransitions()
}

func (h *harness) toLastAck() {
	h.t.Helper()
	h.toCloseWait()
	h.closeWrite()
	h.expect(fin(1001, 5002))
	h.state(LastAck)
	h.markTransitions()
}

func (h *harness) toTimeWait() {
	h.t.Helper()
	h.toFinWait2()
	h.send(fin(5001, 1002))
	h.expect(ack(1002, 5002))
	h.state(TimeWait)
	h.markTransitions()
}

// The passive side: ISS 5000, peer 1000.

// toSynRcvd listens and takes the peer's SYN.
func (h *harness) toSynRcvd() {
	h.t.Helper()
	if err := h.c.Listen(h.now); err != nil {
		h.t.Fatalf("Listen: %v", err)
	}
	h.send(syn(1000).mss(1460))
	h.expect(synAck(5000, 1001).mss(1460))
	h.state(SynReceived)
	h.markTransitions()
}

// expectClosedCleanly checks that the connection has just ended without an
// error: it moved to CLOSED, no timer is left, and Err is nil.
func (h *harness) expectClosedCleanly() {
	h.t.Helper()
	h.state(Closed)
	h.expectTransitions(Closed)
	h.expectNoTimer()
	if err := h.c.Err(); err != nil {
		h.t.Errorf("Err = %v, want nil", err)
	}
}
