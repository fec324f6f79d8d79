package sim

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/seqack/seqack/link"
	"github.com/seqack/seqack/stack"
	"github.com/seqack/seqack/tcp"
	"github.com/seqack/seqack/trace"
	"github.com/seqack/seqack/wire"
)

var (
	clientAddr = netip.MustParseAddr("10.0.0.1")
	serverAddr = netip.MustParseAddr("10.0.0.2")
)

// newPair returns a simulation with a client and a server joined by a link
// with the given paths, both tracing into rec if it is not nil.
func newPair(t testing.TB, seed uint64, toServer, toClient link.NetemConfig, rec *trace.Recorder) (*Sim, *Host, *Host) {
	t.Helper()
	s := New(seed)
	var cfg stack.Config
	if rec != nil {
		cfg.Trace = rec
	}
	c, err := s.AddHost("client", clientAddr, 0, cfg)
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.AddHost("server", serverAddr, 0, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Join(c, v, toServer, toClient); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, c, v
}

func TestTransfer(t *testing.T) {
	path := link.NetemConfig{Delay: 10 * time.Millisecond}
	tests := []struct {
		name          string
		bytes, revers int64
	}{
		{"nothing", 0, 0},
		{"one byte", 1, 0},
		{"upload", 300 << 10, 0},
		{"download", 0, 300 << 10},
		{"both ways", 200 << 10, 100 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c, v := newPair(t, 1, path, path, nil)
			res, err := s.Transfer(c, v, TransferConfig{Bytes: tt.bytes, ReverseBytes: tt.revers})
			if err != nil {
				t.Fatal(err)
			}
			if res.Retransmits != 0 || res.Forward.Lost != 0 {
				t.Errorf("retransmissions on a perfect path: %+v", res)
			}
			if res.Segments == 0 || res.Forward.Delivered == 0 || res.Reverse.Delivered == 0 {
				t.Errorf("no traffic counted: %+v", res)
			}
			// Both ends closed: one went through TIME_WAIT (2×MSL = 60 s).
			if res.Elapsed < time.Minute {
				t.Errorf("Elapsed %v; a clean close takes TIME_WAIT's 60 s", res.Elapsed)
			}
			if cs, vs := c.Stack().Connections(), v.Stack().Connections(); len(cs)+len(vs) != 0 {
				t.Errorf("connections left: %v %v", cs, vs)
			}
			if tt.bytes+tt.revers > 0 {
				// At least the handshake's second half and a data trip.
				if res.DataTime < 10*time.Millisecond || res.Goodput <= 0 {
					t.Errorf("DataTime %v, goodput %v over a 10 ms path", res.DataTime, res.Goodput)
				}
			}
			if tt.bytes > 0 && tt.revers > 0 && res.SHA256[0] == res.SHA256[1] {
				t.Error("the two directions carried the same data")
			}
		})
	}
}

func TestTransferNeedsJoinedHosts(t *testing.T) {
	s := New(1)
	defer s.Close()
	c, _ := s.AddHost("client", clientAddr, 0, stack.Config{})
	v, _ := s.AddHost("server", serverAddr, 0, stack.Config{})
	if _, err := s.Transfer(c, v, TransferConfig{Bytes: 1}); err == nil || !strings.Contains(err.Error(), "not joined") {
		t.Errorf("Transfer between unjoined hosts = %v", err)
	}
	s.Join(c, v, link.NetemConfig{}, link.NetemConfig{})
	if _, err := s.Transfer(c, v, TransferConfig{Bytes: -1}); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Errorf("Transfer of -1 bytes = %v", err)
	}
}

// impaired is a path that does a little of everything.
var impaired = link.NetemConfig{
	Loss: 0.03, Delay: 15 * time.Millisecond, Jitter: 5 * time.Millisecond,
	Reorder: 0.03, Duplicate: 0.03, Corrupt: 0.03,
}

