package conform

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seqack/seqack/wire"
)

func TestParseEvents(t *testing.T) {
	src := `// a comment
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3   // trailing comment
+0.1 < S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>
/* a block
   comment */ .2~0.25 > S. 0:0(0) ack 1 <...>
* > . 1:1(0) ack 1
+0~+.004 < P. 1:1001(1000) ack 1 win 257 <nop,nop,sack 1:100 200:300>
+0...0.100 read(4, ..., 10) = -1 ECONNRESET (Connection reset by peer)
+0 setsockopt(4, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0
+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 > R 5:5(0)
+0 < F. 1001:1001(0) ack 1 win 0 <eol>
+0 < . 1:1(0) ack 1 <opt-99,nop,opt-253:f989cafe>
`
	s, err := Parse("t.pkt", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Events) != 12 {
		t.Fatalf("%d events, want 12", len(s.Events))
	}
	e := s.Events
	check := func(got, want any, what string) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", what, got, want)
		}
	}
	check(e[0].Line, 2, "line of event 0")
	check(e[0].Call.Call, Call{Op: OpSocket}, "socket call")
	check(e[1].Time, Time{Kind: TimeRelative, Start: 100 * time.Millisecond}, "time of event 1")
	check(e[1].Packet, &Packet{Flags: wire.FlagSYN, HasWin: true, Win: 65535, Options: []Option{
		{Kind: wire.OptMSS, Value: 1460}, {Kind: wire.OptSACKPermitted}, {Kind: wire.OptTimestamps, TSVal: 100},
		{Kind: wire.OptNOP}, {Kind: wire.OptWindowScale, Value: 7}}}, "SYN")
	check(e[2].Line, 5, "line of event 2")
	check(e[2].Col, 15, "column of event 2")
	check(e[2].Time, Time{Kind: TimeAbsoluteRange, Start: 200 * time.Millisecond, End: 250 * time.Millisecond}, "range")
	check(e[2].Packet.AnyOptions, true, "<...>")
	check(e[3].Time.Kind, TimeAny, "*")
	check(e[4].Packet.Options[2].Blocks, []wire.SACKBlock{{Left: 1, Right: 100}, {Left: 200, Right: 300}}, "SACK blocks")
	check(e[4].Packet.Len, 1000, "length")
	check(e[5].Call.HasEnd, true, "blocking window")
	check(e[5].Call.End, 100*time.Millisecond, "window end")
	check(e[5].Call.Errno, syscall.ECONNRESET, "errno")
	check(e[5].Call.Note, "Connection reset by peer", "note")
	check(e[6].Call.Call, Call{Op: OpSetsockopt, Fd: 4, Level: syscall.SOL_SOCKET, Option: syscall.SO_LINGER, Linger: [2]int{1, 0}}, "SO_LINGER")
	check(e[7].Call.Call, Call{Op: OpFcntl, Fd: 3, NonBlock: true}, "fcntl")
	check(e[8].Call.Call, Call{Op: OpConnect, Fd: 3, Port: RemotePort}, "connect")
	check(e[9].Packet.Flags, wire.FlagRST, "RST")
	check(e[9].Packet.Seq, uint32(5), "RST seq")
	check(e[11].Packet.Options, []Option{{Kind: 99}, {Kind: wire.OptNOP}, {Kind: 253, Data: []byte{0xf9, 0x89, 0xca, 0xfe}}}, "opt-KIND")

	// String gives back what parses to the same events.
	again, err := Parse("t.pkt", []byte(s.String()))
	if err != nil {
		t.Fatalf("%v\n%s", err, s)
	}
	if !sameEvents(s, again) {
		t.Errorf("round trip differs:\n%s\n%s", s, again)
	}
}

