package wire

import (
	"encoding/binary"
	"net/netip"
)

// TCPMinHeaderLen is the length of a TCP header without options
// (RFC 9293 §3.1).
const TCPMinHeaderLen = 20

// TCP is a view of a TCP segment: header, options and payload.
// A value returned by [ParseTCP] is valid for every method; on any other
// value the methods may panic if the slice is shorter than the header.
type TCP []byte

// ParseTCP checks that b holds a well-formed TCP header and returns a view
// of the segment (RFC 9293 §3.1): b holds at least the 20-byte fixed
// header, and the data offset is at least 5 words and fits in b.
//
// ParseTCP does not verify the checksum, which needs the addresses of the
// IP header (see [VerifyTCPChecksum]), and does not parse the options
// (see [TCP.ParseOptions]).
func ParseTCP(b []byte) (TCP, error) {
	if len(b) < TCPMinHeaderLen {
		return nil, ErrTCPTooShort
	}
	off := int(b[12]>>4) * 4
	if off < TCPMinHeaderLen || off > len(b) {
		return nil, ErrTCPDataOffset
	}
	return TCP(b), nil
}

// SrcPort returns the source port.
func (t TCP) SrcPort() uint16 { return binary.BigEndian.Uint16(t[0:2]) }

// DstPort returns the destination port.
func (t TCP) DstPort() uint16 { return binary.BigEndian.Uint16(t[2:4]) }

// Seq returns the sequence number.
func (t TCP) Seq() uint32 { return binary.BigEndian.Uint32(t[4:8]) }

// Ack returns the acknowledgment number, meaningful when the ACK flag
// is set.
func (t TCP) Ack() uint32 { return binary.BigEndian.Uint32(t[8:12]) }

// HeaderLen returns the header length in bytes (the data offset times 4),
// options included.
func (t TCP) HeaderLen() int { return int(t[12]>>4) * 4 }

// Flags returns the eight control bits of octet 13 (RFC 9293 §3.1,
// RFC 3168 §6.1). The reserved bits of octet 12 are not included.
func (t TCP) Flags() TCPFlags { return TCPFlags(t[13]) }

// Window returns the window field, not scaled.
func (t TCP) Window() uint16 { return binary.BigEndian.Uint16(t[14:16]) }

// Checksum returns the checksum field.
func (t TCP) Checksum() uint16 { return binary.BigEndian.Uint16(t[16:18]) }

// Urgent returns the urgent pointer field, meaningful when the URG flag
// is set.
func (t TCP) Urgent() uint16 { return binary.BigEndian.Uint16(t[18:20]) }

// Options returns the raw option bytes, padding included.
func (t TCP) Options() []byte { return t[TCPMinHeaderLen:t.HeaderLen()] }

// Payload returns the bytes after the header.
func (t TCP) Payload() []byte { return t[t.HeaderLen():] }

// ParseOptions resets *o and fills it from the options of t; see
// [TCPOptions.Unmarshal] for the rules. It does not allocate.
func (t TCP) ParseOptions(o *TCPOptions) error {
	return o.Unmarshal(t.Options())
}

// TCPChecksum returns the checksum of the TCP segment seg sent from src to
// dst: the one's complement of the one's-complement sum of the pseudo
// header (RFC 9293 §3.1) and the whole of seg. If the checksum field of
// seg is zero, the result is the value to store there; if it holds the
// correct checksum, the result is zero.
func TCPChecksum(src, dst netip.Addr, seg []byte) uint16 {
	return Fold(Sum(seg, PseudoHeaderSum(src, dst, ProtoTCP, len(seg))))
}

// VerifyTCPChecksum reports whether the checksum of the TCP segment seg,
// sent from src to dst, is correct (RFC 9293 §3.1).
func VerifyTCPChecksum(src, dst netip.Addr, seg []byte) bool {
	return TCPChecksum(src, dst, seg) == 0
}

// SetTCPChecksum computes the checksum of the TCP segment seg, sent from
// src to dst, and stores it in the checksum field. It panics if seg is
// shorter than [TCPMinHeaderLen].
func SetTCPChecksum(src, dst netip.Addr, seg []byte) {
	_ = seg[TCPMinHeaderLen-1]
	seg[16], seg[17] = 0, 0
	binary.BigEndian.PutUint16(seg[16:18], TCPChecksum(src, dst, seg))
}

// TCPHeader holds the fields of a TCP header to be built by Marshal.
type TCPHeader struct {
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	Flags            TCPFlags // only the low eight bits are written
	Window           uint16
	Urgent           uint16
}

// Marshal writes the header described by h into b, followed by the options
// opts (which may be nil) encoded as [TCPOptions.Marshal] does. It sets the
// data offset, leaves the checksum zero (see [SetTCPChecksum]) and returns
// the header length, 20 plus opts.EncodedLen(). It does not allocate.
// It panics if b is shorter than the header length.
func (h *TCPHeader) Marshal(b []byte, opts *TCPOptions) int {
	n, nsack := TCPMinHeaderLen, 0
	if opts != nil {
		var olen int
		nsack, olen = opts.layout()
		n += olen
	}
	_ = b[n-1] // one bounds check, and the documented panic
	binary.BigEndian.PutUint16(b[0:2], h.SrcPort)
	binary.BigEndian.PutUint16(b[2:4], h.DstPort)
	binary.BigEndian.PutUint32(b[4:8], h.Seq)
	binary.BigEndian.PutUint32(b[8:12], h.Ack)
	b[12] = byte(n/4) << 4
	b[13] = byte(h.Flags)
	binary.BigEndian.PutUint16(b[14:16], h.Window)
	b[16], b[17] = 0, 0
	binary.BigEndian.PutUint16(b[18:20], h.Urgent)
	if opts != nil {
		opts.marshal(b[TCPMinHeaderLen:n], nsack)
	}
	return n
}
