package wire

import (
	"encoding/binary"
	"net/netip"
	"strconv"
)

// IPv4MinHeaderLen is the length of an IPv4 header without options
// (RFC 791 §3.1).
const IPv4MinHeaderLen = 20

// IP protocol numbers (IANA "Assigned Internet Protocol Numbers").
const (
	ProtoICMP = 1  // ICMP for IPv4 (RFC 792)
	ProtoTCP  = 6  // TCP (RFC 9293)
	ProtoUDP  = 17 // UDP (RFC 768)
)

// Bits of the flags field (RFC 791 §3.1).
const (
	ipv4DF = 0x4000 // don't fragment
	ipv4MF = 0x2000 // more fragments
)

// IPv4 is a view of a whole IPv4 packet: header, options and payload.
// A value returned by [ParseIPv4] is valid for every method; on any other
// value the methods may panic if the slice is shorter than the header.
type IPv4 []byte

// ParseIPv4 checks that b holds a well-formed IPv4 packet and returns a
// view of it (RFC 791 §3.1, RFC 1122 §3.2.1):
//
//   - b holds at least the 20-byte fixed header;
//   - the version is 4;
//   - the header length (IHL) is at least 5 words and fits in b;
//   - the total length is at least the header length and fits in b;
//   - the header checksum, over the whole header with its options,
//     verifies (RFC 1122 §3.2.1.2).
//
// Bytes beyond the total length, such as Ethernet padding, are not part of
// the packet: the returned view is b[:TotalLen]. Options are not examined.
// Fragments are returned as they are; reassembly is the caller's business.
func ParseIPv4(b []byte) (IPv4, error) {
	if len(b) < IPv4MinHeaderLen {
		return nil, ErrIPv4TooShort
	}
	if b[0]>>4 != 4 {
		return nil, ErrIPv4Version
	}
	hl := int(b[0]&0x0f) * 4
	if hl < IPv4MinHeaderLen || hl > len(b) {
		return nil, ErrIPv4HeaderLen
	}
	tl := int(binary.BigEndian.Uint16(b[2:4]))
	if tl < hl || tl > len(b) {
		return nil, ErrIPv4TotalLen
	}
	if Checksum(b[:hl]) != 0 {
		return nil, ErrIPv4Checksum
	}
	return IPv4(b[:tl]), nil
}

// Version returns the version field, 4 for a parsed packet.
func (p IPv4) Version() uint8 { return p[0] >> 4 }

// HeaderLen returns the header length in bytes, options included.
func (p IPv4) HeaderLen() int { return int(p[0]&0x0f) * 4 }

// TOS returns the type-of-service byte: the DSCP and ECN fields
// (RFC 2474, RFC 3168).
func (p IPv4) TOS() uint8 { return p[1] }

// TotalLen returns the total length field: header plus payload, in bytes.
func (p IPv4) TotalLen() int { return int(binary.BigEndian.Uint16(p[2:4])) }

// ID returns the identification field, used to reassemble fragments.
func (p IPv4) ID() uint16 { return binary.BigEndian.Uint16(p[4:6]) }

func (p IPv4) flagsFrag() uint16 { return binary.BigEndian.Uint16(p[6:8]) }

// DontFragment reports whether the DF flag is set.
func (p IPv4) DontFragment() bool { return p.flagsFrag()&ipv4DF != 0 }

// MoreFragments reports whether the MF flag is set.
func (p IPv4) MoreFragments() bool { return p.flagsFrag()&ipv4MF != 0 }

// FragmentOffset returns the offset of this fragment's payload in the
// original datagram's payload, in bytes (the field counts 8-byte units).
func (p IPv4) FragmentOffset() int { return int(p.flagsFrag()&0x1fff) * 8 }

// IsFragment reports whether p is a fragment of a larger datagram:
// MF is set or the fragment offset is not zero (RFC 791 §2.3).
func (p IPv4) IsFragment() bool { return p.flagsFrag()&(ipv4MF|0x1fff) != 0 }

// TTL returns the time-to-live field.
func (p IPv4) TTL() uint8 { return p[8] }

// Protocol returns the protocol of the payload, such as [ProtoTCP].
func (p IPv4) Protocol() uint8 { return p[9] }

// HeaderChecksum returns the header checksum field.
func (p IPv4) HeaderChecksum() uint16 { return binary.BigEndian.Uint16(p[10:12]) }

// Src returns the source address.
func (p IPv4) Src() netip.Addr { return netip.AddrFrom4([4]byte(p[12:16])) }

// Dst returns the destination address.
func (p IPv4) Dst() netip.Addr { return netip.AddrFrom4([4]byte(p[16:20])) }

// Options returns the option bytes of the header, if any. They are not
// parsed.
func (p IPv4) Options() []byte { return p[IPv4MinHeaderLen:p.HeaderLen()] }

// Payload returns the bytes after the header, up to the total length.
func (p IPv4) Payload() []byte {
	hl, tl := p.HeaderLen(), p.TotalLen()
	if tl > len(p) {
		tl = len(p)
	}
	if hl > tl {
		return nil
	}
	return p[hl:tl]
}

// SetTTL sets the time-to-live field and updates the header checksum
// incrementally (RFC 1624).
func (p IPv4) SetTTL(ttl uint8) {
	old := binary.BigEndian.Uint16(p[8:10])
	new := uint16(ttl)<<8 | uint16(p[9])
	p[8] = ttl
	binary.BigEndian.PutUint16(p[10:12], UpdateChecksum(p.HeaderChecksum(), old, new))
}

