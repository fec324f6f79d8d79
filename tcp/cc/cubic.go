package cc

import (
	"math"
	"time"
)

// The constants of CUBIC (RFC 9438 §4.1.1 and §4.3).
const (
	cubicC     = 0.4                                   // C, in segments/second³
	betaCubic  = 0.7                                   // β_cubic, the multiplicative decrease factor
	alphaCubic = 3 * (1 - betaCubic) / (1 + betaCubic) // α_cubic of the Reno-friendly region, ≈ 0.529
)

// Cubic is CUBIC congestion control (RFC 9438), with HyStart++ (RFC 9406)
// in the initial slow start.
//
// Windows are kept in bytes as float64, so that the per-ACK increments of
// RFC 9438, fractions of a segment, accumulate; the formulas of the RFC,
// which count segments, are scaled by the MSS. Time t is measured in the
// time passed to the methods.
//
// The zero value is not usable; create one with NewCubic.
type Cubic struct {
	// FastConvergence enables the fast convergence heuristic of RFC 9438
	// §4.7, which releases bandwidth to new flows by remembering a lower
	// W_max when a congestion event comes before cwnd regained the last
	// one. NewCubic enables it; §4.7 says a sender that knows it is the
	// only flow on its path SHOULD disable it.
	FastConvergence bool

	mss     int
	rtt     time.Duration // the RTT in W_cubic(t+RTT): Ack.SRTT, else the latest sample
	synLost bool          // OnSYNLoss: the initial window is one segment
	started bool          // an ACK or a congestion signal has been seen

	// accounted is the time up to which the current congestion
	// avoidance stage's t has been accounted for: t advances only over
	// time that is neither idle nor application-limited (§4.2, §5.8).
	accounted time.Time

	s       cubicState
	undo    *cubicState // the state before the last reduction (§4.9.2); made at the first
	canUndo bool
}

// cubicState is the state a congestion event changes, which
// OnSpuriousCongestion restores (RFC 9438 §4.9.2 lists cwnd, cwnd_prior,
// ssthresh, W_max, K, t_epoch and W_est; the HyStart++ state goes with
// them, so that undoing a spurious loss in the initial slow start resumes
// HyStart++).
type cubicState struct {
	cwnd     float64 // bytes
	ssthresh int     // bytes

	// The variables of RFC 9438 §4.1.2, windows in bytes.
	cwndPrior  float64   // cwnd_prior: cwnd when ssthresh was last set
	wMax       float64   // W_max; 0 while undefined (before any congestion)
	k          float64   // K, seconds
	epochStart time.Time // t_epoch
	inEpoch    bool      // a congestion avoidance stage has started
	cwndEpoch  float64   // cwnd_epoch
	wEst       float64   // W_est

	afterRTO bool // the next slow start / CA stage is the first after a timeout
	inRTO    bool // OnRTO seen and no OnAck since: ssthresh is held

	inRecovery bool // between OnCongestion and OnRecoveryExit

	hs hystart
}

// NewCubic returns a CUBIC controller for send MSS mss (536 if mss is not
// positive), with the initial window of RFC 6928, an arbitrarily high
// ssthresh (RFC 5681 §3.1), HyStart++ armed and fast convergence enabled.
func NewCubic(mss int) *Cubic {
	mss = validMSS(mss)
	return &Cubic{
		FastConvergence: true,
		mss:             mss,
		s: cubicState{
			cwnd:     float64(InitialWindow(mss)),
			ssthresh: InfiniteSsthresh,
			hs:       newHystart(),
		},
	}
}

// Name returns "cubic".
func (c *Cubic) Name() string { return "cubic" }

// Cwnd returns the congestion window in bytes.
func (c *Cubic) Cwnd() int { return int(c.s.cwnd) }

// Ssthresh returns the slow-start threshold in bytes.
func (c *Cubic) Ssthresh() int { return c.s.ssthresh }

