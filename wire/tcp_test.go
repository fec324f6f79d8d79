package wire

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// linuxSYNOpts are the options of a Linux SYN:
// <mss 1460,sackOK,TS val 2216437260 ecr 0,nop,wscale 7>.
var linuxSYNOpts = []byte{
	0x02, 0x04, 0x05, 0xb4, // mss 1460
	0x04, 0x02, // sackOK
	0x08, 0x0a, 0x84, 0x1c, 0x26, 0x0c, 0x00, 0x00, 0x00, 0x00, // TS val 2216437260 ecr 0
	0x01,             // nop
	0x03, 0x03, 0x07, // wscale 7
}

// tcpSegment builds a TCP segment by hand: fixed header, the option bytes
// padded with zeros to a multiple of 4, then the payload.
func tcpSegment(flags TCPFlags, opts, payload []byte) []byte {
	olen := (len(opts) + 3) &^ 3
	b := make([]byte, 20+olen+len(payload))
	binary.BigEndian.PutUint16(b[0:], 40000)
	binary.BigEndian.PutUint16(b[2:], 80)
	binary.BigEndian.PutUint32(b[4:], 1234)
	binary.BigEndian.PutUint32(b[8:], 5678)
	b[12] = byte((20+olen)/4) << 4
	b[13] = byte(flags)
	binary.BigEndian.PutUint16(b[14:], 65535)
	binary.BigEndian.PutUint16(b[16:], 0xabcd)
	binary.BigEndian.PutUint16(b[18:], 7)
	copy(b[20:], opts)
	copy(b[20+olen:], payload)
	return b
}

func TestParseTCP(t *testing.T) {
	syn := tcpSegment(FlagSYN, linuxSYNOpts, nil)
	data := tcpSegment(FlagACK|FlagPSH, nil, []byte("GET / HTTP/1.0\r\n\r\n"))
	tests := []struct {
		name    string
		in      []byte
		err     error
		hl      int
		payload int
	}{
		{"SYN with options", syn, nil, 40, 0},
		{"data", data, nil, 20, 18},
		{"header only", data[:20], nil, 20, 0},
		{"empty", nil, ErrTCPTooShort, 0, 0},
		{"19 bytes", data[:19], ErrTCPTooShort, 0, 0},
		{"offset 4", func() []byte { b := bytes.Clone(data); b[12] = 4 << 4; return b }(), ErrTCPDataOffset, 0, 0},
		{"offset 0", func() []byte { b := bytes.Clone(data); b[12] = 0; return b }(), ErrTCPDataOffset, 0, 0},
		{"offset past end", syn[:36], ErrTCPDataOffset, 0, 0},
		{"offset 15, 59 bytes", func() []byte { b := make([]byte, 59); b[12] = 0xf0; return b }(), ErrTCPDataOffset, 0, 0},
		{"offset 15, 60 bytes", func() []byte { b := make([]byte, 60); b[12] = 0xf0; return b }(), nil, 60, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seg, err := ParseTCP(tt.in)
			if err != tt.err {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if seg.HeaderLen() != tt.hl || len(seg.Payload()) != tt.payload || len(seg.Options()) != tt.hl-20 {
				t.Errorf("hl %d payload %d options %d", seg.HeaderLen(), len(seg.Payload()), len(seg.Options()))
			}
		})
	}

	seg, _ := ParseTCP(data)
	if seg.SrcPort() != 40000 || seg.DstPort() != 80 || seg.Seq() != 1234 || seg.Ack() != 5678 ||
		seg.Flags() != FlagACK|FlagPSH || seg.Window() != 65535 || seg.Checksum() != 0xabcd || seg.Urgent() != 7 {
		t.Errorf("accessors: %d %d %d %d %v %d %#x %d", seg.SrcPort(), seg.DstPort(), seg.Seq(), seg.Ack(),
			seg.Flags(), seg.Window(), seg.Checksum(), seg.Urgent())
	}
	// The reserved bits and the NS/AE bit of octet 12 are not flags.
	b := bytes.Clone(data)
	b[12] |= 0x0f
	b[13] = 0xff
	if seg, err := ParseTCP(b); err != nil || seg.Flags() != 0xff || seg.HeaderLen() != 20 {
		t.Errorf("all bits: flags %v hl %d err %v", seg.Flags(), seg.HeaderLen(), err)
	}
}

