package stack

// Under attack: SYN cookies, the listener's queues, and the stack-wide
// limits on connections and buffer memory.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/seqack/seqack/link"
	"github.com/seqack/seqack/tcp"
	"github.com/seqack/seqack/wire"
)

// handshake sends a SYN from port sport with opts and returns the SYN-ACK.
func (p *rawPeer) handshake(sport uint16, isn uint32, opts *wire.TCPOptions) wire.TCP {
	p.t.Helper()
	p.send(tcpPacket(serverAddr, sport, 80, isn, 0, wire.FlagSYN, opts, nil))
	sa := tcpOf(p.t, p.expect())
	if sa.Flags() != wire.FlagSYN|wire.FlagACK || sa.Ack() != isn+1 {
		p.t.Fatalf("SYN drew %v, want a SYN-ACK of %d", sa, isn+1)
	}
	return sa
}

// The half-open queue full: with cookies off, further SYNs are dropped
// and counted; by default they are answered with cookies.
func TestSynBacklogFull(t *testing.T) {
	for _, tc := range []struct {
		mode            SynCookieMode
		answered        int
		dropped, cookie uint64
	}{
		{SynCookiesNever, 2, 2, 0},
		{SynCookiesAuto, 4, 0, 2},
		{SynCookiesAlways, 4, 0, 4},
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			s, p := newRawPeer(t, Config{SynBacklog: 2, SynCookies: tc.mode})
			ln, _ := s.ListenTCP("tcp", ":80")
			for i := range 4 {
				p.send(tcpPacket(serverAddr, uint16(40000+i), 80, 1000, 0, wire.FlagSYN, nil, nil))
			}
			for range tc.answered {
				if sa := tcpOf(t, p.expect()); sa.Flags() != wire.FlagSYN|wire.FlagACK {
					t.Fatalf("SYN drew %v", sa)
				}
			}
			p.expectNothing()
			st := s.Stats()
			if st.TCPSynDropped != tc.dropped || st.TCPSynCookiesSent != tc.cookie || st.TCPSynsReceived != 4 {
				t.Errorf("SYNs %d, dropped %d, cookies %d; want 4, %d, %d", st.TCPSynsReceived, st.TCPSynDropped, st.TCPSynCookiesSent, tc.dropped, tc.cookie)
			}
			ls := ln.Stats()
			want := ListenerStats{SynsReceived: 4, SynCookiesSent: tc.cookie, SynDropped: tc.dropped, Drops: tc.dropped,
				HalfOpen: 4 - tc.dropped - tc.cookie}
			if ls != want {
				t.Errorf("listener stats\n%+v, want\n%+v", ls, want)
			}
		})
	}
}

