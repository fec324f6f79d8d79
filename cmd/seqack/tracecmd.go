package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"time"

	"github.com/seqack/seqack/link"
	"github.com/seqack/seqack/trace"
	"github.com/seqack/seqack/wire"
)

func runTrace(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("trace", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var relative bool
	fs.BoolVar(&relative, "relative", false, "show sequence numbers relative to each side's ISN, as Wireshark does")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: seqack trace [flags] FILE

Draws the ladder diagram of every TCP connection in a capture file: one
written by "seqack serve --pcap", or by tcpdump, Wireshark or tshark, on any
interface (Ethernet, loopback, a TUN device, or "tcpdump -i any"), in pcap
or pcapng format. For example:

	tcpdump -i lo -w lo.pcap port 8000      (then talk to port 8000; Ctrl-C)
	seqack trace lo.pcap

Each side's states are inferred from the segments as seen where the capture
was taken, following RFC 9293's state diagram: the capture shows what was
on the wire, not what each host did with it. IPv4 only.

Flags:
`)
		fs.PrintDefaults()
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "seqack trace: want one capture file (-h for help)")
		return 2
	}
	f, err := os.Open(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "seqack trace: %v\n", err)
		return 1
	}
	defer f.Close()
	events, sum, err := readCapture(f)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		fmt.Fprintf(stderr, "seqack trace: %s: %v\n", pos[0], err)
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "seqack trace: %s: the file ends inside a packet (was the capture stopped abruptly?); drawing what was read\n", pos[0])
	}
	fmt.Fprintf(stdout, "%s: %d packets, %d TCP segments over IPv4 in %d connections", pos[0], sum.packets, sum.segments, sum.conns)
	if sum.other > 0 {
		fmt.Fprintf(stdout, "; %d other packets left out", sum.other)
	}
	fmt.Fprint(stdout, "\n\n")
	if err := trace.WriteLadder(stdout, events, trace.LadderOptions{Relative: relative}); err != nil {
		fmt.Fprintf(stderr, "seqack trace: %v\n", err)
		return 1
	}
	return 0
}

// captureSummary counts what a capture held.
type captureSummary struct {
	packets, segments, conns, other int
}

// readCapture turns the TCP segments of a capture into trace events: each
// segment is sent by its source and received by its destination at the
// moment it was captured, and the states of both ends are inferred from
// the segments (see observer). It returns the events read before any
// error.
func readCapture(r io.Reader) ([]trace.Event, captureSummary, error) {
	var sum captureSummary
	pr, err := link.NewPcapReader(r)
	if err != nil {
		return nil, sum, err
	}
	obs := newObserver()
	for {
		p, err := pr.ReadPacket()
		if err == io.EOF {
			break
		}
		if err != nil {
			sum.conns = len(obs.conns)
			return obs.events, sum, err
		}
		sum.packets++
		if obs.packet(&p, uint32(sum.packets)) {
			sum.segments++
		} else {
			sum.other++
		}
	}
	sum.conns = len(obs.conns)
	return obs.events, sum, nil
}

// observer infers the TCP states of both ends of each connection from the
// segments seen between them, as RFC 9293's Figure 5 and §3.10.7 say each
// end moves on sending and receiving them, and emits trace events.
type observer struct {
	conns  map[[2]netip.AddrPort]*observed
	events []trace.Event
}

// observed is one connection as the observer sees it.
type observed struct {
	ends map[netip.AddrPort]*endState
}

// endState is what the observer knows of one end.
type endState struct {
	state    string // "" until known
	synSeen  bool   // received a SYN it has not answered yet
	finSent  bool
	finSeq   uint32 // the sequence number of its FIN
	iss      uint32 // the sequence number of its SYN
	hasISS   bool
	passive  bool // answered a SYN with a SYN-ACK
	everSent bool
}

func newObserver() *observer {
	return &observer{conns: make(map[[2]netip.AddrPort]*observed)}
}

// packet handles one captured packet; it reports whether it was a TCP
// segment over IPv4.
func (o *observer) packet(p *link.PcapPacket, tag uint32) bool {
	raw, ok := p.IP()
	if !ok || len(raw) < wire.IPv4MinHeaderLen || raw[0]>>4 != 4 {
		return false
	}
	// A capture cut short (tcpdump -s) keeps the headers; stand in zeros
	// for the payload it did not keep, whose length the IP header still
	// tells.
	if p.OrigLen > len(p.Data) {
		if tl := wire.IPv4(raw).TotalLen(); tl > len(raw) && tl <= len(raw)+p.OrigLen-len(p.Data) {
			raw = append(raw[:len(raw):len(raw)], make([]byte, tl-len(raw))...)
		}
	}
	ip, err := wire.ParseIPv4(raw)
	if err != nil || ip.Protocol() != wire.ProtoTCP || ip.FragmentOffset() != 0 {
		return false
	}
	// The checksum is not verified: a capture on the sending host shows
	// the checksums that the NIC will fill in later.
	t, err := wire.ParseTCP(ip.Payload())
	if err != nil {
		return false
	}
	src := netip.AddrPortFrom(ip.Src(), t.SrcPort())
	dst := netip.AddrPortFrom(ip.Dst(), t.DstPort())
	seg := trace.Segment{
		Seq: t.Seq(), Ack: t.Ack(), Flags: t.Flags(), Window: t.Window(),
		Len: len(t.Payload()), Tag: tag,
	}
	seg.OptionsLen = uint8(copy(seg.Options[:], t.Options()))
	o.segment(p.Time, src, dst, seg)
	return true
}

// The state names, as tcp.State.String gives them.
const (
	stClosed      = "CLOSED"
	stListen      = "LISTEN"
	stSynSent     = "SYN_SENT"
	stSynReceived = "SYN_RCVD"
	stEstablished = "ESTABLISHED"
	stFinWait1    = "FIN_WAIT_1"
	stFinWait2    = "FIN_WAIT_2"
	stCloseWait   = "CLOSE_WAIT"
	stClosing     = "CLOSING"
	stLastAck     = "LAST_ACK"
	stTimeWait    = "TIME_WAIT"
)

// segment records seg going from src to dst at time at.
func (o *observer) segment(at time.Time, src, dst netip.AddrPort, seg trace.Segment) {
	k := [2]netip.AddrPort{src, dst}
	if src.Compare(dst) > 0 {
		k = [2]netip.AddrPort{dst, src}
	}
	c := o.conns[k]
	if c == nil {
		c = &observed{ends: map[netip.AddrPort]*endState{src: {}, dst: {}}}
		o.conns[k] = c
	}
	from, to := c.ends[src], c.ends[dst]
	f := seg.Flags
	syn, ack, fin, rst := f.Has(wire.FlagSYN), f.Has(wire.FlagACK), f.Has(wire.FlagFIN), f.Has(wire.FlagRST)
	set := func(e *endState, local, remote netip.AddrPort, state string) {
		if e.state == state {
			return
		}
		if e.state != "" {
			o.events = append(o.events, trace.Event{Time: at, Kind: trace.StateChanged, Local: local, Remote: remote,
				From: e.state, To: state})
		}
		e.state = state
	}

	// A capture that starts mid-connection: both ends were established.
	if !syn && from.state == "" && to.state == "" && !from.everSent && !to.everSent {
		from.state, to.state = stEstablished, stEstablished
	}

	// What the sender did to send this segment (a user call, or its
	// answer to a segment it received).
	switch {
	case rst:
		if from.state != "" && from.state != stListen {
			set(from, src, dst, stClosed)
		}
	case syn && !ack:
		switch from.state {
		case "", stClosed, stTimeWait:
			if from.state == "" {
				from.state = stClosed
			}
			*to = endState{} // a new connection on these endpoints
			set(from, src, dst, stSynSent)
		}
		from.iss, from.hasISS = seg.Seq, true
	case syn && ack:
		if from.synSeen || from.state == "" {
			if from.state == "" {
				from.state = stListen
			}
			set(from, src, dst, stSynReceived)
			from.passive = true
		}
		from.synSeen = false
		from.iss, from.hasISS = seg.Seq, true
	}
	if fin && !rst && !from.finSent {
		from.finSent = true
		from.finSeq = seg.Seq + uint32(seg.Len)
		if syn {
			from.finSeq++
		}
		switch from.state {
		case stEstablished, stSynReceived:
			set(from, src, dst, stFinWait1)
		case stCloseWait:
			set(from, src, dst, stLastAck)
		}
	}
	from.everSent = true
	o.events = append(o.events,
		trace.Event{Time: at, Kind: trace.SegmentSent, Local: src, Remote: dst, Seg: seg},
		trace.Event{Time: at, Kind: trace.SegmentReceived, Local: dst, Remote: src, Seg: seg})

	// What the receiver does with it (RFC 9293 §3.10.7).
	switch {
	case rst:
		switch {
		case to.state == stSynReceived && to.passive:
			set(to, dst, src, stListen) // §3.10.7.4 first check: back to LISTEN
		case to.state != "" && to.state != stListen && to.state != stClosed:
			set(to, dst, src, stClosed)
		}
		return
	case syn && !ack:
		switch to.state {
		case stSynSent:
			set(to, dst, src, stSynReceived) // simultaneous open (Figure 7)
		case "", stClosed, stListen, stTimeWait:
			to.synSeen = true // LISTEN if it answers with a SYN-ACK
		}
		return
	case syn && ack:
		if to.state == stSynSent && to.hasISS && seg.Ack == to.iss+1 {
			set(to, dst, src, stEstablished)
		}
		return
	}
	if ack {
		if to.state == stSynReceived && to.hasISS && int32(seg.Ack-(to.iss+1)) >= 0 {
			set(to, dst, src, stEstablished)
		}
		if to.finSent && int32(seg.Ack-(to.finSeq+1)) >= 0 {
			switch to.state {
			case stFinWait1:
				set(to, dst, src, stFinWait2)
			case stClosing:
				set(to, dst, src, stTimeWait)
			case stLastAck:
				set(to, dst, src, stClosed)
			}
		}
	}
	if fin {
		switch to.state {
		case stEstablished, stSynReceived:
			set(to, dst, src, stCloseWait)
		case stFinWait1:
			set(to, dst, src, stClosing)
		case stFinWait2:
			set(to, dst, src, stTimeWait)
		}
	}
}
