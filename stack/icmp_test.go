package stack

import (
	"context"
	"errors"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/seqack/seqack/tcp"
	"github.com/seqack/seqack/wire"
)

// dialResult is what an asynchronous dial returned.
type dialResult struct {
	c   *Conn
	err error
}

// dialPeer starts a dial from s to peerAddr:80 and returns the SYN it sent.
func dialPeer(t *testing.T, s *Stack, p *rawPeer) (<-chan dialResult, wire.IPv4) {
	t.Helper()
	done := make(chan dialResult, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	go func() {
		c, err := s.DialTCP(ctx, "tcp", netip.AddrPortFrom(peerAddr, 80).String())
		done <- dialResult{c, err}
	}()
	syn := p.expect()
	if f := tcpOf(t, syn).Flags(); f != wire.FlagSYN {
		t.Fatalf("dial sent %v, want a SYN", syn)
	}
	return done, syn
}

// icmpAbout builds an ICMP error of the given type and code from peerAddr
// to the stack, quoting pkt (RFC 792).
func icmpAbout(typ, code uint8, pkt []byte, mtu uint16) []byte {
	b := make([]byte, 8+len(pkt))
	n := wire.MarshalDestUnreachable(b, code, pkt)
	m := wire.ICMPv4(b[:n])
	if typ != wire.ICMPDestUnreachable {
		// Same layout, another type: rewrite the type and the checksum.
		m[0], m[2], m[3] = typ, 0, 0
		c := wire.Checksum(m)
		m[2], m[3] = byte(c>>8), byte(c)
	}
	if mtu != 0 {
		m.SetNextHopMTU(mtu)
	}
	return ipPacket(wire.ProtoICMP, serverAddr, m)
}

// TestICMPErrorsDuringOpen: during SYN_SENT, a hard ICMP error about the
// SYN fails the dial at once with the errno Linux reports for it
// (RFC 1122 §4.2.3.9); a soft one does not, but is what the dial reports
// when its retransmissions run out.
func TestICMPErrorsDuringOpen(t *testing.T) {
	tests := []struct {
		name      string
		typ, code uint8
		want      syscall.Errno
		hard      bool
	}{
		{"port unreachable", wire.ICMPDestUnreachable, wire.CodePortUnreachable, syscall.ECONNREFUSED, true},
		{"protocol unreachable", wire.ICMPDestUnreachable, wire.CodeProtocolUnreachable, syscall.ENOPROTOOPT, true},
		{"administratively prohibited", wire.ICMPDestUnreachable, wire.CodeAdminProhibited, syscall.EHOSTUNREACH, true},
		{"host unreachable", wire.ICMPDestUnreachable, wire.CodeHostUnreachable, syscall.EHOSTUNREACH, false},
		{"net unreachable", wire.ICMPDestUnreachable, wire.CodeNetUnreachable, syscall.ENETUNREACH, false},
		{"time exceeded", wire.ICMPTimeExceeded, 0, syscall.EHOSTUNREACH, false},
		{"parameter problem", wire.ICMPParameterProblem, 0, syscall.EPROTO, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// An RTO long enough that the SYN is not resent before the
			// error is taken, even on a loaded machine under -race.
			s, p := newRawPeer(t, Config{TCP: tcp.Config{InitialRTO: 100 * time.Millisecond, MinRTO: 100 * time.Millisecond, SynRetries: 1}})
			done, syn := dialPeer(t, s, p)
			p.send(icmpAbout(tt.typ, tt.code, syn, 0))
			if !tt.hard {
				// The dial goes on: the SYN is sent again.
				if again := p.expect(); tcpOf(t, again).Flags() != wire.FlagSYN {
					t.Fatalf("after a soft error: %v, want the SYN again", again)
				}
			}
			r := <-done
			if !errors.Is(r.err, tt.want) {
				t.Fatalf("dial: %v, want %v", r.err, tt.want)
			}
			if tt.hard {
				p.expectNothing() // failed at once: the SYN was never sent again
			}
			st := s.Stats()
			if st.ICMPIn[tt.typ] != 1 || st.ICMPErrorsToTCP != 1 || st.ICMPDropped != 0 {
				t.Errorf("ICMPIn[%d] = %d, ICMPErrorsToTCP = %d, ICMPDropped = %d; want 1, 1, 0",
					tt.typ, st.ICMPIn[tt.typ], st.ICMPErrorsToTCP, st.ICMPDropped)
			}
		})
	}
}

