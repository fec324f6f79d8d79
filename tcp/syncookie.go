package tcp

import (
	"crypto/rand"
	"encoding/binary"
	"time"

	"github.com/seqack/seqack/wire"
)

// SYN cookies (RFC 4987 §3.6) let a listener answer a SYN without keeping
// any state: everything the connection needs from the SYN is folded into
// the sequence number of the SYN-ACK, and, when the peer uses timestamps,
// into the low bits of its TSval. The third segment of the handshake
// carries both back (SEG.ACK-1 and TSecr), and the connection is rebuilt
// from them. The layout is Linux's (net/ipv4/syncookies.c), so that a
// seqack listener under a flood behaves as a Linux one does:
//
//	ISS = H0(4-tuple) + peer's ISN + (count << 24)
//	      + ((H1(4-tuple, count) + mssIndex) mod 2^24)
//
// H0 and H1 are SipHash-2-4 under two halves of a per-stack secret;
// count is a counter of 60-second ticks (TCP_SYNCOOKIE_PERIOD), of which
// the top 8 bits of the cookie keep the low 8; mssIndex (2 bits) picks
// the MSS from a table (msstab: 536, 1300, 1440, 1460). A cookie is good
// for the tick it was made in and the next (MAX_SYNCOOKIE_AGE 2): 60 to
// 120 s. Checking strips H0 and the ISN, reads the count, and accepts only
// if the tick is recent and what is left after H1 is a table index: a
// forged ACK passes with odds of about 2^-29.
//
// The peer's window scale, SACK-permitted and ECN travel in the low 6
// bits of our TSval (cookie_init_timestamp), which the peer echoes:
//
//	bits 0-3  the peer's window shift; 15 means it sent no window scale
//	bit  4    SACK permitted
//	bit  5    ECN (seqack does not negotiate ECN: always 0)
//
// A peer that sends no timestamps gets no window scaling and no SACK on a
// cookie connection, and the SYN-ACK offers neither (as Linux clears the
// options in tcp_conn_request when want_cookie and no timestamp was seen).

// SynCookiePeriod is how often the cookie counter ticks (Linux's
// TCP_SYNCOOKIE_PERIOD). A cookie is accepted during the tick it was made
// in and the next one.
const SynCookiePeriod = 60 * time.Second

// SynCookieValidity is the longest a cookie stays good, and so how long a
// listener that sent cookies must keep checking ACKs for them (Linux's
// TCP_SYNCOOKIE_VALID).
const SynCookieValidity = synCookieMaxAge * SynCookiePeriod

const (
	synCookieMaxAge = 2  // MAX_SYNCOOKIE_AGE: ticks a cookie is good for
	cookieBits      = 24 // COOKIEBITS: the hash part; the count is above it
	cookieMask      = 1<<cookieBits - 1

	// The options in the low bits of the SYN-ACK's TSval
	// (TS_OPT_WSCALE_MASK, TS_OPT_SACK, TS_OPT_ECN; TSBITS 6).
	tsOptWscaleMask = 0xf
	tsOptSACK       = 1 << 4
	tsOptBits       = 6
)

// cookieMSS is the MSS a cookie can carry, indexed by 2 bits: the values
// of Linux's msstab for IPv4, chosen to cover the common paths.
var cookieMSS = [4]uint16{536, 1300, 1440, 1460}

// cookieMSSIndex returns the index of the largest table MSS not above mss,
// or 0 (536, the default MSS of RFC 9293 §3.7.1) if mss is smaller still,
// as Linux's cookie_v4_init_sequence does.
func cookieMSSIndex(mss int) uint32 {
	for i := len(cookieMSS) - 1; i > 0; i-- {
		if mss >= int(cookieMSS[i]) {
			return uint32(i)
		}
	}
	return 0
}

// SynCookies makes and checks the SYN cookies of one host. It holds only
// its secret, which never changes, so one value may be used by many
// goroutines at once.
type SynCookies struct {
	key [2][2]uint64 // SipHash keys of H0 and H1
}

// NewSynCookies returns a cookie maker with a fresh random secret.
func NewSynCookies() *SynCookies {
	var secret [32]byte
	if _, err := rand.Read(secret[:]); err != nil {
		panic("tcp: cannot read random key: " + err.Error())
	}
	return NewSynCookiesWithSecret(secret)
}

