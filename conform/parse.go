package conform

import (
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/seqack/seqack/wire"
)

// BindPort is the port that bind(fd, ..., ...) in a script binds on
// LocalAddr, as packetdrill's default does.
const BindPort = 8080

// maxPayload is the longest segment payload a script can write: an IPv4
// packet of 65535 bytes less the IP and TCP headers without options.
const maxPayload = 65535 - wire.IPv4MinHeaderLen - wire.TCPMinHeaderLen

// maxIO bounds the length of a read or write in a script.
const maxIO = 1 << 24

// A SyntaxError reports a script that does not parse: where, and what was
// expected there.
type SyntaxError struct {
	Name      string // the script's name
	Line, Col int    // counted from 1; Col counts bytes
	Msg       string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.Name, e.Line, e.Col, e.Msg)
}

// ParseFile reads and parses the script at path, named by its path.
func ParseFile(path string) (*Script, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, src)
}

// Parse parses a script written in packetdrill's syntax. name names it in
// errors. The first error ends the parse; it is a *SyntaxError.
func Parse(name string, src []byte) (*Script, error) {
	p := &parser{name: name, src: src, lines: []int{0}}
	for i, c := range src {
		if c == '\n' {
			p.lines = append(p.lines, i+1)
		}
	}
	s := &Script{Name: name}
	for {
		if err := p.skipSpace(true); err != nil {
			return nil, err
		}
		if p.eof() {
			return s, nil
		}
		e, err := p.event()
		if err != nil {
			return nil, err
		}
		s.Events = append(s.Events, e)
		if err := p.skipSpace(false); err != nil {
			return nil, err
		}
		if !p.eof() && p.peek() != '\n' {
			return nil, p.errorf("unexpected %s after the event: one event a line", p.what())
		}
	}
}

// parser reads a script byte by byte; every method leaves pos after what it
// read.
type parser struct {
	name  string
	src   []byte
	pos   int
	lines []int // the offset at which each line starts
	depth int   // nesting of [ and { in arguments
}

// errorf returns a *SyntaxError at the current position.
func (p *parser) errorf(format string, args ...any) error {
	return p.errorAt(p.pos, format, args...)
}

