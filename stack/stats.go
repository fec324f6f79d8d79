package stack

import (
	"sync/atomic"

	"github.com/seqack/seqack/wire"
)

// Stats counts what the stack did with packets, and why it dropped those it
// dropped. Every field only grows.
type Stats struct {
	IPReceived     uint64 // IPv4 packets read from the link
	IPDelivered    uint64 // passed to ICMP or TCP
	IPSent         uint64 // written to the link
	IPNotForUs     uint64 // dropped: destination is not one of our addresses
	IPFragments    uint64 // dropped: fragments are not reassembled
	IPUnknownProto uint64 // answered with ICMP protocol unreachable
	IPNotIPv4      uint64 // dropped: not an IPv4 packet
	LinkReadErrors uint64 // errors reading the link (other than its closing)

	// ParseErrors counts packets dropped for each wire.Reason (bad header
	// length, bad checksum, malformed TCP options, ...), indexed by Reason.
	ParseErrors [wire.NumReasons]uint64

	ICMPEchoReplies uint64 // echo requests answered
	ICMPDropped     uint64 // ICMP messages not acted on
	ICMPErrorsToTCP uint64 // ICMP errors handed to the TCP connection whose segment they quote

	// ICMPIn and ICMPOut count the ICMP messages received (those whose
	// checksum verified) and sent, indexed by type: ICMPIn[wire.ICMPEchoRequest],
	// ICMPOut[wire.ICMPDestUnreachable], and so on.
	ICMPIn, ICMPOut [256]uint64

	TCPSegmentsIn     uint64 // valid TCP segments received
	TCPSegmentsOut    uint64 // TCP segments sent
	TCPResetsSent     uint64 // resets sent to segments for no connection
	TCPNoPort         uint64 // segments that reached no connection or listener
	TCPSynDropped     uint64 // SYNs dropped because a half-open queue was full and SYN cookies are off
	TCPListenOverflow uint64 // SYNs and handshake ACKs dropped because an accept queue was full
	TCPBadPort        uint64 // dropped: port 0

	TCPSynsReceived      uint64 // SYNs that reached a listener
	TCPSynCookiesSent    uint64 // SYNs answered with a SYN cookie (RFC 4987 §3.6)
	TCPSynCookiesValid   uint64 // ACKs that carried a good cookie: connections rebuilt from one
	TCPSynCookiesInvalid uint64 // ACKs checked as cookies that failed (forged or expired), answered with a reset

	// TCPChallengeACKs counts the challenge ACKs sent (RFC 5961 §3.2,
	// §4.2, §5.2); TCPChallengeACKsLimited those held back by the
	// per-connection or host-wide limit (§7).
	TCPChallengeACKs, TCPChallengeACKsLimited uint64

	TCPConnLimitRefused uint64 // new connections refused at Config.MaxConnections (SYNs, cookie ACKs, dials)
	TCPMemLimitRefused  uint64 // new connections refused at Config.MaxBufferMemory (SYNs, cookie ACKs, dials)

	// TCPTimeWaitOverflow counts connections that went straight to
	// CLOSED, skipping TIME-WAIT, because Config.MaxTimeWait entries
	// were already held (Linux's "time wait bucket table overflow").
	TCPTimeWaitOverflow uint64
}

// ParseErrorCount returns how many packets were dropped for reason r.
func (s *Stats) ParseErrorCount(r wire.Reason) uint64 {
	if int(r) < len(s.ParseErrors) {
		return s.ParseErrors[r]
	}
	return 0
}

// counters is the live, atomically updated form of Stats.
type counters struct {
	ipReceived, ipDelivered, ipSent, ipNotForUs, ipFragments, ipUnknownProto, ipNotIPv4 atomic.Uint64
	linkReadErrors                                                                      atomic.Uint64
	parseErrors                                                                         [wire.NumReasons]atomic.Uint64
	icmpEchoReplies, icmpDropped                                                        atomic.Uint64
	icmpErrorsToTCP                                                                     atomic.Uint64
	icmpIn, icmpOut                                                                     [256]atomic.Uint64
	tcpIn, tcpOut, tcpResets, tcpNoPort, tcpSynDropped, tcpListenOverflow, tcpBadPort   atomic.Uint64
	tcpSynsReceived, tcpSynCookiesSent, tcpSynCookiesValid, tcpSynCookiesInvalid        atomic.Uint64
	tcpConnLimitRefused, tcpMemLimitRefused                                             atomic.Uint64
	tcpTimeWaitOverflow                                                                 atomic.Uint64
}

func (c *counters) snapshot() Stats {
	s := Stats{
		IPReceived:        c.ipReceived.Load(),
		IPDelivered:       c.ipDelivered.Load(),
		IPSent:            c.ipSent.Load(),
		IPNotForUs:        c.ipNotForUs.Load(),
		IPFragments:       c.ipFragments.Load(),
		IPUnknownProto:    c.ipUnknownProto.Load(),
		IPNotIPv4:         c.ipNotIPv4.Load(),
		LinkReadErrors:    c.linkReadErrors.Load(),
		ICMPEchoReplies:   c.icmpEchoReplies.Load(),
		ICMPDropped:       c.icmpDropped.Load(),
		ICMPErrorsToTCP:   c.icmpErrorsToTCP.Load(),
		TCPSegmentsIn:     c.tcpIn.Load(),
		TCPSegmentsOut:    c.tcpOut.Load(),
		TCPResetsSent:     c.tcpResets.Load(),
		TCPNoPort:         c.tcpNoPort.Load(),
		TCPSynDropped:     c.tcpSynDropped.Load(),
		TCPListenOverflow: c.tcpListenOverflow.Load(),
		TCPBadPort:        c.tcpBadPort.Load(),

		TCPSynsReceived:      c.tcpSynsReceived.Load(),
		TCPSynCookiesSent:    c.tcpSynCookiesSent.Load(),
		TCPSynCookiesValid:   c.tcpSynCookiesValid.Load(),
		TCPSynCookiesInvalid: c.tcpSynCookiesInvalid.Load(),
		TCPConnLimitRefused:  c.tcpConnLimitRefused.Load(),
		TCPMemLimitRefused:   c.tcpMemLimitRefused.Load(),
		TCPTimeWaitOverflow:  c.tcpTimeWaitOverflow.Load(),
	}
	for i := range c.parseErrors {
		s.ParseErrors[i] = c.parseErrors[i].Load()
	}
	for i := range c.icmpIn {
		s.ICMPIn[i] = c.icmpIn[i].Load()
		s.ICMPOut[i] = c.icmpOut[i].Load()
	}
	return s
}

// countParseError counts a packet dropped by a wire parser.
func (c *counters) countParseError(err error) {
	if e, ok := err.(*wire.Error); ok && int(e.Reason) < len(c.parseErrors) {
		c.parseErrors[e.Reason].Add(1)
	}
}
