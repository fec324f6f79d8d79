package tcp

// ring is a fixed-capacity byte FIFO. The send buffer keeps unacknowledged
// and unsent data in one; the receive buffer keeps data the application has
// not read yet. Its memory is allocated by the first Write, so a connection
// that is idle, half-open or only sending costs no buffer it does not use.
type ring struct {
	buf  []byte // nil until the first Write
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
	if r.buf == nil && len(p) > 0 && r.size > 0 {
		r.buf = make([]byte, r.size)
	}
	total := 0
	for len(p) > 0 && r.n < len(r.buf) {
		tail := (r.head + r.n) % len(r.buf)
		end := len(r.buf)
		if tail < r.head {
			end = r.head
		}
		c := copy(r.buf[tail:end], p)
		r.n += c
		total += c
		p = p[c:]
	}
	return total
}

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
	r.n -= n
	if r.n == 0 {
		r.head = 0
		return
	}
	r.head = (r.head + n) % len(r.buf)
}
