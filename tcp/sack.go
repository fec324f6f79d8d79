package tcp

import "github.com/seqack/seqack/wire"

// seqRange is the sequence space from start up to but not including end.
type seqRange struct{ start, end Value }

func (r seqRange) len() uint32 { return r.end.Sub(r.start) }

// maxRanges bounds the out-of-order ranges a receiver tracks and the SACKed
// ranges a sender's scoreboard keeps. A bottleneck queue that overflows in
// slow start can leave hundreds of holes in one window; beyond this many,
// the peer is served less precisely, never with more memory.
const maxRanges = 256

// ---------------------------------------------------------------------------
// The receiver's side: which out-of-order ranges are held, for SACK blocks.

// reassembly tracks the out-of-order data a receiver holds beyond RCV.NXT.
// The data itself sits in the receive ring at its offset; this only keeps
// the ranges, most recently changed first, which is the order RFC 2018 §4
// wants them reported in.
type reassembly struct {
	ranges []seqRange // disjoint, not adjacent, all above RCV.NXT; most recent first
}

// add records that [start, end) has arrived and returns whether it was all
// there already (a duplicate, for D-SACK). The block that now contains it
// moves to the front.
func (q *reassembly) add(start, end Value) (dup bool) {
	merged := seqRange{start, end}
	out := q.ranges[:0]
	var front []seqRange
	for _, r := range q.ranges {
		if r.start.LessThanEq(start) && end.LessThanEq(r.end) {
			dup = true
		}
		if r.end.LessThan(merged.start) || merged.end.LessThan(r.start) {
			out = append(out, r)
			continue
		}
		if r.start.LessThan(merged.start) {
			merged.start = r.start
		}
		if r.end.GreaterThan(merged.end) {
			merged.end = r.end
		}
	}
	front = out
	if len(front) >= maxRanges {
		// Forget the least recently changed range; its data stays in the
		// ring but is no longer reported, and the sender will resend it.
		front = front[:maxRanges-1]
	}
	q.ranges = append(q.ranges[:len(front)], seqRange{})
	copy(q.ranges[1:], front)
	q.ranges[0] = merged
	return dup
}

// advance removes the range that starts at or below rcvNxt, if any, and
// returns where in-order data now ends.
func (q *reassembly) advance(rcvNxt Value) Value {
	for i, r := range q.ranges {
		if r.start.LessThanEq(rcvNxt) {
			if r.end.GreaterThan(rcvNxt) {
				rcvNxt = r.end
			}
			q.ranges = append(q.ranges[:i], q.ranges[i+1:]...)
			return q.advance(rcvNxt)
		}
	}
	return rcvNxt
}

// contains reports whether every byte of [start, end) is held.
func (q *reassembly) contains(start, end Value) bool {
	for _, r := range q.ranges {
		if r.start.LessThanEq(start) && end.LessThanEq(r.end) {
			return true
		}
	}
	return false
}

// highest returns the end of the highest range, or rcvNxt if there is none.
func (q *reassembly) highest(rcvNxt Value) Value {
	h := rcvNxt
	for _, r := range q.ranges {
		if r.end.GreaterThan(h) {
			h = r.end
		}
	}
	return h
}

func (q *reassembly) empty() bool { return len(q.ranges) == 0 }

// ---------------------------------------------------------------------------
// The sender's side: the SACK scoreboard of RFC 6675 §3.

// scoreboard keeps the ranges above SND.UNA that the peer has reported
// holding (RFC 2018), in sequence order.
type scoreboard struct {
	ranges []seqRange // sorted, disjoint, not adjacent, all above SND.UNA
	sacked uint32     // total bytes in ranges
}

