package cc

import "time"

// Reno is the standard congestion control of RFC 5681, with the recovery
// exit of NewReno (RFC 6582): slow start with Appropriate Byte Counting
// (RFC 3465, L = 2*SMSS), congestion avoidance by byte counting, and
// ssthresh = max(FlightSize/2, 2*SMSS) on every congestion signal.
//
// The zero value is not usable; create one with NewReno.
type Reno struct {
	mss      int
	cwnd     int
	ssthresh int

	bytesAcked int  // RFC 3465 §2.1 byte counter for congestion avoidance
	started    bool // an ACK or a congestion signal has been seen
	synLost    bool // OnSYNLoss: the initial window is one segment
	afterRTO   bool // in the slow start that follows a timeout
	inRTO      bool // OnRTO seen and no OnAck since: ssthresh is held
	inRecovery bool // between OnCongestion and OnRecoveryExit

	undo    renoState // the state before the last reduction
	canUndo bool
}

// renoState is what OnSpuriousCongestion restores.
type renoState struct {
	cwnd, ssthresh int
}

// NewReno returns a Reno controller for send MSS mss (536 if mss is not
// positive), with the initial window of RFC 6928 and an arbitrarily high
// ssthresh (RFC 5681 §3.1).
func NewReno(mss int) *Reno {
	mss = validMSS(mss)
	return &Reno{mss: mss, cwnd: InitialWindow(mss), ssthresh: InfiniteSsthresh}
}

// Name returns "reno".
func (r *Reno) Name() string { return "reno" }

// Cwnd returns the congestion window in bytes.
func (r *Reno) Cwnd() int { return r.cwnd }

// Ssthresh returns the slow-start threshold in bytes.
func (r *Reno) Ssthresh() int { return r.ssthresh }

// SetMSS sets the send MSS. Before the first ACK it rescales the initial
// window (RFC 6928 §2); later cwnd keeps its size in bytes, but at least
// one segment, and a finite ssthresh at least two (RFC 5681 §3.1).
func (r *Reno) SetMSS(mss int) {
	if mss <= 0 || mss == r.mss {
		return
	}
	r.mss = mss
	if !r.started {
		r.cwnd = r.initialWindow()
		return
	}
	r.cwnd = max(r.cwnd, mss)
	if r.ssthresh != InfiniteSsthresh {
		r.ssthresh = max(r.ssthresh, 2*mss)
	}
}

// OnSYNLoss makes the initial window one segment (RFC 6928 §2, RFC 5681
// §3.1), if no data has been acknowledged yet.
func (r *Reno) OnSYNLoss() {
	r.synLost = true
	if !r.started {
		r.cwnd = r.initialWindow()
	}
}

func (r *Reno) initialWindow() int {
	if r.synLost {
		return r.mss
	}
	return InitialWindow(r.mss)
}

// OnAck grows cwnd for one ACK: by min(acked, L) in slow start, where L is
// 2*SMSS, or 1*SMSS after a timeout (RFC 5681 §3.1, RFC 3465 §2.2 and
// §2.3), and by one SMSS per cwnd bytes acknowledged in congestion
// avoidance (RFC 5681 §3.1 byte counting, RFC 3465 §2.1). Slow start stops
// at ssthresh. An application-limited ACK grows cwnd at most to what was
// in flight in slow start, and not at all in congestion avoidance
// (RFC 7661).
func (r *Reno) OnAck(ack Ack) {
	a := &ack
	r.started = true
	r.inRTO = false
	if a.Acked <= 0 {
		return
	}
	limit := growthLimit(a, r.cwnd)
	if r.cwnd < r.ssthresh {
		// RFC 5681 §3.1: slow start while cwnd < ssthresh.
		r.cwnd = min(r.cwnd+abcIncrease(a.Acked, r.mss, r.afterRTO), r.ssthresh, limit)
		return
	}
	r.afterRTO = false
	if a.AppLimited {
		return // RFC 7661: cwnd was not used, so it is not validated
	}
	// RFC 3465 §2.1: when bytes_acked reaches cwnd, subtract cwnd from it
	// and add one SMSS to cwnd (at most one SMSS per RTT, RFC 5681 §3.1).
	r.bytesAcked += a.Acked
	if r.bytesAcked >= r.cwnd {
		r.bytesAcked -= r.cwnd
		r.cwnd = min(r.cwnd+r.mss, maxCwnd)
	}
}

// OnCongestion enters fast recovery: ssthresh = max(FlightSize/2, 2*SMSS)
// (RFC 5681 §3.2 step 2, equation (4)) and cwnd = ssthresh (RFC 6675 §5
// step 4.2). The three-segment inflation of RFC 5681 §3.2 step 3, if the
// engine uses it, belongs to its recovery, which ends with OnRecoveryExit.
func (r *Reno) OnCongestion(now time.Time, inFlight int) {
	r.started = true
	r.save()
	r.ssthresh = r.halve(inFlight)
	r.cwnd = r.ssthresh
	r.bytesAcked = 0
	r.afterRTO = false
	r.inRecovery = true
}

// OnRecoveryExit ends fast recovery: cwnd = ssthresh (RFC 6582 §3.2 step
// 3, option 2; RFC 5681 §3.2 step 6). Outside recovery (none was entered,
// or OnRTO or OnSpuriousCongestion ended it) it does nothing.
func (r *Reno) OnRecoveryExit(now time.Time) {
	if !r.inRecovery {
		return
	}
	r.inRecovery = false
	r.cwnd = r.ssthresh
	r.bytesAcked = 0
}

// OnRTO handles a retransmission timeout: ssthresh = max(FlightSize/2,
// 2*SMSS) (RFC 5681 §3.1 equation (4)), held if the retransmission itself
// timed out, and cwnd = LW, one SMSS. Slow start follows.
func (r *Reno) OnRTO(now time.Time, inFlight int) {
	r.started = true
	if !r.inRTO {
		r.save()
		r.ssthresh = r.halve(inFlight)
		r.inRTO = true
	}
	r.cwnd = r.mss
	r.bytesAcked = 0
	r.afterRTO = true
	r.inRecovery = false
}

// halve is RFC 5681 §3.1 equation (4): max(FlightSize/2, 2*SMSS).
func (r *Reno) halve(flightSize int) int {
	return max(flightSize/2, 2*r.mss)
}

// OnIdle applies the restart window after an idle period longer than the
// RTO: cwnd = min(IW, cwnd) (RFC 5681 §4.1).
func (r *Reno) OnIdle(now time.Time, idle, rto time.Duration) {
	if idle <= rto {
		return
	}
	r.cwnd = min(r.cwnd, InitialWindow(r.mss))
	r.bytesAcked = 0
}

// OnSpuriousCongestion restores cwnd and ssthresh as they were before the
// last OnCongestion or OnRTO, if cwnd is still below its value then: the
// response RFC 9438 §4.9.2 gives for CUBIC, applied to Reno's variables.
func (r *Reno) OnSpuriousCongestion(now time.Time) {
	if !r.canUndo {
		return
	}
	r.canUndo = false
	if r.cwnd >= r.undo.cwnd {
		return
	}
	r.cwnd = r.undo.cwnd
	r.ssthresh = r.undo.ssthresh
	r.bytesAcked = 0
	r.afterRTO = false
	r.inRTO = false
	r.inRecovery = false
}

// save records the state OnSpuriousCongestion would restore.
func (r *Reno) save() {
	r.undo = renoState{cwnd: r.cwnd, ssthresh: r.ssthresh}
	r.canUndo = true
}
