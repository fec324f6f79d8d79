package stack

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seqack/seqack/tcp"
	"github.com/seqack/seqack/trace"
)

// Listener is a TCP listener on a Stack. It implements net.Listener.
//
// A SYN to its port creates a connection in SYN_RCVD; at most
// Config.SynBacklog of those wait for the handshake to finish, and at most
// its backlog (Config.ListenBacklog, or what SetBacklog set) finished ones
// wait for Accept. Beyond the first
// limit, SYNs are answered with SYN cookies (Config.SynCookies); beyond
// the second, SYNs and handshake ACKs are dropped (and counted), as Linux
// does. A half-open connection holds no buffer memory.
type Listener struct {
	s    *Stack
	addr netip.AddrPort

	stats    listenerCounters
	cookieAt atomic.Int64 // when the last SYN cookie was sent (UnixNano of the stack's clock)

	mu       sync.Mutex
	acceptq  []*Conn
	queued   atomic.Int32 // len(acceptq), readable without mu
	backlog  atomic.Int32 // bound of acceptq
	halfOpen int
	closed   bool
	waiters  []chan struct{} // Accept calls blocked (pooled wake-up channels)
	deadline deadline
}

// Listen announces on the local address, as net.Listen does. The network
// must be "tcp" or "tcp4"; the address is "host:port", where an empty host or
// 0.0.0.0 means every address of the stack, and port 0 picks a free port.
func (s *Stack) Listen(network, address string) (net.Listener, error) {
	l, err := s.ListenTCP(network, address)
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return l, nil
}

// ListenTCP is Listen returning the concrete *Listener.
func (s *Stack) ListenTCP(network, address string) (*Listener, error) {
	opErr := func(err error) error {
		return &net.OpError{Op: "listen", Net: network, Err: err}
	}
	ap, err := parseAddr(network, address)
	if err != nil {
		return nil, opErr(err)
	}
	if !ap.Addr().IsUnspecified() && !s.isLocal(ap.Addr()) {
		return nil, &net.OpError{Op: "listen", Net: network, Source: net.TCPAddrFromAddrPort(ap),
			Err: os.NewSyscallError("bind", errAddrNotAvail)}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, opErr(net.ErrClosed)
	}
	if ap.Port() == 0 {
		port, ok := s.freePortLocked(ap.Addr(), netip.AddrPort{})
		if !ok {
			return nil, opErr(os.NewSyscallError("bind", errAddrInUse))
		}
		ap = netip.AddrPortFrom(ap.Addr(), port)
	}
	if s.portListenedLocked(ap) {
		return nil, &net.OpError{Op: "listen", Net: network, Source: net.TCPAddrFromAddrPort(ap),
			Err: os.NewSyscallError("bind", errAddrInUse)}
	}
	l := &Listener{s: s, addr: ap}
	l.backlog.Store(int32(s.cfg.ListenBacklog))
	s.listeners[ap] = l
	if s.sink != nil {
		s.sink.Emit(&trace.Event{Time: s.now(), Kind: trace.StateChanged, Local: ap,
			From: tcp.Closed.String(), To: tcp.Listen.String()})
	}
	return l, nil
}

// portListenedLocked reports whether a listener covers ap: one on the same
// address and port, or on the same port where either is the unspecified
// address. s.mu is held.
func (s *Stack) portListenedLocked(ap netip.AddrPort) bool {
	for a := range s.listeners {
		if a.Port() == ap.Port() && (a.Addr() == ap.Addr() || a.Addr().IsUnspecified() || ap.Addr().IsUnspecified()) {
			return true
		}
	}
	return false
}

// Accept waits for and returns the next connection, as net.Listener says.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.AcceptTCP()
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return c, nil
}

