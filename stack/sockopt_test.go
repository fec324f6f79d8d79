package stack

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/seqack/seqack/link"
	"github.com/seqack/seqack/tcp"
)

// connected returns an established client connection and its accepted peer.
func connected(t *testing.T, tc tcp.Config) (*Conn, *Conn, *link.PipeEnd) {
	t.Helper()
	client, server, cl, _ := pair(t, tc)
	ln, err := server.ListenTCP("tcp", "10.0.0.2:7")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan *Conn, 1)
	go func() {
		c, err := ln.AcceptTCP()
		if err != nil {
			t.Error(err)
		}
		accepted <- c
	}()
	c, err := client.DialTCP(t.Context(), "tcp", "10.0.0.2:7")
	if err != nil {
		t.Fatal(err)
	}
	return c, <-accepted, cl
}

// Keep-alive is on by default, every 15 s, as package net has it; the
// setters change it and the buffer setters show in Info.
func TestSocketOptions(t *testing.T) {
	c, _, _ := connected(t, tcp.Config{})
	c.mu.Lock()
	idle, interval, count := c.tcb.KeepAlive()
	c.mu.Unlock()
	if idle != 15*time.Second || interval != 15*time.Second || count != 9 {
		t.Errorf("default keep-alive %v/%v/%d, want 15s/15s/9", idle, interval, count)
	}
	if err := c.SetKeepAlivePeriod(time.Minute); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	idle, interval, _ = c.tcb.KeepAlive()
	c.mu.Unlock()
	if idle != time.Minute || interval != time.Minute {
		t.Errorf("after SetKeepAlivePeriod(1m): %v/%v", idle, interval)
	}
	if err := c.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: 5 * time.Second, Interval: -1, Count: 3}); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	idle, interval, count = c.tcb.KeepAlive()
	c.mu.Unlock()
	if idle != 5*time.Second || interval != time.Minute || count != 3 {
		t.Errorf("after SetKeepAliveConfig: %v/%v/%d, want 5s/1m/3", idle, interval, count)
	}
	if err := c.SetKeepAlive(false); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	idle, _, _ = c.tcb.KeepAlive()
	c.mu.Unlock()
	if idle != 0 {
		t.Errorf("after SetKeepAlive(false): idle %v", idle)
	}
	if err := c.SetKeepAlivePeriod(0); err == nil {
		t.Error("SetKeepAlivePeriod(0) succeeded")
	}
	if err := c.SetReadBuffer(32 << 10); err != nil {
		t.Fatal(err)
	}
	if err := c.SetWriteBuffer(16 << 10); err != nil {
		t.Fatal(err)
	}
	if info := c.Info(); info.RecvBuffer != 128<<10 && info.RecvBuffer != 32<<10 || info.SendBuffer != 16<<10 {
		// The receive buffer cannot shrink below the window already
		// offered (RFC 9293 §3.8.6), so it may stay at 128 KiB.
		t.Errorf("buffers %d/%d after SetReadBuffer(32K)/SetWriteBuffer(16K)", info.RecvBuffer, info.SendBuffer)
	}
	if err := c.SetReadBuffer(0); err == nil {
		t.Error("SetReadBuffer(0) succeeded")
	}
	if err := c.SetNoDelay(false); err != nil {
		t.Fatal(err)
	}
	if info := c.Info(); !info.WindowScaling || !info.Timestamps || !info.SACK || info.CongestionControl != "cubic" {
		t.Errorf("negotiated %+v, want window scaling, timestamps, SACK and cubic", info)
	}
	c.Close()
	if err := c.SetNoDelay(true); !errors.Is(err, net.ErrClosed) {
		t.Errorf("SetNoDelay after Close: %v, want net.ErrClosed", err)
	}
}

// A peer that vanishes is detected by keep-alive probes: a blocked Read
// fails with ETIMEDOUT after the probes go unanswered.
func TestKeepAliveDetectsDeadPeer(t *testing.T) {
	c, _, cl := connected(t, tcp.Config{})
	if err := c.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: 20 * time.Millisecond, Interval: 10 * time.Millisecond, Count: 2}); err != nil {
		t.Fatal(err)
	}
	cl.Hold() // nothing the client sends arrives any more
	_, err := c.Read(make([]byte, 1))
	if !errors.Is(err, syscall.ETIMEDOUT) {
		t.Fatalf("Read: %v, want ETIMEDOUT", err)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("keep-alive failure reported as a deadline: %v", err)
	}
}

// An unknown congestion control name is refused when the stack is made.
func TestUnknownCongestionControl(t *testing.T) {
	a, _ := link.Pipe()
	_, err := New(a, Config{Addrs: []netip.Addr{clientAddr}, TCP: tcp.Config{CongestionControl: "vegas"}})
	if err == nil {
		t.Fatal("New accepted congestion control \"vegas\"")
	}
}
