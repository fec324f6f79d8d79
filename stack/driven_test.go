package stack

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seqack/seqack/link"
	"github.com/seqack/seqack/tcp"
	"github.com/seqack/seqack/trace"
	"github.com/seqack/seqack/wire"
)

// drivenEpoch is where the virtual clocks of these tests start.
var drivenEpoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// drivenLink is a Link for a driven stack: it keeps what the stack writes,
// and counts reads, which a driven stack must never make.
type drivenLink struct {
	mu     sync.Mutex
	out    [][]byte
	reads  atomic.Int32
	closed atomic.Bool
}

func (l *drivenLink) WritePackets(pkts [][]byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range pkts {
		l.out = append(l.out, append([]byte(nil), p...))
	}
	return len(pkts), nil
}

func (l *drivenLink) ReadPackets([][]byte, []int) (int, error) {
	l.reads.Add(1)
	return 0, link.ErrClosed
}

func (l *drivenLink) MTU() int { return 1500 }

func (l *drivenLink) Close() error {
	l.closed.Store(true)
	return nil
}

// take returns and forgets the packets written so far.
func (l *drivenLink) take() [][]byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.out
	l.out = nil
	return out
}

// drivenNet is two driven stacks, a client and a server, on one virtual
// clock, whose packets the test moves by hand.
type drivenNet struct {
	t              *testing.T
	now            time.Time
	client, server *Stack
	cl, sl         *drivenLink
	rec            trace.Recorder
}

func newDrivenNet(t *testing.T, seed uint64) *drivenNet {
	t.Helper()
	n := &drivenNet{t: t, now: drivenEpoch, cl: &drivenLink{}, sl: &drivenLink{}}
	clock := func() time.Time { return n.now }
	isn := func(id tcp.ID, now time.Time) tcp.Value { return tcp.Value(id.Local.Port()) * 1000 }
	var err error
	n.client, err = New(n.cl, Config{Addrs: []netip.Addr{clientAddr}, Clock: clock, Trace: &n.rec,
		Rand: rand.New(rand.NewPCG(seed, 1)), TCP: tcp.Config{ISN: isn}})
	if err != nil {
		t.Fatal(err)
	}
	n.server, err = New(n.sl, Config{Addrs: []netip.Addr{serverAddr}, Clock: clock, Trace: &n.rec,
		Rand: rand.New(rand.NewPCG(seed, 2)), TCP: tcp.Config{ISN: isn}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		n.client.Close()
		n.server.Close()
		if r := n.cl.reads.Load() + n.sl.reads.Load(); r != 0 {
			t.Errorf("driven stacks read their links %d times", r)
		}
	})
	return n
}

// pump moves packets between the stacks, at the current time, until none
// is in flight. It returns how many it moved.
func (n *drivenNet) pump() int {
	moved := 0
	for {
		c, s := n.cl.take(), n.sl.take()
		if len(c)+len(s) == 0 {
			return moved
		}
		for _, p := range c {
			n.server.Deliver(p)
		}
		for _, p := range s {
			n.client.Deliver(p)
		}
		moved += len(c) + len(s)
	}
}

