package stack

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/seqack/seqack/tcp"
)

func TestErrWouldBlock(t *testing.T) {
	if !errors.Is(ErrWouldBlock, syscall.EAGAIN) {
		t.Error("ErrWouldBlock does not match EAGAIN")
	}
	if errors.Is(ErrWouldBlock, syscall.EINTR) {
		t.Error("ErrWouldBlock matches EINTR")
	}
	if ErrWouldBlock.Error() != "operation would block" {
		t.Errorf("ErrWouldBlock says %q", ErrWouldBlock.Error())
	}
}

func TestDialStartErrors(t *testing.T) {
	n := newDrivenNet(t, 1)
	closed := newDrivenNet(t, 2)
	closed.client.Close()
	tests := []struct {
		name    string
		s       *Stack
		network string
		address string
		want    error // matched with errors.Is, or by type below
	}{
		{"udp", n.client, "udp", "10.0.0.2:80", net.UnknownNetworkError("udp")},
		{"no port", n.client, "tcp", "10.0.0.2", nil},
		{"a name", n.client, "tcp", "example.com:80", nil},
		{"IPv6", n.client, "tcp", "[::1]:80", nil},
		{"port 0", n.client, "tcp", "10.0.0.2:0", syscall.EADDRNOTAVAIL},
		{"unspecified", n.client, "tcp", "0.0.0.0:80", syscall.EADDRNOTAVAIL},
		{"closed stack", closed.client, "tcp", "10.0.0.2:80", net.ErrClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.s.DialStart(tt.network, tt.address)
			if c != nil || err == nil {
				t.Fatalf("DialStart = %v, %v; want an error", c, err)
			}
			var op *net.OpError
			if !errors.As(err, &op) || op.Op != "dial" || op.Net != tt.network {
				t.Fatalf("error %#v is not a dial *net.OpError", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) && op.Err != tt.want {
				t.Errorf("error %v; want %v", err, tt.want)
			}
			if len(tt.s.Connections()) != 0 {
				t.Errorf("a failed DialStart left %v", tt.s.Connections())
			}
		})
	}
}

