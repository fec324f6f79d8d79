package stack

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seqack/seqack/link"
	"github.com/seqack/seqack/tcp"
	"github.com/seqack/seqack/tcp/cc"
	"github.com/seqack/seqack/trace"
	"github.com/seqack/seqack/wire"
)

// Config describes a host.
type Config struct {
	// Addrs are the host's IPv4 addresses; the first is the source of
	// outgoing connections. At least one is required.
	Addrs []netip.Addr

	// TCP holds the connection tunables; its MSS defaults to the link's
	// MTU less 40 bytes of headers.
	TCP tcp.Config

	// Trace, if set, receives an event for every segment, state change and
	// timer of every connection.
	Trace trace.Sink

	// ListenBacklog bounds each listener's queue of established
	// connections not yet accepted, as listen(2)'s backlog does. Default 128.
	ListenBacklog int

	// SynBacklog bounds each listener's half-open connections (SYN_RCVD).
	// When it is full, new SYNs are answered with SYN cookies, or dropped
	// and counted if SynCookies is SynCookiesNever. Default 256.
	SynBacklog int

	// SynCookies says when a listener answers a SYN with a SYN cookie
	// (RFC 4987 §3.6) and keeps no state for it, as Linux's
	// net.ipv4.tcp_syncookies does: SynCookiesAuto (the default, 1 in
	// Linux) once its half-open queue is full, SynCookiesAlways (2) for
	// every SYN, SynCookiesNever (0) never.
	SynCookies SynCookieMode

	// AbortOnOverflow makes a listener whose accept queue is full answer
	// the final ACK of a handshake with a reset, rather than drop it and
	// let the client's retransmission try again once Accept has made room
	// (Linux's net.ipv4.tcp_abort_on_overflow).
	AbortOnOverflow bool

	// MaxConnections, if positive, bounds the connections the stack
	// holds in full, from SYN_RCVD (or SYN_SENT) to LAST_ACK; those in
	// TIME_WAIT, kept in compact form, do not count. Once it is reached,
	// new connections are refused — a SYN or a cookie's ACK is dropped
	// (Stats.TCPConnLimitRefused), Dial fails with ErrConnectionLimit —
	// and no existing connection is ever closed to make room. Default 0:
	// no limit.
	MaxConnections int

	// MaxTimeWait bounds the connections held in TIME-WAIT, as Linux's
	// net.ipv4.tcp_max_tw_buckets: beyond it, a connection that would
	// enter TIME-WAIT goes straight to CLOSED (Stats.TCPTimeWaitOverflow),
	// so that a peer that opens and closes connections as fast as it can
	// cannot grow the table without bound. Default 262,144 (about 75 MB
	// of entries); negative means no limit.
	MaxTimeWait int

	// MaxBufferMemory, if positive, bounds the memory the connections'
	// send and receive buffers may hold, in bytes. Buffers take memory as
	// data needs it and give it back as it drains, so this is what the
	// connections hold now (BufferMemory). Once it is reached, new
	// connections are refused (Stats.TCPMemLimitRefused,
	// ErrBufferMemoryLimit) while those open keep their buffers. Default
	// 0: no limit.
	MaxBufferMemory int64

	// ChallengeACKLimit, if positive, bounds the challenge ACKs
	// (RFC 5961 §7) the whole host sends per second: each second's
	// allowance is drawn at random between half of it and one and a half
	// times it, as Linux's net.ipv4.tcp_challenge_ack_limit, so that it
	// cannot serve as a side channel (CVE-2016-5696). Default 0: no
	// host-wide limit, as Linux since 6.0; each connection still has its
	// own (TCP.ChallengeACKLimit).
	ChallengeACKLimit int

	// EphemeralPorts is the range of local ports for outgoing connections,
	// inclusive. Default 49152–65535 (RFC 6335 §6).
	EphemeralPorts [2]uint16

	// TTL of the packets the stack sends. Default 64.
	TTL uint8

	// KeepAlive is the keep-alive idle time and probe interval of new
	// connections, as net.Dialer.KeepAlive: 0 means 15 s, as package net
	// does; negative turns keep-alive off. (TCP.KeepAliveIdle, if set,
	// takes precedence.)
	KeepAlive time.Duration

	// Clock, if set, is the stack's clock, and the stack is driven from
	// outside: New starts no goroutine, the link is never read, and whoever
	// advances the clock hands the stack each arriving packet with
	// [Stack.Deliver] and runs its timers with [Stack.RunTimers] when
	// [Stack.NextTimer] is due. A simulator uses it to run many stacks on
	// one virtual clock, with the non-blocking calls (DialStart, TryAccept,
	// TryRead, TryWrite): a call that waits (Dial, Accept, Read, Write,
	// Close with a linger time) would wait for the very goroutine that
	// drives the clock. Deadlines stay on the real clock. Nil means the
	// real clock, with the stack reading its link and running its timers
	// on goroutines of its own.
	Clock func() time.Time

	// Rand, if set, chooses ephemeral ports and the SYN cookie secret, so
	// that a seeded generator makes a run reproducible. The stack uses it
	// with its lock held; it must not be shared with another stack that
	// runs concurrently. Nil means the global source of math/rand/v2.
	Rand *rand.Rand
}

