package conform

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/seqack/seqack/wire"
)

// DefaultTolerance is how far from its scripted time an event may happen
// on a real target unless the Runner says otherwise. packetdrill's default
// is 4 ms; a shared machine with two cores needs more.
const DefaultTolerance = 25 * time.Millisecond

// A Runner runs scripts against targets. The zero Runner uses the
// defaults.
type Runner struct {
	// Tolerance is how far from its scripted time (or time window) an
	// event may happen on a real target. Zero means DefaultTolerance. On
	// a virtual target times are exact, and Tolerance is not used.
	Tolerance time.Duration

	// AnyWait bounds the wait for an expected segment whose time is *.
	// Zero means 10 s on a real target and 10 minutes on a virtual one.
	AnyWait time.Duration

	// Retries is how many times RunTarget runs a script again, each time
	// on a fresh target, when it failed on a real target in timing
	// (Error.Timing): a loaded machine can hold up the kernel's work and
	// the interpreter's threads by tens of milliseconds, and a script
	// that is right passes on a retry while one that is wrong fails every
	// time. Zero means DefaultRetries; negative, none.
	Retries int

	// Logf, if not nil, receives each event as it runs, the segments the
	// system sent, and what was skipped. testing.T.Logf fits.
	Logf func(format string, args ...any)
}

// DefaultRetries is how many times RunTarget retries a run that failed in
// timing on a real target, unless the Runner says otherwise.
const DefaultRetries = 2

// RunTarget runs the script against a fresh target that NewTarget makes
// by name (passing it Logf), closes the target, and retries as Retries
// says.
func (r *Runner) RunTarget(s *Script, name string) error {
	retries := r.Retries
	if retries == 0 {
		retries = DefaultRetries
	}
	for attempt := 0; ; attempt++ {
		t, err := NewTarget(name, r.Logf)
		if err != nil {
			return err
		}
		err = r.Run(s, t)
		if cerr := t.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("closing %s: %w", name, cerr)
		}
		var e *Error
		if err == nil || !errors.As(err, &e) || !e.Timing || attempt >= retries {
			return err
		}
		if r.Logf != nil {
			r.Logf("%s: %v; running it again (%d of %d)", name, err, attempt+1, retries)
		}
	}
}

// Run runs the script against the target with the zero Runner's defaults.
func Run(s *Script, t Target) error {
	var r Runner
	return r.Run(s, t)
}

// An Error is a script that failed on a target: the line of the event that
// failed, and what was expected there and seen instead.
type Error struct {
	Name string // the script's name
	Line int    // the line of the event that failed
	Msg  string

	// Timing reports a failure on a real target that a loaded machine may
	// have caused: something happened too late or not by its time, or the
	// interpreter itself ran late before the failure. A script that is
	// right passes when run again; see Runner.Retries.
	Timing bool
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.Name, e.Line, e.Msg)
}

