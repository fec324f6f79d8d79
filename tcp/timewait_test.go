package tcp

// TIME_WAIT: RFC 9293 §3.4.2 / §3.10.7.4, RFC 1122 §4.2.2.13, RFC 6191
// and RFC 1337. Every conversation runs twice: against a Conn in
// TIME_WAIT, and against the TimeWaitEntry it compacts to (what a host
// keeps), which must behave alike.

import (
	"testing"
	"time"
	"unsafe"

	"github.com/seqack/seqack/trace"
	"github.com/seqack/seqack/wire"
)

// inTimeWait runs f on a connection that setup brings to TIME_WAIT (nil:
// toTimeWait, RCV.NXT 5002, SND.NXT 1002), once as a Conn and once
// compacted to a TimeWaitEntry.
func inTimeWait(t *testing.T, cfg *Config, setup func(h *harness), f func(t *testing.T, h *harness)) {
	t.Helper()
	if setup == nil {
		setup = (*harness).toTimeWait
	}
	for _, compact := range []bool{false, true} {
		name := "Conn"
		if compact {
			name = "TimeWaitEntry"
		}
		t.Run(name, func(t *testing.T) {
			h := newActive(t, cfg)
			setup(h)
			h.state(TimeWait)
			if compact {
				h.compact()
			}
			h.markTransitions()
			f(t, h)
		})
	}
}

// RFC 9293 §3.10.7.4 (eighth, TIME-WAIT): "The only thing that can arrive
// in this state is a retransmission of the remote FIN. Acknowledge it, and
// restart the 2 MSL timeout." So the connection outlives the original
// expiry and closes 2×MSL after the retransmitted FIN.
func TestTimeWaitRetransmittedFINRestartsTimer(t *testing.T) {
	inTimeWait(t, nil, nil, func(t *testing.T, h *harness) { // MSL 30 s
		h.advance(30 * time.Second)
		h.send(fin(5001, 1002)) // our ACK of the FIN was lost
		h.expect(ack(1002, 5002))
		h.state(TimeWait)
		h.expectDeadline(60 * time.Second)
		h.advance(30 * time.Second) // the original expiry
		h.expectNone()
		h.state(TimeWait)
		h.advance(30*time.Second - time.Nanosecond)
		h.state(TimeWait)
		h.advance(time.Nanosecond)
		h.expectNone()
		h.expectClosedCleanly()
	})
}

// A retransmitted FIN that carried data is recognised too (it ends at
// RCV.NXT).
func TestTimeWaitRetransmittedFINWithData(t *testing.T) {
	setup := func(h *harness) {
		h.toFinWait2()
		h.send(fin(5001, 1002).text("tail"))
		h.expect(ack(1002, 5006))
	}
	inTimeWait(t, nil, setup, func(t *testing.T, h *harness) {
		h.advance(10 * time.Second)
		h.send(fin(5001, 1002).text("tail"))
		h.expect(ack(1002, 5006))
		h.expectDeadline(60 * time.Second)
	})
}

// Other old segments in TIME_WAIT, a FIN among them if it is not the
// retransmission of the peer's last FIN, draw a plain ACK (they are
// unacceptable, RFC 9293 §3.10.7.4 first) but do not restart the timer.
// Acceptable ones are dropped in silence: no text can follow the FIN.
func TestTimeWaitOtherSegments(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   pkt
		want []pkt
	}{
		{"old data", psh(4990, 1002, "old"), []pkt{ack(1002, 5002)}},
		{"old FIN not ending at RCV.NXT", fin(4990, 1002).text("old"), []pkt{ack(1002, 5002)}},
		{"old bare ACK", ack(5001, 1002), []pkt{ack(1002, 5002)}},
		{"beyond the window", psh(5002+200000, 1002, "far"), []pkt{ack(1002, 5002)}},
		{"in-window ACK", ack(5002, 1002), nil},
		{"in-window data", psh(5002, 1002, "new"), nil},
		{"in-window FIN", fin(5002, 1002), nil},
		{"in-window, no ACK bit", pkt{seq: 5002, payload: []byte("x")}, nil},
		// RFC 5961 §5.2: an ACK of what was never sent is challenged.
		{"ACK beyond SND.NXT", ack(5002, 1500), []pkt{ack(1002, 5002)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inTimeWait(t, nil, nil, func(t *testing.T, h *harness) {
				h.advance(10 * time.Second)
				h.send(tc.in)
				h.expect(tc.want...)
				h.state(TimeWait)
				h.expectDeadline(50 * time.Second)
			})
		})
	}
}

