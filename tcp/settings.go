package tcp

import (
	"errors"
	"time"
)

// ErrBadSetting is returned for a setting outside what TCP allows.
var ErrBadSetting = errors.New("tcp: setting out of range")

// SetNoDelay turns Nagle's algorithm off (true, the default, as with Go's
// net.TCPConn) or on (false): with it on, a segment smaller than the MSS
// waits while earlier data is unacknowledged (RFC 896, RFC 1122 §4.2.3.4).
func (c *Conn) SetNoDelay(noDelay bool, now time.Time) {
	c.noDelay = noDelay
	if noDelay && c.state.synchronized() {
		c.output(now)
	}
}

// SetKeepAlive configures keep-alive probes (RFC 1122 §4.2.3.6): after idle
// without a segment from the peer, a probe every interval; after count
// unanswered probes the connection fails with ETIMEDOUT. idle 0 turns them
// off; interval 0 means idle, count 0 means 9.
func (c *Conn) SetKeepAlive(idle, interval time.Duration, count int) error {
	if idle < 0 || interval < 0 || count < 0 {
		return ErrBadSetting
	}
	if interval == 0 {
		interval = idle
	}
	if count == 0 {
		count = 9
	}
	c.kaIdle, c.kaInterval, c.kaCount = idle, interval, count
	c.kaProbes = 0
	return nil
}

// KeepAlive returns the keep-alive settings: idle time (0: off), interval
// and probe count.
func (c *Conn) KeepAlive() (idle, interval time.Duration, count int) {
	return c.kaIdle, c.kaInterval, c.kaCount
}

// SetUserTimeout sets how long sent data may stay unacknowledged before
// the connection fails with ETIMEDOUT (RFC 5482, Linux's TCP_USER_TIMEOUT);
// 0 leaves it to the retry counts.
func (c *Conn) SetUserTimeout(d time.Duration) error {
	if d < 0 {
		return ErrBadSetting
	}
	c.userTimeout = d
	return nil
}

// minBufferSize is the smallest buffer a connection will use: room for a
// couple of full segments (Linux's SOCK_MIN_SNDBUF/RCVBUF are similar).
const minBufferSize = 4096

// SetSendBufferSize fixes the send buffer at n bytes (as SO_SNDBUF does),
// which also stops it from growing by itself. It never drops queued data:
// the buffer stays at least as large as what it holds.
func (c *Conn) SetSendBufferSize(n int) error {
	if n <= 0 {
		return ErrBadSetting
	}
	n = max(n, minBufferSize, c.sendBuf.Len())
	c.sendBuf.Resize(n, c.sendBuf.Len())
	c.sndBufLocked = true
	return nil
}

// SetReceiveBufferSize fixes the receive buffer at n bytes (as SO_RCVBUF
// does), which bounds the window advertised and stops auto-tuning. The
// window already offered is never withdrawn (RFC 9293 §3.8.6), so the
// buffer stays large enough for it.
func (c *Conn) SetReceiveBufferSize(n int) error {
	if n <= 0 {
		return ErrBadSetting
	}
	used := c.rcvSpaceInUse()
	n = max(n, minBufferSize, used)
	c.rcvBuf.Resize(n, used)
	c.rcvBufLocked = true
	return nil
}

// SendBufferSize and ReceiveBufferSize return the buffers' current sizes.
func (c *Conn) SendBufferSize() int    { return c.sendBuf.Cap() }
func (c *Conn) ReceiveBufferSize() int { return c.rcvBuf.Cap() }

// Info is a snapshot of a connection's transmission state, like Linux's
// struct tcp_info.
type Info struct {
	State                  State
	SendMSS, ReceiveMSS    int
	CongestionWindow       int // bytes
	SlowStartThreshold     int // bytes
	RTT, RTTVar, RTO       time.Duration
	InFlight               int // bytes sent and not acknowledged (RFC 6675 pipe)
	SendWindow             int // the peer's window, scaled
	ReceiveWindow          int // the window we last advertised
	WindowScaling          bool
	Timestamps, SACK       bool
	InRecovery             bool
	CongestionControl      string
	SendBuffer, RecvBuffer int // sizes
	DSACKsReceived         int // D-SACK blocks from the peer: segments it got twice (RFC 2883)
	LostRetransmissions    int // retransmissions found lost and sent again without a timeout

	// The sequence spaces (RFC 9293 §3.3.1): ISS, SND.UNA, SND.NXT and the
	// highest sequence number sent so far (SND.NXT goes back on a
	// timeout); IRS and RCV.NXT. Zero until the handshake sets them.
	ISS, SendUnacked, SendNext, SendMax Value
	IRS, ReceiveNext                    Value
}

// Info returns a snapshot of the connection's transmission state.
func (c *Conn) Info() Info {
	return Info{
		State:               c.state,
		SendMSS:             c.sendMSS,
		ReceiveMSS:          c.rcvMSS,
		CongestionWindow:    c.cc.Cwnd(),
		SlowStartThreshold:  c.cc.Ssthresh(),
		RTT:                 c.rto.srtt,
		RTTVar:              c.rto.rttvar,
		RTO:                 c.rto.rto,
		InFlight:            int(c.pipe()),
		SendWindow:          int(c.sndWnd),
		ReceiveWindow:       int(c.receiveWindow()),
		WindowScaling:       c.wsOK,
		Timestamps:          c.tsOK,
		SACK:                c.sackOK,
		InRecovery:          c.recovery != notRecovering,
		CongestionControl:   c.cc.Name(),
		SendBuffer:          c.sendBuf.Cap(),
		RecvBuffer:          c.rcvBuf.Cap(),
		DSACKsReceived:      c.dsacksReceived,
		LostRetransmissions: c.lostRetransmits,
		ISS:                 c.iss,
		SendUnacked:         c.sndUna,
		SendNext:            c.sndNxt,
		SendMax:             c.sndMax,
		IRS:                 c.irs,
		ReceiveNext:         c.rcvNxt,
	}
}
