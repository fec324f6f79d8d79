package wire

import "encoding/binary"

// TCP option kinds (IANA "TCP Option Kind Numbers").
const (
	OptEOL           = 0 // end of option list (RFC 9293)
	OptNOP           = 1 // no-operation (RFC 9293)
	OptMSS           = 2 // maximum segment size (RFC 9293 §3.7.1)
	OptWindowScale   = 3 // window scale (RFC 7323 §2)
	OptSACKPermitted = 4 // SACK permitted (RFC 2018)
	OptSACK          = 5 // SACK blocks (RFC 2018)
	OptTimestamps    = 8 // timestamps (RFC 7323 §3)
)

// MaxTCPOptionsLen is the most option bytes a TCP header can carry
// (data offset 15 words minus the 20-byte fixed header).
const MaxTCPOptionsLen = 40

// MaxSACKBlocks is the most SACK blocks that fit in the option space.
const MaxSACKBlocks = 4

// SACKBlock is one block of a SACK option (RFC 2018 §3): the peer holds the
// bytes from Left up to but not including Right.
type SACKBlock struct {
	Left, Right uint32
}

// TCPOptions is the decoded form of the options that seqack understands.
// It has no pointers, so it can live in a parsed segment without allocation.
// A field is meaningful only when its Has flag (or SACKPermitted) is set.
type TCPOptions struct {
	MSS    uint16 // maximum segment size, valid when HasMSS
	HasMSS bool

	WindowScale    uint8 // shift count, valid when HasWindowScale
	HasWindowScale bool

	SACKPermitted bool

	SACKBlocks [MaxSACKBlocks]SACKBlock // the first NumSACK are valid
	NumSACK    uint8

	TSVal, TSEcr  uint32 // valid when HasTimestamps
	HasTimestamps bool
}

// The lengths of the options that seqack understands, kind and length
// bytes included.
const (
	optLenMSS           = 4  // RFC 9293 §3.2
	optLenWindowScale   = 3  // RFC 7323 §2.2
	optLenSACKPermitted = 2  // RFC 2018 §2
	optLenTimestamps    = 10 // RFC 7323 §3.2
	optLenSACKBlock     = 8  // RFC 2018 §3: a SACK option is 2+8n bytes
)

// Unmarshal resets *o and fills it from raw, the option bytes of a TCP
// header. It walks the list as RFC 9293 §3.2 describes:
//
//   - End of Option List (kind 0) ends the list; bytes after it are ignored;
//   - No-Operation (kind 1) is a single byte and is skipped;
//   - every other kind has a length byte counting the kind and length
//     bytes, so a missing length byte or a length of 0 or 1 is
//     [ErrTCPOptionLen], and a length that runs past raw is
//     [ErrTCPOptionOverrun];
//   - a known option whose length is wrong for its kind is
//     [ErrTCPOptionBadLen]: MSS must be 4, window scale 3,
//     SACK-permitted 2, timestamps 10, and SACK 2+8n with
//     1 ≤ n ≤ MaxSACKBlocks (no more fit in a header);
//   - an unknown kind is skipped by its length (RFC 9293 §3.2, RFC 1122
//     §4.2.2.5: a TCP must ignore options it does not implement).
//
// If an option appears more than once, the last one wins. A window scale
// above 14 is stored as received; RFC 7323 §2.3 has the receiver treat it
// as 14. Unmarshal does not allocate.
func (o *TCPOptions) Unmarshal(raw []byte) error {
	*o = TCPOptions{}
	for len(raw) > 0 {
		kind := raw[0]
		switch kind {
		case OptEOL:
			return nil
		case OptNOP:
			raw = raw[1:]
			continue
		}
		if len(raw) < 2 {
			return ErrTCPOptionLen
		}
		n := int(raw[1])
		if n < 2 {
			return ErrTCPOptionLen
		}
		if n > len(raw) {
			return ErrTCPOptionOverrun
		}
		opt := raw[:n]
		switch kind {
		case OptMSS:
			if n != optLenMSS {
				return ErrTCPOptionBadLen
			}
			o.MSS = binary.BigEndian.Uint16(opt[2:4])
			o.HasMSS = true
		case OptWindowScale:
			if n != optLenWindowScale {
				return ErrTCPOptionBadLen
			}
			o.WindowScale = opt[2]
			o.HasWindowScale = true
		case OptSACKPermitted:
			if n != optLenSACKPermitted {
				return ErrTCPOptionBadLen
			}
			o.SACKPermitted = true
		case OptSACK:
			nb := (n - 2) / optLenSACKBlock
			if nb == 0 || (n-2)%optLenSACKBlock != 0 || nb > MaxSACKBlocks {
				return ErrTCPOptionBadLen
			}
			o.SACKBlocks = [MaxSACKBlocks]SACKBlock{}
			for i := range nb {
				blk := opt[2+i*optLenSACKBlock:]
				o.SACKBlocks[i] = SACKBlock{
					Left:  binary.BigEndian.Uint32(blk[0:4]),
					Right: binary.BigEndian.Uint32(blk[4:8]),
				}
			}
			o.NumSACK = uint8(nb)
		case OptTimestamps:
			if n != optLenTimestamps {
				return ErrTCPOptionBadLen
			}
			o.TSVal = binary.BigEndian.Uint32(opt[2:6])
			o.TSEcr = binary.BigEndian.Uint32(opt[6:10])
			o.HasTimestamps = true
		}
		raw = raw[n:]
	}
	return nil
}

