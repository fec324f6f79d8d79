package link

import "sync"

// DefaultMTU and DefaultQueueLen are the MTU and the per-direction queue
// length of a Pipe.
const (
	DefaultMTU      = 1500
	DefaultQueueLen = 1024
)

// PipeStats counts what happened to the packets written by one end of a pipe.
//
// Every packet that WritePackets accepts is counted in Sent and, in the end,
// in exactly one of the others: Delivered when the peer reads it, or one of
// the drop counters. Packets still queued or held are in none of them yet.
type PipeStats struct {
	Sent          uint64 // accepted by WritePackets
	Delivered     uint64 // read by the peer
	DropQueueFull uint64 // dropped because the peer's queue was full
	DropTooBig    uint64 // dropped because it was longer than the MTU
	DropClosed    uint64 // dropped because an end was closed
}

// Pipe returns the two ends of an in-memory link, with an MTU of
// [DefaultMTU] bytes and room for [DefaultQueueLen] packets in each
// direction. What one end writes, the other reads.
func Pipe() (*PipeEnd, *PipeEnd) {
	return NewPipe(DefaultMTU, DefaultQueueLen)
}

// NewPipe is like [Pipe] with the given MTU and per-direction queue length.
// It panics if either is not positive.
func NewPipe(mtu, queueLen int) (*PipeEnd, *PipeEnd) {
	if mtu <= 0 || queueLen <= 0 {
		panic("link: NewPipe with non-positive MTU or queue length")
	}
	ab := newPipeDir(mtu, queueLen)
	ba := newPipeDir(mtu, queueLen)
	return &PipeEnd{mtu: mtu, out: ab, in: ba}, &PipeEnd{mtu: mtu, out: ba, in: ab}
}

// A PipeEnd is one end of a [Pipe]. It implements [Link].
//
// Packets are copied on write into buffers the pipe recycles, so a steady
// flow of packets does not allocate. The queue toward each end is a bounded
// FIFO: when it is full, further packets are dropped (tail drop) and counted.
type PipeEnd struct {
	mtu int
	out *pipeDir // packets this end writes
	in  *pipeDir // packets this end reads
}

var _ Swapper = (*PipeEnd)(nil)

// MTU returns the largest packet, in bytes, that the pipe carries.
func (p *PipeEnd) MTU() int { return p.mtu }

// WritePackets copies pkts into the peer's queue, in order. A packet longer
// than the MTU, a packet that finds the peer's queue full and a packet sent
// toward a closed peer are dropped and counted in [PipeEnd.Stats], but still
// count as written. WritePackets never blocks on the reader. It returns
// [ErrClosed] if this end is closed.
func (p *PipeEnd) WritePackets(pkts [][]byte) (int, error) {
	return p.out.write(pkts, false)
}

// SwapWritePackets is WritePackets without a copy, as [Swapper] says: a
// packet whose capacity is at least the MTU is queued as it is, and a
// buffer of the pipe's takes its place in pkts.
func (p *PipeEnd) SwapWritePackets(pkts [][]byte) (int, error) {
	return p.out.write(pkts, true)
}

// ReadPackets blocks until at least one packet is queued for this end, then
// copies as many queued packets as fit into bufs, one per buffer, and stores
// each one's length in sizes. A packet longer than its buffer is truncated,
// and sizes holds the length that was copied. It returns [ErrClosed] once
// this end is closed, even if packets are still queued.
func (p *PipeEnd) ReadPackets(bufs [][]byte, sizes []int) (int, error) {
	return p.in.read(bufs, sizes, false)
}

// SwapReadPackets is ReadPackets without a copy, as [Swapper] says: a
// buffer of bufs whose capacity is at least the MTU is exchanged for the
// pipe's buffer that holds the packet.
func (p *PipeEnd) SwapReadPackets(bufs [][]byte, sizes []int) (int, error) {
	return p.in.read(bufs, sizes, true)
}

// Close closes this end: its reads and writes return [ErrClosed], a blocked
// ReadPackets returns, and packets queued for it, held by it, or later
// written toward it are dropped. The other end stays open. Closing an end
// that is already closed does nothing.
func (p *PipeEnd) Close() error {
	p.out.closeWriter()
	p.in.closeReader()
	return nil
}

// Hold stops delivery of the packets this end writes: they are queued
// (without limit) but the peer does not see them until [PipeEnd.Release].
// It lets a test put packets in flight in both directions at once, as for a
// simultaneous open or close.
func (p *PipeEnd) Hold() {
	p.out.mu.Lock()
	p.out.held = true
	p.out.mu.Unlock()
}

// Release ends a [PipeEnd.Hold] and delivers the held packets to the peer in
// the order they were written, subject to the peer's queue limit.
func (p *PipeEnd) Release() {
	p.out.release()
}

// Stats returns the counters of the packets this end has written.
func (p *PipeEnd) Stats() PipeStats {
	p.out.mu.Lock()
	defer p.out.mu.Unlock()
	return p.out.stats
}

