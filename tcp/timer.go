package tcp

import (
	"time"

	"github.com/seqack/seqack/trace"
	"github.com/seqack/seqack/wire"
)

// Deadline returns when the connection next needs HandleTimer, or the zero
// time if no timer is running.
func (c *Conn) Deadline() time.Time { return c.timeOf(c.deadline(true)) }

// deadline returns the earliest of the protocol's timers and, with
// housekeeping, of the release of idle buffers (drained).
func (c *Conn) deadline(housekeeping bool) instant {
	var d instant
	for _, t := range [...]instant{c.rtoAt, c.persistAt, c.timeWaitAt, c.finWait2At, c.delackAt, c.keepAliveAt(), c.tlpAt} {
		if !t.IsZero() && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	if t := c.releaseAt; housekeeping && !t.IsZero() && (d.IsZero() || t.Before(d)) {
		d = t
	}
	return d
}

// HandleTimer runs every timer that is due at now.
func (c *Conn) HandleTimer(now time.Time) {
	if c.state == TimeWait {
		if c.timeWait().Expire(now, c.sink) {
			c.endTimeWait()
		}
		return
	}
	if due(c.releaseAt, c.at(now)) {
		// Housekeeping, not protocol: no event.
		c.releaseBuffers()
	}
	if due(c.finWait2At, c.at(now)) {
		c.timerFired("fin-wait-2", now)
		c.setState(Closed, now)
		return
	}
	if due(c.tlpAt, c.at(now)) {
		c.tlpAt = 0
		c.timerFired("tail-loss-probe", now)
		c.sendProbe(now)
	}
	if due(c.rtoAt, c.at(now)) {
		c.rtoAt = 0
		c.timerFired("retransmit", now)
		c.retransmitTimeout(now)
	}
	if due(c.persistAt, c.at(now)) {
		c.persistAt = 0
		c.timerFired("persist", now)
		c.probeWindow(now)
	}
	if due(c.keepAliveAt(), c.at(now)) {
		c.timerFired("keepalive", now)
		c.keepAlive(now)
	}
	if due(c.delackAt, c.at(now)) {
		c.delackAt = 0
		c.timerFired("delayed-ack", now)
		if c.state != Closed {
			c.sendACK(now)
		}
	}
}

func due(t, now instant) bool { return !t.IsZero() && !now.Before(t) }

func (c *Conn) timerFired(name string, now time.Time) {
	if c.sink != nil {
		c.emit(&trace.Event{Time: now, Kind: trace.TimerFired, Timer: name})
	}
}

// retransmitTimeout is RFC 6298 §5.4–5.6: retransmit the earliest
// unacknowledged segment, back the timer off, restart it. Everything
// outstanding is then deemed lost and resent in order as the congestion
// window, down to one segment (RFC 5681 §3.1), grows again; bytes the peer
// has SACKed are skipped (RFC 6675 §5.1). After too many expiries without
// progress, or past the user timeout, the connection fails with ETIMEDOUT.
func (c *Conn) retransmitTimeout(now time.Time) {
	limit := c.cfg.Retries
	switch c.state {
	case SynSent:
		limit = c.cfg.SynRetries
	case SynReceived:
		limit = c.cfg.SynAckRetries
	}
	if c.retries >= limit || c.userTimedOut(now) {
		c.fail(c.timeoutError(), now)
		return
	}
	c.retries++
	c.rto.backoff()
	c.rttTiming = false // Karn: never time a retransmitted segment.
	switch c.state {
	case SynSent, SynReceived:
		c.synTimeout = true
		c.sendSYN(now, true)
		return
	}
	if c.sndUna == c.sndMax {
		return // nothing outstanding
	}
	if c.retries > 1 {
		// A second timeout for the same data: the peer may have
		// discarded what it SACKed (reneging, RFC 2018 §8); resend it all.
		c.sb.reset()
	}
	if c.recovery != lossRecovery || c.retries == 1 {
		c.cc.OnRTO(now, int(c.sndMax.Sub(c.sndUna)))
	}
	c.recovery = lossRecovery
	c.rtoTSVal = c.tsNow(now)
	c.tlpAt, c.tlpOut = 0, false
	c.recoveryPoint = c.sndMax
	c.highRxt = c.sndUna
	c.lostEnd = c.sndMax
	c.dupAcks = 0
	c.retransmitLost(now)
	// Everything outstanding is now to be resent, a segment at a time as
	// cwnd allows: the sender is limited by cwnd, not by the application,
	// so the next ACK must grow cwnd (RFC 5681 §3.1 slow start; RFC 7661
	// §4 holds cwnd only for an application-limited sender). Without this
	// the flag would still say whether the last send, before the timeout,
	// ran out of new data — and the first ACK after every timeout would
	// leave cwnd at one segment.
	c.appLimited = false
	c.rtoAt = c.rtoDeadline(now)
}

// probeWindow runs when the persist timer expires. On a zero window it
// sends a probe: a segment below the window that the peer must answer with
// an ACK carrying its current window (RFC 9293 §3.8.6.1; the form Linux
// uses). On a window too small to be worth a segment, it sends what fits
// (the override timeout of RFC 1122 §4.2.3.4). The interval backs off like
// the retransmission timer; probing never gives up while the peer answers.
//
// A peer that stops answering is another matter: after Retries probes with
// no ACK in between (fewer, 8, once the application has closed, as Linux's
// tcp_orphan_retries), the connection fails with ETIMEDOUT, as Linux's
// tcp_probe_timer does.
func (c *Conn) probeWindow(now time.Time) {
	if !c.state.synchronized() || c.sendBuf.Len() == int(c.sndNxt.Sub(c.bufSeq)) {
		return
	}
	if c.sndWnd > 0 {
		if wndEnd := c.sndUna.Add(c.sndWnd); wndEnd.GreaterThan(c.sndNxt) {
			c.sendAt(c.sndNxt, min(int(wndEnd.Sub(c.sndNxt)), c.sendMSS), false, now)
			return
		}
	}
	limit := c.cfg.Retries
	if c.readClosed {
		limit = min(limit, orphanRetries)
	}
	if c.probes >= limit || c.userTimedOut(now) {
		c.fail(c.timeoutError(), now)
		return
	}
	c.probes++
	c.transmit(c.scratch(Segment{Seq: c.sndUna - 1, Flags: wire.FlagACK}), now)
	c.persistRTO = min(2*c.persistRTO, c.cfg.MaxRTO)
	c.persistAt = c.at(now).Add(c.persistRTO)
}

// keepAliveAt returns when the next keep-alive probe is due: KeepAliveIdle
// after the last segment from the peer, then every KeepAliveInterval
// (RFC 1122 §4.2.3.6). Probes run only on an open connection with nothing
// outstanding: otherwise the retransmission or persist timer watches the
// peer.
func (c *Conn) keepAliveAt() instant {
	if c.kaIdle <= 0 || (c.state != Established && c.state != CloseWait) ||
		c.sndUna != c.sndMax || !c.persistAt.IsZero() || c.lastRecvAt.IsZero() {
		return 0
	}
	return c.lastRecvAt.Add(c.kaIdle + time.Duration(c.kaProbes)*c.kaInterval)
}

// keepAlive sends a keep-alive probe, <SEQ=SND.NXT-1><ACK=RCV.NXT>, with
// no data (the form Linux uses; RFC 1122 §4.2.3.6 allows one byte), which
// the peer answers with an ACK; after KeepAliveCount probes without an
// answer the connection is reset and fails with ETIMEDOUT.
func (c *Conn) keepAlive(now time.Time) {
	if c.kaProbes >= c.kaCount || c.userTimedOut(now) && c.kaProbes > 0 {
		// The peer is gone, or unreachable: reset, as Linux does, in case
		// it is only cut off and would otherwise hold its half forever.
		c.activeReset(now)
		c.fail(c.timeoutError(), now)
		return
	}
	c.kaProbes++
	c.transmit(c.scratch(Segment{Seq: c.sndMax - 1, Flags: wire.FlagACK}), now)
}