func TestSameSeedSameTrace(t *testing.T) {
	run := func(seed uint64) ([]trace.Event, TransferResult) {
		var rec trace.Recorder
		s, c, v := newPair(t, seed, impaired, impaired, &rec)
		res, err := s.Transfer(c, v, TransferConfig{Bytes: 100 << 10, ReverseBytes: 50 << 10})
		if err != nil {
			t.Fatal(err)
		}
		return rec.Events(), res
	}
	a, ra := run(7)
	b, rb := run(7)
	if !reflect.DeepEqual(ra, rb) {
		t.Errorf("same seed, different results:\n%+v\n%+v", ra, rb)
	}
	if len(a) != len(b) {
		t.Fatalf("same seed, %d and %d events", len(a), len(b))
	}
	for i := range a {
		if !reflect.DeepEqual(a[i], b[i]) {
			t.Fatalf("same seed, event %d differs:\n%+v\n%+v", i, a[i], b[i])
		}
	}
	if ra.Forward.Lost == 0 || ra.Forward.Reordered == 0 || ra.Forward.Duplicated+ra.Reverse.Duplicated == 0 ||
		ra.Forward.Corrupted+ra.Reverse.Corrupted == 0 {
		t.Errorf("the path did not impair much: %+v %+v", ra.Forward, ra.Reverse)
	}
	c, _ := run(8)
	if reflect.DeepEqual(a, c) {
		t.Error("seeds 7 and 8 gave the same trace")
	}
}

// retouch edits the TCP segment in an IPv4 packet and fixes its checksum,
// so that the receiver believes it.
func retouch(pkt []byte, edit func(seg []byte)) {
	ip, err := wire.ParseIPv4(pkt)
	if err != nil || ip.Protocol() != wire.ProtoTCP {
		return
	}
	seg := pkt[ip.HeaderLen():ip.TotalLen()]
	edit(seg)
	wire.SetTCPChecksum(ip.Src(), ip.Dst(), seg)
}

func TestTransferDetectsDamage(t *testing.T) {
	s, c, v := newPair(t, 1, link.NetemConfig{Delay: time.Millisecond}, link.NetemConfig{Delay: time.Millisecond}, nil)
	damaged := false
	s.tamper = func(from *Host, pkt []byte) {
		if from != c || damaged {
			return
		}
		retouch(pkt, func(seg []byte) {
			if hl := int(seg[12]>>4) * 4; len(seg) > hl+100 {
				seg[hl+100] ^= 0xff // a byte of data, with a checksum to match
				damaged = true
			}
		})
	}
	_, err := s.Transfer(c, v, TransferConfig{Bytes: 64 << 10})
	if !damaged {
		t.Fatal("no data segment to damage")
	}
	if err == nil || !strings.Contains(err.Error(), "SHA-256") || !strings.Contains(err.Error(), "seed 1") {
		t.Errorf("Transfer with damaged data = %v; want a SHA-256 mismatch naming the seed", err)
	}
}

func TestTransferDetectsReset(t *testing.T) {
	s, c, v := newPair(t, 1, link.NetemConfig{Delay: time.Millisecond}, link.NetemConfig{Delay: time.Millisecond}, nil)
	n := 0
	s.tamper = func(from *Host, pkt []byte) {
		if from != v {
			return
		}
		if n++; n == 3 { // after the SYN-ACK and one ACK: a reset the client accepts
			retouch(pkt, func(seg []byte) { seg[13] = byte(wire.FlagRST | wire.FlagACK) })
		}
	}
	_, err := s.Transfer(c, v, TransferConfig{Bytes: 256 << 10})
	if err == nil || !strings.Contains(err.Error(), "reset") {
		t.Errorf("Transfer with a reset = %v; want an error about the reset", err)
	}
}

