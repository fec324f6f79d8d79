package tcp

// SYN cookies (RFC 4987 §3.6): the stateless SYN-ACK, the check of the
// third segment, and the connection rebuilt from it.

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/seqack/seqack/wire"
)

// The reference vectors of the SipHash paper (Appendix A, and the first of
// vectors.h): key 00 01 .. 0f; messages 00 01 .. 0e and the empty one.
func TestSipHash24Vectors(t *testing.T) {
	var key [16]byte
	msg := make([]byte, 64)
	for i := range key {
		key[i] = byte(i)
	}
	for i := range msg {
		msg[i] = byte(i)
	}
	k0, k1 := binary.LittleEndian.Uint64(key[:8]), binary.LittleEndian.Uint64(key[8:])
	for _, tc := range []struct {
		n    int
		want uint64
	}{
		{0, 0x726fdb47dd0e0e31},
		{1, 0x74f839c593dc67fd},
		{7, 0xab0200f58b01d137},
		{8, 0x93f5f5799a932462},
		{15, 0xa129ca6149be45e5},
		{63, 0x958a324ceb064572},
	} {
		if got := sipHash24(k0, k1, msg[:tc.n]); got != tc.want {
			t.Errorf("SipHash-2-4 of %d bytes = %#x, want %#x", tc.n, got, tc.want)
		}
	}
}

// ourShift is the window scale a connection with the default buffers
// announces.
var ourShift = windowShiftFor(6 << 20)

// testCookies has a fixed secret, so that failures replay.
var testCookies = NewSynCookiesWithSecret([32]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17})

// The MSS a cookie carries: the largest of 536, 1300, 1440 and 1460 not
// above the SYN's, and 536 for a smaller one or none (RFC 9293 §3.7.1's
// default), as Linux's msstab.
func TestSynCookieMSSTable(t *testing.T) {
	for _, tc := range []struct {
		syn  pkt
		want int
	}{
		{syn(1000).mss(1460), 1460},
		{syn(1000).mss(65495), 1460},
		{syn(1000).mss(8960), 1460},
		{syn(1000).mss(1459), 1440},
		{syn(1000).mss(1440), 1440},
		{syn(1000).mss(1400), 1300},
		{syn(1000).mss(1300), 1300},
		{syn(1000).mss(1299), 536},
		{syn(1000).mss(100), 536},
		{syn(1000), 536},
	} {
		s := tc.syn.segment()
		sa := testCookies.Reply(testID, s, nil, epoch)
		ack := ack(1001, sa.Seq+1).segment()
		ck, ok := testCookies.Check(testID, ack, nil, epoch)
		if !ok {
			t.Fatalf("%s: the cookie's own ACK failed the check", tc.syn)
		}
		if ck.MSS() != tc.want {
			t.Errorf("%s: cookie MSS %d, want %d", tc.syn, ck.MSS(), tc.want)
		}
	}
}

// The SYN-ACK of a cookie: SEG.SEQ is the cookie, the MSS option is ours,
// and with timestamps the TSval's low 6 bits are the peer's window shift
// (15: none) and SACK-permitted (bit 4), never ahead of our clock; without
// timestamps, neither window scale nor SACK is offered, since nothing
// could bring them back.
func TestSynCookieReply(t *testing.T) {
	for _, tc := range []struct {
		name     string
		syn      pkt
		want     pkt // Seq is filled in from the cookie
		wantBits uint32
	}{
		{"every option", syn(1000).mss(1460).ws(7).sackOK().ts(777, 0),
			synAck(0, 1001).mss(1460).win(65535).ws(ourShift).sackOK(), 7 | 16},
		{"no window scale", syn(1000).mss(1460).sackOK().ts(777, 0),
			synAck(0, 1001).mss(1460).win(65535).sackOK(), 15 | 16},
		{"no SACK", syn(1000).mss(1460).ws(2).ts(777, 0),
			synAck(0, 1001).mss(1460).win(65535).ws(ourShift), 2},
		{"shift above 14 sent as 14", syn(1000).mss(1460).ws(20).ts(777, 0),
			synAck(0, 1001).mss(1460).win(65535).ws(ourShift), 14},
		{"no timestamps: nothing else either", syn(1000).mss(1460).ws(7).sackOK(),
			synAck(0, 1001).mss(1460).win(65535), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := epoch.Add(1234567 * time.Millisecond)
			got := testCookies.Reply(testID, tc.syn.segment(), nil, now)
			want := tc.want
			want.seq = got.Seq
			if tc.syn.tsW == optPresent {
				clock := uint32(now.UnixMilli()) + DefaultTSOffset(testID.Local.Addr(), testID.Remote.Addr())
				if !got.Options.HasTimestamps {
					t.Fatalf("SYN-ACK %s has no timestamps", formatSegment(&got))
				}
				val := got.Options.TSVal
				if val&63 != tc.wantBits {
					t.Errorf("TSval low bits %#x, want %#x", val&63, tc.wantBits)
				}
				if d := int32(clock - val); d < 0 || d >= 64 {
					t.Errorf("TSval %d is %d ms behind the clock %d, want 0 to 63", val, d, clock)
				}
				want = want.ts(val, 777)
			} else {
				want.tsW = optAbsent
			}
			if tc.want.wsW == optUnsaid {
				want.wsW = optAbsent
			}
			if tc.want.sackPerm == optUnsaid {
				want.sackPerm = optAbsent
			}
			if d := want.mismatches(&got); d != nil {
				t.Fatalf("Reply = %s\nwant %s\n%v", formatSegment(&got), want, d)
			}
		})
	}
}

