package tcp

// Resets, and the RFC 5961 defences against blind in-window attacks.

import (
	"testing"
	"time"

	"github.com/seqack/seqack/wire"
)

// closedResetCases are segments reaching no connection and the reset RFC
// 9293 §3.10.7.1 prescribes: "If the ACK bit is off, sequence number zero
// is used, <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. If the ACK bit is on,
// <SEQ=SEG.ACK><CTL=RST>." SEG.LEN counts SYN and FIN. "An incoming segment
// containing a RST is discarded."
var closedResetCases = []struct {
	name string
	in   pkt
	want []pkt
}{
	{"SYN", syn(7000), []pkt{rstAck(0, 7001)}},
	{"SYN with data and FIN", syn(7000).with(wire.FlagFIN).text("0123456789"), []pkt{rstAck(0, 7012)}},
	{"FIN with data, no ACK", pkt{seq: 7000, flags: wire.FlagFIN}.text("0123456789"), []pkt{rstAck(0, 7011)}},
	{"data, no ACK", pkt{seq: 7000, flags: wire.FlagPSH}.text("abc"), []pkt{rstAck(0, 7003)}},
	{"bare segment, no flags", pkt{seq: 7000}, []pkt{rstAck(0, 7000)}},
	{"sequence space wraps", syn(0xFFFFFFFF).text("ab"), []pkt{rstAck(0, 2)}},
	{"ACK", ack(7000, 1234), []pkt{rst(1234)}},
	{"ACK with data", psh(7000, 1234, "hello"), []pkt{rst(1234)}},
	{"SYN-ACK", synAck(7000, 1234), []pkt{rst(1234)}},
	{"FIN-ACK", fin(7000, 1234), []pkt{rst(1234)}},
	{"RST", rst(7000), nil},
	{"RST-ACK", rstAck(7000, 1234), nil},
}

// tcp.ResetFor is the CLOSED-state rule on its own (RFC 9293 §3.10.7.1).
func TestResetFor(t *testing.T) {
	for _, tc := range closedResetCases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ResetFor(tc.in.segment())
			if len(tc.want) == 0 {
				if ok {
					t.Fatalf("ResetFor = %s, true; want no reset", formatSegment(&got))
				}
				return
			}
			if !ok {
				t.Fatalf("ResetFor gave no reset, want %s", tc.want[0])
			}
			if d := tc.want[0].mismatches(&got); d != nil {
				t.Fatalf("ResetFor = %s, want %s: %v", formatSegment(&got), tc.want[0], d)
			}
		})
	}
}

// A Conn in the CLOSED state answers as ResetFor says, both before it was
// ever opened and after it has closed (RFC 9293 §3.10.7.1).
func TestClosedConnAnswersWithReset(t *testing.T) {
	for _, setup := range []struct {
		name string
		fn   func(h *harness)
	}{
		{"never opened", func(h *harness) {}},
		{"after LAST_ACK", func(h *harness) {
			h.toLastAck()
			h.send(ack(5002, 1002))
			h.state(Closed)
		}},
	} {
		for _, tc := range closedResetCases {
			t.Run(setup.name+"/"+tc.name, func(t *testing.T) {
				h := newActive(t, nil)
				setup.fn(h)
				h.send(tc.in)
				h.expect(tc.want...)
				h.state(Closed)
			})
		}
	}
}

// SEG.LEN of RFC 9293 §3.4: data bytes, plus one for SYN and one for FIN.
func TestSegmentLen(t *testing.T) {
	for _, tc := range []struct {
		in   pkt
		want uint32
	}{
		{ack(1, 1), 0},
		{syn(1), 1},
		{synAck(1, 1), 1},
		{fin(1, 1), 1},
		{syn(1).with(wire.FlagFIN), 2},
		{psh(1, 1, "abcd"), 4},
		{fin(1, 1).text("abcd"), 5},
		{syn(1).with(wire.FlagFIN).text("abcd"), 6},
		{rst(1), 0},
	} {
		s := tc.in.segment()
		if got := s.Len(); got != tc.want {
			t.Errorf("Len(%s) = %d, want %d", tc.in, got, tc.want)
		}
	}
	s := Segment{Payload: []byte("abc"), PayloadWrap: []byte("de"), Flags: wire.FlagFIN}
	if s.PayloadLen() != 5 || s.Len() != 6 {
		t.Errorf("PayloadLen, Len = %d, %d with a wrapped payload; want 5, 6", s.PayloadLen(), s.Len())
	}
}

