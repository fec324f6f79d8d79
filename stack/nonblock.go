package stack

import (
	"io"
	"net"
	"net/netip"
	"os"
	"syscall"

	"github.com/seqack/seqack/tcp"
)

// ErrWouldBlock is returned by the non-blocking calls (TryAccept, TryRead,
// TryWrite) when the blocking call would have waited. It matches
// syscall.EAGAIN with errors.Is, as the error of a non-blocking socket call
// does.
var ErrWouldBlock error = wouldBlockError{}

type wouldBlockError struct{}

func (wouldBlockError) Error() string        { return "operation would block" }
func (wouldBlockError) Is(target error) bool { return target == syscall.EAGAIN }

// DialStart starts connecting to the address on the named network, as Dial
// does, but returns at once, before the handshake: the connection's State
// shows how it goes (SYN_SENT, then ESTABLISHED, or CLOSED if it failed, in
// which case TryRead and TryWrite return why). It is the connect(2) of a
// non-blocking socket, for event loops and simulators. Errors found at once
// (a bad address, no free port, a closed stack) are returned as Dial
// returns them.
func (s *Stack) DialStart(network, address string) (*Conn, error) {
	raddr, err := parseAddr(network, address)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	opErr := dialError(network, raddr)
	if raddr.Addr().IsUnspecified() || raddr.Port() == 0 {
		return nil, opErr(netip.AddrPort{}, os.NewSyscallError("connect", syscall.EADDRNOTAVAIL))
	}
	local := s.cfg.Addrs[0]
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, opErr(netip.AddrPort{}, net.ErrClosed)
	}
	if err := s.admitLocked(); err != nil {
		s.mu.Unlock()
		return nil, opErr(netip.AddrPort{}, err)
	}
	port, ok := s.freePortLocked(local, raddr)
	if !ok {
		s.mu.Unlock()
		return nil, opErr(netip.AddrPort{}, os.NewSyscallError("connect", syscall.EADDRNOTAVAIL))
	}
	id := tcp.ID{Local: netip.AddrPortFrom(local, port), Remote: raddr}
	c := s.newConn(id, nil)
	s.conns[keyOf(id)] = c
	s.mu.Unlock()

	c.mu.Lock()
	if err := c.tcb.Connect(s.now()); err != nil {
		c.closed = true
		c.unlockAndFlush()
		return nil, opErr(id.Local, err)
	}
	c.unlockAndFlush()
	return c, nil
}

// TryAccept returns the next connection that has finished its handshake,
// as AcceptTCP does, or ErrWouldBlock if none is waiting.
func (l *Listener) TryAccept() (*Conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.acceptq) == 0 {
		switch {
		case l.closed:
			return nil, l.opError(net.ErrClosed)
		case l.deadline.expired():
			return nil, l.opError(os.ErrDeadlineExceeded)
		}
		return nil, ErrWouldBlock
	}
	return l.popLocked(), nil
}

// TryRead is Read that never waits: it reads what has arrived, or returns
// io.EOF or the connection's error as Read would, or 0 and ErrWouldBlock
// if Read would wait for data.
func (c *Conn) TryRead(b []byte) (int, error) {
	c.mu.Lock()
	if err := c.usable(&c.readDeadline); err != nil {
		c.mu.Unlock()
		return 0, c.opError("read", err)
	}
	n, err := c.tcb.Read(b, c.s.now())
	c.unlockAndFlush()
	switch {
	case err == io.EOF:
		return n, io.EOF
	case err != nil:
		return n, c.opError("read", os.NewSyscallError("read", err))
	case n == 0 && len(b) > 0:
		return 0, ErrWouldBlock
	}
	return n, nil
}

// TryWrite is Write that never waits: it queues as much of b as the send
// buffer has room for and returns how much that was, which may be less
// than len(b) with a nil error. If the buffer has no room at all it returns
// 0 and ErrWouldBlock. Errors are those of Write.
func (c *Conn) TryWrite(b []byte) (int, error) {
	c.mu.Lock()
	if err := c.usable(&c.writeDeadline); err != nil {
		c.mu.Unlock()
		return 0, c.opError("write", err)
	}
	n, err := c.tcb.Write(b, c.s.now())
	c.unlockAndFlush()
	switch {
	case err != nil:
		return n, c.opError("write", os.NewSyscallError("write", err))
	case n == 0 && len(b) > 0:
		return 0, ErrWouldBlock
	}
	return n, nil
}
