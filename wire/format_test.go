package wire

import (
	"net/netip"
	"testing"
)

// build marshals a segment with h and o and the given payload length.
func build(h TCPHeader, o *TCPOptions, payload int) TCP {
	b := make([]byte, 60+payload)
	n := h.Marshal(b, o)
	return TCP(b[:n+payload])
}

func TestFormatTCP(t *testing.T) {
	synOpts := &TCPOptions{MSS: 1460, HasMSS: true, SACKPermitted: true, TSVal: 1, HasTimestamps: true,
		WindowScale: 7, HasWindowScale: true}
	v6a, v6b := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	tests := []struct {
		src, dst netip.Addr
		seg      TCP
		want     string
	}{
		{addrA, addrB, build(TCPHeader{SrcPort: 40000, DstPort: 80, Seq: 1234, Flags: FlagSYN, Window: 65535}, synOpts, 0),
			"10.0.0.1:40000 > 10.0.0.2:80 [S] seq 1234 win 65535 <mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>"},
		{addrB, addrA, build(TCPHeader{SrcPort: 80, DstPort: 40000, Seq: 5000, Ack: 1235, Flags: FlagSYN | FlagACK, Window: 65535},
			&TCPOptions{MSS: 1460, HasMSS: true}, 0),
			"10.0.0.2:80 > 10.0.0.1:40000 [S.] seq 5000 ack 1235 win 65535 <mss 1460>"},
		{addrA, addrB, build(TCPHeader{SrcPort: 40000, DstPort: 80, Seq: 1235, Ack: 5001, Flags: FlagPSH | FlagACK, Window: 502}, nil, 100),
			"10.0.0.1:40000 > 10.0.0.2:80 [P.] seq 1235 ack 5001 win 502 length 100"},
		{addrA, addrB, build(TCPHeader{SrcPort: 40000, DstPort: 80, Seq: 1, Ack: 99, Window: 502}, nil, 0),
			"10.0.0.1:40000 > 10.0.0.2:80 [none] seq 1 win 502"},
		{addrA, addrB, build(TCPHeader{SrcPort: 1, DstPort: 2, Seq: 7, Ack: 8, Flags: FlagACK, Window: 9},
			&TCPOptions{TSVal: 2, TSEcr: 1, HasTimestamps: true, NumSACK: 2, SACKBlocks: [4]SACKBlock{{1000, 2000}, {3000, 4000}}}, 0),
			"10.0.0.1:1 > 10.0.0.2:2 [.] seq 7 ack 8 win 9 <nop,nop,TS val 2 ecr 1,nop,nop,sack 2 {1000:2000}{3000:4000}>"},
		{addrA, addrB, build(TCPHeader{SrcPort: 1, DstPort: 2, Seq: 7, Ack: 8, Flags: FlagACK | FlagFIN, Window: 9},
			&TCPOptions{NumSACK: 1, SACKBlocks: [4]SACKBlock{{1000, 2000}}}, 0),
			"10.0.0.1:1 > 10.0.0.2:2 [F.] seq 7 ack 8 win 9 <nop,nop,sack 1 {1000:2000}>"},
		{addrA, addrB, build(TCPHeader{SrcPort: 1, DstPort: 2, Seq: 4294967295, Flags: FlagRST, Window: 0}, nil, 0),
			"10.0.0.1:1 > 10.0.0.2:2 [R] seq 4294967295 win 0"},
		{addrA, addrB, build(TCPHeader{SrcPort: 1, DstPort: 2, Seq: 1, Ack: 2, Flags: FlagURG | FlagACK | FlagPSH, Window: 3, Urgent: 4}, nil, 5),
			"10.0.0.1:1 > 10.0.0.2:2 [P.U] seq 1 ack 2 win 3 length 5 urg 4"},
		{addrA, addrB, build(TCPHeader{SrcPort: 1, DstPort: 2, Seq: 1, Flags: FlagSYN | FlagECE | FlagCWR, Window: 3}, nil, 0),
			"10.0.0.1:1 > 10.0.0.2:2 [SEW] seq 1 win 3"},
		{v6a, v6b, build(TCPHeader{SrcPort: 443, DstPort: 5555, Seq: 1, Flags: FlagSYN, Window: 3}, nil, 0),
			"[2001:db8::1]:443 > [2001:db8::2]:5555 [S] seq 1 win 3"},
		{addrA, addrB, TCP(tcpSegment(FlagSYN, []byte{2, 4, 5, 0xb4, 30, 4, 0xca, 0xfe, 1, 0, 0, 0}, nil)),
			"10.0.0.1:40000 > 10.0.0.2:80 [S] seq 1234 win 65535 <mss 1460,opt-30:cafe,nop,eol>"},
		{addrA, addrB, TCP(tcpSegment(FlagSYN, []byte{2, 3, 5, 0}, nil)),
			"10.0.0.1:40000 > 10.0.0.2:80 [S] seq 1234 win 65535 <bad opts: wrong length for option kind>"},
		{addrA, addrB, TCP(tcpSegment(FlagSYN, []byte{1, 1, 1, 30}, nil)),
			"10.0.0.1:40000 > 10.0.0.2:80 [S] seq 1234 win 65535 <bad opts: option length missing or below 2>"},
		{addrA, addrB, TCP([]byte{1, 2, 3}), "10.0.0.1 > 10.0.0.2 [bad tcp: segment shorter than 20 bytes]"},
	}
	for _, tt := range tests {
		if got := FormatTCP(tt.src, tt.dst, tt.seg); got != tt.want {
			t.Errorf("FormatTCP\n got %s\nwant %s", got, tt.want)
		}
	}
	seg := tests[0].seg
	if got, want := seg.String(), "40000 > 80 [S] seq 1234 win 65535 <mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>"; got != want {
		t.Errorf("String\n got %s\nwant %s", got, want)
	}
	if got, want := TCP(nil).String(), "[bad tcp: segment shorter than 20 bytes]"; got != want {
		t.Errorf("String\n got %s\nwant %s", got, want)
	}
}