// A cookie connection, seen from a raw peer: the SYN-ACK's options, the
// third ACK carrying data that Accept's connection reads, with the MSS
// and window scale intact; a forged ACK is answered with a reset, as a
// stray ACK to a Linux listener is, and counted.
func TestSynCookieRawPeer(t *testing.T) {
	s, p := newRawPeer(t, Config{SynCookies: SynCookiesAlways})
	ln, _ := s.ListenTCP("tcp", ":80")
	opts := &wire.TCPOptions{MSS: 1400, HasMSS: true, WindowScale: 5, HasWindowScale: true,
		SACKPermitted: true, TSVal: 7777, HasTimestamps: true}
	sa := p.handshake(40000, 1000, opts)
	var so wire.TCPOptions
	if err := sa.ParseOptions(&so); err != nil {
		t.Fatal(err)
	}
	if !so.HasMSS || !so.HasWindowScale || !so.SACKPermitted || !so.HasTimestamps || so.TSEcr != 7777 {
		t.Fatalf("cookie SYN-ACK options %+v: want MSS, window scale, SACK-permitted, TS echoing 7777", so)
	}
	if bits := so.TSVal & 63; bits != 5|16 {
		t.Errorf("TSval low bits %#x, want %#x (wscale 5, SACK)", bits, 5|16)
	}
	if ls := ln.Stats(); ls.HalfOpen != 0 || ls.SynCookiesSent != 1 {
		t.Fatalf("after the cookie: %+v; want no half-open connection, one cookie", ls)
	}
	ackOpts := &wire.TCPOptions{TSVal: 7778, TSEcr: so.TSVal, HasTimestamps: true}

	// Forged: the wrong ACK number. A reset <SEQ=SEG.ACK>, and counted.
	p.send(tcpPacket(serverAddr, 40000, 80, 1001, sa.Seq()+5, wire.FlagACK, ackOpts, nil))
	if r := tcpOf(t, p.expect()); r.Flags() != wire.FlagRST || r.Seq() != sa.Seq()+5 {
		t.Fatalf("forged cookie ACK drew %v, want RST seq %d", r, sa.Seq()+5)
	}
	if st := s.Stats(); st.TCPSynCookiesInvalid != 1 || st.TCPSynCookiesValid != 0 {
		t.Fatalf("invalid %d, valid %d; want 1, 0", st.TCPSynCookiesInvalid, st.TCPSynCookiesValid)
	}
	if len(s.Connections()) != 0 {
		t.Fatalf("a forged ACK made a connection: %v", s.Connections())
	}

	// The real third segment, window 100 scaled by 5, with data.
	seg := make([]byte, 60)
	h := wire.TCPHeader{SrcPort: 40000, DstPort: 80, Seq: 1001, Ack: sa.Seq() + 1,
		Flags: wire.FlagACK | wire.FlagPSH, Window: 100}
	n := h.Marshal(seg, ackOpts)
	seg = append(seg[:n], "hello"...)
	wire.SetTCPChecksum(peerAddr, serverAddr, seg)
	p.send(ipPacket(wire.ProtoTCP, serverAddr, seg))
	c, err := ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 16)
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("Read = %q, %v; want the third segment's data", buf[:n], err)
	}
	if a := tcpOf(t, p.expect()); a.Flags() != wire.FlagACK || a.Ack() != 1006 {
		t.Fatalf("data on the cookie ACK drew %v, want ACK 1006", a)
	}
	in := c.Info()
	if in.State != tcp.Established || in.SendMSS != 1300-12 || !in.WindowScaling || !in.SACK || !in.Timestamps {
		t.Errorf("cookie connection: %+v; want ESTABLISHED, MSS 1288 (1300 from the table, less timestamps), scaling, SACK, timestamps", in)
	}
	if in.SendWindow != 100<<5 {
		t.Errorf("SendWindow %d, want %d: the peer's window scale was lost", in.SendWindow, 100<<5)
	}
	st, ls := s.Stats(), ln.Stats()
	if st.TCPSynCookiesValid != 1 || ls.SynCookiesValid != 1 || ls.SynCookiesInvalid != 1 || ls.AcceptQueue != 0 {
		t.Errorf("stack %+v\nlistener %+v", st, ls)
	}
}

// cookiePair is two stacks on a Pipe whose server answers with cookies
// as cfg says.
func cookiePair(t *testing.T, cfg Config) (client, server *Stack) {
	t.Helper()
	a, b := link.Pipe()
	client, err := New(a, Config{Addrs: []netip.Addr{clientAddr}})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Addrs = []netip.Addr{serverAddr}
	server, err = New(b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		client.Close()
		server.Close()
	})
	return client, server
}

