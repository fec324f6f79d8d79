package stack

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"reflect"
	"runtime"
	"runtime/pprof"
	"sync"
	"testing"
	"time"

	"github.com/seqack/seqack/link"
	"github.com/seqack/seqack/tcp"
)

// Memory per connection is a budget (DESIGN.md): these are its measures.
// An idle connection should cost little more than its control block: no
// buffers (they go back when they drain), no goroutine, no timer object,
// and once closed, only a TIME-WAIT entry for 2×MSL.

// memStats is the heap and goroutines at one moment, after a full
// collection.
type memStats struct {
	heap       uint64 // bytes of live heap objects (HeapAlloc)
	inuse      uint64 // bytes in spans with live objects (HeapInuse): heap and fragmentation
	sys        uint64 // bytes obtained from the OS for the heap (HeapSys)
	goroutines int
}

func readMemStats() memStats {
	// Two collections: sync.Pool keeps what it drops on the first one for
	// another cycle (its victim cache).
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return memStats{heap: m.HeapAlloc, inuse: m.HeapInuse, sys: m.HeapSys, goroutines: runtime.NumGoroutine()}
}

// idleHosts is a client and a server stack joined by a Pipe, for many
// connections: the client has the whole port range above 1023, and the
// server listens on enough ports for every connection to have its own
// 4-tuple (64,512 ephemeral ports each). Keep-alive is off, as on Linux by
// default: with package net's 15 s, a million connections would send
// 130,000 probes a second, and be idle no longer.
type idleHosts struct {
	client, server *Stack
	lns            []*Listener
}

func newIdleHosts(tb testing.TB, conns int, tc tcp.Config) *idleHosts {
	tb.Helper()
	a, b := link.NewPipe(1500, 4096)
	h := &idleHosts{}
	var err error
	ports := [2]uint16{1024, 65535}
	h.client, err = New(a, Config{Addrs: []netip.Addr{clientAddr}, TCP: tc, EphemeralPorts: ports, KeepAlive: -1})
	if err != nil {
		tb.Fatal(err)
	}
	h.server, err = New(b, Config{Addrs: []netip.Addr{serverAddr}, TCP: tc, ListenBacklog: 1024, KeepAlive: -1})
	if err != nil {
		tb.Fatal(err)
	}
	// Half the ports per server port at most, so that a random free port
	// is found in a few tries.
	for i := 0; i < max(1, conns/32000+1); i++ {
		ln, err := h.server.ListenTCP("tcp", fmt.Sprintf(":%d", 80+i))
		if err != nil {
			tb.Fatal(err)
		}
		h.lns = append(h.lns, ln)
	}
	return h
}

func (h *idleHosts) close() {
	h.client.Close()
	h.server.Close()
}

// open opens n connections, each with a one-byte request and a one-byte
// answer, so that both ends have used (and given back) their buffers, and
// returns both ends of each. workers goroutines dial at once.
func (h *idleHosts) open(tb testing.TB, n, workers int) (clients, servers []*Conn) {
	tb.Helper()
	clients, servers = make([]*Conn, n), make([]*Conn, n)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1)
			for i := w; i < n; i += workers {
				ln := h.lns[i%len(h.lns)]
				addr := netip.AddrPortFrom(serverAddr, ln.addr.Port()).String()
				c, err := h.client.DialTCP(context.Background(), "tcp", addr)
				if err != nil {
					errs <- fmt.Errorf("dial %d: %w", i, err)
					return
				}
				if _, err := c.Write([]byte{'?'}); err != nil {
					errs <- err
					return
				}
				// The listeners' queues are shared by the workers: take
				// whichever connection is there and answer it.
				s, err := ln.AcceptTCP()
				if err != nil {
					errs <- err
					return
				}
				if _, err := io.ReadFull(s, buf); err != nil {
					errs <- fmt.Errorf("server read %d: %w", i, err)
					return
				}
				if _, err := s.Write([]byte{'!'}); err != nil {
					errs <- err
					return
				}
				clients[i], servers[i] = c, s
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		tb.Fatal(err)
	default:
	}
	buf := make([]byte, 1)
	for i, c := range clients {
		if _, err := io.ReadFull(c, buf); err != nil {
			tb.Fatalf("client read %d: %v", i, err)
		}
	}
	// Let the delayed ACKs (40 ms) go out, and the drained buffers stay
	// idle long enough to be given back (a second).
	for deadline := time.Now().Add(time.Minute); ; {
		time.Sleep(100 * time.Millisecond)
		mem := h.client.BufferMemory() + h.server.BufferMemory()
		if mem == 0 {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("idle connections still hold %d bytes of buffers after a minute", mem)
		}
	}
	return clients, servers
}

// BenchmarkIdleConnMemory reports what an idle established connection
// costs, one end and both ends counted: heap bytes after a collection
// (the live objects, "heap-B/conn"; and both ends of it,
// "heap-B/conn-pair"), the spans those objects take ("inuse-B/conn-pair",
// with fragmentation), the heap the runtime has taken from the OS on the
// way, as the garbage collector lets the heap grow to twice what is live
// ("sys-B/conn-pair"), and goroutines. Each connection has exchanged a
// byte each way, so its buffers have been used and given back.
//
//	go test -run '^$' -bench IdleConnMemory -benchtime 1x ./stack
func BenchmarkIdleConnMemory(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("conns=%d", n), func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				h := newIdleHosts(b, n, tcp.Config{})
				before := readMemStats()
				b.StartTimer()
				cs, ss := h.open(b, n, 4)
				b.StopTimer()
				after := readMemStats()
				reportPerConn(b, before, after, n)
				writeHeapProfile(b)
				runtime.KeepAlive(cs)
				runtime.KeepAlive(ss)
				h.close()
			}
		})
	}
}

// writeHeapProfile writes a heap profile to the file SEQACK_HEAPPROFILE
// names, if it is set: what the connections hold, at the moment of the
// measure (go tool pprof -sample_index=inuse_space stack.test FILE).
func writeHeapProfile(tb testing.TB) {
	name := os.Getenv("SEQACK_HEAPPROFILE")
	if name == "" {
		return
	}
	f, err := os.Create(name)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		tb.Fatal(err)
	}
}

// reportPerConn reports the growth from before to after over n
// connections (pairs of ends).
func reportPerConn(b *testing.B, before, after memStats, n int) {
	heap := float64(after.heap) - float64(before.heap)
	b.ReportMetric(heap/float64(n), "heap-B/conn-pair")
	b.ReportMetric(heap/float64(2*n), "heap-B/conn")
	b.ReportMetric((float64(after.inuse)-float64(before.inuse))/float64(n), "inuse-B/conn-pair")
	b.ReportMetric((float64(after.sys)-float64(before.sys))/float64(n), "sys-B/conn-pair")
	b.ReportMetric(float64(after.goroutines-before.goroutines)/float64(n), "goroutines/conn")
	// The two structs an idle connection is mostly made of. The engine's
	// sits just under the 1024-byte size class of Go's allocator: a field
	// more can cost 128 bytes a connection, which this shows.
	b.ReportMetric(float64(reflect.TypeFor[tcp.Conn]().Size()), "tcp.Conn-B")
	b.ReportMetric(float64(reflect.TypeFor[Conn]().Size()), "stack.Conn-B")
}
