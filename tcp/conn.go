package tcp

import (
	"errors"
	"io"
	"syscall"
	"time"

	"github.com/seqack/seqack/tcp/cc"
	"github.com/seqack/seqack/trace"
	"github.com/seqack/seqack/wire"
)

// A Sender takes the segments a Conn emits. SendSegment is called
// synchronously; the segment and its payload slices are valid only until it
// returns, so the Sender must encode (or copy) it before returning. It may
// set seg.Tag to identify the packet it sent.
type Sender interface {
	SendSegment(id ID, seg *Segment)
}

// Errors a Conn reports. The connection failures are syscall.Errno values, so
// errors.Is(err, syscall.ECONNRESET) and friends work as with package net.
var (
	// ErrConnectionRefused: the peer answered our SYN with a reset.
	ErrConnectionRefused = syscall.ECONNREFUSED
	// ErrConnectionReset: the peer reset an established connection.
	ErrConnectionReset = syscall.ECONNRESET
	// ErrTimeout: retransmissions ran out before the peer acknowledged.
	ErrTimeout = syscall.ETIMEDOUT
	// ErrWriteClosed: Write after CloseWrite or Close, or after the
	// connection ended (EPIPE, as write(2) says).
	ErrWriteClosed = syscall.EPIPE
	// ErrAlreadyOpen: Connect or Listen on a connection that is not CLOSED.
	ErrAlreadyOpen = errors.New("tcp: connection already open")
	// ErrNotConnected: the operation needs a connection that was opened.
	ErrNotConnected = syscall.ENOTCONN
)

