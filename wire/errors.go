package wire

import "strconv"

// Layer names the protocol whose header failed to parse.
type Layer uint8

// The layers that wire parses.
const (
	LayerIPv4 Layer = iota
	LayerTCP
	LayerICMPv4
)

var layerNames = [...]string{
	LayerIPv4:   "ipv4",
	LayerTCP:    "tcp",
	LayerICMPv4: "icmpv4",
}

// String returns the lower-case name of l, such as "tcp".
func (l Layer) String() string {
	if int(l) < len(layerNames) {
		return layerNames[l]
	}
	return "Layer(" + strconv.Itoa(int(l)) + ")"
}

// Reason says why a packet failed to parse. Each reason belongs to one
// layer, so a [NumReasons]-sized array of counters counts every kind of
// malformed packet separately.
type Reason uint8

// The reasons a parse can fail. Each has a matching *Error sentinel.
const (
	ReasonIPv4TooShort  Reason = iota // shorter than the 20-byte fixed header
	ReasonIPv4Version                 // version field is not 4
	ReasonIPv4HeaderLen               // IHL below 5 or beyond the packet
	ReasonIPv4TotalLen                // total length below IHL or beyond the packet
	ReasonIPv4Checksum                // header checksum does not verify

	ReasonTCPTooShort      // shorter than the 20-byte fixed header
	ReasonTCPDataOffset    // data offset below 5 or beyond the segment
	ReasonTCPChecksum      // checksum does not verify
	ReasonTCPOptionLen     // option length byte missing, 0 or 1
	ReasonTCPOptionOverrun // option runs past the end of the header
	ReasonTCPOptionBadLen  // known option with the wrong length for its kind

	ReasonICMPTooShort // shorter than the 8-byte header
	ReasonICMPChecksum // checksum does not verify

	// NumReasons is the number of reasons; every Reason is below it.
	NumReasons = iota
)

var reasons = [NumReasons]struct {
	layer Layer
	text  string // the reason alone
	msg   string // "layer: reason", the Error string
}{
	ReasonIPv4TooShort:  {LayerIPv4, "packet shorter than 20 bytes", ""},
	ReasonIPv4Version:   {LayerIPv4, "version is not 4", ""},
	ReasonIPv4HeaderLen: {LayerIPv4, "header length out of range", ""},
	ReasonIPv4TotalLen:  {LayerIPv4, "total length out of range", ""},
	ReasonIPv4Checksum:  {LayerIPv4, "bad header checksum", ""},

	ReasonTCPTooShort:      {LayerTCP, "segment shorter than 20 bytes", ""},
	ReasonTCPDataOffset:    {LayerTCP, "data offset out of range", ""},
	ReasonTCPChecksum:      {LayerTCP, "bad checksum", ""},
	ReasonTCPOptionLen:     {LayerTCP, "option length missing or below 2", ""},
	ReasonTCPOptionOverrun: {LayerTCP, "option runs past header", ""},
	ReasonTCPOptionBadLen:  {LayerTCP, "wrong length for option kind", ""},

	ReasonICMPTooShort: {LayerICMPv4, "message shorter than 8 bytes", ""},
	ReasonICMPChecksum: {LayerICMPv4, "bad checksum", ""},
}

func init() {
	// Build the full messages once, so that Error never allocates.
	for i := range reasons {
		r := &reasons[i]
		r.msg = r.layer.String() + ": " + r.text
	}
}

// String describes r without its layer, such as "option runs past header".
func (r Reason) String() string {
	if int(r) < NumReasons {
		return reasons[r].text
	}
	return "Reason(" + strconv.Itoa(int(r)) + ")"
}

// Layer returns the layer to which r belongs.
func (r Reason) Layer() Layer {
	if int(r) < NumReasons {
		return reasons[r].layer
	}
	return Layer(255)
}

// Error is a parse failure: the layer whose header was malformed and the
// reason. The parse functions return only the pre-allocated sentinels below,
// so errors.Is matches them by identity, and errors.As with a **Error
// target recovers the Reason without allocating.
type Error struct {
	Layer  Layer
	Reason Reason
}

// Error returns "layer: reason", such as "tcp: option runs past header".
func (e *Error) Error() string {
	if int(e.Reason) < NumReasons && reasons[e.Reason].layer == e.Layer {
		return reasons[e.Reason].msg
	}
	return e.Layer.String() + ": " + e.Reason.String()
}

// The parse errors, one per Reason.
var (
	ErrIPv4TooShort  = &Error{LayerIPv4, ReasonIPv4TooShort}  // RFC 791 §3.1: 20-byte minimum header
	ErrIPv4Version   = &Error{LayerIPv4, ReasonIPv4Version}   // RFC 791 §3.1: version 4
	ErrIPv4HeaderLen = &Error{LayerIPv4, ReasonIPv4HeaderLen} // RFC 791 §3.1: IHL ≥ 5
	ErrIPv4TotalLen  = &Error{LayerIPv4, ReasonIPv4TotalLen}  // RFC 791 §3.1: total length
	ErrIPv4Checksum  = &Error{LayerIPv4, ReasonIPv4Checksum}  // RFC 1122 §3.2.1.2: verify, discard if bad

	ErrTCPTooShort      = &Error{LayerTCP, ReasonTCPTooShort}      // RFC 9293 §3.1: 20-byte minimum header
	ErrTCPDataOffset    = &Error{LayerTCP, ReasonTCPDataOffset}    // RFC 9293 §3.1: data offset ≥ 5
	ErrTCPChecksum      = &Error{LayerTCP, ReasonTCPChecksum}      // RFC 9293 §3.1: checksum over pseudo header and segment
	ErrTCPOptionLen     = &Error{LayerTCP, ReasonTCPOptionLen}     // RFC 9293 §3.1: option-length counts kind and length
	ErrTCPOptionOverrun = &Error{LayerTCP, ReasonTCPOptionOverrun} // RFC 9293 §3.2: options end with the header
	ErrTCPOptionBadLen  = &Error{LayerTCP, ReasonTCPOptionBadLen}  // RFC 9293 §3.2, RFC 7323, RFC 2018

	ErrICMPTooShort = &Error{LayerICMPv4, ReasonICMPTooShort} // RFC 792: 8-byte header
	ErrICMPChecksum = &Error{LayerICMPv4, ReasonICMPChecksum} // RFC 792, RFC 1122 §3.2.2
)