// AcceptTCP is Accept returning the concrete *Conn.
func (l *Listener) AcceptTCP() (*Conn, error) {
	l.mu.Lock()
	for len(l.acceptq) == 0 {
		if l.closed {
			l.mu.Unlock()
			return nil, l.opError(net.ErrClosed)
		}
		if l.deadline.expired() {
			l.mu.Unlock()
			return nil, l.opError(os.ErrDeadlineExceeded)
		}
		w, dl := getWaitChan(), l.deadline.wait()
		l.waiters = append(l.waiters, w)
		l.mu.Unlock()
		select {
		case <-w:
		case <-dl:
		case <-l.s.done:
		}
		l.mu.Lock()
		if i := slices.Index(l.waiters, w); i >= 0 {
			l.waiters = slices.Delete(l.waiters, i, i+1)
		}
		putWaitChan(w)
	}
	c := l.popLocked()
	l.mu.Unlock()
	return c, nil
}

// popLocked takes the first connection off the accept queue, which is not
// empty. l.mu is held.
func (l *Listener) popLocked() *Conn {
	c := l.acceptq[0]
	l.acceptq[0] = nil
	if len(l.acceptq) == 1 {
		l.acceptq = l.acceptq[:0] // keep the array for the next one
	} else {
		l.acceptq = l.acceptq[1:]
	}
	l.queued.Store(int32(len(l.acceptq)))
	return c
}

// Close stops listening. Connections not yet accepted are reset, as Linux
// does when a listening socket closes.
func (l *Listener) Close() error {
	l.s.mu.Lock()
	if l.s.listeners[l.addr] == l {
		delete(l.s.listeners, l.addr)
	}
	l.s.mu.Unlock()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return l.opError(net.ErrClosed)
	}
	l.closed = true
	pending := l.acceptq
	l.acceptq = nil
	l.queued.Store(0)
	l.wakeLocked()
	l.mu.Unlock()
	l.deadline.stop()
	for _, c := range pending {
		c.abort()
	}
	if l.s.sink != nil {
		l.s.sink.Emit(&trace.Event{Time: l.s.now(), Kind: trace.StateChanged, Local: l.addr,
			From: tcp.Listen.String(), To: tcp.Closed.String()})
	}
	return nil
}

// Addr returns the listener's address as a *net.TCPAddr.
func (l *Listener) Addr() net.Addr { return net.TCPAddrFromAddrPort(l.addr) }

// SetDeadline sets the deadline for Accept, as (*net.TCPListener).SetDeadline.
func (l *Listener) SetDeadline(t time.Time) error {
	l.deadline.set(t)
	return nil
}

func (l *Listener) opError(err error) error {
	return &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: err}
}

func (l *Listener) wakeLocked() {
	for i, w := range l.waiters {
		wakeOne(w)
		l.waiters[i] = nil
	}
	l.waiters = l.waiters[:0]
}

// acceptQueueFull reports whether no room is left for another connection.
// It takes no lock, so a Conn may ask while holding its own.
func (l *Listener) acceptQueueFull() bool {
	return int(l.queued.Load()) >= l.Backlog()
}

// Backlog returns the bound of the listener's accept queue.
func (l *Listener) Backlog() int { return int(l.backlog.Load()) }

// SetBacklog sets the bound of the listener's accept queue, as calling
// listen(2) again on a listening socket does. Connections already queued
// stay queued; new handshakes wait for room. n must be positive.
func (l *Listener) SetBacklog(n int) error {
	if n <= 0 || n > 1<<20 {
		return l.opError(fmt.Errorf("backlog %d: it must be between 1 and %d", n, 1<<20))
	}
	l.backlog.Store(int32(n))
	return nil
}

// enqueue moves a connection that finished its handshake from the
// half-open count to the accept queue.
func (l *Listener) enqueue(c *Conn) {
	l.mu.Lock()
	l.halfOpen--
	if l.closed {
		l.mu.Unlock()
		c.abort()
		return
	}
	l.acceptq = append(l.acceptq, c)
	l.queued.Store(int32(len(l.acceptq)))
	l.wakeLocked()
	l.mu.Unlock()
}

// abandon forgets a half-open connection that failed or was reset.
func (l *Listener) abandon() {
	l.mu.Lock()
	l.halfOpen--
	l.mu.Unlock()
}

// abort resets a connection nobody will use.
func (c *Conn) abort() {
	c.mu.Lock()
	c.closed = true
	c.tcb.Abort(c.s.now())
	c.unlockAndFlush()
}