// cookieHandshake has the peer send syn, takes the cookie SYN-ACK, and
// returns it with the third segment the peer would send: an ACK of the
// cookie at SEG.SEQ = ISN+1, echoing our TSval, built by third.
func cookieHandshake(h *harness, in pkt) (synack Segment, reply pkt) {
	synack = testCookies.Reply(testID, in.segment(), h.c.cfg, h.now)
	reply = ack(in.seq+1, synack.Seq+1)
	if synack.Options.HasTimestamps {
		reply = reply.ts(in.tsVal+1, synack.Options.TSVal)
	}
	return synack, reply
}

// A legitimate cookie ACK opens the connection with the MSS, window scale,
// SACK and timestamps the SYN negotiated; data it carries is delivered and
// acknowledged; the connection then runs as any other.
func TestSynCookieOpensConnection(t *testing.T) {
	h := newPassive(t, nil)
	synack, third := cookieHandshake(h, syn(1000).mss(1460).ws(7).sackOK().ts(500, 0))
	iss := synack.Seq
	h.advance(30 * time.Millisecond)
	seg := third.text("hello").with(wire.FlagPSH).win(1000).segment()
	ck, ok := testCookies.Check(testID, seg, h.c.cfg, h.now)
	if !ok {
		t.Fatal("the cookie's own ACK failed the check")
	}
	h.c.AcceptCookie(ck, seg, h.now)
	h.state(Established)
	h.expectTransitions(SynReceived, Established)
	// Data on the third segment is taken and acknowledged at once (the
	// first data: quick ACK), echoing the peer's TSval.
	h.expect(ack(iss+1, 1006).ts(h.tsv(), 501))
	if got := string(h.read()); got != "hello" {
		t.Errorf("Read = %q, want %q", got, "hello")
	}
	in := h.c.Info()
	if in.SendMSS != 1460-12 {
		t.Errorf("SendMSS %d, want %d (1460 less the timestamps option)", in.SendMSS, 1460-12)
	}
	if !in.WindowScaling || h.c.sndWscale != 7 || h.c.rcvWscale != ourShift {
		t.Errorf("window scaling %v, shifts %d (peer) %d (ours); want on, 7, %d", in.WindowScaling, h.c.sndWscale, h.c.rcvWscale, ourShift)
	}
	if in.SendWindow != 1000<<7 {
		t.Errorf("SendWindow %d, want %d (1000 << 7)", in.SendWindow, 1000<<7)
	}
	if !in.SACK || !in.Timestamps {
		t.Errorf("SACK %v, timestamps %v; want both", in.SACK, in.Timestamps)
	}
	// Our clock went on from the cookie's TSval, never behind it.
	if d := int32(h.tsv() - synack.Options.TSVal); d < 30 || d >= 30+64 {
		t.Errorf("TSval %d is %d ms after the SYN-ACK's %d, want 30 to 93", h.tsv(), d, synack.Options.TSVal)
	}
	// Data both ways, a SACK-able hole, and a close, as on any connection.
	h.write([]byte("world"))
	h.expect(psh(iss+1, 1006, "world").ts(h.tsv(), 501))
	h.send(psh(1006, iss+6, "!").ts(502, h.tsv()).win(1000))
	h.expect(ack(iss+6, 1007).ts(h.tsv(), 502))
	h.send(psh(1010, iss+6, "late").ts(503, h.tsv()).win(1000))
	h.expect(ack(iss+6, 1007).ts(h.tsv(), 502).sack(1010, 1014))
	h.send(psh(1007, iss+6, "abc").ts(504, h.tsv()).win(1000))
	h.expect(ack(iss+6, 1014).ts(h.tsv(), 504))
	h.send(fin(1014, iss+6).ts(505, h.tsv()).win(1000))
	h.expect(ack(iss+6, 1015).ts(h.tsv(), 505))
	h.state(CloseWait)
	if got := string(h.read()); got != "!abclate" {
		t.Errorf("Read = %q, want %q", got, "!abclate")
	}
}

