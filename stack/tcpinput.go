package stack

import (
	"net/netip"

	"github.com/seqack/seqack/tcp"
	"github.com/seqack/seqack/trace"
	"github.com/seqack/seqack/wire"
)

// tcpInput validates a TCP segment and hands it to its connection, or to a
// listener, or answers it as RFC 9293 §3.10.7.1 says for no connection.
func (s *Stack) tcpInput(ip wire.IPv4) {
	payload := ip.Payload()
	t, err := wire.ParseTCP(payload)
	if err != nil {
		s.stats.countParseError(err)
		return
	}
	if !wire.VerifyTCPChecksum(ip.Src(), ip.Dst(), payload) {
		s.stats.countParseError(wire.ErrTCPChecksum)
		return
	}
	if t.SrcPort() == 0 || t.DstPort() == 0 {
		s.stats.tcpBadPort.Add(1)
		return
	}
	seg := tcp.Segment{
		Seq:        tcp.Value(t.Seq()),
		Ack:        tcp.Value(t.Ack()),
		Flags:      t.Flags(),
		Window:     t.Window(),
		Urgent:     t.Urgent(),
		Payload:    t.Payload(),
		RawOptions: t.Options(),
		Tag:        packetTag(ip.ID()),
	}
	if err := t.ParseOptions(&seg.Options); err != nil {
		s.stats.countParseError(err)
		return
	}
	s.stats.tcpIn.Add(1)
	id := tcp.ID{
		Local:  netip.AddrPortFrom(ip.Dst(), t.DstPort()),
		Remote: netip.AddrPortFrom(ip.Src(), t.SrcPort()),
	}

	s.mu.RLock()
	c := s.conns[keyOf(id)]
	s.mu.RUnlock()
	if c != nil && c.input(&seg) {
		return
	}
	if s.timeWaitInput(id, &seg) {
		return
	}

	l := s.lookupListener(id.Local)
	if l != nil {
		l.input(id, &seg)
		return
	}
	s.noConnection(id, &seg)
}

// noConnection answers a segment that reached no connection and no listener
// (the CLOSED state, RFC 9293 §3.10.7.1).
func (s *Stack) noConnection(id tcp.ID, seg *tcp.Segment) {
	s.stats.tcpNoPort.Add(1)
	if s.sink != nil {
		s.traceStateless(trace.SegmentReceived, id, seg)
	}
	rst, ok := tcp.ResetFor(seg)
	if !ok {
		return
	}
	s.stats.tcpResets.Add(1)
	statelessSender{s}.SendSegment(id, &rst) // sets rst.Tag
	if s.sink != nil {
		s.traceStateless(trace.SegmentSent, id, &rst)
	}
}

// traceStateless reports a segment handled without a connection.
func (s *Stack) traceStateless(kind trace.Kind, id tcp.ID, seg *tcp.Segment) {
	e := trace.Event{Time: s.now(), Kind: kind, Local: id.Local, Remote: id.Remote}
	e.Seg.Seq, e.Seg.Ack = uint32(seg.Seq), uint32(seg.Ack)
	e.Seg.Flags, e.Seg.Window, e.Seg.Len = seg.Flags, seg.Window, seg.PayloadLen()
	e.Seg.Tag = seg.Tag
	if seg.RawOptions != nil {
		e.Seg.OptionsLen = uint8(copy(e.Seg.Options[:], seg.RawOptions))
	} else {
		e.Seg.OptionsLen = uint8(seg.Options.Marshal(e.Seg.Options[:]))
	}
	s.sink.Emit(&e)
}

// lookupListener finds the listener for a local address: an exact match
// first, then one on the unspecified address.
func (s *Stack) lookupListener(local netip.AddrPort) *Listener {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if l := s.listeners[local]; l != nil {
		return l
	}
	return s.listeners[netip.AddrPortFrom(netip.IPv4Unspecified(), local.Port())]
}