// SetMSS sets the send MSS. Before the first ACK it rescales the initial
// window (RFC 6928 §2); later cwnd keeps its size in bytes, but at least
// one segment, a finite ssthresh at least two, and the congestion
// avoidance stage restarts so that the cubic curve is recomputed in the
// new segment size.
func (c *Cubic) SetMSS(mss int) {
	if mss <= 0 || mss == c.mss {
		return
	}
	c.mss = mss
	if !c.started {
		c.s.cwnd = float64(c.initialWindow())
		return
	}
	c.s.cwnd = max(c.s.cwnd, float64(mss))
	if c.s.ssthresh != InfiniteSsthresh {
		c.s.ssthresh = max(c.s.ssthresh, 2*mss)
	}
	c.s.inEpoch = false
}

// OnSYNLoss makes the initial window one segment (RFC 6928 §2, RFC 5681
// §3.1), if no data has been acknowledged yet.
func (c *Cubic) OnSYNLoss() {
	c.synLost = true
	if !c.started {
		c.s.cwnd = float64(c.initialWindow())
	}
}

func (c *Cubic) initialWindow() int {
	if c.synLost {
		return c.mss
	}
	return InitialWindow(c.mss)
}

// OnAck grows cwnd for one ACK. In the initial slow start it runs
// HyStart++ (RFC 9406); later slow starts are those of RFC 5681 §3.1 with
// RFC 3465 byte counting. In congestion avoidance cwnd follows the larger
// of the cubic function W_cubic and the Reno estimate W_est (RFC 9438
// §4.2–§4.5). An application-limited ACK grows cwnd at most to what was in
// flight in slow start; in congestion avoidance it neither grows cwnd nor
// advances t (RFC 9438 §5.8).
func (c *Cubic) OnAck(ack Ack) {
	a := &ack
	c.started = true
	c.s.inRTO = false
	switch {
	case a.SRTT > 0:
		c.rtt = a.SRTT
	case a.RTT > 0:
		c.rtt = a.RTT
	case a.MinRTT > 0 && c.rtt == 0:
		c.rtt = a.MinRTT
	}
	if a.Acked > 0 {
		if c.s.cwnd >= float64(c.s.ssthresh) || !c.slowStart(a) {
			c.congestionAvoidance(a)
		}
	}
	c.accounted = a.Now
}

// slowStart grows cwnd for an ACK in slow start. It reports false if,
// instead, HyStart++ ended slow start at this ACK, which then belongs to
// congestion avoidance.
func (c *Cubic) slowStart(a *Ack) bool {
	s := &c.s
	limit := float64(growthLimit(a, int(s.cwnd)))
	if !s.hs.active() {
		// RFC 9438 §4.10 and RFC 9406 §4.3: slow starts after the first
		// are RFC 5681's, up to ssthresh.
		inc := float64(abcIncrease(a.Acked, c.mss, s.afterRTO))
		s.cwnd = max(s.cwnd, min(s.cwnd+inc, float64(s.ssthresh), limit))
		return true
	}
	if s.hs.beginAck(a.SndUna, a.SndNxt) {
		// RFC 9406 §4.2: CSS_ROUNDS rounds of CSS are complete; enter
		// congestion avoidance with ssthresh = cwnd. RFC 9438 §4.10:
		// cwnd_prior = cwnd, and W_max is undefined, so the first stage
		// has K = 0 and W_max = cwnd_epoch.
		s.ssthresh = int(s.cwnd)
		s.cwndPrior = s.cwnd
		s.wMax = 0
		s.inEpoch = false
		return false
	}
	s.cwnd = max(s.cwnd, min(s.cwnd+s.hs.increase(a.Acked, c.mss), limit))
	s.hs.endAck(a.RTT)
	return true
}

