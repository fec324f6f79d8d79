package link

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// readAll reads exactly want packets from p and returns copies of them.
func readAll(t *testing.T, p *PipeEnd, want int) [][]byte {
	t.Helper()
	bufs := make([][]byte, 8)
	for i := range bufs {
		bufs[i] = make([]byte, p.MTU())
	}
	sizes := make([]int, len(bufs))
	var got [][]byte
	for len(got) < want {
		n, err := p.ReadPackets(bufs[:min(len(bufs), want-len(got))], sizes)
		if err != nil {
			t.Fatalf("ReadPackets after %d packets: %v", len(got), err)
		}
		for i := range n {
			got = append(got, bytes.Clone(bufs[i][:sizes[i]]))
		}
	}
	return got
}

func packets(n int) [][]byte {
	pkts := make([][]byte, n)
	for i := range pkts {
		pkts[i] = fmt.Appendf(nil, "packet %d", i)
	}
	return pkts
}

func TestPipeOrder(t *testing.T) {
	a, b := Pipe()
	defer a.Close()
	defer b.Close()
	want := packets(100)
	for _, p := range want {
		if n, err := a.WritePackets([][]byte{p}); n != 1 || err != nil {
			t.Fatalf("WritePackets = %d, %v", n, err)
		}
	}
	got := readAll(t, b, len(want))
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("packet %d = %q, want %q", i, got[i], want[i])
		}
	}
	if s := a.Stats(); s.Sent != 100 || s.Delivered != 100 {
		t.Errorf("Stats = %+v, want 100 sent and delivered", s)
	}
}

func TestPipeBatch(t *testing.T) {
	a, b := Pipe()
	defer a.Close()
	defer b.Close()
	if n, err := a.WritePackets(packets(10)); n != 10 || err != nil {
		t.Fatalf("WritePackets = %d, %v", n, err)
	}
	bufs := make([][]byte, 16)
	for i := range bufs {
		bufs[i] = make([]byte, 100)
	}
	sizes := make([]int, 16)
	// All ten are queued, so one read returns them all.
	n, err := b.ReadPackets(bufs, sizes)
	if n != 10 || err != nil {
		t.Fatalf("ReadPackets = %d, %v; want 10, nil", n, err)
	}
	// A read with fewer buffers than packets leaves the rest queued.
	a.WritePackets(packets(5))
	if n, _ := b.ReadPackets(bufs[:3], sizes); n != 3 {
		t.Errorf("ReadPackets into 3 buffers = %d, want 3", n)
	}
	if n, _ := b.ReadPackets(bufs, sizes); n != 2 {
		t.Errorf("second ReadPackets = %d, want 2", n)
	}
	if got := string(bufs[1][:sizes[1]]); got != "packet 4" {
		t.Errorf("last packet = %q, want %q", got, "packet 4")
	}
}

func TestPipeTruncate(t *testing.T) {
	a, b := Pipe()
	a.WritePackets([][]byte{[]byte("0123456789")})
	buf := make([]byte, 4)
	sizes := make([]int, 1)
	if n, err := b.ReadPackets([][]byte{buf}, sizes); n != 1 || err != nil || sizes[0] != 4 || string(buf) != "0123" {
		t.Errorf("ReadPackets = %d, %v, size %d, %q; want 1, nil, 4, \"0123\"", n, err, sizes[0], buf)
	}
}

func TestPipeCopies(t *testing.T) {
	a, b := Pipe()
	pkt := []byte("hello")
	a.WritePackets([][]byte{pkt})
	copy(pkt, "XXXXX")
	if got := readAll(t, b, 1)[0]; string(got) != "hello" {
		t.Errorf("read %q after the writer changed its buffer, want %q", got, "hello")
	}
}

func TestPipeTooBig(t *testing.T) {
	a, b := NewPipe(100, 8)
	n, err := a.WritePackets([][]byte{make([]byte, 100), make([]byte, 101), make([]byte, 1)})
	if n != 3 || err != nil {
		t.Fatalf("WritePackets = %d, %v; want 3, nil", n, err)
	}
	got := readAll(t, b, 2)
	if len(got[0]) != 100 || len(got[1]) != 1 {
		t.Errorf("read packets of %d and %d bytes, want 100 and 1", len(got[0]), len(got[1]))
	}
	if s := a.Stats(); s != (PipeStats{Sent: 3, Delivered: 2, DropTooBig: 1}) {
		t.Errorf("Stats = %+v", s)
	}
}

func TestPipeQueueFull(t *testing.T) {
	a, b := NewPipe(1500, 4)
	n, err := a.WritePackets(packets(6))
	if n != 6 || err != nil {
		t.Fatalf("WritePackets = %d, %v; want 6, nil (tail drop still counts as written)", n, err)
	}
	got := readAll(t, b, 4)
	if string(got[3]) != "packet 3" {
		t.Errorf("last packet read = %q, want the 4th written", got[3])
	}
	if s := a.Stats(); s != (PipeStats{Sent: 6, Delivered: 4, DropQueueFull: 2}) {
		t.Errorf("Stats = %+v", s)
	}
	// Reading made room again.
	a.WritePackets(packets(1))
	if got := readAll(t, b, 1); string(got[0]) != "packet 0" {
		t.Errorf("read %q after draining, want %q", got[0], "packet 0")
	}
}

