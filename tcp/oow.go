package tcp

import (
	"time"

	"github.com/seqack/seqack/wire"
)

// Answers to segments that are out of window — the duplicate ACK for an
// unacceptable segment (RFC 9293 §3.10.7.4), the ACK for a PAWS reject
// (RFC 7323 §5.3), a challenge ACK (RFC 5961 §7) and the SYN-ACK resent
// for a duplicate SYN in SYN-RECEIVED — are limited to one per
// Config.InvalidRateLimit (500 ms by default), as Linux limits them with
// net.ipv4.tcp_invalid_ratelimit. Two hosts that each think the other is
// out of window (a lost reset, a forgotten connection) would otherwise
// answer each other's answers forever, and a blind attacker could make a
// connection send as fast as he sends.

// oowLimited reports whether an answer to seg must be held back, and if
// not, notes that one is sent now (Linux's tcp_oow_rate_limited). A
// segment with data and no SYN is never held back: it is not part of an
// ACK loop, and its answer may carry a D-SACK that the sender needs.
func (c *Conn) oowLimited(seg *Segment, now time.Time) bool {
	if seg.PayloadLen() > 0 && seg.Flags&wire.FlagSYN == 0 {
		return false
	}
	return c.oowLimitedAny(now)
}

// oowLimitedAny is oowLimited for any segment (Linux's
// __tcp_oow_rate_limited, which a challenge ACK goes through).
func (c *Conn) oowLimitedAny(now time.Time) bool {
	limit := c.cfg.InvalidRateLimit
	if limit < 0 {
		return false
	}
	t := c.at(now)
	if !c.lastOOW.IsZero() && t.Sub(c.lastOOW) < limit {
		return true
	}
	c.lastOOW = t
	return false
}