// IPv4Header holds the fields of an IPv4 header to be built by Marshal.
// Fields not listed are written as: version 4, IHL 5 (no options), MF clear
// and fragment offset 0.
type IPv4Header struct {
	TOS          uint8
	ID           uint16
	DontFragment bool
	TTL          uint8
	Protocol     uint8
	Src, Dst     netip.Addr // must be IPv4 (or IPv4-mapped); others are written as 0.0.0.0
	PayloadLen   int        // bytes after the header; at most 65535-20
}

// Marshal writes the 20-byte header described by h into b, with total
// length 20+PayloadLen and the header checksum filled in, and returns 20.
// It does not allocate. It panics if len(b) < [IPv4MinHeaderLen].
// A PayloadLen too large for the 16-bit total length field is truncated.
func (h *IPv4Header) Marshal(b []byte) int {
	_ = b[IPv4MinHeaderLen-1] // one bounds check, and the documented panic
	b[0] = 4<<4 | IPv4MinHeaderLen/4
	b[1] = h.TOS
	binary.BigEndian.PutUint16(b[2:4], uint16(IPv4MinHeaderLen+h.PayloadLen))
	binary.BigEndian.PutUint16(b[4:6], h.ID)
	var ff uint16
	if h.DontFragment {
		ff = ipv4DF
	}
	binary.BigEndian.PutUint16(b[6:8], ff)
	b[8] = h.TTL
	b[9] = h.Protocol
	b[10], b[11] = 0, 0
	putAddr4(b[12:16], h.Src)
	putAddr4(b[16:20], h.Dst)
	binary.BigEndian.PutUint16(b[10:12], Checksum(b[:IPv4MinHeaderLen]))
	return IPv4MinHeaderLen
}

// putAddr4 writes a as four bytes, or zeros if a is not an IPv4 address.
func putAddr4(b []byte, a netip.Addr) {
	a = a.Unmap()
	if !a.Is4() {
		b[0], b[1], b[2], b[3] = 0, 0, 0, 0
		return
	}
	a4 := a.As4()
	copy(b, a4[:])
}

// String describes p in the style of tcpdump: a TCP segment as
// [FormatTCP] does, an ICMP message such as
// "10.0.0.1 > 10.0.0.2 ICMP echo request id 7 seq 1 length 64", and any
// other protocol as "10.0.0.1 > 10.0.0.2 proto 17 length 28", where length
// counts the bytes after the IP header. A fragment is marked as tcpdump
// marks it, "(frag ID:LEN@OFFSET+)"; only a first fragment is decoded past
// the IP header. A payload that does not parse is shown as
// "[bad tcp: reason]". The header checksum is not verified, and String
// does not panic on any slice.
func (p IPv4) String() string {
	var buf [160]byte
	return string(p.appendTo(buf[:0]))
}

// appendTo appends the String form of p to b.
func (p IPv4) appendTo(b []byte) []byte {
	if err := checkIPv4Header(p); err != nil {
		return appendBad(b, err)
	}
	src, dst := p.Src(), p.Dst()
	payload := p.Payload()
	switch {
	case p.FragmentOffset() != 0:
		// Not the first fragment: no transport header here.
		b = appendAddrs(b, src, dst)
		b = appendProto(b, p.Protocol(), len(payload))
	case p.Protocol() == ProtoTCP:
		b = appendTCP(b, src, dst, payload)
	case p.Protocol() == ProtoICMP:
		b = appendAddrs(b, src, dst)
		b = ICMPv4(payload).appendTo(b)
	default:
		b = appendAddrs(b, src, dst)
		b = appendProto(b, p.Protocol(), len(payload))
	}
	if p.IsFragment() {
		b = append(b, " (frag "...)
		b = strconv.AppendUint(b, uint64(p.ID()), 10)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(len(payload)), 10)
		b = append(b, '@')
		b = strconv.AppendInt(b, int64(p.FragmentOffset()), 10)
		if p.MoreFragments() {
			b = append(b, '+')
		}
		b = append(b, ')')
	}
	return b
}

// appendAddrs appends "src > dst ".
func appendAddrs(b []byte, src, dst netip.Addr) []byte {
	b = src.AppendTo(b)
	b = append(b, " > "...)
	b = dst.AppendTo(b)
	return append(b, ' ')
}

// appendProto appends "proto N length L".
func appendProto(b []byte, proto uint8, length int) []byte {
	b = append(b, "proto "...)
	b = strconv.AppendUint(b, uint64(proto), 10)
	b = append(b, " length "...)
	return strconv.AppendInt(b, int64(length), 10)
}

// appendBad appends "[bad layer: reason]" for a parse error.
func appendBad(b []byte, err error) []byte {
	b = append(b, "[bad "...)
	if e, ok := err.(*Error); ok {
		b = append(b, e.Layer.String()...)
		b = append(b, ": "...)
		b = append(b, e.Reason.String()...)
	} else {
		b = append(b, err.Error()...)
	}
	return append(b, ']')
}

// checkIPv4Header checks what [ParseIPv4] checks except the total length
// and the checksum: enough for every accessor of IPv4 to be safe. It is for
// describing packets that may be truncated or not yet checksummed, such as
// the datagram quoted in an ICMP error.
func checkIPv4Header(b []byte) error {
	if len(b) < IPv4MinHeaderLen {
		return ErrIPv4TooShort
	}
	if b[0]>>4 != 4 {
		return ErrIPv4Version
	}
	if hl := int(b[0]&0x0f) * 4; hl < IPv4MinHeaderLen || hl > len(b) {
		return ErrIPv4HeaderLen
	}
	return nil
}
