package cc

import (
	"fmt"
	"math"
	"time"
)

// Ack describes one acknowledgment that advanced the sender's state,
// outside loss recovery.
//
// SRTT is the RTT in CUBIC's look-ahead target W_cubic(t+RTT), which
// RFC 9438 §4.1.2 defines as the smoothed round-trip time. When it is zero
// CUBIC uses the ACK's RTT sample, and failing that keeps the RTT it used
// last (MinRTT if it has none).
type Ack struct {
	Now      time.Time
	Acked    int           // bytes newly acknowledged (cumulatively or by SACK)
	RTT      time.Duration // RTT sample this ACK gave, 0 if none
	MinRTT   time.Duration // smallest RTT seen on the connection, 0 if none yet
	SRTT     time.Duration // smoothed RTT of RFC 6298 §2, 0 if none yet
	InFlight int           // bytes in flight before this ACK
	SndUna   uint32        // SND.UNA after this ACK (for round tracking)
	SndNxt   uint32        // SND.NXT now, before sending anything this ACK allows

	// AppLimited reports that the sender had less data than cwnd allowed
	// (RFC 7661): cwnd does not grow beyond what was used. In slow start
	// it grows at most to InFlight; in congestion avoidance it does not
	// grow, and CUBIC's clock t stops (RFC 9438 §4.2, §5.8).
	AppLimited bool
}

// Controller is a congestion-control algorithm: it owns cwnd and ssthresh,
// both in bytes.
type Controller interface {
	// Name returns the algorithm's name as New accepts it.
	Name() string

	// Cwnd returns the congestion window: the sender may have up to
	// Cwnd bytes in flight. It is never less than one MSS.
	Cwnd() int

	// Ssthresh returns the slow-start threshold; InfiniteSsthresh until
	// the first congestion signal (or HyStart++) sets it.
	Ssthresh() int

	// SetMSS tells the controller the send MSS, after the handshake and
	// whenever path MTU discovery changes it. Before the first ACK it
	// rescales the initial window (RFC 6928 §2); later it keeps cwnd in
	// bytes but at least one segment. A non-positive mss is ignored.
	SetMSS(mss int)

	// OnSYNLoss reports that the SYN or SYN-ACK was retransmitted: the
	// initial window is then one segment (RFC 6928 §2, RFC 5681 §3.1).
	// It has no effect once data has been acknowledged.
	OnSYNLoss()

	// OnAck grows cwnd for one ACK outside loss recovery: slow start or
	// congestion avoidance. The Ack comes by value, so that the caller's
	// does not escape to the heap through the interface on every ACK.
	OnAck(a Ack)

	// OnCongestion reports a loss detected by duplicate ACKs, SACK or RACK:
	// the sender enters fast recovery. It sets ssthresh from inFlight, the
	// FlightSize of RFC 5681, and cwnd to ssthresh (RFC 5681 §3.2 step 2,
	// RFC 6675 §5 step 4.2, RFC 9438 §4.6). Call it once per recovery
	// episode.
	OnCongestion(now time.Time, inFlight int)

	// OnRecoveryExit reports that fast recovery ended with a full ACK
	// (RFC 6582 §3.2 step 3): cwnd = ssthresh.
	OnRecoveryExit(now time.Time)

	// OnRTO reports a retransmission timeout: ssthresh is set from
	// inFlight (RFC 5681 §3.1 equation (4); β_cubic for CUBIC, RFC 9438
	// §4.8) and cwnd to the loss window of one segment. A further timeout
	// with no OnAck in between (the retransmission timed out again) keeps
	// ssthresh (RFC 5681 §3.1).
	OnRTO(now time.Time, inFlight int)

	// OnIdle reports that the sender resumes sending after idle, a period
	// with nothing in flight. If idle exceeds rto, cwnd is cut to the
	// restart window min(IW, cwnd) (RFC 5681 §4.1). CUBIC also keeps the
	// idle period out of its elapsed time t (RFC 9438 §5.8).
	OnIdle(now time.Time, idle, rto time.Duration)

	// OnSpuriousCongestion reports that the loss behind the most recent
	// OnCongestion or OnRTO was spurious (detected by F-RTO, RFC 5682;
	// Eifel, RFC 3522; or DSACK, RFC 3708). The state saved before that
	// reduction is restored if cwnd is still below what it was then
	// (RFC 9438 §4.9). A second call, or a call with no reduction to undo,
	// does nothing.
	OnSpuriousCongestion(now time.Time)
}

// InfiniteSsthresh is the initial slow-start threshold, "arbitrarily high"
// (RFC 5681 §3.1). It is also the largest congestion window.
const InfiniteSsthresh = math.MaxInt32

// maxCwnd caps every window, so that int and float64 arithmetic on it
// cannot overflow.
const maxCwnd = InfiniteSsthresh

// defaultMSS is the send MSS assumed when none is given: the default of
// RFC 9293 §3.7.1 for IPv4.
const defaultMSS = 536

// InitialWindow returns the initial congestion window for the given send
// MSS, min(10*MSS, max(2*MSS, 14600)) bytes (RFC 6928 §2).
func InitialWindow(mss int) int {
	return min(10*mss, max(2*mss, 14600))
}

// New returns the controller called name: "cubic" (also for the empty
// name) or "reno" (also "newreno"), with send MSS mss.
func New(name string, mss int) (Controller, error) {
	switch name {
	case "", "cubic":
		return NewCubic(mss), nil
	case "reno", "newreno":
		return NewReno(mss), nil
	}
	return nil, fmt.Errorf("cc: unknown congestion control %q (known: cubic, reno, newreno)", name)
}

// validMSS returns mss, or defaultMSS if mss is not positive.
func validMSS(mss int) int {
	if mss <= 0 {
		return defaultMSS
	}
	return mss
}

// seqGT reports whether sequence number a is after b (RFC 9293 §3.4,
// modulo 2^32).
func seqGT(a, b uint32) bool { return int32(a-b) > 0 }

// abcIncrease is the slow-start increase for an ACK of acked bytes:
// Appropriate Byte Counting (RFC 3465 §2.2) with L = 2*SMSS, or L = 1*SMSS
// in the slow start that follows a retransmission timeout (RFC 3465 §2.3).
// With L = 1*SMSS this is RFC 5681 §3.1 equation (2).
func abcIncrease(acked, mss int, afterRTO bool) int {
	l := 2 * mss
	if afterRTO {
		l = mss
	}
	return min(acked, l)
}

// growthLimit is the largest cwnd an ACK may grow cwnd to: unlimited
// normally, what was in use when the sender was application-limited
// (RFC 7661). It never asks cwnd to shrink.
func growthLimit(a *Ack, cwnd int) int {
	if !a.AppLimited {
		return maxCwnd
	}
	return max(cwnd, a.InFlight)
}
