package sim

import (
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"time"

	"github.com/seqack/seqack/link"
	"github.com/seqack/seqack/stack"
	"github.com/seqack/seqack/tcp"
	"github.com/seqack/seqack/trace"
	"github.com/seqack/seqack/wire"
)

// Epoch is the virtual time at which every simulation starts.
var Epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// A Sim is a simulated network: hosts, links, applications and a virtual
// clock. It is not safe for concurrent use: everything happens on the
// goroutine that calls its methods.
type Sim struct {
	seed   uint64
	now    time.Time
	hosts  []*Host
	links  []*Link
	events eventQueue
	seq    uint64 // orders events due at the same time by their creation
	apps   []*app
	closed bool

	processed  int // events processed: packets, callbacks, timer runs
	eventLimit int // Run fails once processed reaches it; 0: no limit

	// tamper, if set, sees every packet as it enters a link (tests use it
	// to damage packets in ways the checksums cannot catch).
	tamper func(from *Host, pkt []byte)
}

// New returns an empty simulation whose random choices all follow from
// seed.
func New(seed uint64) *Sim {
	return &Sim{seed: seed, now: Epoch}
}

// Seed returns the seed the simulation was made with.
func (s *Sim) Seed() uint64 { return s.seed }

// Now returns the virtual time.
func (s *Sim) Now() time.Time { return s.now }

// Elapsed returns the virtual time since [Epoch].
func (s *Sim) Elapsed() time.Duration { return s.now.Sub(Epoch) }

// Events returns how many events the simulation has processed: packet
// arrivals, callbacks, and runs of a host's timers.
func (s *Sim) Events() int { return s.processed }

// SetEventLimit makes Run fail once the simulation has processed n events
// in all (0, the default, means no limit). The virtual time limit of Run
// bounds how long a simulated exchange may take; this bounds the real time
// a simulation may cost, when packets multiply (an acknowledgment loop over
// a path that duplicates, say).
func (s *Sim) SetEventLimit(n int) { s.eventLimit = n }

// Hosts returns the hosts in the order they were added.
func (s *Sim) Hosts() []*Host { return append([]*Host(nil), s.hosts...) }

// A Host is a simulated machine: a stack with one network interface.
type Host struct {
	sim   *Sim
	name  string
	addr  netip.Addr
	mtu   int
	stack *stack.Stack
	nic   *nic
	link  *Link
	stats HostStats
}

// HostStats counts, from the trace of a host's stack, what its connections
// did.
type HostStats struct {
	SegmentsSent int // every segment sent, retransmissions and resets included
	Retransmits  int // segments marked as retransmissions
	ResetsSent   int // segments with RST, from connections or for no connection
	ConnErrors   int // connections that failed (reset, timed out, refused)
	Unconnected  int // packets the host wrote before it was joined to a link

	// AbnormalCloses counts connections that reached CLOSED other than by
	// a finished close: from LAST_ACK when the peer acknowledged the FIN,
	// or from TIME_WAIT (RFC 9293 §3.6). A reset, an abort or a timeout in
	// any other state counts, and so does a reset in LAST_ACK. A reset
	// that cuts TIME_WAIT short does not: the close had finished (this is
	// the TIME-WAIT assassination of RFC 1337, which Linux allows too).
	AbnormalCloses int
	// LastAbnormal describes the last abnormal close, for error messages.
	LastAbnormal string
}

// Name returns the name the host was added with.
func (h *Host) Name() string { return h.name }

// Addr returns the host's address.
func (h *Host) Addr() netip.Addr { return h.addr }

// Stack returns the host's stack, which runs on the simulation's clock.
func (h *Host) Stack() *stack.Stack { return h.stack }

// Link returns the link the host is joined to, or nil.
func (h *Host) Link() *Link { return h.link }

// Stats returns the host's counters.
func (h *Host) Stats() HostStats { return h.stats }

// String returns the host's name and address.
func (h *Host) String() string { return h.name + " " + h.addr.String() }