// runUntil pumps packets and, when none is in flight, moves the clock to
// the next timer, until done reports true. It fails the test if nothing is
// left to happen or a minute of virtual time passes.
func (n *drivenNet) runUntil(done func() bool) {
	n.t.Helper()
	limit := n.now.Add(time.Minute)
	for {
		n.pump()
		if done() {
			return
		}
		next := time.Time{}
		for _, s := range []*Stack{n.client, n.server} {
			if t := s.NextTimer(); !t.IsZero() && (next.IsZero() || t.Before(next)) {
				next = t
			}
		}
		if next.IsZero() || next.After(limit) {
			n.t.Fatalf("at +%v nothing left to happen; client %v, server %v",
				n.now.Sub(drivenEpoch), n.client.Connections(), n.server.Connections())
		}
		n.now = maxTime(n.now, next)
		n.client.RunTimers()
		n.server.RunTimers()
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// dial opens a connection from client to a listener on server port 80,
// moving packets but not the clock.
func (n *drivenNet) dial() (c, s *Conn) {
	n.t.Helper()
	ln, err := n.server.ListenTCP("tcp", ":80")
	if err != nil {
		n.t.Fatal(err)
	}
	defer ln.Close()
	c, err = n.client.DialStart("tcp", "10.0.0.2:80")
	if err != nil {
		n.t.Fatal(err)
	}
	n.pump()
	s, err = ln.TryAccept()
	if err != nil {
		n.t.Fatalf("TryAccept after the handshake: %v", err)
	}
	if c.State() != tcp.Established || s.State() != tcp.Established {
		n.t.Fatalf("after the handshake: client %v, server %v", c.State(), s.State())
	}
	return c, s
}

func TestDrivenStackOnVirtualClock(t *testing.T) {
	n := newDrivenNet(t, 1)
	n.now = drivenEpoch.Add(time.Hour) // nowhere near the real time
	c, s := n.dial()
	msg := []byte("hello, virtual world")
	if k, err := c.TryWrite(msg); k != len(msg) || err != nil {
		t.Fatalf("TryWrite = %d, %v", k, err)
	}
	n.pump()
	buf := make([]byte, 100)
	k, err := s.TryRead(buf)
	if err != nil || !bytes.Equal(buf[:k], msg) {
		t.Fatalf("TryRead = %q, %v; want %q", buf[:k], err, msg)
	}
	// Every event was stamped by the virtual clock, which did not move.
	evs := n.rec.Events()
	if len(evs) == 0 {
		t.Fatal("no events")
	}
	for _, e := range evs {
		if !e.Time.Equal(n.now) {
			t.Fatalf("event %v at %v; the virtual clock says %v", e.Kind, e.Time, n.now)
		}
	}
}

func TestDrivenTimersRunOnlyWhenAsked(t *testing.T) {
	n := newDrivenNet(t, 1)
	if _, err := n.server.ListenTCP("tcp", ":80"); err != nil {
		t.Fatal(err)
	}
	if !n.client.NextTimer().IsZero() {
		t.Fatalf("a timer before any connection: %v", n.client.NextTimer())
	}
	c, err := n.client.DialStart("tcp", "10.0.0.2:80")
	if err != nil {
		t.Fatal(err)
	}
	syn := n.cl.take() // lost
	if len(syn) != 1 {
		t.Fatalf("DialStart sent %d packets; want a SYN", len(syn))
	}
	next := n.client.NextTimer()
	if !next.After(n.now) {
		t.Fatalf("NextTimer = %v; want a retransmission timer after %v", next, n.now)
	}
	n.client.RunTimers() // not due yet
	if got := n.cl.take(); len(got) != 0 {
		t.Fatalf("RunTimers before the deadline sent %d packets", len(got))
	}
	n.now = next.Add(-time.Nanosecond)
	n.client.RunTimers()
	if got := n.cl.take(); len(got) != 0 {
		t.Fatalf("RunTimers 1 ns before the deadline sent %d packets", len(got))
	}
	n.now = next
	n.client.RunTimers()
	again := n.cl.take()
	if len(again) != 1 || !bytes.Equal(tcpPart(t, again[0])[:14], tcpPart(t, syn[0])[:14]) {
		t.Fatalf("at the deadline RunTimers sent %d packets; want the SYN again", len(again))
	}
	n.server.Deliver(again[0])
	n.pump()
	if c.State() != tcp.Established {
		t.Fatalf("after the retransmitted SYN: %v", c.State())
	}
}

// tcpPart returns the TCP segment of an IPv4 packet.
func tcpPart(t *testing.T, pkt []byte) []byte {
	t.Helper()
	ip, err := wire.ParseIPv4(pkt)
	if err != nil {
		t.Fatal(err)
	}
	return ip.Payload()
}

func TestDrivenCleanCloseThroughTimeWait(t *testing.T) {
	n := newDrivenNet(t, 1)
	c, s := n.dial()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	n.pump()
	if _, err := s.TryRead(make([]byte, 1)); err != io.EOF {
		t.Fatalf("server TryRead after the client's FIN = %v; want EOF", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	n.runUntil(func() bool { return len(n.client.Connections()) == 0 && len(n.server.Connections()) == 0 })
	if c.State() != tcp.Closed || s.State() != tcp.Closed {
		t.Fatalf("client %v, server %v; want both CLOSED", c.State(), s.State())
	}
	// The client went through TIME_WAIT, and the clock had to move 2×MSL
	// for it to end; nobody reset anything.
	sawTimeWait := false
	for _, e := range n.rec.Events() {
		if e.Kind == trace.StateChanged && e.To == tcp.TimeWait.String() {
			sawTimeWait = true
		}
		if e.Kind == trace.SegmentSent && e.Seg.Flags&wire.FlagRST != 0 {
			t.Errorf("a reset was sent: %+v", e)
		}
	}
	if !sawTimeWait {
		t.Error("the client never entered TIME_WAIT")
	}
	if d := n.now.Sub(drivenEpoch); d < 2*30*time.Second {
		t.Errorf("all closed after %v of virtual time; TIME_WAIT lasts 2×MSL = 60s", d)
	}
}

func TestDrivenDeliverDoesNotKeepPacket(t *testing.T) {
	n := newDrivenNet(t, 1)
	c, s := n.dial()
	msg := []byte("keep me intact")
	c.TryWrite(msg)
	pkts := n.cl.take()
	if len(pkts) != 1 {
		t.Fatalf("%d packets for one write", len(pkts))
	}
	n.server.Deliver(pkts[0])
	for i := range pkts[0] {
		pkts[0][i] = 0xee // the stack must have copied what it keeps
	}
	buf := make([]byte, 100)
	k, err := s.TryRead(buf)
	if err != nil || !bytes.Equal(buf[:k], msg) {
		t.Fatalf("TryRead = %q, %v; want %q", buf[:k], err, msg)
	}
}

func TestDrivenClose(t *testing.T) {
	n := newDrivenNet(t, 1)
	c, _ := n.dial()
	c.TryWrite([]byte("x")) // leaves a retransmission timer behind
	n.cl.take()
	if n.client.NextTimer().IsZero() {
		t.Fatal("no timer with unacknowledged data")
	}
	if err := n.client.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if !n.cl.closed.Load() {
		t.Error("Close did not close the link")
	}
	if got := n.client.NextTimer(); !got.IsZero() {
		t.Errorf("NextTimer after Close = %v; want none", got)
	}
	n.client.RunTimers() // harmless
	before := n.client.Stats()
	n.client.Deliver([]byte{0x45, 0, 0, 20})
	if after := n.client.Stats(); after != before {
		t.Errorf("Deliver after Close was processed: %+v", after)
	}
	if _, err := c.TryRead(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("TryRead after the stack closed = %v; want net.ErrClosed", err)
	}
	if err := n.client.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestDrivenRandChoosesPorts(t *testing.T) {
	ports := func(seed uint64) []uint16 {
		l := &drivenLink{}
		s, err := New(l, Config{Addrs: []netip.Addr{clientAddr}, Clock: func() time.Time { return drivenEpoch },
			Rand: rand.New(rand.NewPCG(seed, 0)), EphemeralPorts: [2]uint16{40000, 40999}})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		var out []uint16
		for range 20 {
			c, err := s.DialStart("tcp", "10.0.0.2:80")
			if err != nil {
				t.Fatal(err)
			}
			p := c.LocalAddr().(*net.TCPAddr).AddrPort().Port()
			if p < 40000 || p > 40999 {
				t.Fatalf("port %d outside 40000-40999", p)
			}
			out = append(out, p)
		}
		return out
	}
	a, b, other := ports(5), ports(5), ports(6)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, ports %v and %v", a, b)
		}
	}
	same := 0
	for i := range a {
		if a[i] == other[i] {
			same++
		}
	}
	if same == len(a) {
		t.Errorf("seeds 5 and 6 chose the same ports %v", a)
	}
}

func TestDrivenConnections(t *testing.T) {
	n := newDrivenNet(t, 1)
	if _, err := n.server.ListenTCP("tcp", ":80"); err != nil {
		t.Fatal(err)
	}
	var conns []*Conn
	for range 3 {
		c, err := n.client.DialStart("tcp", "10.0.0.2:80")
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	got := n.client.Connections()
	if len(got) != 3 {
		t.Fatalf("Connections = %v; want 3", got)
	}
	for i, ci := range got {
		if ci.State != tcp.SynSent || ci.ID.Remote != netip.MustParseAddrPort("10.0.0.2:80") {
			t.Errorf("connection %d: %+v; want SYN_SENT to 10.0.0.2:80", i, ci)
		}
		if i > 0 && got[i-1].ID.Local.Port() >= ci.ID.Local.Port() {
			t.Errorf("not ordered by local address: %v", got)
		}
	}
	n.pump()
	if got := n.server.Connections(); len(got) != 3 || got[0].State != tcp.Established {
		t.Errorf("server Connections = %v; want 3 ESTABLISHED", got)
	}
	for _, c := range conns {
		c.SetLinger(0)
		c.Close()
	}
	if got := n.client.Connections(); len(got) != 0 {
		t.Errorf("after resets, Connections = %v", got)
	}
}

// TestDeliverOnRealClockStack injects an echo request into a stack that
// reads its link itself; the reply goes out on the link.
func TestDeliverOnRealClockStack(t *testing.T) {
	a, b := link.Pipe()
	s, err := New(a, Config{Addrs: []netip.Addr{serverAddr}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	defer b.Close()
	pkt := make([]byte, 20+8+4)
	m := wire.MarshalEcho(pkt[20:], wire.ICMPEchoRequest, 7, 9, []byte("ping"))
	ih := wire.IPv4Header{ID: 1, TTL: 64, Protocol: wire.ProtoICMP, Src: clientAddr, Dst: serverAddr, PayloadLen: m}
	ih.Marshal(pkt)
	s.Deliver(pkt)
	bufs, sizes := [][]byte{make([]byte, 1500)}, []int{0}
	if _, err := b.ReadPackets(bufs, sizes); err != nil {
		t.Fatal(err)
	}
	ip, err := wire.ParseIPv4(bufs[0][:sizes[0]])
	if err != nil {
		t.Fatal(err)
	}
	reply, err := wire.ParseICMPv4(ip.Payload())
	if err != nil || reply.Type() != wire.ICMPEchoReply || reply.ID() != 7 || reply.Seq() != 9 || ip.Dst() != clientAddr {
		t.Fatalf("got %v; want an echo reply to %v", ip, clientAddr)
	}
}
