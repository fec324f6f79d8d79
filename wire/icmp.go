package wire

import (
	"encoding/binary"
	"net/netip"
	"strconv"
)

// ICMPv4HeaderLen is the length of the fixed part of every ICMP message:
// type, code, checksum and four bytes whose meaning depends on the type
// (RFC 792).
const ICMPv4HeaderLen = 8

// ICMP message types (RFC 792).
const (
	ICMPEchoReply        = 0
	ICMPDestUnreachable  = 3
	ICMPEchoRequest      = 8
	ICMPTimeExceeded     = 11
	ICMPParameterProblem = 12
)

// Codes of the destination unreachable message (RFC 792, RFC 1812 §5.2.7.1).
const (
	CodeNetUnreachable      = 0
	CodeHostUnreachable     = 1
	CodeProtocolUnreachable = 2
	CodePortUnreachable     = 3
	CodeFragNeeded          = 4  // fragmentation needed and DF set (RFC 1191)
	CodeAdminProhibited     = 13 // communication administratively prohibited (RFC 1812)
)

// ICMPv4 is a view of an ICMP message for IPv4: the 8-byte header and what
// follows it. A value returned by [ParseICMPv4] is valid for every method;
// on any other value the methods may panic if the slice is shorter than
// the header.
type ICMPv4 []byte

// ParseICMPv4 checks that b holds an ICMP message at least 8 bytes long
// whose checksum, over the whole message, verifies (RFC 792, RFC 1122
// §3.2.2), and returns a view of it.
func ParseICMPv4(b []byte) (ICMPv4, error) {
	if len(b) < ICMPv4HeaderLen {
		return nil, ErrICMPTooShort
	}
	if Checksum(b) != 0 {
		return nil, ErrICMPChecksum
	}
	return ICMPv4(b), nil
}

// Type returns the message type, such as [ICMPEchoRequest].
func (m ICMPv4) Type() uint8 { return m[0] }

// Code returns the message code, such as [CodePortUnreachable].
func (m ICMPv4) Code() uint8 { return m[1] }

// Checksum returns the checksum field.
func (m ICMPv4) Checksum() uint16 { return binary.BigEndian.Uint16(m[2:4]) }

// ID returns the identifier of an echo request or reply.
func (m ICMPv4) ID() uint16 { return binary.BigEndian.Uint16(m[4:6]) }

// Seq returns the sequence number of an echo request or reply.
func (m ICMPv4) Seq() uint16 { return binary.BigEndian.Uint16(m[6:8]) }

// NextHopMTU returns the MTU of the next hop from a destination
// unreachable message with code [CodeFragNeeded] (RFC 1191 §4); zero means
// the router predates RFC 1191.
func (m ICMPv4) NextHopMTU() uint16 { return binary.BigEndian.Uint16(m[6:8]) }

// Payload returns the bytes after the 8-byte header: the data of an echo,
// or the quoted datagram of an error.
func (m ICMPv4) Payload() []byte { return m[ICMPv4HeaderLen:] }

// Original returns the part of the datagram that caused an error message
// (destination unreachable, time exceeded or parameter problem): its IP
// header and at least the first 8 bytes of its payload (RFC 792). It
// returns nil for other types. The quoted datagram is not validated; it is
// usually truncated, so its total length and checksum do not hold.
func (m ICMPv4) Original() []byte {
	switch m.Type() {
	case ICMPDestUnreachable, ICMPTimeExceeded, ICMPParameterProblem:
		return m[ICMPv4HeaderLen:]
	}
	return nil
}

// SetNextHopMTU stores mtu in the next-hop MTU field of a destination
// unreachable message (RFC 1191 §4) and updates the checksum
// incrementally.
func (m ICMPv4) SetNextHopMTU(mtu uint16) {
	old := binary.BigEndian.Uint16(m[6:8])
	binary.BigEndian.PutUint16(m[6:8], mtu)
	binary.BigEndian.PutUint16(m[2:4], UpdateChecksum(m.Checksum(), old, mtu))
}

// MarshalEcho writes an echo request or reply (typ [ICMPEchoRequest] or
// [ICMPEchoReply]) with the given identifier, sequence number and data
// into b, fills in the checksum and returns the message length,
// 8+len(payload). payload may overlap b, so a reply can be built in place
// over the request. It panics if b is shorter than the message.
func MarshalEcho(b []byte, typ uint8, id, seq uint16, payload []byte) int {
	n := ICMPv4HeaderLen + len(payload)
	_ = b[n-1]
	copy(b[ICMPv4HeaderLen:], payload) // first, in case payload overlaps b
	b[0], b[1] = typ, 0
	b[2], b[3] = 0, 0
	binary.BigEndian.PutUint16(b[4:6], id)
	binary.BigEndian.PutUint16(b[6:8], seq)
	binary.BigEndian.PutUint16(b[2:4], Checksum(b[:n]))
	return n
}

