package stack

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/seqack/seqack/link"
	"github.com/seqack/seqack/tcp"
	"github.com/seqack/seqack/wire"
)

// FuzzLive feeds a driven stack, the server, packets that the fuzzer
// builds relative to its live connections — their 4-tuples, RCV.NXT,
// SND.UNA and timestamps — so that they land in the window rather than die
// at the checksum. The server has a listener and four connections to a real
// client stack, set up afresh for each input, with timestamps, window
// scaling and SACK:
//
//	0  ESTABLISHED, with the server's data in flight (unacknowledged, in its
//	   send buffer) and the client's data held out of order (a hole first)
//	1  FIN_WAIT_2 (the server closed its side; the client is in CLOSE_WAIT)
//	2  CLOSE_WAIT (the client closed its side)
//	3  TIME_WAIT (the server closed first)
//
// The input is a list of steps, each a length byte and that many bytes (see
// liveStep). Between steps the virtual clock moves by a fuzzed amount and
// both stacks run their timers; a step may also let the two stacks talk
// (what they send each other is otherwise lost), make the server's
// application read, write or close, and so on. After every step:
//
//   - every packet delivered changed a counter;
//   - every byte of data the server sends is the byte its application wrote
//     at that offset, and a FIN comes only after the application closed, at
//     the end of its data;
//   - the server's application reads only bytes that some segment delivered
//     to it carried at that sequence number, and RCV.NXT covers exactly what
//     was read, what is unread, and the FIN;
//   - SND.UNA, plus what the send buffer holds, is what the application
//     wrote: nothing acknowledged is lost, nothing is invented;
//   - SND.UNA ≤ SND.NXT ≤ SND.MAX ≤ the end of the written data (and FIN);
//     SND.UNA and RCV.NXT never go back;
//   - the client's application reads exactly a prefix of what the server's
//     wrote (the fuzzer injects into the server only);
//   - and nothing panics.
func FuzzLive(f *testing.F) {
	for _, seed := range liveSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		// An input that makes the stack loop forever would hang the
		// fuzzer without a word: panic instead, with every goroutine's
		// stack, so that the loop is found.
		watchdog := time.AfterFunc(liveWatchdog, func() {
			buf := make([]byte, 1<<20)
			panic(fmt.Sprintf("FuzzLive: one input ran for %v:\n%s", liveWatchdog, buf[:runtime.Stack(buf, true)]))
		})
		defer watchdog.Stop()
		lf := newLiveFixture(t)
		defer lf.close()
		for step := 0; len(in) > 0 && step < 64; step++ {
			n := min(int(in[0]), len(in)-1)
			lf.step(liveStep(in[1 : 1+n]))
			in = in[1+n:]
		}
	})
}

// liveStep is one step of FuzzLive's input. Missing bytes read as zero.
//
//	0      target: low 3 bits (0–3 a connection, 4 a new SYN or segment
//	       to the listener, 5 and 7 the rest of the step as a raw packet,
//	       6 an ICMP error about connection 0: see buildICMP);
//	       0x08 let the stacks talk afterwards, 0x10 the server's
//	       application reads, 0x20 it writes, 0x40 it closes its sending
//	       side (CloseWrite), 0x80 it closes (Close)
//	1      TCP flags
//	2–3    sequence number: signed offset from the server's RCV.NXT
//	4–5    acknowledgment number: signed offset from the server's SND.UNA
//	6      window (high byte; also the size of an application write / 8)
//	7      options: 0x01 timestamps, 0x02 SACK blocks (count in bits 5–6),
//	       0x04 MSS, 0x08 window scale, 0x10 SACK permitted, 0x80 the
//	       offsets of bytes 2–5 are multiplied by 256
//	8      TSval: signed offset from the client's last TSval
//	9      TSecr: signed offset from the server's last TSval
//	10     time to pass before the packet: the byte squared, in ms
//	11…    SACK blocks (4 bytes each: signed start offset from SND.UNA,
//	       length), then the payload
type liveStep []byte

func (s liveStep) byteAt(i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 0
}

func (s liveStep) int16At(i int) int32 {
	return int32(int16(uint16(s.byteAt(i))<<8 | uint16(s.byteAt(i+1))))
}

// liveFixture is FuzzLive's world: a server stack under test, a client
// stack as its peer, one virtual clock, and what the test knows of each
// connection.
type liveFixture struct {
	t              *testing.T
	now            time.Time
	server, client *Stack
	sl, cl         *liveLink
	ln             *Listener
	conns          []*liveConn // the fixture's four, then those accepted from the fuzzer's handshakes
	// delivered holds every payload delivered to the server, by the
	// sender's address, so that data of connections not yet accepted is
	// known when they are.
	delivered map[netip.AddrPort][]seqData
	// synacks holds the last SYN-ACK the server sent to each address it
	// has no tracked connection with (a cookie or a SYN_RCVD's ISS), and
	// peerTS the last TSval the fuzzer sent from each.
	synacks map[netip.AddrPort]synack
	peerTS  map[netip.AddrPort]uint32
	isn     func(tcp.ID, time.Time) tcp.Value
}

