package tcp

import (
	"time"

	"github.com/seqack/seqack/wire"
)

// tsOptionLen is the space the timestamps option takes in every segment
// once negotiated: 10 bytes and two NOPs (RFC 7323 Appendix A).
const tsOptionLen = 12

// synOptions sets the options of our SYN or SYN-ACK: the MSS always
// (RFC 9293 §3.7.1); window scale, timestamps and SACK-permitted when
// enabled, and, on a SYN-ACK, only those the peer's SYN offered (RFC 7323
// §1.3, RFC 2018 §2).
func (c *Conn) synOptions(o *wire.TCPOptions, now time.Time) {
	o.MSS, o.HasMSS = uint16(min(c.cfg.MSS, 65535)), true
	active := c.state == SynSent
	if active && !c.cfg.NoWindowScaling || c.wsOK {
		o.WindowScale, o.HasWindowScale = c.rcvWscale, true
	}
	if active && !c.cfg.NoSACK || c.sackOK {
		o.SACKPermitted = true
	}
	if active && !c.cfg.NoTimestamps || c.tsOK {
		o.HasTimestamps = true
		o.TSVal = c.tsNow(now)
		if c.tsOK {
			o.TSEcr = c.tsRecent
		}
	}
}

// takePeerOptions applies the options of the peer's SYN (or SYN-ACK): the
// MSS it accepts, and which of window scaling, timestamps and SACK both
// sides offered.
func (c *Conn) takePeerOptions(seg *Segment, now time.Time) {
	o := &seg.Options
	mss := defaultMSS
	if o.HasMSS {
		mss = max(int(o.MSS), minMSS)
	}
	c.sendMSS = min(mss, c.cfg.MSS)

	// RFC 7323 §2.2: scaling is on only if both SYNs carry the option.
	c.wsOK = o.HasWindowScale && !c.cfg.NoWindowScaling
	if c.wsOK {
		// §2.3: a shift above 14 is used as 14 (and should be logged).
		c.sndWscale = min(o.WindowScale, maxWindowShift)
	} else {
		c.sndWscale, c.rcvWscale = 0, 0
	}
	c.sackOK = o.SACKPermitted && !c.cfg.NoSACK
	c.tsOK = o.HasTimestamps && !c.cfg.NoTimestamps
	if c.tsOK {
		c.tsRecent, c.tsRecentAt = o.TSVal, c.at(now)
		if c.state == SynSent && o.TSEcr != 0 {
			// RFC 7323 §4.1: the SYN-ACK echoes our SYN's timestamp.
			c.sampleRTT(time.Duration(c.tsNow(now)-o.TSEcr) * time.Millisecond)
			c.rttTiming = false
		}
		// §3.2: every segment now carries the option; it comes out of
		// the payload's share of the MSS, as in Linux.
		c.sendMSS = max(c.sendMSS-tsOptionLen, minMSS)
	}
	c.rcvMSS = c.sendMSS
	c.cc.SetMSS(c.sendMSS)
}

// tcpOptionsLen is the option space every data segment carries.
func (c *Conn) tcpOptionsLen() int {
	if c.tsOK {
		return tsOptionLen
	}
	return 0
}

// tsNow is our timestamp clock (RFC 7323 §5.4): milliseconds, offset per
// connection.
func (c *Conn) tsNow(now time.Time) uint32 { return tsClock(now, c.tsOffset, &c.tsLast) }

// tsClock returns the timestamp clock with offset at now, and records it
// in *last.
func tsClock(now time.Time, offset uint32, last *uint32) uint32 {
	v := uint32(now.UnixMilli()) + offset
	// Never go back, even if the caller's clock does (a wall clock being
	// stepped, or times read on different goroutines): the peer's PAWS
	// (RFC 7323 §5) would drop every segment until it caught up.
	if *last != 0 && int32(v-*last) < 0 {
		return *last
	}
	*last = v
	return v
}

// pawsValidity is how long TS.Recent stays valid without being refreshed
// (RFC 7323 §5.5: 24 days, the shortest wrap of a 1 ms clock's sign bit).
const pawsValidity = 24 * 24 * time.Hour

// pawsRejects is RFC 7323 §5.3's rule R1: a segment (not a reset) whose
// timestamp is older than TS.Recent is an old duplicate.
func (c *Conn) pawsRejects(seg *Segment, now time.Time) bool {
	if !c.tsOK || !seg.Options.HasTimestamps || seg.Flags&wire.FlagRST != 0 {
		return false
	}
	if int32(seg.Options.TSVal-c.tsRecent) >= 0 {
		return false
	}
	if c.at(now).Sub(c.tsRecentAt) > pawsValidity {
		// §5.5: TS.Recent is too old to judge by; take the new one.
		c.tsRecent, c.tsRecentAt = seg.Options.TSVal, c.at(now)
		return false
	}
	return true
}

// updateTSRecent is RFC 7323 §4.3 (2), rule R3 of §5.3: remember the
// timestamp of a segment that covers Last.ACK.sent.
func (c *Conn) updateTSRecent(seg *Segment, now time.Time) {
	if !c.tsOK || !seg.Options.HasTimestamps {
		return
	}
	if int32(seg.Options.TSVal-c.tsRecent) >= 0 && seg.Seq.LessThanEq(c.lastAckSent) {
		c.tsRecent, c.tsRecentAt = seg.Options.TSVal, c.at(now)
	}
}
