package link

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
)

// ErrNotPcap is returned by [NewPcapReader] for input that is neither a
// classic pcap nor a pcapng file.
var ErrNotPcap = errors.New("link: not a pcap or pcapng capture file")

// maxRecord bounds the size of one packet record (262144 is libpcap's
// largest snapshot length) and of one pcapng block, so that a corrupt
// length cannot make the reader allocate without limit.
const (
	maxRecord = 262144
	maxBlock  = maxRecord + 4096
)

// PcapPacket is one packet read from a capture file.
type PcapPacket struct {
	// Time is when the packet was captured; the zero Time for a pcapng
	// simple packet block, which has no timestamp.
	Time time.Time
	// LinkType says what header Data starts with.
	LinkType LinkType
	// Data is the packet as captured, link-layer header included. It may
	// be shorter than OrigLen if the capture cut it (tcpdump -s). It is
	// valid until the next call to ReadPacket.
	Data []byte
	// OrigLen is the packet's length on the wire.
	OrigLen int
}

// The EtherTypes (and SLL protocol types) of IP.
const (
	etherTypeIPv4 = 0x0800
	etherTypeIPv6 = 0x86dd
	etherTypeVLAN = 0x8100 // IEEE 802.1Q
	etherTypeQinQ = 0x88a8 // IEEE 802.1ad
)

// IP returns the IP packet that p carries, without its link-layer header,
// and reports whether p carries one: an Ethernet frame of EtherType IPv4 or
// IPv6 (behind any number of VLAN tags), a Linux cooked capture (SLL or
// SLL2) of either protocol, a loopback frame of family AF_INET or AF_INET6,
// or a raw IP packet. The version nibble of the result tells IPv4 from
// IPv6; it is not otherwise checked. The result aliases p.Data.
func (p *PcapPacket) IP() ([]byte, bool) {
	d := p.Data
	switch p.LinkType {
	case LinkTypeRaw, LinkTypeIPv4, LinkTypeIPv6:
		return d, len(d) > 0
	case LinkTypeEthernet:
		if len(d) < 14 {
			return nil, false
		}
		typ, rest := binary.BigEndian.Uint16(d[12:14]), d[14:]
		for typ == etherTypeVLAN || typ == etherTypeQinQ {
			if len(rest) < 4 {
				return nil, false
			}
			typ, rest = binary.BigEndian.Uint16(rest[2:4]), rest[4:]
		}
		return ipOfType(typ, rest)
	case LinkTypeLinuxSLL:
		// packet type, ARPHRD type, address length, 8 address bytes,
		// protocol type (https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html).
		if len(d) < 16 {
			return nil, false
		}
		return ipOfType(binary.BigEndian.Uint16(d[14:16]), d[16:])
	case LinkTypeLinuxSLL2:
		// protocol type, reserved, interface index, ARPHRD type, packet
		// type, address length, 8 address bytes
		// (https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL2.html).
		if len(d) < 20 {
			return nil, false
		}
		return ipOfType(binary.BigEndian.Uint16(d[0:2]), d[20:])
	case LinkTypeNull, LinkTypeLoop:
		if len(d) < 4 {
			return nil, false
		}
		// The family is in the capturing host's byte order for NULL and
		// big-endian for LOOP; try both, as the families are small.
		fam := binary.BigEndian.Uint32(d[0:4])
		if p.LinkType == LinkTypeNull && fam > 0xffff {
			fam = binary.LittleEndian.Uint32(d[0:4])
		}
		switch fam {
		case 2, // AF_INET everywhere
			10, 24, 28, 30: // AF_INET6 on Linux, the BSDs, FreeBSD, macOS
			return d[4:], len(d) > 4
		}
	}
	return nil, false
}

func ipOfType(typ uint16, payload []byte) ([]byte, bool) {
	if (typ == etherTypeIPv4 || typ == etherTypeIPv6) && len(payload) > 0 {
		return payload, true
	}
	return nil, false
}

// PcapReader reads the packets of a capture file: a classic pcap file of
// either byte order with microsecond or nanosecond timestamps, as tcpdump
// writes, or a pcapng file (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-03.html),
// as Wireshark and tshark write, with any number of sections and
// interfaces. Create one with [NewPcapReader].
type PcapReader struct {
	r     *bufio.Reader
	order binary.ByteOrder
	buf   []byte

	// Classic pcap.
	linkType LinkType
	nanos    bool

	// pcapng.
	ng     bool
	ifaces []ngIface
}