// liveConn is what the test knows of one connection.
type liveConn struct {
	k    int
	s, c *Conn  // the server's end (under test) and the client's
	id   tcp.ID // the server's view

	written     []byte // what the server's application wrote
	closedWrite bool   // the server's application closed its sending side
	closed      bool   // … or the whole connection: it reads no more
	read        []byte // what the server's application read
	eof         bool
	cRead       []byte // what the client's application read

	peerTS, ourTS uint32    // the latest TSvals of the client and of the server
	una, rcvNxt   tcp.Value // the last SND.UNA and RCV.NXT seen
	iss, irs      tcp.Value
	dead          bool // CLOSED: nothing more to check
	sentFin       bool
}

type synack struct {
	seq  tcp.Value
	tsv  uint32
	seen bool
}

type seqData struct {
	seq  tcp.Value
	data []byte
}

// liveWatchdog bounds the time one input of FuzzLive may take.
const liveWatchdog = 30 * time.Second

var liveEpoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// liveLink keeps what a driven stack writes until the test takes it. A
// stack that writes more than maxLiveOutput packets without the test
// taking them is in a loop: the link panics, so that the trace shows where.
type liveLink struct{ out [][]byte }

const maxLiveOutput = 100000

func (l *liveLink) WritePackets(pkts [][]byte) (int, error) {
	for _, p := range pkts {
		l.out = append(l.out, bytes.Clone(p))
	}
	if len(l.out) > maxLiveOutput {
		panic(fmt.Sprintf("a stack wrote %d packets in one step", len(l.out)))
	}
	return len(pkts), nil
}

func (l *liveLink) ReadPackets([][]byte, []int) (int, error) { return 0, link.ErrClosed }
func (l *liveLink) MTU() int                                 { return 1500 }
func (l *liveLink) Close() error                             { return nil }

// take returns and forgets the packets written so far.
func (l *liveLink) take() [][]byte {
	out := l.out
	l.out = nil
	return out
}

// liveData is the byte the server's application writes at offset i of
// connection k's stream: a sequence with no short period, so that data at
// a wrong offset does not pass for right.
func liveData(k, i int) byte {
	x := uint64(i)*0x9E3779B97F4A7C15 + uint64(k)<<56
	x ^= x >> 29
	return byte(x * 0xBF58476D1CE4E5B9 >> 56)
}

func newLiveFixture(t *testing.T) *liveFixture {
	lf := &liveFixture{t: t, now: liveEpoch, sl: &liveLink{}, cl: &liveLink{}, conns: make([]*liveConn, 4),
		delivered: map[netip.AddrPort][]seqData{}, synacks: map[netip.AddrPort]synack{}, peerTS: map[netip.AddrPort]uint32{}}
	clock := func() time.Time { return lf.now }
	lf.isn = func(id tcp.ID, now time.Time) tcp.Value {
		return tcp.Value(uint32(id.Local.Port())*2654435761 + uint32(id.Remote.Port())*40503)
	}
	var err error
	lf.server, err = New(lf.sl, Config{Addrs: []netip.Addr{serverAddr}, Clock: clock,
		Rand: rand.New(rand.NewPCG(1, 2)), TCP: tcp.Config{ISN: lf.isn}, SynBacklog: 8, ListenBacklog: 8})
	if err != nil {
		t.Fatal(err)
	}
	lf.client, err = New(lf.cl, Config{Addrs: []netip.Addr{clientAddr}, Clock: clock,
		Rand: rand.New(rand.NewPCG(3, 4)), TCP: tcp.Config{ISN: lf.isn}})
	if err != nil {
		t.Fatal(err)
	}
	if lf.ln, err = lf.server.ListenTCP("tcp", ":80"); err != nil {
		t.Fatal(err)
	}
	for k := range lf.conns {
		c, err := lf.client.DialStart("tcp", "10.0.0.2:80")
		if err != nil {
			t.Fatal(err)
		}
		lf.talk()
		s, err := lf.ln.TryAccept()
		if err != nil {
			t.Fatalf("connection %d: no handshake: %v", k, err)
		}
		si := s.Info()
		if !si.Timestamps || !si.SACK || !si.WindowScaling {
			t.Fatalf("connection %d: options not all on: %+v", k, si)
		}
		lf.conns[k] = &liveConn{k: k, s: s, c: c, id: s.id, iss: si.ISS, irs: si.IRS,
			una: si.SendUnacked, rcvNxt: si.ReceiveNext}
	}
	a, b, c, d := lf.conns[0], lf.conns[1], lf.conns[2], lf.conns[3]

	// 0: the client's data arrives with a hole before it; the server's
	// data is lost on the way, all but its first segment.
	lf.clientWrite(a, 200)
	lf.cl.take() // lost: the hole
	lf.clientWrite(a, 400)
	lf.deliverToServer(lf.cl.take())
	lf.sl.take() // the server's duplicate ACK with its SACK block, lost
	lf.appWrite(a, 5000)
	out := lf.sl.take()
	lf.checkServerOutput(out)
	if len(out) < 3 {
		t.Fatalf("the server sent %d segments of 5000 bytes", len(out))
	}
	lf.deliverToClient(out[:1])
	lf.cl.take()

	// 1: the server closes its side; the client acknowledges.
	lf.appCloseWrite(b)
	lf.talk()
	// 2: the client closes its side.
	if err := c.c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	lf.talk()
	// 3: the server closes first, then the client.
	lf.appClose(d)
	lf.talk()
	d.c.Close()
	lf.talk()

	for k, want := range []tcp.State{tcp.Established, tcp.FinWait2, tcp.CloseWait, tcp.TimeWait} {
		if st := lf.conns[k].s.State(); st != want {
			t.Fatalf("fixture: connection %d is %v, want %v", k, st, want)
		}
	}
	if info := a.s.Info(); info.SendMax == info.SendUnacked || info.ReceiveNext != a.irs+1 || len(lf.delivered[a.id.Remote]) != 1 {
		t.Fatalf("fixture: connection 0 has SND.UNA %d, SND.MAX %d, RCV.NXT %d (IRS %d), %d segments delivered: want data in flight and a hole before 400 bytes",
			info.SendUnacked, info.SendMax, info.ReceiveNext, a.irs, len(lf.delivered[a.id.Remote]))
	}
	lf.check()
	return lf
}

