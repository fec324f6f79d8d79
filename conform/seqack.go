package conform

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"time"

	"github.com/seqack/seqack/link"
	"github.com/seqack/seqack/stack"
	"github.com/seqack/seqack/tcp"
	"github.com/seqack/seqack/trace"
)

// SeqackOptions configures the seqack target that NewSeqack makes.
type SeqackOptions struct {
	// Seed chooses the stack's initial sequence numbers and ephemeral
	// ports: two runs with one seed are the same run.
	Seed uint64

	// Trace, if not nil, receives the stack's events.
	Trace trace.Sink
}

// Seqack is the seqack target: a stack driven on a virtual clock, whose
// link hands the packets it sends to the interpreter and whose system
// calls are the stack's non-blocking Go API. It implements Target.
//
// The stack is configured as the Linux target's kernel is (see
// LinuxSysctls): timestamps, SACK and window scaling on; and as a Linux
// socket is by default: Nagle's algorithm on and no keep-alive, where Go's
// package net has it the other way round.
//
// Gaps, where seqack's API has nothing a socket call needs: listen's
// backlog is the stack's (Config.ListenBacklog), not the call's; options
// set before connect (SO_RCVBUF, SO_SNDBUF) are applied once the SYN has
// gone, and those set on a listener are applied to a connection when it is
// accepted, after its SYN-ACK; connect from a bound port is not supported.
type Seqack struct {
	st    *stack.Stack
	epoch time.Time
	now   time.Duration

	out     []sent // packets sent, not yet taken by Next
	fds     map[int]*socket
	pending []*seqackCall
}

// sent is a packet the stack wrote, and when.
type sent struct {
	pkt []byte
	at  time.Duration
}

// socket is a file descriptor of a script, and what seqack has for it: a
// listener, a connection, or (before listen or connect) only the options
// to give them.
type socket struct {
	fd       int
	bound    bool
	port     uint16
	nonblock bool
	l        *stack.Listener
	c        *stack.Conn

	connectReported bool // a completed non-blocking connect was reported by connect
	established     bool // the connection was established once
	errTaken        bool // the connection's error has been reported once, as Linux reports sk_err
	shutRd          bool // shutdown(SHUT_RD): reads return what was received, then 0 rather than block

	noDelay        int // -1: not set
	rcvBuf, sndBuf int // 0: not set
	linger         int // seconds; -1: SO_LINGER off
}

// NewSeqack makes a seqack target with a fresh stack at time 0.
func NewSeqack(o SeqackOptions) (*Seqack, error) {
	s := &Seqack{epoch: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), fds: make(map[int]*socket)}
	isnRand := rand.New(rand.NewPCG(o.Seed, 0x15e))
	cfg := stack.Config{
		Addrs:     []netip.Addr{LocalAddr},
		Clock:     func() time.Time { return s.epoch.Add(s.now) },
		Rand:      rand.New(rand.NewPCG(o.Seed, 0x9047)),
		KeepAlive: -1, // a Linux socket has no keep-alive until SO_KEEPALIVE
		Trace:     o.Trace,
		TCP: tcp.Config{
			Nagle: true, // Linux's default; TCP_NODELAY turns it off
			ISN:   func(tcp.ID, time.Time) tcp.Value { return tcp.Value(isnRand.Uint32()) },
		},
	}
	st, err := stack.New(&captureLink{s: s}, cfg)
	if err != nil {
		return nil, err
	}
	s.st = st
	return s, nil
}

// captureLink is the stack's link: what the stack writes is kept, with
// the virtual time it was written at, for Next.
type captureLink struct{ s *Seqack }

func (l *captureLink) WritePackets(pkts [][]byte) (int, error) {
	for _, p := range pkts {
		l.s.out = append(l.s.out, sent{pkt: append([]byte(nil), p...), at: l.s.now})
	}
	return len(pkts), nil
}

// ReadPackets is never called: a driven stack does not read its link.
func (l *captureLink) ReadPackets([][]byte, []int) (int, error) { return 0, link.ErrClosed }

func (l *captureLink) MTU() int     { return link.DefaultMTU }
func (l *captureLink) Close() error { return nil }

// Name returns "seqack".
func (s *Seqack) Name() string { return "seqack" }

// Now returns the virtual time.
func (s *Seqack) Now() time.Duration { return s.now }