// add records a SACK block and returns how many bytes it newly covered.
func (s *scoreboard) add(start, end Value) uint32 {
	if !start.LessThan(end) {
		return 0
	}
	// ranges[i:j] are the ranges the block overlaps or touches.
	i := 0
	for i < len(s.ranges) && s.ranges[i].end.LessThan(start) {
		i++
	}
	merged := seqRange{start, end}
	var covered uint32
	j := i
	for ; j < len(s.ranges) && !end.LessThan(s.ranges[j].start); j++ {
		r := s.ranges[j]
		covered += r.len()
		if r.start.LessThan(merged.start) {
			merged.start = r.start
		}
		if r.end.GreaterThan(merged.end) {
			merged.end = r.end
		}
	}
	if j > i {
		s.ranges[i] = merged
		s.ranges = append(s.ranges[:i+1], s.ranges[j:]...)
	} else {
		if len(s.ranges) >= maxRanges {
			if i == len(s.ranges) {
				// Too many holes: keep the lowest ranges, which say what
				// to repair first; the rest will be reported again.
				return 0
			}
			s.sacked -= s.ranges[len(s.ranges)-1].len()
			s.ranges = s.ranges[:len(s.ranges)-1]
		}
		s.ranges = append(s.ranges, seqRange{})
		copy(s.ranges[i+1:], s.ranges[i:])
		s.ranges[i] = merged
	}
	s.sacked += merged.len() - covered
	return merged.len() - covered
}

// ackTo forgets everything below una: it is acknowledged cumulatively.
func (s *scoreboard) ackTo(una Value) {
	i := 0
	for _, r := range s.ranges {
		if r.end.LessThanEq(una) {
			s.sacked -= r.len()
			continue
		}
		if r.start.LessThan(una) {
			s.sacked -= una.Sub(r.start)
			r.start = una
		}
		s.ranges[i] = r
		i++
	}
	s.ranges = s.ranges[:i]
}

func (s *scoreboard) reset() { s.ranges, s.sacked = s.ranges[:0], 0 }

// isSacked reports whether seq has been SACKed.
func (s *scoreboard) isSacked(seq Value) bool {
	for _, r := range s.ranges {
		if seq.LessThan(r.start) {
			return false
		}
		if seq.LessThan(r.end) {
			return true
		}
	}
	return false
}

// lostBelow returns the sequence number below which every byte not SACKed
// is deemed lost by RFC 6675 §4's IsLost: DupThresh discontiguous SACKed
// ranges, or more than (DupThresh-1)×SMSS SACKed bytes, lie above it. It
// returns una when nothing is lost.
func (s *scoreboard) lostBelow(una Value, mss int) Value {
	var bytes uint32
	for i := len(s.ranges) - 1; i >= 0; i-- {
		bytes += s.ranges[i].len()
		if len(s.ranges)-i >= dupThresh || bytes > uint32((dupThresh-1)*mss) {
			return s.ranges[i].start
		}
	}
	return una
}

// nextHole returns the first byte at or after from that is not SACKed, and
// the end of the hole it starts (the next SACKed range, or limit).
func (s *scoreboard) nextHole(from, limit Value) (start, end Value) {
	start = from
	for _, r := range s.ranges {
		if r.end.LessThanEq(start) {
			continue
		}
		if r.start.LessThanEq(start) {
			start = r.end
			continue
		}
		return start, r.start
	}
	return start, limit
}

// dupThresh is DupThresh of RFC 5681 §3.2 and RFC 6675.
const dupThresh = 3

// sackBlocks fills o's SACK blocks for an outgoing ACK (RFC 2018 §4): a
// D-SACK block first if one is pending (RFC 2883), then the out-of-order
// ranges, most recently changed first.
func (c *Conn) sackBlocks(o *wire.TCPOptions) {
	n := 0
	if c.dsackPending {
		o.SACKBlocks[n] = wire.SACKBlock{Left: uint32(c.dsack.start), Right: uint32(c.dsack.end)}
		n++
		c.dsackPending = false
	}
	for _, r := range c.ooo.ranges {
		if n == wire.MaxSACKBlocks {
			break
		}
		o.SACKBlocks[n] = wire.SACKBlock{Left: uint32(r.start), Right: uint32(r.end)}
		n++
	}
	o.NumSACK = uint8(n)
}

// sackSpace returns the option bytes the SACK blocks of the next ACK will
// take (2 NOPs, kind, length, 8 per block), as many blocks as fit beside
// the timestamps (RFC 2018 §3: at most 3 with timestamps, 4 without).
func (c *Conn) sackSpace() int {
	if !c.sackOK {
		return 0
	}
	n := len(c.ooo.ranges)
	if c.dsackPending {
		n++
	}
	if n == 0 {
		return 0
	}
	fit := (wire.MaxTCPOptionsLen - c.tcpOptionsLen() - 4) / 8
	return 4 + 8*min(n, fit, wire.MaxSACKBlocks)
}
