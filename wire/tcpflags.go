package wire

// TCPFlags holds the control bits of a TCP header (RFC 9293 §3.1, RFC 3168
// §6.1 for ECE and CWR). The bit positions are those of the low byte of the
// header's 13th and 14th octets, so a value converts to and from the wire
// with a plain mask.
type TCPFlags uint16

// The TCP control bits.
const (
	FlagFIN TCPFlags = 1 << iota // no more data from sender
	FlagSYN                      // synchronize sequence numbers
	FlagRST                      // reset the connection
	FlagPSH                      // push function
	FlagACK                      // acknowledgment field is significant
	FlagURG                      // urgent pointer field is significant
	FlagECE                      // ECN-Echo (RFC 3168)
	FlagCWR                      // congestion window reduced (RFC 3168)
)

// Has reports whether every bit of want is set in f.
func (f TCPFlags) Has(want TCPFlags) bool { return f&want == want }

// String formats f the way tcpdump does inside its brackets: one letter per
// bit in tcpdump's order F S R P . U E W, where "." is ACK, E is ECE and W
// is CWR; "none" when no bit is set. SYN+ACK is "S.", a bare ACK is ".",
// an ECN-setup SYN (RFC 3168 §6.1.1) is "SEW" and its SYN-ACK "S.E".
func (f TCPFlags) String() string {
	var buf [9]byte
	return string(f.appendTo(buf[:0]))
}

// appendTo appends the tcpdump flag letters of f to b.
func (f TCPFlags) appendTo(b []byte) []byte {
	n := len(b)
	for _, x := range [...]struct {
		flag   TCPFlags
		letter byte
	}{{FlagFIN, 'F'}, {FlagSYN, 'S'}, {FlagRST, 'R'}, {FlagPSH, 'P'}, {FlagACK, '.'}, {FlagURG, 'U'}, {FlagECE, 'E'}, {FlagCWR, 'W'}} {
		if f&x.flag != 0 {
			b = append(b, x.letter)
		}
	}
	if len(b) == n {
		b = append(b, "none"...)
	}
	return b
}