// A SYN that may not reopen the connection is handled as in any
// synchronized state: a challenge ACK (RFC 5961 §4.2), still TIME_WAIT.
// The challenge ACKs are rate-limited (§7): ChallengeACKLimit a second.
func TestTimeWaitSYNDrawsChallengeACK(t *testing.T) {
	inTimeWait(t, &Config{ChallengeACKLimit: 2, InvalidRateLimit: -1}, nil, func(t *testing.T, h *harness) {
		h.send(syn(4000))
		h.expect(ack(1002, 5002))
		h.send(syn(4001))
		h.expect(ack(1002, 5002))
		h.send(syn(4002))
		h.expectNone()
		h.state(TimeWait)
		h.advance(time.Second)
		h.send(syn(4003))
		h.expect(ack(1002, 5002))
	})
}

// Resets in TIME_WAIT with RFC 1337 off (the default, as Linux's
// tcp_rfc1337 = 0): one exactly at RCV.NXT ends TIME_WAIT at once (the
// "assassination" of RFC 1337); one elsewhere in the window draws a
// challenge ACK (RFC 5961 §3.2); one outside it is dropped.
func TestTimeWaitReset(t *testing.T) {
	for _, tc := range []struct {
		name   string
		in     pkt
		want   []pkt
		closed bool
	}{
		{"at RCV.NXT", rst(5002), nil, true},
		{"RST,ACK at RCV.NXT", rstAck(5002, 1002), nil, true},
		{"in the window", rst(5100), []pkt{ack(1002, 5002)}, false},
		{"below the window", rst(5001), nil, false},
		{"beyond the window", rst(5002 + 200000), nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inTimeWait(t, nil, nil, func(t *testing.T, h *harness) {
				h.send(tc.in)
				h.expect(tc.want...)
				if !tc.closed {
					h.state(TimeWait)
					h.expectTransitions()
					return
				}
				h.expectClosedCleanly()
				if h.tw != nil && !twEnded {
					t.Error("Input did not report the end")
				}
			})
		})
	}
}

// With Config.RFC1337, TIME_WAIT ignores every reset (RFC 1337 §3, R1):
// none ends it, none is answered, and it lasts its 2×MSL.
func TestTimeWaitRFC1337IgnoresResets(t *testing.T) {
	inTimeWait(t, &Config{RFC1337: true}, nil, func(t *testing.T, h *harness) {
		for _, in := range []pkt{rst(5002), rstAck(5002, 1002), rst(5100), rst(5001)} {
			h.send(in)
			h.expectNone()
			h.state(TimeWait)
		}
		h.expectTransitions()
		h.advance(60*time.Second - time.Nanosecond)
		h.state(TimeWait)
		// And TIME_WAIT still does its work meanwhile.
		h.send(fin(5001, 1002))
		h.expect(ack(1002, 5002))
		h.advance(60 * time.Second)
		h.expectClosedCleanly()
	})
}

// toTimeWaitTS brings a connection with timestamps to TIME_WAIT: RCV.NXT
// 5002, SND.NXT 1002, TS.Recent peerTS+20.
func (h *harness) toTimeWaitTS() {
	h.t.Helper()
	h.establishTS()
	h.closeWrite()
	h.expect(fin(1001, 5001).ts(h.tsv(), peerTS))
	h.send(ack(5001, 1002).ts(peerTS+10, h.tsv()))
	h.send(fin(5001, 1002).ts(peerTS+20, h.tsv()))
	h.expect(ack(1002, 5002).ts(h.tsv(), peerTS+20))
}