// MarshalDestUnreachable writes a destination unreachable message with the
// given code into b, quoting the IP header of original and the first 8
// bytes of its payload (RFC 792; RFC 1812 §4.3.2.3 permits more, but
// hosts need no more than this), fills in the checksum and returns the
// message length. original may overlap b. For [CodeFragNeeded], set the
// MTU afterwards with [ICMPv4.SetNextHopMTU].
//
// The quote is min(len(original), IHL*4+8) bytes, or min(len(original), 28)
// if original does not start with a plausible IPv4 header. MarshalDestUnreachable
// panics if b is shorter than 8 plus the quote.
func MarshalDestUnreachable(b []byte, code uint8, original []byte) int {
	q := quoteLen(original)
	n := ICMPv4HeaderLen + q
	_ = b[n-1]
	copy(b[ICMPv4HeaderLen:], original[:q]) // first, in case original overlaps b
	b[0], b[1] = ICMPDestUnreachable, code
	b[2], b[3], b[4], b[5], b[6], b[7] = 0, 0, 0, 0, 0, 0
	binary.BigEndian.PutUint16(b[2:4], Checksum(b[:n]))
	return n
}

// quoteLen returns how much of original an ICMP error quotes: its IP
// header and 8 bytes of payload (RFC 792).
func quoteLen(original []byte) int {
	hl := IPv4MinHeaderLen
	if len(original) > 0 && original[0]>>4 == 4 {
		if ihl := int(original[0]&0x0f) * 4; ihl >= IPv4MinHeaderLen {
			hl = ihl
		}
	}
	return min(len(original), hl+8)
}

// String describes m in the style of tcpdump, with its length, the whole
// message in bytes:
//
//	ICMP echo request id 7 seq 1 length 64
//	ICMP 10.0.0.2 tcp port 80 unreachable length 36
//	ICMP time exceeded in-transit length 36
//
// The checksum is not verified, and String does not panic on any slice.
func (m ICMPv4) String() string {
	var buf [128]byte
	return string(m.appendTo(buf[:0]))
}

// appendTo appends the String form of m to b.
func (m ICMPv4) appendTo(b []byte) []byte {
	if len(m) < ICMPv4HeaderLen {
		return appendBad(b, ErrICMPTooShort)
	}
	b = append(b, "ICMP "...)
	switch typ, code := m.Type(), m.Code(); typ {
	case ICMPEchoRequest, ICMPEchoReply:
		if typ == ICMPEchoRequest {
			b = append(b, "echo request id "...)
		} else {
			b = append(b, "echo reply id "...)
		}
		b = strconv.AppendUint(b, uint64(m.ID()), 10)
		b = append(b, " seq "...)
		b = strconv.AppendUint(b, uint64(m.Seq()), 10)
	case ICMPDestUnreachable:
		b = m.appendUnreachable(b, code)
	case ICMPTimeExceeded:
		switch code {
		case 0:
			b = append(b, "time exceeded in-transit"...)
		case 1:
			b = append(b, "ip reassembly time exceeded"...)
		default:
			b = append(b, "time exceeded code "...)
			b = strconv.AppendUint(b, uint64(code), 10)
		}
	default:
		b = append(b, "type "...)
		b = strconv.AppendUint(b, uint64(typ), 10)
		b = append(b, " code "...)
		b = strconv.AppendUint(b, uint64(code), 10)
	}
	b = append(b, " length "...)
	return strconv.AppendInt(b, int64(len(m)), 10)
}

// appendUnreachable describes a destination unreachable message, naming
// what it can of the quoted datagram.
func (m ICMPv4) appendUnreachable(b []byte, code uint8) []byte {
	orig := IPv4(m.Payload())
	ok := checkIPv4Header(orig) == nil
	var dst netip.Addr
	if ok {
		dst = orig.Dst()
	}
	// appendDst appends "prefix" then the quoted destination and a space,
	// if there is one.
	appendDst := func(b []byte, prefix string) []byte {
		b = append(b, prefix...)
		if ok {
			b = dst.AppendTo(b)
			b = append(b, ' ')
		}
		return b
	}
	switch code {
	case CodeNetUnreachable:
		b = appendDst(b, "net ")
		b = append(b, "unreachable"...)
	case CodeHostUnreachable:
		b = appendDst(b, "host ")
		b = append(b, "unreachable"...)
	case CodeProtocolUnreachable:
		b = appendDst(b, "")
		b = append(b, "protocol "...)
		if ok {
			b = strconv.AppendUint(b, uint64(orig.Protocol()), 10)
			b = append(b, ' ')
		}
		b = append(b, "unreachable"...)
	case CodePortUnreachable:
		b = appendDst(b, "")
		if ok {
			switch orig.Protocol() {
			case ProtoTCP:
				b = append(b, "tcp "...)
			case ProtoUDP:
				b = append(b, "udp "...)
			}
		}
		b = append(b, "port "...)
		if p := orig; ok && len(p) >= p.HeaderLen()+4 {
			b = strconv.AppendUint(b, uint64(binary.BigEndian.Uint16(p[p.HeaderLen()+2:])), 10)
			b = append(b, ' ')
		}
		b = append(b, "unreachable"...)
	case CodeFragNeeded:
		b = appendDst(b, "")
		b = append(b, "unreachable - need to frag (mtu "...)
		b = strconv.AppendUint(b, uint64(m.NextHopMTU()), 10)
		b = append(b, ')')
	case CodeAdminProhibited:
		b = appendDst(b, "host ")
		b = append(b, "unreachable - admin prohibited filter"...)
	default:
		b = appendDst(b, "")
		b = append(b, "unreachable code "...)
		b = strconv.AppendUint(b, uint64(code), 10)
	}
	return b
}