// AddHost adds a host with address addr and an interface of mtu bytes
// (0 means [link.DefaultMTU]). Its stack is made from cfg, which is changed
// as follows: Clock is the simulation's; Addrs, if empty, is {addr};
// Rand, TCP.ISN and TCP.TSOffset, if nil, are seeded from the simulation's
// seed and the host's number (the ISN as RFC 6528 has it, the timestamp
// offset as a hash of the address pair, each with a seeded key);
// Trace, if set, still receives every event.
func (s *Sim) AddHost(name string, addr netip.Addr, mtu int, cfg stack.Config) (*Host, error) {
	if s.closed {
		return nil, errors.New("sim: AddHost after Close")
	}
	if !addr.Is4() {
		return nil, fmt.Errorf("sim: host %q: address %v is not IPv4", name, addr)
	}
	for _, h := range s.hosts {
		if h.name == name {
			return nil, fmt.Errorf("sim: there is already a host named %q", name)
		}
		if h.addr == addr {
			return nil, fmt.Errorf("sim: host %q already has address %v", h.name, addr)
		}
	}
	if mtu == 0 {
		mtu = link.DefaultMTU
	}
	if len(cfg.Addrs) == 0 {
		cfg.Addrs = []netip.Addr{addr}
	} else if cfg.Addrs[0] != addr {
		return nil, fmt.Errorf("sim: host %q: Config.Addrs starts with %v, not its address %v", name, cfg.Addrs[0], addr)
	}
	i := uint64(len(s.hosts))
	cfg.Clock = s.Now
	if cfg.Rand == nil {
		cfg.Rand = rand.New(rand.NewPCG(derive(s.seed, saltRand, 2*i), derive(s.seed, saltRand, 2*i+1)))
	}
	if cfg.TCP.ISN == nil {
		cfg.TCP.ISN = isnFunc(derive(s.seed, saltISN, i))
	}
	if cfg.TCP.TSOffset == nil {
		cfg.TCP.TSOffset = tsOffsetFunc(derive(s.seed, saltTSOffset, i))
	}
	h := &Host{sim: s, name: name, addr: addr, mtu: mtu}
	cfg.Trace = &hostSink{h: h, next: cfg.Trace}
	h.nic = &nic{h: h}
	st, err := stack.New(h.nic, cfg)
	if err != nil {
		return nil, fmt.Errorf("sim: host %q: %w", name, err)
	}
	h.stack = st
	s.hosts = append(s.hosts, h)
	return h, nil
}

// A Link joins two hosts, with an impaired path each way.
type Link struct {
	a, b   *Host
	ab, ba *link.NetemPath
}

// Hosts returns the two hosts the link joins, in the order given to Join.
func (l *Link) Hosts() (a, b *Host) { return l.a, l.b }

// Stats returns the counters of the path from a to b and from b to a.
func (l *Link) Stats() (aToB, bToA link.NetemStats) { return l.ab.Stats(), l.ba.Stats() }

// Join joins hosts a and b with a point-to-point link whose path from a to
// b does what aToB says, and from b to a what bToA says. Each host has one
// interface, so each can be joined once; the two interfaces must have the
// same MTU (a smaller NetemConfig.MTU is a narrower hop on the way).
func (s *Sim) Join(a, b *Host, aToB, bToA link.NetemConfig) (*Link, error) {
	switch {
	case s.closed:
		return nil, errors.New("sim: Join after Close")
	case a == nil || b == nil || a.sim != s || b.sim != s:
		return nil, errors.New("sim: Join of a host not in this simulation")
	case a == b:
		return nil, fmt.Errorf("sim: cannot join host %q to itself", a.name)
	case a.link != nil:
		return nil, fmt.Errorf("sim: host %q is already joined", a.name)
	case b.link != nil:
		return nil, fmt.Errorf("sim: host %q is already joined", b.name)
	case a.mtu != b.mtu:
		return nil, fmt.Errorf("sim: hosts %q and %q have different MTUs (%d, %d)", a.name, b.name, a.mtu, b.mtu)
	}
	n := uint64(len(s.links))
	ab, err := link.NewNetemPath(aToB, derive(s.seed, saltLink, 2*n))
	if err != nil {
		return nil, fmt.Errorf("sim: link %s→%s: %w", a.name, b.name, err)
	}
	ba, err := link.NewNetemPath(bToA, derive(s.seed, saltLink, 2*n+1))
	if err != nil {
		return nil, fmt.Errorf("sim: link %s→%s: %w", b.name, a.name, err)
	}
	l := &Link{a: a, b: b, ab: ab, ba: ba}
	a.link, b.link = l, l
	a.nic.path, a.nic.peer = ab, b
	b.nic.path, b.nic.peer = ba, a
	s.links = append(s.links, l)
	return l, nil
}

// AddApp adds an application. Its step is called at once, then after every
// event (a packet arrival, timers, a callback) until it reports done; it
// must not block, and should use the stacks' non-blocking calls. An error
// from step stops Run, which returns it.
func (s *Sim) AddApp(step func() (done bool, err error)) {
	s.apps = append(s.apps, &app{step: step})
}

// At arranges for f to be called at virtual time t (at once, if t has
// passed), in the event loop of Run.
func (s *Sim) At(t time.Time, f func()) {
	s.push(event{at: t, fn: f})
}