// congestionAvoidance grows cwnd for an ACK in congestion avoidance
// (RFC 9438 §4.2–§4.5).
func (c *Cubic) congestionAvoidance(a *Ack) {
	s := &c.s
	if !s.inEpoch {
		c.startEpoch(a.Now)
	} else if a.AppLimited {
		// §4.2: t MUST NOT include application-limited periods.
		c.exclude(a.Now.Sub(c.accounted))
	}
	if a.AppLimited {
		return // §5.8: no increase while application-limited
	}
	mss := float64(c.mss)
	acked := float64(a.Acked)
	t := a.Now.Sub(s.epochStart).Seconds()

	// §4.3: W_est += α_cubic * segments_acked / cwnd, with α_cubic = 1
	// once W_est has reached cwnd_prior. In bytes, segments_acked/cwnd
	// becomes acked/cwnd and the increment is scaled by the MSS.
	alpha := alphaCubic
	if s.wEst >= s.cwndPrior {
		alpha = 1
	}
	s.wEst += alpha * mss * acked / s.cwnd

	if c.wCubic(t) < s.wEst {
		// §4.3: the Reno-friendly region; cwnd = W_est. (cwnd may be a
		// little above W_cubic(t), having aimed at W_cubic(t+RTT); it is
		// not lowered on an ACK.)
		s.cwnd = max(s.cwnd, s.wEst)
	} else {
		// §4.4 (concave, cwnd < W_max) and §4.5 (convex): cwnd grows by
		// (target - cwnd)/cwnd per acknowledged segment, where §4.2
		// bounds target = W_cubic(t+RTT) to [cwnd, 1.5*cwnd].
		target := min(max(c.wCubic(t+c.rtt.Seconds()), s.cwnd), 1.5*s.cwnd)
		s.cwnd += (target - s.cwnd) * acked / s.cwnd
	}
	s.cwnd = min(s.cwnd, maxCwnd)
}

// startEpoch begins a congestion avoidance stage at now (RFC 9438 §4.2):
// t_epoch = now, cwnd_epoch = cwnd, W_est = cwnd_epoch (§4.3), and K from
// equation (2). After a timeout (§4.8), and when W_max is undefined
// because HyStart++ ended slow start without a loss (§4.10), K = 0 and
// W_max = cwnd_epoch. So too when cwnd_epoch is already at or above W_max
// (after an idle restart, say): equation (2) would give K <= 0, a plateau
// in the past and a curve that starts out steep, so CUBIC probes from
// cwnd_epoch instead, as Linux does.
func (c *Cubic) startEpoch(now time.Time) {
	s := &c.s
	s.inEpoch = true
	s.epochStart = now
	s.cwndEpoch = s.cwnd
	s.wEst = s.cwnd
	if s.afterRTO || s.wMax <= s.cwnd {
		s.k = 0
		s.wMax = s.cwnd
	} else {
		s.k = cubicK(s.wMax, s.cwndEpoch, float64(c.mss))
	}
	s.afterRTO = false
}

// beta returns n*β_cubic bytes, rounded down. It computes in integers, as
// 7/10, so that whole byte counts give exact results.
func beta(n int) int {
	return int(int64(n) * 7 / 10)
}

// cubicK is equation (2) of RFC 9438 §4.2, K = ∛((W_max − cwnd_epoch)/C)
// seconds, for windows in bytes of the given MSS.
func cubicK(wMax, cwndEpoch, mss float64) float64 {
	return math.Cbrt((wMax - cwndEpoch) / (cubicC * mss))
}

// wCubic is equation (1) of RFC 9438 §4.2, W_cubic(t) = C*(t−K)³ + W_max,
// in bytes, for t seconds into the congestion avoidance stage.
func (c *Cubic) wCubic(t float64) float64 {
	d := t - c.s.k
	return cubicC*float64(c.mss)*d*d*d + c.s.wMax
}

// exclude moves t_epoch forward by d, so that t does not count a period of
// length d that was idle or application-limited (RFC 9438 §4.2, §5.8).
func (c *Cubic) exclude(d time.Duration) {
	if d > 0 {
		c.s.epochStart = c.s.epochStart.Add(d)
	}
}

