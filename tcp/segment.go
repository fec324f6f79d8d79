package tcp

import (
	"net/netip"

	"github.com/seqack/seqack/wire"
)

// ID names a connection by its two endpoints.
type ID struct {
	Local, Remote netip.AddrPort
}

// Segment is a TCP segment as the engine sees it: typed fields, no byte
// offsets. On input the stack fills it from a parsed wire.TCP; on output the
// engine fills it and the stack encodes it.
type Segment struct {
	Seq, Ack Value
	Flags    wire.TCPFlags
	Window   uint16 // the raw window field
	Urgent   uint16
	Options  wire.TCPOptions

	// Payload is the segment's data. On output, data that wraps around the
	// end of the send buffer continues in PayloadWrap, so that the engine
	// never copies: the stack writes Payload then PayloadWrap.
	Payload     []byte
	PayloadWrap []byte

	// RawOptions, when set on input, holds the option bytes exactly as
	// they arrived, for tracing.
	RawOptions []byte

	// Retransmit is set on output when the segment repeats sequence space
	// sent before.
	Retransmit bool

	// Tag, when non-zero, identifies the packet that carries the segment:
	// the stack sets it from the IPv4 ID on input, and in SendSegment on
	// output. The engine only copies it into trace events, so that a
	// segment's send and its receipt can be paired exactly.
	Tag uint32
}

// PayloadLen returns the number of data bytes in s.
func (s *Segment) PayloadLen() int { return len(s.Payload) + len(s.PayloadWrap) }

// Len returns SEG.LEN of RFC 9293 §3.4: the sequence space the segment
// occupies, counting SYN and FIN as one each.
func (s *Segment) Len() uint32 {
	n := uint32(s.PayloadLen())
	if s.Flags&wire.FlagSYN != 0 {
		n++
	}
	if s.Flags&wire.FlagFIN != 0 {
		n++
	}
	return n
}

// ResetFor returns the reset that answers seg when it reaches no
// connection, as RFC 9293 §3.10.7.1 prescribes for the CLOSED state, and
// false when seg must be dropped silently (it is itself a reset).
//
//	If the ACK bit is off: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
//	If the ACK bit is on:  <SEQ=SEG.ACK><CTL=RST>
func ResetFor(seg *Segment) (Segment, bool) {
	if seg.Flags&wire.FlagRST != 0 {
		return Segment{}, false
	}
	if seg.Flags&wire.FlagACK != 0 {
		return Segment{Seq: seg.Ack, Flags: wire.FlagRST}, true
	}
	return Segment{Seq: 0, Ack: seg.Seq.Add(seg.Len()), Flags: wire.FlagRST | wire.FlagACK}, true
}
