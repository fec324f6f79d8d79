package conform

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/seqack/seqack/wire"
)

// listening is the start of a script with a listener on fd 3.
const listening = `0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
`

// established is listening followed by a handshake; fd 4 is the
// connection, at 0.01 s.
const established = listening + `+0 < S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>
+0 > S. 0:0(0) ack 1 <mss 1460,sackOK,TS val 200 ecr 100,nop,wscale 7>
+.01 < . 1:1(0) ack 1 win 1024 <nop,nop,TS val 110 ecr 200>
+0 accept(3, ..., ...) = 4
`

// runSeqack runs a script given as text against a fresh seqack target.
func runSeqack(t *testing.T, src string, wrap func(Target) Target) error {
	t.Helper()
	s, err := Parse("t.pkt", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	sq, err := NewSeqack(SeqackOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer sq.Close()
	var tg Target = sq
	if wrap != nil {
		tg = wrap(sq)
	}
	r := Runner{Logf: t.Logf}
	return r.Run(s, tg)
}

// TestRunFailures checks that the interpreter catches each kind of
// mismatch, at the right line, with a message that says what it expected.
func TestRunFailures(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		line      int
		want      string
	}{
		{"result", "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 listen(3, 1) = -1 EINVAL (Invalid argument)\n",
			2, "listen returned 0, expected -1 EINVAL (Invalid argument)"},
		{"errno", "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 read(3, ..., 10) = -1 EAGAIN (x)\n",
			2, "read returned -1 ENOTCONN (Transport endpoint is not connected), expected -1 EAGAIN"},
		{"bad fd", "0 close(7) = 0\n", 1, "close returned -1 EBADF"},
		{"flags", "0 < S 0:0(0) win 65535\n+0 > R 0:0(0)\n", 2, `expected "> R 0:0(0)" but saw "> R. 0:0(0) ack 1 win 0"`},
		{"options", listening + "+0 < S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>\n" +
			"+0 > S. 0:0(0) ack 1 <mss 1460,sackOK,TS val 200 ecr 101,nop,wscale 7>\n",
			5, "(option 3: TS val"},
		{"too few options", listening + "+0 < S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>\n" +
			"+0 > S. 0:0(0) ack 1 <mss 1460>\n",
			5, `expected "> S. 0:0(0) ack 1 <mss 1460>" but saw "> S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val`},
		{"early", "0 < S 0:0(0) win 65535\n+.1 > R. 0:0(0) ack 1 win 0\n",
			2, `timing: expected "> R. 0:0(0) ack 1 win 0" at 0.100000 s, but it was sent at 0.000000 s`},
		{"window", "0 < S 0:0(0) win 65535\n+.1~+.2 > R. 0:0(0) ack 1\n",
			2, "between 0.100000 s and 0.200000 s, but it was sent at 0.000000 s"},
		{"nothing sent", "0 < R 0:0(0) win 65535\n+0 > R. 0:0(0) ack 1\n",
			2, `expected "> R. 0:0(0) ack 1" at 0.000000 s, but seqack sent nothing by 0.000000 s`},
		{"unexpected at the end", "0 < S 0:0(0) win 65535\n",
			1, `seqack sent "> R. 0:0(0) ack 1 win 0" at 0.000000 s, after the last event`},
		{"blocks", listening + "+0 accept(3, ..., ...) = 4\n",
			4, "accept did not return at once; if it should block, give it a window: +0...0 accept(3, ..., ...) = 4"},
		{"blocks too long", listening + "+0...0.1 accept(3, ..., ...) = 4\n+.2 close(3) = 0\n",
			4, "accept did not return by 0.100000 s"},
		{"blocks too long at the end", listening + "+0...0.1 accept(3, ..., ...) = 4\n",
			4, "accept did not return by 0.100000 s"},
		{"returns early", listening + "+0...0.1 close(3) = 0\n",
			4, "timing: expected close to return at 0.100000 s, but it returned at 0.000000 s"},
		{"returns late", established[:strings.Index(established, "+.01 <")] + "+0...0.005 accept(3, ..., ...) = 4\n" +
			"+.01 < . 1:1(0) ack 1 win 1024 <nop,nop,TS val 110 ecr 200>\n",
			6, "accept did not return by 0.005000 s"},
		{"ack", established + "+0 < P. 1:11(10) ack 1 win 1024 <nop,nop,TS val 120 ecr 200>\n" +
			"+0~+.04 > . 1:1(0) ack 10 <nop,nop,TS val 210 ecr 120>\n",
			9, `expected "> . 1:1(0) ack 10 <nop,nop,TS val 210 ecr 120>" but saw "> . 1:1(0) ack 11 win `},
		{"unsupported", "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...) = 0\n+0 connect(3, ..., ...) = 0\n",
			3, "seqack cannot make this call: conform: the target does not support this call: connect from a bound port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := runSeqack(t, tc.src, nil)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v, want a *conform.Error", err)
			}
			if e.Line != tc.line || !strings.Contains(e.Msg, tc.want) {
				t.Errorf("error\n%v\nwant t.pkt:%d: ...%s...", err, tc.line, tc.want)
			}
		})
	}
}