func TestPipeHoldRelease(t *testing.T) {
	a, b := Pipe()
	a.Hold()
	b.Hold()
	a.WritePackets(packets(3))
	b.WritePackets([][]byte{[]byte("from b")})

	// Nothing is delivered while held.
	done := make(chan []byte)
	go func() {
		buf, size := make([]byte, 1500), []int{0}
		b.ReadPackets([][]byte{buf}, size) // blocks until Release
		done <- buf[:size[0]]
	}()
	select {
	case <-done:
		t.Fatal("ReadPackets returned while the writer was held")
	case <-time.After(20 * time.Millisecond):
	}
	if s := a.Stats(); s.Sent != 3 || s.Delivered != 0 {
		t.Errorf("Stats while held = %+v", s)
	}

	a.Release()
	got := append([][]byte{<-done}, readAll(t, b, 2)...)
	for i, want := range packets(3) {
		if !bytes.Equal(got[i], want) {
			t.Errorf("packet %d = %q, want %q", i, got[i], want)
		}
	}
	// b's direction is still held until its own Release.
	b.Release()
	if got := readAll(t, a, 1); string(got[0]) != "from b" {
		t.Errorf("a read %q, want %q", got[0], "from b")
	}
	// After Release, writes flow directly.
	a.WritePackets(packets(1))
	if got := readAll(t, b, 1); string(got[0]) != "packet 0" {
		t.Errorf("read %q after Release, want %q", got[0], "packet 0")
	}
}

func TestPipeHoldQueueLimit(t *testing.T) {
	a, b := NewPipe(1500, 2)
	a.Hold()
	a.WritePackets(packets(3)) // all held: holding has no limit
	a.Release()                // the queue takes two
	readAll(t, b, 2)
	if s := a.Stats(); s != (PipeStats{Sent: 3, Delivered: 2, DropQueueFull: 1}) {
		t.Errorf("Stats = %+v", s)
	}
}

func TestPipeCloseUnblocksRead(t *testing.T) {
	a, b := Pipe()
	errc := make(chan error)
	go func() {
		_, err := b.ReadPackets([][]byte{make([]byte, 1500)}, []int{0})
		errc <- err
	}()
	time.Sleep(10 * time.Millisecond) // let the reader block
	b.Close()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Errorf("blocked ReadPackets returned %v, want ErrClosed", err)
	}
	if _, err := b.WritePackets(packets(1)); !errors.Is(err, ErrClosed) {
		t.Errorf("WritePackets on a closed end = %v, want ErrClosed", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}

	// The open end can still write; its packets are dropped.
	if n, err := a.WritePackets(packets(2)); n != 2 || err != nil {
		t.Errorf("WritePackets toward a closed end = %d, %v; want 2, nil", n, err)
	}
	if s := a.Stats(); s != (PipeStats{Sent: 2, DropClosed: 2}) {
		t.Errorf("Stats = %+v", s)
	}
}

func TestPipeCloseDropsQueued(t *testing.T) {
	a, b := Pipe()
	a.WritePackets(packets(3))
	b.Close()
	if _, err := b.ReadPackets([][]byte{make([]byte, 1500)}, []int{0}); !errors.Is(err, ErrClosed) {
		t.Errorf("ReadPackets after Close = %v, want ErrClosed", err)
	}
	if s := a.Stats(); s != (PipeStats{Sent: 3, DropClosed: 3}) {
		t.Errorf("Stats = %+v", s)
	}
}

func TestPipeConcurrentWriters(t *testing.T) {
	const writers, perWriter = 8, 2000
	a, b := NewPipe(1500, writers*perWriter) // room for everything: no drops
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				pkt := []byte{byte(w), byte(i >> 8), byte(i)}
				if _, err := a.WritePackets([][]byte{pkt}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	// Each writer's packets arrive in the order it wrote them.
	next := make([]int, writers)
	for _, pkt := range readAll(t, b, writers*perWriter) {
		w, i := int(pkt[0]), int(pkt[1])<<8|int(pkt[2])
		if i != next[w] {
			t.Fatalf("writer %d: got packet %d, want %d", w, i, next[w])
		}
		next[w]++
	}
	wg.Wait()
	if s := a.Stats(); s.Sent != writers*perWriter || s.Delivered != s.Sent {
		t.Errorf("Stats = %+v", s)
	}
}

// BenchmarkPipe moves 1500-byte packets, written in batches of 16, from one
// goroutine to a reader on another. The writer keeps at most a queue's worth
// in flight, so nothing is dropped.
func BenchmarkPipe(b *testing.B) {
	const batch = 16
	a, z := Pipe()
	defer a.Close()
	defer z.Close()

	pkts := make([][]byte, batch)
	for i := range pkts {
		pkts[i] = make([]byte, 1500)
	}
	credits := make(chan struct{}, DefaultQueueLen/batch)
	for range cap(credits) {
		credits <- struct{}{}
	}
	total := b.N * batch
	done := make(chan struct{})
	go func() {
		defer close(done)
		bufs := make([][]byte, batch)
		for i := range bufs {
			bufs[i] = make([]byte, 1500)
		}
		sizes := make([]int, batch)
		for read := 0; read < total; {
			n, err := z.ReadPackets(bufs, sizes)
			if err != nil {
				b.Error(err)
				return
			}
			for range (read+n)/batch - read/batch {
				credits <- struct{}{}
			}
			read += n
		}
	}()

	b.SetBytes(batch * 1500)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		<-credits
		if _, err := a.WritePackets(pkts); err != nil {
			b.Fatal(err)
		}
	}
	<-done
	b.StopTimer()
	if s := a.Stats(); s.DropQueueFull != 0 {
		b.Errorf("%d packets dropped", s.DropQueueFull)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(total), "ns/pkt")
}