// Run runs the script against the target, in packetdrill's way, and
// returns the first mismatch as an *Error (or a target's failure). It does
// not close the target.
//
// The interpreter's rules, which the corpus relies on:
//
//   - Times. An absolute time counts from the start of the run; a
//     relative one (+0.1) from when the previous event happened: when a
//     segment was injected, when the system sent the one expected, when a
//     call returned, or when a blocking call (one with a window) started.
//     An injected segment following an injected segment counts from the
//     previous one's scripted time instead, as packetdrill anchors them.
//     On a virtual target every time is exact. On a real one an event
//     may be Tolerance early or late (outside its window, if it has one),
//     and later still by as much as the interpreter itself ran late since
//     the event's time was set, when a loaded machine let it sleep past a
//     time; what the interpreter does after running late moves by as
//     much.
//   - Injected segments (<) come from RemoteAddr:RemotePort and go to
//     LocalAddr at the system's port: BindPort once the script binds, or
//     the port its first segment came from after a connect. Their Seq is
//     absolute (the script chooses the remote ISN); their Ack and SACK
//     blocks count from the system's ISN, learned from its SYN or
//     SYN-ACK (0 until then). A TS ecr equal to a TS val that the script
//     wrote on an expected segment is replaced by the TS val the system
//     actually sent on it; any other value is sent as written. A
//     segment without win has window 65535; the payload is zeros.
//   - Expected segments (>) must come next from the system, in order:
//     flags, Seq relative to the system's ISN, length, Ack (absolute, in
//     the script's numbering), the window if win is written, and the
//     options in order, exactly, unless <...>; the TS val is not
//     compared, the TS ecr is. An expected SYN (re)defines the system's
//     ISN, so that its Seq always matches.
//   - System calls start at their time and must return at once, unless
//     the line gives a window (+0...0.1 read(...)): then the call must
//     return at its end, while the lines in between run. A call waits
//     until a blocked one has returned, as packetdrill's single system
//     call thread does. The return value and errno must be the script's.
//   - At the end, every blocked call must have returned, and the system
//     must not have sent a segment that the script did not expect (on a
//     real target, within Tolerance after the last event).
func (r *Runner) Run(s *Script, t Target) error {
	x := &run{Runner: r, s: s, t: t, tsvals: make(map[uint32]uint32)}
	x.tol = r.Tolerance
	if x.tol <= 0 {
		x.tol = DefaultTolerance
	}
	x.anyWait = r.AnyWait
	if x.anyWait <= 0 {
		x.anyWait = 10 * time.Second
		if t.Virtual() {
			x.anyWait = 10 * time.Minute
		}
	}
	if t.Virtual() {
		x.tol = 0
	}
	x.origin = t.Now()
	x.prevEnd = x.origin
	for _, ev := range s.Events {
		if err := x.step(ev); err != nil {
			return err
		}
		if err := x.poll(); err != nil {
			return err
		}
	}
	return x.finish()
}

// run is the state of one run of a script.
type run struct {
	*Runner
	s       *Script
	t       Target
	tol     time.Duration
	anyWait time.Duration

	port      uint16 // the system's port
	portKnown bool
	isn       uint32 // the system's initial sequence number
	isnKnown  bool
	// tsvals maps a TS val written on an expected segment to the one the
	// system sent there.
	tsvals map[uint32]uint32

	blocked []*blocked
	// origin is the target's time when the script began: the script's
	// time 0.
	origin time.Duration
	// prevInbound says that the previous event injected a segment,
	// scripted at prevLo; prevEnd is when the previous event actually
	// happened, from which the next relative time counts.
	prevInbound     bool
	prevLo, prevEnd time.Duration
	// slip is how late the interpreter itself has been, in all, acting on
	// a real target (a loaded machine may sleep past a time by tens of
	// milliseconds). What the script does next moves by as much, and what
	// the target does may be that much later than scripted.
	slip time.Duration
	// late notes the first event the interpreter reached later than the
	// tolerance, which may explain a failure that follows.
	late string
	last *Event
	ipID uint16
}

// A blocked is a system call started with a window, not yet returned.
type blocked struct {
	ev  *Event
	p   Pending
	due when // when it must return
}

// when is an event's time resolved: it must happen within [lo, hi],
// unless any. base is where a relative time counted from, and slip0 the
// interpreter's slip then.
type when struct {
	lo, hi, base, slip0 time.Duration
	any                 bool
}

// act returns when the interpreter acts for w: at its start, moved by
// the interpreter's lateness since w was set.
func (x *run) act(w when) time.Duration { return w.lo + x.slip - w.slip0 }

// within reports whether the target did something for w in time: no
// earlier than w less the tolerance, no later than w plus the tolerance
// and the interpreter's own lateness since w was set.
func (x *run) within(w when, at time.Duration) bool {
	return at >= w.lo-x.tol && at <= x.latest(w)
}

// latest returns the last moment at which the target may act for w.
func (x *run) latest(w when) time.Duration { return w.hi + x.slip - w.slip0 + x.tol }

func (x *run) logf(format string, args ...any) {
	if x.Logf != nil {
		x.Logf(format, args...)
	}
}

