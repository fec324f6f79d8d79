package stack

import (
	"errors"
	"net"
	"time"

	"github.com/seqack/seqack/tcp"
)

// defaultKeepAlive is the keep-alive idle time and interval package net
// gives connections when a Dialer or ListenConfig leaves KeepAlive zero.
const defaultKeepAlive = 15 * time.Second

// defaultKeepAliveCount is package net's (and Linux's) probe count.
const defaultKeepAliveCount = 9

// applyKeepAliveDefault turns keep-alive on for a new connection as package
// net does (15 s), unless the stack's Config.KeepAlive or its TCP config
// says otherwise.
func (s *Stack) applyKeepAliveDefault(c *Conn) {
	if s.tcp.KeepAliveIdle != 0 {
		return // the TCP config chose
	}
	switch ka := s.cfg.KeepAlive; {
	case ka < 0:
	case ka == 0:
		c.tcb.SetKeepAlive(defaultKeepAlive, defaultKeepAlive, defaultKeepAliveCount)
	default:
		c.tcb.SetKeepAlive(ka, ka, defaultKeepAliveCount)
	}
}

// setsockopt runs f on the engine under the connection's lock and flushes
// what it sent; it fails once the connection is closed.
func (c *Conn) setsockopt(f func(now time.Time) error) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return c.opError("set", net.ErrClosed)
	}
	err := f(c.s.now())
	c.unlockAndFlush()
	if err != nil {
		return c.opError("set", err)
	}
	return nil
}

// SetNoDelay controls Nagle's algorithm, as (*net.TCPConn).SetNoDelay
// does. The default is true (no delay): data goes out as soon as it is
// written. With false, a segment smaller than the MSS waits while earlier
// data is unacknowledged (RFC 896).
func (c *Conn) SetNoDelay(noDelay bool) error {
	return c.setsockopt(func(now time.Time) error {
		c.tcb.SetNoDelay(noDelay, now)
		return nil
	})
}

// SetKeepAlive turns keep-alive probes on or off, as
// (*net.TCPConn).SetKeepAlive does. They are on by default, every 15 s,
// as with package net's Dial and Listen.
func (c *Conn) SetKeepAlive(keepalive bool) error {
	return c.setsockopt(func(time.Time) error {
		if !keepalive {
			return c.tcb.SetKeepAlive(0, 0, 0)
		}
		idle := c.keepAliveIdle
		if idle <= 0 {
			idle = defaultKeepAlive
		}
		return c.tcb.SetKeepAlive(idle, idle, defaultKeepAliveCount)
	})
}

// SetKeepAlivePeriod sets the idle time before the first keep-alive probe
// and the interval between probes, as (*net.TCPConn).SetKeepAlivePeriod
// does, and turns probing on.
func (c *Conn) SetKeepAlivePeriod(d time.Duration) error {
	if d <= 0 {
		return c.opError("set", errors.New("keep-alive period must be positive"))
	}
	return c.setsockopt(func(time.Time) error {
		c.keepAliveIdle = d
		return c.tcb.SetKeepAlive(d, d, defaultKeepAliveCount)
	})
}

// SetKeepAliveConfig configures keep-alive probes as
// (*net.TCPConn).SetKeepAliveConfig does: a zero field means its default
// (15 s idle, 15 s interval, 9 probes), a negative one leaves the current
// value, and Enable false turns probing off.
func (c *Conn) SetKeepAliveConfig(config net.KeepAliveConfig) error {
	return c.setsockopt(func(time.Time) error {
		if !config.Enable {
			return c.tcb.SetKeepAlive(0, 0, 0)
		}
		idle, interval, count := c.tcb.KeepAlive()
		switch {
		case config.Idle == 0:
			idle = defaultKeepAlive
		case config.Idle > 0:
			idle = config.Idle
		}
		switch {
		case config.Interval == 0:
			interval = defaultKeepAlive
		case config.Interval > 0:
			interval = config.Interval
		}
		switch {
		case config.Count == 0:
			count = defaultKeepAliveCount
		case config.Count > 0:
			count = config.Count
		}
		if idle <= 0 {
			idle = defaultKeepAlive
		}
		c.keepAliveIdle = idle
		return c.tcb.SetKeepAlive(idle, interval, count)
	})
}

// SetReadBuffer sets the size of the receive buffer, as
// (*net.TCPConn).SetReadBuffer does (SO_RCVBUF); it also stops the buffer
// from growing by itself. It bounds the window the peer is offered.
func (c *Conn) SetReadBuffer(bytes int) error {
	return c.setsockopt(func(time.Time) error { return c.tcb.SetReceiveBufferSize(bytes) })
}

// SetWriteBuffer sets the size of the send buffer, as
// (*net.TCPConn).SetWriteBuffer does (SO_SNDBUF); it also stops the buffer
// from growing by itself.
func (c *Conn) SetWriteBuffer(bytes int) error {
	return c.setsockopt(func(time.Time) error { return c.tcb.SetSendBufferSize(bytes) })
}

// SetUserTimeout sets how long written data may stay unacknowledged before
// the connection fails with a timeout (Linux's TCP_USER_TIMEOUT, RFC 5482);
// 0 leaves it to the retry counts.
func (c *Conn) SetUserTimeout(d time.Duration) error {
	return c.setsockopt(func(time.Time) error { return c.tcb.SetUserTimeout(d) })
}

// Info returns a snapshot of the connection's transmission state: its
// congestion window, RTT estimate, windows and negotiated options, like
// Linux's TCP_INFO.
func (c *Conn) Info() tcp.Info {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tcb.Info()
}
