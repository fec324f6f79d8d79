package tcp

import (
	"bytes"
	"testing"
	"time"
	"unsafe"
)

// ringBytes returns n bytes of a pattern that starts at from, so that
// where each byte came from can be told.
func ringBytes(from, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte((from + i) % 251)
	}
	return b
}

// The ring's memory starts at nothing and doubles as its contents reach
// further, up to what the capacity needs; growing keeps every byte,
// across the wrap of the old memory too.
func TestRingGrowsOnDemand(t *testing.T) {
	for _, tc := range []struct {
		name   string
		size   int
		writes []int // bytes written, then (negative) bytes read
		alloc  []int // Allocated after each step
	}{
		{"small write", 256 << 10, []int{100}, []int{4096}},
		{"doubling", 256 << 10, []int{3000, 3000, 5000}, []int{4096, 8192, 16384}},
		{"to the capacity", 256 << 10, []int{200 << 10, 56 << 10}, []int{256 << 10, 256 << 10}},
		{"capacity not a power of two", 10000, []int{5000, 5000}, []int{8192, 10000}},
		{"capacity below the minimum", 1000, []int{10, 990}, []int{1000, 1000}},
		{"wrapped contents survive growth", 64 << 10, []int{3000, -2500, 3000, 3000}, []int{4096, 4096, 4096, 8192}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRing(tc.size)
			if r.Allocated() != 0 {
				t.Fatalf("a new ring holds %d bytes of memory", r.Allocated())
			}
			var want []byte
			next := 0
			for i, w := range tc.writes {
				if w > 0 {
					p := ringBytes(next, w)
					next += w
					if n := r.Write(p); n != w {
						t.Fatalf("step %d: Write = %d, want %d", i, n, w)
					}
					want = append(want, p...)
				} else {
					got := make([]byte, -w)
					if n := r.Read(got); n != -w || !bytes.Equal(got, want[:n]) {
						t.Fatalf("step %d: Read = %d bytes, wrong or short", i, n)
					}
					want = want[-w:]
				}
				if got := r.Allocated(); got != tc.alloc[i] {
					t.Fatalf("step %d: Allocated = %d, want %d", i, got, tc.alloc[i])
				}
			}
			a, b := r.Peek(0, r.Len())
			if got := append(append([]byte(nil), a...), b...); !bytes.Equal(got, want) {
				t.Fatalf("contents differ from what was written")
			}
		})
	}
}

// Out-of-order bytes written beyond the contents keep their offsets when
// the memory grows under them, and become contents when the gap is filled.
func TestRingGrowthKeepsOutOfOrderBytes(t *testing.T) {
	r := newRing(128 << 10)
	r.Write(ringBytes(0, 3000))
	r.Read(make([]byte, 2000)) // head moves, so later bytes wrap
	// Contents are bytes 2000..3000 of the stream; put 4000..5000 at its
	// offset, then 20000..21000, which makes the memory grow twice.
	if n := r.WriteAt(2000, ringBytes(4000, 1000)); n != 1000 {
		t.Fatalf("WriteAt = %d", n)
	}
	if n := r.WriteAt(18000, ringBytes(20000, 1000)); n != 1000 {
		t.Fatalf("WriteAt = %d", n)
	}
	if r.Allocated() != 32<<10 {
		t.Fatalf("Allocated = %d, want 32 KiB", r.Allocated())
	}
	r.WriteAt(1000, ringBytes(3000, 1000))
	r.WriteAt(3000, ringBytes(5000, 15000))
	r.Commit(19000)
	got := make([]byte, 19000)
	if n := r.Read(got); n != 19000 || !bytes.Equal(got, ringBytes(2000, 19000)) {
		t.Fatalf("Read after filling the gaps: %d bytes, or wrong ones", n)
	}
}

// Release gives the memory back only when the ring is empty; memory taken
// again from the pool holds nothing from before.
func TestRingRelease(t *testing.T) {
	r := newRing(64 << 10)
	r.Write(ringBytes(0, 100))
	r.Release()
	if r.Allocated() == 0 {
		t.Fatal("Release freed a ring that holds data")
	}
	r.Read(make([]byte, 100))
	r.Release()
	if r.Allocated() != 0 || r.Len() != 0 || r.Cap() != 64<<10 {
		t.Fatalf("after Release: Allocated %d, Len %d, Cap %d", r.Allocated(), r.Len(), r.Cap())
	}
	for range 10 {
		// Dirty memory, then release it to the pool.
		d := newRing(64 << 10)
		d.Write(bytes.Repeat([]byte{0xAA}, 4000))
		d.Read(make([]byte, 4000))
		d.Release()
		// Bytes skipped over by WriteAt and then committed read as zero,
		// never as another ring's data.
		r.WriteAt(10, []byte("x"))
		r.Commit(11)
		got := make([]byte, 11)
		r.Read(got)
		if !bytes.Equal(got, append(make([]byte, 10), 'x')) {
			t.Fatalf("reused memory shows old bytes: %x", got)
		}
		r.Release()
	}
}