// Conn is one TCP connection's control block (RFC 9293 §3.3.1): its state,
// its send and receive sequence spaces, buffers and timers.
type Conn struct {
	id   ID
	cfg  *Config // shared with other connections (Config.WithDefaults)
	out  Sender
	sink trace.Sink

	state   State
	passive bool          // opened by a listener (LISTEN → SYN_RCVD)
	err     error         // why the connection failed, once it has
	softErr syscall.Errno // the last soft ICMP error (RFC 1122 §4.2.3.9)

	// Send sequence space (RFC 9293 §3.3.1, Figure 3).
	iss       Value
	sndUna    Value  // oldest unacknowledged sequence number
	sndNxt    Value  // next sequence number to send
	sndMax    Value  // highest sequence number sent so far (sndNxt rewinds on a timeout)
	sndWnd    uint32 // the peer's window
	maxSndWnd uint32 // largest window the peer has offered (RFC 5961 §5.2)
	sndWl1    Value  // segment sequence number used for the last window update
	sndWl2    Value  // segment acknowledgment number used for the last window update
	sendMSS   int    // largest payload we send: the peer's MSS, capped by ours
	sendBuf   ring   // unacknowledged and unsent data
	bufSeq    Value  // sequence number of sendBuf's first byte
	finQueued bool   // the application closed its sending side

	// Receive sequence space (RFC 9293 §3.3.1, Figure 4).
	irs         Value
	rcvNxt      Value
	rcvAdvEdge  Value // RCV.NXT + RCV.WND as last advertised; never moves left
	rcvBuf      ring
	finReceived bool // the peer's FIN has been processed
	readClosed  bool // the application will not read again (Close)
	ackNow      bool // an acknowledgment is owed

	// Options negotiated in the handshake (RFC 7323, RFC 2018).
	wsOK, tsOK, sackOK   bool
	sndWscale, rcvWscale uint8   // shifts of the peer's window and of ours
	tsOffset             uint32  // added to our millisecond clock (RFC 7323 §7.1)
	tsLast               uint32  // the latest TSval used: the clock never goes back
	tsRecent             uint32  // TS.Recent (RFC 7323 §4.3)
	tsRecentAt           instant // when TS.Recent was set, for its 24-day life
	lastAckSent          Value   // Last.ACK.sent (RFC 7323 §4.3)

	// Reassembly and SACK blocks to send (RFC 2018, RFC 2883).
	ooo          reassembly
	oooFin       Value // where the peer's FIN is, if it arrived out of order
	oooFinSet    bool
	dsack        seqRange // a duplicate to report in the next ACK
	dsackPending bool

	// Loss recovery (RFC 5681, RFC 6582, RFC 6675) and congestion control.
	cc              cc.Controller
	sb              scoreboard
	dupAcks         int
	recovery        recoveryKind
	recoveryPoint   Value   // RecoveryPoint: recovery ends when this is acknowledged
	highRxt         Value   // HighRxt: retransmissions of this episode reached here
	lostEnd         Value   // bytes below this, not SACKed, are deemed lost
	dsacksReceived  int     // D-SACK blocks the peer sent (RFC 2883)
	tlpAt           instant // the tail loss probe is due (RFC 8985 §7)
	tlpOut          bool    // a probe is out, covering tlpSeq..tlpEnd
	tlpSeq, tlpEnd  Value
	rtoTSVal        uint32 // our timestamp clock when the last timeout fired
	rxtMark         Value  // SND.MAX when the latest retransmission went out
	rxtMarkSet      bool
	headMark        Value // SND.MAX when the head (SND.UNA) was last resent, or became the head
	headMarkSet     bool
	lostRetransmits int // retransmissions found lost (detectLostRetransmissions)
	minRTT          time.Duration
	appLimited      bool  // the last send stopped for want of data, not of window
	cwndFullMark    Value // SND.MAX when cwnd was last found full: ACKs below it are not app-limited
	cwndFullSet     bool
	lastSendAt      instant // for the restart after idle (RFC 5681 §4.1)
	progressAt      instant // when SND.UNA last moved or data first went out (user timeout)

	// Acknowledgment policy (RFC 1122 §4.2.3.2, RFC 5681 §4.2).
	delackAt   instant // the delayed ACK is due
	quickAcks  int     // segments still to acknowledge at once
	rcvUnacked int     // bytes received since the last ACK
	rcvMSS     int     // the largest segment the peer has sent (Linux's rcv_mss)
	lastDataAt instant // when data last arrived

	// Application settings.
	noDelay                    bool  // Nagle off
	sndSml                     Value // end of the last short segment of new data sent (Minshall's Nagle, Linux's snd_sml)
	kaIdle, kaInterval         time.Duration
	kaCount, kaProbes          int
	lastRecvAt                 instant // any segment from the peer, for keep-alive
	userTimeout                time.Duration
	sndBufLocked, rcvBufLocked bool // the application fixed the size: no auto-tuning

	// Receive-buffer auto-tuning (dynamic right-sizing, as Linux's
	// tcp_rcv_space_adjust): bytes delivered per round trip.
	rcvSpaceAt    instant
	rcvSpaceBytes int
	rcvRTT        time.Duration

	// Timers (zero: not running).
	rto        rtoEstimator
	rtoAt      instant // retransmission timer (RFC 6298)
	persistAt  instant // zero-window probe timer (RFC 9293 §3.8.6.1)
	persistRTO time.Duration
	probes     int            // zero-window probes sent since the peer last sent an ACK
	timeWaitAt instant        // 2×MSL (RFC 9293 §3.4.2)
	tw         *TimeWaitEntry // answers in TIME-WAIT (timeWait)
	releaseAt  instant        // empty buffers go back to the pool (drained)
	finWait2At instant        // orphaned FIN_WAIT_2 limit
	retries    int            // consecutive expiries without progress
	synTimeout bool           // our SYN or SYN-ACK had to be retransmitted
	rttTiming  bool           // a segment is being timed (Karn's rule, RFC 6298 §3)
	rttSeq     Value          // the timed segment is acknowledged when SND.UNA reaches this
	rttStart   instant

	txSeg Segment // the segment being handed to the Sender (see scratch)

	// RFC 5961 §7 challenge ACK rate limit.
	challengeSecond instant
	challengeCount  int
	lastOOW         instant // the last answer to an out-of-window segment (oow.go)

	// The connection's instants count from base (at).
	base time.Time
}

// NewConn returns a connection in the CLOSED state with the given endpoints.
// Segments it emits go to out, events to sink (which may be nil). cfg may be
// nil for all defaults.
func NewConn(id ID, cfg *Config, out Sender, sink trace.Sink) *Conn {
	c := &Conn{id: id, cfg: cfg.resolve(), out: out, sink: sink}
	c.rto = newRTOEstimator(c.cfg)
	c.sendMSS = defaultMSS
	c.sendBuf = newRing(c.cfg.SendBufferSize)
	c.rcvBuf = newRing(c.cfg.ReceiveBufferSize)
	c.noDelay = !c.cfg.Nagle
	c.kaIdle, c.kaInterval, c.kaCount = c.cfg.KeepAliveIdle, c.cfg.KeepAliveInterval, c.cfg.KeepAliveCount
	c.userTimeout = c.cfg.UserTimeout
	ctl, err := cc.New(c.cfg.CongestionControl, defaultMSS)
	if err != nil {
		ctl, _ = cc.New("", defaultMSS)
	}
	c.cc = ctl
	return c
}

