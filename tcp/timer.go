package tcp

import (
	"time"

	"github.com/seqack/seqack/trace"
	"github.com/seqack/seqack/wire"
)

// Deadline returns when the connection next needs HandleTimer, or the zero
// time if no timer is running.
func (c *Conn) Deadline() time.Time {
	var d time.Time
	for _, t := range [...]time.Time{c.rtoAt, c.persistAt, c.timeWaitAt, c.finWait2At} {
		if !t.IsZero() && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	return d
}

// HandleTimer runs every timer that is due at now.
func (c *Conn) HandleTimer(now time.Time) {
	if due(c.timeWaitAt, now) {
		c.timerFired("time-wait", now)
		c.setState(Closed, now)
		return
	}
	if due(c.finWait2At, now) {
		c.timerFired("fin-wait-2", now)
		c.setState(Closed, now)
		return
	}
	if due(c.rtoAt, now) {
		c.rtoAt = time.Time{}
		c.timerFired("retransmit", now)
		c.retransmitTimeout(now)
	}
	if due(c.persistAt, now) {
		c.persistAt = time.Time{}
		c.timerFired("persist", now)
		c.probeWindow(now)
	}
}

func due(t, now time.Time) bool { return !t.IsZero() && !now.Before(t) }

func (c *Conn) timerFired(name string, now time.Time) {
	if c.sink != nil {
		c.emit(&trace.Event{Time: now, Kind: trace.TimerFired, Timer: name})
	}
}

// retransmitTimeout is RFC 6298 §5.4–5.6: retransmit the earliest
// unacknowledged segment, back the timer off, restart it. After too many
// expiries without progress the connection fails with ETIMEDOUT.
func (c *Conn) retransmitTimeout(now time.Time) {
	limit := c.cfg.Retries
	switch c.state {
	case SynSent:
		limit = c.cfg.SynRetries
	case SynReceived:
		limit = c.cfg.SynAckRetries
	}
	if c.retries >= limit {
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
	// Go back to the oldest unacknowledged byte; later ACKs pull the rest
	// out again from there.
	c.sndNxt = c.sndUna
	c.sendData(now, true)
	c.rtoAt = now.Add(c.rto.rto)
}

// probeWindow sends a zero-window probe: a segment below the window that
// the peer must answer with an ACK carrying its current window
// (RFC 9293 §3.8.6.1; the form Linux uses). The probe interval backs off
// like the retransmission timer; probing never gives up while the peer
// answers.
//
// A peer that stops answering is another matter: after Retries probes with
// no ACK in between (fewer, 8, once the application has closed, as Linux's
// tcp_orphan_retries), the connection fails with ETIMEDOUT, as Linux's
// tcp_probe_timer does.
func (c *Conn) probeWindow(now time.Time) {
	if c.sndWnd > 0 || c.sendBuf.Len() == int(c.sndNxt.Sub(c.bufSeq)) {
		return
	}
	limit := c.cfg.Retries
	if c.readClosed {
		limit = min(limit, orphanRetries)
	}
	if c.probes >= limit {
		c.fail(c.timeoutError(), now)
		return
	}
	c.probes++
	c.transmit(c.scratch(Segment{Seq: c.sndUna - 1, Flags: wire.FlagACK}), now)
	c.persistRTO = min(2*c.persistRTO, c.cfg.MaxRTO)
	c.persistAt = now.Add(c.persistRTO)
}