func TestRun(t *testing.T) {
	s := New(1)
	defer s.Close()
	if err := s.Run(nil, time.Hour); err != nil {
		t.Errorf("Run(nil) of an idle simulation = %v", err)
	}
	err := s.Run(func() bool { return false }, time.Hour)
	if err == nil || !strings.Contains(err.Error(), "nothing left to happen") || !strings.Contains(err.Error(), "no connection is open") {
		t.Errorf("Run waiting for nothing = %v", err)
	}
	// Callbacks run in time order, then in the order they were added.
	var got []string
	at := func(d time.Duration, name string) {
		s.At(Epoch.Add(d), func() {
			got = append(got, name+"@"+s.Elapsed().String())
		})
	}
	at(2*time.Second, "c")
	at(time.Second, "a")
	at(time.Second, "b")
	if err := s.Run(nil, time.Hour); err != nil {
		t.Fatal(err)
	}
	if want := []string{"a@1s", "b@1s", "c@2s"}; !reflect.DeepEqual(got, want) {
		t.Errorf("callbacks ran as %v; want %v", got, want)
	}
	// An app runs until it is done.
	steps := 0
	s.AddApp(func() (bool, error) { steps++; return steps == 3, nil })
	at(3*time.Second, "d")
	at(4*time.Second, "e")
	at(5*time.Second, "f")
	at(6*time.Second, "g")
	s.Run(nil, time.Hour)
	if steps != 3 {
		t.Errorf("app stepped %d times; want 3 (done at the third)", steps)
	}
	if s.Elapsed() != 6*time.Second {
		t.Errorf("clock at %v; want 6s", s.Elapsed())
	}
}

func TestRunLimitNamesOpenConnections(t *testing.T) {
	blackHole := link.NetemConfig{Loss: 1}
	s, c, _ := newPair(t, 1, blackHole, blackHole, nil)
	conn, err := c.Stack().DialStart("tcp", "10.0.0.2:80")
	if err != nil {
		t.Fatal(err)
	}
	err = s.Run(func() bool { return conn.State() == tcp.Established }, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "limit of 5s") || !strings.Contains(err.Error(), "SYN_SENT") ||
		!strings.Contains(err.Error(), "seed 1") {
		t.Errorf("Run past its limit = %v; want the limit, the seed and the SYN_SENT connection named", err)
	}
	if s.Elapsed() != 5*time.Second {
		t.Errorf("clock at %v; want the 5 s limit", s.Elapsed())
	}
	if st := c.Stats(); st.SegmentsSent < 2 || st.Retransmits < 1 {
		t.Errorf("host stats %+v; want a SYN and its retransmissions", st)
	}
}

func TestAppErrorStopsRun(t *testing.T) {
	s := New(1)
	defer s.Close()
	s.At(Epoch.Add(time.Second), func() {})
	s.AddApp(func() (bool, error) {
		if s.Elapsed() >= time.Second {
			return false, errTest
		}
		return false, nil
	})
	if err := s.Run(nil, time.Hour); err != errTest {
		t.Errorf("Run = %v; want the app's error", err)
	}
}

var errTest = errorString("test error")

type errorString string

func (e errorString) Error() string { return string(e) }

