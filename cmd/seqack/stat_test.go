package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seqack/seqack/link"
	"github.com/seqack/seqack/stack"
	"github.com/seqack/seqack/wire"
)

// statHost is a serve-like host on a Pipe, with its control socket, and a
// client host on the other end.
type statHost struct {
	client, server *stack.Stack
	path           string
}

func newStatHost(t *testing.T) *statHost {
	t.Helper()
	a, b := link.Pipe()
	client, err := stack.New(a, stack.Config{Addrs: []netip.Addr{netip.MustParseAddr("10.7.0.1")}})
	if err != nil {
		t.Fatal(err)
	}
	server, err := stack.New(b, stack.Config{Addrs: []netip.Addr{netip.MustParseAddr("10.7.0.2")}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ctl.sock")
	cs, err := listenControl(path, func() *snapshot {
		return stackSnapshot(server, "pipe0", namedCounters{"device", struct{ PacketsRead, PacketsWritten uint64 }{7, 0}})
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cs.Close()
		client.Close()
		server.Close()
		if _, err := os.Lstat(path); err == nil {
			t.Errorf("control socket %s still there after Close", path)
		}
	})
	return &statHost{client: client, server: server, path: path}
}

// stat runs "seqack stat" with args and returns its output.
func (h *statHost) stat(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := run(append([]string{"stat", "--control", h.path}, args...), &out, &errOut); code != 0 {
		t.Fatalf("seqack stat %s: exit %d: %s", strings.Join(args, " "), code, errOut.String())
	}
	return out.String()
}

// row is one line of stat's connection table.
type row struct {
	state         string
	recvQ, sendQ  int
	local, remote string
}

// parseTable reads the connection table, up to the first blank line, and
// checks its header.
func parseTable(t *testing.T, out string) []row {
	t.Helper()
	lines := strings.Split(out, "\n")
	if f := strings.Fields(lines[0]); !slices.Equal(f, strings.Fields("State Recv-Q Send-Q Local Address:Port Peer Address:Port")) {
		t.Fatalf("table header is %q", lines[0])
	}
	var rows []row
	for _, line := range lines[1:] {
		if line == "" {
			break
		}
		f := strings.Fields(line)
		if len(f) != 5 {
			t.Fatalf("table row %q does not have 5 fields", line)
		}
		r, err1 := strconv.Atoi(f[1])
		s, err2 := strconv.Atoi(f[2])
		if err1 != nil || err2 != nil {
			t.Fatalf("table row %q: queues are not numbers", line)
		}
		rows = append(rows, row{f[0], r, s, f[3], f[4]})
	}
	return rows
}

// parseCounters reads the counters of the group whose title starts with
// title: name → value.
func parseCounters(t *testing.T, out, title string) map[string]uint64 {
	t.Helper()
	_, rest, ok := strings.Cut(out, "\n"+title)
	if !ok && strings.HasPrefix(out, title) {
		rest, ok = out[len(title):], true
	}
	if !ok {
		t.Fatalf("no %q counters in:\n%s", title, out)
	}
	m := map[string]uint64{}
	for _, line := range strings.Split(rest, "\n")[1:] {
		if !strings.HasPrefix(line, "  ") {
			break
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			t.Fatalf("counter line %q does not have 2 fields", line)
		}
		v, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			t.Fatalf("counter line %q: %v", line, err)
		}
		m[f[0]] = v
	}
	return m
}

// TestStat: stat shows a listener with its accept queue and backlog, an
// established connection with unread bytes in its Recv-Q, and the
// counters; -c leaves the table out and -a adds the zeros.
func TestStat(t *testing.T) {
	h := newStatHost(t)
	ln, err := h.server.ListenTCP("tcp", "10.7.0.2:80")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := h.client.DialTCP(context.Background(), "tcp", "10.7.0.2:80")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	client := c.LocalAddr().(*net.TCPAddr).AddrPort().String()
	want := []row{
		{"LISTEN", 1, 128, "10.7.0.2:80", "0.0.0.0:*"}, // one connection not accepted
		{"ESTABLISHED", 5, 0, "10.7.0.2:80", client},   // five bytes not read
	}
	var out string
	var rows []row
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		out = h.stat(t)
		if rows = parseTable(t, out); slices.Equal(rows, want) || time.Now().After(deadline) {
			break
		}
	}
	if !slices.Equal(rows, want) {
		t.Fatalf("table %+v; want %+v:\n%s", rows, want, out)
	}
	t.Logf("seqack stat:\n%s", out)

	st := parseCounters(t, out, "Stack:")
	if st["IPReceived"] < 2 || st["TCPSegmentsIn"] < 2 || st["IPSent"] < 2 {
		t.Errorf("stack counters %v: want the handshake and the data counted", st)
	}
	if _, ok := st["IPFragments"]; ok {
		t.Errorf("without -a, the zero IPFragments is shown:\n%s", out)
	}
	if l := parseCounters(t, out, "Listener 10.7.0.2:80"); l["SynsReceived"] != 1 {
		t.Errorf("listener counters %v: want SynsReceived 1", l)
	}
	if d := parseCounters(t, out, "Device pipe0:"); d["PacketsRead"] != 7 {
		t.Errorf("device counters %v: want PacketsRead 7", d)
	}
	if p := parseCounters(t, out, "Process:"); p["Goroutines"] == 0 || p["HeapInuseBytes"] == 0 {
		t.Errorf("process counters %v: want goroutines and heap", p)
	}

	out = h.stat(t, "-c", "-a")
	if strings.Contains(out, "Recv-Q") {
		t.Errorf("with -c, the table is printed:\n%s", out)
	}
	st = parseCounters(t, out, "Stack:")
	for _, name := range []string{"IPFragments", "ParseErrors[tcp:bad-checksum]", "ICMPIn[echo-request]", "ICMPOut[42]"} {
		if v, ok := st[name]; !ok || v != 0 {
			t.Errorf("with -a, %s = %d, %v; want 0 shown", name, v, ok)
		}
	}
}