func (x *run) fail(ev *Event, format string, args ...any) error {
	line := 0
	if ev != nil {
		line = ev.Line
	}
	msg := fmt.Sprintf(format, args...)
	if x.late != "" {
		msg += " (note: " + x.late + ")"
	}
	return &Error{Name: x.s.Name, Line: line, Msg: msg, Timing: x.late != "" && !x.t.Virtual()}
}

// failLate is fail for a failure in timing: something did not happen by
// its time, or happened outside it.
func (x *run) failLate(ev *Event, format string, args ...any) error {
	err := x.fail(ev, format, args...)
	err.(*Error).Timing = !x.t.Virtual()
	return err
}

// secs formats a time of the target as a time of the script, for a
// message.
func (x *run) secs(d time.Duration) string { return fmt.Sprintf("%.6f s", (d - x.origin).Seconds()) }

// window resolves the time of ev.
func (x *run) window(ev *Event) when {
	base := x.prevEnd
	inbound := ev.Packet != nil && !ev.Packet.Outbound
	if inbound && x.prevInbound {
		base = x.prevLo
	}
	tm := ev.Time
	switch tm.Kind {
	case TimeAbsolute:
		return when{lo: x.origin + tm.Start, hi: x.origin + tm.Start, base: x.origin}
	case TimeAbsoluteRange:
		return when{lo: x.origin + tm.Start, hi: x.origin + tm.End, base: x.origin}
	case TimeRelative:
		return when{lo: base + tm.Start, hi: base + tm.Start, base: base, slip0: x.slip}
	case TimeRelativeRange:
		return when{lo: base + tm.Start, hi: base + tm.End, base: base, slip0: x.slip}
	}
	now := x.t.Now()
	return when{lo: now, hi: now, any: true}
}

// describe says when w is, for a message.
func (x *run) describe(w when) string {
	s := fmt.Sprintf("between %s and %s", x.secs(w.lo), x.secs(w.hi))
	if w.lo == w.hi {
		s = "at " + x.secs(w.lo)
	}
	if slip := x.slip - w.slip0; slip > 0 {
		s += fmt.Sprintf(" (or up to %v later, as late as the interpreter was)", slip.Round(time.Microsecond))
	}
	return s
}

// step runs one event.
func (x *run) step(ev *Event) error {
	w := x.window(ev)
	x.logf("%s:%d: %s", x.s.Name, ev.Line, ev)
	// A blocked call that should have returned before this event begins
	// is settled first.
	for _, b := range slices.Clone(x.blocked) {
		if !w.any && x.latest(b.due) < x.act(w) {
			if err := x.settle(b); err != nil {
				return err
			}
		}
	}
	var (
		at  time.Duration // when the event happened
		err error
	)
	switch {
	case ev.Packet != nil && !ev.Packet.Outbound:
		at, err = x.inject(ev, w)
	case ev.Packet != nil:
		at, err = x.expect(ev, w)
	default:
		at, err = x.call(ev, w)
	}
	x.prevInbound = ev.Packet != nil && !ev.Packet.Outbound
	x.prevLo, x.prevEnd = w.lo, at
	x.last = ev
	return err
}

// arrive lets time pass until w begins. On a virtual target it fails if w
// has already ended (the script's times go backwards). On a real one the
// interpreter itself may be late, which is noted, not failed: a target is
// judged by what it does, and what it does is timed from when the
// interpreter really acted.
func (x *run) arrive(ev *Event, w when, what string) error {
	if w.any {
		return nil
	}
	due := x.act(w)
	x.t.AdvanceTo(due)
	now := x.t.Now()
	if x.t.Virtual() {
		if now > w.hi {
			return x.failLate(ev, "timing: expected the %s %s, but the script only got there at %s", what, x.describe(w), x.secs(now))
		}
		return nil
	}
	if late := now - due; late > 0 {
		x.slip += late
		if late > x.tol {
			x.logf("%s:%d: the interpreter is %v late", x.s.Name, ev.Line, late)
			if x.late == "" {
				x.late = fmt.Sprintf("the interpreter ran line %d %v late, on a loaded machine", ev.Line, late.Round(time.Millisecond))
			}
		}
	}
	return nil
}

