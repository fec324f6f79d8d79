package stack

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"testing"

	"github.com/seqack/seqack/link"
	"github.com/seqack/seqack/tcp"
)

// BenchmarkTransfer measures bulk transfer from one stack to another over a
// Pipe, one connection, 64 KiB writes: bytes/s, and allocations per write.
func BenchmarkTransfer(b *testing.B) {
	client, server, _, _ := pair(b, tcp.Config{})
	ln, _ := server.Listen("tcp", ":5001")
	done := make(chan int64)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			b.Error(err)
			return
		}
		n, _ := io.Copy(io.Discard, c)
		c.Close()
		done <- n
	}()
	c, err := client.Dial("tcp", "10.0.0.2:5001")
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	c.Close()
	if n := <-done; n != int64(b.N*len(buf)) {
		b.Fatalf("received %d bytes, sent %d", n, b.N*len(buf))
	}
}

// BenchmarkConnect measures a whole connection's life: dial (three-way
// handshake), one small exchange, and close.
func BenchmarkConnect(b *testing.B) {
	client, server, _, _ := pair(b, tcp.Config{MSL: 1})
	ln, _ := server.Listen("tcp", ":7")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("x"))
			c.Close()
		}
	}()
	b.ReportAllocs()
	buf := make([]byte, 1)
	for range b.N {
		c, err := client.Dial("tcp", "10.0.0.2:7")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}

var _ net.Conn = (*Conn)(nil)

// BenchmarkBulk measures bulk transfer between two stacks over a Pipe with
// a deep queue (4096 packets, as the gVisor comparison's channel
// endpoints), one connection and 8 in parallel, 64 KiB writes and reads.
// The receivers' completion stops the clock. Beside MB/s it reports the
// allocations per segment (every packet of both directions: data and
// ACKs), per MiB moved, the segments per MiB, and the CPU time per MiB
// (steadier than MB/s on a busy machine). The connections first move
// 16 MiB unmeasured, so that the figures are those of the steady state:
// the packet buffers in circulation between the stacks and the link are
// allocated then, as are the connections' buffers. Run it with
//
//	go test -run '^$' -bench Bulk -benchmem ./stack
func BenchmarkBulk(b *testing.B) {
	for _, bc := range []struct {
		mtu, streams int
	}{{1500, 1}, {65535, 1}, {1500, 8}} {
		b.Run(fmt.Sprintf("mtu=%d/streams=%d", bc.mtu, bc.streams), func(b *testing.B) {
			benchBulk(b, bc.mtu, bc.streams)
		})
	}
}

func benchBulk(b *testing.B, mtu, streams int) {
	const chunk = 64 << 10
	la, lb := link.NewPipe(mtu, 4096)
	client, err := New(la, Config{Addrs: []netip.Addr{clientAddr}})
	if err != nil {
		b.Fatal(err)
	}
	server, err := New(lb, Config{Addrs: []netip.Addr{serverAddr}})
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	defer server.Close()
	ln, err := server.ListenTCP("tcp", ":5001")
	if err != nil {
		b.Fatal(err)
	}
	want := int64(b.N) * chunk
	warm := int64(16<<20/streams/chunk+1) * chunk
	var wg, warmed sync.WaitGroup
	conns := make([]*Conn, streams)
	for i := range conns {
		if conns[i], err = client.DialTCP(context.Background(), "tcp", "10.0.0.2:5001"); err != nil {
			b.Fatal(err)
		}
		sc, err := ln.AcceptTCP()
		if err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		warmed.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, chunk)
			for got := int64(0); got < warm+want; {
				n, err := sc.Read(buf)
				if got < warm && got+int64(n) >= warm {
					warmed.Done()
				}
				got += int64(n)
				if err != nil {
					b.Errorf("read after %d of %d bytes: %v", got, warm+want, err)
					return
				}
			}
		}()
	}
	buf := make([]byte, chunk)
	for _, c := range conns {
		go func() {
			for range warm / chunk {
				if _, err := c.Write(buf); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	warmed.Wait()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	cpuBefore := cpuTime()
	segsBefore := la.Stats().Sent + lb.Stats().Sent
	b.SetBytes(int64(streams) * chunk)
	b.ReportAllocs()
	b.ResetTimer()
	var senders sync.WaitGroup
	for _, c := range conns {
		senders.Add(1)
		go func() {
			defer senders.Done()
			for range b.N {
				if _, err := c.Write(buf); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	senders.Wait()
	wg.Wait()
	b.StopTimer()
	cpu := cpuTime() - cpuBefore
	runtime.ReadMemStats(&after)
	segs := la.Stats().Sent + lb.Stats().Sent - segsBefore
	mallocs := float64(after.Mallocs - before.Mallocs)
	mib := float64(want*int64(streams)) / (1 << 20)
	b.ReportMetric(mallocs/float64(max(segs, 1)), "allocs/seg")
	b.ReportMetric(mallocs/mib, "allocs/MiB")
	b.ReportMetric(float64(segs)/mib, "segs/MiB")
	b.ReportMetric(float64(cpu.Microseconds())/mib, "cpu-µs/MiB")
	if d := la.Stats().DropQueueFull + lb.Stats().DropQueueFull; d > 0 {
		b.ReportMetric(float64(d), "drops")
	}
	for _, c := range conns {
		c.SetLinger(0)
		c.Close()
	}
}