// NewSynCookiesWithSecret returns a cookie maker whose secret is given, so
// that a simulation can be replayed exactly. The secret must be
// unpredictable to anyone who could send segments to the host.
func NewSynCookiesWithSecret(secret [32]byte) *SynCookies {
	sc := &SynCookies{}
	for i := range sc.key {
		sc.key[i][0] = binary.LittleEndian.Uint64(secret[16*i:])
		sc.key[i][1] = binary.LittleEndian.Uint64(secret[16*i+8:])
	}
	return sc
}

// cookieCount is the 60-second tick of now.
func cookieCount(now time.Time) uint32 {
	return uint32(now.Unix() / int64(SynCookiePeriod/time.Second))
}

// hash is H0 (i = 0, with count 0) or H1 (i = 1) of the cookie, over the
// peer's and our address and port, and count.
func (sc *SynCookies) hash(i int, id ID, count uint32) uint32 {
	var b [2*16 + 2*2 + 4]byte
	remote, local := id.Remote.Addr().As16(), id.Local.Addr().As16()
	copy(b[0:], remote[:])
	copy(b[16:], local[:])
	binary.BigEndian.PutUint16(b[32:], id.Remote.Port())
	binary.BigEndian.PutUint16(b[34:], id.Local.Port())
	binary.BigEndian.PutUint32(b[36:], count)
	return uint32(sipHash24(sc.key[i][0], sc.key[i][1], b[:]))
}

// cookie returns the ISS for a SYN from id.Remote with sequence number
// peerISN, carrying data (< 2^24) (Linux's secure_tcp_syn_cookie).
func (sc *SynCookies) cookie(id ID, peerISN Value, data uint32, now time.Time) Value {
	count := cookieCount(now)
	return Value(sc.hash(0, id, 0) + uint32(peerISN) + count<<cookieBits +
		(sc.hash(1, id, count)+data)&cookieMask)
}

// check returns the data of a cookie made for the SYN whose sequence
// number was peerISN, if the cookie is one and has not expired (Linux's
// check_tcp_syn_cookie).
func (sc *SynCookies) check(id ID, cookie, peerISN Value, now time.Time) (uint32, bool) {
	count := cookieCount(now)
	c := uint32(cookie) - sc.hash(0, id, 0) - uint32(peerISN)
	age := (count - c>>cookieBits) & (1<<(32-cookieBits) - 1)
	if age >= synCookieMaxAge {
		return 0, false
	}
	return (c - sc.hash(1, id, count-age)) & cookieMask, true
}

// Reply returns the SYN-ACK that answers syn, a SYN to a listener whose
// connections use cfg (nil for the defaults), without keeping any state:
// its sequence number is a cookie, and it offers the options that a
// connection rebuilt from the cookie will have. It is the SYN-ACK a
// connection in SYN_RCVD would send, but for the ISS, the TSval and the
// options that cannot be carried.
func (sc *SynCookies) Reply(id ID, syn *Segment, cfg *Config, now time.Time) Segment {
	d := cfg.resolve()
	in := &syn.Options
	peerMSS := defaultMSS
	if in.HasMSS {
		peerMSS = int(in.MSS)
	}
	iss := sc.cookie(id, syn.Seq, cookieMSSIndex(peerMSS), now)
	seg := Segment{
		Seq:    iss,
		Ack:    syn.Seq + 1,
		Flags:  wire.FlagSYN | wire.FlagACK,
		Window: synWindow(d),
	}
	o := &seg.Options
	o.MSS, o.HasMSS = uint16(min(d.MSS, 65535)), true
	if !in.HasTimestamps || d.NoTimestamps {
		// Nothing can carry the other options back: offer none.
		return seg
	}
	bits := uint32(tsOptWscaleMask)
	if in.HasWindowScale && !d.NoWindowScaling {
		o.WindowScale, o.HasWindowScale = windowShiftFor(max(d.MaxReceiveBufferSize, d.ReceiveBufferSize)), true
		bits = uint32(min(in.WindowScale, maxWindowShift))
	}
	if in.SACKPermitted && !d.NoSACK {
		o.SACKPermitted = true
		bits |= tsOptSACK
	}
	// Our timestamp clock, as the connection rebuilt from this cookie will
	// run it, with its low bits replaced by the options, and never ahead
	// of it: later TSvals must not go back (cookie_init_timestamp).
	now32 := uint32(now.UnixMilli()) + d.TSOffset(id.Local.Addr(), id.Remote.Addr())
	ts := now32&^(1<<tsOptBits-1) | bits
	if int32(ts-now32) > 0 {
		ts -= 1 << tsOptBits
	}
	o.HasTimestamps, o.TSVal, o.TSEcr = true, ts, in.TSVal
	return seg
}

