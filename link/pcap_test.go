package link

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"time"
)

// ipPkt is a stand-in IPv4 packet: only its version nibble matters to the
// reader.
var ipPkt = []byte{0x45, 0, 0, 20, 1, 2, 3, 4, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2}

// TestPcapRoundTrip: what PcapWriter writes, PcapReader reads back, with
// nanosecond timestamps, original lengths and link type RAW.
func TestPcapRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	pw, err := NewPcapWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1700000000, 123456789)
	pkts := [][]byte{ipPkt, bytes.Repeat([]byte{0x45}, 70000), {0x45}}
	for i, p := range pkts {
		if err := pw.WritePacket(t0.Add(time.Duration(i)*time.Millisecond), p); err != nil {
			t.Fatal(err)
		}
	}
	if err := pw.Flush(); err != nil {
		t.Fatal(err)
	}
	pr, err := NewPcapReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range pkts {
		p, err := pr.ReadPacket()
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		cut := want[:min(len(want), 65535)]
		if !p.Time.Equal(t0.Add(time.Duration(i)*time.Millisecond)) || p.LinkType != LinkTypeRaw ||
			!bytes.Equal(p.Data, cut) || p.OrigLen != len(want) {
			t.Errorf("packet %d: time %v type %d len %d orig %d", i, p.Time, p.LinkType, len(p.Data), p.OrigLen)
		}
		if ip, ok := p.IP(); !ok || !bytes.Equal(ip, cut) {
			t.Errorf("packet %d: IP() = %d bytes, %v", i, len(ip), ok)
		}
	}
	if _, err := pr.ReadPacket(); err != io.EOF {
		t.Errorf("after the last packet: %v, want io.EOF", err)
	}
}