// TestStatNoServer: stat says so when nothing answers.
func TestStatNoServer(t *testing.T) {
	var out, errOut bytes.Buffer
	path := filepath.Join(t.TempDir(), "none.sock")
	if code := run([]string{"stat", "--control", path}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "no seqack serve answers") {
		t.Errorf("exit %d, %q; want 1 and a message", code, errOut.String())
	}
}

// TestControlSocketReuse: a socket left by a serve that is gone is
// replaced; one that still answers is refused; a file that is not a socket
// is left alone.
func TestControlSocketReuse(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ctl.sock")
	snap := func() *snapshot { return &snapshot{Time: time.Now()} }
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	stale.Close() // the file stays, with nobody behind it
	cs, err := listenControl(path, snap)
	if err != nil {
		t.Fatalf("replacing a stale socket: %v", err)
	}
	if _, err := listenControl(path, snap); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second server on a live socket: %v; want an error saying it is in use", err)
	}
	cs.Close()
	plain := filepath.Join(dir, "plain")
	os.WriteFile(plain, []byte("x"), 0o644)
	if _, err := listenControl(plain, snap); err == nil {
		t.Errorf("control socket over a regular file: no error")
	}
	if b, _ := os.ReadFile(plain); string(b) != "x" {
		t.Errorf("the regular file was changed")
	}
}

// TestFlattenCounters: every exported integer field becomes a counter,
// arrays by index (named where the index means something), nested structs
// with a prefix; other fields are skipped.
func TestFlattenCounters(t *testing.T) {
	type inner struct{ X, y uint32 }
	var v struct {
		A           uint64
		B           int
		Neg         int64
		skipped     uint64
		Name        string
		ParseErrors [2]uint64
		ICMPIn      [4]uint64
		Other       [2]uint16
		In          inner
		Flag        bool
	}
	v.A, v.B, v.Neg, v.skipped = 1, 2, -3, 4
	v.ParseErrors[wire.ReasonIPv4Version] = 5
	v.ICMPIn[wire.ICMPDestUnreachable] = 6
	v.Other[1] = 7
	v.In = inner{8, 9}
	got := flattenCounters(v)
	want := []counter{
		{"A", 1}, {"B", 2}, {"Neg", 0},
		{"ParseErrors[ipv4:packet-shorter-than-20-bytes]", 0}, {"ParseErrors[ipv4:version-is-not-4]", 5},
		{"ICMPIn[echo-reply]", 0}, {"ICMPIn[1]", 0}, {"ICMPIn[2]", 0}, {"ICMPIn[dest-unreachable]", 6},
		{"Other[0]", 0}, {"Other[1]", 7},
		{"In.X", 8},
	}
	if !slices.Equal(got, want) {
		t.Errorf("flattenCounters =\n%v\nwant\n%v", got, want)
	}
	if got := flattenCounters(&v); !slices.Equal(got, want) {
		t.Errorf("through a pointer: %v", got)
	}
}

// TestStatByTun: stat --tun finds the socket serve makes by default for
// the device.
func TestStatByTun(t *testing.T) {
	tun := fmt.Sprintf("sqktest%d", os.Getpid())
	path := defaultControlPath(tun)
	cs, err := listenControl(path, func() *snapshot {
		return &snapshot{Time: time.Now(), Conns: []snapConn{{State: "ESTABLISHED", Local: "10.7.0.2:80", Remote: "10.7.0.1:40000", RecvQ: 3}}}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if !slices.Contains(controlCandidates(tun), path) {
		t.Fatalf("serve's default %s is not among stat's candidates %v", path, controlCandidates(tun))
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"stat", "--tun", tun}, &out, &errOut); code != 0 {
		t.Fatalf("seqack stat --tun %s: exit %d: %s", tun, code, errOut.String())
	}
	if rows := parseTable(t, out.String()); len(rows) != 1 || rows[0] != (row{"ESTABLISHED", 3, 0, "10.7.0.2:80", "10.7.0.1:40000"}) {
		t.Errorf("table %+v:\n%s", rows, out.String())
	}
}
