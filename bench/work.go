package bench

import (
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Ports the workloads listen on.
const (
	bulkPort    = 5001
	churnPort   = 5002
	pingPort    = 5003
	idlePortLow = 10000 // Idle listens on idlePortLow, idlePortLow+1, ...
)

// BulkResult is what one bulk transfer measured.
type BulkResult struct {
	Bytes   int64         // received, over all streams
	Elapsed time.Duration // from the first write to the last byte read
	Mallocs uint64        // heap allocations in the process meanwhile
}

// Gbps returns the throughput in Gbit/s.
func (r BulkResult) Gbps() float64 {
	return float64(r.Bytes) * 8 / r.Elapsed.Seconds() / 1e9
}

// MallocsPerMiB returns the heap allocations per MiB transferred.
func (r BulkResult) MallocsPerMiB() float64 {
	return float64(r.Mallocs) / (float64(r.Bytes) / (1 << 20))
}

// Bulk transfers total bytes from the client to the server over streams
// connections at once (total/streams each), in writes of writeSize bytes.
// The clock starts when the connections are established and the writers
// start, and stops when every receiver has read all its bytes.
func Bulk(env Env, streams int, total int64, writeSize int) (BulkResult, error) {
	return bulk(env, streams, total, writeSize, timing{})
}

// timing holds functions a workload calls as its clock starts and stops, so
// that a testing.B's timer measures what the workload measures.
type timing struct {
	start, stop func()
}

func (t timing) started() {
	if t.start != nil {
		t.start()
	}
}

func (t timing) stopped() {
	if t.stop != nil {
		t.stop()
	}
}

func bulk(env Env, streams int, total int64, writeSize int, tm timing) (BulkResult, error) {
	if streams < 1 || writeSize < 1 || total < int64(streams) {
		return BulkResult{}, fmt.Errorf("bench: Bulk(%d streams, %d bytes, %d-byte writes)", streams, total, writeSize)
	}
	ln, err := env.Listen(bulkPort)
	if err != nil {
		return BulkResult{}, err
	}
	defer ln.Close()
	per := total / int64(streams)

	var (
		readers  sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		received atomic.Int64
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	accepted := make(chan net.Conn, streams)
	go func() {
		for range streams {
			c, err := ln.Accept()
			if err != nil {
				fail(fmt.Errorf("accept: %w", err))
				close(accepted)
				return
			}
			accepted <- c
		}
	}()

	clients := make([]net.Conn, 0, streams)
	servers := make([]net.Conn, 0, streams)
	defer func() {
		for _, c := range append(clients, servers...) {
			c.Close()
		}
	}()
	for range streams {
		c, err := env.Dial(bulkPort)
		if err != nil {
			return BulkResult{}, fmt.Errorf("dial: %w", err)
		}
		clients = append(clients, c)
	}
	for range streams {
		c, ok := <-accepted
		if !ok {
			return BulkResult{}, firstErr
		}
		servers = append(servers, c)
	}

	start := make(chan struct{})
	for _, c := range servers {
		readers.Add(1)
		go func() {
			defer readers.Done()
			buf := make([]byte, writeSize)
			<-start
			var n int64
			for n < per {
				k, err := c.Read(buf[:min(int64(len(buf)), per-n)])
				n += int64(k)
				if err != nil {
					fail(fmt.Errorf("read after %d of %d bytes: %w", n, per, err))
					break
				}
			}
			received.Add(n)
		}()
	}
	for _, c := range clients {
		go func() {
			buf := make([]byte, writeSize)
			<-start
			for n := int64(0); n < per; {
				k, err := c.Write(buf[:min(int64(len(buf)), per-n)])
				n += int64(k)
				if err != nil {
					fail(fmt.Errorf("write after %d of %d bytes: %w", n, per, err))
					return
				}
			}
		}()
	}

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	tm.started()
	t0 := time.Now()
	close(start)
	readers.Wait()
	elapsed := time.Since(t0)
	tm.stopped()
	runtime.ReadMemStats(&after)
	if firstErr != nil {
		return BulkResult{}, firstErr
	}
	return BulkResult{Bytes: received.Load(), Elapsed: elapsed, Mallocs: after.Mallocs - before.Mallocs}, nil
}

// Churn runs total connections through their whole life, clients at a time
// from concurrent goroutines: the client connects, sends one byte, the
// server answers one byte and closes, the client reads the byte and the
// end of the stream and closes. The server closes first, so TIME_WAIT is
// on the server's side and the client's ports are free at once. It returns
// the time the total took.
func Churn(env Env, clients, total int) (time.Duration, error) {
	return churn(env, clients, total, timing{})
}

func churn(env Env, clients, total int, tm timing) (time.Duration, error) {
	if clients < 1 || total < 1 {
		return 0, fmt.Errorf("bench: Churn(%d clients, %d connections)", clients, total)
	}
	ln, err := env.Listen(churnPort)
	if err != nil {
		return 0, err
	}
	var (
		mu       sync.Mutex
		firstErr error
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	var served sync.WaitGroup
	acceptDone := make(chan struct{})
	go func() {
		defer close(acceptDone)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			served.Add(1)
			go func() {
				defer served.Done()
				defer c.Close()
				b := make([]byte, 1)
				if _, err := io.ReadFull(c, b); err != nil {
					fail(fmt.Errorf("server read: %w", err))
					return
				}
				if _, err := c.Write(b); err != nil {
					fail(fmt.Errorf("server write: %w", err))
				}
			}()
		}
	}()

	var (
		next    atomic.Int64
		ready   sync.WaitGroup
		clientG sync.WaitGroup
	)
	start := make(chan struct{})
	for range clients {
		ready.Add(1)
		clientG.Add(1)
		env.Go(func(dial func(uint16) (net.Conn, error)) {
			defer clientG.Done()
			b := make([]byte, 2)
			ready.Done()
			<-start
			for next.Add(1) <= int64(total) {
				if err := churnOnce(dial, b); err != nil {
					fail(err)
					return
				}
			}
		})
	}
	ready.Wait()
	tm.started()
	t0 := time.Now()
	close(start)
	clientG.Wait()
	elapsed := time.Since(t0)
	tm.stopped()
	ln.Close()
	<-acceptDone
	served.Wait()
	return elapsed, firstErr
}

func churnOnce(dial func(uint16) (net.Conn, error), b []byte) error {
	c, err := dial(churnPort)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	if _, err := c.Write(b[:1]); err != nil {
		return fmt.Errorf("client write: %w", err)
	}
	if _, err := io.ReadFull(c, b[:1]); err != nil {
		return fmt.Errorf("client read: %w", err)
	}
	if n, err := c.Read(b); n != 0 || err != io.EOF {
		return fmt.Errorf("client read at end: %d bytes, %v (want EOF)", n, err)
	}
	return nil
}

// PingPong sends size-byte messages back and forth over one connection,
// warmup times and then n times, and returns the n round-trip times,
// sorted.
func PingPong(env Env, size, warmup, n int) ([]time.Duration, error) {
	return pingPong(env, size, warmup, n, timing{})
}

func pingPong(env Env, size, warmup, n int, tm timing) ([]time.Duration, error) {
	ln, err := env.Listen(pingPort)
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	echoErr := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			echoErr <- err
			return
		}
		defer c.Close()
		b := make([]byte, size)
		for {
			if _, err := io.ReadFull(c, b); err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				echoErr <- err
				return
			}
			if _, err := c.Write(b); err != nil {
				echoErr <- err
				return
			}
		}
	}()
	c, err := env.Dial(pingPort)
	if err != nil {
		return nil, err
	}
	b := make([]byte, size)
	rtts := make([]time.Duration, 0, n)
	for i := range warmup + n {
		if i == warmup {
			tm.started()
		}
		t0 := time.Now()
		if _, err := c.Write(b); err != nil {
			c.Close()
			return nil, err
		}
		if _, err := io.ReadFull(c, b); err != nil {
			c.Close()
			return nil, err
		}
		if i >= warmup {
			rtts = append(rtts, time.Since(t0))
		}
	}
	tm.stopped()
	c.Close()
	if err := <-echoErr; err != nil {
		return nil, fmt.Errorf("echo: %w", err)
	}
	slices.Sort(rtts)
	return rtts, nil
}

