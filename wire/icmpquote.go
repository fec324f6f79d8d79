package wire

import (
	"encoding/binary"
	"net/netip"
)

// QuotedTCP is what an ICMP error message tells about the TCP segment that
// caused it: the addresses of the quoted IP header, and the ports and
// sequence number in the first 8 bytes of the quoted TCP header, which are
// all that RFC 792 guarantees are quoted.
type QuotedTCP struct {
	Src, Dst netip.AddrPort // the segment's source (us) and destination
	Seq      uint32         // the segment's sequence number
}

// QuotedTCP returns the TCP segment that the error message m quotes
// (destination unreachable, time exceeded or parameter problem). It
// reports false if m is not an error, if the quote does not start with an
// IPv4 header followed by at least 8 bytes, or if the quoted datagram is
// not TCP or is a fragment other than the first, whose first 8 bytes are
// not a TCP header (RFC 1122 §3.2.2, RFC 5927 §4.1).
func (m ICMPv4) QuotedTCP() (QuotedTCP, bool) {
	orig := IPv4(m.Original())
	if checkIPv4Header(orig) != nil {
		return QuotedTCP{}, false
	}
	hl := orig.HeaderLen()
	if orig.Protocol() != ProtoTCP || orig.FragmentOffset() != 0 || len(orig) < hl+8 {
		return QuotedTCP{}, false
	}
	th := orig[hl:]
	return QuotedTCP{
		Src: netip.AddrPortFrom(orig.Src(), binary.BigEndian.Uint16(th[0:2])),
		Dst: netip.AddrPortFrom(orig.Dst(), binary.BigEndian.Uint16(th[2:4])),
		Seq: binary.BigEndian.Uint32(th[4:8]),
	}, true
}
