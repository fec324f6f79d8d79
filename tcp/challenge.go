package tcp

import (
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// ChallengeACKLimiter is the host-wide limit on challenge ACKs that
// RFC 5961 §7 asks for, shared by the connections of a host through
// Config.ChallengeACKs, and the count of challenge ACKs they sent and held
// back. It is safe for concurrent use.
//
// A fixed host-wide allowance is a side channel: an off-path attacker who
// spends it and counts the challenge ACKs he gets back learns whether a
// guessed connection drew one (CVE-2016-5696, "Off-Path TCP Exploits",
// USENIX Security 2016). So, as Linux's tcp_send_challenge_ack does, each
// second's allowance is drawn at random between Limit/2 and 3·Limit/2.
// Since 6.0 Linux turns the host-wide limit off by default
// (net.ipv4.tcp_challenge_ack_limit = INT_MAX) and relies on its
// per-connection one; a limiter made with a limit of 0 does the same, and
// only counts.
type ChallengeACKLimiter struct {
	limit   int
	second  atomic.Int64 // the Unix second the allowance is for
	left    atomic.Int64 // what is left of it
	sent    atomic.Uint64
	limited atomic.Uint64
}

// NewChallengeACKLimiter returns a limiter that lets the host send about
// perSecond challenge ACKs a second, or any number if perSecond is 0 or
// less.
func NewChallengeACKLimiter(perSecond int) *ChallengeACKLimiter {
	return &ChallengeACKLimiter{limit: max(perSecond, 0)}
}

// Sent returns the number of challenge ACKs sent.
func (l *ChallengeACKLimiter) Sent() uint64 { return l.sent.Load() }

// Limited returns the number of challenge ACKs not sent because a limit,
// the connection's own or the host's, was reached.
func (l *ChallengeACKLimiter) Limited() uint64 { return l.limited.Load() }

// allow takes one challenge ACK from the host's allowance for the second
// of now, and counts it as sent or held back.
func (l *ChallengeACKLimiter) allow(now time.Time) bool {
	if l.limit > 0 {
		sec := now.Unix()
		if old := l.second.Load(); old != sec && l.second.CompareAndSwap(old, sec) {
			half := (l.limit + 1) / 2
			l.left.Store(int64(half + rand.IntN(l.limit)))
		}
		if l.left.Add(-1) < 0 {
			l.limited.Add(1)
			return false
		}
	}
	l.sent.Add(1)
	return true
}
