//go:build linux

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/seqack/seqack/internal/netns"
)

// TestCurl: the kernel's curl fetches 50 MiB from "seqack serve --http"
// and the bytes match; when curl closes first the kernel's socket is left
// in TIME_WAIT, and when seqack closes first (Connection: close) the
// kernel's socket goes through LAST_ACK to CLOSED and is gone. Then tshark,
// with TCP analysis on, reads the capture seqack wrote and finds no
// malformed packet, bad checksum, ACK of unseen data or retransmission.
func TestCurl(t *testing.T) {
	netns.Require(t, "curl", "ss", "tshark")
	ns := netns.New(t)
	dir := t.TempDir()
	const size = 50 << 20
	want := writeRandomFile(t, filepath.Join(dir, "big"), size, 1)
	writeRandomFile(t, filepath.Join(dir, "small"), 100000, 2)
	pcap := filepath.Join(dir, "curl.pcap")
	srv := serve(t, ns, "--http", "80", "--root", dir, "--pcap", pcap)
	// The kernel queues packets for seqack on the device (500 by
	// default). seqack's one read loop, which also writes the data each
	// ACK releases, and slower still under the race detector, can fall
	// behind, and then the queue drops the kernel's ACKs: the path is no
	// longer loss-free, and a tail loss probe rightly fires. A longer queue
	// keeps the path loss-free; the counters printed on failure show the
	// device's drops.
	ns.Run("ip", "link", "set", tunName, "txqueuelen", "10000")

	got := filepath.Join(dir, "got")
	ns.Run("curl", "--silent", "--show-error", "--fail", "--max-time", "300", "-o", got, "http://"+seqackAddr+"/big")
	if fileSHA256(t, got) != want {
		t.Fatalf("curl fetched 50 MiB that differ from the file served")
	}
	// The kernel's own counters, to tell in a failure below whether a
	// packet was dropped on the kernel's side of the TUN device.
	kernelCounters := ns.Run("sh", "-c", "nstat -az | grep -v ' 0 ' ; ip -s link show tun0")
	// curl closed first: its socket waits in TIME_WAIT (RFC 9293 §3.6).
	if s := sockets(ns, seqackAddr+":80"); len(s) != 1 || !strings.HasPrefix(s[0], "TIME-WAIT ") {
		t.Errorf("after curl closed first, the kernel's sockets to :80 are %q, want one in TIME-WAIT", s)
	}

	// seqack closes first: the kernel's socket ends CLOSED (gone from ss),
	// after CLOSE_WAIT and LAST_ACK, with no TIME_WAIT.
	before := sockets(ns, seqackAddr+":80")
	ns.Run("curl", "--silent", "--show-error", "--fail", "--max-time", "60", "-H", "Connection: close", "-o", got, "http://"+seqackAddr+"/small")
	if !eventually(func() bool { return slices.Equal(sockets(ns, seqackAddr+":80"), before) }) {
		t.Errorf("after seqack closed first, the kernel's sockets to :80 are %q, want only the earlier %q", sockets(ns, seqackAddr+":80"), before)
	}
	if err := srv.interrupt(); err != nil {
		t.Fatalf("seqack serve: %v\n%s", err, srv.output())
	}

	// The capture, judged by tshark. A TCP checksum field of 0xFFFF is
	// one's-complement negative zero, the same as 0x0000 to a receiver that
	// sums the segment (RFC 1071), and Linux sometimes sends it; tshark
	// calls it bad all the same, so it is not counted.
	out := ns.Run("tshark", "-n", "-r", pcap, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
		"-o", "tcp.analyze_sequence_numbers:TRUE", "-T", "fields", "-e", "frame.number", "-e", "_ws.col.Info", "-Y",
		"_ws.malformed || ip.checksum.status == \"Bad\" || (tcp.checksum.status == \"Bad\" && tcp.checksum != 0xffff) || tcp.analysis.ack_lost_segment || "+
			"tcp.analysis.fast_retransmission || tcp.analysis.lost_segment")
	if out = strings.TrimSpace(out); out != "" {
		lines := strings.Split(out, "\n")
		t.Errorf("tshark finds %d problem packets in the capture of the transfers; the first:\n%s\nthe kernel's counters after the 50 MiB transfer:\n%s\nseqack serve said:\n%s",
			len(lines), strings.Join(lines[:min(20, len(lines))], "\n"), kernelCounters, srv.output())
	}
	// On a loss-free path, the only retransmission allowed is a tail loss
	// probe (RFC 8985 §7): the last segment of a response sent again when
	// its ACK is late, which on a machine loaded by other tests (the race
	// detector, the simulator's matrix) can be more than the 10 ms a probe
	// waits on a sub-millisecond path. Linux probes the same way. Any other
	// retransmission means a segment was lost where none should be.
	rtx := ns.Run("tshark", "-n", "-r", pcap, "-o", "tcp.analyze_sequence_numbers:TRUE", "-o", "tcp.relative_sequence_numbers:TRUE",
		"-T", "fields", "-e", "frame.number", "-e", "tcp.stream", "-e", "tcp.seq", "-e", "tcp.len", "-e", "_ws.col.Info",
		"-Y", "tcp.srcport == 80 && (tcp.analysis.retransmission || tcp.analysis.spurious_retransmission)")
	if rtx = strings.TrimSpace(rtx); rtx != "" {
		ends := map[string]int{} // each stream's highest sequence number sent by seqack, past its data
		sent := ns.Run("tshark", "-n", "-r", pcap, "-o", "tcp.relative_sequence_numbers:TRUE",
			"-T", "fields", "-e", "tcp.stream", "-e", "tcp.seq", "-e", "tcp.len", "-Y", "tcp.srcport == 80 && tcp.len > 0")
		for _, line := range strings.Split(strings.TrimSpace(sent), "\n") {
			f := strings.Fields(line)
			if len(f) == 3 {
				seq, _ := strconv.Atoi(f[1])
				n, _ := strconv.Atoi(f[2])
				ends[f[0]] = max(ends[f[0]], seq+n)
			}
		}
		lines := strings.Split(rtx, "\n")
		for _, line := range lines {
			f := strings.Fields(line)
			if len(f) < 4 {
				continue
			}
			seq, _ := strconv.Atoi(f[2])
			n, _ := strconv.Atoi(f[3])
			if n == 0 || seq+n != ends[f[1]] || len(lines) > 2 {
				t.Errorf("tshark finds %d retransmissions by seqack on a loss-free path, not only tail loss probes; the first:\n%s\nseqack serve said:\n%s",
					len(lines), strings.Join(lines[:min(20, len(lines))], "\n"), srv.output())
				break
			}
			t.Logf("a tail loss probe (the last segment of a response, its ACK late on a loaded machine): %s", line)
		}
	}
	count := ns.Run("tshark", "-n", "-r", pcap, "-T", "fields", "-e", "frame.number", "-Y", "tcp")
	if n := strings.Count(count, "\n"); n < size/1500 {
		t.Errorf("tshark reads %d TCP packets in the capture, want at least %d", n, size/1500)
	}
}