// Stack is a TCP/IP host attached to one link.
type Stack struct {
	link  link.Link
	cfg   Config
	tcp   tcp.Config
	mtu   int
	sink  trace.Sink
	stats counters

	mu        sync.RWMutex // guards conns, listeners, closed
	conns     map[connKey]*Conn
	listeners map[netip.AddrPort]*Listener
	closed    bool

	timeWait timeWaits // connections in TIME-WAIT, in compact form

	timers  timerQueue
	pool    sync.Pool    // *packetBuf
	batches sync.Pool    // *txBatch
	swap    link.Swapper // the link, if it can trade buffers instead of copying
	ipID    atomic.Uint32
	epoch   time.Time // when the stack started, on the real clock
	done    chan struct{}
	wg      sync.WaitGroup

	cookies    *tcp.SynCookies          // the host's SYN cookie secret
	challenges *tcp.ChallengeACKLimiter // challenge ACKs, host-wide
	bufMem     atomic.Int64             // bytes the connections' buffers hold
}

// New starts a host on l. It reads the link on a goroutine of its own until
// Close, unless cfg.Clock is set (see [Config.Clock]).
func New(l link.Link, cfg Config) (*Stack, error) {
	if len(cfg.Addrs) == 0 {
		return nil, errors.New("stack: Config.Addrs is empty: a host needs an address")
	}
	for _, a := range cfg.Addrs {
		if !a.Is4() {
			return nil, fmt.Errorf("stack: address %v is not IPv4", a)
		}
	}
	mtu := l.MTU()
	if mtu < 68 {
		return nil, fmt.Errorf("stack: link MTU %d is below the IPv4 minimum of 68", mtu)
	}
	if cfg.ListenBacklog <= 0 {
		cfg.ListenBacklog = 128
	}
	if cfg.SynBacklog <= 0 {
		cfg.SynBacklog = 256
	}
	if cfg.MaxTimeWait == 0 {
		cfg.MaxTimeWait = 262144
	}
	if cfg.EphemeralPorts == [2]uint16{} {
		cfg.EphemeralPorts = [2]uint16{49152, 65535}
	}
	if cfg.EphemeralPorts[0] == 0 || cfg.EphemeralPorts[0] > cfg.EphemeralPorts[1] {
		return nil, fmt.Errorf("stack: bad ephemeral port range %d-%d", cfg.EphemeralPorts[0], cfg.EphemeralPorts[1])
	}
	if _, err := cc.New(cfg.TCP.CongestionControl, 1460); err != nil {
		return nil, fmt.Errorf("stack: TCP.CongestionControl: %w", err)
	}
	if cfg.TTL == 0 {
		cfg.TTL = 64
	}
	s := &Stack{
		link:      l,
		cfg:       cfg,
		tcp:       cfg.TCP,
		mtu:       mtu,
		sink:      cfg.Trace,
		conns:     make(map[connKey]*Conn),
		listeners: make(map[netip.AddrPort]*Listener),
		done:      make(chan struct{}),
		epoch:     time.Now(),
	}
	if s.tcp.MSS <= 0 || s.tcp.MSS > mtu-40 {
		s.tcp.MSS = mtu - 40
	}
	s.cookies = newSynCookies(cfg.Rand)
	s.challenges = tcp.NewChallengeACKLimiter(cfg.ChallengeACKLimit)
	s.tcp.ChallengeACKs = s.challenges
	// One Config for every connection of the host, rather than a copy each.
	s.tcp = s.tcp.WithDefaults()
	s.pool.New = func() any { return &packetBuf{b: make([]byte, mtu)} }
	s.swap, _ = l.(link.Swapper)
	s.timers.init(s.now())
	if cfg.Clock != nil {
		return s, nil // driven: see driven.go
	}
	s.wg.Add(2)
	go s.readLoop()
	go s.timerLoop()
	return s, nil
}