// synTimeoutRTO is the RTO data starts with after a SYN timed out
// (RFC 6298 §5.7).
const synTimeoutRTO = 3 * time.Second

// orphanRetries bounds the zero-window probes of a connection the
// application has closed (Linux's tcp_orphan_retries default).
const orphanRetries = 8

// defaultMSS is the MSS assumed when the peer sends no MSS option
// (RFC 9293 §3.7.1, RFC 1122 §4.2.2.6).
const defaultMSS = 536

// minMSS is the smallest peer MSS honoured; smaller announcements are
// raised to it so that a hostile peer cannot make us send 1-byte segments
// (Linux's tcp_min_snd_mss).
const minMSS = 48

// ID returns the connection's endpoints.
func (c *Conn) ID() ID { return c.id }

// State returns the connection's current state.
func (c *Conn) State() State { return c.state }

// Err returns why the connection failed (ECONNREFUSED, ECONNRESET,
// ETIMEDOUT), or nil.
func (c *Conn) Err() error { return c.err }

// SendMSS returns the largest payload the connection sends in a segment.
func (c *Conn) SendMSS() int { return c.sendMSS }

// Passive reports whether the connection was opened by a listener.
func (c *Conn) Passive() bool { return c.passive }

// Connect performs an active OPEN (RFC 9293 §3.10.1): it chooses the ISN,
// sends a SYN and enters SYN_SENT.
func (c *Conn) Connect(now time.Time) error {
	if c.state != Closed {
		return ErrAlreadyOpen
	}
	c.initSend(now)
	c.setState(SynSent, now)
	c.sendSYN(now, false)
	return nil
}

// Listen performs a passive OPEN: the connection enters LISTEN and waits for
// a SYN (RFC 9293 §3.10.1).
func (c *Conn) Listen(now time.Time) error {
	if c.state != Closed {
		return ErrAlreadyOpen
	}
	c.passive = true
	c.setState(Listen, now)
	return nil
}

// AcceptSYN opens a connection that a listener spawned for the SYN seg: it
// is Listen followed by Input(seg), except that the LISTEN state itself is
// not reported as an event (it belongs to the listener).
func (c *Conn) AcceptSYN(seg *Segment, now time.Time) {
	c.passive = true
	c.state = Listen
	c.Input(seg, now)
}

// initSend chooses the ISN and sets up the send sequence space and buffers.
func (c *Conn) initSend(now time.Time) { c.initSequence(c.cfg.ISN(c.id, now)) }

// initSequence sets up the send sequence space from the ISS iss.
func (c *Conn) initSequence(iss Value) {
	c.iss = iss
	c.sndUna = c.iss
	c.sndNxt = c.iss
	c.sndMax = c.iss
	c.sndSml = c.iss
	c.bufSeq = c.iss + 1
	c.recoveryPoint = c.iss
	c.highRxt, c.lostEnd = c.iss, c.iss
	// RFC 7323 §7.1: an offset per pair of addresses keeps our clock from
	// leaking, and the timestamps of successive connections in order.
	c.tsOffset = c.cfg.TSOffset(c.id.Local.Addr(), c.id.Remote.Addr())
	if !c.cfg.NoWindowScaling {
		c.rcvWscale = windowShiftFor(max(c.cfg.MaxReceiveBufferSize, c.rcvBuf.Cap()))
	}
}

// windowShiftFor returns the smallest window scale (RFC 7323 §2.3, at most
// 14) that lets a window of size bytes be advertised.
func windowShiftFor(size int) uint8 {
	var s uint8
	for s < maxWindowShift && size > maxWindow<<s {
		s++
	}
	return s
}

// maxWindowShift is the largest window scale RFC 7323 §2.3 allows.
const maxWindowShift = 14

// Write queues as much of p as the send buffer has room for and sends what
// the window allows. It returns the number of bytes queued; 0 with a nil
// error means the buffer is full.
func (c *Conn) Write(p []byte, now time.Time) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if !c.state.canSend() || c.finQueued {
		return 0, ErrWriteClosed
	}
	n := c.sendBuf.Write(p)
	c.output(now)
	return n, nil
}

