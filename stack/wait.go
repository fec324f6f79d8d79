package stack

import "sync"

// A waitKind is what a goroutine blocked on a connection waits for.
type waitKind uint8

const (
	waitRead  waitKind = iota // Read can proceed (data, EOF or an error)
	waitWrite                 // Write can proceed (room, or an error)
	waitAny                   // anything happened (Dial, Close with a linger time)
)

// A waiter is a goroutine blocked on a connection: it sleeps on ch, which
// has room for the one wake-up it gets.
type waiter struct {
	ch   chan struct{}
	kind waitKind
}

// waitChans holds empty wake-up channels (with a buffer of one) between
// waits, so that blocking on a connection allocates nothing once the pool
// has some: a bulk transfer blocks its reader and writer all the time.
var waitChans sync.Pool

// waitFor registers the calling goroutine as waiting for kind and returns
// the channel that wakes it; waited ends the wait. c.mu is held.
func (c *Conn) waitFor(kind waitKind) chan struct{} {
	ch := getWaitChan()
	if c.waiters == nil {
		c.waiters = c.waiter1[:0]
	}
	c.waiters = append(c.waiters, waiter{ch: ch, kind: kind})
	return ch
}

// waited ends a wait that waitFor began: the channel is unregistered if it
// was not woken, and goes back to the pool. A goroutine that gives up
// without calling it leaves its channel to be dropped by the next wake-up.
// c.mu is held.
func (c *Conn) waited(ch chan struct{}) {
	for i, w := range c.waiters {
		if w.ch == ch {
			last := len(c.waiters) - 1
			c.waiters[i] = c.waiters[last]
			c.waiters[last] = waiter{}
			c.waiters = c.waiters[:last]
			break
		}
	}
	putWaitChan(ch)
}

// getWaitChan returns an empty wake-up channel.
func getWaitChan() chan struct{} {
	if ch, ok := waitChans.Get().(chan struct{}); ok {
		return ch
	}
	return make(chan struct{}, 1)
}

// putWaitChan empties a wake-up channel nobody will wake again, and pools
// it.
func putWaitChan(ch chan struct{}) {
	select {
	case <-ch: // woken, or woken while its waiter gave up for another reason
	default:
	}
	waitChans.Put(ch)
}

// wakeOne wakes the waiter on ch, if it has not been woken already.
func wakeOne(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// wakeLocked wakes the waiters whose call can now proceed: a blocked
// reader and a blocked writer of one connection must not wake each other
// for nothing. c.mu is held.
func (c *Conn) wakeLocked() {
	keep := c.waiters[:0]
	for _, w := range c.waiters {
		var ready bool
		switch w.kind {
		case waitRead:
			ready = c.closed || c.tcb.Readable()
		case waitWrite:
			ready = c.closed || c.tcb.Writable()
		default:
			ready = true
		}
		if !ready {
			keep = append(keep, w)
			continue
		}
		wakeOne(w.ch)
	}
	clear(c.waiters[len(keep):])
	c.waiters = keep
}
