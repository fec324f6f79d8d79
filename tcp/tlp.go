package tcp

import (
	"time"
)

// Tail loss probes (RFC 8985 §7). When the last segments of a flight are
// lost, no duplicate ACKs come back to start fast recovery, and the sender
// would wait for the retransmission timer. Instead, two round trips after
// the last transmission, it sends one probe: a new segment if it has one,
// else the last segment again. The probe's ACK, with its SACK blocks, then
// shows what is missing.
//
// The engine keeps no per-segment send times, so RACK's time-based loss
// marking (§6) is reduced to the one case that TLP needs: a probe sent two
// round trips after everything before it, reported delivered while data
// below it is still missing, shows that data lost, and fast recovery
// starts at once.

// wcDelAckT is WCDelAckT of RFC 8985 §7.2: the longest a peer may delay its
// ACK of a lone segment.
const wcDelAckT = 200 * time.Millisecond

// minPTO keeps the probe timer from firing on a host whose RTT rounds to
// nothing.
const minPTO = 10 * time.Millisecond

// scheduleTLP arms the probe timeout after new data went out or an ACK
// moved the flight along (RFC 8985 §7.2), no later than the retransmission
// timer, unless probing does not apply.
func (c *Conn) scheduleTLP(now time.Time) {
	c.tlpAt = 0
	if !c.sackOK || c.cfg.NoTailLossProbe || c.recovery != notRecovering || c.sndUna == c.sndMax || c.tlpOut ||
		!c.rto.hasSample || !c.state.synchronized() {
		return
	}
	pto := 2 * c.rto.srtt
	if c.sndMax.Sub(c.sndUna) <= uint32(c.sendMSS) {
		pto += wcDelAckT
	}
	at := c.at(now).Add(max(pto, minPTO))
	if !c.rtoAt.IsZero() && at.After(c.rtoAt) {
		// §7.2: the probe never waits longer than the RTO would; it
		// goes out in the timeout's place.
		at = c.rtoAt
	}
	c.tlpAt = at
}

// sendProbe is the probe timeout's action (RFC 8985 §7.3): one new
// segment if the window allows, otherwise the last segment sent, whatever
// cwnd says; then the retransmission timer is restarted.
func (c *Conn) sendProbe(now time.Time) {
	if !c.sackOK || c.recovery != notRecovering || c.sndUna == c.sndMax || !c.state.synchronized() {
		return
	}
	dataEnd := c.bufSeq.Add(uint32(c.sendBuf.Len()))
	usable := uint32(0)
	if wndEnd := c.sndUna.Add(c.sndWnd); wndEnd.GreaterThan(c.sndNxt) {
		usable = wndEnd.Sub(c.sndNxt)
	}
	var seq Value
	var n uint32
	if dataEnd.GreaterThan(c.sndNxt) && usable > 0 {
		seq = c.sndNxt
		n = c.sendAt(seq, min(int(dataEnd.Sub(seq)), c.sendMSS, int(usable)), true, now)
	} else {
		seq = c.sndMax - Value(min(c.sndMax.Sub(c.sndUna), uint32(c.sendMSS)))
		n = c.sendAt(seq, int(c.sndMax.Sub(seq)), true, now)
	}
	if n == 0 {
		return
	}
	c.tlpOut, c.tlpSeq, c.tlpEnd = true, seq, seq.Add(n)
	c.rtoAt = c.rtoDeadline(now)
}

// probeAcked handles an ACK while a probe is out: if the probe arrived (it
// is acknowledged, SACKed, or reported as a duplicate) with data below it
// still missing, that data is lost (RFC 8985 §6.2's rule: a segment sent
// later was delivered, and more than a reordering window has passed), and
// fast recovery starts with everything unSACKed below the probe deemed
// lost.
func (c *Conn) probeAcked(seg *Segment, now time.Time) {
	if !c.tlpOut {
		return
	}
	if c.sndUna.GreaterThanEq(c.tlpEnd) {
		c.tlpOut = false // the probe, and all before it, arrived
		return
	}
	delivered := c.sb.isSacked(c.tlpSeq)
	if o := &seg.Options; !delivered && o.NumSACK > 0 {
		// A D-SACK of the probe: the original arrived too.
		b := o.SACKBlocks[0]
		delivered = Value(b.Left).LessThanEq(c.tlpSeq) && c.tlpEnd.LessThanEq(Value(b.Right))
	}
	if !delivered {
		return
	}
	c.tlpOut = false
	if c.recovery == notRecovering && c.sndUna.LessThan(c.tlpSeq) {
		c.enterRecovery(now)
		if c.tlpSeq.GreaterThan(c.lostEnd) {
			c.lostEnd = c.tlpSeq
		}
		c.output(now)
	}
}