// synWindow is the window field of our SYN-ACK for a connection using
// cfg (defaults applied): its whole receive buffer, at most 65535, since a
// SYN's window is never scaled (RFC 7323 §2.2).
func synWindow(cfg *Config) uint16 {
	return uint16(min(cfg.ReceiveBufferSize, maxWindow))
}

// SynCookie is what a valid cookie told about a handshake: enough to
// open the connection (Conn.AcceptCookie).
type SynCookie struct {
	iss, irs Value
	syn      wire.TCPOptions // the options of the peer's SYN, as far as the cookie knows them
}

// MSS returns the peer's MSS as the cookie carried it: the largest table
// value (536, 1300, 1440, 1460) not above the one the SYN announced.
func (ck SynCookie) MSS() int { return int(ck.syn.MSS) }

// WindowScale returns the peer's window shift and whether window scaling
// is on.
func (ck SynCookie) WindowScale() (shift uint8, ok bool) {
	return ck.syn.WindowScale, ck.syn.HasWindowScale
}

// SACK reports whether the connection will use selective acknowledgments.
func (ck SynCookie) SACK() bool { return ck.syn.SACKPermitted }

// Timestamps reports whether the connection will use timestamps.
func (ck SynCookie) Timestamps() bool { return ck.syn.HasTimestamps }

// Check reports whether ack, a segment that reached a listener whose
// connections use cfg, is the third segment of a handshake whose SYN-ACK
// was made by Reply in the last SynCookiePeriod to SynCookieValidity, and
// returns what the cookie carried. SEG.ACK-1 must be the cookie made for
// the SYN whose sequence number was SEG.SEQ-1 (Linux's
// __cookie_v4_check). A segment with SYN or RST, or without ACK, is never
// one.
func (sc *SynCookies) Check(id ID, ack *Segment, cfg *Config, now time.Time) (SynCookie, bool) {
	if ack.Flags&(wire.FlagSYN|wire.FlagRST|wire.FlagACK) != wire.FlagACK {
		return SynCookie{}, false
	}
	ck := SynCookie{iss: ack.Ack - 1, irs: ack.Seq - 1}
	idx, ok := sc.check(id, ck.iss, ck.irs, now)
	if !ok || idx >= uint32(len(cookieMSS)) {
		return SynCookie{}, false
	}
	ck.syn.MSS, ck.syn.HasMSS = cookieMSS[idx], true
	in := &ack.Options
	if !in.HasTimestamps || cfg != nil && cfg.NoTimestamps {
		return ck, true
	}
	// The echo of our TSval brings back the options (cookie_timestamp_decode).
	bits := in.TSEcr & (1<<tsOptBits - 1)
	ck.syn.HasTimestamps, ck.syn.TSVal = true, in.TSVal
	ck.syn.SACKPermitted = bits&tsOptSACK != 0
	if w := bits & tsOptWscaleMask; w != tsOptWscaleMask {
		ck.syn.WindowScale, ck.syn.HasWindowScale = uint8(w), true
	}
	return ck, true
}

// AcceptCookie opens a connection from ack, the third segment of a
// handshake answered with a SYN cookie and found good by Check, which
// returned ck. The connection is rebuilt in SYN_RCVD as if it had sent
// the cookie's SYN-ACK (as Linux's cookie_v4_check creates the child in
// SYN_RECV), then ack is processed as usual: it completes the handshake,
// and any data or FIN it carries is taken. Like AcceptSYN, it reports no
// LISTEN state of its own.
func (c *Conn) AcceptCookie(ck SynCookie, ack *Segment, now time.Time) {
	c.passive = true
	c.state = Listen
	c.initSequence(ck.iss)
	c.irs = ck.irs
	c.rcvNxt = ck.irs + 1
	c.lastAckSent = c.rcvNxt
	c.takePeerOptions(&Segment{Flags: wire.FlagSYN, Options: ck.syn}, now)
	// The SYN-ACK that carried the cookie was sent, and offered its
	// window; the handshake is not timed (the TSecr's low bits are
	// options, not our clock).
	c.sndNxt = c.iss + 1
	c.sndMax = c.sndNxt
	c.rcvAdvEdge = c.rcvNxt.Add(uint32(synWindow(c.cfg)))
	c.setState(SynReceived, now)
	c.Input(ack, now)
}
