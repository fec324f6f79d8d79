//go:build linux

package conform

import (
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seqack/seqack/internal/netns"
	"github.com/seqack/seqack/wire"
)

// lxNewLinux makes a Linux target that t closes, or skips t where it cannot
// run (see netns.Require).
func lxNewLinux(t *testing.T) *linuxTarget {
	t.Helper()
	netns.Require(t, "ip")
	tgt, err := NewLinux(LinuxOptions{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tgt.Close(); err != nil {
			t.Error(err)
		}
	})
	return tgt.(*linuxTarget)
}

// lxSegment builds an IPv4 packet from RemoteAddr:sport to LocalAddr:dport
// carrying one TCP segment.
func lxSegment(sport, dport uint16, flags wire.TCPFlags, seq, ack uint32, win uint16, opts *wire.TCPOptions, payload []byte) []byte {
	buf := make([]byte, 1500)
	tcp := wire.TCPHeader{SrcPort: sport, DstPort: dport, Seq: seq, Ack: ack, Flags: flags, Window: win}
	n := tcp.Marshal(buf[wire.IPv4MinHeaderLen:], opts)
	n += copy(buf[wire.IPv4MinHeaderLen+n:], payload)
	wire.SetTCPChecksum(RemoteAddr, LocalAddr, buf[wire.IPv4MinHeaderLen:wire.IPv4MinHeaderLen+n])
	ip := wire.IPv4Header{TTL: 64, Protocol: wire.ProtoTCP, Src: RemoteAddr, Dst: LocalAddr, PayloadLen: n, DontFragment: true}
	ip.Marshal(buf)
	return buf[:wire.IPv4MinHeaderLen+n]
}

// lxExpect returns the next TCP segment the kernel sends within a second,
// with its options, failing t if there is none.
func lxExpect(t *testing.T, tgt Target, what string) (wire.TCP, wire.TCPOptions, time.Duration) {
	t.Helper()
	pkt, at, ok := tgt.Next(tgt.Now() + time.Second)
	if !ok {
		t.Fatalf("%s: the kernel sent nothing within a second", what)
	}
	ip, err := wire.ParseIPv4(pkt)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if ip.Src() != LocalAddr || ip.Dst() != RemoteAddr || ip.Protocol() != wire.ProtoTCP {
		t.Fatalf("%s: got %v", what, ip)
	}
	seg, err := wire.ParseTCP(ip.Payload())
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	var opts wire.TCPOptions
	if err := seg.ParseOptions(&opts); err != nil {
		t.Fatalf("%s: options: %v", what, err)
	}
	if !wire.VerifyTCPChecksum(ip.Src(), ip.Dst(), ip.Payload()) {
		t.Errorf("%s: bad checksum: %v", what, seg)
	}
	t.Logf("at %v: %s", at, wire.FormatTCP(ip.Src(), ip.Dst(), seg))
	return seg, opts, at
}

// lxWant fails t unless the call returned r.
func lxWant(t *testing.T, c Call, got, r Result) {
	t.Helper()
	if got != r {
		t.Fatalf("%s(%d) = %d (%v), want %d (%v)", c.Op, c.Fd, got.Ret, got.Errno, r.Ret, r.Errno)
	}
}

// lxDo makes c, which must not block, and fails t unless it has returned r
// by the time Start returns.
func lxDo(t *testing.T, tgt Target, c Call, r Result) {
	t.Helper()
	got, _, ok := tgt.Start(c).Done()
	if !ok {
		t.Fatalf("%s(%d) had not returned when Start did", c.Op, c.Fd)
	}
	lxWant(t, c, got, r)
}

// lxWait waits up to a second for p to return, and fails t unless it
// returned r.
func lxWait(t *testing.T, p Pending, c Call, r Result) {
	t.Helper()
	for deadline := time.Now().Add(time.Second); ; time.Sleep(time.Millisecond) {
		if got, _, ok := p.Done(); ok {
			lxWant(t, c, got, r)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s(%d) did not return within a second", c.Op, c.Fd)
		}
	}
}

// lxNamespaces lists the network namespaces that "ip netns" knows.
func lxNamespaces(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		if name, _, _ := strings.Cut(strings.TrimSpace(line), " "); name != "" {
			names = append(names, name)
		}
	}
	return names
}

