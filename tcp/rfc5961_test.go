package tcp

// RFC 5961, case by case and state by state: a blind attacker's RST, SYN
// or data with an unacceptable ACK draws one challenge ACK and changes
// nothing in the connection.

import (
	"testing"
	"time"
)

// tcbState is what a blind segment must not change: the state, both
// sequence spaces, the windows, TS.Recent, the buffers, the timers and the
// congestion state.
type tcbState struct {
	state                     State
	err                       error
	sndUna, sndNxt, sndMax    Value
	sndWnd, maxSndWnd         uint32
	sndWl1, sndWl2            Value
	rcvNxt, rcvAdvEdge        Value
	tsRecent                  uint32
	tsRecentAt                instant
	unread, buffered          int
	rtoAt, persistAt, delack  instant
	timeWaitAt                instant
	cwnd, ssthresh, dupAcks   int
	recovery                  recoveryKind
	finReceived, oooFinSet    bool
	dsackPending, oooNonEmpty bool
}

func snapshotTCB(c *Conn) tcbState {
	return tcbState{
		state: c.state, err: c.err,
		sndUna: c.sndUna, sndNxt: c.sndNxt, sndMax: c.sndMax,
		sndWnd: c.sndWnd, maxSndWnd: c.maxSndWnd, sndWl1: c.sndWl1, sndWl2: c.sndWl2,
		rcvNxt: c.rcvNxt, rcvAdvEdge: c.rcvAdvEdge,
		tsRecent: c.tsRecent, tsRecentAt: c.tsRecentAt,
		unread: c.rcvBuf.Len(), buffered: c.sendBuf.Len(),
		rtoAt: c.rtoAt, persistAt: c.persistAt, delack: c.delackAt, timeWaitAt: c.timeWaitAt,
		cwnd: c.cc.Cwnd(), ssthresh: c.cc.Ssthresh(), dupAcks: c.dupAcks, recovery: c.recovery,
		finReceived: c.finReceived, oooFinSet: c.oooFinSet,
		dsackPending: c.dsackPending, oooNonEmpty: !c.ooo.empty(),
	}
}

// blindCase is a segment a blind attacker sends, built from the
// connection's numbers (RCV.NXT, the window's edge, SND.MAX), which a
// real attacker would have to guess.
type blindCase struct {
	name string
	make func(c tcbState) pkt
}

// blindCases are the attacks RFC 5961 answers with a challenge ACK: §3.2
// (a RST in the window but not at RCV.NXT), §4.2 (a SYN, whatever its
// sequence number), §5.2 (data whose ACK is outside SND.UNA-MAX.SND.WND ..
// SND.NXT).
var blindCases = []blindCase{
	{"§3 RST at RCV.NXT+1", func(c tcbState) pkt { return rst(c.rcvNxt + 1) }},
	{"§3 RST in mid-window", func(c tcbState) pkt { return rst(c.rcvNxt + 30000) }},
	{"§3 RST at the window's last byte", func(c tcbState) pkt { return rst(c.rcvAdvEdge - 1) }},
	{"§3 RST,ACK in window", func(c tcbState) pkt { return rstAck(c.rcvNxt+100, c.sndMax) }},
	{"§4 SYN in window", func(c tcbState) pkt { return syn(c.rcvNxt + 10) }},
	{"§4 SYN at RCV.NXT", func(c tcbState) pkt { return syn(c.rcvNxt) }},
	{"§4 SYN out of window", func(c tcbState) pkt { return syn(c.rcvNxt + 1<<30) }},
	{"§4 SYN with data", func(c tcbState) pkt { return syn(c.rcvNxt).text("inject") }},
	{"§4 SYN,ACK", func(c tcbState) pkt { return synAck(c.rcvNxt+10, c.sndMax) }},
	{"§5 data, ACK beyond SND.NXT", func(c tcbState) pkt { return psh(c.rcvNxt, c.sndMax+1, "inject") }},
	{"§5 data, ACK far beyond SND.NXT", func(c tcbState) pkt { return psh(c.rcvNxt, c.sndMax+1<<30, "inject") }},
	{"§5 data, ACK of the ISS", func(c tcbState) pkt { return psh(c.rcvNxt, activeISS, "inject") }},
	{"§5 data, ACK far behind", func(c tcbState) pkt { return psh(c.rcvNxt, c.sndUna-1<<30, "inject") }},
	{"§5 FIN, ACK beyond SND.NXT", func(c tcbState) pkt { return fin(c.rcvNxt, c.sndMax+1000) }},
	{"§5 bare ACK beyond SND.NXT", func(c tcbState) pkt { return ack(c.rcvNxt, c.sndMax+1) }},
}

