package link

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/seqack/seqack/wire"
)

// inNewNetns runs f on a thread of its own in a new, empty network
// namespace, so that the devices and sockets f creates are private to the
// test. Sockets and devices opened by f keep working from any goroutine;
// the namespace goes away with the last of them. The thread is never
// returned to the runtime's pool.
func inNewNetns(t *testing.T, f func() error) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("SEQACK_REQUIRE_NETNS") == "1" {
			t.Fatal("not root, and SEQACK_REQUIRE_NETNS=1: a TUN device needs root")
		}
		t.Skip("not root: opening a TUN device in a private network namespace needs root")
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		errc <- f()
	}()
	if err := <-errc; err != nil {
		if os.Getenv("SEQACK_REQUIRE_NETNS") != "1" && (errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EPERM)) {
			t.Skipf("no TUN device or namespace here: %v", err)
		}
		t.Fatal(err)
	}
}

// TestTUN opens a TUN device with a host address, and checks both
// directions: a datagram the kernel sends to the far address is read from
// the device, and an echo request written to the device draws the kernel's
// echo reply.
func TestTUN(t *testing.T) {
	var (
		tun  *TUN
		conn net.PacketConn
	)
	inNewNetns(t, func() error {
		var err error
		tun, err = OpenTUN(TUNConfig{Name: "sqtest0", MTU: 1400, HostAddr: netip.MustParsePrefix("10.9.0.1/24")})
		if err != nil {
			return err
		}
		conn, err = net.ListenPacket("udp4", "10.9.0.1:0")
		return err
	})
	t.Cleanup(func() { conn.Close(); tun.Close() })
	if tun.Name() != "sqtest0" || tun.MTU() != 1400 {
		t.Fatalf("name %q MTU %d, want sqtest0 1400", tun.Name(), tun.MTU())
	}

	// Kernel to device: three datagrams, read in one or more batches.
	for i := range 3 {
		if _, err := conn.WriteTo([]byte{'x', byte(i)}, &net.UDPAddr{IP: net.IPv4(10, 9, 0, 2), Port: 9}); err != nil {
			t.Fatal(err)
		}
	}
	bufs := [][]byte{make([]byte, 2000), make([]byte, 2000), make([]byte, 2000), make([]byte, 2000)}
	sizes := make([]int, len(bufs))
	var udp []wire.IPv4
	for len(udp) < 3 {
		n, err := tun.ReadPackets(bufs, sizes)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			ip, err := wire.ParseIPv4(bufs[i][:sizes[i]])
			if err != nil {
				continue // IPv6 neighbour discovery and the like
			}
			if ip.Protocol() == wire.ProtoUDP && ip.Dst() == netip.MustParseAddr("10.9.0.2") {
				udp = append(udp, append(wire.IPv4(nil), ip...))
			}
		}
	}
	for i, ip := range udp {
		if p := ip.Payload(); len(p) != 10 || p[8] != 'x' || p[9] != byte(i) {
			t.Errorf("datagram %d: payload %x, want 8 bytes of UDP header and x%02x", i, p, i)
		}
	}

	// Device to kernel: an echo request from the far address.
	pkt := make([]byte, 100)
	n := wire.MarshalEcho(pkt[wire.IPv4MinHeaderLen:], wire.ICMPEchoRequest, 77, 1, []byte("hello, kernel"))
	h := wire.IPv4Header{ID: 1, TTL: 64, Protocol: wire.ProtoICMP, Src: netip.MustParseAddr("10.9.0.2"),
		Dst: netip.MustParseAddr("10.9.0.1"), PayloadLen: n}
	h.Marshal(pkt)
	big := make([]byte, 1401)
	if n, err := tun.WritePackets([][]byte{pkt[:wire.IPv4MinHeaderLen+n], big}); err != nil || n != 2 {
		t.Fatalf("WritePackets = %d, %v", n, err)
	}
	for got := false; !got; {
		n, err := tun.ReadPackets(bufs, sizes)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			ip, err := wire.ParseIPv4(bufs[i][:sizes[i]])
			if err != nil || ip.Protocol() != wire.ProtoICMP {
				continue
			}
			m, err := wire.ParseICMPv4(ip.Payload())
			if err != nil {
				t.Fatal(err)
			}
			if m.Type() != wire.ICMPEchoReply || m.ID() != 77 || string(m.Payload()) != "hello, kernel" {
				t.Fatalf("got %v, want the echo reply", ip)
			}
			got = true
		}
	}
	st := tun.Stats()
	if st.TooBig != 1 || st.PacketsWritten != 1 || st.PacketsRead < 4 {
		t.Errorf("stats %+v: want 1 too big, 1 written, at least 4 read", st)
	}

	// Close unblocks a reader, which then reports ErrClosed.
	done := make(chan error, 1)
	go func() {
		_, err := tun.ReadPackets(bufs, sizes)
		for err == nil { // drain whatever the kernel still sends
			_, err = tun.ReadPackets(bufs, sizes)
		}
		done <- err
	}()
	tun.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("ReadPackets after Close: %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ReadPackets still blocked after Close")
	}
	if _, err := tun.WritePackets([][]byte{pkt}); !errors.Is(err, ErrClosed) {
		t.Errorf("WritePackets after Close: %v, want ErrClosed", err)
	}
}

// TestOpenTUNBadConfig: names and addresses the kernel would refuse are
// refused with a clear error before any device is made.
func TestOpenTUNBadConfig(t *testing.T) {
	for _, cfg := range []TUNConfig{
		{Name: "a-name-far-too-long-for-linux"},
		{Name: "sq0", HostAddr: netip.MustParsePrefix("fd00::1/64")},
	} {
		if tun, err := OpenTUN(cfg); err == nil {
			tun.Close()
			t.Errorf("OpenTUN(%+v) succeeded", cfg)
		}
	}
}
