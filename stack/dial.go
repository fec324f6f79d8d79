package stack

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"

	"github.com/seqack/seqack/tcp"
)

var (
	errAddrInUse    = syscall.EADDRINUSE
	errAddrNotAvail = syscall.EADDRNOTAVAIL
)

// Dial connects to the address on the named network, as net.Dial does.
// The network must be "tcp" or "tcp4"; the address is "ip:port" (seqack does
// not resolve names).
func (s *Stack) Dial(network, address string) (net.Conn, error) {
	return s.DialContext(context.Background(), network, address)
}

// DialContext is Dial with a context: if the context ends before the
// connection is established, the attempt is abandoned and the context's
// error returned.
func (s *Stack) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	c, err := s.DialTCP(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// DialTCP is DialContext returning the concrete *Conn. It is DialStart
// followed by a wait for the handshake.
func (s *Stack) DialTCP(ctx context.Context, network, address string) (*Conn, error) {
	raddr, err := parseAddr(network, address)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	opErr := dialError(network, raddr)
	if err := ctx.Err(); err != nil {
		return nil, opErr(netip.AddrPort{}, mapContextError(err))
	}
	c, err := s.DialStart(network, address)
	if err != nil {
		return nil, err
	}
	id := c.id
	c.mu.Lock()
	for {
		st := c.tcb.State()
		if st >= tcp.Established {
			c.unlockAndFlush()
			return c, nil
		}
		if st == tcp.Closed {
			err := c.tcb.Err()
			if err == nil {
				err = syscall.ECONNABORTED
			}
			c.closed = true
			c.unlockAndFlush()
			return nil, opErr(id.Local, os.NewSyscallError("connect", err))
		}
		c.flushLocked()
		w := c.waitFor(waitAny)
		c.unlockPost()
		select {
		case <-w:
		case <-ctx.Done():
			c.abort()
			return nil, opErr(id.Local, mapContextError(ctx.Err()))
		case <-s.done:
			return nil, opErr(id.Local, net.ErrClosed)
		}
		c.mu.Lock()
		c.waited(w)
	}
}

// dialError returns the function that wraps a dial's errors as package
// net does: a *net.OpError naming the address dialled and, once there is
// one, the local address.
func dialError(network string, raddr netip.AddrPort) func(src netip.AddrPort, err error) error {
	return func(src netip.AddrPort, err error) error {
		e := &net.OpError{Op: "dial", Net: network, Addr: net.TCPAddrFromAddrPort(raddr), Err: err}
		if src.IsValid() {
			e.Source = net.TCPAddrFromAddrPort(src)
		}
		return e
	}
}

// freePortLocked finds a local port for a connection from local to remote
// (or, with remote invalid, for a listener): random start, then upward, never
// a port whose 4-tuple is in use, TIME_WAIT included. s.mu is held.
func (s *Stack) freePortLocked(local netip.Addr, remote netip.AddrPort) (uint16, bool) {
	lo, hi := int(s.cfg.EphemeralPorts[0]), int(s.cfg.EphemeralPorts[1])
	n := hi - lo + 1
	start := int(s.randomPort()) - lo
	for i := 0; i < n; i++ {
		port := uint16(lo + (start+i)%n)
		ap := netip.AddrPortFrom(local, port)
		if s.portListenedLocked(ap) {
			continue
		}
		if remote.IsValid() {
			id := tcp.ID{Local: ap, Remote: remote}
			if _, used := s.conns[keyOf(id)]; used || s.timeWaitUsedLocked(id) {
				continue
			}
		} else if s.portConnectedLocked(port) {
			continue
		}
		return port, true
	}
	return 0, false
}

// portConnectedLocked reports whether any connection uses the local port.
func (s *Stack) portConnectedLocked(port uint16) bool {
	for k := range s.conns {
		if k.lport == port {
			return true
		}
	}
	return s.timeWaitPortLocked(port)
}

// parseAddr parses a "host:port" address for network "tcp" or "tcp4".
func parseAddr(network, address string) (netip.AddrPort, error) {
	switch network {
	case "tcp", "tcp4":
	default:
		return netip.AddrPort{}, net.UnknownNetworkError(network)
	}
	host, portStr, err := net.SplitHostPort(address)
	if err != nil {
		return netip.AddrPort{}, err
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return netip.AddrPort{}, &net.AddrError{Err: "invalid port", Addr: address}
	}
	addr := netip.IPv4Unspecified()
	if host != "" {
		addr, err = netip.ParseAddr(host)
		if err != nil {
			return netip.AddrPort{}, &net.AddrError{Err: "not an IP address (seqack does not resolve names)", Addr: host}
		}
		addr = addr.Unmap()
		if !addr.Is4() {
			return netip.AddrPort{}, &net.AddrError{Err: "not an IPv4 address", Addr: host}
		}
	}
	return netip.AddrPortFrom(addr, uint16(port)), nil
}

// mapContextError turns a context's error into the error package net
// returns for it: a timeout for a deadline, "operation was canceled"
// otherwise.
func mapContextError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return dialTimeoutError{}
	}
	return err
}

// dialTimeoutError is the error of a dial whose context deadline passed. It
// is a timeout (net.Error) and matches both os.ErrDeadlineExceeded and
// context.DeadlineExceeded with errors.Is.
type dialTimeoutError struct{}

func (dialTimeoutError) Error() string   { return "i/o timeout" }
func (dialTimeoutError) Timeout() bool   { return true }
func (dialTimeoutError) Temporary() bool { return true }
func (dialTimeoutError) Is(target error) bool {
	return target == os.ErrDeadlineExceeded || target == context.DeadlineExceeded
}