// RFC 5961 §3.2: "If the RST bit is set and the sequence number exactly
// matches the next expected sequence number (RCV.NXT), then TCP MUST reset
// the connection"; if it is merely in the window, "TCP MUST send an
// acknowledgment (challenge ACK): <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>" and
// drop the segment; outside the window it is silently dropped.
func TestRSTSequenceCheck(t *testing.T) {
	const rcvNxt = 5001 // the window is [5001, 5001+65535)
	for _, tc := range []struct {
		name string
		in   pkt
		want []pkt
	}{
		{"in window, RCV.NXT+1", rst(rcvNxt + 1), []pkt{ack(1001, 5001)}},
		{"in window, middle", rst(rcvNxt + 1000), []pkt{ack(1001, 5001)}},
		{"in window, last", rst(rcvNxt + 65534), []pkt{ack(1001, 5001)}},
		{"in window, with ACK", rstAck(rcvNxt+10, 1001), []pkt{ack(1001, 5001)}},
		{"just past the window", rst(rcvNxt + 65535), nil},
		{"far past the window", rst(rcvNxt + 1<<20), nil},
		{"just before RCV.NXT", rst(rcvNxt - 1), nil},
		{"far before RCV.NXT", rst(1), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newActive(t, nil)
			h.establish()
			h.send(tc.in)
			h.expect(tc.want...)
			h.state(Established)
			if err := h.c.Err(); err != nil {
				t.Errorf("Err = %v, want nil", err)
			}
		})
	}
}

// RFC 5961 §4.2: in a synchronized state a SYN, "irrespective of the
// sequence number", draws a challenge ACK and is dropped; the connection
// stays.
func TestSYNInSynchronizedStateDrawsChallengeACK(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(h *harness)
		state State
		in    pkt
		want  pkt
	}{
		{"ESTABLISHED, in window", (*harness).establish, Established, syn(5011), ack(1001, 5001)},
		{"ESTABLISHED, the old ISN", (*harness).establish, Established, syn(5000), ack(1001, 5001)},
		{"ESTABLISHED, out of window", (*harness).establish, Established, syn(900000), ack(1001, 5001)},
		{"ESTABLISHED, SYN-ACK", (*harness).establish, Established, synAck(5100, 1001), ack(1001, 5001)},
		{"ESTABLISHED, SYN with data", (*harness).establish, Established, syn(5001).text("data"), ack(1001, 5001)},
		{"FIN_WAIT_2", (*harness).toFinWait2, FinWait2, syn(5011), ack(1002, 5001)},
		{"CLOSE_WAIT", (*harness).toCloseWait, CloseWait, syn(5011), ack(1001, 5002)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newActive(t, nil)
			tc.setup(h)
			h.send(tc.in)
			h.expect(tc.want)
			h.state(tc.state)
			if n := h.c.Unread(); n != 0 {
				t.Errorf("Unread = %d, want 0: a SYN's data must not be taken", n)
			}
		})
	}
}

// RFC 5961 §7: challenge ACKs are rate-limited; with ChallengeACKLimit 3,
// the fourth challenge within a second goes unanswered, and a second later
// they are allowed again.
func TestChallengeACKRateLimit(t *testing.T) {
	h := newActive(t, &Config{ChallengeACKLimit: 3, InvalidRateLimit: -1})
	h.establish()
	for range 4 {
		h.send(rst(5100))
	}
	h.expect(ack(1001, 5001), ack(1001, 5001), ack(1001, 5001))
	h.advance(500 * time.Millisecond)
	h.send(syn(5100)) // SYN and RST challenges share the allowance
	h.expectNone()
	h.advance(500 * time.Millisecond)
	h.send(rst(5100))
	h.expect(ack(1001, 5001))
	h.send(syn(5100))
	h.expect(ack(1001, 5001))
	h.state(Established)
}

// By default a connection answers segments out of window, challenge ACKs
// included, at most once per 500 ms, as Linux (tcp_invalid_ratelimit);
// within that, its own limit is 10 per second.
func TestChallengeACKDefaultLimit(t *testing.T) {
	h := newActive(t, nil)
	h.establish()
	for range 11 {
		h.send(rst(5100))
	}
	h.expect(ack(1001, 5001))
	h.advance(499 * time.Millisecond)
	h.send(syn(5100))
	h.expectNone()
	h.advance(time.Millisecond)
	h.send(syn(5100))
	h.expect(ack(1001, 5001))

	h = newActive(t, &Config{InvalidRateLimit: -1})
	h.establish()
	for range 11 {
		h.send(rst(5100))
	}
	if len(h.sent) != 10 {
		t.Fatalf("%d challenge ACKs for 11 RSTs, want 10", len(h.sent))
	}
}