func TestDialStartRefused(t *testing.T) {
	n := newDrivenNet(t, 1)
	c, err := n.client.DialStart("tcp", "10.0.0.2:81") // nobody listens
	if err != nil {
		t.Fatal(err)
	}
	if c.State() != tcp.SynSent {
		t.Fatalf("State after DialStart = %v; want SYN_SENT", c.State())
	}
	if _, err := c.TryRead(make([]byte, 10)); err != ErrWouldBlock {
		t.Fatalf("TryRead during the handshake = %v; want ErrWouldBlock", err)
	}
	n.pump()
	if c.State() != tcp.Closed {
		t.Fatalf("State after a reset = %v; want CLOSED", c.State())
	}
	for name, f := range map[string]func([]byte) (int, error){"TryRead": c.TryRead, "TryWrite": c.TryWrite} {
		_, err := f(make([]byte, 10))
		var op *net.OpError
		if !errors.Is(err, syscall.ECONNREFUSED) || !errors.As(err, &op) {
			t.Errorf("%s after a refused dial = %v; want a *net.OpError with ECONNREFUSED", name, err)
		}
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	if len(n.client.Connections()) != 0 {
		t.Errorf("refused connection still in the table: %v", n.client.Connections())
	}
}

func TestTryAccept(t *testing.T) {
	n := newDrivenNet(t, 1)
	ln, err := n.server.ListenTCP("tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	if c, err := ln.TryAccept(); c != nil || err != ErrWouldBlock {
		t.Fatalf("TryAccept with nothing queued = %v, %v; want ErrWouldBlock", c, err)
	}
	c, err := n.client.DialStart("tcp", "10.0.0.2:80")
	if err != nil {
		t.Fatal(err)
	}
	// The SYN alone leaves a half-open connection: nothing to accept.
	for _, p := range n.cl.take() {
		n.server.Deliver(p)
	}
	if _, err := ln.TryAccept(); err != ErrWouldBlock {
		t.Fatalf("TryAccept while half-open = %v; want ErrWouldBlock", err)
	}
	n.pump()
	s, err := ln.TryAccept()
	if err != nil || s == nil {
		t.Fatalf("TryAccept after the handshake = %v, %v", s, err)
	}
	if s.RemoteAddr().String() != c.LocalAddr().String() {
		t.Errorf("accepted %v; the client is %v", s.RemoteAddr(), c.LocalAddr())
	}
	if _, err := ln.TryAccept(); err != ErrWouldBlock {
		t.Errorf("second TryAccept = %v; want ErrWouldBlock", err)
	}

	ln.SetDeadline(time.Unix(1, 0)) // long past
	if _, err := ln.TryAccept(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("TryAccept past the deadline = %v; want os.ErrDeadlineExceeded", err)
	}
	ln.Close()
	_, err = ln.TryAccept()
	var op *net.OpError
	if !errors.Is(err, net.ErrClosed) || !errors.As(err, &op) || op.Op != "accept" {
		t.Errorf("TryAccept after Close = %v; want an accept *net.OpError with net.ErrClosed", err)
	}
}

func TestTryReadWrite(t *testing.T) {
	n := newDrivenNet(t, 1)
	c, s := n.dial()
	buf := make([]byte, 1<<16)
	if k, err := s.TryRead(buf); k != 0 || err != ErrWouldBlock {
		t.Fatalf("TryRead with nothing arrived = %d, %v; want ErrWouldBlock", k, err)
	}
	if k, err := s.TryRead(nil); k != 0 || err != nil {
		t.Errorf("TryRead(nil) = %d, %v; want 0, nil", k, err)
	}
	if k, err := c.TryWrite(nil); k != 0 || err != nil {
		t.Errorf("TryWrite(nil) = %d, %v; want 0, nil", k, err)
	}

	// Without the peer's ACKs the send buffer fills: a short write, then
	// ErrWouldBlock.
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<20) // 16 MiB
	k, err := c.TryWrite(big)
	if err != nil || k == 0 || k >= len(big) {
		t.Fatalf("TryWrite of 16 MiB = %d, %v; want a short write", k, err)
	}
	sent := k
	if k, err := c.TryWrite(big[sent:]); k != 0 || err != ErrWouldBlock {
		t.Fatalf("TryWrite into a full buffer = %d, %v; want ErrWouldBlock", k, err)
	}
	// Move everything through; read it all; the buffer has room again.
	var got []byte
	n.runUntil(func() bool {
		for {
			k, err := s.TryRead(buf)
			got = append(got, buf[:k]...)
			if err == ErrWouldBlock {
				return len(got) == sent
			}
			if err != nil {
				t.Fatalf("TryRead = %v", err)
			}
		}
	})
	if !bytes.Equal(got, big[:sent]) {
		t.Fatalf("read %d bytes that differ from the %d written", len(got), sent)
	}
	if k, err := c.TryWrite(big[sent : sent+10]); k != 10 || err != nil {
		t.Fatalf("TryWrite after the peer read = %d, %v; want 10", k, err)
	}
	n.pump()

	// The peer's FIN: the data, then EOF.
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	n.pump()
	if k, err := s.TryRead(buf); k != 10 || err != nil {
		t.Fatalf("TryRead = %d, %v; want the last 10 bytes", k, err)
	}
	if k, err := s.TryRead(buf); k != 0 || err != io.EOF {
		t.Fatalf("TryRead after the FIN = %d, %v; want io.EOF", k, err)
	}
	// Writing after CloseWrite is EPIPE, as write(2) says.
	_, err = c.TryWrite([]byte("late"))
	var op *net.OpError
	if !errors.Is(err, syscall.EPIPE) || !errors.As(err, &op) || op.Op != "write" {
		t.Errorf("TryWrite after CloseWrite = %v; want a write *net.OpError with EPIPE", err)
	}
	// After Close, the handle is unusable.
	s.Close()
	for name, f := range map[string]func([]byte) (int, error){"TryRead": s.TryRead, "TryWrite": s.TryWrite} {
		if _, err := f(buf[:1]); !errors.Is(err, net.ErrClosed) {
			t.Errorf("%s after Close = %v; want net.ErrClosed", name, err)
		}
	}
}

func TestTryReadDeadline(t *testing.T) {
	n := newDrivenNet(t, 1)
	c, _ := n.dial()
	c.SetReadDeadline(time.Unix(1, 0))
	if _, err := c.TryRead(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("TryRead past the deadline = %v; want os.ErrDeadlineExceeded", err)
	}
	c.SetWriteDeadline(time.Unix(1, 0))
	if _, err := c.TryWrite([]byte("x")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("TryWrite past the deadline = %v; want os.ErrDeadlineExceeded", err)
	}
}

// TestNonBlockingOnRealClock uses the non-blocking calls on ordinary stacks
// whose own goroutines move the packets.
func TestNonBlockingOnRealClock(t *testing.T) {
	client, server, _, _ := pair(t, tcp.Config{})
	ln, err := server.ListenTCP("tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := client.DialStart("tcp", "10.0.0.2:80")
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.AcceptTCP() // blocks until the handshake is done
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.TryRead(make([]byte, 10)); err != ErrWouldBlock {
		t.Errorf("TryRead with nothing sent = %v; want ErrWouldBlock", err)
	}
	// The client's side may still be in SYN_SENT; data written then is
	// sent once the handshake ends.
	if k, err := c.TryWrite([]byte("ping")); k != 4 || err != nil {
		t.Fatalf("TryWrite = %d, %v", k, err)
	}
	buf := make([]byte, 10)
	k, err := io.ReadFull(s, buf[:4])
	if err != nil || string(buf[:k]) != "ping" {
		t.Fatalf("Read = %q, %v", buf[:k], err)
	}
}
