//go:build linux

package integration

import (
	"io"
	"net"
	"net/netip"
	"testing"

	"github.com/seqack/seqack/internal/netns"
	"github.com/seqack/seqack/link"
	"github.com/seqack/seqack/stack"
)

// BenchmarkBulk measures bulk TCP throughput (MB/s) in one run, at one MTU
// (1500): from the kernel to seqack and from seqack to the kernel over a
// TUN device, and, for comparison, from kernel to kernel over a veth pair
// between two namespaces. seqack runs in this process, on a TUN device it
// opens inside the namespace; the kernel's sockets are opened inside it
// too. Run it with
//
//	go test -run '^$' -bench Bulk ./integration
func BenchmarkBulk(b *testing.B) {
	netns.Require(b)
	ns := netns.New(b)
	var tun *link.TUN
	if err := ns.Do(func() error {
		var err error
		tun, err = link.OpenTUN(link.TUNConfig{Name: tunName, MTU: 1500, HostAddr: netip.MustParsePrefix(kernelAddr + "/24")})
		return err
	}); err != nil {
		b.Fatal(err)
	}
	s, err := stack.New(tun, stack.Config{Addrs: []netip.Addr{netip.MustParseAddr(seqackAddr)}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	seqackLn, err := s.Listen("tcp", seqackAddr+":5001")
	if err != nil {
		b.Fatal(err)
	}
	var kernelLn net.Listener
	if err := ns.Do(func() error {
		kernelLn, err = net.Listen("tcp4", kernelAddr+":5002")
		return err
	}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { kernelLn.Close() })

	va, vb := netns.New(b), netns.New(b)
	netns.Veth(b, va, "10.8.0.1/24", vb, "10.8.0.2/24", 1500)
	var vethLn net.Listener
	if err := vb.Do(func() error {
		vethLn, err = net.Listen("tcp4", "10.8.0.2:5003")
		return err
	}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { vethLn.Close() })

	b.Run("kernel-to-seqack/tun", func(b *testing.B) {
		bulk(b, seqackLn, func() (c net.Conn, err error) {
			err = ns.Do(func() error { c, err = net.Dial("tcp4", seqackAddr+":5001"); return err })
			return c, err
		})
	})
	b.Run("seqack-to-kernel/tun", func(b *testing.B) {
		bulk(b, kernelLn, func() (net.Conn, error) { return s.Dial("tcp", kernelAddr+":5002") })
	})
	b.Run("kernel-to-kernel/veth", func(b *testing.B) {
		bulk(b, vethLn, func() (c net.Conn, err error) {
			err = va.Do(func() error { c, err = net.Dial("tcp4", "10.8.0.2:5003"); return err })
			return c, err
		})
	})
}

// bulk sends b.N MiB over a connection from dial to ln, and stops the
// clock when the receiver has read the last byte.
func bulk(b *testing.B, ln net.Listener, dial func() (net.Conn, error)) {
	const chunk = 1 << 20
	b.SetBytes(chunk)
	type result struct {
		n   int64
		err error
	}
	got := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- result{0, err}
			return
		}
		defer c.Close()
		n, err := io.Copy(io.Discard, c)
		got <- result{n, err}
	}()
	c, err := dial()
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, chunk)
	b.ResetTimer()
	for range b.N {
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	if err := c.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		b.Fatal(err)
	}
	r := <-got
	b.StopTimer()
	if r.err != nil || r.n != int64(b.N)*chunk {
		b.Fatalf("received %d bytes (%v), sent %d", r.n, r.err, int64(b.N)*chunk)
	}
}
