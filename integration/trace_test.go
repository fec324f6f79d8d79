//go:build linux

package integration

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/seqack/seqack/internal/netns"
)

// TestTraceTcpdump: "seqack trace" draws the ladder of a connection
// between two kernels (two namespaces joined by a veth pair) from what
// tcpdump captured on "any" (Linux cooked capture v2), on the veth
// (Ethernet, nanosecond timestamps), and from the same capture converted
// to pcapng by editcap: each end's states, from the SYN to TIME_WAIT and
// CLOSED, as RFC 9293 draws them.
func TestTraceTcpdump(t *testing.T) {
	netns.Require(t, "tcpdump", "nc", "editcap")
	a, b := netns.New(t), netns.New(t)
	netns.Veth(t, a, "10.8.0.1/24", b, "10.8.0.2/24", 1500)
	dir := t.TempDir()
	anyPcap, ethPcap, ngPcap := filepath.Join(dir, "any.pcap"), filepath.Join(dir, "eth.pcap"), filepath.Join(dir, "eth.pcapng")

	dumps := []*process{
		start(t, a, nil, "tcpdump", "-i", "any", "--immediate-mode", "-U", "-n", "-w", anyPcap, "tcp port 7000"),
		start(t, a, nil, "tcpdump", "-i", "veth0", "--immediate-mode", "-U", "-n", "--time-stamp-precision=nano", "-w", ethPcap, "tcp port 7000"),
	}
	for _, d := range dumps {
		if !eventually(func() bool { return strings.Contains(d.output(), "listening on") }) {
			t.Fatalf("tcpdump did not start:\n%s", d.output())
		}
	}
	// The server reads until the client's FIN, then closes: the client
	// closes first.
	srv := start(t, b, nil, "sh", "-c", "nc -l 10.8.0.2 7000 < /dev/null")
	if !eventually(func() bool { return strings.Contains(b.Run("ss", "-tlnH"), "10.8.0.2:7000") }) {
		t.Fatalf("nc -l is not listening:\n%s", srv.output())
	}
	a.Run("sh", "-c", "echo ping | nc -N 10.8.0.2 7000")
	if err := srv.wait(); err != nil {
		t.Fatalf("nc -l: %v\n%s", err, srv.output())
	}
	if !eventually(func() bool { return strings.Contains(a.Run("ss", "-tanH"), "TIME-WAIT") }) {
		t.Fatalf("the client never reached TIME-WAIT: %s", a.Run("ss", "-tanH"))
	}
	for _, d := range dumps {
		d.interrupt()
		if !strings.Contains(d.output(), "packets captured") {
			t.Fatalf("tcpdump:\n%s", d.output())
		}
	}
	a.Run("editcap", "-F", "pcapng", ethPcap, ngPcap)

	for _, file := range []string{anyPcap, ethPcap, ngPcap} {
		tr := start(t, a, nil, seqackBinary(t), "trace", "--relative", file)
		if err := tr.wait(); err != nil {
			t.Fatalf("seqack trace %s: %v\n%s", file, err, tr.output())
		}
		out := tr.output()
		for _, want := range []string{
			"in 1 connections",
			"10.8.0.1:",
			": CLOSED → SYN_SENT → ESTABLISHED → FIN_WAIT_1 → FIN_WAIT_2 → TIME_WAIT\n",
			"10.8.0.2:7000: LISTEN → SYN_RCVD → ESTABLISHED → CLOSE_WAIT → LAST_ACK → CLOSED\n",
			"[S] seq 0 win ", "[S.] seq 0 ack 1 ", "length 5",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("seqack trace %s lacks %q:\n%s", filepath.Base(file), want, out)
			}
		}
		if t.Failed() {
			t.Logf("tcpdump's own view:\n%s", a.Run("tcpdump", "-n", "-r", file))
			return
		}
	}
	tr := start(t, a, nil, seqackBinary(t), "trace", ethPcap)
	tr.wait()
	t.Logf("seqack trace of tcpdump's capture between two kernels:\n%s", tr.output())
}