// inject sends the segment of an event's < line to the system.
func (x *run) inject(ev *Event, w when) (time.Duration, error) {
	if err := x.arrive(ev, w, "injected segment"); err != nil {
		return 0, err
	}
	pkt, err := x.build(ev.Packet)
	if err != nil {
		return 0, x.fail(ev, "%v", err)
	}
	at := x.t.Now()
	if err := x.t.Inject(pkt); err != nil {
		return 0, x.fail(ev, "%s could not inject the segment: %v", x.t.Name(), err)
	}
	return at, nil
}

// build makes the IPv4 packet of an injected segment.
func (x *run) build(p *Packet) ([]byte, error) {
	var opts []byte
	for _, o := range p.Options {
		opts = x.appendOption(opts, o)
	}
	for len(opts)%4 != 0 {
		opts = append(opts, wire.OptEOL)
	}
	if len(opts) > wire.MaxTCPOptionsLen {
		return nil, fmt.Errorf("the options take %d bytes; at most %d fit", len(opts), wire.MaxTCPOptionsLen)
	}
	port := uint16(BindPort)
	if x.portKnown {
		port = x.port
	}
	win := uint16(math.MaxUint16)
	if p.HasWin {
		win = p.Win
	}
	ack := uint32(0)
	if p.HasAck {
		ack = p.Ack + x.isn
	}
	tcpLen := wire.TCPMinHeaderLen + len(opts) + p.Len
	pkt := make([]byte, wire.IPv4MinHeaderLen+tcpLen)
	seg := pkt[wire.IPv4MinHeaderLen:]
	h := wire.TCPHeader{SrcPort: RemotePort, DstPort: port, Seq: p.Seq, Ack: ack, Flags: p.Flags, Window: win}
	h.Marshal(seg, nil)
	copy(seg[wire.TCPMinHeaderLen:], opts)
	seg[12] = byte((wire.TCPMinHeaderLen+len(opts))/4) << 4 // data offset, options included
	wire.SetTCPChecksum(RemoteAddr, LocalAddr, seg)
	x.ipID++
	ip := wire.IPv4Header{ID: x.ipID, DontFragment: true, TTL: 64, Protocol: wire.ProtoTCP,
		Src: RemoteAddr, Dst: LocalAddr, PayloadLen: tcpLen}
	ip.Marshal(pkt)
	return pkt, nil
}

// appendOption encodes one option of an injected segment, with the
// system's sequence numbers made absolute and a TS ecr mapped.
func (x *run) appendOption(b []byte, o Option) []byte {
	switch o.Kind {
	case wire.OptEOL, wire.OptNOP:
		return append(b, o.Kind)
	case wire.OptMSS:
		return binary.BigEndian.AppendUint16(append(b, o.Kind, 4), uint16(o.Value))
	case wire.OptWindowScale:
		return append(b, o.Kind, 3, uint8(o.Value))
	case wire.OptSACKPermitted:
		return append(b, o.Kind, 2)
	case wire.OptSACK:
		b = append(b, o.Kind, byte(2+8*len(o.Blocks)))
		for _, blk := range o.Blocks {
			b = binary.BigEndian.AppendUint32(b, blk.Left+x.isn)
			b = binary.BigEndian.AppendUint32(b, blk.Right+x.isn)
		}
		return b
	case wire.OptTimestamps:
		ecr := o.TSEcr
		if v, ok := x.tsvals[ecr]; ok {
			ecr = v
		}
		b = append(b, o.Kind, 10)
		b = binary.BigEndian.AppendUint32(b, o.TSVal)
		return binary.BigEndian.AppendUint32(b, ecr)
	}
	return append(append(b, o.Kind, byte(2+len(o.Data))), o.Data...)
}