// TestGet: "seqack get" fetches 50 MiB from python3's http.server on the
// kernel's side, over a TUN device made beforehand with "ip tuntap" (so
// seqack attaches to an existing device), and the bytes match.
func TestGet(t *testing.T) {
	netns.Require(t, "python3")
	ns := netns.New(t)
	dir := t.TempDir()
	want := writeRandomFile(t, filepath.Join(dir, "big"), 50<<20, 3)
	makeTUN(ns)
	py := start(t, ns, nil, "python3", "-u", "-m", "http.server", "8000", "--bind", kernelAddr, "--directory", dir)
	py.waitLine("Serving HTTP")

	got := filepath.Join(dir, "got")
	get := start(t, ns, nil, seqackBinary(t), "get", "--tun", tunName, "--addr", seqackAddr+"/24",
		"http://"+kernelAddr+":8000/big", "-o", got)
	if err := get.wait(); err != nil {
		t.Fatalf("seqack get: %v\n%s", err, get.output())
	}
	if fileSHA256(t, got) != want {
		t.Fatalf("seqack get fetched 50 MiB that differ from the file served:\n%s", get.output())
	}
	if !strings.Contains(get.output(), "200 OK, 52428800 bytes in") {
		t.Errorf("seqack get did not report the transfer:\n%s", get.output())
	}
	t.Logf("%s", strings.TrimSpace(get.output()))
}