// TIME_WAIT with timestamps: the ACKs carry our clock and TS.Recent;
// PAWS (RFC 7323 §5.3) answers an old duplicate with an ACK and drops
// it, even when its sequence number would be acceptable; a segment that
// covers RCV.NXT and is acknowledged properly moves TS.Recent on.
func TestTimeWaitTimestamps(t *testing.T) {
	inTimeWait(t, nil, (*harness).toTimeWaitTS, func(t *testing.T, h *harness) {
		h.advance(time.Second)
		h.send(fin(5001, 1002).ts(peerTS+1000, h.tsv()))
		h.expect(ack(1002, 5002).ts(h.tsv(), peerTS+20)) // out of window: TS.Recent stays
		h.expectDeadline(60 * time.Second)
		h.advance(500 * time.Millisecond)             // answers out of the window: one per 500 ms
		h.send(ack(5002, 1002).ts(peerTS+5, h.tsv())) // older than TS.Recent
		h.expect(ack(1002, 5002).ts(h.tsv(), peerTS+20))
		h.send(ack(5002, 1002).ts(peerTS+2000, h.tsv())) // acceptable
		h.expectNone()
		h.advance(500 * time.Millisecond)
		h.send(ack(5001, 1002).ts(peerTS+2001, h.tsv()))
		h.expect(ack(1002, 5002).ts(h.tsv(), peerTS+2000))
		h.state(TimeWait)
	})
}

// RFC 1122 §4.2.2.13 and RFC 6191: a SYN may reopen a TIME_WAIT
// connection if its sequence number lies beyond the old incarnation's
// (SEG.SEQ > RCV.NXT), or, when the connection used timestamps, if its
// timestamp is newer than TS.Recent whatever its sequence number; never if
// its timestamp is older (PAWS: an old duplicate). Reopens says so for a
// bare SYN only, and sends nothing.
func TestTimeWaitReopens(t *testing.T) {
	for _, tc := range []struct {
		name string
		ts   bool // the connection uses timestamps (TS.Recent peerTS+20)
		in   pkt
		want bool
	}{
		{"SYN beyond RCV.NXT", false, syn(5003), true},
		{"SYN far beyond RCV.NXT", false, syn(5002 + 1<<30), true},
		{"SYN at RCV.NXT", false, syn(5002), false},
		{"SYN before RCV.NXT", false, syn(4000), false},
		{"SYN-ACK", false, synAck(6000, 1002), false},
		{"SYN-RST", false, syn(6000).with(wire.FlagRST), false},
		{"ACK", false, ack(6000, 1002), false},
		{"newer timestamp, older sequence number", true, syn(4000).ts(peerTS+21, 0), true},
		{"older timestamp, newer sequence number", true, syn(6000).ts(peerTS+19, 0), false},
		{"same timestamp, newer sequence number", true, syn(6000).ts(peerTS+20, 0), true},
		{"same timestamp, older sequence number", true, syn(4000).ts(peerTS+20, 0), false},
		{"no timestamp, newer sequence number", true, syn(6000), true},
		{"no timestamp, older sequence number", true, syn(4000), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setup := (*harness).toTimeWait
			if tc.ts {
				setup = (*harness).toTimeWaitTS
			}
			inTimeWait(t, nil, setup, func(t *testing.T, h *harness) {
				got := h.c.ReopensFromTimeWait(tc.in.segment())
				if h.tw != nil {
					got = h.tw.Reopens(tc.in.segment())
				}
				if got != tc.want {
					t.Errorf("Reopens = %v, want %v", got, tc.want)
				}
				h.expectNone()
			})
		})
	}
	e := newActive(t, nil)
	e.establish()
	if e.c.ReopensFromTimeWait(syn(900000).segment()) {
		t.Error("ReopensFromTimeWait = true in ESTABLISHED")
	}
}