// expect takes the next segment the system sent and compares it with an
// event's > line.
func (x *run) expect(ev *Event, w when) (time.Duration, error) {
	want := ev.Packet
	deadline := x.latest(w)
	if w.any {
		deadline = x.t.Now() + x.anyWait
	}
	var (
		seg wire.TCP
		at  time.Duration
	)
	for {
		pkt, t, ok := x.t.Next(deadline)
		if !ok {
			if w.any {
				return 0, x.failLate(ev, "expected %q, but %s sent nothing by %s", want, x.t.Name(), x.secs(deadline))
			}
			return 0, x.failLate(ev, "expected %q %s, but %s sent nothing by %s", want, x.describe(w), x.t.Name(), x.secs(deadline))
		}
		if seg, ok = x.ours(pkt); ok {
			at = t
			break
		}
	}
	got, badOpts := x.decode(seg, want)
	x.logf("%s:%d: %s sent %s at %s", x.s.Name, ev.Line, x.t.Name(), got, x.secs(at))
	if why, bad := x.mismatch(want, got, seg, badOpts); bad {
		return 0, x.fail(ev, "expected %q but saw %q%s", want, got, why)
	}
	if !w.any && !x.within(w, at) {
		return 0, x.failLate(ev, "timing: expected %q %s, but it was sent at %s", want, x.describe(w), x.secs(at))
	}
	for i, o := range want.Options {
		if o.Kind == wire.OptTimestamps && i < len(got.Options) {
			x.tsvals[o.TSVal] = got.Options[i].TSVal
		}
	}
	return at, nil
}

// ours returns the TCP segment in pkt if it is one from the system to the
// script's address; other packets are logged and skipped.
func (x *run) ours(pkt []byte) (wire.TCP, bool) {
	ip, err := wire.ParseIPv4(pkt)
	if err != nil {
		x.logf("skipped a packet that does not parse: %v", err)
		return nil, false
	}
	if ip.Protocol() != wire.ProtoTCP || ip.Src() != LocalAddr || ip.Dst() != RemoteAddr || ip.IsFragment() {
		x.logf("skipped %s", ip)
		return nil, false
	}
	seg, err := wire.ParseTCP(ip.Payload())
	if err != nil {
		x.logf("skipped %s", ip)
		return nil, false
	}
	return seg, true
}

// decode turns a segment the system sent into the script's terms, having
// learned its port and ISN from it if need be.
func (x *run) decode(seg wire.TCP, want *Packet) (*Packet, error) {
	flags := seg.Flags() & 0xff
	if flags&wire.FlagSYN != 0 && (want.Flags&wire.FlagSYN != 0 || !x.isnKnown) {
		x.isn, x.isnKnown = seg.Seq(), true
		if want.Flags&wire.FlagSYN != 0 {
			x.isn -= want.Seq
		}
	}
	if !x.portKnown {
		x.port, x.portKnown = seg.SrcPort(), true
	}
	got := &Packet{Outbound: true, Flags: flags, Seq: seg.Seq() - x.isn, Len: len(seg.Payload()),
		HasWin: true, Win: seg.Window()}
	if flags&wire.FlagACK != 0 {
		got.HasAck, got.Ack = true, seg.Ack()
	}
	opts, err := decodeOptions(seg.Options())
	got.Options = opts
	return got, err
}

