package wire

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// Sum returns the one's-complement sum (RFC 1071 §1) of b, read as
// big-endian 16-bit words, added to initial. If b has an odd length, its
// last byte is padded on the right with a zero byte (RFC 9293 §3.1).
//
// The result is a partial sum: it is not folded to 16 bits nor
// complemented, so that sums over several pieces of a packet, such as a
// pseudo header and a segment, can be chained by passing one as the initial
// value of the next. Chaining is exact only when every piece but the last
// has an even length. Use [Fold] to turn the final sum into the value that
// goes into a header.
//
// Sum reads eight bytes at a time; the sum never overflows, whatever the
// length of b.
func Sum(b []byte, initial uint32) uint32 {
	// One's-complement addition of 64-bit words with end-around carry is
	// congruent, modulo 2^16-1, to the addition of their 16-bit words,
	// because 2^64-1 is a multiple of 2^16-1: the parallel summation and
	// deferred carries of RFC 1071 §2 (B) and (C). The words are read in
	// the machine's (little-endian) order, which saves a byte swap per
	// load, and the folded 16-bit sum is swapped once at the end: the sum
	// is independent of byte order (RFC 1071 §2 (B)).
	var s, c uint64
	for len(b) >= 64 {
		s, c = bits.Add64(s, binary.LittleEndian.Uint64(b[0:8]), c)
		s, c = bits.Add64(s, binary.LittleEndian.Uint64(b[8:16]), c)
		s, c = bits.Add64(s, binary.LittleEndian.Uint64(b[16:24]), c)
		s, c = bits.Add64(s, binary.LittleEndian.Uint64(b[24:32]), c)
		s, c = bits.Add64(s, binary.LittleEndian.Uint64(b[32:40]), c)
		s, c = bits.Add64(s, binary.LittleEndian.Uint64(b[40:48]), c)
		s, c = bits.Add64(s, binary.LittleEndian.Uint64(b[48:56]), c)
		s, c = bits.Add64(s, binary.LittleEndian.Uint64(b[56:64]), c)
		b = b[64:]
	}
	for len(b) >= 8 {
		s, c = bits.Add64(s, binary.LittleEndian.Uint64(b), c)
		b = b[8:]
	}
	// A 16-bit word may sit at any even offset within a 64-bit word:
	// 2^16 ≡ 1 (mod 2^16-1), so its place does not change the sum.
	if len(b) >= 4 {
		s, c = bits.Add64(s, uint64(binary.LittleEndian.Uint32(b)), c)
		b = b[4:]
	}
	if len(b) >= 2 {
		s, c = bits.Add64(s, uint64(binary.LittleEndian.Uint16(b)), c)
		b = b[2:]
	}
	if len(b) == 1 {
		// The high byte of a big-endian word padded with zero: the low
		// byte in the machine's order.
		s, c = bits.Add64(s, uint64(b[0]), c)
	}
	s, c = bits.Add64(s, 0, c)
	s += c // cannot carry again: s is 0 here if c is 1

	// Fold to 16 bits with end-around carries, back to network order,
	// then add initial, folding 33 bits to 32.
	s = s>>32 + s&0xffffffff
	s = s>>32 + s&0xffffffff
	s = s>>16 + s&0xffff
	s = s>>16 + s&0xffff
	s = uint64(bits.ReverseBytes16(uint16(s))) + uint64(initial)
	return uint32(s>>32 + s&0xffffffff)
}

// Fold folds a partial sum from [Sum] to 16 bits, adding back the carries
// (RFC 1071 §4.1), and returns its one's complement: the value to store in
// a checksum field. A packet whose checksum is correct, summed whole with
// its checksum field included, folds to 0.
func Fold(sum uint32) uint16 {
	sum = (sum >> 16) + (sum & 0xffff)
	sum += sum >> 16
	return ^uint16(sum)
}

// Checksum returns the Internet checksum of b (RFC 1071): Fold(Sum(b, 0)).
func Checksum(b []byte) uint16 {
	return Fold(Sum(b, 0))
}

// PseudoHeaderSum returns the partial sum of the pseudo header that TCP
// and UDP include in their checksums, for a segment of length bytes with
// upper-layer protocol proto, to be passed as the initial value to [Sum].
//
// If src and dst are both IPv4 (or IPv4-mapped IPv6) addresses, the header
// is that of RFC 9293 §3.1: source, destination, zero, protocol, and the
// 16-bit TCP length. Otherwise it is the IPv6 pseudo header of RFC 8200
// §8.1: source, destination, 32-bit upper-layer length, three zero bytes
// and the next header value.
func PseudoHeaderSum(src, dst netip.Addr, proto uint8, length int) uint32 {
	if src.Unmap().Is4() && dst.Unmap().Is4() {
		s, d := src.Unmap().As4(), dst.Unmap().As4()
		sum := uint32(binary.BigEndian.Uint16(s[0:2])) + uint32(binary.BigEndian.Uint16(s[2:4])) +
			uint32(binary.BigEndian.Uint16(d[0:2])) + uint32(binary.BigEndian.Uint16(d[2:4]))
		return sum + uint32(proto) + uint32(uint16(length))
	}
	// As16 of the zero Addr is all zeros; it does not panic.
	s, d := src.As16(), dst.As16()
	var sum uint32
	for i := 0; i < 16; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(s[i:])) + uint32(binary.BigEndian.Uint16(d[i:]))
	}
	l := uint32(length)
	return sum + (l >> 16) + (l & 0xffff) + uint32(proto)
}

// UpdateChecksum returns the checksum check updated for a change of one
// 16-bit word of the checksummed data from old to new, without summing the
// data again. It uses eqn. 3 of RFC 1624 §3, HC' = ~(~HC + ~m + m'), which
// (unlike eqn. 2 of RFC 1141) never produces a checksum of -0 (0xffff) from
// data that is not all zeros.
func UpdateChecksum(check, old, new uint16) uint16 {
	sum := uint32(^check) + uint32(^old) + uint32(new)
	return Fold(sum)
}

// UpdateChecksum32 is like [UpdateChecksum] for a change of an aligned
// 32-bit field, such as an IPv4 address or a TCP sequence number, from old
// to new.
func UpdateChecksum32(check uint16, old, new uint32) uint16 {
	sum := uint32(^check) +
		uint32(^uint16(old>>16)) + uint32(^uint16(old)) +
		(new >> 16) + (new & 0xffff)
	return Fold(sum)
}
