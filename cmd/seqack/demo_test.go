package main

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestDemo runs "seqack demo" in each close order and checks that the
// ladder shows what a textbook shows: every state each side passes
// through, the ISNs, seq x → ack x+1, and the FIN consuming one number.
func TestDemo(t *testing.T) {
	for _, tc := range []struct {
		name           string
		args           []string
		client, server string
	}{
		{"client closes first", nil,
			"CLOSED → SYN_SENT → ESTABLISHED → FIN_WAIT_1 → FIN_WAIT_2 → TIME_WAIT → CLOSED",
			"CLOSED → LISTEN → SYN_RCVD → ESTABLISHED → CLOSE_WAIT → LAST_ACK → CLOSED"},
		{"server closes first", []string{"--server-closes-first"},
			"CLOSED → SYN_SENT → ESTABLISHED → CLOSE_WAIT → LAST_ACK → CLOSED",
			"CLOSED → LISTEN → SYN_RCVD → ESTABLISHED → FIN_WAIT_1 → FIN_WAIT_2 → TIME_WAIT → CLOSED"},
		{"simultaneous close", []string{"--simultaneous-close"},
			"CLOSED → SYN_SENT → ESTABLISHED → FIN_WAIT_1 → CLOSING → TIME_WAIT → CLOSED",
			"CLOSED → LISTEN → SYN_RCVD → ESTABLISHED → FIN_WAIT_1 → CLOSING → TIME_WAIT → CLOSED"},
		{"simultaneous close over a long path", []string{"--simultaneous-close", "--delay", "50ms"},
			"CLOSED → SYN_SENT → ESTABLISHED → FIN_WAIT_1 → CLOSING → TIME_WAIT → CLOSED",
			"CLOSED → LISTEN → SYN_RCVD → ESTABLISHED → FIN_WAIT_1 → CLOSING → TIME_WAIT → CLOSED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := append([]string{"demo", "--msl", "20ms", "--message", "ping"}, tc.args...)
			if code := run(args, &out, &errOut); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			s := out.String()
			for _, want := range []string{
				"10.0.0.1:", "10.0.0.2:80",
				": " + tc.client + "\n",
				"10.0.0.2:80: " + tc.server + "\n",
				"[S] seq ", "[S.] seq ", "<mss 1460,sackOK,TS val ", ",nop,wscale 7>", "length 4", "(2MSL timer expired)",
				"this demo uses --msl 20ms, so it lasted 40ms",
			} {
				if !strings.Contains(s, want) {
					t.Errorf("output lacks %q:\n%s", want, s)
				}
			}
			// seq x → ack x+1 in the handshake, read back from the ladder.
			syn := regexp.MustCompile(`\[S\] seq (\d+) `).FindStringSubmatch(s)
			synack := regexp.MustCompile(`\[S\.\] seq (\d+) ack (\d+) `).FindStringSubmatch(s)
			if syn == nil || synack == nil {
				t.Fatalf("no SYN or SYN-ACK in:\n%s", s)
			}
			x, _ := strconv.ParseUint(syn[1], 10, 32)
			ack, _ := strconv.ParseUint(synack[2], 10, 32)
			if uint32(ack) != uint32(x)+1 {
				t.Errorf("SYN seq %d, SYN-ACK ack %d: want x+1", x, ack)
			}
			if !strings.Contains(s, "ISN "+syn[1]) || !strings.Contains(s, "ISN "+synack[1]) {
				t.Errorf("ladder header does not show both ISNs %s and %s", syn[1], synack[1])
			}
			// Each FIN is acknowledged with its seq + 1.
			fins := regexp.MustCompile(`\[F\.\] seq (\d+) `).FindAllStringSubmatch(s, -1)
			if len(fins) < 2 {
				t.Fatalf("want two FINs:\n%s", s)
			}
			for _, f := range fins {
				seq, _ := strconv.ParseUint(f[1], 10, 32)
				if !strings.Contains(s, "ack "+strconv.FormatUint(uint64(uint32(seq)+1), 10)+" ") {
					t.Errorf("FIN seq %d is never acknowledged with ack %d", seq, uint32(seq)+1)
				}
			}
		})
	}
}