// ngIface is a pcapng interface: its link type and timestamp units.
type ngIface struct {
	linkType LinkType
	// A timestamp counts units of 10^-exp seconds, or 2^-exp if pow2.
	exp    uint8
	pow2   bool
	offset int64 // seconds added to every timestamp (if_tsoffset)
}

// pcapng block types.
const (
	ngSectionHeader    = 0x0a0d0d0a
	ngInterface        = 0x00000001
	ngObsoletePacket   = 0x00000002
	ngSimplePacket     = 0x00000003
	ngEnhancedPacket   = 0x00000006
	ngByteOrderMagic   = 0x1a2b3c4d
	ngOptionEnd        = 0
	ngOptionTSResol    = 9
	ngOptionTSOffset   = 14
	ngDefaultTSExpo    = 6 // microseconds
	ngBlockHeaderBytes = 8 // type and length; the length is repeated at the end
)

// NewPcapReader reads the file header from r and returns a reader for the
// packets that follow. It returns [ErrNotPcap] if r does not start like a
// capture file.
func NewPcapReader(r io.Reader) (*PcapReader, error) {
	pr := &PcapReader{r: bufio.NewReaderSize(r, 64<<10)}
	head, err := pr.r.Peek(4)
	if err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, ErrNotPcap
		}
		return nil, err
	}
	if binary.LittleEndian.Uint32(head) == ngSectionHeader {
		pr.ng = true
		return pr, nil // the section header is read as the first block
	}
	var h [24]byte
	if _, err := io.ReadFull(pr.r, h[:]); err != nil {
		return nil, ErrNotPcap
	}
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		switch order.Uint32(h[0:4]) {
		case pcapMagicMicros:
			pr.order = order
		case pcapMagicNanos:
			pr.order, pr.nanos = order, true
		default:
			continue
		}
		// The low 16 bits are the link type; the bits above hold FCS
		// information, which does not matter here.
		pr.linkType = LinkType(pr.order.Uint32(h[20:24]))
		return pr, nil
	}
	return nil, ErrNotPcap
}

// ReadPacket returns the next packet. It returns io.EOF after the last
// one, and io.ErrUnexpectedEOF if the file ends inside a packet (as when
// tcpdump was killed while writing).
func (r *PcapReader) ReadPacket() (PcapPacket, error) {
	if r.ng {
		return r.readBlocks()
	}
	var h [16]byte
	if _, err := io.ReadFull(r.r, h[:]); err != nil {
		return PcapPacket{}, err
	}
	sec, frac := r.order.Uint32(h[0:4]), r.order.Uint32(h[4:8])
	capLen, origLen := r.order.Uint32(h[8:12]), r.order.Uint32(h[12:16])
	if capLen > maxRecord {
		return PcapPacket{}, fmt.Errorf("link: pcap record of %d bytes is larger than any capture makes", capLen)
	}
	data, err := r.read(int(capLen))
	if err != nil {
		return PcapPacket{}, noEOF(err)
	}
	ns := int64(frac)
	if !r.nanos {
		ns *= 1000
	}
	return PcapPacket{
		Time:     time.Unix(int64(sec), ns),
		LinkType: r.linkType,
		Data:     data,
		OrigLen:  int(max(origLen, capLen)),
	}, nil
}

// read reads n bytes into the reader's buffer.
func (r *PcapReader) read(n int) ([]byte, error) {
	if cap(r.buf) < n {
		r.buf = make([]byte, n)
	}
	b := r.buf[:n]
	_, err := io.ReadFull(r.r, b)
	return b, err
}

// noEOF turns an end of file in the middle of a record into
// io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// readBlocks reads pcapng blocks until one holds a packet.
func (r *PcapReader) readBlocks() (PcapPacket, error) {
	for {
		var h [ngBlockHeaderBytes]byte
		if _, err := io.ReadFull(r.r, h[:]); err != nil {
			return PcapPacket{}, err
		}
		typ := binary.LittleEndian.Uint32(h[0:4]) // the section header's type reads the same either way
		if typ == ngSectionHeader {
			// The byte-order magic follows the length; it sets the byte
			// order of this section, the length included.
			magic, err := r.r.Peek(4)
			if err != nil {
				return PcapPacket{}, noEOF(err)
			}
			switch {
			case binary.LittleEndian.Uint32(magic) == ngByteOrderMagic:
				r.order = binary.LittleEndian
			case binary.BigEndian.Uint32(magic) == ngByteOrderMagic:
				r.order = binary.BigEndian
			default:
				return PcapPacket{}, errors.New("link: pcapng section header with a bad byte-order magic")
			}
			r.ifaces = r.ifaces[:0]
		} else if r.order == nil {
			return PcapPacket{}, errors.New("link: pcapng block before any section header")
		} else {
			typ = r.order.Uint32(h[0:4])
		}
		total := r.order.Uint32(h[4:8])
		if total < 12 || total%4 != 0 || total > maxBlock {
			return PcapPacket{}, fmt.Errorf("link: pcapng block of bad length %d", total)
		}
		body, err := r.read(int(total) - ngBlockHeaderBytes)
		if err != nil {
			return PcapPacket{}, noEOF(err)
		}
		body = body[:len(body)-4] // the repeated length
		p, ok, err := r.block(typ, body)
		if err != nil || ok {
			return p, err
		}
	}
}