func TestParseOptions(t *testing.T) {
	sack := func(blocks ...uint32) []byte {
		b := []byte{OptNOP, OptNOP, OptSACK, byte(2 + 4*len(blocks))}
		for _, v := range blocks {
			b = binary.BigEndian.AppendUint32(b, v)
		}
		return b
	}
	ts := []byte{1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 8}
	tests := []struct {
		name string
		raw  []byte
		want TCPOptions
		err  error
	}{
		{"none", nil, TCPOptions{}, nil},
		{"linux SYN", linuxSYNOpts, TCPOptions{MSS: 1460, HasMSS: true, SACKPermitted: true,
			TSVal: 2216437260, HasTimestamps: true, WindowScale: 7, HasWindowScale: true}, nil},
		{"nop nop TS", ts, TCPOptions{TSVal: 9, TSEcr: 8, HasTimestamps: true}, nil},
		{"mss only", []byte{2, 4, 0x02, 0x18}, TCPOptions{MSS: 536, HasMSS: true}, nil},
		{"sack 1", sack(1000, 2000), TCPOptions{NumSACK: 1, SACKBlocks: [4]SACKBlock{{1000, 2000}}}, nil},
		{"sack 2", sack(1, 2, 3, 4), TCPOptions{NumSACK: 2, SACKBlocks: [4]SACKBlock{{1, 2}, {3, 4}}}, nil},
		{"sack 3 with TS", append(bytes.Clone(ts), sack(1, 2, 3, 4, 5, 6)...), TCPOptions{TSVal: 9, TSEcr: 8,
			HasTimestamps: true, NumSACK: 3, SACKBlocks: [4]SACKBlock{{1, 2}, {3, 4}, {5, 6}}}, nil},
		{"sack 4", sack(1, 2, 3, 4, 5, 6, 0xfffffff0, 0x10), TCPOptions{NumSACK: 4,
			SACKBlocks: [4]SACKBlock{{1, 2}, {3, 4}, {5, 6}, {0xfffffff0, 0x10}}}, nil},
		{"unknown skipped", []byte{30, 4, 0xaa, 0xbb, 2, 4, 0x05, 0xb4}, TCPOptions{MSS: 1460, HasMSS: true}, nil},
		{"unknown with length 2", []byte{253, 2, 3, 3, 14}, TCPOptions{WindowScale: 14, HasWindowScale: true}, nil},
		{"EOL stops", []byte{2, 4, 5, 0xb4, 0, 3, 3, 7}, TCPOptions{MSS: 1460, HasMSS: true}, nil},
		{"EOL then garbage", []byte{0, 2, 0, 0xff}, TCPOptions{}, nil},
		{"all NOP", []byte{1, 1, 1, 1}, TCPOptions{}, nil},
		{"window scale above 14 kept", []byte{3, 3, 15, 0}, TCPOptions{WindowScale: 15, HasWindowScale: true}, nil},
		{"last one wins", []byte{2, 4, 0, 1, 2, 4, 0, 2}, TCPOptions{MSS: 2, HasMSS: true}, nil},

		{"length 0", []byte{2, 0, 5, 0xb4}, TCPOptions{}, ErrTCPOptionLen},
		{"length 1", []byte{30, 1, 1, 1}, TCPOptions{}, ErrTCPOptionLen},
		{"length byte missing", []byte{1, 1, 1, 2}, TCPOptions{}, ErrTCPOptionLen},
		{"unknown length byte missing", []byte{99}, TCPOptions{}, ErrTCPOptionLen},
		{"overrun", []byte{2, 4, 5}, TCPOptions{}, ErrTCPOptionOverrun},
		{"unknown overrun", []byte{1, 30, 5, 0}, TCPOptions{}, ErrTCPOptionOverrun},
		{"TS overrun", []byte{1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0}, TCPOptions{}, ErrTCPOptionOverrun},
		{"mss length 3", []byte{2, 3, 5, 0}, TCPOptions{}, ErrTCPOptionBadLen},
		{"mss length 5", []byte{2, 5, 5, 0xb4, 0}, TCPOptions{}, ErrTCPOptionBadLen},
		{"wscale length 4", []byte{3, 4, 7, 0}, TCPOptions{}, ErrTCPOptionBadLen},
		{"sackOK length 3", []byte{4, 3, 0, 0}, TCPOptions{}, ErrTCPOptionBadLen},
		{"TS length 8", []byte{8, 8, 0, 0, 0, 0, 0, 0}, TCPOptions{}, ErrTCPOptionBadLen},
		{"sack no blocks", []byte{5, 2, 0, 0}, TCPOptions{}, ErrTCPOptionBadLen},
		{"sack length 9", []byte{5, 9, 0, 0, 0, 0, 0, 0, 0}, TCPOptions{}, ErrTCPOptionBadLen},
		{"sack 5 blocks", append([]byte{5, 42}, make([]byte, 40)...), TCPOptions{}, ErrTCPOptionBadLen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := TCPOptions{MSS: 9999, HasMSS: true, NumSACK: 3} // must be reset
			var err error
			if len(tt.raw)%4 == 0 && len(tt.raw) <= 40 {
				// Through a whole segment, as the engine does.
				seg, perr := ParseTCP(tcpSegment(FlagSYN, tt.raw, []byte("data")))
				if perr != nil {
					t.Fatal(perr)
				}
				err = seg.ParseOptions(&o)
			} else {
				err = o.Unmarshal(tt.raw)
			}
			if err != tt.err {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err == nil && o != tt.want {
				t.Errorf("got  %+v\nwant %+v", o, tt.want)
			}
		})
	}
}