// Percentile returns the p-th percentile (0 < p ≤ 100) of sorted values,
// by the nearest-rank method.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// IdleResult is what Idle measured.
type IdleResult struct {
	Conns      int           // established connection pairs (client end + server end)
	HeapBytes  int64         // HeapAlloc growth, after GC, with all of them open
	Goroutines int           // goroutine count growth
	Setup      time.Duration // time to establish them all
}

// PerPair returns the heap per established connection pair: the client's
// end and the server's end together.
func (r IdleResult) PerPair() float64 { return float64(r.HeapBytes) / float64(r.Conns) }

// PerEndpoint returns the heap per connection end (half a pair).
func (r IdleResult) PerEndpoint() float64 { return r.PerPair() / 2 }

// GoroutinesPerPair returns the goroutines per connection pair.
func (r IdleResult) GoroutinesPerPair() float64 {
	return float64(r.Goroutines) / float64(r.Conns)
}

// idleConcurrency is how many goroutines dial at once in Idle.
const idleConcurrency = 64

// Idle establishes n connections from the client to the server, at most
// perPort to each server port (so that the client's ephemeral ports
// suffice), keeps both ends of every one open and idle, and measures the
// heap they hold (runtime.MemStats.HeapAlloc after runtime.GC, compared with
// the same before the first dial, listeners already open) and the
// goroutines.
func Idle(env Env, n, perPort int) (IdleResult, error) {
	if n < 1 || perPort < 1 {
		return IdleResult{}, fmt.Errorf("bench: Idle(%d connections, %d per port)", n, perPort)
	}
	ports := (n + perPort - 1) / perPort
	var listeners []net.Listener
	defer func() {
		for _, ln := range listeners {
			ln.Close()
		}
	}()
	for i := range ports {
		ln, err := env.Listen(uint16(idlePortLow + i))
		if err != nil {
			return IdleResult{}, err
		}
		listeners = append(listeners, ln)
	}
	clients := make([]net.Conn, n)
	servers := make([]net.Conn, n)
	var (
		accepted atomic.Int64
		next     atomic.Int64
		mu       sync.Mutex
		firstErr error
		dialers  sync.WaitGroup
		accepts  sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}

	runtime.GC()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()
	t0 := time.Now()

	for _, ln := range listeners {
		accepts.Add(1)
		go func() {
			defer accepts.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				i := accepted.Add(1) - 1
				if i >= int64(n) {
					fail(errors.New("more connections accepted than dialed"))
					c.Close()
					return
				}
				servers[i] = c
			}
		}()
	}
	for range idleConcurrency {
		dialers.Add(1)
		env.Go(func(dial func(uint16) (net.Conn, error)) {
			defer dialers.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				c, err := dial(uint16(idlePortLow + int(i)/perPort))
				if err != nil {
					fail(fmt.Errorf("dial %d: %w", i, err))
					return
				}
				clients[i] = c
			}
		})
	}
	dialers.Wait()
	if firstErr != nil {
		return IdleResult{}, firstErr
	}
	for deadline := time.Now().Add(30 * time.Second); accepted.Load() < int64(n); {
		if time.Now().After(deadline) {
			return IdleResult{}, fmt.Errorf("only %d of %d connections accepted", accepted.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
	setup := time.Since(t0)
	// Let the last handshakes' segments and timers settle, then measure
	// with the accept loops still waiting (their goroutines are not
	// counted: they started after g0 but are the listeners', not the
	// connections').
	time.Sleep(100 * time.Millisecond)
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	g := runtime.NumGoroutine() - g0 - len(listeners)
	runtime.KeepAlive(clients)
	runtime.KeepAlive(servers)
	return IdleResult{
		Conns:      n,
		HeapBytes:  int64(after.HeapAlloc) - int64(before.HeapAlloc),
		Goroutines: g,
		Setup:      setup,
	}, firstErr
}
