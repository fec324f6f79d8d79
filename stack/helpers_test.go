package stack

import (
	"context"
	"net"
	"net/netip"
	"testing"

	"github.com/seqack/seqack/link"
	"github.com/seqack/seqack/tcp"
)

var (
	clientAddr = netip.MustParseAddr("10.0.0.1")
	serverAddr = netip.MustParseAddr("10.0.0.2")
)

// pair returns two hosts, 10.0.0.1 and 10.0.0.2, joined by a Pipe, closed
// when the test ends.
func pair(t testing.TB, tc tcp.Config) (client, server *Stack, cl, sl *link.PipeEnd) {
	t.Helper()
	a, b := link.Pipe()
	client, err := New(a, Config{Addrs: []netip.Addr{clientAddr}, TCP: tc})
	if err != nil {
		t.Fatal(err)
	}
	server, err = New(b, Config{Addrs: []netip.Addr{serverAddr}, TCP: tc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		client.Close()
		server.Close()
	})
	return client, server, a, b
}

// newPairWithBacklog is pair with the server's accept backlog set.
func newPairWithBacklog(t testing.TB, backlog int) (client, server *Stack, err error) {
	a, b := link.Pipe()
	client, err = New(a, Config{Addrs: []netip.Addr{clientAddr}})
	if err != nil {
		return nil, nil, err
	}
	server, err = New(b, Config{Addrs: []netip.Addr{serverAddr}, ListenBacklog: backlog})
	if err != nil {
		return nil, nil, err
	}
	t.Cleanup(func() {
		client.Close()
		server.Close()
	})
	return client, server, nil
}

// connect returns the two ends of a new connection from client to a
// listener on server.
func connect(t testing.TB, client, server *Stack) (c, s *Conn) {
	t.Helper()
	ln, err := server.ListenTCP("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan *Conn, 1)
	go func() {
		c, _ := ln.AcceptTCP()
		accepted <- c
	}()
	addr := netip.AddrPortFrom(server.Addrs()[0], ln.Addr().(*net.TCPAddr).AddrPort().Port())
	c, err = client.DialTCP(context.Background(), "tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	s = <-accepted
	if s == nil {
		t.Fatal("accept failed")
	}
	return c, s
}
