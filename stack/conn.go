package stack

import (
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/seqack/seqack/tcp"
	"github.com/seqack/seqack/wire"
)

// Conn is a TCP connection on a Stack. It implements net.Conn, and, like
// *net.TCPConn, CloseWrite and SetLinger.
type Conn struct {
	s  *Stack
	id tcp.ID

	mu            sync.Mutex // guards everything below, and the engine
	tcb           *tcp.Conn
	txq           *txBatch      // segments the engine emitted, not yet written
	sending       bool          // a goroutine is writing segments taken from txq
	waiters       []waiter      // goroutines blocked on the connection
	waiter1       [1]waiter     // waiters' first array: one blocked call allocates nothing
	timerAt       time.Time     // the deadline this Conn has in the timer queue
	tn            timerNode     // its entry there (guarded by the queue's lock)
	listener      *Listener     // the listener that spawned it, until it is queued
	queued        bool          // handed to (or dropped by) its listener
	removed       bool          // gone from the stack's table
	closed        bool          // the user called Close
	linger        int           // seconds; -1: close in the background (the default)
	keepAliveIdle time.Duration // the period SetKeepAlivePeriod last set
	bufMem        int           // buffer memory counted in the stack's total

	readDeadline, writeDeadline deadline

	tw *tcp.TimeWaitEntry // its TIME-WAIT, once the stack's table has it (unlockPost)
}

func (s *Stack) newConn(id tcp.ID, l *Listener) *Conn {
	c := &Conn{s: s, id: id, listener: l, linger: -1}
	c.tcb = tcp.NewConn(id, &s.tcp, c, s.sink)
	s.applyKeepAliveDefault(c)
	return c
}

// SendSegment encodes a segment from the engine; it is written to the link
// when the current call into the engine finishes (unlockPost).
func (c *Conn) SendSegment(id tcp.ID, seg *tcp.Segment) {
	if c.txq == nil {
		c.txq = c.s.getBatch()
	}
	c.txq.bufs = append(c.txq.bufs, c.s.encodeSegment(id, seg))
}

// flushLocked registers the engine's next timer and wakes every goroutine
// waiting on the connection; unlockPost then writes the segments the
// engine emitted. c.mu is held.
func (c *Conn) flushLocked() {
	if dl := c.tcb.Deadline(); !dl.IsZero() && (c.timerAt.IsZero() || dl.Before(c.timerAt)) {
		// An earlier deadline moves the connection's entry; a later one
		// leaves it in place: it fires, finds nothing due, and registers
		// the real one then. That keeps the queue's lock off the path of
		// every ACK, which pushes the retransmission timer back.
		c.timerAt = dl
		c.s.timers.schedule(c, dl)
	}
	if len(c.waiters) > 0 {
		c.wakeLocked()
	}
}

// unlockPost releases c.mu, then writes the segments the engine emitted
// (send), and does what needs other locks: handing the connection to its
// listener, and removing it from the stack's table once it is CLOSED.
func (c *Conn) unlockPost() {
	st := c.tcb.State()
	l := c.listener
	var enqueue, abandon, remove bool
	if l != nil && !c.queued {
		switch {
		case st >= tcp.Established:
			c.queued, enqueue = true, true
		case st == tcp.Closed || st == tcp.Listen:
			c.queued, abandon = true, true
		}
	}
	if (st == tcp.Closed || st == tcp.Listen) && !c.removed {
		c.removed, remove = true, true
	}
	var tw *tcp.TimeWaitEntry
	if st == tcp.TimeWait && !c.removed {
		// TIME-WAIT needs nothing of the Conn: a compact entry takes its
		// place in the stack's tables, and the Conn lives on only as
		// long as the application holds it.
		tw = c.tcb.CompactTimeWait()
		c.tw, c.removed = tw, true
	}
	c.accountMemory()
	out := c.takeTxLocked()
	c.mu.Unlock()
	if out != nil {
		c.send(out)
	}
	if tw != nil {
		c.s.addTimeWait(tw) // before the Conn goes: see input
		remove = true
	}
	if remove {
		c.s.removeConn(c)
	}
	if enqueue {
		l.enqueue(c)
	}
	if abandon {
		l.abandon()
	}
}

// takeTxLocked takes the segments waiting in txq for the caller to send,
// unless there are none, or another goroutine is sending: that one sends
// these too before it stops. c.mu is held.
func (c *Conn) takeTxLocked() *txBatch {
	if c.txq == nil || c.sending {
		return nil
	}
	c.sending = true
	out := c.txq
	c.txq = nil
	return out
}

