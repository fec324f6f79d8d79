package wire

import (
	"bytes"
	"testing"
)

func TestParseICMPv4(t *testing.T) {
	echo := make([]byte, 64)
	n := MarshalEcho(echo, ICMPEchoRequest, 7, 1, []byte("0123456789abcdef0123456789abcdef0123456789abcdef01234567"))
	if n != 64 {
		t.Fatalf("MarshalEcho = %d, want 64", n)
	}
	if refChecksum(echo) != 0 {
		t.Fatalf("echo checksum does not verify by reference")
	}
	odd := make([]byte, 9)
	MarshalEcho(odd, ICMPEchoReply, 0xffff, 0xfffe, []byte{0xab})

	tests := []struct {
		name string
		in   []byte
		err  error
	}{
		{"echo", echo, nil},
		{"odd length", odd, nil},
		{"header only", func() []byte { b := make([]byte, 8); MarshalEcho(b, ICMPEchoRequest, 1, 2, nil); return b }(), nil},
		{"empty", nil, ErrICMPTooShort},
		{"7 bytes", echo[:7], ErrICMPTooShort},
		{"bad checksum", func() []byte { b := bytes.Clone(echo); b[63] ^= 0x80; return b }(), ErrICMPChecksum},
		{"truncated", echo[:63], ErrICMPChecksum},
	}
	for _, tt := range tests {
		if _, err := ParseICMPv4(tt.in); err != tt.err {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.err)
		}
	}

	m, _ := ParseICMPv4(echo)
	if m.Type() != ICMPEchoRequest || m.Code() != 0 || m.ID() != 7 || m.Seq() != 1 || len(m.Payload()) != 56 ||
		m.Original() != nil || m.Checksum() != Checksum(append([]byte{8, 0, 0, 0}, echo[4:]...)) {
		t.Errorf("echo accessors: type %d code %d id %d seq %d payload %d", m.Type(), m.Code(), m.ID(), m.Seq(), len(m.Payload()))
	}
	m, _ = ParseICMPv4(odd)
	if m.Type() != ICMPEchoReply || m.ID() != 0xffff || m.Seq() != 0xfffe || !bytes.Equal(m.Payload(), []byte{0xab}) {
		t.Errorf("odd echo accessors")
	}
}

func TestMarshalEchoInPlace(t *testing.T) {
	// A reply built over its request, as a host answers a ping.
	req := make([]byte, 8+32)
	for i := 8; i < len(req); i++ {
		req[i] = byte(i)
	}
	MarshalEcho(req, ICMPEchoRequest, 42, 3, bytes.Clone(req[8:]))
	want := bytes.Clone(req[8:])
	m, _ := ParseICMPv4(req)
	n := MarshalEcho(req, ICMPEchoReply, m.ID(), m.Seq(), m.Payload())
	r, err := ParseICMPv4(req[:n])
	if err != nil || r.Type() != ICMPEchoReply || r.ID() != 42 || r.Seq() != 3 || !bytes.Equal(r.Payload(), want) {
		t.Errorf("in-place reply: %v %v", r, err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Errorf("MarshalEcho into a short buffer did not panic")
			}
		}()
		MarshalEcho(make([]byte, 10), ICMPEchoRequest, 1, 1, make([]byte, 3))
	}()
}