func (lf *liveFixture) close() {
	lf.server.Close()
	lf.client.Close()
}

// clientWrite makes the client's application write n bytes on lc.
func (lf *liveFixture) clientWrite(lc *liveConn, n int) {
	if k, err := lc.c.TryWrite(bytes.Repeat([]byte{'c'}, n)); k != n || err != nil {
		lf.t.Fatalf("client TryWrite = %d, %v", k, err)
	}
}

// appWrite makes the server's application write up to n bytes on lc.
func (lf *liveFixture) appWrite(lc *liveConn, n int) {
	if lc.dead || lc.closedWrite {
		return
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = liveData(lc.k, len(lc.written)+i)
	}
	k, _ := lc.s.TryWrite(b)
	lc.written = append(lc.written, b[:k]...)
}

func (lf *liveFixture) appCloseWrite(lc *liveConn) {
	if lc.dead || lc.closed {
		return
	}
	lc.s.CloseWrite()
	lc.closedWrite = true
}

func (lf *liveFixture) appClose(lc *liveConn) {
	if lc.dead || lc.closed {
		return
	}
	lc.s.Close()
	lc.closedWrite, lc.closed = true, true
}

// appRead makes the server's application read everything it can on lc.
func (lf *liveFixture) appRead(lc *liveConn) {
	if lc.dead || lc.closed {
		return
	}
	var buf [4096]byte
	for {
		n, err := lc.s.TryRead(buf[:])
		if n > 0 && lc.eof {
			lf.t.Fatalf("%v: the application read %d bytes after EOF", lc.id.Remote, n)
		}
		lf.checkRead(lc, buf[:n])
		lc.read = append(lc.read, buf[:n]...)
		if err == io.EOF {
			lc.eof = true
		}
		if err != nil || n == 0 {
			return
		}
	}
}

// checkRead checks that each byte the server's application read was
// carried at its sequence number by some segment delivered to it.
func (lf *liveFixture) checkRead(lc *liveConn, b []byte) {
	seq := lc.irs + 1 + tcp.Value(len(lc.read))
	for i, x := range b {
		q := seq + tcp.Value(i)
		ok := false
		for _, d := range lf.delivered[lc.id.Remote] {
			if off := uint32(q - d.seq); off < uint32(len(d.data)) && d.data[off] == x {
				ok = true
				break
			}
		}
		if !ok {
			lf.t.Fatalf("%v: the application read %#02x at seq %d (stream offset %d), which no segment delivered carried there",
				lc.id.Remote, x, uint32(q), len(lc.read)+i)
		}
	}
}

// clientRead makes the client's application read what it can; it must be
// a prefix of what the server's application wrote.
func (lf *liveFixture) clientRead(lc *liveConn) {
	if lc.c == nil {
		return // accepted from the fuzzer's handshake: no client
	}
	var buf [4096]byte
	for {
		n, err := lc.c.TryRead(buf[:])
		lc.cRead = append(lc.cRead, buf[:n]...)
		if err != nil || n == 0 {
			break
		}
	}
	if !bytes.HasPrefix(lc.written, lc.cRead) {
		lf.t.Fatalf("%v: the client read %d bytes that are not a prefix of the %d the server's application wrote",
			lc.id.Remote, len(lc.cRead), len(lc.written))
	}
}

// deliverToServer hands packets to the server, recording the payloads of
// those for a tracked connection, and checks each changed a counter.
func (lf *liveFixture) deliverToServer(pkts [][]byte) {
	for _, p := range pkts {
		lf.recordDelivery(p)
		before := lf.server.Stats()
		lf.server.Deliver(p)
		if len(p) > 0 && lf.server.Stats() == before {
			lf.t.Fatalf("packet %x changed no counter", p)
		}
	}
}