// Virtual returns true: time passes only when the interpreter says so.
func (s *Seqack) Virtual() bool { return true }

// Stack returns the stack under test, for a test that looks inside it.
func (s *Seqack) Stack() *stack.Stack { return s.st }

// AdvanceTo runs the stack's timers due up to t, each at its own time,
// retrying the blocked calls after each, and then sets the clock to t.
func (s *Seqack) AdvanceTo(t time.Duration) {
	for range 1 << 20 { // a bound, should a timer keep rescheduling itself in the past
		next, ok := s.nextEvent()
		if !ok || next > t {
			break
		}
		s.now = max(s.now, next)
		s.st.RunTimers()
		s.poll()
	}
	s.now = max(s.now, t)
	s.poll()
}

// nextEvent returns when the next timer is due or a blocked call's own
// time limit comes (close with a linger time).
func (s *Seqack) nextEvent() (time.Duration, bool) {
	var d time.Duration
	ok := false
	if nt := s.st.NextTimer(); !nt.IsZero() {
		d, ok = nt.Sub(s.epoch), true
	}
	for _, p := range s.pending {
		if p.wake > 0 && (!ok || p.wake < d) {
			d, ok = p.wake, true
		}
	}
	return d, ok
}

// Inject hands the stack a packet, and retries the blocked calls.
func (s *Seqack) Inject(pkt []byte) error {
	s.st.Deliver(pkt)
	s.poll()
	return nil
}

// Next returns the next packet the stack sent, running its timers until
// deadline if it has sent none yet.
func (s *Seqack) Next(deadline time.Duration) ([]byte, time.Duration, bool) {
	for len(s.out) == 0 {
		next, ok := s.nextEvent()
		if !ok || next > deadline {
			s.AdvanceTo(deadline)
			if len(s.out) == 0 {
				return nil, 0, false
			}
			break
		}
		s.AdvanceTo(next)
	}
	p := s.out[0]
	s.out[0] = sent{}
	s.out = s.out[1:]
	return p.pkt, p.at, true
}

// Close closes the stack.
func (s *Seqack) Close() error { return s.st.Close() }

// seqackCall is a system call on the seqack target: try makes it, and is
// retried while it reports that the call would block.
type seqackCall struct {
	try  func() (Result, bool)
	wake time.Duration // when try must be retried even if nothing happens; 0 for never
	done bool
	r    Result
	at   time.Duration
}

func (p *seqackCall) Done() (Result, time.Duration, bool) { return p.r, p.at, p.done }

// poll retries the blocked calls.
func (s *Seqack) poll() {
	kept := s.pending[:0]
	for _, p := range s.pending {
		if r, ok := p.try(); ok {
			p.r, p.at, p.done = r, s.now, true
			continue
		}
		kept = append(kept, p)
	}
	clear(s.pending[len(kept):])
	s.pending = kept
}

// Start makes a system call. One that would block is retried after every
// packet injected and every timer, so it returns at a deterministic time.
func (s *Seqack) Start(c Call) Pending {
	try, wake := s.call(c)
	p := &seqackCall{try: try, wake: wake}
	if r, ok := p.try(); ok {
		p.r, p.at, p.done = r, s.now, true
	} else {
		s.pending = append(s.pending, p)
	}
	s.poll() // the call may have unblocked another
	return p
}

// result is a call that returned r.
func result(r Result) (func() (Result, bool), time.Duration) {
	return func() (Result, bool) { return r, true }, 0
}

// fails is a call that failed with errno.
func fails(errno syscall.Errno) (func() (Result, bool), time.Duration) {
	return result(Result{Ret: -1, Errno: errno})
}

// unsupported is a call that seqack cannot make.
func unsupported(why string) (func() (Result, bool), time.Duration) {
	return result(Result{Err: fmt.Errorf("%w: %s", ErrUnsupported, why)})
}

// errResult is the result of a call that failed with err.
func errResult(err error) Result {
	var errno syscall.Errno
	switch {
	case errors.As(err, &errno):
	case errors.Is(err, stack.ErrWouldBlock):
		errno = syscall.EAGAIN
	case errors.Is(err, net.ErrClosed):
		errno = syscall.EBADF
	default:
		return Result{Err: fmt.Errorf("seqack returned an error without an errno: %w", err)}
	}
	return Result{Ret: -1, Errno: errno}
}