// Without timestamps, a cookie connection has no window scaling and no
// SACK, and the MSS is the table's.
func TestSynCookieWithoutTimestamps(t *testing.T) {
	h := newPassive(t, nil)
	synack, third := cookieHandshake(h, syn(1000).mss(1400).ws(7).sackOK())
	seg := third.segment()
	ck, ok := testCookies.Check(testID, seg, h.c.cfg, h.now)
	if !ok {
		t.Fatal("the cookie's own ACK failed the check")
	}
	h.c.AcceptCookie(ck, seg, h.now)
	h.state(Established)
	h.expectNone()
	in := h.c.Info()
	if in.SendMSS != 1300 || in.WindowScaling || in.SACK || in.Timestamps {
		t.Errorf("MSS %d, scaling %v, SACK %v, timestamps %v; want 1300 and none", in.SendMSS, in.WindowScaling, in.SACK, in.Timestamps)
	}
	h.write([]byte("x"))
	h.expect(psh(synack.Seq+1, 1001, "x").win(65535))
}

// Only the cookie's own third segment passes: not another ACK number, not
// another peer ISN, not another 4-tuple, not a SYN or RST, not an expired
// cookie. A cookie is good during its 60-second tick and the next one.
//
// (The MSS index is added to the hash, as in Linux, so an ACK up to three
// below a 1460 cookie, or a peer ISN up to three above, checks as a cookie
// with a smaller MSS: forging that needs the cookie itself, which only an
// on-path attacker sees. The cookie here is for MSS 1460, index 3, so the
// cases step by four.)
func TestSynCookieCheckRejects(t *testing.T) {
	now := epoch.Add(17 * time.Second) // 17 s into a tick
	synack := testCookies.Reply(testID, syn(1000).mss(1460).segment(), nil, now)
	cookie := synack.Seq
	other := testID
	other.Remote = netip.AddrPortFrom(other.Remote.Addr(), other.Remote.Port()+1)
	for _, tc := range []struct {
		name string
		id   ID
		seg  pkt
		at   time.Duration // after the SYN-ACK
		ok   bool
	}{
		{"the ACK", testID, ack(1001, cookie+1), 0, true},
		{"with data", testID, psh(1001, cookie+1, "data"), 0, true},
		{"with FIN", testID, fin(1001, cookie+1), 0, true},
		{"the next tick", testID, ack(1001, cookie+1), 60 * time.Second, true},
		{"last moment", testID, ack(1001, cookie+1), 103*time.Second - time.Millisecond, true},
		{"expired", testID, ack(1001, cookie+1), 103 * time.Second, false},
		{"long expired", testID, ack(1001, cookie+1), time.Hour, false},
		{"from the past", testID, ack(1001, cookie+1), -61 * time.Second, false},
		{"ACK one above", testID, ack(1001, cookie+2), 0, false},
		{"ACK far above", testID, ack(1001, cookie+1+1<<20), 0, false},
		{"ACK four below", testID, ack(1001, cookie-3), 0, false},
		{"another peer ISN", testID, ack(1005, cookie+1), 0, false},
		{"another port", other, ack(1001, cookie+1), 0, false},
		{"RST", testID, rstAck(1001, cookie+1), 0, false},
		{"SYN-ACK", testID, synAck(1001, cookie+1), 0, false},
		{"no ACK bit", testID, pkt{seq: 1001, ack: cookie + 1, flags: wire.FlagPSH}.text("x"), 0, false},
	} {
		_, ok := testCookies.Check(tc.id, tc.seg.segment(), nil, now.Add(tc.at))
		if ok != tc.ok {
			t.Errorf("%s: Check = %v, want %v", tc.name, ok, tc.ok)
		}
	}
	// Another secret makes other cookies.
	if _, ok := NewSynCookies().Check(testID, ack(1001, cookie+1).segment(), nil, now); ok {
		t.Error("a cookie passed the check of another secret")
	}
}

