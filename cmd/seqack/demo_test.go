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

// TestDemoUsage: bad flags get a clear answer and a non-zero exit.
func TestDemoUsage(t *testing.T) {
	for _, args := range [][]string{
		{"demo", "--server-closes-first", "--simultaneous-close"},
		{"demo", "--msl", "0"},
		{"demo", "--no-such-flag"},
		{"demo", "extra"},
		{"nonsense"},
		{},
	} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code == 0 || errOut.Len() == 0 {
			t.Errorf("%q: exit %d, stderr %q; want an error", args, code, errOut.String())
		}
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"demo", "-h"}, &out, &errOut); code != 0 || !strings.Contains(errOut.String(), "--simultaneous-close") && !strings.Contains(errOut.String(), "-simultaneous-close") {
		t.Errorf("demo -h: exit %d, %q", code, errOut.String())
	}
}
