package conform

import (
	"encoding/hex"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/seqack/seqack/wire"
)

// A Script is a parsed conformance script: a list of events, each at a
// time, in packetdrill's syntax (see the README of the corpus).
type Script struct {
	// Name names the script in messages, usually its file's path.
	Name   string
	Events []*Event
}

// String formats the script in its own syntax, one event a line, without
// comments. Parsing the result gives the same events.
func (s *Script) String() string {
	var b strings.Builder
	for _, e := range s.Events {
		b.WriteString(e.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// TimeKind says how an event's time is written.
type TimeKind uint8

// The ways a time can be written.
const (
	TimeAbsolute      TimeKind = iota // 0.1: since the script began
	TimeRelative                      // +0.1: since the previous event
	TimeAny                           // *: whenever it happens
	TimeAbsoluteRange                 // 0.1~0.2: any time in the window
	TimeRelativeRange                 // +0.1~+0.2
)

// A Time is when an event happens, as the script writes it.
type Time struct {
	Kind  TimeKind
	Start time.Duration
	End   time.Duration // the end of a range
}

// String formats t as the script writes it: "0.1", "+0.1", "*",
// "0.1~0.2" or "+0.1~+0.2".
func (t Time) String() string {
	switch t.Kind {
	case TimeRelative:
		return "+" + formatSeconds(t.Start)
	case TimeAny:
		return "*"
	case TimeAbsoluteRange:
		return formatSeconds(t.Start) + "~" + formatSeconds(t.End)
	case TimeRelativeRange:
		return "+" + formatSeconds(t.Start) + "~+" + formatSeconds(t.End)
	}
	return formatSeconds(t.Start)
}

// formatSeconds writes d in seconds with as few decimals as it needs.
func formatSeconds(d time.Duration) string {
	s := strconv.FormatInt(int64(d/time.Second), 10)
	if frac := d % time.Second; frac != 0 {
		f := strconv.FormatInt(int64(frac)+int64(time.Second), 10)[1:] // nine digits, leading zeros kept
		s += "." + strings.TrimRight(f, "0")
	}
	return s
}

// An Event is one line of a script: a segment injected (<) or expected (>),
// or a system call.
type Event struct {
	Line, Col int // where the event begins, counted from 1
	Time      Time
	Packet    *Packet  // a segment, or
	Call      *Syscall // a system call
}

// String formats e as a line of a script.
func (e *Event) String() string {
	var b strings.Builder
	b.WriteString(e.Time.String())
	switch {
	case e.Packet != nil:
		b.WriteByte(' ')
		b.WriteString(e.Packet.String())
	case e.Call != nil:
		if e.Call.HasEnd {
			b.WriteString("...")
			b.WriteString(formatSeconds(e.Call.End))
		}
		b.WriteByte(' ')
		b.WriteString(e.Call.String())
	}
	return b.String()
}

// A Packet is a TCP segment that the script injects (Outbound false) or
// expects the system under test to send (Outbound true).
//
// Sequence numbers are the script's: the remote side's (Seq of an injected
// segment, Ack of an expected one, SACK blocks in an expected one) are
// absolute, and the system's (Seq of an expected segment, Ack and SACK
// blocks of an injected one) are relative to its initial sequence number,
// which the interpreter learns from its SYN or SYN-ACK.
type Packet struct {
	Outbound bool
	Flags    wire.TCPFlags
	Seq      uint32 // start:end(len) is Seq:Seq+Len(Len)
	Len      int
	HasAck   bool
	Ack      uint32
	HasWin   bool
	Win      uint16
	// AnyOptions is <...>: whatever options the segment carries. Otherwise
	// Options is the exact list, in order; none if empty.
	AnyOptions bool
	Options    []Option
}

// flagLetters are packetdrill's flag letters, in the order tcpdump prints
// them (wire.TCPFlags.String).
const flagLetters = "FSRP.UEW"

// String formats p as the script writes it:
// "> S. 0:0(0) ack 1 win 65535 <mss 1460,nop,wscale 7>".
func (p *Packet) String() string {
	var b strings.Builder
	if p.Outbound {
		b.WriteString("> ")
	} else {
		b.WriteString("< ")
	}
	b.WriteString(formatFlags(p.Flags))
	b.WriteByte(' ')
	b.WriteString(strconv.FormatUint(uint64(p.Seq), 10))
	b.WriteByte(':')
	b.WriteString(strconv.FormatUint(uint64(p.Seq+uint32(p.Len)), 10))
	b.WriteByte('(')
	b.WriteString(strconv.Itoa(p.Len))
	b.WriteByte(')')
	if p.HasAck {
		b.WriteString(" ack ")
		b.WriteString(strconv.FormatUint(uint64(p.Ack), 10))
	}
	if p.HasWin {
		b.WriteString(" win ")
		b.WriteString(strconv.FormatUint(uint64(p.Win), 10))
	}
	switch {
	case p.AnyOptions:
		b.WriteString(" <...>")
	case len(p.Options) > 0:
		b.WriteString(" <")
		for i, o := range p.Options {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(o.String())
		}
		b.WriteByte('>')
	}
	return b.String()
}

// formatFlags writes f with packetdrill's letters, "-" for none.
func formatFlags(f wire.TCPFlags) string {
	var b []byte
	for i := range len(flagLetters) {
		if f&(1<<i) != 0 {
			b = append(b, flagLetters[i])
		}
	}
	if len(b) == 0 {
		return "-"
	}
	return string(b)
}

// An Option is one TCP option, as the script writes it. Kind is a
// wire.Opt constant; an option of a kind the script syntax does not know
// (seen only on the wire) keeps its contents in Data.
type Option struct {
	Kind   uint8
	Value  uint32           // mss, wscale
	Blocks []wire.SACKBlock // sack
	TSVal  uint32           // TS val
	TSEcr  uint32           // TS ecr
	Data   []byte           // the contents of an unknown kind
}

// String formats o as the script writes it: "mss 1460", "sackOK",
// "sack 1:100 200:300", "TS val 1 ecr 0", "nop", "eol", "wscale 7".
func (o Option) String() string {
	switch o.Kind {
	case wire.OptEOL:
		return "eol"
	case wire.OptNOP:
		return "nop"
	case wire.OptMSS:
		return "mss " + strconv.FormatUint(uint64(o.Value), 10)
	case wire.OptWindowScale:
		return "wscale " + strconv.FormatUint(uint64(o.Value), 10)
	case wire.OptSACKPermitted:
		return "sackOK"
	case wire.OptSACK:
		s := "sack"
		for _, blk := range o.Blocks {
			s += " " + strconv.FormatUint(uint64(blk.Left), 10) + ":" + strconv.FormatUint(uint64(blk.Right), 10)
		}
		return s
	case wire.OptTimestamps:
		return "TS val " + strconv.FormatUint(uint64(o.TSVal), 10) + " ecr " + strconv.FormatUint(uint64(o.TSEcr), 10)
	}
	s := "opt-" + strconv.Itoa(int(o.Kind))
	if len(o.Data) > 0 {
		s += ":" + hex.EncodeToString(o.Data)
	}
	return s
}

// encodedLen is the option's length on the wire.
func (o Option) encodedLen() int {
	switch o.Kind {
	case wire.OptEOL, wire.OptNOP:
		return 1
	case wire.OptMSS:
		return 4
	case wire.OptWindowScale:
		return 3
	case wire.OptSACKPermitted:
		return 2
	case wire.OptSACK:
		return 2 + 8*len(o.Blocks)
	case wire.OptTimestamps:
		return 10
	}
	return 2 + len(o.Data)
}

// A Syscall is a system call line: the call, its arguments as written,
// and the result the script expects.
type Syscall struct {
	// HasEnd marks a blocking call, "+0...0.1 read(...)": it starts at the
	// event's time and must return at End, which is counted from the same
	// origin as the start (the script's start for an absolute time, the
	// previous event for a relative one), as packetdrill does.
	HasEnd bool
	End    time.Duration

	Name string
	Args []Expr

	Ret   int64         // the return value expected
	Errno syscall.Errno // the error expected, 0 for none
	// Note is the text in parentheses after the errno, as written:
	// "Connection reset by peer". It is not checked.
	Note string

	// Call is the call that Name and Args describe.
	Call Call
}

// String formats c as the script writes it, without the time:
// "read(4, ..., 1000) = -1 ECONNRESET (Connection reset by peer)".
func (c *Syscall) String() string {
	var b strings.Builder
	b.WriteString(c.Name)
	b.WriteByte('(')
	for i, a := range c.Args {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.String())
	}
	b.WriteString(") = ")
	b.WriteString(strconv.FormatInt(c.Ret, 10))
	if c.Errno != 0 {
		b.WriteByte(' ')
		b.WriteString(ErrnoName(c.Errno))
		if c.Note != "" {
			b.WriteString(" (")
			b.WriteString(c.Note)
			b.WriteByte(')')
		}
	}
	return b.String()
}

// ExprKind says what an argument of a system call is.
type ExprKind uint8

// The kinds of argument.
const (
	ExprEllipsis ExprKind = iota // ...: whatever the interpreter passes
	ExprInt                      // 1000, -1, 0x10
	ExprName                     // SOCK_STREAM
	ExprOr                       // O_RDWR|O_NONBLOCK
	ExprList                     // [1]: a pointer to an int
	ExprStruct                   // {onoff=1, linger=0}
)

// An Expr is one argument of a system call, as written.
type Expr struct {
	Kind   ExprKind
	Int    int64
	Name   string
	Elems  []Expr  // the operands of ExprOr, the elements of ExprList
	Fields []Field // ExprStruct
}

// A Field is one member of a struct argument: name=value.
type Field struct {
	Name  string
	Value Expr
}

// String formats x as the script writes it.
func (x Expr) String() string {
	switch x.Kind {
	case ExprEllipsis:
		return "..."
	case ExprInt:
		return strconv.FormatInt(x.Int, 10)
	case ExprName:
		return x.Name
	case ExprOr:
		s := make([]string, len(x.Elems))
		for i, e := range x.Elems {
			s[i] = e.String()
		}
		return strings.Join(s, "|")
	case ExprList:
		s := make([]string, len(x.Elems))
		for i, e := range x.Elems {
			s[i] = e.String()
		}
		return "[" + strings.Join(s, ", ") + "]"
	case ExprStruct:
		s := make([]string, len(x.Fields))
		for i, f := range x.Fields {
			s[i] = f.Name + "=" + f.Value.String()
		}
		return "{" + strings.Join(s, ", ") + "}"
	}
	return "?"
}
