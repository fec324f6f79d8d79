package stack

import (
	"net/netip"
	"syscall"

	"github.com/seqack/seqack/tcp"
	"github.com/seqack/seqack/wire"
)

// icmpInput handles an ICMP message for this host: an echo request is
// answered (RFC 1122 §3.2.2.6); an error that quotes one of our TCP
// segments goes to its connection (RFC 1122 §3.2.2.1, §4.2.3.9); the rest
// are counted and dropped.
func (s *Stack) icmpInput(ip wire.IPv4) {
	m, err := wire.ParseICMPv4(ip.Payload())
	if err != nil {
		s.stats.countParseError(err)
		return
	}
	s.stats.icmpIn[m.Type()].Add(1)
	switch m.Type() {
	case wire.ICMPEchoRequest:
		pb := s.getBuf()
		n := wire.MarshalEcho(pb.b[wire.IPv4MinHeaderLen:], wire.ICMPEchoReply, m.ID(), m.Seq(), m.Payload())
		s.sendICMP(pb, ip.Dst(), ip.Src(), wire.ICMPEchoReply, n)
		s.stats.icmpEchoReplies.Add(1)
	case wire.ICMPDestUnreachable, wire.ICMPTimeExceeded, wire.ICMPParameterProblem:
		if !s.icmpError(m) {
			s.stats.icmpDropped.Add(1)
		}
	default:
		// Source quench is ignored (RFC 6633), as are the types a
		// host need not implement.
		s.stats.icmpDropped.Add(1)
	}
}

// minPathMTU is the smallest path MTU that a "fragmentation needed" message
// can impose, as Linux's net.ipv4.route.min_pmtu: a smaller next-hop MTU
// (or zero, from a router older than RFC 1191) is taken as this, so that a
// forged message cannot make a connection crawl in tiny segments
// (RFC 5927 §5.2).
const minPathMTU = 552

// icmpError hands an ICMP error to the TCP connection whose segment it
// quotes, and reports whether there was one (RFC 1122 §4.2.3.9, RFC 5927).
// The connection checks that the quoted sequence number is one it has in
// flight.
func (s *Stack) icmpError(m wire.ICMPv4) bool {
	q, ok := m.QuotedTCP()
	if !ok || !s.isLocal(q.Src.Addr()) {
		return false
	}
	fragNeeded := m.Type() == wire.ICMPDestUnreachable && m.Code() == wire.CodeFragNeeded
	errno, fatal, known := icmpErrno(m.Type(), m.Code())
	if !fragNeeded && !known {
		return false
	}
	s.mu.RLock()
	c := s.conns[keyOf(tcp.ID{Local: q.Src, Remote: q.Dst})]
	s.mu.RUnlock()
	if c == nil {
		return false
	}
	c.mu.Lock()
	now := s.now() // under the lock, as in Conn.input
	if c.removed {
		c.mu.Unlock()
		return false
	}
	if fragNeeded {
		// RFC 1191 §3: the MSS shrinks to fit the next hop.
		c.tcb.PathMTU(tcp.Value(q.Seq), max(int(m.NextHopMTU()), minPathMTU), now)
	} else {
		c.tcb.ICMPError(tcp.Value(q.Seq), errno, fatal, now)
	}
	c.unlockAndFlush()
	s.stats.icmpErrorsToTCP.Add(1)
	return true
}

// icmpErrno maps an ICMP error to the errno a connection reports for it
// and says whether it is a hard error (RFC 1122 §4.2.3.9), as Linux's
// icmp_err_convert table and tcp_v4_err do. It reports false for messages
// that carry no error for TCP (and for "fragmentation needed", which is
// not an error but a new path MTU).
func icmpErrno(typ, code uint8) (err syscall.Errno, fatal, ok bool) {
	switch typ {
	case wire.ICMPTimeExceeded:
		return syscall.EHOSTUNREACH, false, true
	case wire.ICMPParameterProblem:
		return syscall.EPROTO, false, true
	case wire.ICMPDestUnreachable:
		if int(code) < len(unreachableErrno) && code != wire.CodeFragNeeded {
			e := unreachableErrno[code]
			return e.err, e.fatal, true
		}
	}
	return 0, false, false
}

// unreachableErrno is Linux's icmp_err_convert: the errno and hardness of
// each destination unreachable code (RFC 792, RFC 1122 §3.2.2.1,
// RFC 1812 §5.2.7.1). RFC 1122 §4.2.3.9 makes codes 2 and 3 hard and 0, 1
// and 5 soft; the codes it does not mention follow Linux.
var unreachableErrno = [...]struct {
	err   syscall.Errno
	fatal bool
}{
	0:  {syscall.ENETUNREACH, false},  // net unreachable
	1:  {syscall.EHOSTUNREACH, false}, // host unreachable
	2:  {syscall.ENOPROTOOPT, true},   // protocol unreachable
	3:  {syscall.ECONNREFUSED, true},  // port unreachable
	4:  {syscall.EMSGSIZE, false},     // fragmentation needed (handled as a path MTU)
	5:  {syscall.EOPNOTSUPP, false},   // source route failed
	6:  {syscall.ENETUNREACH, true},   // destination network unknown
	7:  {syscall.EHOSTDOWN, true},     // destination host unknown
	8:  {errSourceIsolated, true},     // source host isolated
	9:  {syscall.ENETUNREACH, true},   // network administratively prohibited
	10: {syscall.EHOSTUNREACH, true},  // host administratively prohibited
	11: {syscall.ENETUNREACH, false},  // network unreachable for TOS
	12: {syscall.EHOSTUNREACH, false}, // host unreachable for TOS
	13: {syscall.EHOSTUNREACH, true},  // communication administratively prohibited
	14: {syscall.EHOSTUNREACH, true},  // host precedence violation
	15: {syscall.EHOSTUNREACH, true},  // precedence cutoff in effect
}

// sendUnreachable sends an ICMP destination unreachable about ip, unless ip
// is itself one that must not draw an ICMP error (RFC 1122 §3.2.2).
func (s *Stack) sendUnreachable(ip wire.IPv4, code uint8) {
	src := ip.Src()
	if src.IsUnspecified() || src.IsMulticast() || src == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return
	}
	pb := s.getBuf()
	n := wire.MarshalDestUnreachable(pb.b[wire.IPv4MinHeaderLen:], code, ip)
	s.sendICMP(pb, ip.Dst(), src, wire.ICMPDestUnreachable, n)
}

// sendICMP sends the ICMP message of type typ already in pb.b[20:20+n],
// and counts it.
func (s *Stack) sendICMP(pb *packetBuf, src, dst netip.Addr, typ uint8, n int) {
	s.sendIP(pb, wire.ProtoICMP, src, dst, n)
	s.stats.icmpOut[typ].Add(1)
}