// Addrs returns the host's addresses.
func (s *Stack) Addrs() []netip.Addr { return append([]netip.Addr(nil), s.cfg.Addrs...) }

// Stats returns a snapshot of the stack's counters.
func (s *Stack) Stats() Stats {
	st := s.stats.snapshot()
	st.TCPChallengeACKs, st.TCPChallengeACKsLimited = s.challenges.Sent(), s.challenges.Limited()
	return st
}

// Close shuts the host down: every connection is aborted, every listener
// closed, the link closed, and the stack's goroutines (if it has any)
// stopped.
func (s *Stack) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	ls := make([]*Listener, 0, len(s.listeners))
	for _, l := range s.listeners {
		ls = append(ls, l)
	}
	cs := make([]*Conn, 0, len(s.conns))
	for _, c := range s.conns {
		cs = append(cs, c)
	}
	s.mu.Unlock()
	// Close done first, so that every call woken by the teardown sees
	// that the stack is gone (net.ErrClosed), not an EOF.
	close(s.done)
	for _, l := range ls {
		l.Close()
	}
	for _, c := range cs {
		c.shutdown()
	}
	s.closeTimeWaits()
	err := s.link.Close()
	s.wg.Wait()
	return err
}

func (s *Stack) isLocal(a netip.Addr) bool {
	for _, x := range s.cfg.Addrs {
		if x == a {
			return true
		}
	}
	return false
}

// readLoop reads packets from the link in batches and processes each inline.
func (s *Stack) readLoop() {
	defer s.wg.Done()
	const batch = 32
	bufs := make([][]byte, batch)
	for i := range bufs {
		bufs[i] = make([]byte, max(s.mtu, 65535))
	}
	sizes := make([]int, batch)
	read := s.link.ReadPackets
	if s.swap != nil {
		read = s.swap.SwapReadPackets
	}
	for {
		n, err := read(bufs, sizes)
		if err != nil {
			if errors.Is(err, link.ErrClosed) || isClosed(s.done) {
				return
			}
			// A device can fail for a moment (EINTR, ENOBUFS): count it
			// and read on, rather than stop receiving for good.
			s.stats.linkReadErrors.Add(1)
			time.Sleep(time.Millisecond)
			continue
		}
		for i := 0; i < n; i++ {
			s.deliver(bufs[i][:sizes[i]])
		}
	}
}

// deliver validates one IP packet and hands it to ICMP or TCP (RFC 1122
// §3.2.1).
func (s *Stack) deliver(pkt []byte) {
	if len(pkt) > 0 && pkt[0]>>4 != 4 {
		s.stats.ipNotIPv4.Add(1)
		return
	}
	s.stats.ipReceived.Add(1)
	ip, err := wire.ParseIPv4(pkt)
	if err != nil {
		s.stats.countParseError(err)
		return
	}
	if !s.isLocal(ip.Dst()) {
		s.stats.ipNotForUs.Add(1)
		return
	}
	if ip.IsFragment() {
		s.stats.ipFragments.Add(1)
		return
	}
	switch ip.Protocol() {
	case wire.ProtoTCP:
		s.stats.ipDelivered.Add(1)
		s.tcpInput(ip)
	case wire.ProtoICMP:
		s.stats.ipDelivered.Add(1)
		s.icmpInput(ip)
	default:
		// RFC 1122 §3.2.2.1: a host SHOULD say protocol unreachable.
		s.stats.ipUnknownProto.Add(1)
		s.sendUnreachable(ip, wire.CodeProtocolUnreachable)
	}
}

// packetBuf is a pooled buffer for one outgoing packet.
type packetBuf struct{ b []byte }

func (s *Stack) getBuf() *packetBuf  { return s.pool.Get().(*packetBuf) }
func (s *Stack) putBuf(p *packetBuf) { s.pool.Put(p) }

// sendIP prefixes the payload already in pb.b[20:20+n] with an IPv4
// header and writes the packet.
func (s *Stack) sendIP(pb *packetBuf, proto uint8, src, dst netip.Addr, n int) {
	h := wire.IPv4Header{ID: uint16(s.ipID.Add(1)), DontFragment: true, TTL: s.cfg.TTL, Protocol: proto, Src: src, Dst: dst, PayloadLen: n}
	h.Marshal(pb.b)
	s.writePackets([][]byte{pb.b[:wire.IPv4MinHeaderLen+n]})
	s.putBuf(pb)
}