func (lf *liveFixture) recordDelivery(p []byte) {
	ip, err := wire.ParseIPv4(p)
	if err != nil || ip.Protocol() != wire.ProtoTCP {
		return
	}
	seg, err := wire.ParseTCP(ip.Payload())
	if err != nil {
		return
	}
	remote := netip.AddrPortFrom(ip.Src(), seg.SrcPort())
	if lc := lf.connFor(remote, netip.AddrPortFrom(ip.Dst(), seg.DstPort())); lc != nil {
		var o wire.TCPOptions
		if seg.ParseOptions(&o) == nil && o.HasTimestamps && int32(o.TSVal-lc.peerTS) > 0 {
			lc.peerTS = o.TSVal
		}
	}
	if len(seg.Payload()) == 0 {
		return
	}
	seq := tcp.Value(seg.Seq())
	if seg.Flags()&wire.FlagSYN != 0 {
		seq++
	}
	lf.delivered[remote] = append(lf.delivered[remote], seqData{seq, bytes.Clone(seg.Payload())})
}

// connFor finds the live tracked connection with these addresses, as
// the server sees them.
func (lf *liveFixture) connFor(remote, local netip.AddrPort) *liveConn {
	for _, lc := range lf.conns {
		if lc != nil && !lc.dead && lc.id.Remote == remote && lc.id.Local == local {
			return lc
		}
	}
	return nil
}

// acceptAll tracks the connections that the fuzzer's handshakes opened.
func (lf *liveFixture) acceptAll() {
	for {
		s, err := lf.ln.TryAccept()
		if err != nil {
			return
		}
		info := s.Info()
		lf.conns = append(lf.conns, &liveConn{k: len(lf.conns), s: s, id: s.id, iss: info.ISS, irs: info.IRS,
			una: info.SendUnacked, rcvNxt: info.ReceiveNext, peerTS: lf.peerTS[s.id.Remote]})
		if sa := lf.synacks[s.id.Remote]; sa.seen {
			lf.conns[len(lf.conns)-1].ourTS = sa.tsv
		}
	}
}

func (lf *liveFixture) deliverToClient(pkts [][]byte) {
	for _, p := range pkts {
		lf.client.Deliver(p)
	}
}

// talk moves packets between the stacks until none is in flight (at most
// 50 rounds), checking what the server sends.
func (lf *liveFixture) talk() {
	for range 50 {
		c, s := lf.cl.take(), lf.sl.take()
		if len(c)+len(s) == 0 {
			return
		}
		lf.checkServerOutput(s)
		lf.deliverToServer(c)
		lf.deliverToClient(s)
		for _, lc := range lf.conns {
			if lc != nil {
				lf.clientRead(lc)
			}
		}
	}
}

// checkServerOutput checks every segment the server sends on a tracked
// connection: its data is what the application wrote at that offset, its
// FIN comes at the end of that data after the application closed.
func (lf *liveFixture) checkServerOutput(pkts [][]byte) {
	for _, p := range pkts {
		ip, err := wire.ParseIPv4(p)
		if err != nil {
			lf.t.Fatalf("the server sent a bad IPv4 packet %x: %v", p, err)
		}
		if ip.Src() != serverAddr {
			lf.t.Fatalf("the server sent a packet from %v", ip.Src())
		}
		if ip.Protocol() != wire.ProtoTCP {
			continue
		}
		seg, err := wire.ParseTCP(ip.Payload())
		if err != nil || !wire.VerifyTCPChecksum(ip.Src(), ip.Dst(), ip.Payload()) {
			lf.t.Fatalf("the server sent a bad TCP segment %x: %v", ip.Payload(), err)
		}
		flags := seg.Flags()
		var o wire.TCPOptions
		optsOK := seg.ParseOptions(&o) == nil
		remote := netip.AddrPortFrom(ip.Dst(), seg.DstPort())
		lc := lf.connFor(remote, netip.AddrPortFrom(ip.Src(), seg.SrcPort()))
		if lc == nil {
			if flags&(wire.FlagSYN|wire.FlagACK) == wire.FlagSYN|wire.FlagACK {
				lf.synacks[remote] = synack{seq: tcp.Value(seg.Seq()), tsv: o.TSVal, seen: true}
			}
			continue
		}
		if optsOK && o.HasTimestamps {
			lc.ourTS = o.TSVal
		}
		if flags&wire.FlagSYN != 0 || flags&wire.FlagRST != 0 {
			continue // a SYN-ACK answered from TIME_WAIT's successor, a reset: no data
		}
		off := int(int32(tcp.Value(seg.Seq()) - (lc.iss + 1)))
		data := seg.Payload()
		if len(data) == 0 && flags&wire.FlagFIN == 0 {
			// An ACK, a window or keep-alive probe (SND.UNA-1 or
			// SND.NXT-1): its number must be in the stream, or just
			// before, or after the FIN.
			if off < -1 || off > len(lc.written)+1 || off == len(lc.written)+1 && !lc.sentFin {
				lf.t.Fatalf("%v: the server sent an ACK with seq at stream offset %d; its application wrote %d bytes (FIN sent: %v)",
					lc.id.Remote, off, len(lc.written), lc.sentFin)
			}
			continue
		}
		if off < 0 || off+len(data) > len(lc.written) {
			lf.t.Fatalf("%v: the server sent %d bytes at stream offset %d, beyond the %d its application wrote",
				lc.id.Remote, len(data), off, len(lc.written))
		}
		if !bytes.Equal(data, lc.written[off:off+len(data)]) {
			lf.t.Fatalf("%v: the server sent %d bytes at stream offset %d that differ from what its application wrote there",
				lc.id.Remote, len(data), off)
		}
		if flags&wire.FlagFIN != 0 {
			if !lc.closedWrite || off+len(data) != len(lc.written) {
				lf.t.Fatalf("%v: the server sent a FIN at stream offset %d; its application wrote %d bytes and closed: %v",
					lc.id.Remote, off+len(data), len(lc.written), lc.closedWrite)
			}
			lc.sentFin = true
		}
	}
}