// block interprets one pcapng block body, and reports whether it held a
// packet.
func (r *PcapReader) block(typ uint32, b []byte) (PcapPacket, bool, error) {
	o := r.order
	bad := func(what string) (PcapPacket, bool, error) {
		return PcapPacket{}, false, fmt.Errorf("link: malformed pcapng %s block", what)
	}
	switch typ {
	case ngInterface:
		if len(b) < 8 {
			return bad("interface description")
		}
		ifc := ngIface{linkType: LinkType(o.Uint16(b[0:2])), exp: ngDefaultTSExpo}
		forOptions(o, b[8:], func(code uint16, val []byte) {
			switch {
			case code == ngOptionTSResol && len(val) >= 1:
				ifc.exp, ifc.pow2 = val[0]&0x7f, val[0]&0x80 != 0
			case code == ngOptionTSOffset && len(val) >= 8:
				ifc.offset = int64(o.Uint64(val))
			}
		})
		r.ifaces = append(r.ifaces, ifc)
	case ngEnhancedPacket, ngObsoletePacket:
		if len(b) < 20 {
			return bad("packet")
		}
		var id uint32
		if typ == ngEnhancedPacket {
			id = o.Uint32(b[0:4])
		} else {
			id = uint32(o.Uint16(b[0:2]))
		}
		capLen, origLen := o.Uint32(b[12:16]), o.Uint32(b[16:20])
		if int(id) >= len(r.ifaces) || capLen > uint32(len(b)-20) {
			return bad("packet")
		}
		ifc := &r.ifaces[id]
		ts := uint64(o.Uint32(b[4:8]))<<32 | uint64(o.Uint32(b[8:12]))
		return PcapPacket{
			Time:     ifc.time(ts),
			LinkType: ifc.linkType,
			Data:     b[20 : 20+capLen],
			OrigLen:  int(max(origLen, capLen)),
		}, true, nil
	case ngSimplePacket:
		if len(b) < 4 || len(r.ifaces) == 0 {
			return bad("simple packet")
		}
		origLen := o.Uint32(b[0:4])
		capLen := min(origLen, uint32(len(b)-4))
		return PcapPacket{LinkType: r.ifaces[0].linkType, Data: b[4 : 4+capLen], OrigLen: int(origLen)}, true, nil
	}
	return PcapPacket{}, false, nil // section headers and blocks of no interest here
}

// forOptions calls f for each option in a pcapng options list.
func forOptions(o binary.ByteOrder, b []byte, f func(code uint16, val []byte)) {
	for len(b) >= 4 {
		code, n := o.Uint16(b[0:2]), int(o.Uint16(b[2:4]))
		if code == ngOptionEnd || 4+n > len(b) {
			return
		}
		f(code, b[4:4+n])
		b = b[min(len(b), 4+(n+3)&^3):]
	}
}

// time converts a timestamp in the interface's units.
func (ifc *ngIface) time(ts uint64) time.Time {
	var sec, ns uint64
	switch {
	case ifc.pow2 && ifc.exp < 64:
		sec = ts >> ifc.exp
		frac := ts & (1<<ifc.exp - 1)
		ns = uint64(float64(frac) / math.Ldexp(1, int(ifc.exp)) * 1e9)
	case !ifc.pow2 && ifc.exp <= 19:
		unit := uint64(1)
		for range ifc.exp {
			unit *= 10
		}
		sec = ts / unit
		frac := ts % unit
		if ifc.exp <= 9 {
			for range 9 - ifc.exp {
				frac *= 10
			}
		} else {
			for range ifc.exp - 9 {
				frac /= 10
			}
		}
		ns = frac
	}
	return time.Unix(int64(sec)+ifc.offset, int64(ns))
}