// Read moves received data into p. At the end of the peer's data (its FIN)
// it returns io.EOF; if the connection failed, its error. It returns 0 and a
// nil error when nothing has arrived yet.
func (c *Conn) Read(p []byte, now time.Time) (int, error) {
	if c.rcvBuf.Len() > 0 {
		n := c.rcvBuf.Read(p)
		if c.rcvBuf.Len() == 0 {
			c.drained(now)
		}
		// RFC 9293 §3.8.6.2.2 / RFC 1122 §4.2.3.3: tell the peer about the
		// space we freed once it is worth a segment (receiver-side SWS
		// avoidance), and at once when the window had closed.
		if c.state.synchronized() && c.windowUpdateWorthSending() {
			c.ackNow = true
			c.output(now)
		}
		return n, nil
	}
	switch {
	case c.finReceived:
		return 0, io.EOF
	case c.err != nil:
		return 0, c.err
	case c.state == Closed:
		return 0, io.EOF
	}
	return 0, nil
}

// Readable reports whether Read would return data, io.EOF or an error
// rather than nothing.
func (c *Conn) Readable() bool {
	return c.rcvBuf.Len() > 0 || c.finReceived || c.err != nil || c.state == Closed
}

// Writable reports whether Write would queue data or return an error rather
// than find the buffer full.
func (c *Conn) Writable() bool {
	return c.sendBuf.Free() > 0 || c.err != nil || !c.state.canSend() || c.finQueued
}

// Buffered returns the bytes queued for sending that the peer has not
// acknowledged yet.
func (c *Conn) Buffered() int { return c.sendBuf.Len() }

// Unread returns the bytes received that the application has not read.
func (c *Conn) Unread() int { return c.rcvBuf.Len() }

// CloseWrite closes the sending side (the CLOSE call of RFC 9293 §3.10.4, or
// shutdown(SHUT_WR)): a FIN follows the data already queued, and data from
// the peer can still be read.
func (c *Conn) CloseWrite(now time.Time) error {
	if c.finQueued {
		return nil
	}
	switch c.state {
	case Closed, Listen:
		return ErrNotConnected
	case SynSent:
		// RFC 9293 §3.10.4: nothing was sent that needs a FIN.
		c.setState(Closed, now)
		return nil
	case SynReceived:
		// The FIN waits until ESTABLISHED (RFC 9293 §3.10.4).
		c.finQueued = true
		return nil
	case Established:
		c.finQueued = true
		c.setState(FinWait1, now)
	case CloseWait:
		c.finQueued = true
		c.setState(LastAck, now)
	default:
		return nil
	}
	c.output(now)
	return nil
}

// Close closes the connection in both directions, as close(2) does. Data
// already queued is still delivered, followed by a FIN. If received data is
// still unread, or data arrives later, the connection is reset instead, to
// show that data was lost (RFC 1122 §4.2.2.13).
func (c *Conn) Close(now time.Time) error {
	c.readClosed = true
	if c.rcvBuf.Len() > 0 && c.state.synchronized() && c.state != TimeWait {
		// (In TIME_WAIT the exchange is over; the unread data is simply
		// dropped and TIME_WAIT runs its course.)
		c.Abort(now)
		return nil
	}
	switch c.state {
	case Closed:
		return nil
	case Listen, SynSent:
		c.setState(Closed, now)
		return nil
	case FinWait2:
		c.finWait2At = c.at(now).Add(c.cfg.FinWait2Timeout)
		return nil
	}
	return c.CloseWrite(now)
}

// Abort resets the connection (the ABORT call of RFC 9293 §3.10.5): in a
// synchronized state, or SYN_RCVD, a RST goes to the peer, and the
// connection is CLOSED at once. Data not yet sent is discarded.
func (c *Conn) Abort(now time.Time) { c.abort(now, nil) }

// abort is Abort, whose reset is an active one (see activeReset) if reply
// is nil, and otherwise reply: the reset with which Linux answers a
// segment that it resets the connection for.
func (c *Conn) abort(now time.Time, reply *Segment) {
	switch c.state {
	case SynReceived, Established, FinWait1, FinWait2, CloseWait:
		if reply == nil {
			c.activeReset(now)
		} else {
			c.transmit(c.scratch(*reply), now)
		}
	}
	c.readClosed = true
	c.discardSendBuffer()
	c.setState(Closed, now)
}

// activeReset sends the reset of a connection that gives up on its own
// (Abort, a keep-alive that gets no answer) as Linux's
// tcp_send_active_reset does: <SEQ=SND.MAX><ACK=RCV.NXT><CTL=RST,ACK>,
// with the window and the timestamps of any segment of the connection.
// SND.MAX, not SND.NXT: after a timeout SND.NXT has gone back, and a reset
// below the peer's RCV.NXT would be ignored.
func (c *Conn) activeReset(now time.Time) {
	seg := c.scratch(Segment{Seq: c.sndMax, Ack: c.rcvNxt, Flags: wire.FlagRST | wire.FlagACK})
	if c.tsOK {
		o := &seg.Options
		o.HasTimestamps, o.TSVal, o.TSEcr = true, c.tsNow(now), c.tsRecent
	}
	seg.Window = c.advertise(false)
	c.transmit(seg, now)
}