// TestPipeSwap: SwapWritePackets queues packets of full capacity as they
// are and hands back buffers of the pipe's; SwapReadPackets hands over the
// buffer holding each packet for one of the reader's; smaller buffers are
// copied, as by WritePackets and ReadPackets.
func TestPipeSwap(t *testing.T) {
	const mtu = 200
	a, b := NewPipe(mtu, 16)
	defer a.Close()
	defer b.Close()
	big := make([]byte, 50, mtu)
	copy(big, "taken as it is")
	small := []byte("copied")
	pkts := [][]byte{big, small}
	if n, err := a.SwapWritePackets(pkts); n != 2 || err != nil {
		t.Fatalf("SwapWritePackets = %d, %v", n, err)
	}
	if &pkts[0][:1][0] == &big[0] || cap(pkts[0]) < mtu {
		t.Errorf("written packet of capacity %d: got back its own buffer or one of capacity %d", cap(big), cap(pkts[0]))
	}
	if &pkts[1][0] != &small[0] {
		t.Error("a packet below the MTU's capacity was taken rather than copied")
	}
	mine := make([]byte, mtu)
	tiny := make([]byte, 100)
	bufs, sizes := [][]byte{mine, tiny}, make([]int, 2)
	if n, err := b.SwapReadPackets(bufs, sizes); n != 2 || err != nil {
		t.Fatalf("SwapReadPackets = %d, %v", n, err)
	}
	if &bufs[0][0] != &big[0] || sizes[0] != 50 || !bytes.HasPrefix(bufs[0][:sizes[0]], []byte("taken as it is")) {
		t.Errorf("read %q (size %d): not the written buffer itself", bufs[0][:sizes[0]], sizes[0])
	}
	if &bufs[1][0] != &tiny[0] || string(bufs[1][:sizes[1]]) != "copied" {
		t.Errorf("read %q into a buffer below the MTU: not copied into it", bufs[1][:sizes[1]])
	}
	// The reader's buffer went to the pipe, which hands it to a writer.
	pkts = [][]byte{make([]byte, 10, mtu), make([]byte, 10, mtu)}
	a.SwapWritePackets(pkts)
	if &pkts[0][:1][0] != &mine[0] && &pkts[1][:1][0] != &mine[0] {
		t.Error("the reader's buffer did not come back to the writer")
	}
	if s := a.Stats(); s.Sent != 4 || s.Delivered != 2 {
		t.Errorf("Stats = %+v", s)
	}
}

// BenchmarkPipeSwap is BenchmarkPipe with SwapWritePackets and
// SwapReadPackets: no copy at all.
func BenchmarkPipeSwap(b *testing.B) {
	const batch = 16
	a, z := Pipe()
	defer a.Close()
	defer z.Close()
	pkts := make([][]byte, batch)
	for i := range pkts {
		pkts[i] = make([]byte, 1500)
	}
	credits := make(chan struct{}, DefaultQueueLen/batch)
	for range cap(credits) {
		credits <- struct{}{}
	}
	total := b.N * batch
	done := make(chan struct{})
	go func() {
		defer close(done)
		bufs := make([][]byte, batch)
		for i := range bufs {
			bufs[i] = make([]byte, 1500)
		}
		sizes := make([]int, batch)
		for read := 0; read < total; {
			n, err := z.SwapReadPackets(bufs, sizes)
			if err != nil {
				b.Error(err)
				return
			}
			for range (read+n)/batch - read/batch {
				credits <- struct{}{}
			}
			read += n
		}
	}()
	b.SetBytes(batch * 1500)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		<-credits
		for i := range pkts {
			pkts[i] = pkts[i][:1500]
		}
		if _, err := a.SwapWritePackets(pkts); err != nil {
			b.Fatal(err)
		}
	}
	<-done
	b.StopTimer()
	if s := a.Stats(); s.DropQueueFull != 0 {
		b.Errorf("%d packets dropped", s.DropQueueFull)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(total), "ns/pkt")
}