// TestNetcat: the kernel's nc talks to seqack's echo and discard. Closing
// first with a half-close (nc -N), 4 MiB come back from echo while nc has
// already sent its FIN, and the kernel's socket ends in TIME_WAIT; discard
// takes 4 MiB. With seqack closing first (Ctrl-C on serve), the kernel sees
// a FIN, not a reset: its sockets wait in CLOSE_WAIT until nc closes, then
// pass LAST_ACK to CLOSED, while seqack goes through FIN_WAIT_2 and
// TIME_WAIT and reports a clean close. (The TUN device is made beforehand,
// so that it outlives seqack.)
func TestNetcat(t *testing.T) {
	netns.Require(t, "nc", "ss")
	ns := netns.New(t)
	makeTUN(ns)
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	want := writeRandomFile(t, in, 4<<20, 4)
	srv := serve(t, ns, "--echo", "7", "--discard", "9", "--linger", "2m")

	// Echo, client closes first: nc sends its FIN at the end of input and
	// reads the echo that is still flowing back.
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := filepath.Join(dir, "out")
	ns.Run("sh", "-c", fmt.Sprintf("nc -N %s 7 < %s > %s", seqackAddr, in, out))
	if fileSHA256(t, out) != want {
		t.Errorf("echo sent back 4 MiB that differ from what nc sent")
	}
	if s := sockets(ns, seqackAddr+":7"); len(s) != 1 || !strings.HasPrefix(s[0], "TIME-WAIT ") {
		t.Errorf("after nc closed first, the kernel's sockets to echo are %q, want one in TIME-WAIT", s)
	}

	// Discard, client closes first.
	ns.Run("sh", "-c", fmt.Sprintf("nc -N %s 9 < %s", seqackAddr, in))
	if s := sockets(ns, seqackAddr+":9"); len(s) != 1 || !strings.HasPrefix(s[0], "TIME-WAIT ") {
		t.Errorf("after nc closed first, the kernel's sockets to discard are %q, want one in TIME-WAIT", s)
	}
	srv.waitLine(": 4194304 bytes, closed by the client")

	// seqack closes first: nc stays connected to both, input still open.
	var inputs []*os.File
	for _, port := range []string{"7", "9"} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w.Close() })
		inputs = append(inputs, w)
		nc := start(t, ns, r, "nc", seqackAddr, port)
		r.Close()
		if port == "7" {
			fmt.Fprintln(w, "hello, echo")
			nc.waitLine("hello, echo")
		}
	}
	if !eventually(func() bool { return len(sockets(ns, seqackAddr+":9")) == 2 }) {
		t.Fatalf("nc did not connect to discard: %q", sockets(ns, seqackAddr+":9"))
	}
	srv.cmd.Process.Signal(syscall.SIGINT)
	closeWait := func(port string) bool {
		return slices.ContainsFunc(sockets(ns, seqackAddr+":"+port), func(x string) bool { return strings.HasPrefix(x, "CLOSE-WAIT ") })
	}
	for _, port := range []string{"7", "9"} {
		if !eventually(func() bool { return closeWait(port) }) {
			t.Errorf("after seqack closed first, the kernel's sockets to :%s are %q, want one in CLOSE-WAIT (a reset would leave none)",
				port, sockets(ns, seqackAddr+":"+port))
		}
	}
	for _, w := range inputs {
		w.Close() // nc closes its side
	}
	if err := srv.wait(); err != nil {
		t.Fatalf("seqack serve: %v\n%s", err, srv.output())
	}
	if !strings.Contains(srv.output(), "every connection closed cleanly") {
		t.Errorf("seqack serve did not close cleanly:\n%s", srv.output())
	}
	for _, port := range []string{"7", "9"} {
		if s := sockets(ns, seqackAddr+":"+port); len(s) != 1 || !strings.HasPrefix(s[0], "TIME-WAIT ") {
			t.Errorf("after both closed, the kernel's sockets to :%s are %q, want only the TIME-WAIT of the first connection", port, s)
		}
	}
}