// A pipeDir is one direction of a pipe: the queue from a writer to a reader
// and everything that happens to the packets on the way. All of it is
// guarded by mu.
type pipeDir struct {
	mu    sync.Mutex
	ready sync.Cond // signalled when a packet is queued or the reader closes

	mtu  int
	ring [][]byte // the queue: n packets from ring[head], wrapping
	head int
	n    int
	free [][]byte // recycled packet buffers, each with capacity mtu

	held    bool
	pending [][]byte // packets written while held

	writerClosed bool
	readerClosed bool

	stats PipeStats
}

func newPipeDir(mtu, queueLen int) *pipeDir {
	d := &pipeDir{mtu: mtu, ring: make([][]byte, queueLen)}
	d.ready.L = &d.mu
	return d
}

// alloc returns a buffer of capacity at least mtu, recycled if one is free.
func (d *pipeDir) alloc() []byte {
	if k := len(d.free); k > 0 {
		b := d.free[k-1]
		d.free[k-1] = nil
		d.free = d.free[:k-1]
		return b
	}
	return make([]byte, d.mtu)
}

// take returns a pipe buffer holding pkt: pkt itself if swap allows and
// it is large enough, in which case pkts[i] gets a buffer in return;
// otherwise a copy.
func (d *pipeDir) take(pkts [][]byte, i int, swap bool) []byte {
	pkt := pkts[i]
	if swap && cap(pkt) >= d.mtu {
		pkts[i] = d.alloc()
		return pkt
	}
	b := d.alloc()[:len(pkt)]
	copy(b, pkt)
	return b
}

// recycle returns b to the free list. The free list never holds more buffers
// than the queue has slots, which bounds what a burst leaves behind.
func (d *pipeDir) recycle(b []byte) {
	if len(d.free) < len(d.ring) {
		d.free = append(d.free, b)
	}
}

// enqueue appends the pipe buffer b to the queue, or drops it, counts the
// drop and recycles b. It reports whether b was queued.
func (d *pipeDir) enqueue(b []byte) bool {
	switch {
	case d.readerClosed:
		d.stats.DropClosed++
	case d.n == len(d.ring):
		d.stats.DropQueueFull++
	default:
		d.ring[(d.head+d.n)%len(d.ring)] = b
		d.n++
		return true
	}
	d.recycle(b)
	return false
}

func (d *pipeDir) write(pkts [][]byte, swap bool) (int, error) {
	d.mu.Lock()
	if d.writerClosed {
		d.mu.Unlock()
		return 0, ErrClosed
	}
	wake := d.n == 0 // the reader may be waiting
	queued := false
	for i, pkt := range pkts {
		d.stats.Sent++
		switch {
		case len(pkt) > d.mtu:
			d.stats.DropTooBig++
		case d.readerClosed:
			d.stats.DropClosed++
		case d.held:
			d.pending = append(d.pending, d.take(pkts, i, swap))
		case d.n == len(d.ring):
			d.stats.DropQueueFull++
		default:
			t := d.head + d.n
			if t >= len(d.ring) {
				t -= len(d.ring)
			}
			d.ring[t] = d.take(pkts, i, swap)
			d.n++
			queued = true
		}
	}
	d.mu.Unlock()
	if queued && wake {
		// Only a reader that found the queue empty waits: one that
		// found it non-empty takes what is there before it waits again.
		d.ready.Signal()
	}
	return len(pkts), nil
}

func (d *pipeDir) read(bufs [][]byte, sizes []int, swap bool) (int, error) {
	limit := min(len(bufs), len(sizes))
	d.mu.Lock()
	defer d.mu.Unlock()
	for d.n == 0 && !d.readerClosed {
		if limit == 0 {
			return 0, nil
		}
		d.ready.Wait()
	}
	if d.readerClosed {
		return 0, ErrClosed
	}
	k := min(limit, d.n)
	for i := range k {
		pkt := d.ring[d.head]
		d.ring[d.head] = nil
		if d.head++; d.head == len(d.ring) {
			d.head = 0
		}
		if swap && cap(bufs[i]) >= d.mtu {
			d.recycle(bufs[i][:0])
			bufs[i], sizes[i] = pkt[:cap(pkt)], len(pkt)
			continue
		}
		sizes[i] = copy(bufs[i], pkt)
		d.recycle(pkt)
	}
	d.n -= k
	d.stats.Delivered += uint64(k)
	return k, nil
}

func (d *pipeDir) release() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.held = false
	queued := false
	for i, b := range d.pending {
		if d.enqueue(b) {
			queued = true
		}
		d.pending[i] = nil
	}
	d.pending = d.pending[:0]
	if queued {
		d.ready.Signal()
	}
}

// closeWriter is called when the writing end closes: later writes fail, and
// held packets are dropped.
func (d *pipeDir) closeWriter() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.writerClosed = true
	d.stats.DropClosed += uint64(len(d.pending))
	for i, pkt := range d.pending {
		d.recycle(pkt)
		d.pending[i] = nil
	}
	d.pending = d.pending[:0]
}

// closeReader is called when the reading end closes: queued packets are
// dropped and a blocked reader wakes up.
func (d *pipeDir) closeReader() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.readerClosed {
		return
	}
	d.readerClosed = true
	d.stats.DropClosed += uint64(d.n)
	for ; d.n > 0; d.n-- {
		d.recycle(d.ring[d.head])
		d.ring[d.head] = nil
		d.head = (d.head + 1) % len(d.ring)
	}
	d.ready.Broadcast()
}