// recorder is a target that keeps a copy of every packet injected and
// every packet the interpreter took.
type recorder struct {
	Target
	injected, sent [][]byte
}

func (r *recorder) Inject(pkt []byte) error {
	r.injected = append(r.injected, append([]byte(nil), pkt...))
	return r.Target.Inject(pkt)
}

func (r *recorder) Next(deadline time.Duration) ([]byte, time.Duration, bool) {
	pkt, at, ok := r.Target.Next(deadline)
	if ok {
		r.sent = append(r.sent, pkt)
	}
	return pkt, at, ok
}

// TestRunNumbering checks how injected segments are numbered: Seq as
// written, Ack and SACK blocks from the system's ISN, a TS ecr that the
// script wrote as a TS val on an expected segment mapped to the val the
// system sent, any other as written.
func TestRunNumbering(t *testing.T) {
	src := established + "+0 < P. 1:11(10) ack 1 win 1024 <nop,nop,TS val 120 ecr 200>\n" +
		"+0~+.04 > . 1:1(0) ack 11 <nop,nop,TS val 210 ecr 120>\n" +
		"+0 write(4, ..., 100) = 100\n" +
		"+0 > P. 1:101(100) ack 11 <nop,nop,TS val 220 ecr 120>\n" +
		"+.01 < . 11:11(0) ack 51 win 1024 <nop,nop,TS val 130 ecr 77,nop,nop,sack 61:101>\n"
	var rec *recorder
	err := runSeqack(t, src, func(tg Target) Target {
		rec = &recorder{Target: tg}
		return rec
	})
	if err != nil {
		t.Fatal(err)
	}
	synack := segmentOf(t, rec.sent[0])
	isn := synack.Seq()
	var so wire.TCPOptions
	if err := synack.ParseOptions(&so); err != nil {
		t.Fatal(err)
	}

	last := segmentOf(t, rec.injected[len(rec.injected)-1])
	var lo wire.TCPOptions
	if err := last.ParseOptions(&lo); err != nil {
		t.Fatal(err)
	}
	if last.Seq() != 11 || last.Ack() != isn+51 {
		t.Errorf("seq %d ack %d, want 11 and %d (ISN %d + 51)", last.Seq(), last.Ack(), isn+51, isn)
	}
	if lo.TSEcr != 77 || lo.TSVal != 130 {
		t.Errorf("TS val %d ecr %d, want 130 and 77 (not a val the script wrote)", lo.TSVal, lo.TSEcr)
	}
	if lo.NumSACK != 1 || lo.SACKBlocks[0] != (wire.SACKBlock{Left: isn + 61, Right: isn + 101}) {
		t.Errorf("SACK blocks %v, want one of %d:%d", lo.SACKBlocks[:lo.NumSACK], isn+61, isn+101)
	}
	// The third ACK echoes "200", which the script wrote as the SYN-ACK's
	// val: it carries the SYN-ACK's real one.
	third := segmentOf(t, rec.injected[1])
	var to wire.TCPOptions
	if err := third.ParseOptions(&to); err != nil {
		t.Fatal(err)
	}
	if to.TSEcr != so.TSVal || to.TSEcr == 200 {
		t.Errorf("third ACK's TS ecr %d, want the SYN-ACK's TS val %d", to.TSEcr, so.TSVal)
	}
}

// segmentOf returns the TCP segment of an IPv4 packet, whose checksum must
// be right.
func segmentOf(t *testing.T, pkt []byte) wire.TCP {
	t.Helper()
	ip, err := wire.ParseIPv4(pkt)
	if err != nil {
		t.Fatal(err)
	}
	seg, err := wire.ParseTCP(ip.Payload())
	if err != nil {
		t.Fatal(err)
	}
	if !wire.VerifyTCPChecksum(ip.Src(), ip.Dst(), seg) {
		t.Error("bad TCP checksum")
	}
	return seg
}