// OnCongestion enters fast recovery (RFC 9438 §4.6, with fast convergence,
// §4.7): W_max = cwnd, or cwnd*(1+β_cubic)/2 if cwnd is below the last
// W_max and fast convergence is on; ssthresh = max(FlightSize*β_cubic,
// 2*SMSS); cwnd_prior = cwnd; cwnd = max(FlightSize*β_cubic, 2*SMSS). The
// next congestion avoidance stage starts at the first ACK after recovery.
// A loss also ends HyStart++ (RFC 9406 §4.2).
func (c *Cubic) OnCongestion(now time.Time, inFlight int) {
	c.started = true
	c.save()
	s := &c.s
	if c.FastConvergence && s.cwnd < s.wMax {
		s.wMax = s.cwnd * (1 + betaCubic) / 2
	} else {
		s.wMax = s.cwnd
	}
	reduced := max(beta(inFlight), 2*c.mss)
	s.cwndPrior = s.cwnd
	s.cwnd = float64(reduced)
	s.ssthresh = reduced
	s.inEpoch = false
	s.afterRTO = false
	s.inRecovery = true
	s.hs.stop()
}

// OnRecoveryExit ends fast recovery: cwnd = ssthresh (RFC 6582 §3.2 step
// 3). Congestion avoidance, and its epoch, start at the next ACK. Outside
// recovery (none was entered, or OnRTO or OnSpuriousCongestion ended it)
// it does nothing.
func (c *Cubic) OnRecoveryExit(now time.Time) {
	if !c.s.inRecovery {
		return
	}
	c.s.inRecovery = false
	c.s.cwnd = float64(c.s.ssthresh)
	c.s.inEpoch = false
}

// OnRTO handles a retransmission timeout (RFC 9438 §4.8): ssthresh =
// max(FlightSize*β_cubic, 2*SMSS) as in §4.6, held if the retransmission
// itself timed out (RFC 5681 §3.1), cwnd_prior = cwnd, and cwnd = one SMSS
// (RFC 5681 §3.1). Slow start follows, and the first congestion avoidance
// stage after it has K = 0 and W_max = cwnd_epoch (§4.8).
func (c *Cubic) OnRTO(now time.Time, inFlight int) {
	c.started = true
	s := &c.s
	if !s.inRTO {
		c.save()
		s.cwndPrior = s.cwnd
		s.ssthresh = max(beta(inFlight), 2*c.mss)
		s.inRTO = true
	}
	s.cwnd = float64(c.mss)
	s.inEpoch = false
	s.afterRTO = true
	s.inRecovery = false
	s.hs.stop()
}

// OnIdle handles the restart after idle. If idle exceeds rto, cwnd =
// min(IW, cwnd) (RFC 5681 §4.1) and the congestion avoidance stage
// restarts, with K recomputed from W_max at the next one (RFC 9438 §5.8:
// t must not count the idle period). A shorter idle period is simply left
// out of t.
func (c *Cubic) OnIdle(now time.Time, idle, rto time.Duration) {
	if idle > rto {
		c.s.cwnd = min(c.s.cwnd, float64(InitialWindow(c.mss)))
		c.s.inEpoch = false
	} else if c.s.inEpoch {
		c.exclude(min(idle, now.Sub(c.s.epochStart)))
	}
	c.accounted = now
}

// OnSpuriousCongestion undoes the last OnCongestion or OnRTO (RFC 9438
// §4.9.2): if cwnd is below cwnd_prior, cwnd, cwnd_prior, ssthresh, W_max,
// K, t_epoch and W_est (and HyStart++) return to their values before the
// reduction.
func (c *Cubic) OnSpuriousCongestion(now time.Time) {
	if !c.canUndo {
		return
	}
	c.canUndo = false
	if c.s.cwnd >= c.s.cwndPrior {
		return // §4.9.2: keep the current values
	}
	c.s = *c.undo
	c.s.inRTO = false
}

// save records the state OnSpuriousCongestion would restore (§4.9.2).
func (c *Cubic) save() {
	if c.undo == nil {
		// Only a connection that has seen congestion needs room for
		// it: an idle or lightly used one is smaller without.
		c.undo = new(cubicState)
	}
	*c.undo = c.s
	c.canUndo = true
}