// check verifies the invariants of every tracked connection.
func (lf *liveFixture) check() {
	infos := lf.server.Connections()
	for _, lc := range lf.conns {
		if lc.dead {
			continue
		}
		var ci *ConnInfo
		for i := range infos {
			if infos[i].ID == lc.id {
				ci = &infos[i]
			}
		}
		info := lc.s.Info()
		if ci == nil || info.State == tcp.Closed {
			lc.dead = true // reset, timed out, or TIME_WAIT ended
			continue
		}
		if info.ISS != lc.iss || info.IRS != lc.irs {
			lf.t.Fatalf("%v: ISS %d IRS %d changed from %d %d", lc.id.Remote, info.ISS, info.IRS, lc.iss, lc.irs)
		}
		una, nxt, smax := info.SendUnacked, info.SendNext, info.SendMax
		fin := 0
		if lc.closedWrite {
			fin = 1
		}
		end := lc.iss + 1 + tcp.Value(len(lc.written)+fin)
		if int32(nxt-una) < 0 || int32(smax-nxt) < 0 || int32(end-smax) < 0 {
			lf.t.Fatalf("%v in %v: SND.UNA %d, SND.NXT %d, SND.MAX %d, end of data %d: out of order",
				lc.id.Remote, info.State, una, nxt, smax, end)
		}
		if int32(una-lc.una) < 0 {
			lf.t.Fatalf("%v: SND.UNA went back from %d to %d", lc.id.Remote, lc.una, una)
		}
		lc.una = una
		acked := int(int32(una - (lc.iss + 1)))
		if una == end && fin == 1 {
			acked = len(lc.written) // the FIN is acknowledged too
		}
		if acked+ci.SendQueue != len(lc.written) {
			lf.t.Fatalf("%v in %v: %d bytes acknowledged and %d in the send buffer, but the application wrote %d",
				lc.id.Remote, info.State, acked, ci.SendQueue, len(lc.written))
		}

		rn := info.ReceiveNext
		if int32(rn-lc.rcvNxt) < 0 {
			lf.t.Fatalf("%v: RCV.NXT went back from %d to %d", lc.id.Remote, lc.rcvNxt, rn)
		}
		lc.rcvNxt = rn
		finIn := 0
		switch info.State {
		case tcp.CloseWait, tcp.LastAck, tcp.Closing, tcp.TimeWait:
			finIn = 1
		}
		if !lc.closed {
			if got := int(int32(rn - (lc.irs + 1))); got != len(lc.read)+ci.RecvQueue+finIn {
				lf.t.Fatalf("%v in %v: RCV.NXT is %d bytes past IRS+1, but %d were read, %d are unread, FIN %d",
					lc.id.Remote, info.State, got, len(lc.read), ci.RecvQueue, finIn)
			}
		}
		if info.CongestionWindow <= 0 || info.SendMSS <= 0 || info.SendWindow < 0 || info.ReceiveWindow < 0 ||
			info.InFlight < 0 || info.RTO <= 0 || info.RTO > 120*time.Second {
			lf.t.Fatalf("%v: insane Info %+v", lc.id.Remote, info)
		}
	}
}

// runClock moves the clock by d, running both stacks' timers as they come
// due; what the timers send is checked (the server's) and lost.
func (lf *liveFixture) runClock(d time.Duration) {
	end := lf.now.Add(d)
	for spins := 0; ; spins++ {
		if spins > 10000 {
			lf.t.Fatalf("at +%v, timers keep coming due without the clock moving: server's next %v, client's next %v",
				lf.now.Sub(liveEpoch), lf.server.NextTimer().Sub(liveEpoch), lf.client.NextTimer().Sub(liveEpoch))
		}
		next := end
		for _, s := range []*Stack{lf.server, lf.client} {
			if t := s.NextTimer(); !t.IsZero() && t.Before(next) {
				next = t
			}
		}
		if next.After(lf.now) {
			lf.now = next
		}
		lf.server.RunTimers()
		lf.client.RunTimers()
		lf.checkServerOutput(lf.sl.take())
		lf.cl.take()
		if !lf.now.Before(end) {
			return
		}
	}
}

