package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// checkSentinel fails unless err is nil or one of the parse sentinels.
func checkSentinel(t *testing.T, err error, layer Layer) {
	t.Helper()
	if err == nil {
		return
	}
	var e *Error
	if !errors.As(err, &e) || e.Layer != layer || int(e.Reason) >= NumReasons {
		t.Fatalf("error %v is not a %v sentinel", err, layer)
	}
	for _, s := range allErrors {
		if s == e {
			return
		}
	}
	t.Fatalf("error %v is not a pre-allocated sentinel", err)
}

func FuzzParseIPv4(f *testing.F) {
	f.Add(realSYN)
	f.Add(ipPacket([]byte{1, 1, 1, 0}, 0, ProtoUDP, []byte("payload")))
	f.Add(ipPacket(nil, 0x2000, ProtoTCP, make([]byte, 24)))
	f.Add(ipPacket(nil, 185, ProtoTCP, make([]byte, 8)))
	f.Add(append(ipPacket(nil, 0, ProtoICMP, []byte{8, 0, 0xf7, 0xff, 0, 0, 0, 0}), 0, 0, 0))
	f.Add(ipPacket(nil, 0, ProtoICMP, []byte{3, 3, 0, 0, 0, 0, 0, 0, 0x45}))
	f.Add(ipPacket(nil, 0, ProtoTCP, []byte{1, 2, 3}))
	f.Add([]byte{0x4f})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = IPv4(data).String()
		p, err := ParseIPv4(data)
		checkSentinel(t, err, LayerIPv4)
		if err != nil {
			return
		}
		if p.Version() != 4 || p.HeaderLen() < 20 || p.HeaderLen() > p.TotalLen() || p.TotalLen() != len(p) {
			t.Fatalf("inconsistent view: hl %d total %d len %d", p.HeaderLen(), p.TotalLen(), len(p))
		}
		if len(p.Options())+len(p.Payload())+20 != len(p) {
			t.Fatalf("options %d + payload %d + 20 != %d", len(p.Options()), len(p.Payload()), len(p))
		}
		_ = p.Src().String() + p.Dst().String()
		_, _, _, _ = p.TOS(), p.ID(), p.TTL(), p.Protocol()
		_, _, _, _ = p.DontFragment(), p.MoreFragments(), p.FragmentOffset(), p.IsFragment()
		_ = p.String()

		// Rewriting the TTL keeps the header valid (RFC 1624).
		c := IPv4(bytes.Clone(p))
		c.SetTTL(c.TTL() - 1)
		if _, err := ParseIPv4(c); err != nil {
			t.Fatalf("after SetTTL: %v", err)
		}
	})
}

func FuzzParseTCP(f *testing.F) {
	f.Add(realSYN[20:])
	f.Add(tcpSegment(FlagACK, []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1, 5, 18, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4}, []byte("data")))
	f.Add(tcpSegment(FlagSYN, []byte{2, 4, 5, 0xb4, 30, 4, 0xca, 0xfe, 1, 0, 0, 0}, nil))
	f.Add(tcpSegment(FlagSYN, []byte{2, 0, 5, 0xb4}, nil))
	f.Add(tcpSegment(FlagSYN, []byte{1, 1, 1, 2}, nil))
	f.Add(tcpSegment(FlagSYN, []byte{2, 4, 5, 0xb4, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 5, 26, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6}, nil))
	f.Add(tcpSegment(FlagSYN, []byte{5, 34, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 2, 4, 0, 1}, nil))
	f.Add(tcpSegment(FlagSYN|FlagACK|FlagURG, []byte{3, 3, 15, 0}, []byte{1}))
	f.Add([]byte{0, 1, 0, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = FormatTCP(addrA, addrB, TCP(data))
		_ = TCP(data).String()
		_ = AppendOptions(nil, data)
		_ = VerifyTCPChecksum(addrA, addrB, data)

		seg, err := ParseTCP(data)
		checkSentinel(t, err, LayerTCP)
		if err != nil {
			return
		}
		if seg.HeaderLen() < 20 || seg.HeaderLen() > len(seg) || len(seg.Options())+len(seg.Payload())+20 != len(seg) {
			t.Fatalf("inconsistent view: hl %d len %d", seg.HeaderLen(), len(seg))
		}
		_, _, _, _, _, _, _, _ = seg.SrcPort(), seg.DstPort(), seg.Seq(), seg.Ack(), seg.Flags(), seg.Window(), seg.Checksum(), seg.Urgent()

		var o TCPOptions
		err = seg.ParseOptions(&o)
		checkSentinel(t, err, LayerTCP)
		rendered := string(AppendOptions(nil, seg.Options()))
		if (err != nil) != strings.HasPrefix(rendered, "<bad opts: ") {
			t.Fatalf("ParseOptions error %v but AppendOptions says %s", err, rendered)
		}
		if err != nil {
			return
		}
		if o.NumSACK > MaxSACKBlocks {
			t.Fatalf("NumSACK %d", o.NumSACK)
		}

		// Re-encode the options, with the header, and parse them again.
		// Everything survives except SACK blocks that no longer fit
		// beside the other options once padded the Linux way.
		h := TCPHeader{seg.SrcPort(), seg.DstPort(), seg.Seq(), seg.Ack(), seg.Flags(), seg.Window(), seg.Urgent()}
		buf := make([]byte, 60)
		n := h.Marshal(buf, &o)
		if n != 20+o.EncodedLen() || n%4 != 0 || n > 60 {
			t.Fatalf("Marshal = %d, EncodedLen %d", n, o.EncodedLen())
		}
		seg2, err := ParseTCP(buf[:n])
		if err != nil {
			t.Fatal(err)
		}
		var o2 TCPOptions
		if err := seg2.ParseOptions(&o2); err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		want := o
		want.NumSACK = uint8(droppedTo(&o))
		for i := want.NumSACK; i < MaxSACKBlocks; i++ {
			want.SACKBlocks[i] = SACKBlock{}
		}
		if o2 != want {
			t.Fatalf("options round trip\n got %+v\nwant %+v", o2, want)
		}
		got := TCPHeader{seg2.SrcPort(), seg2.DstPort(), seg2.Seq(), seg2.Ack(), seg2.Flags(), seg2.Window(), seg2.Urgent()}
		if got != h {
			t.Fatalf("header round trip\n got %+v\nwant %+v", got, h)
		}
		// Checksums set by SetTCPChecksum verify.
		whole := append(buf[:n:n], seg.Payload()...)
		SetTCPChecksum(addrA, addrB, whole)
		if !VerifyTCPChecksum(addrA, addrB, whole) {
			t.Fatalf("SetTCPChecksum result does not verify")
		}
	})
}