// End to end between two stacks, every connection opened from a cookie:
// data both ways, and the options negotiated as without cookies — the
// server's window toward the client is the client's window, scaled by the
// shift the cookie carried.
func TestSynCookiesEndToEnd(t *testing.T) {
	client, server := cookiePair(t, Config{SynCookies: SynCookiesAlways})
	ln, _ := server.ListenTCP("tcp", ":80")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	const conns = 5
	payload := []byte(strings.Repeat("cookie!", 20000)) // 140 kB
	for i := range conns {
		c, err := client.DialTCP(context.Background(), "tcp", "10.0.0.2:80")
		if err != nil {
			t.Fatal(err)
		}
		go c.Write(payload)
		got := make([]byte, len(payload))
		if _, err := io.ReadFull(c, got); err != nil || string(got) != string(payload) {
			t.Fatalf("conn %d: echo of %d bytes: %v", i, len(payload), err)
		}
		cin := c.Info()
		if cin.SendMSS != 1460-12 || !cin.WindowScaling || !cin.SACK || !cin.Timestamps {
			t.Errorf("client's view: %+v", cin)
		}
		c.Close()
	}
	st, ls := server.Stats(), ln.Stats()
	if st.TCPSynCookiesSent != conns || st.TCPSynCookiesValid != conns || st.TCPSynCookiesInvalid != 0 {
		t.Errorf("cookies sent %d, valid %d, invalid %d; want %d, %d, 0", st.TCPSynCookiesSent, st.TCPSynCookiesValid, st.TCPSynCookiesInvalid, conns, conns)
	}
	if ls.SynsReceived != conns || ls.HalfOpen != 0 {
		t.Errorf("listener %+v", ls)
	}
}

// The server's scaled view of the client's window matches what the client
// offers: the window scale survived the cookie.
func TestSynCookieWindowScaleIntact(t *testing.T) {
	client, server := cookiePair(t, Config{SynCookies: SynCookiesAlways})
	ln, _ := server.ListenTCP("tcp", ":80")
	accepted := make(chan *Conn, 1)
	go func() {
		c, _ := ln.AcceptTCP()
		accepted <- c
	}()
	c, err := client.DialTCP(context.Background(), "tcp", "10.0.0.2:80")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc := <-accepted
	defer sc.Close()
	c.Write([]byte("x")) // an ACK from the client that carries its window
	buf := make([]byte, 1)
	io.ReadFull(sc, buf)
	deadline := time.Now().Add(5 * time.Second)
	for {
		cw, sw := c.Info().ReceiveWindow, sc.Info().SendWindow
		if cw == sw && sw > 65535 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("client offers %d, server sees %d: want equal and above 65535", cw, sw)
		}
		time.Sleep(time.Millisecond)
	}
	if in := sc.Info(); in.SendMSS != 1460-12 {
		t.Errorf("server's SendMSS %d, want 1448", in.SendMSS)
	}
}

