package wire

import (
	"testing"
)

func TestZeroAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts are not meaningful under -short")
	}
	pkt := make([]byte, 1500)
	copy(pkt, realSYN)
	syn := realSYN
	seg := TCP(realSYN[20:])
	icmp := make([]byte, 64)
	MarshalEcho(icmp, ICMPEchoRequest, 1, 1, make([]byte, 56))
	synOpts := TCPOptions{MSS: 1460, HasMSS: true, SACKPermitted: true, HasTimestamps: true, HasWindowScale: true, WindowScale: 7}
	ackOpts := TCPOptions{HasTimestamps: true, NumSACK: 3}
	src, dst := addrA, addrB
	out := make([]byte, 0, 256)

	var sink uint32
	tests := []struct {
		name string
		f    func()
	}{
		{"ParseIPv4", func() { _, _ = ParseIPv4(syn) }},
		{"ParseIPv4 error", func() { _, _ = ParseIPv4(syn[:10]) }},
		{"ParseTCP", func() { _, _ = ParseTCP(seg) }},
		{"ParseOptions", func() {
			var o TCPOptions
			_ = seg.ParseOptions(&o)
		}},
		{"ParseOptions error", func() {
			var o TCPOptions
			_ = o.Unmarshal([]byte{2, 4, 5})
		}},
		{"ParseICMPv4", func() { _, _ = ParseICMPv4(icmp) }},
		{"Sum", func() { sink += Sum(pkt, 0) }},
		{"PseudoHeaderSum", func() { sink += PseudoHeaderSum(src, dst, ProtoTCP, 40) }},
		{"VerifyTCPChecksum", func() { _ = VerifyTCPChecksum(src, dst, seg) }},
		{"UpdateChecksum", func() { sink += uint32(UpdateChecksum32(UpdateChecksum(1, 2, 3), 4, 5)) }},
		{"IPv4Header.Marshal", func() {
			h := IPv4Header{TTL: 64, Protocol: ProtoTCP, Src: src, Dst: dst, PayloadLen: 40}
			h.Marshal(pkt)
		}},
		{"TCPHeader.Marshal", func() {
			h := TCPHeader{SrcPort: 1, DstPort: 2, Flags: FlagSYN}
			h.Marshal(pkt[20:], &synOpts)
			h.Marshal(pkt[20:], &ackOpts)
			h.Marshal(pkt[20:], nil)
		}},
		{"SetTCPChecksum", func() { SetTCPChecksum(src, dst, pkt[20:60]) }},
		{"MarshalEcho", func() { MarshalEcho(pkt, ICMPEchoReply, 1, 2, pkt[8:64]) }},
		{"MarshalDestUnreachable", func() { MarshalDestUnreachable(pkt[100:], CodePortUnreachable, pkt[:60]) }},
		{"IPv4 accessors", func() {
			p := IPv4(syn)
			sink += uint32(p.TTL()) + uint32(len(p.Payload())) + uint32(p.FragmentOffset())
			if p.Src() == p.Dst() {
				sink++
			}
		}},
		{"AppendOptions", func() { out = AppendOptions(out[:0], seg.Options()) }},
		{"AppendTCPSummary", func() {
			out = AppendTCPSummary(out[:0], FlagSYN|FlagACK, 1, 2, 3, 4, seg.Options())
		}},
	}
	for _, tt := range tests {
		if n := testing.AllocsPerRun(100, tt.f); n != 0 {
			t.Errorf("%s: %v allocs, want 0", tt.name, n)
		}
	}
	_ = sink
}