// TestDemoRelative: with --relative the client's SYN is seq 0 and is
// acknowledged with ack 1.
func TestDemoRelative(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"demo", "--relative", "--msl", "10ms"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{"[S] seq 0 win", "[S.] seq 0 ack 1 win", "relative sequence numbers"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestDemoUsage: bad flags get a clear answer, naming the flag, and a
// non-zero exit.
func TestDemoUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // in the error
	}{
		{[]string{"demo", "--server-closes-first", "--simultaneous-close"}, "exclude each other"},
		{[]string{"demo", "--msl", "0"}, "--msl"},
		{[]string{"demo", "--no-such-flag"}, "no-such-flag"},
		{[]string{"demo", "extra"}, "extra"},
		{[]string{"demo", "--loss", "-1"}, "-loss"},
		{[]string{"demo", "--loss", "101"}, "from 0 to 100"},
		{[]string{"demo", "--loss", "five"}, "percentage"},
		{[]string{"demo", "--loss", "NaN"}, "-loss"},
		{[]string{"demo", "--reorder", "150%"}, "-reorder"},
		{[]string{"demo", "--reorder", "5", "--delay", "0"}, "--reorder needs --delay"},
		{[]string{"demo", "--delay", "-1ms"}, "--delay"},
		{[]string{"demo", "--delay", "1h"}, "--delay"},
		{[]string{"demo", "--bytes", "-5"}, "--bytes"},
		{[]string{"demo", "--bytes", "0"}, "--bytes 0"},
		{[]string{"demo", "--bytes", "2000000"}, "--bytes"},
		{[]string{"demo", "--bytes", "100", "--message", "hi"}, "exclude each other"},
		{[]string{"demo", "--message", ""}, "--message"},
		{[]string{"demo", "--seed", "-1"}, "-seed"},
		{[]string{"nonsense"}, "nonsense"},
		{nil, "Usage"},
	} {
		var out, errOut bytes.Buffer
		if code := run(tc.args, &out, &errOut); code == 0 || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want an error with %q", tc.args, code, errOut.String(), tc.want)
		}
	}
}

// TestDemoHelp: -h explains every flag, and says how to read the output.
func TestDemoHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"demo", "-h"}, &out, &errOut); code != 0 {
		t.Fatalf("demo -h: exit %d", code)
	}
	help := errOut.String()
	for _, want := range []string{
		"-message", "-server-closes-first", "-simultaneous-close", "-relative", "-msl",
		"-loss", "-delay", "-reorder", "-seed", "-bytes",
		"percent", "one-way delay", "same seed gives the same output", "virtual clock",
		"seqack demo --loss 5 --bytes 20000 --seed",
	} {
		if !strings.Contains(help, want) {
			t.Errorf("demo -h lacks %q:\n%s", want, help)
		}
	}
}