// errorAt returns a *SyntaxError at offset pos.
func (p *parser) errorAt(pos int, format string, args ...any) error {
	line, col := p.position(pos)
	return &SyntaxError{Name: p.name, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

// position returns the line and column of offset pos, counted from 1.
func (p *parser) position(pos int) (line, col int) {
	i := sort.Search(len(p.lines), func(i int) bool { return p.lines[i] > pos }) - 1
	return i + 1, pos - p.lines[i] + 1
}

func (p *parser) eof() bool { return p.pos >= len(p.src) }

// peek returns the byte at pos, or 0 at the end.
func (p *parser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.src[p.pos]
}

// peekAt returns the byte i past pos, or 0 beyond the end.
func (p *parser) peekAt(i int) byte {
	if p.pos+i >= len(p.src) {
		return 0
	}
	return p.src[p.pos+i]
}

func (p *parser) startsWith(s string) bool {
	return strings.HasPrefix(string(p.src[p.pos:min(len(p.src), p.pos+len(s))]), s)
}

// what describes what is at pos, for a message.
func (p *parser) what() string {
	switch {
	case p.eof():
		return "end of script"
	case p.peek() == '\n':
		return "end of line"
	}
	w := p.peekWord()
	if w == "" {
		return strconv.QuoteRune(rune(p.peek()))
	}
	return strconv.Quote(w)
}

// skipSpace skips blanks and comments (// to the end of the line, /* */),
// and newlines if nl is set.
func (p *parser) skipSpace(nl bool) error {
	for !p.eof() {
		switch c := p.peek(); {
		case c == ' ' || c == '\t' || c == '\r':
			p.pos++
		case c == '\n' && nl:
			p.pos++
		case p.startsWith("//"):
			for !p.eof() && p.peek() != '\n' {
				p.pos++
			}
		case p.startsWith("/*"):
			start := p.pos
			p.pos += 2
			for !p.startsWith("*/") {
				if p.eof() {
					return p.errorAt(start, "comment /* is never closed by */")
				}
				p.pos++
			}
			p.pos += 2
		default:
			return nil
		}
	}
	return nil
}

func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' }

// peekWord returns the identifier at pos without reading it.
func (p *parser) peekWord() string {
	i := p.pos
	if i >= len(p.src) || !isLetter(p.src[i]) {
		return ""
	}
	for i < len(p.src) && (isLetter(p.src[i]) || isDigit(p.src[i])) {
		i++
	}
	return string(p.src[p.pos:i])
}

// word reads an identifier.
func (p *parser) word() string {
	w := p.peekWord()
	p.pos += len(w)
	return w
}

// expect reads the byte c, or fails saying what was expected.
func (p *parser) expect(c byte, what string) error {
	if p.peek() != c || p.eof() {
		return p.errorf("expected %s, found %s", what, p.what())
	}
	p.pos++
	return nil
}

// event reads one event: a time, then a segment or a system call.
func (p *parser) event() (*Event, error) {
	start := p.pos
	line, col := p.position(start)
	e := &Event{Line: line, Col: col}
	var err error
	if e.Time, err = p.time(); err != nil {
		return nil, err
	}
	var sc *Syscall
	if p.startsWith("...") {
		endPos := p.pos
		p.pos += 3
		if p.peek() == '+' {
			p.pos++
		}
		end, err := p.seconds()
		if err != nil {
			return nil, err
		}
		switch e.Time.Kind {
		case TimeAbsolute, TimeRelative:
		default:
			return nil, p.errorAt(endPos, "a blocking call's window (...) needs a start time such as 0.1 or +0.1, not %s", e.Time)
		}
		if end < e.Time.Start {
			return nil, p.errorAt(endPos, "the call's window ends (%s) before it starts (%s)", formatSeconds(end), formatSeconds(e.Time.Start))
		}
		sc = &Syscall{HasEnd: true, End: end}
	}
	if err := p.skipSpace(false); err != nil {
		return nil, err
	}
	switch c := p.peek(); {
	case (c == '<' || c == '>') && !p.eof():
		if sc != nil {
			return nil, p.errorf("only a system call can have a ... window")
		}
		e.Packet, err = p.packet()
	case isLetter(c):
		if sc == nil {
			sc = &Syscall{}
		}
		e.Call = sc
		err = p.syscall(sc)
	case c == '`':
		err = p.errorf("shell commands (`...`) are not supported: the targets' settings are fixed (see the corpus README)")
	default:
		err = p.errorf("expected < (inject), > (expect) or a system call after the time, found %s", p.what())
	}
	if err != nil {
		return nil, err
	}
	return e, nil
}

// time reads an event's time: 0.1, +0.1, *, 0.1~0.2 or +0.1~+0.2.
func (p *parser) time() (Time, error) {
	switch c := p.peek(); {
	case c == '*':
		p.pos++
		return Time{Kind: TimeAny}, nil
	case c == '+':
		p.pos++
		d, err := p.seconds()
		if err != nil {
			return Time{}, err
		}
		if p.peek() != '~' {
			return Time{Kind: TimeRelative, Start: d}, nil
		}
		p.pos++
		if err := p.expect('+', "+ after ~ (a relative window is written +0.1~+0.2)"); err != nil {
			return Time{}, err
		}
		end, err := p.seconds()
		if err != nil {
			return Time{}, err
		}
		if end < d {
			return Time{}, p.errorf("the window ends (+%s) before it starts (+%s)", formatSeconds(end), formatSeconds(d))
		}
		return Time{Kind: TimeRelativeRange, Start: d, End: end}, nil
	case isDigit(c) || c == '.' && isDigit(p.peekAt(1)):
		d, err := p.seconds()
		if err != nil {
			return Time{}, err
		}
		if p.peek() != '~' {
			return Time{Kind: TimeAbsolute, Start: d}, nil
		}
		p.pos++
		end, err := p.seconds()
		if err != nil {
			return Time{}, err
		}
		if end < d {
			return Time{}, p.errorf("the window ends (%s) before it starts (%s)", formatSeconds(end), formatSeconds(d))
		}
		return Time{Kind: TimeAbsoluteRange, Start: d, End: end}, nil
	}
	return Time{}, p.errorf("expected a time (0, +0.1, 0.1~0.2, +0.1~+0.2 or *), found %s", p.what())
}

// seconds reads a number of seconds with up to nine decimals: 1, 0.25, .1.
func (p *parser) seconds() (time.Duration, error) {
	start := p.pos
	for isDigit(p.peek()) {
		p.pos++
	}
	whole := string(p.src[start:p.pos])
	frac := ""
	if p.peek() == '.' && isDigit(p.peekAt(1)) {
		p.pos++
		fs := p.pos
		for isDigit(p.peek()) {
			p.pos++
		}
		frac = string(p.src[fs:p.pos])
	}
	switch {
	case whole == "" && frac == "":
		return 0, p.errorf("expected a number of seconds, found %s", p.what())
	case len(whole) > 9:
		return 0, p.errorAt(start, "%s seconds is too long a time", whole)
	case len(frac) > 9:
		return 0, p.errorAt(start, "a time has at most nine decimals (nanoseconds)")
	}
	var d time.Duration
	if whole != "" {
		n, _ := strconv.ParseInt(whole, 10, 64)
		d = time.Duration(n) * time.Second
	}
	if frac != "" {
		n, _ := strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
		d += time.Duration(n)
	}
	return d, nil
}

// unsigned reads a decimal number no larger than limit.
func (p *parser) unsigned(limit uint64, what string) (uint64, error) {
	start := p.pos
	for isDigit(p.peek()) {
		p.pos++
	}
	if start == p.pos {
		return 0, p.errorf("expected %s, found %s", what, p.what())
	}
	n, err := strconv.ParseUint(string(p.src[start:p.pos]), 10, 64)
	if err != nil || n > limit {
		return 0, p.errorAt(start, "%s %s is out of range (at most %d)", what, p.src[start:p.pos], limit)
	}
	return n, nil
}

// packet reads a segment after the time: direction, flags, start:end(len),
// then ack, win and options.
func (p *parser) packet() (*Packet, error) {
	pk := &Packet{Outbound: p.peek() == '>'}
	p.pos++
	if err := p.skipSpace(false); err != nil {
		return nil, err
	}
	if err := p.flags(pk); err != nil {
		return nil, err
	}
	if err := p.skipSpace(false); err != nil {
		return nil, err
	}
	seqPos := p.pos
	start, err := p.unsigned(math.MaxUint32, "the start of start:end(length)")
	if err != nil {
		return nil, err
	}
	if err := p.expect(':', ": in start:end(length)"); err != nil {
		return nil, err
	}
	end, err := p.unsigned(math.MaxUint32, "the end of start:end(length)")
	if err != nil {
		return nil, err
	}
	if err := p.expect('(', "( in start:end(length)"); err != nil {
		return nil, err
	}
	n, err := p.unsigned(maxPayload, "the length in start:end(length)")
	if err != nil {
		return nil, err
	}
	if err := p.expect(')', ") in start:end(length)"); err != nil {
		return nil, err
	}
	if uint32(end)-uint32(start) != uint32(n) {
		return nil, p.errorAt(seqPos, "%d:%d(%d) does not add up: end - start must be the length", start, end, n)
	}
	pk.Seq, pk.Len = uint32(start), int(n)
	optPos := -1
	for {
		if err := p.skipSpace(false); err != nil {
			return nil, err
		}
		at := p.pos
		switch w := p.peekWord(); {
		case w == "ack":
			if pk.HasAck {
				return nil, p.errorf("ack given twice")
			}
			p.word()
			if err := p.skipSpace(false); err != nil {
				return nil, err
			}
			a, err := p.unsigned(math.MaxUint32, "the acknowledgment number after ack")
			if err != nil {
				return nil, err
			}
			pk.HasAck, pk.Ack = true, uint32(a)
			if pk.Flags&wire.FlagACK == 0 {
				return nil, p.errorAt(at, "ack without the ACK flag: write the flags with a dot, such as . or S.")
			}
		case w == "win":
			if pk.HasWin {
				return nil, p.errorf("win given twice")
			}
			p.word()
			if err := p.skipSpace(false); err != nil {
				return nil, err
			}
			v, err := p.unsigned(math.MaxUint16, "the window after win")
			if err != nil {
				return nil, err
			}
			pk.HasWin, pk.Win = true, uint16(v)
		case p.peek() == '<' && !p.eof():
			if optPos >= 0 {
				return nil, p.errorf("options given twice")
			}
			optPos = p.pos
			if err := p.options(pk); err != nil {
				return nil, err
			}
		default:
			if pk.Flags&wire.FlagACK != 0 && !pk.HasAck && !pk.Outbound {
				return nil, p.errorAt(seqPos, "an injected segment with the ACK flag needs its acknowledgment number: ack N")
			}
			if !pk.Outbound && optPos >= 0 {
				if pk.AnyOptions {
					return nil, p.errorAt(optPos, "<...> (any options) is for expected segments; an injected one lists its options")
				}
				n := 0
				for _, o := range pk.Options {
					n += o.encodedLen()
				}
				if n > wire.MaxTCPOptionsLen {
					return nil, p.errorAt(optPos, "the options take %d bytes; at most %d fit in a TCP header", n, wire.MaxTCPOptionsLen)
				}
			}
			return pk, nil
		}
	}
}

// flags reads packetdrill's flag letters: F S R P . U E W, or - for none.
func (p *parser) flags(pk *Packet) error {
	start := p.pos
	if p.peek() == '-' {
		p.pos++
		return nil
	}
	for !p.eof() {
		i := strings.IndexByte(flagLetters, p.peek())
		if i < 0 {
			break
		}
		f := wire.TCPFlags(1) << i
		if pk.Flags&f != 0 {
			return p.errorf("flag %c given twice", p.peek())
		}
		pk.Flags |= f
		p.pos++
	}
	if p.pos == start {
		return p.errorf("expected the TCP flags (S, S., ., P., F., R, R., letters of %s, or - for none), found %s", flagLetters, p.what())
	}
	if c := p.peek(); isLetter(c) || isDigit(c) {
		return p.errorf("unknown TCP flag %c: the flags are %s", c, flagLetters)
	}
	return nil
}

// options reads an option list: <...> or <mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>.
func (p *parser) options(pk *Packet) error {
	p.pos++ // <
	if err := p.skipSpace(false); err != nil {
		return err
	}
	if p.startsWith("...") {
		p.pos += 3
		if err := p.skipSpace(false); err != nil {
			return err
		}
		pk.AnyOptions = true
		return p.expect('>', "> after <...")
	}
	if p.peek() == '>' {
		p.pos++
		return nil
	}
	for {
		if err := p.skipSpace(false); err != nil {
			return err
		}
		o, err := p.option()
		if err != nil {
			return err
		}
		pk.Options = append(pk.Options, o)
		if err := p.skipSpace(false); err != nil {
			return err
		}
		switch p.peek() {
		case ',':
			p.pos++
		case '>':
			p.pos++
			return nil
		default:
			return p.errorf("expected , or > in the option list, found %s", p.what())
		}
	}
}

// option reads one option of a list.
func (p *parser) option() (Option, error) {
	at := p.pos
	w := p.word()
	space := func() error { return p.skipSpace(false) }
	switch w {
	case "nop":
		return Option{Kind: wire.OptNOP}, nil
	case "eol":
		return Option{Kind: wire.OptEOL}, nil
	case "sackOK":
		return Option{Kind: wire.OptSACKPermitted}, nil
	case "mss", "wscale":
		if err := space(); err != nil {
			return Option{}, err
		}
		kind, limit := uint8(wire.OptMSS), uint64(math.MaxUint16)
		if w == "wscale" {
			kind, limit = wire.OptWindowScale, math.MaxUint8
		}
		v, err := p.unsigned(limit, "the value of "+w)
		if err != nil {
			return Option{}, err
		}
		return Option{Kind: kind, Value: uint32(v)}, nil
	case "sack":
		o := Option{Kind: wire.OptSACK}
		for {
			if err := space(); err != nil {
				return Option{}, err
			}
			if !isDigit(p.peek()) {
				break
			}
			if len(o.Blocks) == wire.MaxSACKBlocks {
				return Option{}, p.errorf("at most %d SACK blocks fit in a TCP header", wire.MaxSACKBlocks)
			}
			l, err := p.unsigned(math.MaxUint32, "the left edge of a SACK block")
			if err != nil {
				return Option{}, err
			}
			if err := p.expect(':', ": in a SACK block left:right"); err != nil {
				return Option{}, err
			}
			r, err := p.unsigned(math.MaxUint32, "the right edge of a SACK block")
			if err != nil {
				return Option{}, err
			}
			o.Blocks = append(o.Blocks, wire.SACKBlock{Left: uint32(l), Right: uint32(r)})
		}
		if len(o.Blocks) == 0 {
			return Option{}, p.errorf("expected SACK blocks (left:right ...) after sack, found %s", p.what())
		}
		return o, nil
	case "TS":
		o := Option{Kind: wire.OptTimestamps}
		for i, name := range []string{"val", "ecr"} {
			if err := space(); err != nil {
				return Option{}, err
			}
			if p.word() != name {
				return Option{}, p.errorf("expected %s in TS val N ecr N", name)
			}
			if err := space(); err != nil {
				return Option{}, err
			}
			v, err := p.unsigned(math.MaxUint32, "the value of TS "+name)
			if err != nil {
				return Option{}, err
			}
			if i == 0 {
				o.TSVal = uint32(v)
			} else {
				o.TSEcr = uint32(v)
			}
		}
		return o, nil
	}
	if w == "opt" && p.peek() == '-' {
		p.pos++
		return p.otherOption()
	}
	if w == "" {
		return Option{}, p.errorf("expected an option (mss, sackOK, sack, TS, nop, eol, wscale, opt-KIND), found %s", p.what())
	}
	return Option{}, p.errorAt(at, "unknown option %q: the options are mss, sackOK, sack, TS, nop, eol, wscale and opt-KIND", w)
}

// otherOption reads, after "opt-", an option of a kind the syntax has no
// name for, as Option.String writes one: opt-KIND, or opt-KIND:HEX with
// its contents (the length byte is implied).
func (p *parser) otherOption() (Option, error) {
	at := p.pos
	k, err := p.unsigned(math.MaxUint8, "the kind of opt-KIND")
	if err != nil {
		return Option{}, err
	}
	switch k {
	case wire.OptEOL, wire.OptNOP, wire.OptMSS, wire.OptWindowScale, wire.OptSACKPermitted, wire.OptSACK, wire.OptTimestamps:
		return Option{}, p.errorAt(at, "opt-%d has a name: write eol, nop, mss, wscale, sackOK, sack or TS", k)
	}
	o := Option{Kind: uint8(k)}
	if p.peek() != ':' {
		return o, nil
	}
	p.pos++
	start := p.pos
	for isHexDigit(p.peek()) {
		p.pos++
	}
	digits := p.src[start:p.pos]
	switch {
	case len(digits) == 0:
		return Option{}, p.errorf("expected the contents of opt-%d in hex after :, found %s", k, p.what())
	case len(digits)%2 != 0:
		return Option{}, p.errorAt(start, "the contents of opt-%d have an odd number of hex digits", k)
	case len(digits)/2 > wire.MaxTCPOptionsLen-2:
		return Option{}, p.errorAt(start, "the contents of opt-%d take %d bytes; at most %d fit", k, len(digits)/2, wire.MaxTCPOptionsLen-2)
	}
	o.Data = make([]byte, len(digits)/2)
	for i := range o.Data {
		o.Data[i] = hexValue(digits[2*i])<<4 | hexValue(digits[2*i+1])
	}
	return o, nil
}

// isHexDigit reports whether c is a hexadecimal digit.
func isHexDigit(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// hexValue is the value of the hexadecimal digit c.
func hexValue(c byte) byte {
	switch {
	case isDigit(c):
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// syscall reads a system call: name(args) = ret [ERRNO [(note)]].
func (p *parser) syscall(sc *Syscall) error {
	namePos := p.pos
	sc.Name = p.word()
	if err := p.skipSpace(false); err != nil {
		return err
	}
	if err := p.expect('(', "( after the name of the call"); err != nil {
		return err
	}
	var argPos []int
	if err := p.skipSpace(true); err != nil {
		return err
	}
	if p.peek() == ')' {
		p.pos++
	} else {
		for {
			if err := p.skipSpace(true); err != nil {
				return err
			}
			argPos = append(argPos, p.pos)
			x, err := p.expr()
			if err != nil {
				return err
			}
			sc.Args = append(sc.Args, x)
			if err := p.skipSpace(true); err != nil {
				return err
			}
			if p.peek() == ')' {
				p.pos++
				break
			}
			if err := p.expect(',', ", or ) in the arguments"); err != nil {
				return err
			}
		}
	}
	if err := p.skipSpace(false); err != nil {
		return err
	}
	if err := p.expect('=', "= and the result the call returns"); err != nil {
		return err
	}
	if err := p.skipSpace(false); err != nil {
		return err
	}
	retPos := p.pos
	ret, err := p.integer()
	if err != nil {
		return err
	}
	sc.Ret = ret
	if err := p.skipSpace(false); err != nil {
		return err
	}
	if w := p.peekWord(); w != "" {
		errnoPos := p.pos
		p.word()
		e, ok := errnoByName(w)
		if !ok {
			return p.errorAt(errnoPos, "unknown errno %q", w)
		}
		sc.Errno = e
		if err := p.skipSpace(false); err != nil {
			return err
		}
		if p.peek() == '(' {
			p.pos++
			start := p.pos
			for p.peek() != ')' {
				if p.eof() || p.peek() == '\n' {
					return p.errorAt(start-1, "the note after %s is never closed by )", w)
				}
				p.pos++
			}
			sc.Note = strings.TrimSpace(string(p.src[start:p.pos]))
			p.pos++
		}
	}
	switch {
	case sc.Errno != 0 && sc.Ret != -1:
		return p.errorAt(retPos, "a call that fails with %s returns -1, not %d", ErrnoName(sc.Errno), sc.Ret)
	case sc.Errno == 0 && sc.Ret == -1:
		return p.errorAt(retPos, "a call that returns -1 fails: name its errno, such as -1 ECONNRESET")
	}
	return convertCall(p, sc, namePos, argPos)
}

// integer reads a decimal or 0x hexadecimal integer, perhaps negative.
func (p *parser) integer() (int64, error) {
	start := p.pos
	if p.peek() == '-' {
		p.pos++
	}
	base := 10
	if p.peek() == '0' && (p.peekAt(1) == 'x' || p.peekAt(1) == 'X') {
		p.pos += 2
		base = 16
	}
	ds := p.pos
	for isDigit(p.peek()) || base == 16 && strings.IndexByte("abcdefABCDEF", p.peek()) >= 0 {
		p.pos++
	}
	if ds == p.pos {
		p.pos = start
		return 0, p.errorf("expected a number, found %s", p.what())
	}
	digits := string(p.src[ds:p.pos])
	n, err := strconv.ParseInt(digits, base, 64)
	if err != nil {
		return 0, p.errorAt(start, "number %s is out of range", p.src[start:p.pos])
	}
	if p.src[start] == '-' {
		n = -n
	}
	if isLetter(p.peek()) || isDigit(p.peek()) {
		return 0, p.errorf("unexpected %s after the number", p.what())
	}
	return n, nil
}

// expr reads one argument of a call.
func (p *parser) expr() (Expr, error) {
	switch c := p.peek(); {
	case p.startsWith("..."):
		p.pos += 3
		return Expr{Kind: ExprEllipsis}, nil
	case c == '-' || isDigit(c):
		n, err := p.integer()
		return Expr{Kind: ExprInt, Int: n}, err
	case isLetter(c):
		x := Expr{Kind: ExprName, Name: p.word()}
		if err := p.skipSpace(false); err != nil {
			return Expr{}, err
		}
		if p.peek() != '|' {
			return x, nil
		}
		or := Expr{Kind: ExprOr, Elems: []Expr{x}}
		for p.peek() == '|' {
			p.pos++
			if err := p.skipSpace(false); err != nil {
				return Expr{}, err
			}
			var y Expr
			switch c := p.peek(); {
			case isLetter(c):
				y = Expr{Kind: ExprName, Name: p.word()}
			case isDigit(c):
				n, err := p.integer()
				if err != nil {
					return Expr{}, err
				}
				y = Expr{Kind: ExprInt, Int: n}
			default:
				return Expr{}, p.errorf("expected a name or a number after |, found %s", p.what())
			}
			or.Elems = append(or.Elems, y)
			if err := p.skipSpace(false); err != nil {
				return Expr{}, err
			}
		}
		return or, nil
	case c == '[' || c == '{':
		if p.depth >= 4 {
			return Expr{}, p.errorf("arguments nest too deep")
		}
		p.depth++
		defer func() { p.depth-- }()
		p.pos++
		x := Expr{Kind: ExprList}
		closer := byte(']')
		if c == '{' {
			x.Kind, closer = ExprStruct, '}'
		}
		for {
			if err := p.skipSpace(true); err != nil {
				return Expr{}, err
			}
			if x.Kind == ExprStruct {
				name := p.word()
				if name == "" {
					return Expr{}, p.errorf("expected a field name in {name=value, ...}, found %s", p.what())
				}
				if err := p.skipSpace(true); err != nil {
					return Expr{}, err
				}
				if err := p.expect('=', "= after the field name"); err != nil {
					return Expr{}, err
				}
				if err := p.skipSpace(true); err != nil {
					return Expr{}, err
				}
				v, err := p.expr()
				if err != nil {
					return Expr{}, err
				}
				x.Fields = append(x.Fields, Field{Name: name, Value: v})
			} else {
				v, err := p.expr()
				if err != nil {
					return Expr{}, err
				}
				x.Elems = append(x.Elems, v)
			}
			if err := p.skipSpace(true); err != nil {
				return Expr{}, err
			}
			if p.peek() == closer && !p.eof() {
				p.pos++
				return x, nil
			}
			if err := p.expect(',', fmt.Sprintf(", or %c", closer)); err != nil {
				return Expr{}, err
			}
		}
	}
	return Expr{}, p.errorf("expected an argument (..., a number, a NAME, [value] or {field=value}), found %s", p.what())
}

// convertCall turns a system call's name and arguments into the Call a
// Target makes, checking them.
func convertCall(p *parser, sc *Syscall, namePos int, argPos []int) error {
	want := map[string]int{
		"socket": 3, "bind": 3, "listen": 2, "accept": 3, "connect": 3, "write": 3, "read": 3,
		"shutdown": 2, "close": 1, "setsockopt": 5, "fcntl": 3,
	}
	n, ok := want[sc.Name]
	if !ok {
		return p.errorAt(namePos, "unknown system call %q: a script can call socket, bind, listen, accept, connect, "+
			"write, read, shutdown, close, setsockopt and fcntl", sc.Name)
	}
	if len(sc.Args) != n {
		return p.errorAt(namePos, "%s takes %d arguments, not %d", sc.Name, n, len(sc.Args))
	}
	argErr := func(i int, format string, args ...any) error {
		return p.errorAt(argPos[i], "%s: argument %d: %s", sc.Name, i+1, fmt.Sprintf(format, args...))
	}
	// integer returns argument i as a number within [lo, hi].
	integer := func(i int, what string, lo, hi int64) (int, error) {
		x := sc.Args[i]
		if x.Kind != ExprInt {
			return 0, argErr(i, "expected %s (a number), found %s", what, x)
		}
		if x.Int < lo || x.Int > hi {
			return 0, argErr(i, "%s %d is out of range [%d, %d]", what, x.Int, lo, hi)
		}
		return int(x.Int), nil
	}
	ellipsis := func(i int, what string) error {
		if sc.Args[i].Kind != ExprEllipsis {
			return argErr(i, "expected ... for %s, found %s (the interpreter supplies it)", what, sc.Args[i])
		}
		return nil
	}
	// name returns argument i as one of the names given.
	name := func(i int, names ...string) (string, error) {
		x := sc.Args[i]
		if x.Kind == ExprName {
			for _, n := range names {
				if x.Name == n {
					return n, nil
				}
			}
		}
		return "", argErr(i, "expected %s, found %s", strings.Join(names, " or "), x)
	}
	c := &sc.Call
	c.Op = Op(sc.Name)
	var err error
	if sc.Name != "socket" {
		if c.Fd, err = integer(0, "a file descriptor", 0, math.MaxInt32); err != nil {
			return err
		}
	}
	switch sc.Name {
	case "socket":
		if x := sc.Args[0]; x.Kind != ExprEllipsis {
			if _, err := name(0, "AF_INET", "PF_INET", "..."); err != nil {
				return err
			}
		}
		if _, err := name(1, "SOCK_STREAM"); err != nil {
			return err
		}
		if x := sc.Args[2]; !(x.Kind == ExprInt && x.Int == 0) {
			if _, err := name(2, "IPPROTO_TCP"); err != nil {
				return err
			}
		}
	case "bind", "connect", "accept":
		if err := ellipsis(1, "the address"); err != nil {
			return err
		}
		if err := ellipsis(2, "the address length"); err != nil {
			return err
		}
		switch sc.Name {
		case "bind":
			c.Port = BindPort
		case "connect":
			c.Port = RemotePort
		}
	case "listen":
		if c.Backlog, err = integer(1, "the backlog", 0, math.MaxInt32); err != nil {
			return err
		}
	case "write", "read":
		if err := ellipsis(1, "the buffer"); err != nil {
			return err
		}
		if c.Len, err = integer(2, "the length", 0, maxIO); err != nil {
			return err
		}
	case "shutdown":
		how, err := name(1, "SHUT_RD", "SHUT_WR", "SHUT_RDWR")
		if err != nil {
			return err
		}
		c.How = map[string]int{"SHUT_RD": syscall.SHUT_RD, "SHUT_WR": syscall.SHUT_WR, "SHUT_RDWR": syscall.SHUT_RDWR}[how]
	case "close":
	case "setsockopt":
		return convertSetsockopt(sc, argErr, name)
	case "fcntl":
		if _, err := name(1, "F_SETFL"); err != nil {
			return err
		}
		x := sc.Args[2]
		names := []Expr{x}
		if x.Kind == ExprOr {
			names = x.Elems
		}
		for _, y := range names {
			switch {
			case y.Kind == ExprName && (y.Name == "O_RDWR" || y.Name == "O_RDONLY" || y.Name == "O_WRONLY"):
			case y.Kind == ExprName && y.Name == "O_NONBLOCK":
				c.NonBlock = true
			default:
				return argErr(2, "expected file status flags (O_RDWR, O_NONBLOCK, joined by |), found %s", y)
			}
		}
	}
	return nil
}

// convertSetsockopt checks setsockopt's arguments: fd, level, option,
// value, length.
func convertSetsockopt(sc *Syscall, argErr func(int, string, ...any) error, name func(int, ...string) (string, error)) error {
	c := &sc.Call
	level, err := name(1, "SOL_SOCKET", "IPPROTO_TCP", "SOL_TCP")
	if err != nil {
		return err
	}
	var opt string
	if level == "SOL_SOCKET" {
		c.Level = syscall.SOL_SOCKET
		if opt, err = name(2, "SO_REUSEADDR", "SO_LINGER", "SO_RCVBUF", "SO_SNDBUF"); err != nil {
			return err
		}
	} else {
		c.Level = syscall.IPPROTO_TCP
		if opt, err = name(2, "TCP_NODELAY"); err != nil {
			return err
		}
	}
	c.Option = map[string]int{
		"SO_REUSEADDR": syscall.SO_REUSEADDR, "SO_LINGER": syscall.SO_LINGER, "SO_RCVBUF": syscall.SO_RCVBUF,
		"SO_SNDBUF": syscall.SO_SNDBUF, "TCP_NODELAY": syscall.TCP_NODELAY,
	}[opt]
	v := sc.Args[3]
	if opt == "SO_LINGER" {
		if v.Kind != ExprStruct || len(v.Fields) != 2 {
			return argErr(3, "expected {onoff=N, linger=N} for SO_LINGER, found %s", v)
		}
		for i, f := range v.Fields {
			names := [2][2]string{{"onoff", "l_onoff"}, {"linger", "l_linger"}}[i]
			if f.Name != names[0] && f.Name != names[1] || f.Value.Kind != ExprInt || f.Value.Int < 0 || f.Value.Int > math.MaxInt32 {
				return argErr(3, "expected {onoff=N, linger=N} for SO_LINGER, found %s", v)
			}
			c.Linger[i] = int(f.Value.Int)
		}
	} else {
		if v.Kind != ExprList || len(v.Elems) != 1 || v.Elems[0].Kind != ExprInt || v.Elems[0].Int < math.MinInt32 || v.Elems[0].Int > math.MaxInt32 {
			return argErr(3, "expected [N], a pointer to an int, for %s, found %s", opt, v)
		}
		c.Value = int(v.Elems[0].Int)
	}
	if x := sc.Args[4]; x.Kind != ExprEllipsis && x.Kind != ExprInt {
		return argErr(4, "expected the option's length (a number or ...), found %s", x)
	}
	return nil
}