// discardSendBuffer drops data that will never be sent now.
func (c *Conn) discardSendBuffer() {
	c.sendBuf.Discard(c.sendBuf.Len())
}

// bufferIdle is how long a buffer stays empty before its memory goes back
// to the pool: long enough that a connection busy sending or receiving
// keeps its buffers from one drain to the next, rather than give them back
// and take them again (and grow them again) each time; short enough that
// an idle connection soon holds none.
const bufferIdle = time.Second

// drained notes that a buffer has just emptied: its memory goes back
// bufferIdle later if it is still empty then (releaseBuffers), or at once
// if the connection is over.
func (c *Conn) drained(now time.Time) {
	if c.state == Closed {
		c.releaseBuffers()
		return
	}
	c.releaseAt = c.at(now).Add(bufferIdle)
}

// releaseBuffers gives back the memory of the buffers that hold nothing:
// the send buffer, and the SACK scoreboard, once everything queued has
// been acknowledged (or discarded); the receive buffer, and the
// reassembly list, once the application has read everything and no
// out-of-order data is held. An idle connection holds none of them; data
// written or arriving later takes memory again.
func (c *Conn) releaseBuffers() {
	c.releaseAt = 0
	if c.sendBuf.Len() == 0 {
		c.sendBuf.Release()
		// The last segment sent may still point into the memory released.
		c.txSeg.Payload, c.txSeg.PayloadWrap = nil, nil
		if len(c.sb.ranges) == 0 {
			c.sb.ranges = nil
		}
	}
	if c.rcvBuf.Len() == 0 && c.ooo.empty() {
		c.rcvBuf.Release()
		c.ooo.ranges = nil
	}
}

// fail ends the connection with err.
func (c *Conn) fail(err error, now time.Time) {
	c.err = err
	if c.sink != nil {
		c.emit(&trace.Event{Time: now, Kind: trace.ConnError, Note: err.Error()})
	}
	c.discardSendBuffer()
	c.setState(Closed, now)
}

// setState moves the connection to s, reporting the change, and stops the
// timers that have no meaning in the new state.
func (c *Conn) setState(s State, now time.Time) {
	if s == c.state {
		return
	}
	from := c.state
	c.state = s
	switch s {
	case Closed, Listen:
		c.stopTimers()
		c.releaseBuffers()
	case TimeWait:
		c.stopTimers()
		c.releaseBuffers()
		c.timeWaitAt = c.at(now).Add(2 * c.cfg.MSL)
	case Established:
		c.lastRecvAt = c.at(now)
		if c.synTimeout && !c.rto.hasSample {
			// RFC 6298 §5.7: the handshake gave no RTT sample because a
			// SYN timed out, so data starts with an RTO of 3 s rather than
			// the backed-off handshake value (as Linux does,
			// TCP_TIMEOUT_FALLBACK).
			c.rto.rto = c.rto.clamp(synTimeoutRTO)
		}
		if c.synTimeout {
			// RFC 6928 §2: after a lost SYN or SYN-ACK, the initial
			// window is one segment.
			c.cc.OnSYNLoss()
		}
	}
	if c.sink != nil {
		c.emit(&trace.Event{Time: now, Kind: trace.StateChanged, From: from.String(), To: s.String()})
	}
}

func (c *Conn) stopTimers() {
	c.rtoAt, c.persistAt, c.timeWaitAt, c.finWait2At = 0, 0, 0, 0
	c.delackAt = 0
	c.tlpAt = 0
	c.releaseAt = 0
	c.rttTiming = false
}

// emit fills in the connection's endpoints and hands e to the sink.
func (c *Conn) emit(e *trace.Event) {
	e.Local, e.Remote = c.id.Local, c.id.Remote
	c.sink.Emit(e)
}

// ReopensFromTimeWait reports whether seg is a new SYN that may reopen this
// TIME_WAIT connection (TimeWaitEntry.Reopens): RFC 1122 §4.2.2.13 lets a host
// accept a SYN whose sequence number is beyond the old incarnation's
// (SEG.SEQ > RCV.NXT), RFC 6191 one whose timestamp is newer than
// TS.Recent. The caller then ends this connection and treats seg as a new
// one.
func (c *Conn) ReopensFromTimeWait(seg *Segment) bool {
	return c.state == TimeWait && reopens(seg, c.rcvNxt, c.tsOK, c.tsRecent)
}
