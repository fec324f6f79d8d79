package stack

import (
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/seqack/seqack/tcp"
	"github.com/seqack/seqack/trace"
	"github.com/seqack/seqack/wire"
)

// toTimeWait opens a connection from the raw peer (10.0.0.9:40000, ISS
// 1000) to a listener on s port 80, and closes it from s's side first, so
// that s ends in TIME_WAIT with RCV.NXT 1002. It returns s's Conn and its
// ISS.
func toTimeWait(t *testing.T, s *Stack, p *rawPeer) (*Conn, uint32) {
	t.Helper()
	ln, err := s.ListenTCP("tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	p.send(tcpPacket(serverAddr, 40000, 80, 1000, 0, wire.FlagSYN, nil, nil))
	iss := tcpOf(t, p.expect()).Seq()
	p.send(tcpPacket(serverAddr, 40000, 80, 1001, iss+1, wire.FlagACK, nil, nil))
	c, err := ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if fin := tcpOf(t, p.expect()); fin.Flags() != wire.FlagFIN|wire.FlagACK {
		t.Fatalf("want our FIN, got %v", fin)
	}
	p.send(tcpPacket(serverAddr, 40000, 80, 1001, iss+2, wire.FlagFIN|wire.FlagACK, nil, nil))
	if a := tcpOf(t, p.expect()); a.Flags() != wire.FlagACK || a.Ack() != 1002 {
		t.Fatalf("want the ACK of the peer's FIN, got %v", a)
	}
	waitState(t, c, tcp.TimeWait)
	return c, iss
}

// A connection in TIME_WAIT is in the stack's TIME-WAIT table, not its
// connection table, yet everything still sees TIME_WAIT: the Conn's
// State, Connections, and the peer, whose retransmitted FIN is
// acknowledged again. The Conn itself is not kept: once the application
// drops it, it is garbage.
func TestTimeWaitLeavesConnectionTable(t *testing.T) {
	s, p := newRawPeer(t, Config{})
	c, iss := toTimeWait(t, s, p)
	id := c.id
	s.mu.RLock()
	_, inTable := s.conns[keyOf(id)]
	s.mu.RUnlock()
	if inTable || s.timeWaitCount() != 1 {
		t.Fatalf("in the connection table: %v; TIME-WAIT entries: %d; want false, 1", inTable, s.timeWaitCount())
	}
	cs := s.Connections()
	if len(cs) != 1 || cs[0].ID != id || cs[0].State != tcp.TimeWait {
		t.Fatalf("Connections = %+v, want the one in TIME_WAIT", cs)
	}
	p.send(tcpPacket(serverAddr, 40000, 80, 1001, iss+2, wire.FlagFIN|wire.FlagACK, nil, nil))
	if a := tcpOf(t, p.expect()); a.Flags() != wire.FlagACK || a.Seq() != iss+2 || a.Ack() != 1002 {
		t.Fatalf("retransmitted FIN drew %v, want <SEQ=%d><ACK=1002><CTL=ACK>", a, iss+2)
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("Read in TIME_WAIT did not return EOF")
	}

	collected := make(chan struct{})
	runtime.AddCleanup(c, func(ch chan struct{}) { close(ch) }, collected)
	c = nil
	for i := 0; i < 20; i++ {
		runtime.GC()
		select {
		case <-collected:
			if s.timeWaitCount() != 1 {
				t.Fatal("the TIME-WAIT entry went with the Conn")
			}
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatal("the Conn of a connection in TIME_WAIT was never collected: something still holds it")
}

// RFC 1337 at the stack: with TCP.RFC1337 off (the default), a reset at
// RCV.NXT ends TIME_WAIT, and the peer's next FIN finds no connection
// (a reset answers it); with it on, the reset is ignored and TIME_WAIT
// goes on acknowledging the FIN.
func TestTimeWaitRFC1337(t *testing.T) {
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
		}
		t.Run(name, func(t *testing.T) {
			s, p := newRawPeer(t, Config{TCP: tcp.Config{RFC1337: on}})
			c, iss := toTimeWait(t, s, p)
			p.send(tcpPacket(serverAddr, 40000, 80, 1002, 0, wire.FlagRST, nil, nil))
			p.expectNothing()
			p.send(tcpPacket(serverAddr, 40000, 80, 1001, iss+2, wire.FlagFIN|wire.FlagACK, nil, nil))
			answer := tcpOf(t, p.expect())
			if !on {
				if answer.Flags() != wire.FlagRST || c.State() != tcp.Closed || s.timeWaitCount() != 0 {
					t.Fatalf("after the reset: FIN drew %v, state %v, %d entries; want RST, CLOSED, 0",
						answer, c.State(), s.timeWaitCount())
				}
				return
			}
			if answer.Flags() != wire.FlagACK || answer.Ack() != 1002 || c.State() != tcp.TimeWait || s.timeWaitCount() != 1 {
				t.Fatalf("after the reset: FIN drew %v, state %v, %d entries; want ACK 1002, TIME_WAIT, 1",
					answer, c.State(), s.timeWaitCount())
			}
		})
	}
}

// On a driven stack, TIME_WAIT ends 2×MSL after it began: NextTimer says
// when, RunTimers ends it there (not a moment before), and the trace shows
// the timer and TIME_WAIT → CLOSED as a Conn would report them.
func TestTimeWaitExpiresOnVirtualClock(t *testing.T) {
	n := newDrivenNet(t, 1)
	c, s := n.dial()
	c.Close()
	n.pump()
	s.Close()
	n.pump()
	if c.State() != tcp.TimeWait || n.client.timeWaitCount() != 1 {
		t.Fatalf("client %v with %d TIME-WAIT entries, want TIME_WAIT and 1", c.State(), n.client.timeWaitCount())
	}
	began := n.now
	if next := n.client.NextTimer(); !next.Equal(began.Add(60 * time.Second)) {
		t.Fatalf("next timer at +%v, want +60s", next.Sub(began))
	}
	n.now = began.Add(60*time.Second - time.Millisecond)
	n.client.RunTimers()
	if c.State() != tcp.TimeWait {
		t.Fatalf("state %v before 2×MSL, want TIME_WAIT", c.State())
	}
	n.now = began.Add(60 * time.Second)
	n.client.RunTimers()
	if c.State() != tcp.Closed || n.client.timeWaitCount() != 0 || len(n.client.Connections()) != 0 {
		t.Fatalf("after 2×MSL: state %v, %d entries, connections %v", c.State(), n.client.timeWaitCount(), n.client.Connections())
	}
	if next := n.client.NextTimer(); !next.IsZero() {
		t.Errorf("a timer is left at +%v", next.Sub(began))
	}
	var tail []string
	for _, e := range n.rec.Events() {
		if e.Local == c.id.Local && e.Remote == c.id.Remote && !e.Time.Before(began.Add(time.Second)) {
			switch e.Kind {
			case trace.TimerFired:
				tail = append(tail, "timer "+e.Timer)
			case trace.StateChanged:
				tail = append(tail, e.From+"→"+e.To)
			default:
				tail = append(tail, e.Kind.String())
			}
		}
	}
	if len(tail) != 2 || tail[0] != "timer time-wait" || tail[1] != "TIME_WAIT→CLOSED" {
		t.Errorf("events at the end: %q, want the time-wait timer, then TIME_WAIT→CLOSED", tail)
	}
}

// A SYN that could reopen a connection in TIME_WAIT does so only if a
// listener is there to take it; with none, TIME_WAIT answers it with an
// ACK and goes on, as Linux does (TCP_TW_SYN with no listener), rather
// than end for a connection nobody can accept.
func TestTimeWaitSYNWithoutListener(t *testing.T) {
	s, p := newRawPeer(t, Config{})
	c, iss := toTimeWait(t, s, p)
	for _, ln := range s.Listeners() {
		s.mu.RLock()
		l := s.listeners[ln.Addr]
		s.mu.RUnlock()
		l.Close()
	}
	p.send(tcpPacket(serverAddr, 40000, 80, 900000, 0, wire.FlagSYN, nil, nil))
	if a := tcpOf(t, p.expect()); a.Flags() != wire.FlagACK || a.Seq() != iss+2 || a.Ack() != 1002 {
		t.Fatalf("new SYN with no listener drew %v, want <SEQ=%d><ACK=1002><CTL=ACK>", a, iss+2)
	}
	if c.State() != tcp.TimeWait || s.timeWaitCount() != 1 {
		t.Fatalf("state %v with %d entries, want TIME_WAIT and 1", c.State(), s.timeWaitCount())
	}
}

// A peer that keeps resending its FIN restarts TIME_WAIT's 2×MSL each
// time, but the entry keeps one record in the expiry queue, however many
// FINs come: when the record comes up early, the entry is queued again at
// its new expiry, and ends there.
func TestTimeWaitRestartsKeepOneRecord(t *testing.T) {
	s, p := newRawPeer(t, Config{})
	c, iss := toTimeWait(t, s, p)
	q := &s.timeWait
	q.mu.Lock()
	first := q.nextLocked()
	q.mu.Unlock()
	for range 200 {
		p.send(tcpPacket(serverAddr, 40000, 80, 1001, iss+2, wire.FlagFIN|wire.FlagACK, nil, nil))
	}
	// The answers are rate-limited; wait for the last FIN to be taken.
	waitFor(t, "the FINs taken", func() bool { return s.Stats().TCPSegmentsIn >= 203 })
	q.mu.Lock()
	records := len(q.queue) - q.head
	tw := q.lookupLocked(c.id)
	q.mu.Unlock()
	if records != 1 || tw == nil {
		t.Fatalf("%d records in the expiry queue after 200 FINs, entry %v; want 1 and the entry", records, tw)
	}
	restarted := tw.Expires()
	if !restarted.After(first) {
		t.Fatalf("expiry %v not after the first %v: the FINs did not restart 2×MSL", restarted, first)
	}
	// The first record comes up: the entry is queued again, not ended.
	if next := s.expireTimeWaits(first, time.Time{}); !next.Equal(restarted) || c.State() != tcp.TimeWait {
		t.Fatalf("at the first expiry: next %v (want %v), state %v", next, restarted, c.State())
	}
	if next := s.expireTimeWaits(restarted, time.Time{}); !next.IsZero() || c.State() != tcp.Closed || s.timeWaitCount() != 0 {
		t.Fatalf("at the restarted expiry: next %v, state %v, %d entries; want none, CLOSED, 0", next, c.State(), s.timeWaitCount())
	}
}

// Config.MaxTimeWait bounds the TIME-WAIT table: beyond it, a connection
// that would enter TIME-WAIT is CLOSED at once and counted, and the
// entries already held are untouched.
func TestTimeWaitTableLimit(t *testing.T) {
	s, p := newRawPeer(t, Config{MaxTimeWait: 1})
	first, _ := toTimeWait(t, s, p)
	// A second connection, from another port, closed the same way.
	ln := s.listeners[netip.MustParseAddrPort("0.0.0.0:80")]
	p.send(tcpPacket(serverAddr, 40001, 80, 5000, 0, wire.FlagSYN, nil, nil))
	iss := tcpOf(t, p.expect()).Seq()
	p.send(tcpPacket(serverAddr, 40001, 80, 5001, iss+1, wire.FlagACK, nil, nil))
	c, err := ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	p.expect() // our FIN
	p.send(tcpPacket(serverAddr, 40001, 80, 5001, iss+2, wire.FlagFIN|wire.FlagACK, nil, nil))
	p.expect() // the ACK of theirs
	waitState(t, c, tcp.Closed)
	if first.State() != tcp.TimeWait || s.timeWaitCount() != 1 || s.Stats().TCPTimeWaitOverflow != 1 {
		t.Fatalf("first %v, %d entries, %d overflows; want TIME_WAIT, 1, 1", first.State(), s.timeWaitCount(), s.Stats().TCPTimeWaitOverflow)
	}
}