// Pure ACKs out of window are answered at most once per 500 ms (an ACK
// loop between two hosts out of step is broken), data out of window
// always, so that its D-SACK reaches the sender; a duplicate SYN in
// SYN-RECEIVED draws the SYN-ACK again at most once per 500 ms (Linux's
// tcp_oow_rate_limited, in tcp_validate_incoming and tcp_check_req).
func TestOutOfWindowAnswersLimited(t *testing.T) {
	h := newActive(t, nil)
	h.establish()
	h.send(ack(4000, 1001)) // old: below RCV.NXT
	h.expect(ack(1001, 5001))
	h.send(ack(4000, 1001))
	h.expectNone()
	h.send(psh(4990, 1001, "0123456789")) // old data: not limited
	h.expect(ack(1001, 5001))
	h.advance(500 * time.Millisecond)
	h.send(ack(4000, 1001))
	h.expect(ack(1001, 5001))

	// SYN-RECEIVED: the first duplicate SYN is answered, the next within
	// 500 ms is not.
	p := newPassive(t, nil)
	p.c.AcceptSYN(syn(1000).mss(1460).segment(), p.now)
	p.expect(synAck(5000, 1001).mss(1460))
	p.advance(100 * time.Millisecond)
	p.send(syn(1000).mss(1460))
	p.expect(synAck(5000, 1001).mss(1460))
	p.advance(100 * time.Millisecond)
	p.send(syn(1000).mss(1460))
	p.expectNone()
	p.state(SynReceived)
}

// RFC 9293 §3.10.7.4 (fifth, ESTABLISHED): "If the ACK acks something not
// yet sent (SEG.ACK > SND.NXT), then send an ACK, drop the segment, and
// return." The data it carries is not taken.
func TestACKOfUnsentDataDrawsACK(t *testing.T) {
	h := newActive(t, nil)
	h.establish()
	h.send(psh(5001, 1500, "abc"))
	h.expect(ack(1001, 5001))
	h.state(Established)
	if n := h.c.Unread(); n != 0 {
		t.Errorf("Unread = %d, want 0", n)
	}
	// Still in sync: the next good segment is taken.
	h.send(psh(5001, 1001, "abc"))
	h.expect(ack(1001, 5004))
}

// RFC 5961 §5.2: an ACK below SND.UNA - MAX.SND.WND draws a challenge ACK
// and the segment is dropped; an old duplicate ACK within that range is
// fine and its data is taken.
func TestTooOldACKDrawsChallengeACK(t *testing.T) {
	h := newActive(t, nil)
	h.establishWith(0, synAck(5000, 1001).mss(1460).win(1000)) // MAX.SND.WND 1000
	h.write(pattern(1500))
	h.expect(ack(1001, 5001).data(pattern(1000)))
	h.send(ack(5001, 2001).win(1000))
	h.expect(psh(2001, 5001, "").data(pattern(1500)[1000:]))
	// SND.UNA is 2001: acks in [1001, 2001) are old but acceptable.
	h.send(psh(5001, 1001, "ok"))
	h.expect(ack(2501, 5003))
	// 1000 is below SND.UNA - MAX.SND.WND.
	h.send(psh(5003, 1000, "no"))
	h.expect(ack(2501, 5003))
	if got := string(h.read()); got != "ok" {
		t.Errorf("Read = %q, want %q", got, "ok")
	}
}

// RFC 9293 §3.10.7.4 (first): "If an incoming segment is not acceptable, an
// acknowledgment should be sent in reply (unless the RST bit is set ...)
// <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>", and the segment is dropped.
func TestUnacceptableSegmentDrawsACK(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   pkt
	}{
		{"data past the window", psh(5001+65535, 1001, "far")},
		{"bare ACK past the window", ack(5001+65535, 1001)},
		{"data wholly before RCV.NXT", psh(4990, 1001, "old")},
		{"bare ACK before RCV.NXT", ack(5000, 1001)},
		{"FIN before RCV.NXT", fin(5000, 1001)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newActive(t, nil)
			h.establish()
			h.send(tc.in)
			h.expect(ack(1001, 5001))
			h.state(Established)
			if n := h.c.Unread(); n != 0 {
				t.Errorf("Unread = %d, want 0", n)
			}
		})
	}
}

// RFC 9293 §3.10.7.2 (LISTEN): "An incoming RST segment could not be
// valid ... ignore it"; "Any acknowledgment is bad if it arrives on a
// connection still in the LISTEN state. An acceptable reset segment should
// be formed for any arriving ACK-bearing segment. The RST should be
// formatted as follows: <SEQ=SEG.ACK><CTL=RST>". Other segments without SYN
// are dropped. The listener stays in LISTEN.
func TestListenRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   pkt
		want []pkt
	}{
		{"RST", rst(1000), nil},
		{"RST-ACK", rstAck(1000, 777), nil},
		{"ACK", ack(1000, 777), []pkt{rst(777)}},
		{"SYN-ACK", synAck(1000, 777), []pkt{rst(777)}},
		{"ACK with data", psh(1000, 777, "x"), []pkt{rst(777)}},
		{"FIN alone", pkt{seq: 1000, flags: wire.FlagFIN}, nil},
		{"data alone", pkt{seq: 1000, flags: wire.FlagPSH}.text("x"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newPassive(t, nil)
			if err := h.c.Listen(h.now); err != nil {
				t.Fatal(err)
			}
			h.send(tc.in)
			h.expect(tc.want...)
			h.state(Listen)
			h.expectNoTimer()
		})
	}
}