func TestMarshalDestUnreachable(t *testing.T) {
	// The original: a UDP datagram with 4 bytes of IP options.
	udp := []byte{0x9c, 0x40, 0x00, 0x35, 0x00, 0x20, 0x12, 0x34, 'p', 'a', 'y', 'l', 'o', 'a', 'd'}
	orig := ipPacket([]byte{1, 1, 1, 0}, 0, ProtoUDP, udp)

	tests := []struct {
		name  string
		code  uint8
		orig  []byte
		quote int
		str   string
	}{
		{"port", CodePortUnreachable, orig, 24 + 8, "ICMP 10.0.0.2 udp port 53 unreachable length 40"},
		{"host", CodeHostUnreachable, orig, 32, "ICMP host 10.0.0.2 unreachable length 40"},
		{"net", CodeNetUnreachable, orig, 32, "ICMP net 10.0.0.2 unreachable length 40"},
		{"protocol", CodeProtocolUnreachable, orig, 32, "ICMP 10.0.0.2 protocol 17 unreachable length 40"},
		{"admin", CodeAdminProhibited, orig, 32, "ICMP host 10.0.0.2 unreachable - admin prohibited filter length 40"},
		{"frag", CodeFragNeeded, orig, 32, "ICMP 10.0.0.2 unreachable - need to frag (mtu 0) length 40"},
		{"other code", 9, orig, 32, "ICMP 10.0.0.2 unreachable code 9 length 40"},
		{"short original", CodePortUnreachable, orig[:26], 26, "ICMP 10.0.0.2 udp port unreachable length 34"},
		{"garbage original", CodePortUnreachable, []byte{1, 2, 3}, 3, "ICMP port unreachable length 11"},
		{"no original", CodeHostUnreachable, nil, 0, "ICMP host unreachable length 8"},
		{"long non-IP original", CodePortUnreachable, make([]byte, 100), 28, "ICMP port unreachable length 36"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := make([]byte, 8+tt.quote)
			n := MarshalDestUnreachable(b, tt.code, tt.orig)
			if n != 8+tt.quote {
				t.Fatalf("n = %d, want %d", n, 8+tt.quote)
			}
			m, err := ParseICMPv4(b[:n])
			if err != nil {
				t.Fatal(err)
			}
			if m.Type() != ICMPDestUnreachable || m.Code() != tt.code || !bytes.Equal(m.Original(), tt.orig[:tt.quote]) {
				t.Errorf("type %d code %d original % x", m.Type(), m.Code(), m.Original())
			}
			if got := m.String(); got != tt.str {
				t.Errorf("String\n got %s\nwant %s", got, tt.str)
			}
		})
	}

	// Frag needed, with the MTU set afterwards (RFC 1191).
	b := make([]byte, 64)
	n := MarshalDestUnreachable(b, CodeFragNeeded, orig)
	m := ICMPv4(b[:n])
	m.SetNextHopMTU(1400)
	if _, err := ParseICMPv4(m); err != nil || m.NextHopMTU() != 1400 {
		t.Errorf("SetNextHopMTU: mtu %d, %v", m.NextHopMTU(), err)
	}
	if got, want := m.String(), "ICMP 10.0.0.2 unreachable - need to frag (mtu 1400) length 40"; got != want {
		t.Errorf("String\n got %s\nwant %s", got, want)
	}

	// Built in place over the original, as a stack that reuses its buffer.
	buf := make([]byte, 100)
	copy(buf, orig)
	n = MarshalDestUnreachable(buf, CodePortUnreachable, buf[:len(orig)])
	if m, err := ParseICMPv4(buf[:n]); err != nil || !bytes.Equal(m.Original(), orig[:32]) {
		t.Errorf("in place: %v, original % x", err, m.Original())
	}
}

func TestICMPv4String(t *testing.T) {
	mk := func(typ, code uint8, n int) ICMPv4 {
		b := make([]byte, n)
		b[0], b[1] = typ, code
		return b
	}
	tests := []struct {
		m    ICMPv4
		want string
	}{
		{mk(ICMPEchoReply, 0, 64), "ICMP echo reply id 0 seq 0 length 64"},
		{mk(ICMPTimeExceeded, 0, 36), "ICMP time exceeded in-transit length 36"},
		{mk(ICMPTimeExceeded, 1, 36), "ICMP ip reassembly time exceeded length 36"},
		{mk(ICMPTimeExceeded, 7, 36), "ICMP time exceeded code 7 length 36"},
		{mk(13, 0, 20), "ICMP type 13 code 0 length 20"},
		{mk(0, 0, 7)[:7], "[bad icmpv4: message shorter than 8 bytes]"},
	}
	for _, tt := range tests {
		if got := tt.m.String(); got != tt.want {
			t.Errorf("got  %s\nwant %s", got, tt.want)
		}
	}
	if mk(ICMPTimeExceeded, 0, 36).Original() == nil || mk(ICMPParameterProblem, 0, 36).Original() == nil {
		t.Errorf("Original is nil for an error message")
	}
}
