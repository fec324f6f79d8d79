// Package wire reads and writes the packet formats that seqack speaks:
// IPv4 (RFC 791), TCP with its options (RFC 9293, RFC 7323, RFC 2018),
// ICMPv4 (RFC 792, RFC 1191) and the Internet checksum (RFC 1071, RFC 1624).
//
// It is the only package in seqack that knows byte offsets. Everything
// above it uses the typed accessors and builders defined here.
//
// # Views
//
// A parsed packet is a view: a named []byte type such as [IPv4], [TCP] or
// [ICMPv4] whose methods read fields straight out of the bytes. Parsing
// validates just enough that every accessor on the returned view is safe,
// and copies nothing. A parse function never panics, whatever its input;
// a malformed packet yields one of the pre-allocated [*Error] sentinels
// (such as [ErrTCPOptionOverrun]), whose [Reason] the caller can count.
//
// Accessors called on a value that did not come from the matching parse
// function may panic if the slice is too short, as indexing a slice would.
//
// # Building
//
// Builders such as [IPv4Header.Marshal], [TCPHeader.Marshal] and
// [MarshalEcho] write into a buffer the caller provides and return the
// number of bytes written. They never allocate. Like
// [encoding/binary.BigEndian.PutUint32], they panic if the buffer is too
// short; the required size is documented on each.
//
// A typical outgoing TCP segment is built back to front within one buffer:
//
//	n := tcph.Marshal(buf[IPv4MinHeaderLen:], &opts)
//	n += copy(buf[IPv4MinHeaderLen+n:], payload)
//	wire.SetTCPChecksum(src, dst, buf[IPv4MinHeaderLen:IPv4MinHeaderLen+n])
//	iph.PayloadLen = n
//	iph.Marshal(buf)
//
// # Text
//
// [FormatTCP], [AppendTCPSummary] and [AppendOptions] render segments the
// way tcpdump and packetdrill do, for example
//
//	10.0.0.1:40000 > 10.0.0.2:80 [S] seq 1234 win 65535 <mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>
//
// so that seqack's traces look like the captures people already know.
package wire
