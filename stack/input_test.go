package stack

import (
	"net/netip"
	"testing"
	"time"

	"github.com/seqack/seqack/link"
	"github.com/seqack/seqack/tcp"
	"github.com/seqack/seqack/wire"
)

var peerAddr = netip.MustParseAddr("10.0.0.9")

// rawPeer is the far end of a Pipe driven by hand: the test writes raw IP
// packets into the stack and reads what the stack sends back.
type rawPeer struct {
	t    *testing.T
	end  *link.PipeEnd
	recv chan []byte
}

func newRawPeer(t *testing.T, cfg Config) (*Stack, *rawPeer) {
	t.Helper()
	a, b := link.Pipe()
	if cfg.Addrs == nil {
		cfg.Addrs = []netip.Addr{serverAddr}
	}
	s, err := New(a, cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := &rawPeer{t: t, end: b, recv: make(chan []byte, 64)}
	go func() {
		bufs, sizes := [][]byte{make([]byte, 2048)}, []int{0}
		for {
			n, err := b.ReadPackets(bufs, sizes)
			if err != nil {
				close(p.recv)
				return
			}
			for i := range n {
				p.recv <- append([]byte(nil), bufs[i][:sizes[i]]...)
			}
		}
	}()
	t.Cleanup(func() {
		s.Close()
		b.Close()
	})
	return s, p
}

func (p *rawPeer) send(pkt []byte) {
	p.t.Helper()
	if _, err := p.end.WritePackets([][]byte{pkt}); err != nil {
		p.t.Fatal(err)
	}
}

// expect returns the next packet the stack sends, failing after a second.
func (p *rawPeer) expect() wire.IPv4 {
	p.t.Helper()
	select {
	case b := <-p.recv:
		ip, err := wire.ParseIPv4(b)
		if err != nil {
			p.t.Fatalf("stack sent a bad IPv4 packet: %v", err)
		}
		return ip
	case <-time.After(time.Second):
		p.t.Fatal("stack sent nothing")
		return nil
	}
}

// expectNothing checks that the stack stays silent for a moment.
func (p *rawPeer) expectNothing() {
	p.t.Helper()
	select {
	case b := <-p.recv:
		ip, _ := wire.ParseIPv4(b)
		p.t.Fatalf("stack sent %v, want nothing", ip)
	case <-time.After(50 * time.Millisecond):
	}
}

// ipPacket builds an IPv4 packet from peerAddr to dst.
func ipPacket(proto uint8, dst netip.Addr, payload []byte) []byte {
	b := make([]byte, wire.IPv4MinHeaderLen+len(payload))
	h := wire.IPv4Header{ID: 1, TTL: 64, Protocol: proto, Src: peerAddr, Dst: dst, PayloadLen: len(payload)}
	h.Marshal(b)
	copy(b[wire.IPv4MinHeaderLen:], payload)
	return b
}

// tcpPacket builds a TCP segment from peerAddr:sport to dst:dport inside
// an IPv4 packet, with a correct checksum.
func tcpPacket(dst netip.Addr, sport, dport uint16, seq, ack uint32, flags wire.TCPFlags, opts *wire.TCPOptions, data []byte) []byte {
	seg := make([]byte, 60+len(data))
	h := wire.TCPHeader{SrcPort: sport, DstPort: dport, Seq: seq, Ack: ack, Flags: flags, Window: 65535}
	n := h.Marshal(seg, opts)
	n += copy(seg[n:], data)
	seg = seg[:n]
	wire.SetTCPChecksum(peerAddr, dst, seg)
	return ipPacket(wire.ProtoTCP, dst, seg)
}

func tcpOf(t *testing.T, ip wire.IPv4) wire.TCP {
	t.Helper()
	if ip.Protocol() != wire.ProtoTCP {
		t.Fatalf("got %v, want TCP", ip)
	}
	seg, err := wire.ParseTCP(ip.Payload())
	if err != nil {
		t.Fatal(err)
	}
	if !wire.VerifyTCPChecksum(ip.Src(), ip.Dst(), ip.Payload()) {
		t.Fatalf("bad TCP checksum on %v", ip)
	}
	return seg
}

// TestICMPEcho: an echo request is answered with a reply carrying the same
// identifier, sequence number and data (RFC 792, RFC 1122 §3.2.2.6).
func TestICMPEcho(t *testing.T) {
	s, p := newRawPeer(t, Config{})
	msg := make([]byte, 64)
	n := wire.MarshalEcho(msg, wire.ICMPEchoRequest, 7, 3, []byte("ping payload"))
	p.send(ipPacket(wire.ProtoICMP, serverAddr, msg[:n]))
	ip := p.expect()
	m, err := wire.ParseICMPv4(ip.Payload())
	if err != nil {
		t.Fatal(err)
	}
	if ip.Src() != serverAddr || ip.Dst() != peerAddr || m.Type() != wire.ICMPEchoReply ||
		m.ID() != 7 || m.Seq() != 3 || string(m.Payload()) != "ping payload" {
		t.Fatalf("reply %v from %v to %v", m, ip.Src(), ip.Dst())
	}
	if got := s.Stats().ICMPEchoReplies; got != 1 {
		t.Errorf("ICMPEchoReplies = %d", got)
	}
}

// TestProtocolUnreachable: a protocol the stack does not speak draws ICMP
// protocol unreachable quoting the packet (RFC 1122 §3.2.2.1).
func TestProtocolUnreachable(t *testing.T) {
	s, p := newRawPeer(t, Config{})
	pkt := ipPacket(wire.ProtoUDP, serverAddr, []byte{0, 53, 0, 53, 0, 12, 0, 0, 'a', 'b', 'c', 'd'})
	p.send(pkt)
	ip := p.expect()
	m, err := wire.ParseICMPv4(ip.Payload())
	if err != nil {
		t.Fatal(err)
	}
	if m.Type() != wire.ICMPDestUnreachable || m.Code() != wire.CodeProtocolUnreachable {
		t.Fatalf("got %v, want protocol unreachable", m)
	}
	if orig := m.Original(); len(orig) < 28 || string(orig[:28]) != string(pkt[:28]) {
		t.Errorf("quoted datagram %x, want the header and 8 bytes of %x", orig, pkt[:28])
	}
	if got := s.Stats().IPUnknownProto; got != 1 {
		t.Errorf("IPUnknownProto = %d", got)
	}
}

// TestClosedPortReset: a SYN to a closed port draws <SEQ=0><ACK=SEG.SEQ+1>
// <CTL=RST,ACK>; an ACK draws <SEQ=SEG.ACK><CTL=RST>; a RST draws nothing
// (RFC 9293 §3.10.7.1).
func TestClosedPortReset(t *testing.T) {
	s, p := newRawPeer(t, Config{})
	p.send(tcpPacket(serverAddr, 40000, 81, 1000, 0, wire.FlagSYN, &wire.TCPOptions{MSS: 1460, HasMSS: true}, nil))
	rst := tcpOf(t, p.expect())
	if rst.Flags() != wire.FlagRST|wire.FlagACK || rst.Seq() != 0 || rst.Ack() != 1001 || rst.SrcPort() != 81 || rst.DstPort() != 40000 {
		t.Errorf("answer to SYN: %v", rst)
	}
	p.send(tcpPacket(serverAddr, 40000, 81, 1000, 777, wire.FlagACK, nil, []byte("data")))
	rst = tcpOf(t, p.expect())
	if rst.Flags() != wire.FlagRST || rst.Seq() != 777 {
		t.Errorf("answer to ACK: %v", rst)
	}
	p.send(tcpPacket(serverAddr, 40000, 81, 1000, 0, wire.FlagRST, nil, nil))
	p.expectNothing()
	if st := s.Stats(); st.TCPResetsSent != 2 || st.TCPNoPort != 3 {
		t.Errorf("resets sent %d, no-port %d; want 2, 3", st.TCPResetsSent, st.TCPNoPort)
	}
}

// TestListenPortProbes: on a listening port a FIN or a bare probe is
// dropped silently (what makes nmap's FIN scan say "open|filtered"), an ACK
// draws a RST, and a SYN a SYN-ACK with our MSS.
func TestListenPortProbes(t *testing.T) {
	s, p := newRawPeer(t, Config{})
	if _, err := s.Listen("tcp", ":80"); err != nil {
		t.Fatal(err)
	}
	p.send(tcpPacket(serverAddr, 40000, 80, 1000, 0, wire.FlagFIN, nil, nil))
	p.send(tcpPacket(serverAddr, 40000, 80, 1000, 0, 0, nil, nil))
	p.expectNothing()
	p.send(tcpPacket(serverAddr, 40001, 80, 1000, 555, wire.FlagACK, nil, nil))
	if rst := tcpOf(t, p.expect()); rst.Flags() != wire.FlagRST || rst.Seq() != 555 {
		t.Errorf("answer to ACK on a listening port: %v", rst)
	}
	p.send(tcpPacket(serverAddr, 40002, 80, 1000, 0, wire.FlagSYN, &wire.TCPOptions{MSS: 1000, HasMSS: true}, nil))
	synack := tcpOf(t, p.expect())
	var opts wire.TCPOptions
	if err := synack.ParseOptions(&opts); err != nil {
		t.Fatal(err)
	}
	if synack.Flags() != wire.FlagSYN|wire.FlagACK || synack.Ack() != 1001 || !opts.HasMSS || opts.MSS != 1460 {
		t.Errorf("answer to SYN: %v", synack)
	}
}

// TestMalformedDropped: every malformed packet is dropped without an answer
// and counted under its reason.
func TestMalformedDropped(t *testing.T) {
	s, p := newRawPeer(t, Config{})
	s.Listen("tcp", ":80")
	good := tcpPacket(serverAddr, 40000, 80, 1000, 0, wire.FlagSYN, nil, nil)
	mutate := func(f func(b []byte) []byte) []byte {
		return f(append([]byte(nil), good...))
	}
	fixIPChecksum := func(b []byte) []byte {
		b[10], b[11] = 0, 0
		c := wire.Checksum(b[:wire.IPv4MinHeaderLen])
		b[10], b[11] = byte(c>>8), byte(c)
		return b
	}
	badOpts := func() []byte {
		// A TCP header whose option list claims a length running past it.
		seg := make([]byte, 24)
		h := wire.TCPHeader{SrcPort: 40000, DstPort: 80, Seq: 1, Flags: wire.FlagSYN, Window: 100}
		h.Marshal(seg, nil)
		seg[12] = 6 << 4 // data offset: 24 bytes
		copy(seg[20:], []byte{wire.OptMSS, 9, 0, 0})
		wire.SetTCPChecksum(peerAddr, serverAddr, seg)
		return ipPacket(wire.ProtoTCP, serverAddr, seg)
	}
	cases := []struct {
		name  string
		pkt   []byte
		count func(Stats) uint64
	}{
		{"truncated IP header", good[:12], func(s Stats) uint64 { return s.ParseErrorCount(wire.ReasonIPv4TooShort) }},
		{"bad IP checksum", mutate(func(b []byte) []byte { b[10] ^= 0xff; return b }), func(s Stats) uint64 { return s.ParseErrorCount(wire.ReasonIPv4Checksum) }},
		{"total length beyond the packet", mutate(func(b []byte) []byte { b[3] += 50; return fixIPChecksum(b) }), func(s Stats) uint64 { return s.ParseErrorCount(wire.ReasonIPv4TotalLen) }},
		{"not for us", ipPacket(wire.ProtoTCP, netip.MustParseAddr("10.0.0.77"), good[20:]), func(s Stats) uint64 { return s.IPNotForUs }},
		{"fragment", mutate(func(b []byte) []byte { b[6] |= 0x20; return fixIPChecksum(b) }), func(s Stats) uint64 { return s.IPFragments }},
		{"bad TCP checksum", mutate(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), func(s Stats) uint64 { return s.ParseErrorCount(wire.ReasonTCPChecksum) }},
		{"TCP header truncated", ipPacket(wire.ProtoTCP, serverAddr, good[20:30]), func(s Stats) uint64 { return s.ParseErrorCount(wire.ReasonTCPTooShort) }},
		{"TCP option overrun", badOpts(), func(s Stats) uint64 { return s.ParseErrorCount(wire.ReasonTCPOptionOverrun) }},
		{"IPv6", []byte{0x60, 0, 0, 0, 0, 0, 6, 64}, func(s Stats) uint64 { return s.IPNotIPv4 }},
	}
	for _, tc := range cases {
		before := tc.count(s.Stats())
		p.send(tc.pkt)
		p.expectNothing()
		if after := tc.count(s.Stats()); after != before+1 {
			t.Errorf("%s: counter went %d → %d, want +1", tc.name, before, after)
		}
	}
	// The stack is still fine: a good SYN is answered.
	p.send(good)
	if synack := tcpOf(t, p.expect()); synack.Flags() != wire.FlagSYN|wire.FlagACK {
		t.Errorf("after the junk, a SYN drew %v", synack)
	}
}

// TestTimeWaitReopen: a SYN with a sequence number beyond the old
// incarnation's reopens a 4-tuple in TIME_WAIT (RFC 1122 §4.2.2.13).
func TestTimeWaitReopen(t *testing.T) {
	s, p := newRawPeer(t, Config{})
	ln, _ := s.ListenTCP("tcp", ":80")
	p.send(tcpPacket(serverAddr, 40000, 80, 1000, 0, wire.FlagSYN, nil, nil))
	synack := tcpOf(t, p.expect())
	iss := synack.Seq()
	p.send(tcpPacket(serverAddr, 40000, 80, 1001, iss+1, wire.FlagACK, nil, nil))
	c, err := ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	c.Close() // the server closes first and will end in TIME_WAIT
	fin := tcpOf(t, p.expect())
	if fin.Flags() != wire.FlagFIN|wire.FlagACK {
		t.Fatalf("want FIN, got %v", fin)
	}
	p.send(tcpPacket(serverAddr, 40000, 80, 1001, iss+2, wire.FlagFIN|wire.FlagACK, nil, nil))
	tcpOf(t, p.expect()) // the ACK of our FIN
	waitState(t, c, tcp.TimeWait)
	// An old duplicate SYN (not beyond RCV.NXT) draws only a challenge ACK.
	p.send(tcpPacket(serverAddr, 40000, 80, 1000, 0, wire.FlagSYN, nil, nil))
	if ack := tcpOf(t, p.expect()); ack.Flags() != wire.FlagACK {
		t.Fatalf("old SYN in TIME_WAIT drew %v, want an ACK", ack)
	}
	// A new SYN reopens the tuple.
	p.send(tcpPacket(serverAddr, 40000, 80, 900000, 0, wire.FlagSYN, nil, nil))
	if s2 := tcpOf(t, p.expect()); s2.Flags() != wire.FlagSYN|wire.FlagACK || s2.Ack() != 900001 {
		t.Fatalf("new SYN in TIME_WAIT drew %v, want a SYN-ACK", s2)
	}
}