// decodeOptions lists the options of raw in order.
func decodeOptions(raw []byte) ([]Option, error) {
	var opts []Option
	for i := 0; i < len(raw); {
		kind := raw[i]
		switch kind {
		case wire.OptEOL:
			// The list ends here; the rest is padding.
			return append(opts, Option{Kind: kind}), nil
		case wire.OptNOP:
			opts = append(opts, Option{Kind: kind})
			i++
			continue
		}
		if i+1 >= len(raw) || raw[i+1] < 2 || i+int(raw[i+1]) > len(raw) {
			return opts, fmt.Errorf("option %d runs past the header", kind)
		}
		body := raw[i+2 : i+int(raw[i+1])]
		o := Option{Kind: kind}
		bad := false
		switch kind {
		case wire.OptMSS:
			bad = len(body) != 2
			if !bad {
				o.Value = uint32(binary.BigEndian.Uint16(body))
			}
		case wire.OptWindowScale:
			bad = len(body) != 1
			if !bad {
				o.Value = uint32(body[0])
			}
		case wire.OptSACKPermitted:
			bad = len(body) != 0
		case wire.OptSACK:
			bad = len(body)%8 != 0
			for j := 0; !bad && j < len(body); j += 8 {
				o.Blocks = append(o.Blocks, wire.SACKBlock{Left: binary.BigEndian.Uint32(body[j:]), Right: binary.BigEndian.Uint32(body[j+4:])})
			}
		case wire.OptTimestamps:
			bad = len(body) != 8
			if !bad {
				o.TSVal, o.TSEcr = binary.BigEndian.Uint32(body), binary.BigEndian.Uint32(body[4:])
			}
		default:
			o.Data = slices.Clone(body)
		}
		if bad {
			return opts, fmt.Errorf("option %d has length %d", kind, raw[i+1])
		}
		opts = append(opts, o)
		i += int(raw[i+1])
	}
	return opts, nil
}

// mismatch reports whether the segment seen differs from the one
// expected. The message shows both segments; why adds what does not show
// there.
func (x *run) mismatch(want, got *Packet, seg wire.TCP, badOpts error) (why string, bad bool) {
	switch {
	case seg.DstPort() != RemotePort:
		return fmt.Sprintf(" (to port %d, not the script's %d)", seg.DstPort(), RemotePort), true
	case seg.SrcPort() != x.port:
		return fmt.Sprintf(" (from port %d, not the system's %d)", seg.SrcPort(), x.port), true
	case want.Flags != got.Flags, want.Seq != got.Seq, want.Len != got.Len,
		want.HasAck && want.Ack != got.Ack,
		want.HasWin && want.Win != got.Win:
		return "", true
	case want.AnyOptions:
		return "", false
	case badOpts != nil:
		return fmt.Sprintf(" (bad options: %v)", badOpts), true
	case len(want.Options) != len(got.Options):
		return "", true
	}
	for i, w := range want.Options {
		g := got.Options[i]
		same := w.Kind == g.Kind
		if same {
			switch w.Kind {
			case wire.OptMSS, wire.OptWindowScale:
				same = w.Value == g.Value
			case wire.OptSACK:
				same = slices.Equal(w.Blocks, g.Blocks)
			case wire.OptTimestamps:
				same = w.TSEcr == g.TSEcr // the TS val is the system's own clock
			}
		}
		if !same {
			return fmt.Sprintf(" (option %d: %s, not %s)", i+1, g, w), true
		}
	}
	return "", false
}

// call starts the system call of an event.
func (x *run) call(ev *Event, w when) (time.Duration, error) {
	// packetdrill makes every call on one thread: a call cannot start while
	// another is blocked.
	for len(x.blocked) > 0 {
		if err := x.settle(x.blocked[0]); err != nil {
			return 0, err
		}
	}
	if err := x.arrive(ev, w, "call"); err != nil {
		return 0, err
	}
	sc := ev.Call
	if sc.Call.Op == OpBind {
		x.port, x.portKnown = BindPort, true
	}
	start := x.t.Now()
	p := x.t.Start(sc.Call)
	if sc.HasEnd {
		// The end counts from where the start does.
		end := w.base + sc.End
		x.blocked = append(x.blocked, &blocked{ev: ev, p: p, due: when{lo: end, hi: end, slip0: w.slip0}})
		return start, nil
	}
	if !x.t.Virtual() {
		// A real target may take a while to make even a call that does
		// not block (a thread to switch to, a loaded machine): the
		// interpreter is that much late, and the call's time is when
		// Start returned. A call that blocks is seen asleep in the
		// kernel, and Start returns without waiting for it.
		started := x.t.Now()
		x.slip += started - start
		start = started
	}
	r, at, ok := x.await(p, start+x.tol)
	if !ok {
		return 0, x.failLate(ev, "%s did not return at once; if it should block, give it a window: %s...%s %s",
			sc.Name, ev.Time, formatSeconds(ev.Time.Start), sc)
	}
	return max(at, start), x.result(ev, r, max(at, start), when{lo: start, hi: start, slip0: x.slip})
}