// step carries out one step of the input.
func (lf *liveFixture) step(s liveStep) {
	ms := int(s.byteAt(10))
	lf.runClock(time.Duration(ms*ms) * time.Millisecond)

	ctl := s.byteAt(0)
	target := int(ctl & 7)
	var pkt []byte
	var lc *liveConn
	switch target {
	case 5, 7:
		pkt = []byte(s[min(1, len(s)):])
	case 6:
		lc = lf.conns[0]
		pkt = lf.buildICMP(s, lc)
	case 4:
		remote := netip.AddrPortFrom(clientAddr, 40000+uint16(s.byteAt(6)&15))
		lc = lf.connFor(remote, netip.AddrPortFrom(serverAddr, 80))
		pkt = lf.build(s, lc, remote)
	default:
		lc = lf.conns[target]
		pkt = lf.build(s, lc, lc.id.Remote)
	}
	lf.deliverToServer([][]byte{pkt})
	lf.acceptAll()

	if lc != nil {
		if ctl&0x20 != 0 {
			lf.appWrite(lc, int(s.byteAt(6))*8+1)
		}
		if ctl&0x40 != 0 {
			lf.appCloseWrite(lc)
		}
		if ctl&0x80 != 0 {
			lf.appClose(lc)
		}
	}
	if ctl&0x10 != 0 {
		for _, c := range lf.conns {
			lf.appRead(c)
		}
	}
	if ctl&0x08 != 0 {
		lf.talk()
	} else {
		lf.checkServerOutput(lf.sl.take())
		lf.cl.take()
	}
	lf.check()
}

// build makes a segment from remote to the server's port 80 (or lc's),
// with its numbers relative to lc's (or, for the listener, to the ISN the
// server would choose).
func (lf *liveFixture) build(s liveStep, lc *liveConn, remote netip.AddrPort) []byte {
	local := netip.AddrPortFrom(serverAddr, 80)
	var rcvNxt, una tcp.Value
	var peerTS, ourTS uint32
	if lc != nil {
		local = lc.id.Local
		info := lc.s.Info()
		rcvNxt, una = info.ReceiveNext, info.SendUnacked
		peerTS, ourTS = lc.peerTS, lc.ourTS
	} else {
		// A SYN to the listener, or the ACK of the server's SYN-ACK (or
		// of a cookie) if it sent one.
		id := tcp.ID{Local: local, Remote: remote}
		rcvNxt, una = 1000, lf.isn(id, lf.now)+1
		if sa := lf.synacks[remote]; sa.seen {
			una, ourTS = sa.seq+1, sa.tsv
		}
		peerTS = lf.peerTS[remote]
	}
	o := s.byteAt(7)
	scale := int32(1)
	if o&0x80 != 0 {
		scale = 256
	}
	seq := rcvNxt + tcp.Value(s.int16At(2)*scale)
	ack := una + tcp.Value(s.int16At(4)*scale)
	var opts wire.TCPOptions
	if o&0x01 != 0 {
		opts.HasTimestamps = true
		opts.TSVal = peerTS + uint32(int32(int8(s.byteAt(8))))
		opts.TSEcr = ourTS + uint32(int32(int8(s.byteAt(9))))
		if lc != nil && int32(opts.TSVal-lc.peerTS) > 0 {
			lc.peerTS = opts.TSVal
		}
		if lc == nil {
			lf.peerTS[remote] = opts.TSVal
		}
	}
	if o&0x04 != 0 {
		opts.HasMSS, opts.MSS = true, 536+uint16(s.byteAt(6))*4
	}
	if o&0x08 != 0 {
		opts.HasWindowScale, opts.WindowScale = true, s.byteAt(9)&15
	}
	opts.SACKPermitted = o&0x10 != 0
	rest := s[min(11, len(s)):]
	if o&0x02 != 0 {
		n := int(o>>5) & 3
		if opts.HasTimestamps {
			n = min(n, 3)
		}
		if opts.HasMSS || opts.HasWindowScale || opts.SACKPermitted {
			n = min(n, 2)
		}
		for i := 0; i < n && len(rest) >= 4; i++ {
			start := una + tcp.Value(int32(int16(binary.BigEndian.Uint16(rest))))
			opts.SACKBlocks[i] = wire.SACKBlock{Left: uint32(start), Right: uint32(start) + uint32(binary.BigEndian.Uint16(rest[2:]))}
			opts.NumSACK++
			rest = rest[4:]
		}
	}
	seg := make([]byte, 60+len(rest))
	h := wire.TCPHeader{SrcPort: remote.Port(), DstPort: local.Port(), Seq: uint32(seq), Ack: uint32(ack),
		Flags: wire.TCPFlags(s.byteAt(1)), Window: uint16(s.byteAt(6))<<8 | uint16(s.byteAt(6)), Urgent: uint16(s.byteAt(8))}
	n := h.Marshal(seg, &opts)
	n += copy(seg[n:], rest)
	seg = seg[:n]
	wire.SetTCPChecksum(remote.Addr(), local.Addr(), seg)
	b := make([]byte, wire.IPv4MinHeaderLen+len(seg))
	ih := wire.IPv4Header{ID: 1, TTL: 64, Protocol: wire.ProtoTCP, Src: remote.Addr(), Dst: local.Addr(), PayloadLen: len(seg)}
	ih.Marshal(b)
	copy(b[wire.IPv4MinHeaderLen:], seg)
	return b
}