// Resize changes the capacity; memory is reallocated only when it is
// larger than the new capacity, and the bytes to keep survive.
func TestRingResize(t *testing.T) {
	r := newRing(64 << 10)
	r.Write(ringBytes(0, 20000))
	r.Read(make([]byte, 15000))
	r.WriteAt(5000, ringBytes(20000, 100)) // out of order, kept
	if r.Allocated() != 32<<10 {
		t.Fatalf("Allocated = %d, want 32 KiB", r.Allocated())
	}
	r.Resize(1<<20, 5100) // larger: no new memory
	if r.Allocated() != 32<<10 || r.Cap() != 1<<20 {
		t.Fatalf("after growing: Allocated %d, Cap %d", r.Allocated(), r.Cap())
	}
	r.Resize(10000, 5100) // smaller than the memory: reallocated
	if r.Allocated() != 8192 || r.Cap() != 10000 {
		t.Fatalf("after shrinking: Allocated %d, Cap %d", r.Allocated(), r.Cap())
	}
	r.Commit(100)
	got := make([]byte, 5100)
	if n := r.Read(got); n != 5100 || !bytes.Equal(got, ringBytes(15000, 5100)) {
		t.Fatalf("Read after Resize: %d bytes, or wrong ones", n)
	}
	var never ring
	never.Resize(1000, 0)
	if never.Allocated() != 0 || never.Cap() != 1000 {
		t.Fatalf("Resize of an unused ring allocated %d bytes", never.Allocated())
	}
}

// A connection that has exchanged data and fallen idle holds no buffer
// memory: a buffer that has drained — the send buffer when the peer has
// acknowledged the last byte, the receive buffer when the application has
// read it — gives its memory back once it has stayed empty for
// bufferIdle. A busy connection keeps its buffers from one drain to the
// next, rather than give them back and take them again each time.
func TestIdleConnectionReleasesBuffers(t *testing.T) {
	h := newActive(t, nil)
	h.establish()
	h.write([]byte("request"))
	h.expect(psh(1001, 5001, "request"))
	if h.c.sendBuf.Allocated() == 0 {
		t.Fatal("unacknowledged data holds no send buffer")
	}
	sendMem := unsafe.SliceData(h.c.sendBuf.buf)
	h.send(psh(5001, 1008, "response"))
	h.expect(ack(1008, 5009))
	if h.c.rcvBuf.Allocated() == 0 {
		t.Fatal("unread data holds no receive buffer")
	}
	if got := string(h.read()); got != "response" {
		t.Fatalf("read %q", got)
	}
	rcvMem := unsafe.SliceData(h.c.rcvBuf.buf)

	// Busy: the next exchange comes before bufferIdle, and uses the same
	// memory.
	h.advance(bufferIdle - time.Millisecond)
	h.write([]byte("again"))
	h.expect(psh(1008, 5009, "again"))
	h.send(psh(5009, 1013, "fine"))
	h.expect(ack(1013, 5013))
	if got := string(h.read()); got != "fine" {
		t.Fatalf("read %q", got)
	}
	if unsafe.SliceData(h.c.sendBuf.buf) != sendMem || unsafe.SliceData(h.c.rcvBuf.buf) != rcvMem {
		t.Error("a busy connection gave its buffers back between two exchanges")
	}

	// Idle: after bufferIdle, both are gone.
	h.advance(bufferIdle - time.Millisecond)
	if h.c.BufferMemory() == 0 {
		t.Fatal("buffers gone before bufferIdle")
	}
	h.advance(time.Millisecond)
	if n := h.c.BufferMemory(); n != 0 {
		t.Errorf("an idle connection holds %d bytes of buffers", n)
	}
	h.expectNone()
	h.expectNoTimer()
	if dl := h.c.Deadline(); !dl.IsZero() {
		t.Errorf("a timer is left at +%v", dl.Sub(h.now))
	}

	// And the next exchange works as the first did.
	h.write([]byte("later"))
	h.expect(psh(1013, 5013, "later"))
	h.send(psh(5013, 1018, "ok"))
	h.expect(ack(1018, 5015))
	if got := string(h.read()); got != "ok" {
		t.Fatalf("read %q", got)
	}
}

// Out-of-order data keeps the receive buffer even when everything in
// order has been read and the buffer has been idle for long.
func TestReceiveBufferKeptForOutOfOrderData(t *testing.T) {
	h := newActive(t, nil)
	h.establish()
	h.send(psh(5001, 1001, "first"))
	h.send(psh(5011, 1001, "third")) // "secnd" is missing
	if got := string(h.read()); got != "first" {
		t.Fatalf("read %q", got)
	}
	h.advance(2 * bufferIdle)
	if h.c.rcvBuf.Allocated() == 0 {
		t.Fatal("receive buffer released while out-of-order data is held")
	}
	h.send(psh(5006, 1001, "secnd"))
	if got := string(h.read()); got != "secndthird" {
		t.Fatalf("read %q after the gap was filled", got)
	}
	h.advance(bufferIdle)
	if h.c.rcvBuf.Allocated() != 0 {
		t.Error("receive buffer kept after everything was read")
	}
}

// A connection that ends gives its empty buffers back at once; data the
// application has not read stays readable.
func TestClosedConnectionReleasesBuffers(t *testing.T) {
	h := newActive(t, nil)
	h.establish()
	h.write([]byte("bye"))
	h.expect(psh(1001, 5001, "bye"))
	h.send(psh(5001, 1004, "unread"))
	h.expect(ack(1004, 5007))
	h.send(rst(5007))
	h.state(Closed)
	if h.c.sendBuf.Allocated() != 0 {
		t.Error("a reset connection keeps its send buffer")
	}
	buf := make([]byte, 10)
	if n, err := h.c.Read(buf, h.now); string(buf[:n]) != "unread" || err != nil {
		t.Fatalf("Read after the reset = %q, %v; want the unread data", buf[:n], err)
	}
	if n := h.c.BufferMemory(); n != 0 {
		t.Errorf("a closed connection holds %d bytes of buffers once read", n)
	}
}
