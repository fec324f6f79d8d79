package stack

import (
	"net/netip"
	"testing"

	"github.com/seqack/seqack/link"
	"github.com/seqack/seqack/wire"
)

// FuzzDeliver feeds arbitrary packets to a host with a listener and a
// half-open connection: whatever arrives, the stack must not panic, and
// every packet must be counted somewhere.
func FuzzDeliver(f *testing.F) {
	f.Add(tcpPacket(serverAddr, 40000, 80, 1000, 0, wire.FlagSYN, &wire.TCPOptions{MSS: 1460, HasMSS: true, SACKPermitted: true, HasTimestamps: true, TSVal: 1, HasWindowScale: true, WindowScale: 7}, nil))
	f.Add(tcpPacket(serverAddr, 40001, 80, 1001, 1, wire.FlagACK, nil, []byte("data")))
	f.Add(tcpPacket(serverAddr, 40001, 80, 1001, 1, wire.FlagRST, nil, nil))
	f.Add(tcpPacket(serverAddr, 40002, 81, 7, 0, wire.FlagFIN|wire.FlagPSH|wire.FlagURG, nil, []byte("x")))
	echo := make([]byte, 16)
	n := wire.MarshalEcho(echo, wire.ICMPEchoRequest, 1, 1, []byte("abcd"))
	f.Add(ipPacket(wire.ProtoICMP, serverAddr, echo[:n]))
	f.Add(ipPacket(wire.ProtoUDP, serverAddr, []byte{1, 2, 3, 4, 5, 6, 7, 8}))
	f.Add([]byte{0x45})

	a, b := link.Pipe()
	s, err := New(a, Config{Addrs: []netip.Addr{serverAddr}})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	go func() { // drain what the stack answers
		bufs, sizes := [][]byte{make([]byte, 2048)}, []int{0}
		for {
			if _, err := b.ReadPackets(bufs, sizes); err != nil {
				return
			}
		}
	}()
	if _, err := s.Listen("tcp", ":80"); err != nil {
		f.Fatal(err)
	}
	// A half-open connection, so that segments also reach the engine.
	s.deliver(tcpPacket(serverAddr, 40001, 80, 1000, 0, wire.FlagSYN, nil, nil))

	f.Fuzz(func(t *testing.T, pkt []byte) {
		before := s.Stats()
		s.deliver(pkt)
		after := s.Stats()
		if len(pkt) > 0 && before == after {
			t.Fatalf("packet %x changed no counter", pkt)
		}
	})
}
