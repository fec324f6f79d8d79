package wire

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
)

// realSYN is a Linux SYN, 192.168.1.10:51234 > 93.184.216.34:80,
// <mss 1460,sackOK,TS val 2216437260 ecr 0,nop,wscale 7>, with both
// checksums computed by an independent implementation (Python).
var realSYN = []byte{
	// IPv4: ID 0x1c46, DF, TTL 64, TCP, checksum 0x26e9
	0x45, 0x00, 0x00, 0x3c, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x06, 0x26, 0xe9,
	0xc0, 0xa8, 0x01, 0x0a, 0x5d, 0xb8, 0xd8, 0x22,
	// TCP: seq 0x3a5c1b2e, data offset 10, SYN, win 64240, checksum 0x8d5c
	0xc8, 0x22, 0x00, 0x50, 0x3a, 0x5c, 0x1b, 0x2e, 0x00, 0x00, 0x00, 0x00,
	0xa0, 0x02, 0xfa, 0xf0, 0x8d, 0x5c, 0x00, 0x00,
	0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x84, 0x1c, 0x26, 0x0c,
	0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
}

var (
	addrA = netip.MustParseAddr("10.0.0.1")
	addrB = netip.MustParseAddr("10.0.0.2")
)

// ipPacket builds an IPv4 packet by hand (not with Marshal): header with
// the given options, payload, and a checksum from refChecksum.
func ipPacket(opts []byte, flagsFrag uint16, proto uint8, payload []byte) []byte {
	hl := 20 + len(opts)
	b := make([]byte, hl+len(payload))
	b[0] = 0x40 | byte(hl/4)
	b[1] = 0x10
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	binary.BigEndian.PutUint16(b[4:], 0xbeef)
	binary.BigEndian.PutUint16(b[6:], flagsFrag)
	b[8] = 64
	b[9] = proto
	copy(b[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
	copy(b[20:], opts)
	copy(b[hl:], payload)
	binary.BigEndian.PutUint16(b[10:], refChecksum(b[:hl]))
	return b
}

// fixIPChecksum recomputes the header checksum of b after a test has
// damaged some other field.
func fixIPChecksum(b []byte) []byte {
	hl := int(b[0]&0x0f) * 4
	if hl < 20 || hl > len(b) {
		hl = 20
	}
	b[10], b[11] = 0, 0
	binary.BigEndian.PutUint16(b[10:], refChecksum(b[:hl]))
	return b
}

func TestParseIPv4(t *testing.T) {
	payload := []byte("hello, world")
	plain := ipPacket(nil, 0x4000, ProtoUDP, payload)
	withOpts := ipPacket([]byte{0x01, 0x01, 0x01, 0x00}, 0, ProtoUDP, payload) // IHL 6: NOP NOP NOP EOL
	padded := append(ipPacket(nil, 0, ProtoUDP, []byte{1, 2}), 0, 0, 0, 0, 0, 0)
	firstFrag := ipPacket(nil, 0x2000, ProtoUDP, payload)
	lastFrag := ipPacket(nil, 0x0000|185, ProtoUDP, payload) // offset 1480
	evil := ipPacket(nil, 0x8000, ProtoUDP, payload)         // reserved bit: not a fragment

	mod := func(b []byte, f func([]byte)) []byte {
		c := bytes.Clone(b)
		f(c)
		return c
	}

	tests := []struct {
		name      string
		in        []byte
		err       error
		hl        int
		payload   []byte
		options   []byte
		df, mf    bool
		fragOff   int
		fragment  bool
		trimmedTo int
	}{
		{name: "plain", in: plain, hl: 20, payload: payload, df: true},
		{name: "options IHL 6", in: withOpts, hl: 24, payload: payload, options: []byte{1, 1, 1, 0}},
		{name: "ethernet padding trimmed", in: padded, hl: 20, payload: []byte{1, 2}, trimmedTo: 22},
		{name: "first fragment", in: firstFrag, hl: 20, payload: payload, mf: true, fragment: true},
		{name: "last fragment", in: lastFrag, hl: 20, payload: payload, fragOff: 1480, fragment: true},
		{name: "reserved flag", in: evil, hl: 20, payload: payload},
		{name: "header only", in: ipPacket(nil, 0, ProtoTCP, nil), hl: 20, payload: []byte{}},

		{name: "empty", in: nil, err: ErrIPv4TooShort},
		{name: "19 bytes", in: plain[:19], err: ErrIPv4TooShort},
		{name: "version 6", in: fixIPChecksum(mod(plain, func(b []byte) { b[0] = 0x65 })), err: ErrIPv4Version},
		{name: "version 0", in: mod(plain, func(b []byte) { b[0] = 0x05 }), err: ErrIPv4Version},
		{name: "IHL 4", in: fixIPChecksum(mod(plain, func(b []byte) { b[0] = 0x44 })), err: ErrIPv4HeaderLen},
		{name: "IHL 0", in: mod(plain, func(b []byte) { b[0] = 0x40 }), err: ErrIPv4HeaderLen},
		{name: "IHL past end", in: mod(plain[:22], func(b []byte) { b[0] = 0x46 }), err: ErrIPv4HeaderLen},
		{name: "IHL 15 short packet", in: mod(plain, func(b []byte) { b[0] = 0x4f }), err: ErrIPv4HeaderLen},
		{name: "total length past end", in: fixIPChecksum(mod(plain, func(b []byte) { b[3]++ })), err: ErrIPv4TotalLen},
		{name: "total length below IHL", in: fixIPChecksum(mod(withOpts, func(b []byte) { b[2], b[3] = 0, 22 })), err: ErrIPv4TotalLen},
		{name: "total length zero", in: fixIPChecksum(mod(plain, func(b []byte) { b[2], b[3] = 0, 0 })), err: ErrIPv4TotalLen},
		{name: "bad checksum", in: mod(plain, func(b []byte) { b[11] ^= 1 }), err: ErrIPv4Checksum},
		{name: "bad checksum in options", in: mod(withOpts, func(b []byte) { b[23] = 1 }), err: ErrIPv4Checksum},
		{name: "bad TTL without checksum update", in: mod(plain, func(b []byte) { b[8]-- }), err: ErrIPv4Checksum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseIPv4(tt.in)
			if err != tt.err {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				if p != nil {
					t.Errorf("non-nil view with error")
				}
				return
			}
			want := tt.trimmedTo
			if want == 0 {
				want = len(tt.in)
			}
			if len(p) != want {
				t.Errorf("len = %d, want %d", len(p), want)
			}
			if p.Version() != 4 || p.HeaderLen() != tt.hl || p.TotalLen() != want {
				t.Errorf("version %d hl %d total %d", p.Version(), p.HeaderLen(), p.TotalLen())
			}
			if !bytes.Equal(p.Payload(), tt.payload) {
				t.Errorf("payload = % x, want % x", p.Payload(), tt.payload)
			}
			if !bytes.Equal(p.Options(), tt.options) {
				t.Errorf("options = % x, want % x", p.Options(), tt.options)
			}
			if p.DontFragment() != tt.df || p.MoreFragments() != tt.mf || p.FragmentOffset() != tt.fragOff || p.IsFragment() != tt.fragment {
				t.Errorf("DF %v MF %v offset %d fragment %v", p.DontFragment(), p.MoreFragments(), p.FragmentOffset(), p.IsFragment())
			}
			if p.Src() != addrA || p.Dst() != addrB {
				t.Errorf("src %v dst %v", p.Src(), p.Dst())
			}
			if p.TOS() != 0x10 || p.ID() != 0xbeef || p.TTL() != 64 || p.Protocol() != ProtoUDP && p.Protocol() != ProtoTCP {
				t.Errorf("tos %#x id %#x ttl %d proto %d", p.TOS(), p.ID(), p.TTL(), p.Protocol())
			}
			if p.HeaderChecksum() != binary.BigEndian.Uint16(tt.in[10:]) {
				t.Errorf("checksum %#x", p.HeaderChecksum())
			}
		})
	}
}

func TestParseIPv4RealSYN(t *testing.T) {
	p, err := ParseIPv4(realSYN)
	if err != nil {
		t.Fatal(err)
	}
	if p.Src() != netip.MustParseAddr("192.168.1.10") || p.Dst() != netip.MustParseAddr("93.184.216.34") {
		t.Errorf("addresses %v > %v", p.Src(), p.Dst())
	}
	if !p.DontFragment() || p.IsFragment() || p.TTL() != 64 || p.Protocol() != ProtoTCP || p.ID() != 0x1c46 {
		t.Errorf("header fields wrong")
	}
	if !VerifyTCPChecksum(p.Src(), p.Dst(), p.Payload()) {
		t.Errorf("TCP checksum does not verify")
	}
	if got := TCPChecksum(p.Src(), p.Dst(), p.Payload()); got != 0 {
		t.Errorf("TCPChecksum of valid segment = %#04x, want 0", got)
	}
	seg := bytes.Clone(p.Payload())
	SetTCPChecksum(p.Src(), p.Dst(), seg)
	if !bytes.Equal(seg, p.Payload()) {
		t.Errorf("SetTCPChecksum changed a correct segment: %#04x", binary.BigEndian.Uint16(seg[16:]))
	}
	seg[25] ^= 0x40 // flip a bit in the options
	if VerifyTCPChecksum(p.Src(), p.Dst(), seg) {
		t.Errorf("damaged segment verifies")
	}
	if VerifyTCPChecksum(p.Dst(), p.Src(), p.Payload()) == false {
		// Swapping the addresses leaves the sum unchanged: this is a
		// property of the checksum, not a bug, so it must verify.
		t.Errorf("swapped addresses do not verify")
	}
	if VerifyTCPChecksum(p.Src(), netip.MustParseAddr("93.184.216.35"), p.Payload()) {
		t.Errorf("wrong destination verifies")
	}
	want := "192.168.1.10:51234 > 93.184.216.34:80 [S] seq 979114798 win 64240 <mss 1460,sackOK,TS val 2216437260 ecr 0,nop,wscale 7>"
	if got := p.String(); got != want {
		t.Errorf("String:\n got %s\nwant %s", got, want)
	}
}

func TestIPv4SetTTL(t *testing.T) {
	p, err := ParseIPv4(bytes.Clone(realSYN))
	if err != nil {
		t.Fatal(err)
	}
	for _, ttl := range []uint8{63, 0, 255, 1, 64} {
		p.SetTTL(ttl)
		if p.TTL() != ttl {
			t.Errorf("TTL = %d, want %d", p.TTL(), ttl)
		}
		if _, err := ParseIPv4(p); err != nil {
			t.Errorf("after SetTTL(%d): %v", ttl, err)
		}
		if want := refChecksum(append(append([]byte{}, p[:10]...), p[12:20]...)); p.HeaderChecksum() != want {
			t.Errorf("SetTTL(%d): checksum %#04x, want %#04x", ttl, p.HeaderChecksum(), want)
		}
	}
	if !bytes.Equal(p, realSYN) {
		t.Errorf("TTL back to 64 but packet differs")
	}
}

func TestIPv4HeaderMarshal(t *testing.T) {
	tests := []IPv4Header{
		{TOS: 0, ID: 0x1c46, DontFragment: true, TTL: 64, Protocol: ProtoTCP,
			Src: netip.MustParseAddr("192.168.1.10"), Dst: netip.MustParseAddr("93.184.216.34"), PayloadLen: 40},
		{TTL: 1, Protocol: ProtoICMP, Src: addrA, Dst: addrB},
		{TOS: 0xff, ID: 0xffff, TTL: 255, Protocol: 255, Src: netip.MustParseAddr("255.255.255.255"),
			Dst: netip.MustParseAddr("::ffff:1.2.3.4"), PayloadLen: 65535 - 20},
	}
	for i, h := range tests {
		b := make([]byte, 20+h.PayloadLen)
		if n := h.Marshal(b); n != 20 {
			t.Fatalf("%d: Marshal returned %d", i, n)
		}
		p, err := ParseIPv4(b)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		got := IPv4Header{TOS: p.TOS(), ID: p.ID(), DontFragment: p.DontFragment(), TTL: p.TTL(),
			Protocol: p.Protocol(), Src: p.Src(), Dst: p.Dst(), PayloadLen: len(p.Payload())}
		want := h
		want.Dst = want.Dst.Unmap()
		if got != want {
			t.Errorf("%d: round trip\n got %+v\nwant %+v", i, got, want)
		}
		if p.IsFragment() || p.HeaderLen() != 20 {
			t.Errorf("%d: fragment %v hl %d", i, p.IsFragment(), p.HeaderLen())
		}
	}
	// The real SYN's header, rebuilt, is byte for byte the same.
	h := tests[0]
	b := make([]byte, 20)
	h.Marshal(b)
	if !bytes.Equal(b, realSYN[:20]) {
		t.Errorf("Marshal:\n got % x\nwant % x", b, realSYN[:20])
	}
	// Non-IPv4 addresses are written as 0.0.0.0 rather than panicking.
	h = IPv4Header{Src: netip.MustParseAddr("2001:db8::1"), TTL: 1}
	h.Marshal(b)
	if p, err := ParseIPv4(b); err != nil || p.Src() != netip.IPv4Unspecified() || p.Dst() != netip.IPv4Unspecified() {
		t.Errorf("IPv6 source: %v %v", p, err)
	}
	// Too short a buffer panics, as documented.
	func() {
		defer func() {
			if recover() == nil {
				t.Errorf("Marshal into 19 bytes did not panic")
			}
		}()
		h.Marshal(make([]byte, 19))
	}()
}

func TestIPv4String(t *testing.T) {
	udp := ipPacket(nil, 0, ProtoUDP, make([]byte, 28))
	echo := make([]byte, 64)
	MarshalEcho(echo, ICMPEchoRequest, 7, 1, make([]byte, 56))
	icmp := ipPacket(nil, 0, ProtoICMP, echo)
	badTCP := ipPacket(nil, 0, ProtoTCP, make([]byte, 10))
	frag := ipPacket(nil, 0x2000, ProtoUDP, make([]byte, 1480))
	frag2 := ipPacket(nil, 185, ProtoTCP, make([]byte, 100))
	tests := []struct {
		in   []byte
		want string
	}{
		{udp, "10.0.0.1 > 10.0.0.2 proto 17 length 28"},
		{icmp, "10.0.0.1 > 10.0.0.2 ICMP echo request id 7 seq 1 length 64"},
		{badTCP, "10.0.0.1 > 10.0.0.2 [bad tcp: segment shorter than 20 bytes]"},
		{frag, "10.0.0.1 > 10.0.0.2 proto 17 length 1480 (frag 48879:1480@0+)"},
		{frag2, "10.0.0.1 > 10.0.0.2 proto 6 length 100 (frag 48879:100@1480)"},
		{nil, "[bad ipv4: packet shorter than 20 bytes]"},
		{[]byte{0x60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, "[bad ipv4: version is not 4]"},
	}
	for _, tt := range tests {
		if got := IPv4(tt.in).String(); got != tt.want {
			t.Errorf("got  %s\nwant %s", got, tt.want)
		}
	}
}
