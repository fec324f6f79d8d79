package link

import (
	"bufio"
	"encoding/binary"
	"io"
	"sync"
	"time"
)

// LinkType is the link-layer header type of the packets in a capture
// file: the LINKTYPE_ values of https://www.tcpdump.org/linktypes.html.
type LinkType uint16

// The link types that [PcapReader] understands. [PcapWriter] writes
// LinkTypeRaw.
const (
	LinkTypeNull      LinkType = 0   // BSD loopback: a 4-byte address family in the capturing host's byte order
	LinkTypeEthernet  LinkType = 1   // Ethernet II, with or without 802.1Q tags
	LinkTypeRaw       LinkType = 101 // a bare IPv4 or IPv6 packet
	LinkTypeLoop      LinkType = 108 // OpenBSD loopback: a 4-byte address family, big-endian
	LinkTypeLinuxSLL  LinkType = 113 // Linux "cooked" capture, version 1 (tcpdump -i any, older libpcap)
	LinkTypeIPv4      LinkType = 228 // a bare IPv4 packet
	LinkTypeIPv6      LinkType = 229 // a bare IPv6 packet
	LinkTypeLinuxSLL2 LinkType = 276 // Linux "cooked" capture, version 2 (tcpdump -i any)
)

// The magic numbers of a classic pcap file header: microsecond and
// nanosecond timestamps. Read in the other byte order, they say the file
// was written on a host of the other endianness.
const (
	pcapMagicMicros = 0xa1b2c3d4
	pcapMagicNanos  = 0xa1b23c4d
)

// pcapSnapLen is the snapshot length a PcapWriter announces: the largest
// IPv4 packet, so nothing is ever cut.
const pcapSnapLen = 65535

// PcapWriter writes packets to a capture file in the classic pcap format
// (https://www.tcpdump.org/manpages/pcap-savefile.5.html), with nanosecond
// timestamps and link type [LinkTypeRaw], that tcpdump, Wireshark and
// tshark open. It is safe for concurrent use. Writes are buffered: call
// Flush (or close the [Tap] that uses it) before reading the file.
type PcapWriter struct {
	mu  sync.Mutex
	w   *bufio.Writer
	hdr [16]byte
	err error
}

// NewPcapWriter writes a pcap file header to w and returns a writer for
// the packets that follow.
func NewPcapWriter(w io.Writer) (*PcapWriter, error) {
	pw := &PcapWriter{w: bufio.NewWriterSize(w, 64<<10)}
	var h [24]byte
	le := binary.LittleEndian
	le.PutUint32(h[0:], pcapMagicNanos)
	le.PutUint16(h[4:], 2) // version 2.4
	le.PutUint16(h[6:], 4)
	// h[8:16]: time zone offset and accuracy, both zero.
	le.PutUint32(h[16:], pcapSnapLen)
	le.PutUint32(h[20:], uint32(LinkTypeRaw))
	if _, err := pw.w.Write(h[:]); err != nil {
		return nil, err
	}
	return pw, nil
}

// WritePacket appends one IP packet captured at time t. A packet longer
// than 65535 bytes is cut to that length, and its original length is
// recorded. After the first error every call returns it.
func (pw *PcapWriter) WritePacket(t time.Time, pkt []byte) error {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	return pw.writeLocked(t, pkt)
}

func (pw *PcapWriter) writeLocked(t time.Time, pkt []byte) error {
	if pw.err != nil {
		return pw.err
	}
	capLen := min(len(pkt), pcapSnapLen)
	le := binary.LittleEndian
	ns := t.UnixNano()
	le.PutUint32(pw.hdr[0:], uint32(ns/1e9))
	le.PutUint32(pw.hdr[4:], uint32(ns%1e9))
	le.PutUint32(pw.hdr[8:], uint32(capLen))
	le.PutUint32(pw.hdr[12:], uint32(len(pkt)))
	if _, err := pw.w.Write(pw.hdr[:]); err != nil {
		pw.err = err
		return err
	}
	if _, err := pw.w.Write(pkt[:capLen]); err != nil {
		pw.err = err
	}
	return pw.err
}

// Flush writes any buffered packets to the underlying writer.
func (pw *PcapWriter) Flush() error {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	if pw.err != nil {
		return pw.err
	}
	pw.err = pw.w.Flush()
	return pw.err
}

// Err returns the first error the writer met, if any.
func (pw *PcapWriter) Err() error {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	return pw.err
}

// Tap is a [Link] that passes everything through to another link and
// records every packet, in both directions, in a pcap file: packets
// written when they are handed to the link, packets read when the link
// returns them. Create one with [NewTap].
//
// A failure to write the capture (a full disk, say) does not disturb the
// traffic: recording stops, and [PcapWriter.Err] reports why.
type Tap struct {
	l   Link
	pw  *PcapWriter
	now func() time.Time
}

var _ Link = (*Tap)(nil)

// NewTap returns a Link that behaves as l and records its packets with pw,
// timestamped by now (time.Now if nil).
func NewTap(l Link, pw *PcapWriter, now func() time.Time) *Tap {
	if now == nil {
		now = time.Now
	}
	return &Tap{l: l, pw: pw, now: now}
}

// ReadPackets reads from the underlying link and records what it read.
func (t *Tap) ReadPackets(bufs [][]byte, sizes []int) (int, error) {
	n, err := t.l.ReadPackets(bufs, sizes)
	if n > 0 {
		t.record(bufs[:n], sizes[:n])
	}
	return n, err
}

// WritePackets records pkts, then writes them to the underlying link.
func (t *Tap) WritePackets(pkts [][]byte) (int, error) {
	t.record(pkts, nil)
	return t.l.WritePackets(pkts)
}

// record writes pkts, cut to sizes if sizes is not nil, in one critical
// section so that a batch stays together.
func (t *Tap) record(pkts [][]byte, sizes []int) {
	now := t.now()
	t.pw.mu.Lock()
	defer t.pw.mu.Unlock()
	for i, p := range pkts {
		if sizes != nil {
			p = p[:sizes[i]]
		}
		if t.pw.writeLocked(now, p) != nil {
			return
		}
	}
}

// MTU returns the underlying link's MTU.
func (t *Tap) MTU() int { return t.l.MTU() }

// Close closes the underlying link and flushes the capture. The writer
// underneath the PcapWriter (a file, say) stays open: it is the caller's.
func (t *Tap) Close() error {
	err := t.l.Close()
	if ferr := t.pw.Flush(); err == nil {
		err = ferr
	}
	return err
}