// Reopening is the host's to do, when a listener can take the SYN
// (Reopens, then Abort): Input answers a SYN that could reopen the
// connection as any other, with a challenge ACK, and TIME_WAIT goes on,
// as Linux does when no listener takes the SYN. Abort then ends it with
// nothing sent, and reports TIME_WAIT → CLOSED (the SYN is not reported as
// received by the old connection: it belongs to the new one).
func TestTimeWaitEntryReopen(t *testing.T) {
	h := newActive(t, nil)
	h.toTimeWait()
	h.compact()
	h.send(syn(9000))
	h.expect(ack(1002, 5002))
	h.state(TimeWait)
	if twEnded {
		t.Error("Input reported an end")
	}
	if !h.tw.Reopens(syn(9000).segment()) {
		t.Fatal("Reopens = false for a SYN beyond RCV.NXT")
	}
	h.markTransitions()
	n := len(h.events)
	h.tw.Abort(h.now, h.sink)
	h.expectNone()
	h.expectClosedCleanly()
	if len(h.events) != n+1 || h.events[n].Kind != trace.StateChanged {
		t.Errorf("Abort reported %d events, want only the change to CLOSED", len(h.events)-n)
	}
	if !h.tw.Input(syn(9001).segment(), h.now, h, h.sink) {
		t.Error("Input after Abort did not report the end")
	}
	h.expectNone()
}

// The TimeWaitEntry reports what a Conn reports: every segment received
// and sent, with the connection's endpoints, the timer, and the change to
// CLOSED when 2×MSL is over.
func TestTimeWaitEntryEvents(t *testing.T) {
	h := newActive(t, nil)
	h.toTimeWait()
	h.compact()
	from := len(h.events)
	h.send(fin(5001, 1002))
	h.expect(ack(1002, 5002))
	h.advance(60 * time.Second)
	var kinds []trace.Kind
	for _, e := range h.events[from:] {
		if e.Local != testID.Local || e.Remote != testID.Remote {
			t.Errorf("%v event for %v→%v, want %v→%v", e.Kind, e.Local, e.Remote, testID.Local, testID.Remote)
		}
		kinds = append(kinds, e.Kind)
	}
	want := []trace.Kind{trace.SegmentReceived, trace.SegmentSent, trace.TimerFired, trace.StateChanged}
	if len(kinds) != len(want) {
		t.Fatalf("events %v, want %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("events %v, want %v", kinds, want)
		}
	}
	if e := h.events[len(h.events)-1]; e.From != "TIME_WAIT" || e.To != "CLOSED" {
		t.Errorf("last change %s→%s, want TIME_WAIT→CLOSED", e.From, e.To)
	}
	if e := h.events[from+2]; e.Timer != "time-wait" {
		t.Errorf("timer %q, want time-wait", e.Timer)
	}
}

// CompactTimeWait works only in TIME_WAIT. After it the Conn is CLOSED
// with no timer, and still lets the application read what it had not.
func TestCompactTimeWait(t *testing.T) {
	h := newActive(t, nil)
	h.establish()
	if h.c.CompactTimeWait() != nil {
		t.Fatal("CompactTimeWait in ESTABLISHED returned an entry")
	}
	h.closeWrite()
	h.expect(fin(1001, 5001))
	h.send(ack(5001, 1002))
	h.send(fin(5001, 1002).text("unread"))
	h.expect(ack(1002, 5008))
	h.state(TimeWait)
	h.markTransitions()
	h.compact()
	h.expectTransitions() // the Conn's end is silent: the entry carries on
	h.expectNoTimer()
	if got := string(h.read()); got != "unread" {
		t.Errorf("read %q after compaction", got)
	}
	if n, err := h.c.Read(make([]byte, 10), h.now); n != 0 || err == nil {
		t.Errorf("Read at the end = %d, %v; want 0, EOF", n, err)
	}
	if h.c.BufferMemory() != 0 {
		t.Errorf("the closed Conn holds %d bytes of buffers", h.c.BufferMemory())
	}
	if h.c.CompactTimeWait() != nil {
		t.Error("a second CompactTimeWait returned an entry")
	}
	if h.tw.ID() != testID || h.tw.Expires() != h.now.Add(60*time.Second) {
		t.Errorf("entry for %v expiring in %v", h.tw.ID(), h.tw.Expires().Sub(h.now))
	}
	t.Logf("a TimeWaitEntry takes %d bytes (a Conn %d)", unsafe.Sizeof(TimeWaitEntry{}), unsafe.Sizeof(Conn{}))
}