// TestMarshalOptionsLayout checks the exact bytes of the Linux layouts.
func TestMarshalOptionsLayout(t *testing.T) {
	blocks := [4]SACKBlock{{1, 2}, {3, 4}, {5, 6}, {7, 8}}
	tests := []struct {
		name string
		o    TCPOptions
		want []byte
	}{
		{"empty", TCPOptions{}, nil},
		{"linux SYN", TCPOptions{MSS: 1460, HasMSS: true, SACKPermitted: true, TSVal: 2216437260, HasTimestamps: true,
			WindowScale: 7, HasWindowScale: true}, append(bytes.Clone(linuxSYNOpts[:16]), 1, 3, 3, 7)},
		{"SYN without sackOK", TCPOptions{MSS: 1460, HasMSS: true, TSVal: 1, HasTimestamps: true, WindowScale: 7, HasWindowScale: true},
			[]byte{2, 4, 5, 0xb4, 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7}},
		{"SYN without TS", TCPOptions{MSS: 1460, HasMSS: true, SACKPermitted: true, WindowScale: 7, HasWindowScale: true},
			[]byte{2, 4, 5, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7}},
		{"mss only", TCPOptions{MSS: 536, HasMSS: true}, []byte{2, 4, 2, 0x18}},
		{"TS", TCPOptions{TSVal: 2, TSEcr: 1, HasTimestamps: true}, []byte{1, 1, 8, 10, 0, 0, 0, 2, 0, 0, 0, 1}},
		{"TS and sack", TCPOptions{TSVal: 2, TSEcr: 1, HasTimestamps: true, NumSACK: 1, SACKBlocks: blocks},
			[]byte{1, 1, 8, 10, 0, 0, 0, 2, 0, 0, 0, 1, 1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2}},
		{"TS and 4 sacks: one dropped", TCPOptions{HasTimestamps: true, NumSACK: 4, SACKBlocks: blocks},
			[]byte{1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 5, 26, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6}},
		{"4 sacks", TCPOptions{NumSACK: 4, SACKBlocks: blocks},
			[]byte{1, 1, 5, 34, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0, 7, 0, 0, 0, 8}},
		{"everything: two sacks dropped", TCPOptions{MSS: 1, HasMSS: true, SACKPermitted: true, HasTimestamps: true,
			HasWindowScale: true, NumSACK: 4, SACKBlocks: blocks},
			[]byte{2, 4, 0, 1, 4, 2, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 3, 0, 1, 1, 5, 18, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4}},
		{"NumSACK out of range", TCPOptions{NumSACK: 200, SACKBlocks: blocks},
			[]byte{1, 1, 5, 34, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0, 7, 0, 0, 0, 8}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := tt.o.EncodedLen(); n != len(tt.want) {
				t.Errorf("EncodedLen = %d, want %d", n, len(tt.want))
			}
			b := make([]byte, 40)
			n := tt.o.Marshal(b)
			if !bytes.Equal(b[:n], tt.want) {
				t.Errorf("Marshal:\n got % x\nwant % x", b[:n], tt.want)
			}
		})
	}
}