// send writes the segments out, and any the engine emits meanwhile, with
// one WritePackets call per batch, without c.mu: a link write does not
// hold up the stack's input to the connection, nor its application. One
// goroutine at a time sends, so the connection's segments leave in the
// order the engine emitted them.
func (c *Conn) send(out *txBatch) {
	for out != nil {
		c.s.writeSegments(out)
		c.mu.Lock()
		next := c.txq
		c.txq, c.sending = nil, next != nil
		c.mu.Unlock()
		c.s.putBatch(out)
		out = next
	}
}

// unlockAndFlush is flushLocked then unlockPost.
func (c *Conn) unlockAndFlush() {
	c.flushLocked()
	c.unlockPost()
}

// input hands an arriving segment to the engine. It reports false if the
// connection did not take it: it was already gone, or it is in TIME_WAIT
// and the segment a new SYN that reopens it (RFC 1122 §4.2.2.13).
func (c *Conn) input(seg *tcp.Segment) bool {
	c.mu.Lock()
	// The time is read under the lock: read before it, it could be older
	// than the time another goroutine stamped segments with while this one
	// waited, and timestamps (RFC 7323) must not go back — the peer's PAWS
	// drops segments whose TSval does.
	now := c.s.now()
	if c.removed {
		tw := c.tw
		c.mu.Unlock()
		// A Conn that has just handed its TIME-WAIT over may still be
		// found in the table: the entry answers.
		return tw != nil && c.s.inputTimeWait(tw, seg)
	}
	if l := c.listener; l != nil && !c.queued && c.tcb.State() == tcp.SynReceived &&
		seg.Flags&(wire.FlagACK|wire.FlagRST|wire.FlagSYN) == wire.FlagACK && l.acceptQueueFull() {
		// (acceptQueueFull reads an atomic: no Listener lock under c.mu.)
		// The handshake would complete into a full accept queue: drop
		// the ACK, as Linux does, and let the SYN-ACK timer try again —
		// or, with AbortOnOverflow, reset (tcp_check_req's
		// listen_overflow and embryonic_reset).
		l.overflow()
		if c.s.cfg.AbortOnOverflow {
			c.tcb.Abort(now)
			c.unlockAndFlush()
			return true
		}
		c.mu.Unlock()
		return true
	}
	c.tcb.Input(seg, now)
	c.unlockAndFlush()
	return true
}

// fireTimer runs the engine's timers if the queue entry for at is still
// the current one.
func (c *Conn) fireTimer(at time.Time) {
	c.mu.Lock()
	if c.removed || !c.timerAt.Equal(at) {
		c.mu.Unlock()
		return
	}
	c.timerAt = time.Time{}
	c.tcb.HandleTimer(c.s.now())
	c.unlockAndFlush()
}

// Read reads data from the connection. It returns io.EOF once the peer has
// closed its side and all its data has been read.
func (c *Conn) Read(b []byte) (int, error) {
	c.mu.Lock()
	for {
		if err := c.usable(&c.readDeadline); err != nil {
			c.mu.Unlock()
			return 0, c.opError("read", err)
		}
		n, err := c.tcb.Read(b, c.s.now())
		if n > 0 || err != nil || len(b) == 0 {
			c.unlockAndFlush()
			if err == io.EOF {
				return n, io.EOF
			}
			if err != nil {
				return n, c.opError("read", os.NewSyscallError("read", err))
			}
			return n, nil
		}
		if !c.wait(waitRead, &c.readDeadline) {
			return 0, c.opError("read", net.ErrClosed)
		}
	}
}

// Write writes b to the connection, blocking while the send buffer is full.
// It returns fewer bytes than len(b) only with an error.
func (c *Conn) Write(b []byte) (int, error) {
	total := 0
	c.mu.Lock()
	for {
		if err := c.usable(&c.writeDeadline); err != nil {
			c.mu.Unlock()
			return total, c.opError("write", err)
		}
		n, err := c.tcb.Write(b[total:], c.s.now())
		total += n
		if err != nil || total == len(b) {
			c.unlockAndFlush()
			if err != nil {
				return total, c.opError("write", os.NewSyscallError("write", err))
			}
			return total, nil
		}
		if !c.wait(waitWrite, &c.writeDeadline) {
			return total, c.opError("write", net.ErrClosed)
		}
	}
}

// usable reports why the handle cannot be used now, if it cannot. c.mu is held.
func (c *Conn) usable(d *deadline) error {
	switch {
	case c.closed, isClosed(c.s.done):
		return net.ErrClosed
	case d.expired():
		return os.ErrDeadlineExceeded
	}
	return nil
}