// await waits until the call has returned or it is deadline. A virtual
// target's time jumps there; a real one's is polled.
func (x *run) await(p Pending, deadline time.Duration) (Result, time.Duration, bool) {
	for {
		r, at, ok := p.Done()
		now := x.t.Now()
		if ok || now >= deadline {
			return r, at, ok
		}
		if x.t.Virtual() {
			x.t.AdvanceTo(deadline)
		} else {
			x.t.AdvanceTo(min(deadline, now+200*time.Microsecond))
		}
	}
}

// settle waits until a blocked call has returned, up to when it must
// have, and checks it.
func (x *run) settle(b *blocked) error {
	r, at, ok := x.await(b.p, x.latest(b.due))
	if !ok {
		return x.failLate(b.ev, "%s did not return by %s", b.ev.Call.Name, x.secs(x.latest(b.due)))
	}
	x.unblock(b)
	return x.result(b.ev, r, at, b.due)
}

// poll checks the blocked calls that have returned, and fails for those
// that are late.
func (x *run) poll() error {
	for _, b := range slices.Clone(x.blocked) {
		r, at, ok := b.p.Done()
		if !ok {
			if now := x.t.Now(); now > x.latest(b.due) {
				return x.failLate(b.ev, "%s did not return by %s (it is %s)", b.ev.Call.Name, x.secs(x.latest(b.due)), x.secs(now))
			}
			continue
		}
		x.unblock(b)
		if err := x.result(b.ev, r, at, b.due); err != nil {
			return err
		}
	}
	return nil
}

func (x *run) unblock(b *blocked) {
	x.blocked = slices.DeleteFunc(x.blocked, func(c *blocked) bool { return c == b })
}

// result compares what a call returned, and when, with the script.
func (x *run) result(ev *Event, r Result, at time.Duration, w when) error {
	sc := ev.Call
	if r.Err != nil {
		return x.fail(ev, "%s cannot make this call: %v", x.t.Name(), r.Err)
	}
	x.logf("%s:%d: %s returned %s at %s", x.s.Name, ev.Line, sc.Name, formatResult(int64(r.Ret), r.Errno), x.secs(at))
	if int64(r.Ret) != sc.Ret || r.Errno != sc.Errno {
		return x.fail(ev, "%s returned %s, expected %s", sc.Name, formatResult(int64(r.Ret), r.Errno), formatResult(sc.Ret, sc.Errno))
	}
	if !x.within(w, at) {
		return x.failLate(ev, "timing: expected %s to return %s, but it returned at %s", sc.Name, x.describe(w), x.secs(at))
	}
	return nil
}

// formatResult writes a call's result as a script does: "4", or
// "-1 ECONNRESET (connection reset by peer)".
func formatResult(ret int64, errno syscall.Errno) string {
	s := strconv.FormatInt(ret, 10)
	if errno != 0 {
		msg := errno.Error()
		if msg != "" && 'a' <= msg[0] && msg[0] <= 'z' {
			msg = string(msg[0]-'a'+'A') + msg[1:] // as strerror(3) writes it
		}
		s += " " + ErrnoName(errno) + " (" + msg + ")"
	}
	return s
}

// finish ends a run: blocked calls must return, and no segment may be
// left unexpected.
func (x *run) finish() error {
	for len(x.blocked) > 0 {
		if err := x.settle(x.blocked[0]); err != nil {
			return err
		}
	}
	deadline := x.t.Now() + x.tol
	for {
		pkt, at, ok := x.t.Next(deadline)
		if !ok {
			return nil
		}
		seg, ours := x.ours(pkt)
		if !ours {
			continue
		}
		got, _ := x.decode(seg, &Packet{})
		return x.fail(x.last, "%s sent %q at %s, after the last event, which the script does not expect", x.t.Name(), got, x.secs(at))
	}
}