func TestAddHostAndJoinErrors(t *testing.T) {
	s := New(1)
	a, err := s.AddHost("a", clientAddr, 0, stack.Config{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := s.AddHost("b", serverAddr, 0, stack.Config{})
	small, _ := s.AddHost("small", netip.MustParseAddr("10.0.0.3"), 576, stack.Config{})
	c, _ := s.AddHost("c", netip.MustParseAddr("10.0.0.4"), 0, stack.Config{})
	other, _ := New(2).AddHost("x", clientAddr, 0, stack.Config{})
	hostTests := []struct {
		name, host string
		addr       netip.Addr
		mtu        int
		cfg        stack.Config
		want       string
	}{
		{"IPv6", "v6", netip.MustParseAddr("::1"), 0, stack.Config{}, "not IPv4"},
		{"invalid", "bad", netip.Addr{}, 0, stack.Config{}, "not IPv4"},
		{"same name", "a", netip.MustParseAddr("10.0.0.9"), 0, stack.Config{}, `already a host named "a"`},
		{"same address", "z", clientAddr, 0, stack.Config{}, "already has address 10.0.0.1"},
		{"addrs", "z", netip.MustParseAddr("10.0.0.9"), 0, stack.Config{Addrs: []netip.Addr{clientAddr}}, "not its address"},
		{"tiny MTU", "z", netip.MustParseAddr("10.0.0.9"), 40, stack.Config{}, "MTU 40"},
	}
	for _, tt := range hostTests {
		if _, err := s.AddHost(tt.host, tt.addr, tt.mtu, tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: AddHost = %v; want an error with %q", tt.name, err, tt.want)
		}
	}
	joinTests := []struct {
		name string
		a, b *Host
		ab   link.NetemConfig
		want string
	}{
		{"itself", a, a, link.NetemConfig{}, "to itself"},
		{"MTUs", a, small, link.NetemConfig{}, "different MTUs"},
		{"foreign", a, other, link.NetemConfig{}, "not in this simulation"},
		{"nil", a, nil, link.NetemConfig{}, "not in this simulation"},
		{"netem", a, b, link.NetemConfig{Loss: 2}, "a→b: link: netem Loss is 2"},
	}
	for _, tt := range joinTests {
		if _, err := s.Join(tt.a, tt.b, tt.ab, link.NetemConfig{}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Join = %v; want an error with %q", tt.name, err, tt.want)
		}
	}
	l, err := s.Join(a, b, link.NetemConfig{}, link.NetemConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if x, y := l.Hosts(); x != a || y != b || a.Link() != l || b.Link() != l {
		t.Error("the link does not join a and b")
	}
	if _, err := s.Join(a, c, link.NetemConfig{}, link.NetemConfig{}); err == nil || !strings.Contains(err.Error(), `"a" is already joined`) {
		t.Errorf("second Join of a = %v", err)
	}
	// A host with no link drops what it sends, and counts it.
	if _, err := c.Stack().DialStart("tcp", "10.0.0.2:80"); err != nil {
		t.Fatal(err)
	}
	if c.Stats().Unconnected != 1 {
		t.Errorf("unjoined host: %+v; want 1 unconnected packet", c.Stats())
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	if _, err := s.AddHost("late", netip.MustParseAddr("10.0.0.8"), 0, stack.Config{}); err == nil {
		t.Error("AddHost after Close succeeded")
	}
	if err := s.Run(nil, time.Second); err == nil {
		t.Error("Run after Close succeeded")
	}
}

func TestSeedsDeriveHostRandomness(t *testing.T) {
	isn := func(seed uint64) tcp.Value {
		var rec trace.Recorder
		s := New(seed)
		defer s.Close()
		h, _ := s.AddHost("h", clientAddr, 0, stack.Config{Trace: &rec})
		h.Stack().DialStart("tcp", "10.0.0.2:80")
		for _, e := range rec.Events() {
			if e.Kind == trace.SegmentSent {
				return tcp.Value(e.Seg.Seq)
			}
		}
		t.Fatal("no SYN")
		return 0
	}
	if a, b := isn(1), isn(1); a != b {
		t.Errorf("same seed, ISNs %d and %d", a, b)
	}
	if isn(1) == isn(2) {
		t.Error("seeds 1 and 2 gave the same ISN")
	}
	// A host's own ISN function is kept.
	s := New(1)
	defer s.Close()
	var rec trace.Recorder
	h, _ := s.AddHost("h", clientAddr, 0, stack.Config{Trace: &rec,
		TCP: tcp.Config{ISN: func(tcp.ID, time.Time) tcp.Value { return 12345 }}})
	h.Stack().DialStart("tcp", "10.0.0.2:80")
	if evs := rec.Events(); len(evs) < 2 || evs[1].Seg.Seq != 12345 {
		t.Errorf("the host's own ISN was not used: %+v", evs)
	}
}

// TestLongTransferIsVirtual moves 7.5 MB through a 1 Mbit/s bottleneck on
// a 100 ms path: a minute of virtual time, in a moment of real time.
func TestLongTransferIsVirtual(t *testing.T) {
	const rate = 1e6
	path := link.NetemConfig{Delay: 50 * time.Millisecond, Rate: rate}
	s, c, v := newPair(t, 1, path, link.NetemConfig{Delay: 50 * time.Millisecond}, nil)
	res, err := s.Transfer(c, v, TransferConfig{Bytes: 7_500_000})
	if err != nil {
		t.Fatal(err)
	}
	if res.DataTime < time.Minute {
		t.Errorf("7.5 MB through 1 Mbit/s took %v; it cannot take less than 60 s", res.DataTime)
	}
	if res.Goodput > rate {
		t.Errorf("goodput %.0f bit/s above the bottleneck's %v", res.Goodput, rate)
	}
	t.Logf("virtual %v, goodput %.3f Mbit/s, %d retransmissions", res.DataTime, res.Goodput/1e6, res.Retransmits)
}

// TestISNFunc checks the seeded RFC 6528 generator: the same 4-tuple's
// numbers grow with the 4 µs clock; different 4-tuples get unrelated ones.
func TestISNFunc(t *testing.T) {
	f := isnFunc(99)
	id := tcp.ID{Local: netip.MustParseAddrPort("10.0.0.1:1000"), Remote: netip.MustParseAddrPort("10.0.0.2:80")}
	other := tcp.ID{Local: netip.MustParseAddrPort("10.0.0.1:1001"), Remote: netip.MustParseAddrPort("10.0.0.2:80")}
	a, b := f(id, Epoch), f(id, Epoch.Add(time.Second))
	if b-a != tcp.Value(time.Second/(4*time.Microsecond)) {
		t.Errorf("ISN grew by %d in 1 s; want 250000", b-a)
	}
	if f(other, Epoch) == a {
		t.Error("two 4-tuples share an ISN")
	}
	if isnFunc(100)(id, Epoch) == a {
		t.Error("two keys give the same ISN")
	}
	if derive(1, saltISN, 0) == derive(1, saltRand, 0) || derive(1, saltISN, 0) == derive(2, saltISN, 0) {
		t.Error("derive does not separate salts or seeds")
	}
}

func TestHostSinkCleanCloses(t *testing.T) {
	l, r := netip.MustParseAddrPort("10.0.0.1:1000"), netip.MustParseAddrPort("10.0.0.2:80")
	state := func(from, to tcp.State) trace.Event {
		return trace.Event{Kind: trace.StateChanged, Local: l, Remote: r, From: from.String(), To: to.String()}
	}
	recv := func(flags wire.TCPFlags) trace.Event {
		e := trace.Event{Kind: trace.SegmentReceived, Local: l, Remote: r}
		e.Seg.Flags = flags
		return e
	}
	tests := []struct {
		name     string
		events   []trace.Event
		abnormal int
	}{
		{"active close", []trace.Event{state(tcp.FinWait2, tcp.TimeWait), state(tcp.TimeWait, tcp.Closed)}, 0},
		{"passive close", []trace.Event{recv(wire.FlagACK), state(tcp.LastAck, tcp.Closed)}, 0},
		{"reset ends TIME_WAIT", []trace.Event{recv(wire.FlagRST), state(tcp.TimeWait, tcp.Closed)}, 0},
		{"reset in LAST_ACK", []trace.Event{recv(wire.FlagRST), state(tcp.LastAck, tcp.Closed)}, 1},
		{"reset in CLOSING", []trace.Event{recv(wire.FlagRST), state(tcp.Closing, tcp.Closed)}, 1},
		{"reset in ESTABLISHED", []trace.Event{recv(wire.FlagRST), state(tcp.Established, tcp.Closed)}, 1},
		{"refused", []trace.Event{recv(wire.FlagRST | wire.FlagACK), state(tcp.SynSent, tcp.Closed)}, 1},
		{"FIN_WAIT_2 timeout", []trace.Event{state(tcp.FinWait2, tcp.Closed)}, 1},
		{"ignored reset, then a clean close", []trace.Event{recv(wire.FlagRST), recv(wire.FlagACK), state(tcp.LastAck, tcp.Closed)}, 0},
		{"a listener closing", []trace.Event{{Kind: trace.StateChanged, Local: r, From: "LISTEN", To: "CLOSED"}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &Host{}
			k := &hostSink{h: h}
			for i := range tt.events {
				k.Emit(&tt.events[i])
			}
			if h.stats.AbnormalCloses != tt.abnormal {
				t.Errorf("AbnormalCloses = %d; want %d (%s)", h.stats.AbnormalCloses, tt.abnormal, h.stats.LastAbnormal)
			}
			if tt.abnormal > 0 && !strings.Contains(h.stats.LastAbnormal, "10.0.0.1:1000→10.0.0.2:80") {
				t.Errorf("LastAbnormal = %q; want the connection named", h.stats.LastAbnormal)
			}
		})
	}
}
