package tcp

import (
	"syscall"
	"time"
)

// ICMPError reports an ICMP destination unreachable (or other error) that
// quoted one of this connection's segments, whose sequence number was seq.
// err is the errno the ICMP message stands for (ECONNREFUSED for port
// unreachable, EHOSTUNREACH, ...) and fatal says whether it is a hard error
// in the sense of RFC 1122 §4.2.3.9.
//
// A message that quotes a sequence number outside SND.UNA..SND.MAX cannot
// be about a segment still in flight and is ignored (RFC 5927 §4.1), so a
// blind attacker must guess the window. A hard error aborts a connection
// that is still opening (SYN_SENT, or an active SYN_RCVD), as Linux does;
// otherwise the error is remembered, and reported instead of ETIMEDOUT if
// the connection later times out (RFC 1122 §4.2.3.9: "SHOULD NOT abort" an
// established connection on a soft error).
func (c *Conn) ICMPError(seq Value, err syscall.Errno, fatal bool, now time.Time) {
	if !c.quotesInFlight(seq) {
		return
	}
	switch {
	case fatal && (c.state == SynSent || c.state == SynReceived && !c.passive):
		c.fail(err, now)
	case c.state != Closed && c.state != Listen && c.state != TimeWait:
		c.softErr = err
	}
}

// PathMTU reports an ICMP "fragmentation needed" (RFC 1191) or a similar
// signal that packets of more than mtu bytes do not reach the peer, about
// the segment whose sequence number was seq. The send MSS shrinks to fit
// (never below 68 bytes of IP less headers, RFC 1191 §3), and the segments
// in flight are sent again at the new size (RFC 1191 §3, as Linux's
// tcp_simple_retransmit does).
func (c *Conn) PathMTU(seq Value, mtu int, now time.Time) {
	if !c.quotesInFlight(seq) || !c.state.synchronized() {
		return
	}
	mss := max(mtu-ipv4TCPHeaderLen-c.tcpOptionsLen(), minMSS)
	if mss >= c.sendMSS {
		return
	}
	c.sendMSS = mss
	c.cc.SetMSS(mss)
	if c.sndUna != c.sndMax {
		// Everything in flight was too big: deem it lost and send it again
		// in smaller segments, without the congestion response a loss
		// would bring (as Linux's tcp_simple_retransmit).
		if c.recovery == notRecovering {
			c.recovery = lossRecovery
			c.recoveryPoint = c.sndMax
		}
		c.highRxt = c.sndUna
		c.lostEnd = c.sndMax
		c.output(now)
	}
}

// quotesInFlight reports whether seq is in SND.UNA..SND.MAX, where an ICMP
// message about a segment still in flight must point.
func (c *Conn) quotesInFlight(seq Value) bool {
	if c.state == SynSent {
		return seq == c.iss
	}
	return seq.GreaterThanEq(c.sndUna) && seq.LessThan(c.sndMax) ||
		c.sndUna == c.sndMax && seq == c.sndUna
}

// ipv4TCPHeaderLen is the size of IPv4 and TCP headers without options.
const ipv4TCPHeaderLen = 40

// timeoutError is the error a connection that ran out of retransmissions
// reports: the last soft ICMP error if there was one (EHOSTUNREACH, say),
// as Linux does, otherwise ETIMEDOUT.
func (c *Conn) timeoutError() error {
	if c.softErr != 0 {
		return c.softErr
	}
	return ErrTimeout
}
