package stack

import (
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/seqack/seqack/tcp"
	"github.com/seqack/seqack/trace"
	"github.com/seqack/seqack/wire"
)

// SynCookieMode says when a listener answers SYNs with SYN cookies
// (Config.SynCookies).
type SynCookieMode uint8

const (
	// SynCookiesAuto sends cookies once a listener's half-open queue
	// (Config.SynBacklog) is full, as Linux's tcp_syncookies=1, the default.
	SynCookiesAuto SynCookieMode = iota
	// SynCookiesAlways answers every SYN with a cookie: no half-open
	// connection is ever kept (tcp_syncookies=2).
	SynCookiesAlways
	// SynCookiesNever drops the SYNs that find the half-open queue full
	// (tcp_syncookies=0).
	SynCookiesNever
)

// String returns the mode's name: "auto", "always" or "never".
func (m SynCookieMode) String() string {
	switch m {
	case SynCookiesAuto:
		return "auto"
	case SynCookiesAlways:
		return "always"
	case SynCookiesNever:
		return "never"
	}
	return "SynCookieMode(?)"
}

// MarshalText returns the mode's name, as String.
func (m SynCookieMode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText sets the mode from its name ("auto", "always", "never")
// or from the value of Linux's net.ipv4.tcp_syncookies ("1", "2", "0"),
// so that a SynCookieMode serves as a flag (flag.TextVar).
func (m *SynCookieMode) UnmarshalText(b []byte) error {
	switch string(b) {
	case "auto", "1":
		*m = SynCookiesAuto
	case "always", "2":
		*m = SynCookiesAlways
	case "never", "0":
		*m = SynCookiesNever
	default:
		return fmt.Errorf("stack: SYN cookie mode %q: want auto, always or never (1, 2 or 0)", b)
	}
	return nil
}

// newSynCookies makes the stack's cookie secret: from r if the run is to
// be reproducible, else from crypto/rand.
func newSynCookies(r *mrand.Rand) *tcp.SynCookies {
	var secret [32]byte
	if r == nil {
		rand.Read(secret[:])
		return tcp.NewSynCookiesWithSecret(secret)
	}
	for i := 0; i < len(secret); i += 8 {
		v := r.Uint64()
		for j := range 8 {
			secret[i+j] = byte(v >> (8 * j))
		}
	}
	return tcp.NewSynCookiesWithSecret(secret)
}

// ListenerStats counts what a listener did with the handshakes that
// reached it. The counters only grow; HalfOpen and AcceptQueue are the
// queues' lengths at the time of the snapshot.
type ListenerStats struct {
	// SynsReceived counts the SYNs that reached the listener.
	SynsReceived uint64
	// SynCookiesSent counts the SYNs answered with a SYN cookie: the
	// half-open queue was full, or Config.SynCookies is SynCookiesAlways.
	SynCookiesSent uint64
	// SynCookiesValid counts the ACKs that carried a good cookie: a
	// connection was rebuilt from each (unless a limit refused it).
	SynCookiesValid uint64
	// SynCookiesInvalid counts the ACKs checked as cookies that failed
	// (forged, or expired): each was answered with a reset, as any stray
	// ACK to a listener is.
	SynCookiesInvalid uint64
	// SynDropped counts the SYNs dropped because the half-open queue was
	// full and cookies are off (SynCookiesNever).
	SynDropped uint64
	// ListenOverflows counts the SYNs and handshake ACKs dropped (or
	// reset, with Config.AbortOnOverflow) because the accept queue was
	// full (Linux's ListenOverflows).
	ListenOverflows uint64
	// LimitRefused counts the SYNs and cookie ACKs refused because the
	// stack was at Config.MaxConnections or Config.MaxBufferMemory.
	LimitRefused uint64
	// Drops counts every SYN and handshake ACK the listener dropped,
	// whatever the reason (Linux's ListenDrops).
	Drops uint64
	// HalfOpen is the number of connections in SYN_RCVD now.
	HalfOpen uint64
	// AcceptQueue is the number of connections waiting for Accept now.
	AcceptQueue uint64
}

// listenerCounters is the live, atomically updated form of ListenerStats.
type listenerCounters struct {
	syns, cookiesSent, cookiesValid, cookiesInvalid atomic.Uint64
	synDropped, overflows, limitRefused, drops      atomic.Uint64
}

// Stats returns a snapshot of the listener's counters and queues.
func (l *Listener) Stats() ListenerStats {
	c := &l.stats
	st := ListenerStats{
		SynsReceived:      c.syns.Load(),
		SynCookiesSent:    c.cookiesSent.Load(),
		SynCookiesValid:   c.cookiesValid.Load(),
		SynCookiesInvalid: c.cookiesInvalid.Load(),
		SynDropped:        c.synDropped.Load(),
		ListenOverflows:   c.overflows.Load(),
		LimitRefused:      c.limitRefused.Load(),
		Drops:             c.drops.Load(),
	}
	l.mu.Lock()
	st.HalfOpen, st.AcceptQueue = uint64(l.halfOpen), uint64(len(l.acceptq))
	l.mu.Unlock()
	return st
}

// input handles a segment for the listener's port that matched no
// connection (the LISTEN state, RFC 9293 §3.10.7.2).
func (l *Listener) input(id tcp.ID, seg *tcp.Segment) {
	s := l.s
	switch {
	case seg.Flags&wire.FlagRST != 0:
		// "An incoming RST segment could not be valid ... ignore it."
		return
	case seg.Flags&wire.FlagACK != 0:
		if seg.Flags&wire.FlagSYN == 0 && l.cookieACK(id, seg) {
			return
		}
		// "Any acknowledgment is bad if it arrives on a connection still
		// in the LISTEN state": <SEQ=SEG.ACK><CTL=RST>.
		s.noConnection(id, seg)
		return
	case seg.Flags&wire.FlagSYN == 0:
		// Neither SYN, ACK nor RST (a FIN or "null" probe): drop it
		// silently, which is why port scanners see open ports as
		// "open|filtered" to a FIN scan.
		return
	case seg.Flags&wire.FlagFIN != 0:
		// SYN+FIN makes no sense as an opening; Linux drops it too.
		return
	}
	l.syn(id, seg)
}

// syn handles a SYN, in the order of Linux's tcp_conn_request: a full
// half-open queue means a cookie (or a drop, with cookies off); a full
// accept queue means a drop, cookie or not, for the client to retry once
// Accept has made room; otherwise a connection enters SYN_RCVD.
func (l *Listener) syn(id tcp.ID, seg *tcp.Segment) {
	s := l.s
	s.stats.tcpSynsReceived.Add(1)
	l.stats.syns.Add(1)
	if s.admit() != nil {
		l.refuse()
		return
	}
	now := s.now()
	mode := s.cfg.SynCookies
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		s.noConnection(id, seg)
		return
	}
	cookie := mode == SynCookiesAlways || l.halfOpen >= s.cfg.SynBacklog
	switch {
	case cookie && mode == SynCookiesNever:
		l.mu.Unlock()
		s.stats.tcpSynDropped.Add(1)
		l.stats.synDropped.Add(1)
		l.stats.drops.Add(1)
		return
	case len(l.acceptq) >= l.Backlog():
		l.mu.Unlock()
		l.overflow()
		return
	case cookie:
		l.cookieAt.Store(now.UnixNano())
		l.mu.Unlock()
		l.sendCookie(id, seg, now)
		return
	}
	l.halfOpen++
	l.mu.Unlock()
	c := l.open(id)
	if c == nil {
		return
	}
	c.mu.Lock()
	c.tcb.AcceptSYN(seg, s.now())
	c.unlockAndFlush()
}