// call returns the function that makes c, and when it must be retried
// even if nothing happens.
func (s *Seqack) call(c Call) (func() (Result, bool), time.Duration) {
	if c.Op == OpSocket {
		fd := s.lowestFree()
		s.fds[fd] = &socket{fd: fd, noDelay: -1, linger: -1}
		return result(Result{Ret: fd})
	}
	sk, ok := s.fds[c.Fd]
	if !ok {
		return fails(syscall.EBADF)
	}
	switch c.Op {
	case OpBind:
		return s.bind(sk, c)
	case OpListen:
		return s.listen(sk, c.Backlog)
	case OpAccept:
		return s.accept(sk)
	case OpConnect:
		return s.connect(sk, c)
	case OpWrite:
		return s.write(sk, c.Len)
	case OpRead:
		return s.read(sk, c.Len)
	case OpShutdown:
		return s.shutdown(sk, c.How)
	case OpClose:
		return s.close(sk)
	case OpSetsockopt:
		return s.setsockopt(sk, c)
	case OpFcntl:
		sk.nonblock = c.NonBlock
		return result(Result{})
	}
	return unsupported(string(c.Op))
}

// lowestFree returns the lowest file descriptor not in use, from 3, as
// Linux gives a process whose 0, 1 and 2 are open.
func (s *Seqack) lowestFree() int {
	fd := 3
	for s.fds[fd] != nil {
		fd++
	}
	return fd
}

func (s *Seqack) bind(sk *socket, c Call) (func() (Result, bool), time.Duration) {
	if sk.bound || sk.l != nil || sk.c != nil {
		return fails(syscall.EINVAL)
	}
	for _, o := range s.fds {
		if o.bound && o.port == c.Port {
			return fails(syscall.EADDRINUSE)
		}
	}
	sk.bound, sk.port = true, c.Port
	return result(Result{})
}

func (s *Seqack) listen(sk *socket, backlog int) (func() (Result, bool), time.Duration) {
	// Linux caps the backlog at net.core.somaxconn (4096), takes a
	// negative one as 0, and queues up to backlog+1 connections
	// (sk_acceptq_is_full tests ">"): seqack's bound is what it queues.
	queue := min(max(backlog, 0), 4096) + 1
	switch {
	case sk.c != nil:
		return fails(syscall.EINVAL)
	case sk.l != nil:
		// listen again: Linux changes the backlog.
		if err := sk.l.SetBacklog(queue); err != nil {
			return result(errResult(err))
		}
		return result(Result{})
	}
	port := uint16(0)
	if sk.bound {
		port = sk.port
	}
	l, err := s.st.ListenTCP("tcp4", netip.AddrPortFrom(LocalAddr, port).String())
	if err != nil {
		return result(errResult(err))
	}
	if err := l.SetBacklog(queue); err != nil {
		l.Close()
		return result(errResult(err))
	}
	sk.l = l
	return result(Result{})
}

func (s *Seqack) accept(sk *socket) (func() (Result, bool), time.Duration) {
	if sk.l == nil {
		return fails(syscall.EINVAL)
	}
	l := sk.l
	return func() (Result, bool) {
		c, err := l.TryAccept()
		switch {
		case errors.Is(err, stack.ErrWouldBlock) && !sk.nonblock:
			return Result{}, false
		case err != nil:
			return errResult(err), true
		}
		fd := s.lowestFree()
		n := &socket{fd: fd, c: c, established: true, noDelay: sk.noDelay, rcvBuf: sk.rcvBuf, sndBuf: sk.sndBuf, linger: sk.linger}
		s.fds[fd] = n
		n.applyOptions()
		return Result{Ret: fd}, true
	}, 0
}

// applyOptions gives a new connection the options set on its socket (or
// its listener's) before it existed.
func (sk *socket) applyOptions() {
	if sk.noDelay >= 0 {
		sk.c.SetNoDelay(sk.noDelay != 0)
	}
	if sk.rcvBuf > 0 {
		sk.c.SetReadBuffer(sk.rcvBuf)
	}
	if sk.sndBuf > 0 {
		sk.c.SetWriteBuffer(sk.sndBuf)
	}
}

