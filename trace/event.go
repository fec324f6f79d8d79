// Package trace is seqack's event stream: every segment sent or received,
// every state change and every timer of every connection, and the renderers
// that turn those events into the ladder diagrams of the textbooks.
package trace

import (
	"net/netip"
	"time"

	"github.com/seqack/seqack/wire"
)

// Kind says what an Event records.
type Kind uint8

// The kinds of event.
const (
	SegmentSent     Kind = iota + 1 // the connection (or the stack on its behalf) sent Seg
	SegmentReceived                 // the connection received Seg (before processing it)
	StateChanged                    // the connection moved From one state To another
	TimerFired                      // the timer named Timer expired
	ConnError                       // the connection failed; Note says why
)

var kindNames = [...]string{
	SegmentSent:     "send",
	SegmentReceived: "recv",
	StateChanged:    "state",
	TimerFired:      "timer",
	ConnError:       "error",
}

// String returns the short name of k: "send", "recv", "state", "timer" or
// "error".
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "unknown"
}

// Segment is a copy of a TCP segment's header, small enough to keep
// in an event without allocating: the payload itself is not kept, only its
// length.
type Segment struct {
	Seq, Ack uint32
	Flags    wire.TCPFlags
	Window   uint16 // the raw 16-bit window field, not scaled
	Len      int    // payload bytes (SYN and FIN not counted)
	// Options holds the raw option bytes as they are (or will be) on the
	// wire, so renderers can show them in their order, NOPs included.
	Options    [wire.MaxTCPOptionsLen]byte
	OptionsLen uint8
	// Retransmit is set on a segment sent again by a retransmission timer.
	Retransmit bool
	// Tag identifies the packet that carried the segment on its link (the
	// stack uses the IPv4 identification field), or is zero if unknown. A
	// send and a receipt with the same non-zero Tag are the same packet,
	// which tells apart identical copies of a retransmitted segment.
	Tag uint32
}

// RawOptions returns the option bytes of s.
func (s *Segment) RawOptions() []byte { return s.Options[:s.OptionsLen] }

// Event is one thing that happened to one connection.
type Event struct {
	Time   time.Time
	Kind   Kind
	Local  netip.AddrPort // this end of the connection
	Remote netip.AddrPort // the peer; the zero value for a listening socket

	Seg Segment // for SegmentSent and SegmentReceived

	From, To string // state names, for StateChanged

	Timer string // for TimerFired: "retransmit", "time-wait", ...
	Note  string // free text: a reason, an error
}

// A Sink receives events. Emit is called synchronously on the goroutine that
// processes the connection, with locks held: it must be quick, must not
// call back into the stack, and must copy the event if it keeps it.
type Sink interface {
	Emit(e *Event)
}

// SinkFunc adapts a function to the Sink interface.
type SinkFunc func(e *Event)

// Emit calls f(e).
func (f SinkFunc) Emit(e *Event) { f(e) }