// wait flushes, releases c.mu, sleeps until the connection is ready for
// kind or the deadline passes, and takes c.mu again. It reports false if
// the stack closed meanwhile (with c.mu released).
func (c *Conn) wait(kind waitKind, d *deadline) bool {
	c.flushLocked()
	w := c.waitFor(kind)
	dl := d.wait()
	c.unlockPost()
	select {
	case <-w:
	case <-dl:
	case <-c.s.done:
		return false
	}
	c.mu.Lock()
	c.waited(w)
	return true
}

// Close closes the connection. Queued data is still delivered, then a FIN,
// in the background; with SetLinger(0) the connection is reset instead, and
// with SetLinger(n > 0) Close waits up to n seconds for the peer to
// acknowledge everything. Unread received data also causes a reset
// (RFC 1122 §4.2.2.13).
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return c.opError("close", net.ErrClosed)
	}
	c.closed = true
	c.readDeadline.stop()
	c.writeDeadline.stop()
	now := c.s.now()
	if c.linger == 0 {
		c.tcb.Abort(now)
	} else {
		c.tcb.Close(now)
	}
	if c.linger > 0 {
		limit := time.NewTimer(time.Duration(c.linger) * time.Second)
		defer limit.Stop()
		for c.lingering() {
			c.flushLocked()
			w := c.waitFor(waitAny)
			c.unlockPost()
			select {
			case <-w:
			case <-limit.C:
				return nil
			case <-c.s.done:
				return nil
			}
			c.mu.Lock()
			c.waited(w)
		}
	}
	c.unlockAndFlush()
	return nil
}

// lingering reports whether Close with a linger time still has data or a
// FIN waiting for the peer's acknowledgment. c.mu is held.
func (c *Conn) lingering() bool {
	switch c.tcb.State() {
	case tcp.Closed, tcp.FinWait2, tcp.TimeWait:
		return false
	case tcp.FinWait1, tcp.Closing, tcp.LastAck:
		return true
	}
	return c.tcb.Buffered() > 0
}

// CloseWrite shuts down the sending side: the peer reads EOF once it has
// the data already written, and this side can still read.
func (c *Conn) CloseWrite() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return c.opError("close", net.ErrClosed)
	}
	err := c.tcb.CloseWrite(c.s.now())
	c.unlockAndFlush()
	if err != nil {
		return c.opError("close", os.NewSyscallError("shutdown", err))
	}
	return nil
}

// SetLinger sets what Close does with data not yet delivered, as
// (*net.TCPConn).SetLinger does: sec < 0 (the default) delivers it in the
// background; sec == 0 discards it and resets the connection; sec > 0 makes
// Close wait up to sec seconds for it to be acknowledged.
func (c *Conn) SetLinger(sec int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return c.opError("set", net.ErrClosed)
	}
	c.linger = max(sec, -1)
	return nil
}

// LocalAddr returns the local address as a *net.TCPAddr.
func (c *Conn) LocalAddr() net.Addr { return net.TCPAddrFromAddrPort(c.id.Local) }

// RemoteAddr returns the peer's address as a *net.TCPAddr.
func (c *Conn) RemoteAddr() net.Addr { return net.TCPAddrFromAddrPort(c.id.Remote) }

// SetDeadline sets the read and write deadlines, as net.Conn specifies.
func (c *Conn) SetDeadline(t time.Time) error {
	c.readDeadline.set(t)
	c.writeDeadline.set(t)
	return nil
}

// SetReadDeadline sets the deadline for Read calls, pending ones included.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.readDeadline.set(t)
	return nil
}

// SetWriteDeadline sets the deadline for Write calls, pending ones included.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.writeDeadline.set(t)
	return nil
}

// State returns the connection's TCP state.
func (c *Conn) State() tcp.State {
	c.mu.Lock()
	st, tw := c.tcb.State(), c.tw
	c.mu.Unlock()
	if tw != nil {
		return c.s.timeWaitState(tw)
	}
	return st
}

func (c *Conn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

// shutdown aborts the connection when the stack closes.
func (c *Conn) shutdown() {
	c.mu.Lock()
	c.tcb.Abort(c.s.now())
	c.unlockAndFlush()
}

// removeConn takes c out of the demultiplexing table.
func (s *Stack) removeConn(c *Conn) {
	s.mu.Lock()
	if k := keyOf(c.id); s.conns[k] == c {
		delete(s.conns, k)
	}
	s.mu.Unlock()
	s.timers.cancel(c)
}

var _ net.Conn = (*Conn)(nil)