// Blind guesses of the ACK number pass with odds of about 2^-29 (8 bits of
// counter of which 2 values are good, 24 bits of hash of which 4 values
// are good): none of a million should.
func TestSynCookieForgeriesFail(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 1_000_000 {
		seg := ack(Value(r.Uint32()), Value(r.Uint32())).segment()
		if _, ok := testCookies.Check(testID, seg, nil, epoch); ok {
			t.Fatalf("forged ACK #%d <SEQ=%d><ACK=%d> passed", i, uint32(seg.Seq), uint32(seg.Ack))
		}
	}
}

// Cookies for successive SYNs differ with the peer's ISN, the 4-tuple and
// the time: they are as unpredictable as ISNs must be (RFC 6528).
func TestSynCookiesDiffer(t *testing.T) {
	seen := map[Value]bool{}
	for i := range 1000 {
		id := testID
		id.Remote = netip.AddrPortFrom(id.Remote.Addr(), uint16(1024+i))
		c := testCookies.Reply(id, syn(1000).segment(), nil, epoch).Seq
		if seen[c] {
			t.Fatalf("cookie %d repeats", uint32(c))
		}
		seen[c] = true
	}
}

// BenchmarkSynCookie is the cost of answering a SYN and of checking an
// ACK: the listener's work per packet of a flood.
func BenchmarkSynCookie(b *testing.B) {
	in := syn(1000).mss(1460).ws(7).sackOK().ts(500, 0).segment()
	cfg := Config{}.WithDefaults() // a host's shared Config, as the stack passes
	b.Run("Reply", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			testCookies.Reply(testID, in, &cfg, epoch)
		}
	})
	b.Run("Check", func(b *testing.B) {
		sa := testCookies.Reply(testID, in, nil, epoch)
		a := ack(1001, sa.Seq+1).ts(501, sa.Options.TSVal).segment()
		b.ReportAllocs()
		for b.Loop() {
			testCookies.Check(testID, a, nil, epoch)
		}
	})
}

// FuzzSynCookie: a SYN with any options draws a cookie SYN-ACK; the ACK
// that echoes it exactly always passes the check, whatever TSecr bits,
// window, payload or flags it carries, and opens a connection that is
// synchronized; a changed ACK never passes unless it is one of the few
// neighbours an on-path attacker could make (see TestSynCookieCheckRejects).
func FuzzSynCookie(f *testing.F) {
	f.Add(uint16(1460), uint8(7), true, true, true, uint32(500), uint32(0), int32(0), uint8(0), uint16(1000), []byte("hello"), false)
	f.Add(uint16(0), uint8(20), false, false, true, uint32(0), uint32(63), int32(-3), uint8(0), uint16(0), []byte(nil), true)
	f.Add(uint16(1300), uint8(14), true, false, false, uint32(1<<31), uint32(0), int32(1), uint8(0), uint16(65535), []byte("x"), false)
	f.Fuzz(func(t *testing.T, mss uint16, ws uint8, hasWS, sackOK, ts bool, tsVal, ecrXor uint32, ackDelta int32, seqDelta uint8, win uint16, data []byte, fin bool) {
		h := newPassive(t, nil)
		in := syn(1000)
		if mss != 0 {
			in = in.mss(mss)
		}
		if hasWS {
			in = in.ws(ws)
		}
		if sackOK {
			in = in.sackOK()
		}
		if ts {
			in = in.ts(tsVal, 0)
		}
		synack, third := cookieHandshake(h, in)
		third.ack += Value(ackDelta)
		third.seq += Value(seqDelta)
		third.tsEcr ^= ecrXor
		third = third.win(win).data(data)
		if fin {
			third = third.with(wire.FlagFIN)
		}
		seg := third.segment()
		ck, ok := testCookies.Check(testID, seg, h.c.cfg, h.now)
		exact := ackDelta == 0 && seqDelta == 0
		if exact && !ok {
			t.Fatalf("the cookie's own ACK failed the check: SYN %s, SYN-ACK %s", in, formatSegment(&synack))
		}
		if !ok {
			return
		}
		// The MSS index is added to the hash: moving SEG.ACK by k, or the
		// peer's ISN by -k, moves the index by k, so a neighbour within the
		// table's four entries passes — and nothing further.
		if off := int64(ackDelta) - int64(seqDelta); off < -3 || off > 3 {
			t.Fatalf("an ACK %d off the cookie, with the peer's ISN %d off, passed", ackDelta, seqDelta)
		}
		h.c.AcceptCookie(ck, seg, h.now)
		switch st := h.c.State(); st {
		case Established, CloseWait:
		default:
			t.Fatalf("a good cookie ACK left the connection in %v", st)
		}
		if in := h.c.Info(); in.SendMSS < minMSS || in.SendMSS > 1460 {
			t.Fatalf("SendMSS %d", in.SendMSS)
		}
	})
}