// TestDemoVirtualTime: the ladder's clock is the simulator's: the SYN
// leaves at 0.000ms and the one-way delay shows as the gap before the
// SYN-ACK; the seed is printed.
func TestDemoVirtualTime(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"demo", "--delay", "10ms", "--seed", "7"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	s := out.String()
	for _, want := range []string{
		"one-way delay 10ms, seed 7",
		"\n  0.000ms  SYN_SENT     ── [S] seq ",
		"\n 10.000ms  ESTABLISHED  ◀── [S.] seq ",
		"\n 20.000ms  ESTABLISHED  ── [",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
}

// demoOutput runs "seqack demo" with args and returns its output.
func demoOutput(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := run(append([]string{"demo"}, args...), &out, &errOut); code != 0 {
		t.Fatalf("demo %q: exit %d: %s", args, code, errOut.String())
	}
	return out.String()
}

// TestDemoDeterministic: a seed replays a lossy run byte for byte.
func TestDemoDeterministic(t *testing.T) {
	for _, args := range [][]string{
		{"--loss", "5", "--bytes", "20000", "--seed", "3"},
		{"--loss", "20%", "--reorder", "10", "--delay", "5ms", "--seed", "11", "--relative"},
		{"--loss", "0.5", "--simultaneous-close", "--seed", "12345678901234"},
	} {
		first := demoOutput(t, args...)
		if again := demoOutput(t, args...); again != first {
			t.Errorf("demo %q printed different output on a second run:\n%s\n---\n%s", args, first, again)
		}
	}
}

// TestDemoLoss: with loss, the ladder marks the lost segments and their
// retransmissions, and the notes tell how each came back. The seeds are
// searched rather than fixed, so that the test outlives changes to the
// engine that change which packets a seed loses.
func TestDemoLoss(t *testing.T) {
	var fast, timeout, probe bool
	for seed := 1; seed <= 60 && !(fast && timeout && probe); seed++ {
		s := demoOutput(t, "--loss", "5", "--bytes", "20000", "--relative", "--seed", strconv.Itoa(seed))
		if !strings.Contains(s, "The network (one-way delay 1ms, loss 5%, seed "+strconv.Itoa(seed)+")") ||
			!strings.Contains(s, "Goodput: 20000 bytes in ") {
			t.Fatalf("seed %d: no notes on the network:\n%s", seed, s)
		}
		flat := strings.Join(strings.Fields(s), " ") // the notes are wrapped
		if !strings.Contains(s, "X  ") && !strings.Contains(s, "  X─") {
			continue // nothing lost
		}
		if !strings.Contains(s, "X lost: sent, never received") || !strings.Contains(s, "  Lost: the ") {
			t.Errorf("seed %d: a segment is drawn lost, but neither the legend nor the notes say so:\n%s", seed, s)
		}
		if strings.Contains(s, "(fast retransmission)") {
			fast = true
			// (Three duplicate ACKs, or fewer with SACK blocks that show the
			// hole, or the answer to a tail loss probe.)
			for _, want := range []string{"dup ACK #", "<sack 1 {", "by fast retransmission, without waiting for its retransmission timer",
				"fast retransmission: resent on duplicate ACKs"} {
				if !strings.Contains(flat, want) {
					t.Errorf("seed %d: a fast retransmission, but the output lacks %q:\n%s", seed, want, s)
				}
			}
		}
		if strings.Contains(s, "(tail loss probe)") {
			probe = true
			for _, want := range []string{"(tail loss probe timer expired)", "tail loss probe: the last segment resent", "by a tail loss probe"} {
				if !strings.Contains(flat, want) {
					t.Errorf("seed %d: a tail loss probe, but the output lacks %q:\n%s", seed, want, s)
				}
			}
		}
		if strings.Contains(s, "(retransmission timer expired)") && strings.Contains(s, "data seq") {
			timeout = true
			if !strings.Contains(flat, "waited for its retransmission timer") {
				t.Errorf("seed %d: a timeout, but the notes do not say so:\n%s", seed, s)
			}
		}
	}
	if !fast || !timeout || !probe {
		t.Errorf("no seed up to 60 shows a fast retransmission (%v), a timeout (%v) and a tail loss probe (%v) with --loss 5 --bytes 20000", fast, timeout, probe)
	}
}

// TestDemoGivesUp: when nothing gets through, the demo does not hang: it
// prints how far it got and an error that names the seed.
func TestDemoGivesUp(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"demo", "--loss", "100", "--seed", "42"}, &out, &errOut)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	flat := strings.Join(strings.Fields(out.String()), " ") // the notes are wrapped
	for _, want := range []string{"(retransmission)", "(error: connection timed out)", "exponential backoff", "The client gave up."} {
		if !strings.Contains(flat, want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if e := errOut.String(); !strings.Contains(e, "seed 42") || !strings.Contains(e, "timed out") {
		t.Errorf("error %q does not name the seed and the reason", e)
	}
}
