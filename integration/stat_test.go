//go:build linux

package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seqack/seqack/internal/netns"
)

// TestStat: while the kernel's nc holds a connection to "seqack serve
// --echo", "seqack stat", run outside the namespace serve runs in, shows
// the listener and the connection ESTABLISHED between the addresses and
// ports the kernel's ss shows for its end; when serve stops, its control
// socket is gone.
func TestStat(t *testing.T) {
	netns.Require(t, "nc", "ss")
	ns := netns.New(t)
	ctl := filepath.Join(t.TempDir(), "ctl.sock")
	srv := serve(t, ns, "--echo", "7", "--control", ctl)

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	nc := start(t, ns, r, "nc", seqackAddr, "7")
	r.Close()
	fmt.Fprintln(w, "hello, stat")
	nc.waitLine("hello, stat")
	kernel := sockets(ns, seqackAddr+":7")
	if len(kernel) != 1 || !strings.HasPrefix(kernel[0], "ESTAB ") {
		t.Fatalf("the kernel's sockets to echo are %q, want one ESTAB", kernel)
	}
	ncAddr := strings.Fields(kernel[0])[1]

	// stat runs in the test's own namespace, not serve's.
	out, err := exec.Command(seqackBinary(t), "stat", "--control", ctl).CombinedOutput()
	if err != nil {
		t.Fatalf("seqack stat: %v\n%s", err, out)
	}
	t.Logf("seqack stat:\n%s", out)
	var listen, estab bool
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) != 5 {
			continue
		}
		switch {
		case f[0] == "LISTEN" && f[1] == "0" && f[2] == "128" && f[3] == seqackAddr+":7":
			listen = true
		case f[0] == "ESTABLISHED" && f[1] == "0" && f[2] == "0" && f[3] == seqackAddr+":7" && f[4] == ncAddr:
			estab = true
		}
	}
	if !listen || !estab {
		t.Errorf("seqack stat shows listener %v, connection from %s ESTABLISHED %v; want both:\n%s", listen, ncAddr, estab, out)
	}
	for _, want := range []string{"Stack:", "TCPSegmentsIn", "Device " + tunName + ":", "PacketsRead", "Process:", "VmHWMBytes"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("seqack stat lacks %q", want)
		}
	}

	w.Close() // nc closes its side; echo closes too
	if err := srv.interrupt(); err != nil {
		t.Fatalf("seqack serve: %v\n%s", err, srv.output())
	}
	if _, err := os.Lstat(ctl); err == nil {
		t.Errorf("control socket %s left behind after serve stopped", ctl)
	}
	if out, err := exec.Command(seqackBinary(t), "stat", "--control", ctl).CombinedOutput(); err == nil {
		t.Errorf("seqack stat after serve stopped succeeded:\n%s", out)
	}
}