// layout returns how many SACK blocks o will carry when encoded and the
// encoded length. SACK blocks are dropped, last first, until the options
// fit in MaxTCPOptionsLen bytes.
func (o *TCPOptions) layout() (nsack, n int) {
	if o.HasMSS {
		n += optLenMSS
	}
	switch {
	case o.HasTimestamps:
		n += 2 + optLenTimestamps // sackOK replaces the two NOPs
	case o.SACKPermitted:
		n += 2 + optLenSACKPermitted
	}
	if o.HasWindowScale {
		n += 1 + optLenWindowScale
	}
	nsack = min(int(o.NumSACK), MaxSACKBlocks)
	for nsack > 0 && n+4+nsack*optLenSACKBlock > MaxTCPOptionsLen {
		nsack--
	}
	if nsack > 0 {
		n += 4 + nsack*optLenSACKBlock
	}
	return nsack, n
}

// EncodedLen returns the number of bytes that Marshal writes: always a
// multiple of 4, at most MaxTCPOptionsLen.
func (o *TCPOptions) EncodedLen() int {
	_, n := o.layout()
	return n
}

// Marshal encodes o into b and returns the number of bytes written,
// [TCPOptions.EncodedLen]. It does not allocate, and panics if b is
// shorter than that.
//
// The options are laid out as Linux lays them out, so that captures look
// familiar, each group padded with NOPs to a 4-byte boundary:
//
//	MSS                  kind 2 len 4
//	sackOK, TS           4,2 then 8,10 when both are present
//	nop, nop, TS         timestamps alone
//	nop, nop, sackOK     SACK-permitted alone
//	nop, wscale          kind 3 len 3
//	nop, nop, sack       kind 5 len 2+8n
//
// A Linux SYN thus reads <mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>,
// and a segment of an established connection <nop,nop,TS val 2 ecr 1>.
// Which options belong on which segment (RFC 7323 §2.2 and §3.2,
// RFC 2018 §2, RFC 9293 §3.7.1) is for the caller to decide: Marshal
// writes what o holds. If the options do not fit in MaxTCPOptionsLen
// bytes, SACK blocks are dropped from the end until they do.
func (o *TCPOptions) Marshal(b []byte) int {
	nsack, n := o.layout()
	if n == 0 {
		return 0
	}
	_ = b[n-1]
	return o.marshal(b[:n], nsack)
}

// marshal writes o, with nsack SACK blocks, into b, which has room.
func (o *TCPOptions) marshal(b []byte, nsack int) int {
	i := 0
	if o.HasMSS {
		b[i], b[i+1] = OptMSS, optLenMSS
		binary.BigEndian.PutUint16(b[i+2:], o.MSS)
		i += optLenMSS
	}
	switch {
	case o.HasTimestamps:
		if o.SACKPermitted {
			b[i], b[i+1] = OptSACKPermitted, optLenSACKPermitted
		} else {
			b[i], b[i+1] = OptNOP, OptNOP
		}
		b[i+2], b[i+3] = OptTimestamps, optLenTimestamps
		binary.BigEndian.PutUint32(b[i+4:], o.TSVal)
		binary.BigEndian.PutUint32(b[i+8:], o.TSEcr)
		i += 2 + optLenTimestamps
	case o.SACKPermitted:
		b[i], b[i+1], b[i+2], b[i+3] = OptNOP, OptNOP, OptSACKPermitted, optLenSACKPermitted
		i += 2 + optLenSACKPermitted
	}
	if o.HasWindowScale {
		b[i], b[i+1], b[i+2], b[i+3] = OptNOP, OptWindowScale, optLenWindowScale, o.WindowScale
		i += 1 + optLenWindowScale
	}
	if nsack > 0 {
		b[i], b[i+1], b[i+2], b[i+3] = OptNOP, OptNOP, OptSACK, byte(2+nsack*optLenSACKBlock)
		i += 4
		for _, blk := range o.SACKBlocks[:nsack] {
			binary.BigEndian.PutUint32(b[i:], blk.Left)
			binary.BigEndian.PutUint32(b[i+4:], blk.Right)
			i += optLenSACKBlock
		}
	}
	return i
}