// byteOrder is a byte order that can both read and append.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// classicFile builds a classic pcap file by hand.
func classicFile(order byteOrder, magic uint32, lt LinkType, sec, frac uint32, frames ...[]byte) []byte {
	b := order.AppendUint32(nil, magic)
	b = order.AppendUint16(b, 2)
	b = order.AppendUint16(b, 4)
	b = append(b, make([]byte, 8)...)
	b = order.AppendUint32(b, 262144)
	b = order.AppendUint32(b, uint32(lt))
	for _, f := range frames {
		b = order.AppendUint32(b, sec)
		b = order.AppendUint32(b, frac)
		b = order.AppendUint32(b, uint32(len(f)))
		b = order.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return b
}

// cat concatenates byte slices.
func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// TestPcapReaderLinkTypes: each link-layer header tcpdump writes is taken
// off, in both byte orders and both timestamp resolutions, and frames
// that carry no IP are recognised as such.
func TestPcapReaderLinkTypes(t *testing.T) {
	eth := func(typ ...byte) []byte { return cat(make([]byte, 12), typ) }
	sll := cat([]byte{0, 0, 0, 1, 0, 6}, make([]byte, 8), []byte{0x08, 0x00})
	sll2 := cat([]byte{0x08, 0x00, 0, 0, 0, 0, 0, 3, 0, 1, 4, 6}, make([]byte, 8))
	tests := []struct {
		name  string
		lt    LinkType
		frame []byte
		ip    bool
	}{
		{"raw", LinkTypeRaw, ipPkt, true},
		{"ipv4", LinkTypeIPv4, ipPkt, true},
		{"ethernet", LinkTypeEthernet, cat(eth(0x08, 0x00), ipPkt), true},
		{"ethernet 802.1Q", LinkTypeEthernet, cat(eth(0x81, 0x00), []byte{0, 5, 0x08, 0x00}, ipPkt), true},
		{"ethernet QinQ", LinkTypeEthernet, cat(eth(0x88, 0xa8), []byte{0, 5, 0x81, 0x00, 0, 6, 0x08, 0x00}, ipPkt), true},
		{"ethernet ARP", LinkTypeEthernet, cat(eth(0x08, 0x06), make([]byte, 28)), false},
		{"ethernet short", LinkTypeEthernet, eth(0x08), false},
		{"sll", LinkTypeLinuxSLL, cat(sll, ipPkt), true},
		{"sll2", LinkTypeLinuxSLL2, cat(sll2, ipPkt), true},
		{"sll2 short", LinkTypeLinuxSLL2, sll2[:10], false},
		{"null little-endian", LinkTypeNull, cat([]byte{2, 0, 0, 0}, ipPkt), true},
		{"null big-endian", LinkTypeNull, cat([]byte{0, 0, 0, 2}, ipPkt), true},
		{"loop", LinkTypeLoop, cat([]byte{0, 0, 0, 2}, ipPkt), true},
		{"null other family", LinkTypeNull, cat([]byte{7, 0, 0, 0}, ipPkt), false},
		{"unknown link type", LinkType(147), ipPkt, false},
	}
	for _, tt := range tests {
		for _, order := range []byteOrder{binary.LittleEndian, binary.BigEndian} {
			for _, nanos := range []bool{false, true} {
				magic, frac, want := uint32(pcapMagicMicros), uint32(250000), time.Unix(1000, 250000000)
				if nanos {
					magic, frac, want = pcapMagicNanos, 7, time.Unix(1000, 7)
				}
				f := classicFile(order, magic, tt.lt, 1000, frac, tt.frame)
				pr, err := NewPcapReader(bytes.NewReader(f))
				if err != nil {
					t.Fatalf("%s %v: %v", tt.name, order, err)
				}
				p, err := pr.ReadPacket()
				if err != nil {
					t.Fatalf("%s %v: %v", tt.name, order, err)
				}
				if !p.Time.Equal(want) || p.LinkType != tt.lt {
					t.Errorf("%s %v nanos=%v: time %v type %d, want %v %d", tt.name, order, nanos, p.Time, p.LinkType, want, tt.lt)
				}
				ip, ok := p.IP()
				if ok != tt.ip || ok && !bytes.Equal(ip, ipPkt) {
					t.Errorf("%s %v: IP() = %x, %v; want %v", tt.name, order, ip, ok, tt.ip)
				}
			}
		}
	}
}

// ngBlock builds one pcapng block.
func ngBlock(o byteOrder, typ uint32, body []byte) []byte {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	n := uint32(12 + len(body))
	b := o.AppendUint32(nil, typ)
	b = o.AppendUint32(b, n)
	b = append(b, body...)
	return o.AppendUint32(b, n)
}

// ngFile builds a pcapng file: a section with an Ethernet interface in
// microseconds, a RAW interface in nanoseconds with a time offset, and one
// packet on each, then a simple packet on the first.
func ngFile(o byteOrder) []byte {
	shb := o.AppendUint32(nil, ngByteOrderMagic)
	shb = o.AppendUint16(shb, 1)
	shb = o.AppendUint16(shb, 0)
	shb = o.AppendUint64(shb, ^uint64(0)) // section length unknown
	// an option (shb_userappl), then the end of options
	shb = o.AppendUint16(shb, 4)
	shb = o.AppendUint16(shb, 3)
	shb = append(shb, 'x', 'y', 'z', 0)
	shb = append(shb, 0, 0, 0, 0)

	idb := func(lt LinkType, opts []byte) []byte {
		b := o.AppendUint16(nil, uint16(lt))
		b = o.AppendUint16(b, 0)
		b = o.AppendUint32(b, 0)
		return append(b, opts...)
	}
	var nsOpts []byte
	nsOpts = o.AppendUint16(nsOpts, ngOptionTSResol)
	nsOpts = o.AppendUint16(nsOpts, 1)
	nsOpts = append(nsOpts, 9, 0, 0, 0)
	nsOpts = o.AppendUint16(nsOpts, ngOptionTSOffset)
	nsOpts = o.AppendUint16(nsOpts, 8)
	nsOpts = o.AppendUint64(nsOpts, 100)
	nsOpts = append(nsOpts, 0, 0, 0, 0)

	epb := func(iface uint32, ts uint64, frame []byte) []byte {
		b := o.AppendUint32(nil, iface)
		b = o.AppendUint32(b, uint32(ts>>32))
		b = o.AppendUint32(b, uint32(ts))
		b = o.AppendUint32(b, uint32(len(frame)))
		b = o.AppendUint32(b, uint32(len(frame)))
		return append(b, frame...)
	}
	ethFrame := cat(make([]byte, 12), []byte{0x08, 0x00}, ipPkt)
	return cat(
		ngBlock(o, ngSectionHeader, shb),
		ngBlock(o, ngInterface, idb(LinkTypeEthernet, nil)),
		ngBlock(o, 0x0bad, []byte{1, 2, 3, 4}), // a block type of no interest
		ngBlock(o, ngInterface, idb(LinkTypeRaw, nsOpts)),
		ngBlock(o, ngEnhancedPacket, epb(0, 2_500_000, ethFrame)),
		ngBlock(o, ngEnhancedPacket, epb(1, 3_000_000_001, ipPkt[:19])),
		ngBlock(o, ngSimplePacket, cat(o.AppendUint32(nil, uint32(len(ethFrame))), ethFrame)),
	)
}

// TestPcapngReader: sections of either byte order, interfaces with their
// own link types and timestamp resolutions, enhanced and simple packet
// blocks, and blocks of other types skipped.
func TestPcapngReader(t *testing.T) {
	for _, o := range []byteOrder{binary.LittleEndian, binary.BigEndian} {
		// Two sections in a row: the second starts over.
		pr, err := NewPcapReader(bytes.NewReader(cat(ngFile(o), ngFile(o))))
		if err != nil {
			t.Fatal(err)
		}
		want := []struct {
			lt   LinkType
			time time.Time
			n    int
		}{
			{LinkTypeEthernet, time.Unix(2, 500000000), 14 + len(ipPkt)},
			{LinkTypeRaw, time.Unix(103, 1), 19},
			{LinkTypeEthernet, time.Time{}, 14 + len(ipPkt)}, // a simple packet has no timestamp
		}
		for i := range 2 * len(want) {
			w := want[i%len(want)]
			p, err := pr.ReadPacket()
			if err != nil {
				t.Fatalf("%v packet %d: %v", o, i, err)
			}
			if p.LinkType != w.lt || !p.Time.Equal(w.time) || len(p.Data) != w.n {
				t.Errorf("%v packet %d: type %d time %v len %d, want %d %v %d", o, i, p.LinkType, p.Time, len(p.Data), w.lt, w.time, w.n)
			}
			if _, ok := p.IP(); !ok {
				t.Errorf("%v packet %d: no IP found", o, i)
			}
		}
		if _, err := pr.ReadPacket(); err != io.EOF {
			t.Errorf("%v: after the last packet: %v, want io.EOF", o, err)
		}
	}
}

// TestPcapReaderErrors: what is not a capture, and a capture cut short.
func TestPcapReaderErrors(t *testing.T) {
	for _, in := range [][]byte{nil, []byte("GET / HTTP/1.1\r\n\r\nxxxxxxxxxxxxxxxxx"), {0xd4, 0xc3, 0xb2}} {
		if _, err := NewPcapReader(bytes.NewReader(in)); !errors.Is(err, ErrNotPcap) {
			t.Errorf("NewPcapReader(%q) = %v, want ErrNotPcap", in, err)
		}
	}
	f := classicFile(binary.LittleEndian, pcapMagicMicros, LinkTypeRaw, 1, 2, ipPkt)
	pr, err := NewPcapReader(bytes.NewReader(f[:len(f)-3]))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pr.ReadPacket(); err != io.ErrUnexpectedEOF {
		t.Errorf("cut packet: %v, want io.ErrUnexpectedEOF", err)
	}
	huge := classicFile(binary.LittleEndian, pcapMagicMicros, LinkTypeRaw, 1, 2)
	huge = binary.LittleEndian.AppendUint32(huge, 1)
	huge = binary.LittleEndian.AppendUint32(huge, 1)
	huge = binary.LittleEndian.AppendUint32(huge, 1<<30)
	huge = binary.LittleEndian.AppendUint32(huge, 1<<30)
	pr, _ = NewPcapReader(bytes.NewReader(huge))
	if _, err := pr.ReadPacket(); err == nil || err == io.EOF {
		t.Errorf("1 GiB record: %v, want an error", err)
	}
	ng := ngFile(binary.LittleEndian)
	pr, _ = NewPcapReader(bytes.NewReader(ng[:len(ng)-5]))
	var last error
	for last == nil {
		_, last = pr.ReadPacket()
	}
	if last != io.ErrUnexpectedEOF {
		t.Errorf("cut pcapng: %v, want io.ErrUnexpectedEOF", last)
	}
}

// TestTap: a tap passes packets through in both directions and records
// each, in order, with the tap's clock.
func TestTap(t *testing.T) {
	a, b := Pipe()
	var buf bytes.Buffer
	pw, err := NewPcapWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Unix(50, 0)
	tap := NewTap(a, pw, func() time.Time { clock = clock.Add(time.Second); return clock })
	if tap.MTU() != a.MTU() {
		t.Errorf("MTU %d, want %d", tap.MTU(), a.MTU())
	}
	out := []byte{0x45, 'o', 'u', 't'}
	in := []byte{0x45, 'i', 'n'}
	if _, err := tap.WritePackets([][]byte{out}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WritePackets([][]byte{in}); err != nil {
		t.Fatal(err)
	}
	bufs, sizes := [][]byte{make([]byte, 100)}, []int{0}
	if n, err := b.ReadPackets(bufs, sizes); n != 1 || err != nil || !bytes.Equal(bufs[0][:sizes[0]], out) {
		t.Fatalf("peer read %d %v %q", n, err, bufs[0][:sizes[0]])
	}
	if n, err := tap.ReadPackets(bufs, sizes); n != 1 || err != nil || !bytes.Equal(bufs[0][:sizes[0]], in) {
		t.Fatalf("tap read %d %v %q", n, err, bufs[0][:sizes[0]])
	}
	if err := tap.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := tap.ReadPackets(bufs, sizes); !errors.Is(err, ErrClosed) {
		t.Errorf("read after Close: %v", err)
	}
	pr, err := NewPcapReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range [][]byte{out, in} {
		p, err := pr.ReadPacket()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(p.Data, want) || !p.Time.Equal(time.Unix(int64(51+i), 0)) {
			t.Errorf("record %d: %q at %v", i, p.Data, p.Time)
		}
	}
}

// FuzzPcapReader: no input makes the reader panic, loop or allocate
// without bound, and every packet it returns is within its input.
func FuzzPcapReader(f *testing.F) {
	f.Add(classicFile(binary.LittleEndian, pcapMagicMicros, LinkTypeEthernet, 1, 2, cat(make([]byte, 12), []byte{8, 0}, ipPkt)))
	f.Add(classicFile(binary.BigEndian, pcapMagicNanos, LinkTypeLinuxSLL2, 1, 2, make([]byte, 30)))
	f.Add(ngFile(binary.LittleEndian))
	f.Add(ngFile(binary.BigEndian))
	f.Fuzz(func(t *testing.T, in []byte) {
		pr, err := NewPcapReader(bytes.NewReader(in))
		if err != nil {
			return
		}
		for range len(in) + 1 {
			p, err := pr.ReadPacket()
			if err != nil {
				return
			}
			if len(p.Data) > len(in) {
				t.Fatalf("packet of %d bytes from %d bytes of input", len(p.Data), len(in))
			}
			p.IP()
		}
		t.Fatal("more packets than bytes of input")
	})
}