// open makes a connection for the listener and enters it in the stack's
// table, or returns nil if a limit refuses it. The caller has counted it
// in halfOpen, where it stays until it is queued or abandoned.
func (l *Listener) open(id tcp.ID) *Conn {
	s := l.s
	c := s.newConn(id, l)
	s.mu.Lock()
	if s.admitLocked() != nil {
		s.mu.Unlock()
		l.abandon()
		l.refuse()
		return nil
	}
	s.conns[keyOf(id)] = c
	s.mu.Unlock()
	return c
}

// refuse counts a SYN or cookie ACK refused by a stack-wide limit.
func (l *Listener) refuse() {
	l.stats.limitRefused.Add(1)
	l.stats.drops.Add(1)
}

// overflow counts a SYN or handshake ACK dropped for a full accept queue.
func (l *Listener) overflow() {
	l.s.stats.tcpListenOverflow.Add(1)
	l.stats.overflows.Add(1)
	l.stats.drops.Add(1)
}

// sendCookie answers a SYN with a SYN-ACK whose sequence number is a SYN
// cookie, keeping no state (RFC 4987 §3.6).
func (l *Listener) sendCookie(id tcp.ID, seg *tcp.Segment, now time.Time) {
	s := l.s
	synack := s.cookies.Reply(id, seg, &s.tcp, now)
	s.stats.tcpSynCookiesSent.Add(1)
	l.stats.cookiesSent.Add(1)
	if s.sink != nil {
		s.traceStateless(trace.SegmentReceived, id, seg)
	}
	statelessSender{s}.SendSegment(id, &synack)
	if s.sink != nil {
		s.traceStateless(trace.SegmentSent, id, &synack)
	}
}

// cookieACK handles an ACK that reached the listener with no connection
// to take it: the third segment of a handshake answered with a cookie, if
// the listener sent cookies lately and the ACK carries a good one (Linux's
// cookie_v4_check). It reports whether the ACK was dealt with; if not, it
// is answered as any stray ACK to a listener is, with a reset — which is
// what Linux does with a forged or expired cookie too.
func (l *Listener) cookieACK(id tcp.ID, seg *tcp.Segment) bool {
	s := l.s
	if s.cfg.SynCookies == SynCookiesNever {
		return false
	}
	now := s.now()
	// Only a listener that sent cookies within their lifetime checks
	// ACKs for them (tcp_synq_no_recent_overflow).
	sent := l.cookieAt.Load()
	if sent == 0 || now.Sub(time.Unix(0, sent)) > tcp.SynCookieValidity {
		return false
	}
	ck, ok := s.cookies.Check(id, seg, &s.tcp, now)
	if !ok {
		s.stats.tcpSynCookiesInvalid.Add(1)
		l.stats.cookiesInvalid.Add(1)
		return false
	}
	s.stats.tcpSynCookiesValid.Add(1)
	l.stats.cookiesValid.Add(1)
	if s.admit() != nil {
		l.refuse()
		return true
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return false
	}
	if len(l.acceptq) >= l.Backlog() {
		// No room: drop the ACK, and let the client's next segment
		// bring the cookie again (tcp_v4_syn_recv_sock's exit_overflow;
		// a cookie ACK is never reset for it).
		l.mu.Unlock()
		l.overflow()
		return true
	}
	l.halfOpen++ // until enqueue, which the handshake's completion calls
	l.mu.Unlock()
	c := l.open(id)
	if c == nil {
		return true
	}
	c.mu.Lock()
	c.tcb.AcceptCookie(ck, seg, s.now())
	c.unlockAndFlush()
	return true
}
