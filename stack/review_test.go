package stack

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/seqack/seqack/link"
	"github.com/seqack/seqack/tcp"
	"github.com/seqack/seqack/wire"
)

// TestLingerCloseAfterReset: Close with SetLinger(n) returns at once when the
// connection is reset instead of waiting out n seconds.
func TestLingerCloseAfterReset(t *testing.T) {
	client, server, _, _ := pair(t, tcp.Config{})
	c, sc := connect(t, client, server)
	c.Write([]byte("unread")) // Close with this unread makes sc reset
	time.Sleep(20 * time.Millisecond)
	sc.SetLinger(60)
	sc.Write([]byte("pending"))
	start := time.Now()
	sc.Close()
	// The bug this guards against waits out the whole minute.
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("Close with linger took %v after the connection was reset", d)
	}
	if _, err := c.Read(make([]byte, 100)); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("peer read: %v", err)
	}
}

// TestLingerCloseWaitsForACK: with SetLinger(n), Close returns once the
// peer has acknowledged the data and the FIN.
func TestLingerCloseWaitsForACK(t *testing.T) {
	client, server, _, _ := pair(t, tcp.Config{})
	c, sc := connect(t, client, server)
	c.SetLinger(5)
	c.Write(make([]byte, 200<<10)) // more than the peer's window
	done := make(chan struct{})
	go func() {
		c.Close()
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("Close returned while data was still unacknowledged")
	case <-time.After(50 * time.Millisecond):
	}
	n, err := io.Copy(io.Discard, sc)
	if err != nil || n != 200<<10 {
		t.Fatalf("peer read %d bytes, %v", n, err)
	}
	select {
	case <-done:
	case <-time.After(4 * time.Second): // the linger is 5 s
		t.Fatal("Close did not return once everything was acknowledged")
	}
	if st := c.State(); st != tcp.FinWait2 && st != tcp.TimeWait {
		t.Errorf("state after lingering Close: %v", st)
	}
}

// TestReadAfterStackClose: tearing the stack down is not a clean end of
// stream: Read fails with net.ErrClosed, never io.EOF.
func TestReadAfterStackClose(t *testing.T) {
	client, server, _, _ := pair(t, tcp.Config{})
	c, _ := connect(t, client, server)
	blocked := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 1))
		blocked <- err
	}()
	time.Sleep(20 * time.Millisecond)
	client.Close()
	if err := <-blocked; !errors.Is(err, net.ErrClosed) {
		t.Errorf("blocked Read: %v, want net.ErrClosed", err)
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read after Stack.Close: %v, want net.ErrClosed", err)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Stack.Close: %v, want net.ErrClosed", err)
	}
	if _, err := client.Dial("tcp", "10.0.0.2:80"); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Dial after Stack.Close: %v, want net.ErrClosed", err)
	}
}

// TestNoTypedNil: on error, Listen and Accept return a nil interface, as
// package net does, so "if ln != nil" works.
func TestNoTypedNil(t *testing.T) {
	_, server, _, _ := pair(t, tcp.Config{})
	ln, err := server.Listen("tcp", "10.9.9.9:80")
	if err == nil || ln != nil {
		t.Errorf("Listen on a foreign address: %v, %v (want a nil Listener)", ln, err)
	}
	l, _ := server.Listen("tcp", ":80")
	l.Close()
	c, err := l.Accept()
	if err == nil || c != nil {
		t.Errorf("Accept on a closed listener: %v, %v (want a nil Conn)", c, err)
	}
}

// TestSynFinToListenerDropped: SYN+FIN opens nothing (Linux drops it too).
func TestSynFinToListenerDropped(t *testing.T) {
	s, p := newRawPeer(t, Config{})
	s.Listen("tcp", ":80")
	p.send(tcpPacket(serverAddr, 40000, 80, 1000, 0, wire.FlagSYN|wire.FlagFIN, nil, nil))
	p.expectNothing()
}

// flakyLink fails its first read with a transient error.
type flakyLink struct {
	link.Link
	failed atomic.Bool
}

func (f *flakyLink) ReadPackets(bufs [][]byte, sizes []int) (int, error) {
	if !f.failed.Swap(true) {
		return 0, syscall.ENOBUFS
	}
	return f.Link.ReadPackets(bufs, sizes)
}

// TestLinkReadErrorIsNotFatal: a transient read error is counted and the
// stack keeps receiving.
func TestLinkReadErrorIsNotFatal(t *testing.T) {
	a, b := link.Pipe()
	client, err := New(a, Config{Addrs: []netip.Addr{clientAddr}})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := New(&flakyLink{Link: b}, Config{Addrs: []netip.Addr{serverAddr}})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	c, sc := connect(t, client, server)
	c.Write([]byte("still here"))
	buf := make([]byte, 10)
	if _, err := io.ReadFull(sc, buf); err != nil || string(buf) != "still here" {
		t.Fatalf("read %q, %v", buf, err)
	}
	if got := server.Stats().LinkReadErrors; got != 1 {
		t.Errorf("LinkReadErrors = %d, want 1", got)
	}
}
