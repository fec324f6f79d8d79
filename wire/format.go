package wire

import (
	"encoding/binary"
	"net/netip"
	"strconv"
)

// FormatTCP describes the TCP segment t, sent from src to dst, in the style
// of tcpdump and packetdrill:
//
//	10.0.0.1:40000 > 10.0.0.2:80 [S] seq 1234 win 65535 <mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>
//	10.0.0.2:80 > 10.0.0.1:40000 [S.] seq 5000 ack 1235 win 65535 <mss 1460>
//	10.0.0.1:40000 > 10.0.0.2:80 [P.] seq 1235 ack 5001 win 502 length 100
//
// The part after the ports is [AppendTCPSummary]'s. FormatTCP does not
// panic on any slice: a t that does not parse is shown as
// "[bad tcp: reason]".
func FormatTCP(src, dst netip.Addr, t TCP) string {
	var buf [192]byte
	return string(appendTCP(buf[:0], src, dst, t))
}

// String describes t as [FormatTCP] does, without addresses:
// "40000 > 80 [S] seq 1234 win 65535 <mss 1460>".
func (t TCP) String() string {
	var buf [160]byte
	b := buf[:0]
	if _, err := ParseTCP(t); err != nil {
		return string(appendBad(b, err))
	}
	b = strconv.AppendUint(b, uint64(t.SrcPort()), 10)
	b = append(b, " > "...)
	b = strconv.AppendUint(b, uint64(t.DstPort()), 10)
	b = append(b, ' ')
	return string(t.appendSummary(b))
}

// appendTCP appends the FormatTCP form of seg to b.
func appendTCP(b []byte, src, dst netip.Addr, seg []byte) []byte {
	t, err := ParseTCP(seg)
	if err != nil {
		b = appendAddrs(b, src, dst)
		return appendBad(b, err)
	}
	b = netip.AddrPortFrom(src, t.SrcPort()).AppendTo(b)
	b = append(b, " > "...)
	b = netip.AddrPortFrom(dst, t.DstPort()).AppendTo(b)
	b = append(b, ' ')
	return t.appendSummary(b)
}

// appendSummary appends the AppendTCPSummary form of the parsed segment t.
func (t TCP) appendSummary(b []byte) []byte {
	b = AppendTCPSummary(b, t.Flags(), t.Seq(), t.Ack(), t.Window(), len(t.Payload()), t.Options())
	if t.Flags()&FlagURG != 0 {
		b = append(b, " urg "...)
		b = strconv.AppendUint(b, uint64(t.Urgent()), 10)
	}
	return b
}

// AppendTCPSummary appends a description of a TCP segment, without its
// ports, to b and returns the extended slice:
//
//	[S.] seq 5000 ack 1235 win 65535 <mss 1460>
//	[.] seq 1235 ack 5001 win 502 length 100
//
// The flags are shown as [TCPFlags.String] shows them; ack only when the
// ACK flag is set; the options, rendered by [AppendOptions], only when
// rawOpts is not empty; and length, the payload length, only when it is
// not zero. It is the one formatter behind [FormatTCP] and the trace
// renderers, and it does not allocate when b has room.
func AppendTCPSummary(b []byte, flags TCPFlags, seq, ack uint32, win uint16, length int, rawOpts []byte) []byte {
	b = append(b, '[')
	b = flags.appendTo(b)
	b = append(b, "] seq "...)
	b = strconv.AppendUint(b, uint64(seq), 10)
	if flags&FlagACK != 0 {
		b = append(b, " ack "...)
		b = strconv.AppendUint(b, uint64(ack), 10)
	}
	b = append(b, " win "...)
	b = strconv.AppendUint(b, uint64(win), 10)
	if len(rawOpts) > 0 {
		b = append(b, ' ')
		b = AppendOptions(b, rawOpts)
	}
	if length != 0 {
		b = append(b, " length "...)
		b = strconv.AppendInt(b, int64(length), 10)
	}
	return b
}

// AppendOptions appends the tcpdump rendering of the raw TCP option bytes
// raw to b and returns the extended slice. Every option is shown in wire
// order, padding included, between angle brackets:
//
//	<mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>
//	<nop,nop,TS val 2 ecr 1,nop,nop,sack 2 {1000:2000}{3000:4000}>
//	<mss 1460,eol>
//	<opt-30:0102,opt-253>
//
// An option seqack does not know is shown as opt-KIND, followed by its
// contents in hex if it has any. A list that [TCPOptions.Unmarshal]
// rejects is shown as <bad opts: reason>. An empty raw appends nothing.
// AppendOptions does not allocate when b has room.
func AppendOptions(b []byte, raw []byte) []byte {
	if len(raw) == 0 {
		return b
	}
	var o TCPOptions
	if err := o.Unmarshal(raw); err != nil {
		b = append(b, "<bad opts: "...)
		if e, ok := err.(*Error); ok {
			b = append(b, e.Reason.String()...)
		}
		return append(b, '>')
	}
	// raw is well formed: every length byte below is present and in range.
	b = append(b, '<')
	for i := 0; len(raw) > 0; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		kind := raw[0]
		if kind == OptEOL {
			b = append(b, "eol"...)
			break
		}
		if kind == OptNOP {
			b = append(b, "nop"...)
			raw = raw[1:]
			continue
		}
		opt := raw[:raw[1]]
		raw = raw[len(opt):]
		switch kind {
		case OptMSS:
			b = append(b, "mss "...)
			b = strconv.AppendUint(b, uint64(binary.BigEndian.Uint16(opt[2:4])), 10)
		case OptWindowScale:
			b = append(b, "wscale "...)
			b = strconv.AppendUint(b, uint64(opt[2]), 10)
		case OptSACKPermitted:
			b = append(b, "sackOK"...)
		case OptSACK:
			blocks := opt[2:]
			b = append(b, "sack "...)
			b = strconv.AppendInt(b, int64(len(blocks)/optLenSACKBlock), 10)
			b = append(b, ' ')
			for ; len(blocks) >= optLenSACKBlock; blocks = blocks[optLenSACKBlock:] {
				b = append(b, '{')
				b = strconv.AppendUint(b, uint64(binary.BigEndian.Uint32(blocks[0:4])), 10)
				b = append(b, ':')
				b = strconv.AppendUint(b, uint64(binary.BigEndian.Uint32(blocks[4:8])), 10)
				b = append(b, '}')
			}
		case OptTimestamps:
			b = append(b, "TS val "...)
			b = strconv.AppendUint(b, uint64(binary.BigEndian.Uint32(opt[2:6])), 10)
			b = append(b, " ecr "...)
			b = strconv.AppendUint(b, uint64(binary.BigEndian.Uint32(opt[6:10])), 10)
		default:
			b = append(b, "opt-"...)
			b = strconv.AppendUint(b, uint64(kind), 10)
			if len(opt) > 2 {
				b = append(b, ':')
				for _, c := range opt[2:] {
					b = append(b, hexDigits[c>>4], hexDigits[c&0x0f])
				}
			}
		}
	}
	return append(b, '>')
}

const hexDigits = "0123456789abcdef"
