package tcp

// ring is a byte FIFO of bounded capacity. The send buffer keeps
// unacknowledged and unsent data in one; the receive buffer keeps data the
// application has not read yet, and, beyond it, out-of-order data at the
// offsets where it belongs (WriteAt), so that reassembly needs no memory of
// its own. Its memory is allocated by the first write, so a connection that
// is idle, half-open or only sending costs no buffer it does not use.
type ring struct {
	buf  []byte // nil until the first write
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
	if r.buf == nil {
		r.buf = make([]byte, r.size)
	}
	p = p[:min(len(p), r.size-off)]
	start := (r.head + off) % len(r.buf)
	c := copy(r.buf[start:], p)
	copy(r.buf, p[c:])
	return len(p)
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
// must be at least Len and at most size.
func (r *ring) Resize(size, keep int) {
	if size == r.size {
		return
	}
	if r.buf == nil {
		r.size = size
		return
	}
	nb := make([]byte, size)
	keep = min(keep, r.size, size)
	start := r.head
	c := copy(nb[:keep], r.buf[start:])
	copy(nb[c:keep], r.buf)
	r.buf, r.size, r.head = nb, size, 0
}

// Release frees the ring's memory when it holds nothing, so an idle
// connection keeps no buffer; the next write allocates it again.
func (r *ring) Release() {
	if r.n == 0 {
		r.buf, r.head = nil, 0
	}
}