func TestAppendOptions(t *testing.T) {
	tests := []struct {
		raw  []byte
		want string
	}{
		{nil, ""},
		{[]byte{}, ""},
		{linuxSYNOpts, "<mss 1460,sackOK,TS val 2216437260 ecr 0,nop,wscale 7>"},
		{[]byte{0}, "<eol>"},
		{[]byte{1, 1, 1, 1}, "<nop,nop,nop,nop>"},
		{[]byte{0, 0xff, 0xff}, "<eol>"},
		{[]byte{253, 2}, "<opt-253>"},
		{[]byte{5, 34, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0},
			"<sack 4 {1:2}{3:4}{5:6}{4294967295:0}>"},
		{[]byte{2, 0}, "<bad opts: option length missing or below 2>"},
		{[]byte{2, 1}, "<bad opts: option length missing or below 2>"},
		{[]byte{2, 40, 0}, "<bad opts: option runs past header>"},
		{[]byte{3, 4, 7, 0}, "<bad opts: wrong length for option kind>"},
	}
	for _, tt := range tests {
		if got := string(AppendOptions([]byte("x"), tt.raw)); got != "x"+tt.want {
			t.Errorf("AppendOptions(% x)\n got %s\nwant x%s", tt.raw, got, tt.want)
		}
	}
}

func TestAppendTCPSummary(t *testing.T) {
	tests := []struct {
		flags  TCPFlags
		seq    uint32
		ack    uint32
		win    uint16
		length int
		opts   []byte
		want   string
	}{
		{FlagSYN | FlagACK, 5000, 1235, 65535, 0, []byte{2, 4, 5, 0xb4}, "[S.] seq 5000 ack 1235 win 65535 <mss 1460>"},
		{FlagACK, 1235, 5001, 502, 100, nil, "[.] seq 1235 ack 5001 win 502 length 100"},
		{FlagFIN | FlagACK, 1, 2, 3, 0, nil, "[F.] seq 1 ack 2 win 3"},
		{FlagSYN, 1, 999, 3, 0, nil, "[S] seq 1 win 3"},
	}
	for _, tt := range tests {
		if got := string(AppendTCPSummary(nil, tt.flags, tt.seq, tt.ack, tt.win, tt.length, tt.opts)); got != tt.want {
			t.Errorf("got  %s\nwant %s", got, tt.want)
		}
	}
}

func TestTCPFlagsString(t *testing.T) {
	// The letters and their order are tcpdump's (print-tcp.c).
	tests := []struct {
		f    TCPFlags
		want string
	}{
		{0, "none"},
		{FlagSYN, "S"},
		{FlagSYN | FlagACK, "S."},
		{FlagACK, "."},
		{FlagPSH | FlagACK, "P."},
		{FlagFIN | FlagACK, "F."},
		{FlagRST | FlagACK, "R."},
		{FlagSYN | FlagECE | FlagCWR, "SEW"},
		{FlagSYN | FlagACK | FlagECE, "S.E"},
		{FlagURG | FlagACK, ".U"},
		{0xff, "FSRP.UEW"},
	}
	for _, tt := range tests {
		if got := tt.f.String(); got != tt.want {
			t.Errorf("%#x: %q, want %q", uint16(tt.f), got, tt.want)
		}
	}
}