func (s *Seqack) connect(sk *socket, c Call) (func() (Result, bool), time.Duration) {
	switch {
	case sk.l != nil:
		return fails(syscall.EISCONN)
	case sk.c != nil:
		// connect again, as after a non-blocking one: Linux reports how
		// the first one went.
		switch st := sk.c.State(); {
		case st == tcp.SynSent || st == tcp.SynReceived:
			if sk.nonblock {
				return fails(syscall.EALREADY)
			}
			return s.connected(sk), 0
		case st == tcp.Closed && !sk.errTaken:
			return s.connected(sk), 0
		case st == tcp.Closed:
			return unsupported("connect again after a failed connect")
		case !sk.connectReported:
			sk.connectReported, sk.established = true, true
			return result(Result{})
		}
		return fails(syscall.EISCONN)
	case sk.bound:
		return unsupported("connect from a bound port (seqack's DialStart chooses the port)")
	}
	conn, err := s.st.DialStart("tcp4", netip.AddrPortFrom(RemoteAddr, c.Port).String())
	if err != nil {
		return result(errResult(err))
	}
	sk.c = conn
	sk.applyOptions()
	if sk.nonblock {
		return fails(syscall.EINPROGRESS)
	}
	return s.connected(sk), 0
}

// connected waits for the handshake of sk's connection to end.
func (s *Seqack) connected(sk *socket) func() (Result, bool) {
	return func() (Result, bool) {
		switch sk.c.State() {
		case tcp.SynSent, tcp.SynReceived:
			return Result{}, false
		case tcp.Closed:
			sk.errTaken = true
			if _, err := sk.c.TryRead(nil); err != nil && err != io.EOF {
				return errResult(err), true
			}
			return Result{Ret: -1, Errno: syscall.ECONNREFUSED}, true
		}
		sk.connectReported, sk.established = true, true
		return Result{}, true
	}
}

// failed returns the error of sk's connection if it failed and the error
// has not been reported yet, and marks it reported.
func (sk *socket) failed() (Result, bool) {
	if sk.errTaken || sk.c.State() != tcp.Closed {
		return Result{}, false
	}
	_, err := sk.c.TryRead(nil)
	if err == nil || err == io.EOF {
		return Result{}, false
	}
	sk.errTaken = true
	return errResult(err), true
}

func (s *Seqack) write(sk *socket, n int) (func() (Result, bool), time.Duration) {
	if sk.c == nil {
		return fails(syscall.EPIPE) // Linux: writing to a socket not connected is EPIPE
	}
	data := make([]byte, n)
	for i := range data {
		data[i] = byte('a' + i%26)
	}
	total := 0
	return func() (Result, bool) {
		if r, ok := sk.failed(); ok {
			return r, true
		}
		if sk.errTaken {
			return Result{Ret: -1, Errno: syscall.EPIPE}, true
		}
		switch sk.c.State() {
		case tcp.SynSent, tcp.SynReceived:
			// Data waits for the handshake (Linux's sk_stream_wait_connect).
			if sk.nonblock {
				return Result{Ret: -1, Errno: syscall.EAGAIN}, true
			}
			return Result{}, false
		}
		for total < n {
			m, err := sk.c.TryWrite(data[total:])
			total += m
			switch {
			case errors.Is(err, stack.ErrWouldBlock):
				if !sk.nonblock {
					return Result{}, false
				}
				if total > 0 {
					return Result{Ret: total}, true
				}
				return Result{Ret: -1, Errno: syscall.EAGAIN}, true
			case err != nil:
				if total > 0 {
					return Result{Ret: total}, true
				}
				r := errResult(err)
				sk.errTaken = sk.errTaken || r.Errno != syscall.EPIPE
				return r, true
			case m == 0 && n > 0:
				return Result{}, false
			}
		}
		return Result{Ret: total}, true
	}, 0
}