// sameEvents reports whether two scripts have the same events, apart from
// where they are written.
func sameEvents(a, b *Script) bool {
	if len(a.Events) != len(b.Events) {
		return false
	}
	for i := range a.Events {
		x, y := *a.Events[i], *b.Events[i]
		x.Line, x.Col, y.Line, y.Col = 0, 0, 0, 0
		if !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		src, want string // want: line:col: and a piece of the message
	}{
		{"0 < S 0:0(0)\nx", "2:1: expected a time"},
		{"0 < Q 0:0(0)", "1:5: expected the TCP flags"},
		{"0 < SZ 0:0(0)", "1:6: unknown TCP flag Z"},
		{"0 < S 0:1(0)", "1:7: 0:1(0) does not add up"},
		{"0 < . 1:1(0)", "1:7: needs its acknowledgment number"},
		{"0 < S 0:0(0) ack 1", "1:14: ack without the ACK flag"},
		{"0 < S 0:0(0) <mss 1460,foo>", "1:24: unknown option \"foo\""},
		{"0 < S 0:0(0) <opt-2:05b4>", "1:19: opt-2 has a name"},
		{"0 < S 0:0(0) <opt-256>", "1:19: the kind of opt-KIND 256 is out of range"},
		{"0 < S 0:0(0) <opt-99:>", "1:22: expected the contents of opt-99 in hex"},
		{"0 < S 0:0(0) <opt-99:abc>", "1:22: odd number of hex digits"},
		{"0 < S 0:0(0) <...>", "1:14: <...> (any options) is for expected segments"},
		{"0 < S 0:0(0) <mss 1460 win 7>", "1:24: expected , or >"},
		{"0 < S 0:0(0) <mss 70000>", "1:19: the value of mss 70000 is out of range"},
		{"0 < S 0:0(0) <sack 1:2 3:4 5:6 7:8 9:10>", "1:36: at most 4 SACK blocks"},
		{"0 < S 0:0(0) <TS val 1 ecr 2,TS val 1 ecr 2,TS val 1 ecr 2,TS val 1 ecr 2,TS val 1 ecr 2>", "1:14: the options take 50 bytes"},
		{"0 < S 0:0(0) win 1 win 2", "1:20: win given twice"},
		{"0 < S 0:0(0) junk", "1:14: unexpected \"junk\" after the event"},
		{"0 frob(3) = 0", "1:3: unknown system call \"frob\""},
		{"0 listen(3) = 0", "1:3: listen takes 2 arguments, not 1"},
		{"0 listen(3, x) = 0", "1:13: listen: argument 2: expected the backlog"},
		{"0 bind(3, 1, ...) = 0", "1:11: bind: argument 2: expected ... for the address"},
		{"0 close(3) = -1", "1:14: name its errno"},
		{"0 close(3) = 0 EBADF", "1:14: returns -1, not 0"},
		{"0 close(3) = -1 EFOO", "1:17: unknown errno \"EFOO\""},
		{"0 close(3) = -1 EBADF (Bad", "1:23: never closed by )"},
		{"0 setsockopt(3, SOL_SOCKET, SO_LINGER, [1], 4) = 0", "1:40: expected {onoff=N, linger=N}"},
		{"0 setsockopt(3, IPPROTO_TCP, SO_RCVBUF, [1], 4) = 0", "1:30: expected TCP_NODELAY"},
		{"0...1 < S 0:0(0)", "1:7: only a system call can have a ... window"},
		{"*...1 read(3, ..., 1) = 1", "1:2: needs a start time"},
		{"0.2...0.1 read(3, ..., 1) = 1", "1:4: the call's window ends"},
		{"0.2~0.1 > S 0:0(0)", "1:8: the window ends"},
		{"+0.1~0.2 > S 0:0(0)", "1:6: expected + after ~"},
		{"0.1234567891 > S 0:0(0)", "1:1: at most nine decimals"},
		{"0 `sysctl -w x=1`", "1:3: shell commands"},
		{"0 read(3, ..., 1) = 1 /* open", "1:23: comment /* is never closed"},
		{"0 read(3, [[[[[1]]]]], 1) = 1", "1:15: arguments nest too deep"},
		{"0 < S 0:0(0)\n", ""},
	} {
		_, err := Parse("x.pkt", []byte(tc.src))
		if tc.want == "" {
			if err != nil {
				t.Errorf("%q: %v", tc.src, err)
			}
			continue
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%q: error %v, want a *SyntaxError", tc.src, err)
			continue
		}
		pos, msg, _ := strings.Cut(tc.want, ": ")
		if got := err.Error(); !strings.HasPrefix(got, "x.pkt:"+pos+": ") || !strings.Contains(got, msg) {
			t.Errorf("%q:\n got %v\nwant x.pkt:%s: ...%s...", tc.src, err, pos, msg)
		}
	}
}

// FuzzParse checks that the parser never panics, and that what it parses
// prints as text that parses to the same events.
func FuzzParse(f *testing.F) {
	paths, _ := filepath.Glob("scripts/*/*.pkt")
	more, _ := filepath.Glob("testdata/*/*.pkt")
	for _, p := range append(paths, more...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("0 < S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>\n+0 > S. 0:0(0) ack 1 <...>"))
	f.Add([]byte("+0...0.1 read(4, ..., 10) = -1 EAGAIN (x)\n0.1~0.2 setsockopt(4, SOL_SOCKET, SO_LINGER, {l_onoff=1, l_linger=0}, ...) = 0"))
	f.Add([]byte("* > F. 1:1(0) ack 1 <nop,nop,sack 1:2>\n+.5~+1 < R. 4294967295:0(1) ack 1 win 0"))
	f.Fuzz(func(t *testing.T, src []byte) {
		s, err := Parse("f.pkt", src)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Line < 1 || se.Col < 1 {
				t.Fatalf("error %v is not a *SyntaxError with a position", err)
			}
			return
		}
		text := s.String()
		again, err := Parse("f.pkt", []byte(text))
		if err != nil {
			t.Fatalf("String gave text that does not parse: %v\n%s", err, text)
		}
		if !sameEvents(s, again) {
			t.Fatalf("round trip differs:\n%s\n%s", text, again)
		}
	})
}