// TestICMPErrorBlind: an ICMP error that quotes a sequence number the
// connection did not send, or a connection that does not exist, changes
// nothing (RFC 5927 §4.1); the handshake then completes.
func TestICMPErrorBlind(t *testing.T) {
	s, p := newRawPeer(t, Config{})
	done, syn := dialPeer(t, s, p)
	th := tcpOf(t, syn)

	wrongSeq := tcpPacket(peerAddr, th.SrcPort(), 80, th.Seq()+1000, 0, wire.FlagSYN, nil, nil)
	copy(wrongSeq[12:20], syn[12:20]) // from us to the peer, as the SYN
	p.send(icmpAbout(wire.ICMPDestUnreachable, wire.CodePortUnreachable, wrongSeq, 0))
	otherPort := tcpPacket(peerAddr, th.SrcPort()+1, 80, th.Seq(), 0, wire.FlagSYN, nil, nil)
	copy(otherPort[12:20], syn[12:20])
	p.send(icmpAbout(wire.ICMPDestUnreachable, wire.CodePortUnreachable, otherPort, 0))
	p.send(icmpAbout(wire.ICMPDestUnreachable, wire.CodePortUnreachable, syn[:27], 0)) // 7 bytes of TCP

	opts := wire.TCPOptions{MSS: 1460, HasMSS: true}
	p.send(tcpPacket(serverAddr, 80, th.SrcPort(), 5000, th.Seq()+1, wire.FlagSYN|wire.FlagACK, &opts, nil))
	r := <-done
	if r.err != nil {
		t.Fatalf("dial after ignored ICMP errors: %v", r.err)
	}
	st := s.Stats()
	if st.ICMPIn[wire.ICMPDestUnreachable] != 3 || st.ICMPDropped != 2 || st.ICMPErrorsToTCP != 1 {
		t.Errorf("ICMPIn[3] = %d, ICMPDropped = %d, ICMPErrorsToTCP = %d; want 3, 2, 1 (the wrong sequence number reaches the connection, which ignores it)",
			st.ICMPIn[wire.ICMPDestUnreachable], st.ICMPDropped, st.ICMPErrorsToTCP)
	}
}

// TestICMPFragmentationNeeded: "fragmentation needed" about a segment in
// flight shrinks the segments to the next hop's MTU and sends the data
// again at once (RFC 1191 §3); a next-hop MTU below 552 is taken as 552.
func TestICMPFragmentationNeeded(t *testing.T) {
	for _, tt := range []struct {
		mtu    uint16
		maxLen int
	}{{1000, 960}, {300, 512}, {0, 512}} {
		s, p := newRawPeer(t, Config{})
		done, syn := dialPeer(t, s, p)
		th := tcpOf(t, syn)
		opts := wire.TCPOptions{MSS: 1460, HasMSS: true}
		p.send(tcpPacket(serverAddr, 80, th.SrcPort(), 5000, th.Seq()+1, wire.FlagSYN|wire.FlagACK, &opts, nil))
		r := <-done
		if r.err != nil {
			t.Fatal(r.err)
		}
		p.expect() // the handshake's ACK
		if _, err := r.c.Write(make([]byte, 3000)); err != nil {
			t.Fatal(err)
		}
		first := p.expect()
		if n := len(tcpOf(t, first).Payload()); n != 1460 {
			t.Fatalf("first segment carries %d bytes, want 1460", n)
		}
		for range 2 {
			p.expect() // the rest of the 3000 bytes
		}
		p.send(icmpAbout(wire.ICMPDestUnreachable, wire.CodeFragNeeded, first, tt.mtu))
		again := tcpOf(t, p.expect())
		if again.Seq() != th.Seq()+1 || len(again.Payload()) != tt.maxLen {
			t.Errorf("next-hop MTU %d: resent seq %d with %d bytes, want seq %d with %d", tt.mtu,
				again.Seq(), len(again.Payload()), th.Seq()+1, tt.maxLen)
		}
		r.c.SetLinger(0)
		r.c.Close()
	}
}

// TestICMPCounters: every ICMP message is counted by type, in and out,
// and one that needs no action is counted as dropped.
func TestICMPCounters(t *testing.T) {
	s, p := newRawPeer(t, Config{})
	msg := make([]byte, 16)
	n := wire.MarshalEcho(msg, wire.ICMPEchoRequest, 1, 1, []byte("12345678"))
	p.send(ipPacket(wire.ProtoICMP, serverAddr, msg[:n]))
	p.expect()
	n = wire.MarshalEcho(msg, wire.ICMPEchoReply, 1, 1, []byte("12345678"))
	p.send(ipPacket(wire.ProtoICMP, serverAddr, msg[:n]))
	p.send(ipPacket(wire.ProtoUDP, serverAddr, make([]byte, 8)))
	p.expect() // protocol unreachable
	p.expectNothing()
	st := s.Stats()
	if st.ICMPIn[wire.ICMPEchoRequest] != 1 || st.ICMPIn[wire.ICMPEchoReply] != 1 ||
		st.ICMPOut[wire.ICMPEchoReply] != 1 || st.ICMPOut[wire.ICMPDestUnreachable] != 1 || st.ICMPDropped != 1 {
		t.Errorf("in: request %d reply %d; out: reply %d unreachable %d; dropped %d; want 1 of each",
			st.ICMPIn[wire.ICMPEchoRequest], st.ICMPIn[wire.ICMPEchoReply],
			st.ICMPOut[wire.ICMPEchoReply], st.ICMPOut[wire.ICMPDestUnreachable], st.ICMPDropped)
	}
}