// Run processes events until until reports true, and returns nil then. It
// returns an error, which names the connections still open, if nothing is
// left to happen first, or if the virtual clock would pass limit from now.
// With until nil, Run processes events until none is left and returns nil.
func (s *Sim) Run(until func() bool, limit time.Duration) error {
	if s.closed {
		return errors.New("sim: Run after Close")
	}
	end := s.now.Add(limit)
	last, still := s.now, 0
	for {
		if err := s.stepApps(); err != nil {
			return err
		}
		if until != nil && until() {
			return nil
		}
		next, ok := s.next()
		switch {
		case !ok && until == nil:
			return nil
		case !ok:
			return fmt.Errorf("sim: seed %d: nothing left to happen at %v; %s", s.seed, s.Elapsed(), s.openConns())
		case next.After(end):
			s.now = end
			return fmt.Errorf("sim: seed %d: virtual time limit of %v reached at %v; %s", s.seed, limit, s.Elapsed(), s.openConns())
		}
		if s.eventLimit > 0 && s.processed >= s.eventLimit {
			return fmt.Errorf("sim: seed %d: event limit of %d reached at %v; %s", s.seed, s.eventLimit, s.Elapsed(), s.openConns())
		}
		if next.After(s.now) {
			s.now = next
		}
		if s.now.Equal(last) {
			if still++; still > maxStill {
				return fmt.Errorf("sim: seed %d: stuck at %v: %d rounds of events without the clock moving; %s", s.seed, s.Elapsed(), still, s.openConns())
			}
		} else {
			last, still = s.now, 0
		}
		s.process()
	}
}

// maxStill bounds the rounds of events Run processes at one instant: more
// means a loop (two stacks answering each other forever over a link with
// no delay), not progress.
const maxStill = 1_000_000

// Close closes every host's stack. The simulation cannot run afterwards.
func (s *Sim) Close() error {
	if s.closed {
		return nil
	}
	var errs []error
	for _, h := range s.hosts {
		errs = append(errs, h.stack.Close())
	}
	s.closed = true
	s.events = nil
	return errors.Join(errs...)
}

// next returns the time of the earliest pending event or timer.
func (s *Sim) next() (time.Time, bool) {
	var t time.Time
	if len(s.events) > 0 {
		t = s.events[0].at
	}
	for _, h := range s.hosts {
		if nt := h.stack.NextTimer(); !nt.IsZero() && (t.IsZero() || nt.Before(t)) {
			t = nt
		}
	}
	return t, !t.IsZero()
}

// process handles everything due at s.now: packet arrivals and callbacks in
// the order they were scheduled, then each host's timers.
func (s *Sim) process() {
	for len(s.events) > 0 && !s.events[0].at.After(s.now) {
		e := heap.Pop(&s.events).(event)
		s.processed++
		if e.fn != nil {
			e.fn()
			continue
		}
		e.to.stack.Deliver(e.pkt)
	}
	for _, h := range s.hosts {
		if nt := h.stack.NextTimer(); !nt.IsZero() && !nt.After(s.now) {
			s.processed++
			h.stack.RunTimers()
		}
	}
}

func (s *Sim) stepApps() error {
	running := s.apps[:0]
	for _, a := range s.apps {
		done, err := a.step()
		if err != nil {
			return err
		}
		if !done {
			running = append(running, a)
		}
	}
	clear(s.apps[len(running):])
	s.apps = running
	return nil
}

// openConns describes the connections every host still has.
func (s *Sim) openConns() string {
	var b strings.Builder
	for _, h := range s.hosts {
		cs := h.stack.Connections()
		if len(cs) == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s has", h.name)
		for _, c := range cs {
			fmt.Fprintf(&b, " %v→%v %v", c.ID.Local, c.ID.Remote, c.State)
		}
	}
	if b.Len() == 0 {
		return "no connection is open"
	}
	return b.String()
}

func (s *Sim) push(e event) {
	s.seq++
	e.seq = s.seq
	heap.Push(&s.events, e)
}

// app is an application added with AddApp.
type app struct {
	step func() (bool, error)
}

// event is a packet arriving at a host, or a callback.
type event struct {
	at  time.Time
	seq uint64
	to  *Host
	pkt []byte
	fn  func()
}

type eventQueue []event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if q[i].at.Equal(q[j].at) {
		return q[i].seq < q[j].seq
	}
	return q[i].at.Before(q[j].at)
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(event)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = event{}
	*q = old[:len(old)-1]
	return e
}

// nic is a host's network interface: the link.Link its stack writes to.
// What the stack writes enters the path toward the peer at the virtual
// time of the write; what arrives is handed to the stack by the event loop,
// so the stack never reads.
type nic struct {
	h      *Host
	path   *link.NetemPath // toward peer; nil until joined
	peer   *Host
	closed bool
}

