package wire

import (
	"net/netip"
	"testing"
)

// TestQuotedTCP: the ports and sequence number of a quoted TCP segment are
// found behind a quoted IP header with or without options, and quotes that
// cannot name a TCP segment are refused.
func TestQuotedTCP(t *testing.T) {
	src, dst := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	seg := make([]byte, 20)
	h := TCPHeader{SrcPort: 40000, DstPort: 80, Seq: 0xdeadbeef, Flags: FlagSYN, Window: 1000}
	h.Marshal(seg, nil)
	pkt := make([]byte, 40)
	ih := IPv4Header{ID: 1, TTL: 64, Protocol: ProtoTCP, Src: src, Dst: dst, PayloadLen: 20}
	ih.Marshal(pkt)
	copy(pkt[20:], seg)
	// The same datagram with 4 bytes of IP options (a NOP and an
	// end-of-options list, padded).
	withOpts := append(append([]byte{0x46}, pkt[1:20]...), 1, 0, 0, 0)
	withOpts = append(withOpts, seg...)
	udp := append([]byte(nil), pkt...)
	udp[9] = ProtoUDP
	frag := append([]byte(nil), pkt...)
	frag[6], frag[7] = 0, 1 // fragment offset 8

	msg := func(typ uint8, orig []byte) ICMPv4 {
		b := make([]byte, 8+len(orig))
		n := MarshalDestUnreachable(b, CodePortUnreachable, orig)
		b[0] = typ
		return ICMPv4(b[:n])
	}
	want := QuotedTCP{Src: netip.AddrPortFrom(src, 40000), Dst: netip.AddrPortFrom(dst, 80), Seq: 0xdeadbeef}
	tests := []struct {
		name string
		m    ICMPv4
		ok   bool
	}{
		{"unreachable", msg(ICMPDestUnreachable, pkt), true},
		{"time exceeded", msg(ICMPTimeExceeded, pkt), true},
		{"IP options", msg(ICMPDestUnreachable, withOpts), true},
		{"echo reply", msg(ICMPEchoReply, pkt), false},
		{"udp", msg(ICMPDestUnreachable, udp), false},
		{"later fragment", msg(ICMPDestUnreachable, frag), false},
		{"7 bytes of TCP", msg(ICMPDestUnreachable, pkt[:27]), false},
		{"no IP header", msg(ICMPDestUnreachable, pkt[:19]), false},
	}
	for _, tt := range tests {
		q, ok := tt.m.QuotedTCP()
		if ok != tt.ok || ok && q != want {
			t.Errorf("%s: %+v, %v; want %+v, %v", tt.name, q, ok, want, tt.ok)
		}
	}
}

// FuzzQuotedTCP: no message of at least the ICMP header's length makes
// QuotedTCP panic, and what it finds is within the quote.
func FuzzQuotedTCP(f *testing.F) {
	f.Add([]byte{3, 3, 0, 0, 0, 0, 0, 0, 0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0x9c, 0x40, 0, 80, 1, 2, 3, 4})
	f.Add([]byte{11, 0, 0, 0, 0, 0, 0, 0, 0x4f})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < ICMPv4HeaderLen {
			return
		}
		if _, ok := ICMPv4(b).QuotedTCP(); ok && len(b) < ICMPv4HeaderLen+IPv4MinHeaderLen+8 {
			t.Fatalf("found a TCP segment in a %d-byte message", len(b))
		}
	})
}
