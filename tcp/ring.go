package tcp

import (
	"math/bits"
	"sync"
	"unsafe"
)

// ring is a byte FIFO of bounded capacity. The send buffer keeps
// unacknowledged and unsent data in one; the receive buffer keeps data the
// application has not read yet, and, beyond it, out-of-order data at the
// offsets where it belongs (WriteAt), so that reassembly needs no memory of
// its own.
//
// Its capacity (Cap) is what the window and the application see; its
// memory is only what the bytes in it need. Memory is allocated by the
// first write, grows by doubling (from ringMinAlloc) as the bytes held
// reach further, and goes back to a shared pool when the connection
// releases the empty ring (Release), so that an idle, half-open or
// only-sending connection holds no buffer it does not use.
type ring struct {
	buf  []byte // nil until the first write; len(buf) <= max(size, ringMinAlloc)
	size int    // capacity
	head int    // index of the first byte
	n    int    // bytes stored
}

func newRing(size int) ring { return ring{size: size} }

// Cap returns the ring's capacity.
func (r *ring) Cap() int { return r.size }

// Len returns the bytes stored.
func (r *ring) Len() int { return r.n }

// Free returns the room left.
func (r *ring) Free() int { return r.size - r.n }

// Allocated returns the bytes of memory the ring holds now.
func (r *ring) Allocated() int { return len(r.buf) }

// Write appends as much of p as fits and returns how much that was.
func (r *ring) Write(p []byte) int {
	n := r.WriteAt(r.n, p)
	r.n += n
	return n
}

// WriteAt copies as much of p as fits into the ring starting off bytes
// after its first byte, without changing Len, and returns how much that
// was. Bytes between Len and off keep what they held. Commit makes written
// bytes part of the contents.
func (r *ring) WriteAt(off int, p []byte) int {
	if off < 0 || off >= r.size || len(p) == 0 {
		return 0
	}
	p = p[:min(len(p), r.size-off)]
	r.reserve(off + len(p))
	start := (r.head + off) % len(r.buf)
	c := copy(r.buf[start:], p)
	copy(r.buf, p[c:])
	return len(p)
}

// reserve makes the ring's memory reach at least end bytes past its first
// byte (end <= size). Growing keeps every byte of the old memory at its
// offset from the first byte: the contents, and any out-of-order bytes
// beyond them.
func (r *ring) reserve(end int) {
	if end <= len(r.buf) {
		return
	}
	nb := getRingBuf(allocSize(end, r.size))
	if r.buf != nil {
		c := copy(nb, r.buf[r.head:])
		copy(nb[c:], r.buf[:r.head])
		putRingBuf(r.buf)
	}
	r.buf, r.head = nb, 0
}

// Commit extends the contents by n bytes already placed with WriteAt.
func (r *ring) Commit(n int) { r.n = min(r.n+n, r.size) }

// Read moves up to len(p) bytes out of the ring into p.
func (r *ring) Read(p []byte) int {
	a, b := r.Peek(0, len(p))
	n := copy(p, a)
	n += copy(p[n:], b)
	r.Discard(n)
	return n
}

// Peek returns the n bytes starting off bytes into the ring (fewer if the
// ring holds less) as up to two slices, without copying.
func (r *ring) Peek(off, n int) (first, second []byte) {
	if off >= r.n {
		return nil, nil
	}
	n = min(n, r.n-off)
	start := (r.head + off) % len(r.buf)
	if start+n <= len(r.buf) {
		return r.buf[start : start+n], nil
	}
	return r.buf[start:], r.buf[:start+n-len(r.buf)]
}

// Discard drops the first n bytes.
func (r *ring) Discard(n int) {
	n = min(n, r.n)
	if n == 0 {
		return
	}
	r.n -= n
	// The head moves even when the ring empties: out-of-order bytes
	// beyond the contents (WriteAt) stay where they were put.
	r.head = (r.head + n) % len(r.buf)
}

// Resize changes the capacity to size, keeping the first keep bytes of the
// ring's space (its contents and any out-of-order bytes beyond them). keep
// must be at least Len and at most size. Memory is reallocated only when
// what the ring holds no longer fits the new capacity.
func (r *ring) Resize(size, keep int) {
	r.size = size
	if len(r.buf) <= max(size, ringMinAlloc) {
		return
	}
	keep = min(keep, size, len(r.buf))
	nb := getRingBuf(allocSize(keep, size))
	c := copy(nb[:keep], r.buf[r.head:])
	copy(nb[c:keep], r.buf)
	putRingBuf(r.buf)
	r.buf, r.head = nb, 0
}

// allocSize returns the memory a ring of capacity size takes to hold n
// bytes: the power of two at or above n, at least ringMinAlloc, at most
// size.
func allocSize(n, size int) int {
	return min(max(ringMinAlloc, 1<<bits.Len(uint(max(n, 1)-1))), size)
}

// Release gives the ring's memory back to the pool when it holds nothing,
// so an idle connection keeps no buffer; the next write takes one again.
// The caller must know that no out-of-order bytes are held beyond the
// contents either.
func (r *ring) Release() {
	if r.n == 0 && r.buf != nil {
		putRingBuf(r.buf)
		r.buf, r.head = nil, 0
	}
}

// ringMinAlloc is the smallest memory a ring takes: room for a couple of
// full-sized segments.
const ringMinAlloc = 4 << 10

// ringPools hold released ring memory by size, for sizes that are powers
// of two from ringMinAlloc to 8 MiB (beyond the largest buffers'
// defaults): connections that come and go, or fall idle and wake up, reuse
// memory rather than allocate and zero it each time.
var ringPools [12]sync.Pool

// ringPool returns the pool for memory of n bytes, or nil.
func ringPool(n int) *sync.Pool {
	if n < ringMinAlloc || n&(n-1) != 0 {
		return nil
	}
	k := bits.Len(uint(n)) - bits.Len(uint(ringMinAlloc))
	if k >= len(ringPools) {
		return nil
	}
	return &ringPools[k]
}

// getRingBuf returns n bytes of ring memory, from the pool if it has some.
func getRingBuf(n int) []byte {
	if p := ringPool(n); p != nil {
		// The pool holds a pointer to the first byte, which an interface
		// stores without allocating (a []byte would be boxed).
		if b, ok := p.Get().(*byte); ok {
			return unsafe.Slice(b, n)
		}
	}
	return make([]byte, n)
}

// putRingBuf returns ring memory to its pool, cleared, so that no byte of
// one connection can ever surface in another.
func putRingBuf(b []byte) {
	if p := ringPool(len(b)); p != nil && cap(b) == len(b) {
		clear(b)
		p.Put(unsafe.SliceData(b))
	}
}