// A tiny half-open queue and many dials at once: the overflow is answered
// with cookies, and every dial succeeds.
func TestSynCookiesTinyBacklog(t *testing.T) {
	client, server := cookiePair(t, Config{SynBacklog: 1})
	ln, _ := server.ListenTCP("tcp", ":80")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	const conns = 30
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c, err := client.DialTCP(ctx, "tcp", "10.0.0.2:80")
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			msg := fmt.Sprintf("hello from %d", i)
			c.Write([]byte(msg))
			got := make([]byte, len(msg))
			if _, err := io.ReadFull(c, got); err != nil || string(got) != msg {
				errs <- fmt.Errorf("conn %d: echo %q, %v", i, got, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st := server.Stats()
	if st.TCPSynsReceived < conns || st.TCPSynCookiesValid > st.TCPSynCookiesSent || st.TCPSynCookiesInvalid != 0 {
		t.Errorf("SYNs %d, cookies sent %d, valid %d, invalid %d", st.TCPSynsReceived, st.TCPSynCookiesSent, st.TCPSynCookiesValid, st.TCPSynCookiesInvalid)
	}
	t.Logf("%d dials: %d SYNs, %d answered with cookies, %d connections from cookies", conns, st.TCPSynsReceived, st.TCPSynCookiesSent, st.TCPSynCookiesValid)
}

// A full accept queue (ListenBacklog 1, nobody accepting): a new SYN is
// dropped; the final ACK of a handshake in SYN_RCVD is dropped, and a
// later one completes it once Accept has made room; a cookie ACK is
// dropped too. All are counted as overflows.
func TestAcceptQueueOverflow(t *testing.T) {
	s, p := newRawPeer(t, Config{ListenBacklog: 1})
	ln, _ := s.ListenTCP("tcp", ":80")
	a := p.handshake(40000, 1000, nil)
	b := p.handshake(40001, 2000, nil)
	p.send(tcpPacket(serverAddr, 40000, 80, 1001, a.Seq()+1, wire.FlagACK, nil, nil))
	waitFor(t, "A queued", func() bool { return ln.Stats().AcceptQueue == 1 })
	// B's final ACK finds the queue full: dropped, B stays in SYN_RCVD.
	p.send(tcpPacket(serverAddr, 40001, 80, 2001, b.Seq()+1, wire.FlagACK, nil, nil))
	p.expectNothing()
	// A new SYN finds it full: dropped.
	p.send(tcpPacket(serverAddr, 40002, 80, 3000, 0, wire.FlagSYN, nil, nil))
	p.expectNothing()
	ls := ln.Stats()
	if ls.ListenOverflows != 2 || ls.HalfOpen != 1 || ls.AcceptQueue != 1 || s.Stats().TCPListenOverflow != 2 {
		t.Fatalf("%+v; want 2 overflows, B half-open, A queued", ls)
	}
	// Accept makes room; B's retransmitted ACK (after our SYN-ACK
	// retransmission) completes its handshake.
	ca, err := ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close()
	p.send(tcpPacket(serverAddr, 40001, 80, 2001, b.Seq()+1, wire.FlagACK, nil, nil))
	cb, err := ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	if cb.RemoteAddr().String() != "10.0.0.9:40001" {
		t.Errorf("accepted %v, want B", cb.RemoteAddr())
	}
}

// With cookies, a good cookie ACK that finds the accept queue full is
// dropped (and counted), not reset, and works once there is room.
func TestAcceptQueueOverflowCookie(t *testing.T) {
	s, p := newRawPeer(t, Config{ListenBacklog: 1, SynCookies: SynCookiesAlways})
	ln, _ := s.ListenTCP("tcp", ":80")
	a := p.handshake(40000, 1000, nil)
	b := p.handshake(40001, 2000, nil)
	p.send(tcpPacket(serverAddr, 40000, 80, 1001, a.Seq()+1, wire.FlagACK, nil, nil))
	waitFor(t, "A queued", func() bool { return ln.Stats().AcceptQueue == 1 })
	p.send(tcpPacket(serverAddr, 40001, 80, 2001, b.Seq()+1, wire.FlagACK, nil, []byte("hi")))
	p.expectNothing()
	if ls := ln.Stats(); ls.ListenOverflows != 1 || ls.SynCookiesValid != 2 {
		t.Fatalf("%+v; want 1 overflow, 2 valid cookies", ls)
	}
	ca, _ := ln.AcceptTCP()
	defer ca.Close()
	p.send(tcpPacket(serverAddr, 40001, 80, 2001, b.Seq()+1, wire.FlagACK, nil, []byte("hi")))
	cb, err := ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	buf := make([]byte, 2)
	if _, err := io.ReadFull(cb, buf); err != nil || string(buf) != "hi" {
		t.Errorf("Read = %q, %v", buf, err)
	}
}

// AbortOnOverflow: the final ACK that finds the accept queue full draws a
// reset <SEQ=SEG.ACK>, and the half-open connection is gone.
func TestAbortOnOverflow(t *testing.T) {
	s, p := newRawPeer(t, Config{ListenBacklog: 1, AbortOnOverflow: true})
	ln, _ := s.ListenTCP("tcp", ":80")
	a := p.handshake(40000, 1000, nil)
	b := p.handshake(40001, 2000, nil)
	p.send(tcpPacket(serverAddr, 40000, 80, 1001, a.Seq()+1, wire.FlagACK, nil, nil))
	waitFor(t, "A queued", func() bool { return ln.Stats().AcceptQueue == 1 })
	p.send(tcpPacket(serverAddr, 40001, 80, 2001, b.Seq()+1, wire.FlagACK, nil, nil))
	if r := tcpOf(t, p.expect()); r.Flags()&wire.FlagRST == 0 || r.Seq() != b.Seq()+1 {
		t.Fatalf("overflowing ACK drew %v, want RST seq %d", r, b.Seq()+1)
	}
	waitFor(t, "B gone", func() bool { return ln.Stats().HalfOpen == 0 && len(s.Connections()) == 1 })
	if ls := ln.Stats(); ls.ListenOverflows != 1 {
		t.Errorf("%+v; want 1 overflow", ls)
	}
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// MaxConnections: at the cap, a new SYN is dropped and a Dial fails with
// an error that says why; the connections already open go on working.
func TestConnectionLimit(t *testing.T) {
	s, p := newRawPeer(t, Config{MaxConnections: 2})
	ln, _ := s.ListenTCP("tcp", ":80")
	var open []*Conn
	for i := range 2 {
		sa := p.handshake(uint16(40000+i), 1000, nil)
		p.send(tcpPacket(serverAddr, uint16(40000+i), 80, 1001, sa.Seq()+1, wire.FlagACK, nil, nil))
		c, err := ln.AcceptTCP()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		open = append(open, c)
	}
	p.send(tcpPacket(serverAddr, 40002, 80, 1000, 0, wire.FlagSYN, nil, nil))
	p.expectNothing()
	_, err := s.Dial("tcp", "10.0.0.9:22")
	if !errors.Is(err, ErrConnectionLimit) || !errors.Is(err, syscall.ENOBUFS) || !strings.Contains(err.Error(), "MaxConnections") {
		t.Errorf("Dial at the limit: %v; want ErrConnectionLimit naming MaxConnections", err)
	}
	st, ls := s.Stats(), ln.Stats()
	if st.TCPConnLimitRefused != 2 || ls.LimitRefused != 1 || ls.Drops != 1 {
		t.Errorf("refused %d (stack), %d (listener); want 2, 1", st.TCPConnLimitRefused, ls.LimitRefused)
	}
	// The old connections are untouched and still carry data.
	for i, c := range open {
		if c.State() != tcp.Established {
			t.Fatalf("conn %d is %v", i, c.State())
		}
		c.Write([]byte("still here"))
		if d := tcpOf(t, p.expect()); string(d.Payload()) != "still here" {
			t.Fatalf("conn %d sent %v", i, d)
		}
	}
	// Once one closes and leaves the table, a new one is let in.
	open[0].SetLinger(0)
	open[0].Close()
	tcpOf(t, p.expect()) // its RST
	waitFor(t, "the table to shrink", func() bool { return len(s.Connections()) == 1 })
	p.handshake(40003, 1000, nil)
}

// MaxBufferMemory: while the connections' buffers hold that much, new
// connections are refused; when data drains and the buffers give their
// memory back, they are let in again. Half-open connections hold none.
func TestBufferMemoryLimit(t *testing.T) {
	s, p := newRawPeer(t, Config{MaxBufferMemory: 1})
	ln, _ := s.ListenTCP("tcp", ":80")
	sa := p.handshake(40000, 1000, nil)
	p.handshake(40001, 1000, nil) // half-open: no memory
	if m := s.BufferMemory(); m != 0 {
		t.Fatalf("BufferMemory %d with two handshakes and no data, want 0", m)
	}
	p.send(tcpPacket(serverAddr, 40000, 80, 1001, sa.Seq()+1, wire.FlagACK|wire.FlagPSH, nil, []byte("unread data")))
	c, err := ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tcpOf(t, p.expect()) // the ACK of the data
	if m := s.BufferMemory(); m <= 0 {
		t.Fatalf("BufferMemory %d holding unread data, want more than 0", m)
	}
	p.send(tcpPacket(serverAddr, 40002, 80, 1000, 0, wire.FlagSYN, nil, nil))
	p.expectNothing()
	_, err = s.Dial("tcp", "10.0.0.9:22")
	if !errors.Is(err, ErrBufferMemoryLimit) || !strings.Contains(err.Error(), "MaxBufferMemory") {
		t.Errorf("Dial at the limit: %v; want ErrBufferMemoryLimit naming MaxBufferMemory", err)
	}
	if st := s.Stats(); st.TCPMemLimitRefused != 2 {
		t.Errorf("TCPMemLimitRefused %d, want 2", st.TCPMemLimitRefused)
	}
	buf := make([]byte, 64)
	if n, _ := c.Read(buf); string(buf[:n]) != "unread data" {
		t.Fatalf("Read %q", buf[:n])
	}
	waitFor(t, "the buffer to drain", func() bool { return s.BufferMemory() == 0 })
	p.handshake(40003, 1000, nil)
}

// A half-open connection that never completes: the SYN-ACK is sent again
// after 1, 2, 4, 8 and 16 s (tcp_synack_retries 5), then the entry is
// dropped at 63 s and the listener's half-open count is back to zero.
func TestHalfOpenTimesOut(t *testing.T) {
	now := drivenEpoch
	dl := &drivenLink{}
	s, err := New(dl, Config{Addrs: []netip.Addr{serverAddr}, Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ln, _ := s.ListenTCP("tcp", ":80")
	s.Deliver(tcpPacket(serverAddr, 40000, 80, 1000, 0, wire.FlagSYN, nil, nil))
	if len(dl.take()) != 1 {
		t.Fatal("the SYN drew no SYN-ACK")
	}
	var sent []time.Duration
	for next := s.NextTimer(); !next.IsZero(); next = s.NextTimer() {
		now = next
		s.RunTimers()
		for _, pkt := range dl.take() {
			ip, _ := wire.ParseIPv4(pkt)
			if th, _ := wire.ParseTCP(ip.Payload()); th.Flags() == wire.FlagSYN|wire.FlagACK {
				sent = append(sent, now.Sub(drivenEpoch))
			}
		}
	}
	want := []time.Duration{1, 3, 7, 15, 31}
	for i := range want {
		want[i] *= time.Second
	}
	if fmt.Sprint(sent) != fmt.Sprint(want) {
		t.Errorf("SYN-ACK retransmissions at %v, want %v", sent, want)
	}
	if ls := ln.Stats(); ls.HalfOpen != 0 || len(s.Connections()) != 0 {
		t.Errorf("after %v: %+v, %d connections; want none half-open", now.Sub(drivenEpoch), ls, len(s.Connections()))
	}
	if d := now.Sub(drivenEpoch); d != 63*time.Second {
		t.Errorf("gave up at %v, want 63s", d)
	}
}

// BenchmarkHalfOpenMemory measures the heap one SYN leaves behind — a
// half-open connection (SYN_RCVD) with cookies off, nothing with cookies
// always on — and the work of taking it: a SYN flood's cost per packet.
// SYNs go to fresh stacks in batches of 10,000, so the heap stays small.
func BenchmarkHalfOpenMemory(b *testing.B) {
	for _, mode := range []SynCookieMode{SynCookiesNever, SynCookiesAlways} {
		b.Run(mode.String(), func(b *testing.B) {
			const batch = 10000
			pkts := make([][]byte, batch)
			for i := range pkts {
				src := netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
				pkts[i] = synFrom(src, uint16(1024+i), uint32(i))
			}
			var heap int64
			b.ReportAllocs()
			for done := 0; done < b.N; done += batch {
				n := min(batch, b.N-done)
				b.StopTimer()
				s, err := New(discardLink{}, Config{Addrs: []netip.Addr{serverAddr}, Clock: func() time.Time { return drivenEpoch },
					SynBacklog: batch, SynCookies: mode})
				if err != nil {
					b.Fatal(err)
				}
				s.Listen("tcp", ":80")
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				b.StartTimer()
				for _, p := range pkts[:n] {
					s.Deliver(p)
				}
				b.StopTimer()
				runtime.GC()
				runtime.ReadMemStats(&after)
				heap += int64(after.HeapAlloc) - int64(before.HeapAlloc)
				runtime.KeepAlive(s)
				s.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(heap)/float64(b.N), "heap-B/SYN")
		})
	}
}

// discardLink drops what the stack writes.
type discardLink struct{}

func (discardLink) WritePackets(p [][]byte) (int, error) { return len(p), nil }
func (discardLink) ReadPackets([][]byte, []int) (int, error) {
	return 0, link.ErrClosed
}
func (discardLink) MTU() int     { return 1500 }
func (discardLink) Close() error { return nil }

// synFrom is a SYN from src:sport to serverAddr:80 with the options Linux
// sends.
func synFrom(src netip.Addr, sport uint16, isn uint32) []byte {
	opts := &wire.TCPOptions{MSS: 1460, HasMSS: true, WindowScale: 7, HasWindowScale: true,
		SACKPermitted: true, TSVal: 1, HasTimestamps: true}
	seg := make([]byte, 60)
	h := wire.TCPHeader{SrcPort: sport, DstPort: 80, Seq: isn, Flags: wire.FlagSYN, Window: 64240}
	seg = seg[:h.Marshal(seg, opts)]
	wire.SetTCPChecksum(src, serverAddr, seg)
	b := make([]byte, wire.IPv4MinHeaderLen+len(seg))
	ih := wire.IPv4Header{ID: 1, TTL: 64, Protocol: wire.ProtoTCP, Src: src, Dst: serverAddr, PayloadLen: len(seg)}
	ih.Marshal(b)
	copy(b[wire.IPv4MinHeaderLen:], seg)
	return b
}

// SynCookieMode reads its names and Linux's sysctl values, as a flag.
func TestSynCookieModeText(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want SynCookieMode
		ok   bool
	}{
		{"auto", SynCookiesAuto, true}, {"1", SynCookiesAuto, true},
		{"always", SynCookiesAlways, true}, {"2", SynCookiesAlways, true},
		{"never", SynCookiesNever, true}, {"0", SynCookiesNever, true},
		{"sometimes", 0, false}, {"", 0, false}, {"3", 0, false},
	} {
		var m SynCookieMode
		err := m.UnmarshalText([]byte(tc.in))
		if (err == nil) != tc.ok || tc.ok && m != tc.want {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v, ok %v", tc.in, m, err, tc.want, tc.ok)
		}
		if tc.ok {
			if b, _ := m.MarshalText(); string(b) != m.String() {
				t.Errorf("MarshalText(%v) = %q", m, b)
			}
		}
	}
}

// SetBacklog bounds one listener's accept queue, as listen(2)'s backlog
// does, whatever Config.ListenBacklog says; it rejects a bound below one.
func TestListenerSetBacklog(t *testing.T) {
	s, p := newRawPeer(t, Config{ListenBacklog: 128})
	ln, _ := s.ListenTCP("tcp", ":80")
	if err := ln.SetBacklog(0); err == nil {
		t.Error("SetBacklog(0) succeeded")
	}
	if err := ln.SetBacklog(1); err != nil {
		t.Fatal(err)
	}
	if ln.Backlog() != 1 || s.Listeners()[0].Backlog != 1 {
		t.Fatalf("Backlog %d, Listeners %+v; want 1", ln.Backlog(), s.Listeners())
	}
	a := p.handshake(40000, 1000, nil)
	p.send(tcpPacket(serverAddr, 40000, 80, 1001, a.Seq()+1, wire.FlagACK, nil, nil))
	waitFor(t, "A queued", func() bool { return ln.Stats().AcceptQueue == 1 })
	p.send(tcpPacket(serverAddr, 40002, 80, 3000, 0, wire.FlagSYN, nil, nil))
	p.expectNothing()
	if ls := ln.Stats(); ls.ListenOverflows != 1 {
		t.Fatalf("%+v; want the second SYN dropped as an overflow", ls)
	}
}