// TestPingAndRefusals: ping gets replies from seqack, even at the MTU; a
// kernel connect to a port seqack does not serve is refused at once by a
// reset; a "seqack dial" to a port the kernel does not serve fails with
// ECONNREFUSED; and one to an address behind a "prohibit" route fails
// with EHOSTUNREACH on the kernel's ICMP error (RFC 1122 §4.2.3.9).
func TestPingAndRefusals(t *testing.T) {
	netns.Require(t, "ping", "nc")
	ns := netns.New(t)
	srv := serve(t, ns, "--echo", "7")
	out := ns.Run("ping", "-c", "3", "-i", "0.2", "-s", "1472", "-M", "do", seqackAddr)
	if !strings.Contains(out, "3 received") {
		t.Errorf("ping:\n%s", out)
	}
	nc := start(t, ns, nil, "nc", "-v", "-z", "-w", "30", seqackAddr, "81")
	if err := nc.wait(); err == nil || !strings.Contains(nc.output(), "Connection refused") {
		t.Errorf("nc to a closed seqack port: %v\n%s", err, nc.output())
	}
	if err := srv.interrupt(); err != nil {
		t.Fatalf("seqack serve: %v\n%s", err, srv.output())
	}
	if !strings.Contains(srv.output(), " 3 echo requests answered") {
		t.Errorf("seqack serve did not count the pings:\n%s", srv.output())
	}

	dial := func(addr string) *process {
		p := start(t, ns, nil, seqackBinary(t), "dial", "--tun", tunName, "--addr", seqackAddr+"/24",
			"--host-addr", kernelAddr+"/24", "--timeout", "60s", addr)
		p.wait()
		return p
	}
	if p := dial(kernelAddr + ":9"); p.cmd.ProcessState.ExitCode() != 1 || !strings.Contains(p.output(), "connection refused") {
		t.Errorf("seqack dial to a closed kernel port: exit %d\n%s", p.cmd.ProcessState.ExitCode(), p.output())
	}

	// The kernel as a router that may not forward to 10.7.9.0/24: it
	// answers with ICMP "communication administratively prohibited".
	ns.Run("sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
	ns.Run("ip", "route", "add", "prohibit", "10.7.9.0/24")
	if p := dial("10.7.9.9:80"); p.cmd.ProcessState.ExitCode() != 1 || !strings.Contains(p.output(), "no route to host") {
		t.Errorf("seqack dial to a prohibited address: exit %d\n%s", p.cmd.ProcessState.ExitCode(), p.output())
	}
}

// TestDial: "seqack dial" carries standard input to a kernel socket and
// the socket's data to standard output, and half-closes at the end of its
// input: the kernel's side reads to the end (our FIN), then sends 1 MiB
// back, which seqack still receives, then closes.
func TestDial(t *testing.T) {
	netns.Require(t, "python3")
	ns := netns.New(t)
	dir := t.TempDir()
	fromKernel := filepath.Join(dir, "k")
	want := writeRandomFile(t, fromKernel, 1<<20, 5)
	got := filepath.Join(dir, "got")
	makeTUN(ns)
	const server = `
import socket, sys
ln = socket.create_server((sys.argv[1], 9000))
print("listening", flush=True)
c, _ = ln.accept()
got = b""
while True:
    b = c.recv(65536)
    if not b:
        break
    got += b
print("got", repr(got), flush=True)
c.sendall(open(sys.argv[2], "rb").read())
c.close()
`
	py := start(t, ns, nil, "python3", "-c", server, kernelAddr, fromKernel)
	py.waitLine("listening")
	d := start(t, ns, strings.NewReader("hello from seqack\n"), "sh", "-c",
		fmt.Sprintf("%s dial --tun %s --addr %s/24 %s:9000 > %s", seqackBinary(t), tunName, seqackAddr, kernelAddr, got))
	if err := d.wait(); err != nil {
		t.Fatalf("seqack dial: %v\n%s\nkernel side: %s", err, d.output(), py.output())
	}
	if err := py.wait(); err != nil {
		t.Fatalf("kernel side: %v\n%s", err, py.output())
	}
	if !strings.Contains(py.output(), `got b'hello from seqack\n'`) {
		t.Errorf("the kernel's side got %q", py.output())
	}
	if fileSHA256(t, got) != want {
		t.Errorf("seqack dial wrote 1 MiB that differ from what the kernel sent after seqack's FIN")
	}
}

// TestNmap: nmap's SYN scan of ports 1-1024 finds exactly the ports seqack
// serves open, and its FIN scan finds exactly them open|filtered (a FIN to
// a listening port draws nothing, RFC 9293 §3.10.7.2); every other port is
// closed (a reset).
func TestNmap(t *testing.T) {
	netns.Require(t, "nmap")
	ns := netns.New(t)
	dir := t.TempDir()
	srv := serve(t, ns, "--echo", "7", "--discard", "9", "--http", "80", "--root", dir)
	served := []int{7, 9, 80}
	for _, scan := range []struct{ flag, state string }{{"-sS", "open"}, {"-sF", "open|filtered"}} {
		out := ns.Run("nmap", scan.flag, "-Pn", "-n", "-p", "1-1024", "-T4", "--max-retries", "2", "-oG", "-", seqackAddr)
		ports, ignored := parseGrepable(t, out)
		var got []int
		for port, state := range ports {
			if state != scan.state {
				t.Errorf("nmap %s: port %d is %s, want %s or closed", scan.flag, port, state, scan.state)
			}
			got = append(got, port)
		}
		slices.Sort(got)
		if !slices.Equal(got, served) || ignored != fmt.Sprintf("closed (%d)", 1024-len(served)) {
			t.Errorf("nmap %s: ports %v %s, others %q; want %v %s and the other %d closed\n%s",
				scan.flag, got, scan.state, ignored, served, scan.state, 1024-len(served), out)
		}
	}
	if err := srv.interrupt(); err != nil {
		t.Fatalf("seqack serve: %v\n%s", err, srv.output())
	}
}

// parseGrepable reads nmap's grepable output: the state of each port
// listed, and the "Ignored State" of the rest.
func parseGrepable(t *testing.T, out string) (map[int]string, string) {
	t.Helper()
	ports := map[int]string{}
	m := regexp.MustCompile(`Ports: ([^\t]*)(?:\tIgnored State: (.*))?`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no ports in nmap's output:\n%s", out)
	}
	for _, entry := range strings.Split(m[1], ", ") {
		f := strings.Split(entry, "/")
		port, err := strconv.Atoi(f[0])
		if err != nil || len(f) < 2 {
			t.Fatalf("bad nmap entry %q", entry)
		}
		ports[port] = f[1]
	}
	return ports, strings.TrimSpace(m[2])
}