// buildICMP makes an ICMP error from the client's address quoting a
// segment of lc from the server: byte 1 chooses the message (bit 0 set:
// destination unreachable with the code in bits 1–4, which for 4,
// fragmentation needed, has a next-hop MTU of byte 6 times 8; clear: time
// exceeded), bytes 2–3 the quoted sequence number, as a signed offset from
// SND.UNA.
func (lf *liveFixture) buildICMP(s liveStep, lc *liveConn) []byte {
	var orig [wire.IPv4MinHeaderLen + 8]byte
	oh := wire.IPv4Header{TTL: 64, Protocol: wire.ProtoTCP, Src: lc.id.Local.Addr(), Dst: lc.id.Remote.Addr(), PayloadLen: 1460}
	oh.Marshal(orig[:])
	th := orig[wire.IPv4MinHeaderLen:]
	binary.BigEndian.PutUint16(th[0:], lc.id.Local.Port())
	binary.BigEndian.PutUint16(th[2:], lc.id.Remote.Port())
	binary.BigEndian.PutUint32(th[4:], uint32(lc.s.Info().SendUnacked+tcp.Value(s.int16At(2))))
	m := make([]byte, wire.ICMPv4HeaderLen+len(orig))
	kind := s.byteAt(1)
	n := wire.MarshalDestUnreachable(m, kind>>1&15, orig[:])
	icmp := wire.ICMPv4(m[:n])
	if kind&1 == 0 {
		m[0], m[1] = wire.ICMPTimeExceeded, 0
		m[2], m[3] = 0, 0
		binary.BigEndian.PutUint16(m[2:], wire.Checksum(m[:n]))
	} else if kind>>1&15 == wire.CodeFragNeeded {
		icmp.SetNextHopMTU(uint16(s.byteAt(6)) * 8)
	}
	b := make([]byte, wire.IPv4MinHeaderLen+n)
	ih := wire.IPv4Header{ID: 1, TTL: 64, Protocol: wire.ProtoICMP, Src: lc.id.Remote.Addr(), Dst: lc.id.Local.Addr(), PayloadLen: n}
	ih.Marshal(b)
	copy(b[wire.IPv4MinHeaderLen:], m[:n])
	return b
}