var _ link.Link = (*nic)(nil)

var errDriven = errors.New("sim: a simulated interface is never read: the simulator delivers its packets")

func (n *nic) ReadPackets([][]byte, []int) (int, error) { return 0, errDriven }

func (n *nic) WritePackets(pkts [][]byte) (int, error) {
	if n.closed {
		return 0, link.ErrClosed
	}
	s := n.h.sim
	for _, p := range pkts {
		if n.path == nil {
			n.h.stats.Unconnected++
			continue
		}
		if s.tamper != nil {
			p = append([]byte(nil), p...)
			s.tamper(n.h, p)
		}
		n.path.Send(p, s.now, n.arrive)
	}
	return len(pkts), nil
}

// arrive schedules a copy that the path delivers to the peer.
func (n *nic) arrive(at time.Time, pkt []byte) {
	n.h.sim.push(event{at: at, to: n.peer, pkt: pkt})
}

func (n *nic) MTU() int { return n.h.mtu }

func (n *nic) Close() error {
	n.closed = true
	return nil
}

// hostSink counts a host's events, then passes them on.
type hostSink struct {
	h       *Host
	next    trace.Sink
	lastRST map[[2]netip.AddrPort]bool // connections whose last segment in was a reset
}

func (k *hostSink) Emit(e *trace.Event) {
	key := [2]netip.AddrPort{e.Local, e.Remote}
	switch e.Kind {
	case trace.SegmentReceived:
		if e.Seg.Flags&wire.FlagRST != 0 {
			if k.lastRST == nil {
				k.lastRST = make(map[[2]netip.AddrPort]bool)
			}
			k.lastRST[key] = true
		} else {
			delete(k.lastRST, key)
		}
	case trace.StateChanged:
		if e.To != tcp.Closed.String() || !e.Remote.IsValid() {
			break // not a connection's end (or a listener's)
		}
		reset := k.lastRST[key]
		delete(k.lastRST, key)
		switch {
		case e.From == tcp.TimeWait.String():
		case e.From == tcp.LastAck.String() && !reset:
		default:
			k.h.stats.AbnormalCloses++
			how := "without finishing its close"
			if reset {
				how = "on a reset"
			}
			k.h.stats.LastAbnormal = fmt.Sprintf("%v→%v went %s→CLOSED at %v %s", e.Local, e.Remote, e.From, e.Time.Sub(Epoch), how)
		}
	case trace.SegmentSent:
		k.h.stats.SegmentsSent++
		if e.Seg.Retransmit {
			k.h.stats.Retransmits++
		}
		if e.Seg.Flags&wire.FlagRST != 0 {
			k.h.stats.ResetsSent++
		}
	case trace.ConnError:
		k.h.stats.ConnErrors++
	}
	if k.next != nil {
		k.next.Emit(e)
	}
}

// Salts that keep the streams derived from one seed apart.
const (
	saltRand uint64 = iota + 1
	saltISN
	saltLink
	saltData
	saltTSOffset
)

// derive mixes a seed, a salt and an index into a new seed.
func derive(seed, salt, i uint64) uint64 {
	return mix64(mix64(seed^mix64(salt)) ^ i)
}

// mix64 is SplitMix64's finalizer.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// tsOffsetFunc returns a timestamp offset generator, a hash of the
// address pair as tcp.DefaultTSOffset, whose key is derived from the seed.
func tsOffsetFunc(key uint64) func(local, remote netip.Addr) uint32 {
	return func(local, remote netip.Addr) uint32 {
		x := key
		for _, a := range [2]netip.Addr{local, remote} {
			b := a.As16()
			x = mix64(x ^ binary.BigEndian.Uint64(b[:8]))
			x = mix64(x ^ binary.BigEndian.Uint64(b[8:]))
		}
		return uint32(x)
	}
}

// isnFunc returns an RFC 6528 generator, ISN = M + F(4-tuple, key), whose
// key is derived from the seed instead of drawn at random and whose 4 µs
// clock M starts at Epoch.
func isnFunc(key uint64) func(tcp.ID, time.Time) tcp.Value {
	return func(id tcp.ID, now time.Time) tcp.Value {
		x := key
		for _, ap := range [2]netip.AddrPort{id.Local, id.Remote} {
			a := ap.Addr().As16()
			x = mix64(x ^ binary.BigEndian.Uint64(a[:8]))
			x = mix64(x ^ binary.BigEndian.Uint64(a[8:]) ^ uint64(ap.Port()))
		}
		m := uint32(now.Sub(Epoch) / (4 * time.Microsecond))
		return tcp.Value(m + uint32(x))
	}
}
