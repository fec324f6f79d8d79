package stack

import (
	"io"
	"net"
	"runtime"
	"testing"

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

// BenchmarkIdleConnMemory reports the heap held per idle established
// connection, both ends counted (one client Conn + one server Conn), as the
// metric "bytes/conn-pair". DESIGN.md makes this a budget.
func BenchmarkIdleConnMemory(b *testing.B) {
	const n = 1000
	for range b.N {
		b.StopTimer()
		client, server, _, _ := pair(b, tcp.Config{})
		ln, _ := server.Listen("tcp", ":80")
		accepted := make(chan net.Conn, n)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				accepted <- c
			}
		}()
		before := heapInUse()
		b.StartTimer()
		conns := make([]net.Conn, 0, 2*n)
		for range n {
			c, err := client.Dial("tcp", "10.0.0.2:80")
			if err != nil {
				b.Fatal(err)
			}
			conns = append(conns, c, <-accepted)
		}
		b.StopTimer()
		after := heapInUse()
		b.ReportMetric(float64(after-before)/n, "bytes/conn-pair")
		for _, c := range conns {
			c.(*Conn).SetLinger(0)
			c.Close()
		}
		client.Close()
		server.Close()
		b.StartTimer()
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