// randomOptions returns random options with random fields present.
func randomOptions(r *rand.Rand) TCPOptions {
	var o TCPOptions
	if r.IntN(2) == 0 {
		o.MSS, o.HasMSS = uint16(r.Uint32()), true
	}
	if r.IntN(2) == 0 {
		o.WindowScale, o.HasWindowScale = uint8(r.IntN(15)), true
	}
	o.SACKPermitted = r.IntN(2) == 0
	if r.IntN(2) == 0 {
		o.TSVal, o.TSEcr, o.HasTimestamps = r.Uint32(), r.Uint32(), true
	}
	o.NumSACK = uint8(r.IntN(MaxSACKBlocks + 1))
	for i := range o.NumSACK {
		o.SACKBlocks[i] = SACKBlock{r.Uint32(), r.Uint32()}
	}
	return o
}

func TestTCPMarshalRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	buf := make([]byte, 60+100)
	for i := range 5000 {
		h := TCPHeader{
			SrcPort: uint16(r.Uint32()), DstPort: uint16(r.Uint32()),
			Seq: r.Uint32(), Ack: r.Uint32(), Flags: TCPFlags(r.IntN(256)),
			Window: uint16(r.Uint32()), Urgent: uint16(r.Uint32()),
		}
		o := randomOptions(r)
		var opts *TCPOptions
		if i%5 != 0 {
			opts = &o
		}
		for j := range buf {
			buf[j] = 0xee // Marshal must write every header byte
		}
		n := h.Marshal(buf, opts)
		wantLen := 20
		if opts != nil {
			wantLen += o.EncodedLen()
		}
		if n != wantLen || n%4 != 0 || n > 60 {
			t.Fatalf("Marshal = %d, want %d", n, wantLen)
		}
		payload := buf[n : n+r.IntN(100)]
		seg, err := ParseTCP(buf[:n+len(payload)])
		if err != nil {
			t.Fatal(err)
		}
		got := TCPHeader{seg.SrcPort(), seg.DstPort(), seg.Seq(), seg.Ack(), seg.Flags(), seg.Window(), seg.Urgent()}
		if got != h || seg.HeaderLen() != n || seg.Checksum() != 0 || len(seg.Payload()) != len(payload) {
			t.Fatalf("round trip:\n got %+v hl %d check %#x\nwant %+v hl %d", got, seg.HeaderLen(), seg.Checksum(), h, n)
		}
		var p TCPOptions
		if err := seg.ParseOptions(&p); err != nil {
			t.Fatalf("%+v: %v", o, err)
		}
		want := TCPOptions{}
		if opts != nil {
			want = o
			want.NumSACK = uint8(droppedTo(&o))
			for j := want.NumSACK; j < MaxSACKBlocks; j++ {
				want.SACKBlocks[j] = SACKBlock{}
			}
		}
		if p != want {
			t.Fatalf("options round trip:\n got %+v\nwant %+v", p, want)
		}
	}
}

// droppedTo returns how many SACK blocks of o fit, computed the long way.
func droppedTo(o *TCPOptions) int {
	base := 0
	if o.HasMSS {
		base += 4
	}
	if o.HasTimestamps {
		base += 12
	} else if o.SACKPermitted {
		base += 4
	}
	if o.HasWindowScale {
		base += 4
	}
	n := int(o.NumSACK)
	for n > 0 && base+4+8*n > 40 {
		n--
	}
	return n
}

func TestTCPMarshalLinuxSYN(t *testing.T) {
	p, _ := ParseIPv4(realSYN)
	h := TCPHeader{SrcPort: 51234, DstPort: 80, Seq: 0x3a5c1b2e, Flags: FlagSYN, Window: 64240}
	o := TCPOptions{MSS: 1460, HasMSS: true, SACKPermitted: true, TSVal: 2216437260, HasTimestamps: true,
		WindowScale: 7, HasWindowScale: true}
	b := make([]byte, 60)
	n := h.Marshal(b, &o)
	SetTCPChecksum(p.Src(), p.Dst(), b[:n])
	if !bytes.Equal(b[:n], p.Payload()) {
		t.Errorf("Marshal:\n got % x\nwant % x", b[:n], p.Payload())
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Errorf("Marshal into a short buffer did not panic")
			}
		}()
		h.Marshal(b[:39], &o)
	}()
}