func (s *Seqack) read(sk *socket, n int) (func() (Result, bool), time.Duration) {
	if sk.c == nil {
		return fails(syscall.ENOTCONN)
	}
	buf := make([]byte, n)
	return func() (Result, bool) {
		if sk.shutRd {
			// Linux's tcp_recvmsg still hands over what was received;
			// only when nothing is left does it return 0, not block.
			if m, _ := sk.c.TryRead(buf); m > 0 {
				return Result{Ret: m}, true
			}
			return Result{}, true
		}
		switch sk.c.State() {
		case tcp.SynSent, tcp.SynReceived:
			if sk.nonblock {
				return Result{Ret: -1, Errno: syscall.EAGAIN}, true
			}
			return Result{}, false
		}
		m, err := sk.c.TryRead(buf)
		switch {
		case m > 0:
			return Result{Ret: m}, true
		case err == nil || err == io.EOF:
			return Result{}, true
		case errors.Is(err, stack.ErrWouldBlock):
			if sk.nonblock {
				return Result{Ret: -1, Errno: syscall.EAGAIN}, true
			}
			return Result{}, false
		case sk.errTaken && !sk.established && sk.c.State() == tcp.Closed:
			// A connect that failed leaves a socket never connected.
			return Result{Ret: -1, Errno: syscall.ENOTCONN}, true
		case sk.errTaken:
			return Result{}, true // the error was reported once; then reads see the end
		}
		sk.errTaken = true
		return errResult(err), true
	}, 0
}

func (s *Seqack) shutdown(sk *socket, how int) (func() (Result, bool), time.Duration) {
	switch {
	case sk.l != nil:
		if how != syscall.SHUT_WR {
			// Linux stops a listener whose reading side is shut.
			sk.l.Close()
			sk.l = nil
		}
		return result(Result{})
	case sk.c == nil, sk.c.State() == tcp.Closed:
		return fails(syscall.ENOTCONN)
	}
	if how == syscall.SHUT_RD || how == syscall.SHUT_RDWR {
		sk.shutRd = true // nothing goes on the wire, as on Linux
	}
	if how == syscall.SHUT_WR || how == syscall.SHUT_RDWR {
		if err := sk.c.CloseWrite(); err != nil {
			return result(errResult(err))
		}
	}
	return result(Result{})
}

func (s *Seqack) close(sk *socket) (func() (Result, bool), time.Duration) {
	delete(s.fds, sk.fd)
	switch {
	case sk.l != nil:
		sk.l.Close()
	case sk.c != nil:
		if sk.linger == 0 {
			sk.c.SetLinger(0) // close resets the connection
		}
		// The stack's own linger (SetLinger(n > 0)) waits on the real
		// clock; close's wait is made here, on the virtual one.
		sk.c.Close()
		if sk.linger > 0 {
			c := sk.c
			until := s.now + time.Duration(sk.linger)*time.Second
			return func() (Result, bool) {
				switch c.State() {
				case tcp.Closed, tcp.FinWait2, tcp.TimeWait:
					return Result{}, true
				}
				return Result{}, s.now >= until
			}, until
		}
	}
	return result(Result{})
}

func (s *Seqack) setsockopt(sk *socket, c Call) (func() (Result, bool), time.Duration) {
	switch {
	case c.Level == syscall.SOL_SOCKET && c.Option == syscall.SO_REUSEADDR:
		// Accepted and ignored: seqack does not refuse to bind a port
		// that a connection in TIME_WAIT still uses, which is all that
		// SO_REUSEADDR changes for a listener.
	case c.Level == syscall.SOL_SOCKET && c.Option == syscall.SO_LINGER:
		sk.linger = -1
		if c.Linger[0] != 0 {
			sk.linger = c.Linger[1]
		}
	case c.Level == syscall.IPPROTO_TCP && c.Option == syscall.TCP_NODELAY:
		sk.noDelay = 0
		if c.Value != 0 {
			sk.noDelay = 1
		}
		if sk.c != nil {
			sk.c.SetNoDelay(c.Value != 0)
		}
	case c.Level == syscall.SOL_SOCKET && c.Option == syscall.SO_RCVBUF:
		sk.rcvBuf = c.Value
		if sk.c != nil {
			if err := sk.c.SetReadBuffer(c.Value); err != nil {
				return result(errResult(err))
			}
		}
	case c.Level == syscall.SOL_SOCKET && c.Option == syscall.SO_SNDBUF:
		sk.sndBuf = c.Value
		if sk.c != nil {
			if err := sk.c.SetWriteBuffer(c.Value); err != nil {
				return result(errResult(err))
			}
		}
	default:
		return unsupported("setsockopt level " + strconv.Itoa(c.Level) + " option " + strconv.Itoa(c.Option))
	}
	return result(Result{})
}
