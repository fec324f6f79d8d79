package tcp

// State is a connection state of RFC 9293 §3.3.2 (Figure 5).
type State uint8

// The eleven states of RFC 9293 Figure 5. The zero value is Closed.
const (
	Closed State = iota
	Listen
	SynSent
	SynReceived
	Established
	FinWait1
	FinWait2
	CloseWait
	Closing
	LastAck
	TimeWait
)

var stateNames = [...]string{
	Closed:      "CLOSED",
	Listen:      "LISTEN",
	SynSent:     "SYN_SENT",
	SynReceived: "SYN_RCVD",
	Established: "ESTABLISHED",
	FinWait1:    "FIN_WAIT_1",
	FinWait2:    "FIN_WAIT_2",
	CloseWait:   "CLOSE_WAIT",
	Closing:     "CLOSING",
	LastAck:     "LAST_ACK",
	TimeWait:    "TIME_WAIT",
}

// String returns the state's name as netstat and the textbooks spell it,
// e.g. "SYN_RCVD" or "TIME_WAIT".
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "UNKNOWN"
}

// synchronized reports whether s is one of the states in which both
// sequence spaces are known (RFC 9293 §3.5: ESTABLISHED and later).
func (s State) synchronized() bool { return s >= Established }

// canSend reports whether user data may still be queued in s.
func (s State) canSend() bool {
	return s == SynSent || s == SynReceived || s == Established || s == CloseWait
}