// synchronizedStates reach each synchronized state but TIME_WAIT (see
// timewait_test.go) from an active open: ISS 1000, the peer's 5000, no
// data sent yet, so SND.UNA is ISS+1 (or ISS+2 once our FIN is acked)
// and MAX.SND.WND is bounded by the bytes acknowledged.
var synchronizedStates = []struct {
	state State
	setup func(h *harness)
}{
	{Established, (*harness).establish},
	{FinWait1, (*harness).toFinWait1},
	{FinWait2, (*harness).toFinWait2},
	{CloseWait, (*harness).toCloseWait},
	{Closing, (*harness).toClosing},
	{LastAck, (*harness).toLastAck},
}

// Every blind case in every synchronized state: exactly one challenge ACK,
// <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, counted by the host's limiter, and
// not one field of the connection changed; then the peer's next real
// segment is still taken.
func TestBlindAttacksDrawChallengeACK(t *testing.T) {
	for _, st := range synchronizedStates {
		for _, bc := range blindCases {
			t.Run(st.state.String()+"/"+bc.name, func(t *testing.T) {
				host := NewChallengeACKLimiter(0)
				h := newActive(t, &Config{ChallengeACKs: host})
				st.setup(h)
				h.advance(10 * time.Millisecond)
				before := snapshotTCB(h.c)
				h.send(bc.make(before))
				h.expect(ack(before.sndMax, before.rcvNxt))
				if after := snapshotTCB(h.c); after != before {
					t.Errorf("the connection changed:\nbefore %+v\nafter  %+v", before, after)
				}
				if host.Sent() != 1 || host.Limited() != 0 {
					t.Errorf("limiter counted %d sent, %d limited; want 1, 0", host.Sent(), host.Limited())
				}
				// A keep-alive style probe from the real peer, once the
				// out-of-window limit allows another answer (oow.go: as
				// if 500 ms had passed, without the timers that would
				// fire meanwhile), is still answered in step: the
				// connection is in sync.
				h.c.lastOOW = 0
				h.send(ack(before.rcvNxt-1, before.sndMax))
				h.expect(ack(before.sndMax, before.rcvNxt))
				h.state(st.state)
			})
		}
	}
}

// The rules' other sides: a RST exactly at RCV.NXT resets (§3.2), one
// outside the window is dropped in silence, and an old ACK within
// SND.UNA-MAX.SND.WND (a duplicate) is fine, its data taken.
func TestBlindRulesOtherSide(t *testing.T) {
	t.Run("RST at RCV.NXT resets", func(t *testing.T) {
		h := newActive(t, nil)
		h.establish()
		h.send(rst(5001))
		h.expectNone()
		h.state(Closed)
		if h.c.Err() != ErrConnectionReset {
			t.Errorf("Err = %v, want %v", h.c.Err(), ErrConnectionReset)
		}
	})
	for _, seq := range []Value{5001 + 65535, 5000, 5001 + 1<<31} {
		h := newActive(t, nil)
		h.establish()
		before := snapshotTCB(h.c)
		h.send(rst(seq))
		h.expectNone()
		if after := snapshotTCB(h.c); after != before {
			t.Errorf("RST at %d outside the window changed the connection", uint32(seq))
		}
	}
	t.Run("old duplicate ACK within MAX.SND.WND", func(t *testing.T) {
		h := newActive(t, nil)
		h.establish()
		h.write(pattern(100))
		h.expect(psh(1001, 5001, "").data(pattern(100)))
		h.send(ack(5001, 1101))
		h.expectNone()
		h.send(psh(5001, 1050, "ok")) // SND.UNA is 1101; 1050 is old but possible
		h.expect(ack(1101, 5003))
		if got := string(h.read()); got != "ok" {
			t.Errorf("Read = %q, want %q", got, "ok")
		}
	})
}