func (s *Stack) writePackets(pkts [][]byte) {
	n, _ := s.link.WritePackets(pkts)
	s.stats.ipSent.Add(uint64(n))
}

// A txBatch holds the segments a connection's engine emitted, to be
// written with one WritePackets call. The stack pools them: a connection
// holds one only while it has segments to send.
type txBatch struct {
	bufs []*packetBuf
	pkts [][]byte // scratch for the write
}

func (s *Stack) getBatch() *txBatch {
	if b, ok := s.batches.Get().(*txBatch); ok {
		return b
	}
	return new(txBatch)
}

func (s *Stack) putBatch(b *txBatch) { s.batches.Put(b) }

// writeSegments writes the packets of out with one WritePackets call (or
// SwapWritePackets, whose buffers the packetBufs take in exchange), then
// returns the packetBufs to the pool and empties out.
func (s *Stack) writeSegments(out *txBatch) {
	pkts := out.pkts[:0]
	for _, pb := range out.bufs {
		pkts = append(pkts, pb.b)
	}
	var n int
	if s.swap != nil {
		n, _ = s.swap.SwapWritePackets(pkts)
		for i, pb := range out.bufs {
			pb.b = pkts[i]
		}
	} else {
		n, _ = s.link.WritePackets(pkts)
	}
	s.stats.ipSent.Add(uint64(n))
	for i, pb := range out.bufs {
		s.putSegmentBuf(pb)
		out.bufs[i] = nil
		pkts[i] = nil
	}
	out.bufs, out.pkts = out.bufs[:0], pkts[:0]
}

// encodeSegment writes seg from id.Local to id.Remote as a whole IPv4
// packet into a pooled buffer.
func (s *Stack) encodeSegment(id tcp.ID, seg *tcp.Segment) *packetBuf {
	pb := s.getBuf()
	b := pb.b
	h := wire.TCPHeader{
		SrcPort: id.Local.Port(), DstPort: id.Remote.Port(),
		Seq: uint32(seg.Seq), Ack: uint32(seg.Ack),
		Flags: seg.Flags, Window: seg.Window, Urgent: seg.Urgent,
	}
	th := h.Marshal(b[wire.IPv4MinHeaderLen:], &seg.Options)
	off := wire.IPv4MinHeaderLen + th
	off += copy(b[off:], seg.Payload)
	off += copy(b[off:], seg.PayloadWrap)
	ipID := uint16(s.ipID.Add(1))
	seg.Tag = packetTag(ipID)
	ih := wire.IPv4Header{ID: ipID, DontFragment: true, TTL: s.cfg.TTL, Protocol: wire.ProtoTCP,
		Src: id.Local.Addr(), Dst: id.Remote.Addr(), PayloadLen: off - wire.IPv4MinHeaderLen}
	ih.Marshal(b)
	wire.SetTCPChecksum(id.Local.Addr(), id.Remote.Addr(), b[wire.IPv4MinHeaderLen:off])
	pb.b = b[:off]
	s.stats.tcpOut.Add(1)
	return pb
}

// packetTag makes a segment's trace tag from its packet's IPv4 ID: never
// zero, which means "no tag".
func packetTag(ipID uint16) uint32 { return uint32(ipID) + 1 }

// putSegmentBuf returns a buffer from encodeSegment to the pool.
func (s *Stack) putSegmentBuf(pb *packetBuf) {
	pb.b = pb.b[:cap(pb.b)]
	s.putBuf(pb)
}

// statelessSender answers segments that reach no connection.
type statelessSender struct{ s *Stack }

func (ss statelessSender) SendSegment(id tcp.ID, seg *tcp.Segment) {
	pb := ss.s.encodeSegment(id, seg)
	ss.s.writePackets([][]byte{pb.b})
	ss.s.putSegmentBuf(pb)
}

// now is the stack's clock. The real clock is read as the time elapsed
// since the stack started, which reads only the monotonic clock: half the
// cost of time.Now, read for every segment that arrives.
func (s *Stack) now() time.Time {
	if s.cfg.Clock != nil {
		return s.cfg.Clock()
	}
	return s.epoch.Add(time.Since(s.epoch))
}

// randomPort returns a random port in the ephemeral range. s.mu is held.
func (s *Stack) randomPort() uint16 {
	lo, hi := int(s.cfg.EphemeralPorts[0]), int(s.cfg.EphemeralPorts[1])
	if s.cfg.Rand != nil {
		return uint16(lo + s.cfg.Rand.IntN(hi-lo+1))
	}
	return uint16(lo + rand.IntN(hi-lo+1))
}
