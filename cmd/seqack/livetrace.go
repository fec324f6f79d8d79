package main

import (
	"io"
	"net/netip"
	"sync"

	"github.com/seqack/seqack/trace"
)

// liveTracer is the trace sink of --trace: it keeps each connection's
// events and prints the connection's ladder as soon as every end it traces
// has reached CLOSED, on a goroutine of its own, so that Emit stays quick.
// Close prints the ladders of the connections still open. A listener's
// own events are left out, so that each ladder's clock starts at its
// connection's first segment rather than when the listener opened; the
// passive side's column starts in LISTEN all the same.
type liveTracer struct {
	w        io.Writer
	relative bool

	mu      sync.Mutex
	conns   map[[2]netip.AddrPort]*liveConn // by endpoint pair, lower first
	order   [][2]netip.AddrPort             // open connections, in order of appearance
	ready   [][]trace.Event                 // finished ladders to print
	wake    chan struct{}
	done    chan struct{}
	closing bool
}

// liveConn is one connection's events so far, and which of its ends are
// traced and still open.
type liveConn struct {
	events []trace.Event
	open   map[netip.AddrPort]bool
}

func newLiveTracer(w io.Writer, relative bool) *liveTracer {
	lt := &liveTracer{
		w:        w,
		relative: relative,
		conns:    make(map[[2]netip.AddrPort]*liveConn),
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	go lt.printLoop()
	return lt
}

// pairOf returns the endpoints of e's connection, lower first.
func pairOf(e *trace.Event) [2]netip.AddrPort {
	a, b := e.Local, e.Remote
	if a.Compare(b) > 0 {
		a, b = b, a
	}
	return [2]netip.AddrPort{a, b}
}

// Emit records a copy of e, and hands the connection's events to the
// printer when e closes its last open end.
func (lt *liveTracer) Emit(e *trace.Event) {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	if !e.Remote.IsValid() {
		return // a listener's own event
	}
	k := pairOf(e)
	c := lt.conns[k]
	if c == nil {
		c = &liveConn{open: make(map[netip.AddrPort]bool)}
		lt.conns[k] = c
		lt.order = append(lt.order, k)
	}
	c.events = append(c.events, *e)
	if _, seen := c.open[e.Local]; !seen || e.Kind == trace.StateChanged {
		c.open[e.Local] = e.Kind != trace.StateChanged || e.To != "CLOSED"
	}
	if e.Kind != trace.StateChanged {
		return
	}
	for _, open := range c.open {
		if open {
			return
		}
	}
	lt.finishLocked(k)
}

// finishLocked queues connection k's ladder for printing.
func (lt *liveTracer) finishLocked(k [2]netip.AddrPort) {
	c := lt.conns[k]
	delete(lt.conns, k)
	for i, o := range lt.order {
		if o == k {
			lt.order = append(lt.order[:i], lt.order[i+1:]...)
			break
		}
	}
	lt.ready = append(lt.ready, c.events)
	select {
	case lt.wake <- struct{}{}:
	default:
	}
}

func (lt *liveTracer) printLoop() {
	defer close(lt.done)
	for range lt.wake {
		for {
			lt.mu.Lock()
			if len(lt.ready) == 0 {
				closing := lt.closing
				lt.mu.Unlock()
				if closing {
					return
				}
				break
			}
			evs := lt.ready[0]
			lt.ready = lt.ready[1:]
			lt.mu.Unlock()
			trace.WriteLadder(lt.w, evs, trace.LadderOptions{Relative: lt.relative})
			io.WriteString(lt.w, "\n")
		}
	}
}

// Close prints the ladders of the connections that have not reached
// CLOSED yet (those in TIME_WAIT, say), and waits for the printer.
func (lt *liveTracer) Close() {
	lt.mu.Lock()
	for len(lt.order) > 0 {
		lt.finishLocked(lt.order[0])
	}
	lt.closing = true
	lt.mu.Unlock()
	select {
	case lt.wake <- struct{}{}:
	default:
	}
	<-lt.done
}