// TS.Recent (RFC 7323) is taken from a segment only once it has passed
// the checks of RFC 5961: a blind in-window RST, SYN or bad ACK carrying a
// TSval far ahead must not move it, or PAWS would then drop every segment
// of the real peer.
func TestBlindSegmentsDoNotMoveTSRecent(t *testing.T) {
	for _, bc := range blindCases {
		t.Run(bc.name, func(t *testing.T) {
			h := newActive(t, nil)
			h.connect()
			h.send(synAck(5000, 1001).mss(1460).ts(100, h.tsv()))
			h.expect(ack(1001, 5001).ts(h.tsv(), 100))
			h.advance(10 * time.Millisecond)
			before := snapshotTCB(h.c)
			h.send(bc.make(before).ts(100+1<<30, h.tsv()))
			h.expect(ack(1001, 5001).ts(h.tsv(), 100))
			if after := snapshotTCB(h.c); after != before {
				t.Errorf("the connection changed:\nbefore %+v\nafter  %+v", before, after)
			}
			// The real peer's next segment, TSval 101, is not PAWS-dropped.
			h.send(psh(5001, 1001, "real").ts(101, h.tsv()))
			h.expect(ack(1001, 5005).ts(h.tsv(), 101))
			if got := string(h.read()); got != "real" {
				t.Errorf("Read = %q, want %q", got, "real")
			}
		})
	}
}

// The host-wide limit (RFC 5961 §7) is shared by the host's connections:
// with an allowance of one a second, a second connection's challenge in
// the same second is held back and counted, and the next second allows
// one again. The per-connection limit's refusals are counted too.
func TestHostChallengeACKLimit(t *testing.T) {
	host := NewChallengeACKLimiter(1)
	a := newActive(t, &Config{ChallengeACKs: host})
	b := newActive(t, &Config{ChallengeACKs: host})
	a.establish()
	b.establish()
	a.send(rst(5100))
	a.expect(ack(1001, 5001))
	b.send(rst(5100))
	b.expectNone()
	if host.Sent() != 1 || host.Limited() != 1 {
		t.Fatalf("sent %d, limited %d; want 1, 1", host.Sent(), host.Limited())
	}
	b.advance(time.Second)
	b.send(syn(5100))
	b.expect(ack(1001, 5001))

	// Without a host-wide limit, only the connection's own applies.
	host = NewChallengeACKLimiter(0)
	h := newActive(t, &Config{ChallengeACKs: host, ChallengeACKLimit: 2, InvalidRateLimit: -1})
	h.establish()
	for range 5 {
		h.send(psh(5001, 9999, "x"))
	}
	h.expect(ack(1001, 5001), ack(1001, 5001))
	if host.Sent() != 2 || host.Limited() != 3 {
		t.Fatalf("sent %d, limited %d; want 2, 3", host.Sent(), host.Limited())
	}
}

// Each second's host-wide allowance is drawn between Limit/2 and
// 3·Limit/2, so that an attacker cannot count on it (CVE-2016-5696).
func TestHostChallengeACKAllowanceVaries(t *testing.T) {
	const limit = 100
	l := NewChallengeACKLimiter(limit)
	seen := map[int]bool{}
	for s := range 50 {
		now := epoch.Add(time.Duration(s) * time.Second)
		n := 0
		for l.allow(now) {
			n++
		}
		if n < limit/2 || n > limit+limit/2-1 {
			t.Fatalf("second %d allowed %d, want %d to %d", s, n, limit/2, limit+limit/2-1)
		}
		seen[n] = true
	}
	if len(seen) < 10 {
		t.Errorf("50 seconds gave only %d different allowances: not random", len(seen))
	}
}