func FuzzParseICMPv4(f *testing.F) {
	echo := make([]byte, 16)
	MarshalEcho(echo, ICMPEchoRequest, 7, 1, []byte("abcdefgh"))
	f.Add(echo)
	unreach := make([]byte, 64)
	n := MarshalDestUnreachable(unreach, CodePortUnreachable, realSYN)
	f.Add(unreach[:n])
	n = MarshalDestUnreachable(unreach, CodeFragNeeded, realSYN)
	ICMPv4(unreach[:n]).SetNextHopMTU(1280)
	f.Add(unreach[:n])
	f.Add([]byte{11, 0, 0xf4, 0xff, 0, 0, 0, 0})
	f.Add([]byte{3, 3, 0, 0, 0, 0, 0, 0, 0x4f})
	f.Add([]byte{8, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = ICMPv4(data).String()
		m, err := ParseICMPv4(data)
		checkSentinel(t, err, LayerICMPv4)
		if err != nil {
			return
		}
		_, _, _, _, _, _ = m.Type(), m.Code(), m.Checksum(), m.ID(), m.Seq(), m.NextHopMTU()
		if len(m.Payload()) != len(m)-8 {
			t.Fatalf("payload %d of %d", len(m.Payload()), len(m))
		}
		if o := m.Original(); o != nil {
			_ = IPv4(o).String()
		}

		// Echo it back, and quote it in an error: both parse.
		buf := make([]byte, 8+len(data))
		n := MarshalEcho(buf, ICMPEchoReply, m.ID(), m.Seq(), m.Payload())
		if r, err := ParseICMPv4(buf[:n]); err != nil || !bytes.Equal(r.Payload(), m.Payload()) {
			t.Fatalf("echo reply: %v", err)
		}
		n = MarshalDestUnreachable(buf, m.Code(), data)
		if _, err := ParseICMPv4(buf[:n]); err != nil {
			t.Fatalf("dest unreachable: %v", err)
		}
	})
}

func FuzzChecksum(f *testing.F) {
	f.Add([]byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}, uint16(4), uint16(1), uint16(0xffff))
	f.Add(realSYN, uint16(20), uint16(4), uint16(0))
	f.Add([]byte{0xff, 0xff, 0xff}, uint16(2), uint16(1), uint16(0))
	f.Add(bytes.Repeat([]byte{0xff}, 1500), uint16(1000), uint16(100), uint16(1))
	f.Add([]byte{}, uint16(0), uint16(0), uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, split, word, newv uint16) {
		whole := Sum(data, 0)
		if got, want := Fold(whole), refChecksum(data); got != want {
			t.Fatalf("Checksum = %#04x, reference %#04x", got, want)
		}
		// Chained sums over even split points equal the whole.
		s := int(split) % (len(data) + 1) &^ 1
		if got, want := Fold(Sum(data[s:], Sum(data[:s], 0))), Fold(whole); got != want {
			t.Fatalf("split at %d: %#04x, want %#04x", s, got, want)
		}

		// Treat word 0 as a checksum field, change another word, and
		// compare the incremental update with a recompute.
		if len(data) < 4 {
			return
		}
		b := bytes.Clone(data[:len(data)&^1])
		b[0], b[1] = 0, 0
		binary.BigEndian.PutUint16(b, refChecksum(b))
		w := 2 * (1 + int(word)%(len(b)/2-1))
		old := binary.BigEndian.Uint16(b[w:])
		binary.BigEndian.PutUint16(b[w:], newv)
		check := UpdateChecksum(binary.BigEndian.Uint16(b), old, newv)
		compareUpdate(t, b, check)
		binary.BigEndian.PutUint16(b, check)
		if len(b) >= 8 {
			w32 := 4 * (1 + int(word)%(len(b)/4-1))
			old32 := binary.BigEndian.Uint32(b[w32:])
			new32 := uint32(newv)<<16 | uint32(split)
			binary.BigEndian.PutUint32(b[w32:], new32)
			compareUpdate(t, b, UpdateChecksum32(binary.BigEndian.Uint16(b), old32, new32))
		}
	})
}