// TestLinuxPassiveOpen plays the client against a kernel listener: the
// handshake with every option, accept, ten bytes from the kernel, its FIN
// on close, and the namespace gone after Close.
func TestLinuxPassiveOpen(t *testing.T) {
	netns.Require(t, "ip")
	tgt, err := NewLinux(LinuxOptions{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	l := tgt.(*linuxTarget)
	if !slices.Contains(lxNamespaces(t), l.ns) {
		t.Fatalf("namespace %s is not in ip netns list: %v", l.ns, lxNamespaces(t))
	}
	if tgt.Name() != "linux" || tgt.Virtual() {
		t.Errorf("Name, Virtual = %q, %v", tgt.Name(), tgt.Virtual())
	}

	lxDo(t, tgt, Call{Op: OpSocket}, Result{Ret: 3})
	lxDo(t, tgt, Call{Op: OpBind, Fd: 3, Port: 8080}, Result{})
	lxDo(t, tgt, Call{Op: OpListen, Fd: 3, Backlog: 1}, Result{})
	accept := tgt.Start(Call{Op: OpAccept, Fd: 3})
	if r, _, ok := accept.Done(); ok {
		t.Fatalf("accept returned %+v with no connection", r)
	}

	const isn = 1000
	syn := &wire.TCPOptions{HasMSS: true, MSS: 1000, SACKPermitted: true, HasTimestamps: true, TSVal: 100, HasWindowScale: true, WindowScale: 7}
	sent := tgt.Now()
	if err := tgt.Inject(lxSegment(RemotePort, 8080, wire.FlagSYN, isn, 0, 32792, syn, nil)); err != nil {
		t.Fatal(err)
	}
	synack, o, at := lxExpect(t, tgt, "SYN-ACK")
	t.Logf("SYN-ACK %v after the SYN", at-sent)
	if synack.Flags() != wire.FlagSYN|wire.FlagACK || synack.Ack() != isn+1 || synack.DstPort() != RemotePort {
		t.Errorf("got %v, want S. ack %d to port %d", synack, isn+1, RemotePort)
	}
	if !o.HasMSS || o.MSS != 1460 || !o.SACKPermitted || !o.HasTimestamps || o.TSEcr != 100 || !o.HasWindowScale || o.WindowScale != 7 {
		t.Errorf("SYN-ACK options %+v, want mss 1460, sackOK, TS ecr 100, wscale 7", o)
	}
	// 45 segments of 1448 bytes: the MSS less the timestamps option.
	if synack.Window() != 65160 {
		t.Errorf("SYN-ACK window %d, want 65160", synack.Window())
	}
	iss := synack.Seq()
	ts := &wire.TCPOptions{HasTimestamps: true, TSVal: 101, TSEcr: o.TSVal}
	if err := tgt.Inject(lxSegment(RemotePort, 8080, wire.FlagACK, isn+1, iss+1, 257, ts, nil)); err != nil {
		t.Fatal(err)
	}
	lxWait(t, accept, Call{Op: OpAccept, Fd: 3}, Result{Ret: 4})

	lxDo(t, tgt, Call{Op: OpWrite, Fd: 4, Len: 10}, Result{Ret: 10})
	data, o, _ := lxExpect(t, tgt, "data")
	if data.Flags() != wire.FlagPSH|wire.FlagACK || data.Seq() != iss+1 || data.Ack() != isn+1 || len(data.Payload()) != 10 || !o.HasTimestamps || o.TSEcr != 101 {
		t.Errorf("got %v %+v, want P. %d:%d(10) ack %d, TS ecr 101", data, o, iss+1, iss+11, isn+1)
	}
	lxDo(t, tgt, Call{Op: OpClose, Fd: 4}, Result{})
	fin, _, _ := lxExpect(t, tgt, "FIN")
	if fin.Flags() != wire.FlagFIN|wire.FlagACK || fin.Seq() != iss+11 {
		t.Errorf("got %v, want F. %d:%d(0)", fin, iss+11, iss+11)
	}
	lxDo(t, tgt, Call{Op: OpClose, Fd: 4}, Result{Ret: -1, Errno: syscall.EBADF})
	lxDo(t, tgt, Call{Op: OpClose, Fd: 3}, Result{})

	if err := tgt.Close(); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(lxNamespaces(t), l.ns) {
		t.Errorf("namespace %s is still listed after Close", l.ns)
	}
}

// TestLinuxSysctls reads every setting back inside the namespace, with
// "ip netns exec", and checks that the host's are not the ones changed.
func TestLinuxSysctls(t *testing.T) {
	l := lxNewLinux(t)
	for _, s := range LinuxSysctls {
		path := "/proc/sys/" + strings.ReplaceAll(s.Name, ".", "/")
		out, err := exec.Command("ip", "netns", "exec", l.ns, "cat", path).CombinedOutput()
		if err != nil {
			if s.Optional {
				continue
			}
			t.Fatalf("%s: %v: %s", s.Name, err, out)
		}
		if got := strings.Join(strings.Fields(string(out)), " "); got != s.Value {
			t.Errorf("%s = %q in the namespace, want %q", s.Name, got, s.Value)
		}
	}
	out, err := exec.Command("ip", "-n", l.ns, "route", "show", "192.0.2.0/24").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "congctl cubic") {
		t.Errorf("route to 192.0.2.0/24: %s (%v), want congctl cubic", out, err)
	}
}

// TestLinuxClosedPort sends a SYN to a port nobody listens on: the kernel
// answers RST.ACK (RFC 9293 §3.10.7.1), with seq 0 and ack SEG.SEQ+1.
func TestLinuxClosedPort(t *testing.T) {
	tgt := lxNewLinux(t)
	if err := tgt.Inject(lxSegment(40000, 9, wire.FlagSYN, 5000, 0, 65535, &wire.TCPOptions{HasMSS: true, MSS: 1460}, nil)); err != nil {
		t.Fatal(err)
	}
	rst, _, _ := lxExpect(t, tgt, "RST")
	if rst.Flags() != wire.FlagRST|wire.FlagACK || rst.Seq() != 0 || rst.Ack() != 5001 || rst.DstPort() != 40000 || rst.SrcPort() != 9 {
		t.Errorf("got %v, want R. 0:0(0) ack 5001 from port 9 to 40000", rst)
	}
}

// TestLinuxActiveOpen has the kernel connect: its SYN carries every
// option, the connect blocks until the SYN-ACK, and a refused connect
// (RST.ACK) returns ECONNREFUSED.
func TestLinuxActiveOpen(t *testing.T) {
	tgt := lxNewLinux(t)
	lxDo(t, tgt, Call{Op: OpSocket}, Result{Ret: 3})
	connect := tgt.Start(Call{Op: OpConnect, Fd: 3, Port: RemotePort})
	if r, _, ok := connect.Done(); ok {
		t.Fatalf("connect returned %+v before the handshake", r)
	}
	syn, o, _ := lxExpect(t, tgt, "SYN")
	if syn.Flags() != wire.FlagSYN || syn.DstPort() != RemotePort || !o.HasMSS || o.MSS != 1460 || !o.SACKPermitted || !o.HasTimestamps || o.TSEcr != 0 || !o.HasWindowScale || o.WindowScale != 7 {
		t.Errorf("got %v %+v, want S with mss 1460, sackOK, TS ecr 0, wscale 7", syn, o)
	}
	port := syn.SrcPort()
	synack := &wire.TCPOptions{HasMSS: true, MSS: 1460, SACKPermitted: true, HasTimestamps: true, TSVal: 700, TSEcr: o.TSVal, HasWindowScale: true, WindowScale: 8}
	if err := tgt.Inject(lxSegment(RemotePort, port, wire.FlagSYN|wire.FlagACK, 0, syn.Seq()+1, 5792, synack, nil)); err != nil {
		t.Fatal(err)
	}
	ack, _, _ := lxExpect(t, tgt, "ACK")
	if ack.Flags() != wire.FlagACK || ack.Seq() != syn.Seq()+1 || ack.Ack() != 1 {
		t.Errorf("got %v, want . %d:%d(0) ack 1", ack, syn.Seq()+1, syn.Seq()+1)
	}
	lxWait(t, connect, Call{Op: OpConnect, Fd: 3}, Result{})

	lxDo(t, tgt, Call{Op: OpSocket}, Result{Ret: 4})
	lxDo(t, tgt, Call{Op: OpFcntl, Fd: 4, NonBlock: true}, Result{})
	lxDo(t, tgt, Call{Op: OpConnect, Fd: 4, Port: 9}, Result{Ret: -1, Errno: syscall.EINPROGRESS})
	syn, _, _ = lxExpect(t, tgt, "second SYN")
	if err := tgt.Inject(lxSegment(9, syn.SrcPort(), wire.FlagRST|wire.FlagACK, 0, syn.Seq()+1, 0, nil, nil)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	lxDo(t, tgt, Call{Op: OpConnect, Fd: 4, Port: 9}, Result{Ret: -1, Errno: syscall.ECONNREFUSED})
}

// lxEstablish connects the script's socket fd to RemotePort, playing the
// peer's part of the handshake, and leaves the socket blocking.
func lxEstablish(t *testing.T, tgt Target, fd int) (syn wire.TCP) {
	t.Helper()
	lxDo(t, tgt, Call{Op: OpFcntl, Fd: fd, NonBlock: true}, Result{})
	lxDo(t, tgt, Call{Op: OpConnect, Fd: fd, Port: RemotePort}, Result{Ret: -1, Errno: syscall.EINPROGRESS})
	syn, o, _ := lxExpect(t, tgt, "SYN")
	if err := tgt.Inject(lxSegment(RemotePort, syn.SrcPort(), wire.FlagSYN|wire.FlagACK, 0, syn.Seq()+1, 5792,
		&wire.TCPOptions{HasMSS: true, MSS: 1460, SACKPermitted: true, HasTimestamps: true, TSVal: 1, TSEcr: o.TSVal}, nil)); err != nil {
		t.Fatal(err)
	}
	lxExpect(t, tgt, "ACK")
	lxDo(t, tgt, Call{Op: OpFcntl, Fd: fd, NonBlock: false}, Result{})
	return syn
}

// TestLinuxCloseWakesBlockedCalls leaves an accept and a read blocked and
// a close lingering, and checks that Close returns them all.
func TestLinuxCloseWakesBlockedCalls(t *testing.T) {
	netns.Require(t, "ip")
	tgt, err := NewLinux(LinuxOptions{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	lxDo(t, tgt, Call{Op: OpSocket}, Result{Ret: 3})
	lxDo(t, tgt, Call{Op: OpBind, Fd: 3, Port: 8080}, Result{})
	lxDo(t, tgt, Call{Op: OpListen, Fd: 3, Backlog: 1}, Result{})
	accept := tgt.Start(Call{Op: OpAccept, Fd: 3})
	// The number accept reserved is not given to the next socket.
	lxDo(t, tgt, Call{Op: OpSocket}, Result{Ret: 5})
	// The script's close of the listener does not wake accept, as in
	// the kernel.
	lxDo(t, tgt, Call{Op: OpClose, Fd: 3}, Result{})

	// A connection whose reader waits.
	lxEstablish(t, tgt, 5)
	read := tgt.Start(Call{Op: OpRead, Fd: 5, Len: 100})

	// A connection with data unacknowledged, closed with SO_LINGER: the
	// close waits for the FIN to be acknowledged.
	lxDo(t, tgt, Call{Op: OpSocket}, Result{Ret: 3})
	lxEstablish(t, tgt, 3)
	lxDo(t, tgt, Call{Op: OpWrite, Fd: 3, Len: 10}, Result{Ret: 10})
	lxExpect(t, tgt, "data")
	lxDo(t, tgt, Call{Op: OpSetsockopt, Fd: 3, Level: syscall.SOL_SOCKET, Option: syscall.SO_LINGER, Linger: [2]int{1, 30}}, Result{})
	lingering := tgt.Start(Call{Op: OpClose, Fd: 3})
	lxExpect(t, tgt, "FIN")
	// Its number is free at once.
	lxDo(t, tgt, Call{Op: OpSocket}, Result{Ret: 3})

	calls := []Pending{accept, read, lingering}
	for _, p := range calls {
		if r, _, ok := p.Done(); ok {
			t.Fatalf("a blocking call returned %+v", r)
		}
	}
	start := time.Now()
	if err := tgt.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("Close took %v", time.Since(start))
	for i, p := range calls {
		r, _, ok := p.Done()
		if !ok {
			t.Errorf("blocked call %d did not return at Close", i)
		}
		t.Logf("blocked call %d returned %+v", i, r)
	}
	r, _, _ := accept.Done()
	lxWant(t, Call{Op: OpAccept, Fd: 3}, r, Result{Ret: -1, Errno: syscall.EINVAL})
	r, _, _ = read.Done()
	lxWant(t, Call{Op: OpRead, Fd: 5}, r, Result{})
}

// BenchmarkLinuxSetup measures making a Linux target and closing it: the
// namespace, the sysctls, the TUN device and the route, and their removal.
func BenchmarkLinuxSetup(b *testing.B) {
	netns.Require(b, "ip")
	var made time.Duration
	for b.Loop() {
		start := time.Now()
		tgt, err := NewLinux(LinuxOptions{})
		if err != nil {
			b.Fatal(err)
		}
		made += time.Since(start)
		if err := tgt.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(made.Microseconds())/float64(b.N), "µs-setup/op")
}

// BenchmarkLinuxAnswer measures how long the kernel takes to answer an
// injected segment, as the script's clock sees it: from before Inject to
// the time Next reports for the answer (a SYN to a closed port and its
// RST). The spread is the jitter a script's timing must allow.
func BenchmarkLinuxAnswer(b *testing.B) {
	netns.Require(b, "ip")
	tgt, err := NewLinux(LinuxOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer tgt.Close()
	var lat []time.Duration
	seq := uint32(0)
	for b.Loop() {
		seq += 1000
		sent := tgt.Now()
		if err := tgt.Inject(lxSegment(40000, 9, wire.FlagSYN, seq, 0, 65535, nil, nil)); err != nil {
			b.Fatal(err)
		}
		_, at, ok := tgt.Next(tgt.Now() + time.Second)
		if !ok {
			b.Fatal("no answer within a second")
		}
		lat = append(lat, at-sent)
	}
	slices.Sort(lat)
	q := func(f float64) float64 { return float64(lat[int(f*float64(len(lat)-1))].Nanoseconds()) / 1e3 }
	b.ReportMetric(q(0.5), "µs-p50")
	b.ReportMetric(q(0.99), "µs-p99")
	b.ReportMetric(q(1), "µs-max")
}