// liveSeeds are inputs that reach the interesting paths: in-window data
// filling the hole, a SACK of the data in flight, an in-window RST, a SYN
// on an established connection, a FIN, an ACK of everything, a time jump
// that fires the retransmission timer, a new connection to the listener.
func liveSeeds() [][]byte {
	const (
		ts     = 0x01
		sack   = 0x02 | 1<<5
		talk   = 0x08
		read   = 0x10
		write  = 0x20
		closeW = 0x40
	)
	step := func(ctl, flags byte, seq, ack int16, win, opts, tsv, tse, wait byte, rest ...byte) []byte {
		b := []byte{ctl, flags, byte(seq >> 8), byte(seq), byte(ack >> 8), byte(ack), win, opts, tsv, tse, wait}
		b = append(b, rest...)
		return append([]byte{byte(len(b))}, b...)
	}
	cat := func(steps ...[]byte) []byte { return bytes.Join(steps, nil) }
	ACK, PSH, RST, SYN, FIN := byte(wire.FlagACK), byte(wire.FlagPSH), byte(wire.FlagRST), byte(wire.FlagSYN), byte(wire.FlagFIN)
	hole := bytes.Repeat([]byte{'h'}, 200)
	return [][]byte{
		cat(step(0|read, ACK|PSH, 0, 0, 0x80, ts, 1, 0, 0, hole...)),
		cat(step(0, ACK, 0, 1460, 0x80, ts|sack, 1, 0, 0, 0x05, 0xb4, 0x05, 0xb4)),
		cat(step(0, RST, 5, 0, 0, 0, 0, 0, 0)),
		cat(step(0, SYN, 0, 0, 0x40, ts, 1, 0, 0)),
		cat(step(2|read, ACK|FIN, 0, 0, 0x80, ts, 1, 0, 3)),
		cat(step(1|read|closeW, ACK|FIN, 0, 0, 0x80, ts, 1, 0, 0, 'x'), step(1, ACK, 1, 0, 0x80, ts, 2, 0, 30)),
		cat(step(0|write, ACK, 0, 5000, 0x80, ts, 1, 0, 0), step(0|talk|read, ACK, 0, 0, 0x80, ts, 1, 0, 40)),
		cat(step(3, ACK|FIN, -1, 0, 0x80, ts, 0, 0, 0), step(3, RST, 0, 0, 0, 0, 0, 0, 200)),
		cat(step(4, SYN, 0, 0, 0x40, ts|0x04|0x08|0x10, 1, 0, 0), step(4, ACK, 1, 0, 0x40, ts, 2, 0, 0)),
		cat(step(5, 0x45, 0, 0, 0, 0, 0, 0, 0)),
		cat(step(0|talk|read, ACK, 0, 0, 0x80, ts, 1, 0, 255), step(0|talk|read|write, ACK|PSH, 0, 0, 0x80, ts, 1, 0, 10, 'y')),
		// Three duplicate ACKs with SACK blocks above a hole: recovery.
		cat(step(0, ACK, 0, 0, 0x80, ts|sack, 1, 0, 0, 0x05, 0xb4, 0x05, 0xb4),
			step(0, ACK, 0, 0, 0x80, ts|sack, 1, 0, 0, 0x05, 0xb4, 0x0b, 0x68),
			step(0|write, ACK, 0, 0, 0x80, ts|sack, 1, 0, 0, 0x05, 0xb4, 0x0d, 0x84)),
		// A zero window (from the client's SND.NXT, past the hole, so
		// that the window is taken), then more data from the
		// application: window probes.
		cat(step(0|write, ACK, 600, 5000, 0, ts, 1, 0, 0), step(0, ACK, 600, 0, 0, ts, 2, 0, 40), step(0|talk, ACK, 600, 0, 0, 0, 0, 0, 60)),
		// Fragmentation needed (MTU 576) and a port unreachable, about data in flight.
		cat(step(6, 1|wire.CodeFragNeeded<<1, 0, 0, 72, 0, 0, 0, 0), step(6, 1|wire.CodePortUnreachable<<1, 0, 100, 0, 0, 0, 0, 0)),
		// Nine SYNs fill the half-open queue of 8, and the ninth gets a
		// SYN cookie; the eight are acknowledged, and so is the cookie.
		func() []byte {
			var b []byte
			for i := range byte(9) {
				b = append(b, step(4, SYN, 0, 0, i, ts|0x04|0x08|0x10, 1, 0, 0)...)
			}
			for i := range byte(9) {
				b = append(b, step(4, ACK, 1, 0, i, ts, 2, 0, 0)...)
			}
			return b
		}(),
	}
}

// TestLiveSteps checks that FuzzLive's packets land where they are aimed:
// data at RCV.NXT fills the hole and releases the out-of-order data, an
// ACK of SND.UNA+1460 leaves the rest in the send buffer, data and a FIN in
// FIN_WAIT_2 lead to TIME_WAIT, a SYN to the listener with the server's
// ISN+1 acknowledged in the next step opens a connection, and so does a
// cookie's ACK when the half-open queue is full.
func TestLiveSteps(t *testing.T) {
	seeds := liveSeeds()
	run := func(in []byte) *liveFixture {
		lf := newLiveFixture(t)
		t.Cleanup(lf.close)
		for len(in) > 0 {
			n := min(int(in[0]), len(in)-1)
			lf.step(liveStep(in[1 : 1+n]))
			in = in[1+n:]
		}
		return lf
	}
	lf := run(seeds[0])
	if a := lf.conns[0]; string(a.read) != strings.Repeat("h", 200)+strings.Repeat("c", 400) {
		t.Errorf("after the hole is filled, the application read %q", a.read)
	}
	lf = run(seeds[1])
	if a := lf.conns[0]; a.s.info().SendQueue != 5000-1460 || a.s.Info().SendUnacked != a.iss+1461 {
		t.Errorf("after an ACK of 1460 bytes of 5000: Send-Q %d, SND.UNA %d (ISS %d)", a.s.info().SendQueue, a.s.Info().SendUnacked, a.iss)
	}
	lf = run(seeds[5])
	if b := lf.conns[1]; b.s.State() != tcp.TimeWait || string(b.read) != "x" {
		t.Errorf("after data and a FIN in FIN_WAIT_2: %v, read %q; want TIME_WAIT and \"x\"", b.s.State(), b.read)
	}
	lf = run(seeds[8])
	if len(lf.conns) != 5 || lf.conns[4].s.State() != tcp.Established {
		t.Errorf("after a SYN and an ACK of the server's ISN+1 to the listener: %d connections; want a fifth, accepted", len(lf.conns))
	}
	lf = run(seeds[len(seeds)-1])
	if st := lf.ln.Stats(); st.SynCookiesSent != 1 || st.SynCookiesValid != 1 || len(lf.conns) != 5+8 {
		t.Errorf("after 9 SYNs to a listener with room for 8 half-open, and the ACK of the cookie: %+v, %d connections; want one cookie sent and validated, 13 connections",
			st, len(lf.conns))
	}
}
