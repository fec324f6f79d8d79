package stack

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/seqack/seqack/tcp"
)

// TestSnapshotQueues: Connections and Listeners report the queues as ss
// does — unread bytes on the receiver, unacknowledged bytes on the sender
// (what the receiver's full window holds back), and a listener's accept
// queue and backlog.
func TestSnapshotQueues(t *testing.T) {
	tc := tcp.Config{ReceiveBufferSize: 16 << 10, MaxReceiveBufferSize: 16 << 10}
	client, server, _, _ := pair(t, tc)
	ln, err := server.ListenTCP("tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.DialTCP(context.Background(), "tcp", "10.0.0.2:80")
	if err != nil {
		t.Fatal(err)
	}
	// Two more handshakes that nobody accepts.
	for range 2 {
		if _, err := client.DialTCP(context.Background(), "tcp", "10.0.0.2:80"); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, func() bool {
		ls := server.Listeners()
		return len(ls) == 1 && ls[0].AcceptQueue == 3
	})
	ls := server.Listeners()
	want := ListenerInfo{Addr: netip.MustParseAddrPort("0.0.0.0:80"), AcceptQueue: 3, Backlog: 128, SynBacklog: 256,
		Stats: ListenerStats{SynsReceived: 3, AcceptQueue: 3}}
	if ls[0] != want {
		t.Errorf("Listeners = %+v; want %+v", ls[0], want)
	}
	s, err := ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	if got := server.Listeners()[0].AcceptQueue; got != 2 {
		t.Errorf("after one Accept, AcceptQueue = %d; want 2", got)
	}

	// The client writes more than the server's buffer holds, and the
	// server reads none of it.
	const total = 100 << 10
	c.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	n, _ := c.Write(make([]byte, total))
	var sq, rq int
	waitUntil(t, func() bool {
		sq = find(t, client.Connections(), c.LocalAddr()).SendQueue
		rq = find(t, server.Connections(), c.LocalAddr()).RecvQueue
		return sq+rq == n && rq > 0
	})
	if sq == 0 || rq > 16<<10 {
		t.Errorf("client Send-Q %d, server Recv-Q %d of %d bytes written; want both set, Recv-Q at most the 16 KiB buffer", sq, rq, n)
	}
	buf := make([]byte, total)
	read := 0
	for read < n {
		m, err := s.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		read += m
	}
	waitUntil(t, func() bool {
		return find(t, client.Connections(), c.LocalAddr()).SendQueue == 0 &&
			find(t, server.Connections(), c.LocalAddr()).RecvQueue == 0
	})
}

// find returns the connection whose remote (server side) or local (client
// side) address is a.
func find(t *testing.T, cs []ConnInfo, a net.Addr) ConnInfo {
	t.Helper()
	ap := a.(*net.TCPAddr).AddrPort()
	for _, c := range cs {
		if c.ID.Local == ap || c.ID.Remote == ap {
			return c
		}
	}
	t.Fatalf("no connection with %v in %v", ap, cs)
	return ConnInfo{}
}

// waitUntil polls cond until it holds, failing the test after 10 s.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached after 10 s")
		}
	}
}
