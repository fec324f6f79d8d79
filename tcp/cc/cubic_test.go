package cc

import (
	"math"
	"testing"
	"time"
)

// TestCubicConstants checks the constants of RFC 9438 §4.1.1 and §4.3, and
// that the integer β of the ssthresh computation is the same 0.7.
func TestCubicConstants(t *testing.T) {
	if cubicC != 0.4 || betaCubic != 0.7 {
		t.Errorf("C = %v, β_cubic = %v; want 0.4, 0.7", cubicC, betaCubic)
	}
	if !near(alphaCubic, 0.9/1.7, 1e-15) { // 3*(1-0.7)/(1+0.7)
		t.Errorf("α_cubic = %v, want 0.529411…", alphaCubic)
	}
	if got := beta(1_000_000); got != 700_000 {
		t.Errorf("beta(1e6) = %d, want 700000", got)
	}
}

// TestCubicK checks equation (2) of RFC 9438 §4.2 against hand-computed
// values: K = ∛((W_max − cwnd_epoch)/C).
func TestCubicK(t *testing.T) {
	tests := []struct {
		wMax, cwndEpoch float64 // segments
		want            float64 // seconds
	}{
		{100, 70, 4.217163326508746},   // ∛75, a reduction by β_cubic
		{1000, 700, 9.085602964160698}, // ∛750
		{10, 7, 1.9574338205844317},    // ∛7.5
		{85, 70, 3.3471647504108475},   // ∛37.5, W_max lowered by fast convergence
		{100, 100, 0},
	}
	for _, mss := range []float64{536, 1460} {
		for _, tt := range tests {
			if got := cubicK(tt.wMax*mss, tt.cwndEpoch*mss, mss); !near(got, tt.want, 1e-12) {
				t.Errorf("MSS %v: K(W_max %v, cwnd_epoch %v) = %v, want %v", mss, tt.wMax, tt.cwndEpoch, got, tt.want)
			}
		}
	}
}

// TestCubicWindowFunction checks equation (1) of RFC 9438 §4.2,
// W_cubic(t) = C*(t−K)³ + W_max, for W_max = 100 and K = ∛75, against
// hand-computed values in the concave (t < K) and convex (t > K) regions.
func TestCubicWindowFunction(t *testing.T) {
	const mss = 1460
	c := NewCubic(mss)
	c.s.wMax = 100 * mss
	c.s.k = math.Cbrt(75)
	tests := []struct {
		t, want float64 // seconds, segments
	}{
		{0, 70}, // cwnd_epoch = β_cubic*W_max
		{1, 86.68076383512988},
		{2, 95.64033568663878},
		{4, 99.99590343879358},
		{math.Cbrt(75), 100}, // K: back at W_max
		{6, 102.26670325646442},
		{8, 121.65273513965131},
	}
	for _, tt := range tests {
		if got := segs(c.wCubic(tt.t), mss); !near(got, tt.want, 1e-9) {
			t.Errorf("W_cubic(%v) = %v segments, want %v", tt.t, got, tt.want)
		}
	}
}

// cubicInCA returns a CUBIC controller in congestion avoidance, MSS 1000,
// after a loss at W_max = 100 segments: K = ∛75, cwnd_prior = 100, the
// epoch started at t0, with the given cwnd and W_est (in segments).
func cubicInCA(cwnd, wEst float64) *Cubic {
	const mss = 1000
	c := NewCubic(mss)
	c.started = true
	c.accounted = t0
	c.s = cubicState{
		cwnd:       cwnd * mss,
		ssthresh:   int(cwnd * mss),
		cwndPrior:  100 * mss,
		wMax:       100 * mss,
		k:          math.Cbrt(75),
		epochStart: t0,
		inEpoch:    true,
		cwndEpoch:  70 * mss,
		wEst:       wEst * mss,
	}
	return c
}

// TestCubicAckIncrease checks the change one ACK makes in congestion
// avoidance, against hand-computed values: the concave and convex regions
// (cwnd += (target − cwnd)/cwnd per segment acknowledged, RFC 9438 §4.4,
// §4.5), the bounds on target (§4.2), and the Reno-friendly region (§4.3),
// including α_cubic = 1 once W_est has reached cwnd_prior. W_max = 100,
// K = ∛75, SRTT 100 ms.
func TestCubicAckIncrease(t *testing.T) {
	tests := []struct {
		name       string
		cwnd, wEst float64 // segments
		t          float64 // seconds since t_epoch
		acked      int     // segments
		want       float64 // cwnd after, segments
		wantWEst   float64
	}{
		// target = W_cubic(2.1) = 96.2040273126905
		{"concave", 70, 70, 2, 1, 70.37434324732415, 70 + alphaCubic/70},
		{"concave, delayed ACK", 70, 70, 2, 2, 70.7486864946483, 70 + 2*alphaCubic/70},
		// W_cubic(2.1) < cwnd: target = cwnd
		{"target below cwnd", 99, 70, 2, 1, 99, 70 + alphaCubic/99},
		// W_cubic(0.1) = 72.08 > 1.5*cwnd: target = 15
		{"target capped at 1.5 cwnd", 10, 10, 0, 1, 10.5, 10 + alphaCubic/10},
		// target = W_cubic(6.1) = 102.66991808906776
		{"convex", 102, 70, 6, 1, 102.00656782440262, 70 + alphaCubic/102},
		// W_cubic(2) = 95.64 < W_est = 96 + α/80: cwnd = W_est
		{"Reno-friendly", 80, 96, 2, 1, 96.00661764705882, 96.00661764705882},
		// W_est ≥ cwnd_prior = 100: α_cubic = 1; W_cubic(4) = 99.996
		{"Reno-friendly, α = 1", 120, 120, 4, 1, 120.00833333333334, 120.00833333333334},
	}
	for _, tt := range tests {
		c := cubicInCA(tt.cwnd, tt.wEst)
		now := t0.Add(time.Duration(tt.t * float64(time.Second)))
		c.OnAck(Ack{Now: now, Acked: tt.acked * 1000, RTT: 100 * time.Millisecond, SRTT: 100 * time.Millisecond,
			InFlight: int(tt.cwnd * 1000)})
		if got := segs(c.s.cwnd, 1000); !near(got, tt.want, 1e-9) {
			t.Errorf("%s: cwnd = %v segments, want %v", tt.name, got, tt.want)
		}
		if got := segs(c.s.wEst, 1000); !near(got, tt.wantWEst, 1e-9) {
			t.Errorf("%s: W_est = %v segments, want %v", tt.name, got, tt.wantWEst)
		}
	}
}

// cubicAfterLoss returns a CUBIC controller and a flow that has just come
// out of a one-RTT recovery from a loss at cwnd = wMax segments.
func cubicAfterLoss(mss int, wMax float64, rtt time.Duration) (*Cubic, *flow) {
	c := NewCubic(mss)
	c.started = true
	c.s.cwnd = wMax * float64(mss) // as if slow start had reached it
	f := newFlow(c, mss)
	f.recover(rtt)
	return c, f
}

// TestCubicWindowOverTime runs a cwnd-limited flow through congestion
// avoidance after a loss at W_max = 1000 segments (K = ∛750 = 9.0856 s)
// with an RTT of 100 ms, and checks that cwnd follows W_cubic(t) in the
// concave and convex regions, against hand-computed values.
func TestCubicWindowOverTime(t *testing.T) {
	const mss = 1460
	const rtt = 100 * time.Millisecond
	tests := []struct {
		t, want float64 // seconds since the epoch, segments
	}{
		{2, 857.705},
		{4, 947.388},
		{6, 988.249},
		{9.0856, 1000},
		{12, 1009.902},
		{14, 1047.476},
	}
	c, f := cubicAfterLoss(mss, 1000, rtt)
	next := 0
	f.observe = func(a *Ack) {
		if next == len(tests) {
			return
		}
		tt := tests[next]
		if elapsed := a.Now.Sub(c.s.epochStart).Seconds(); elapsed >= tt.t {
			next++
			got := segs(c.s.cwnd, mss)
			t.Logf("t = %.4f s: cwnd %.3f, W_cubic(t) %.3f", elapsed, got, tt.want)
			if !near(got, tt.want, 0.25) {
				t.Errorf("t = %.4f s: cwnd = %.3f segments, want W_cubic(t) = %.3f", elapsed, got, tt.want)
			}
		}
	}
	for next < len(tests) {
		f.round(rtt)
	}
	if got := segs(c.s.wMax, mss); got != 1000 {
		t.Errorf("W_max = %v segments, want 1000", got)
	}
}

// TestCubicRenoFriendly checks RFC 9438 §4.3: at a small RTT CUBIC grows
// as fast as Reno would, W_est taking over from W_cubic; at a large RTT
// the cubic function dominates. After a loss at W_max = 100 segments,
// W_est grows by α_cubic = 0.53 segments per RTT from 70 up to
// cwnd_prior = 100 (56.7 rounds), then by 1 per RTT: after 200 rounds it
// is 100 + 143.3 = 243.3 segments. At 1 ms per round that is t = 0.2 s,
// where W_cubic is only 74.07; at 100 ms per round t = 20 s and W_cubic =
// 1672.3.
func TestCubicRenoFriendly(t *testing.T) {
	const mss = 1460
	tests := []struct {
		rtt        time.Duration
		want       float64 // cwnd after 200 rounds, segments
		tol        float64
		renoRegion bool
	}{
		{time.Millisecond, 243.3, 2, true},
		{100 * time.Millisecond, 1672.3, 1, false},
	}
	for _, tt := range tests {
		c, f := cubicAfterLoss(mss, 100, tt.rtt)
		for range 200 {
			f.round(tt.rtt)
		}
		elapsed := f.now.Sub(c.s.epochStart).Seconds()
		cwnd, wEst, wCubic := segs(c.s.cwnd, mss), segs(c.s.wEst, mss), segs(c.wCubic(elapsed), mss)
		t.Logf("RTT %v: t = %.3f s: cwnd %.2f, W_est %.2f, W_cubic(t) %.2f", tt.rtt, elapsed, cwnd, wEst, wCubic)
		if !near(cwnd, tt.want, tt.tol) {
			t.Errorf("RTT %v: cwnd = %.1f segments after 200 rounds, want %.1f", tt.rtt, cwnd, tt.want)
		}
		if inReno := wCubic < wEst; inReno != tt.renoRegion {
			t.Errorf("RTT %v: W_cubic(t) = %.1f, W_est = %.1f: Reno-friendly region %v, want %v",
				tt.rtt, wCubic, wEst, inReno, tt.renoRegion)
		}
		if tt.renoRegion {
			// Reno's rate: one segment per round.
			before := c.s.cwnd
			f.round(tt.rtt)
			if grew := segs(c.s.cwnd-before, mss); !near(grew, 1, 0.02) {
				t.Errorf("RTT %v: cwnd grew by %.3f segments in a round, want 1", tt.rtt, grew)
			}
		}
	}
}

// TestCubicCongestion checks the response to a congestion event
// (RFC 9438 §4.6) with fast convergence (§4.7): W_max, cwnd_prior,
// ssthresh = cwnd = max(0.7*FlightSize, 2 segments). Windows in segments
// of 1000 bytes.
func TestCubicCongestion(t *testing.T) {
	tests := []struct {
		name           string
		cwnd, lastWMax float64
		flight         int
		fastConv       bool
		wantWMax       float64
		wantSsthresh   int
	}{
		{"first loss", 100, 0, 100, true, 100, 70},
		{"above last W_max", 120, 100, 120, true, 120, 84},
		{"below last W_max", 100, 120, 100, true, 85, 70}, // 100*(1+0.7)/2
		{"below last W_max, no fast convergence", 100, 120, 100, false, 100, 70},
		{"application-limited flight", 100, 0, 40, true, 100, 28},
		{"tiny flight", 10, 0, 2, true, 10, 2},
	}
	for _, tt := range tests {
		c := NewCubic(1000)
		c.FastConvergence = tt.fastConv
		c.started = true
		c.s.cwnd = tt.cwnd * 1000
		c.s.wMax = tt.lastWMax * 1000
		c.OnCongestion(t0, tt.flight*1000)
		if got := segs(c.s.wMax, 1000); !near(got, tt.wantWMax, 1e-9) {
			t.Errorf("%s: W_max = %v, want %v", tt.name, got, tt.wantWMax)
		}
		if got := segs(c.s.cwndPrior, 1000); got != tt.cwnd {
			t.Errorf("%s: cwnd_prior = %v, want %v", tt.name, got, tt.cwnd)
		}
		if c.Ssthresh() != tt.wantSsthresh*1000 || c.Cwnd() != tt.wantSsthresh*1000 {
			t.Errorf("%s: ssthresh %d, cwnd %d; want both %d", tt.name, c.Ssthresh(), c.Cwnd(), tt.wantSsthresh*1000)
		}
	}
}

// TestCubicEpoch checks the start of a congestion avoidance stage at the
// first ACK after recovery (RFC 9438 §4.2): t_epoch, cwnd_epoch,
// W_est = cwnd_epoch (§4.3) and K from equation (2), with and without fast
// convergence lowering W_max.
func TestCubicEpoch(t *testing.T) {
	tests := []struct {
		name     string
		lastWMax float64 // segments
		wantWMax float64
		wantK    float64
	}{
		{"W_max = cwnd", 0, 100, 4.217163326508746},       // ∛((100−70)/0.4)
		{"fast convergence", 120, 85, 3.3471647504108475}, // ∛((85−70)/0.4)
	}
	for _, tt := range tests {
		c := NewCubic(1000)
		c.started = true
		c.s.cwnd = 100 * 1000
		c.s.wMax = tt.lastWMax * 1000
		c.OnCongestion(t0, 100*1000)
		c.OnRecoveryExit(t0.Add(time.Second))
		first := t0.Add(1100 * time.Millisecond)
		c.OnAck(Ack{Now: first, Acked: 1000, SRTT: 100 * time.Millisecond, InFlight: 70 * 1000})
		s := c.s
		if !s.epochStart.Equal(first) || s.cwndEpoch != 70*1000 || !near(s.k, tt.wantK, 1e-12) ||
			!near(segs(s.wMax, 1000), tt.wantWMax, 1e-9) {
			t.Errorf("%s: t_epoch %v, cwnd_epoch %v, K %v, W_max %v; want %v, 70000, %v, %v",
				tt.name, s.epochStart.Sub(t0), s.cwndEpoch, s.k, segs(s.wMax, 1000), first.Sub(t0), tt.wantK, tt.wantWMax)
		}
		if want := 70*1000 + alphaCubic*1000/70; !near(s.wEst, want, 1e-9) {
			t.Errorf("%s: W_est = %v after the first ACK, want cwnd_epoch + α_cubic/cwnd = %v", tt.name, s.wEst, want)
		}
	}
}

// TestCubicAfterRTO checks RFC 9438 §4.8: after a timeout ssthresh is
// 0.7*FlightSize and cwnd one segment; slow start follows (L = 1 SMSS,
// RFC 3465 §2.3), and the first congestion avoidance stage after it has
// K = 0 and W_max = W_est = cwnd_epoch, so that cwnd probes up from where
// slow start ended rather than towards the W_max of before the timeout.
func TestCubicAfterRTO(t *testing.T) {
	const mss = 1000
	c, f := cubicAfterLoss(mss, 100, 50*time.Millisecond)
	for range 30 {
		f.round(50 * time.Millisecond)
	}
	cwnd := c.Cwnd()
	c.OnRTO(f.now, f.inFlight())
	if c.Cwnd() != mss || c.Ssthresh() != beta(f.inFlight()) {
		t.Fatalf("after OnRTO: cwnd %d, ssthresh %d; want %d, %d", c.Cwnd(), c.Ssthresh(), mss, beta(f.inFlight()))
	}
	if int(c.s.cwndPrior) != cwnd {
		t.Errorf("cwnd_prior = %v, want %d", c.s.cwndPrior, cwnd)
	}
	f.una = f.nxt
	f.refill()
	for c.Cwnd() < c.Ssthresh() {
		f.round(50 * time.Millisecond)
	}
	f.round(50 * time.Millisecond)
	s := c.s
	if !s.inEpoch || s.k != 0 || s.wMax != s.cwndEpoch || s.cwndEpoch != float64(c.Ssthresh()) {
		t.Errorf("first stage after RTO: epoch %v, K %v, W_max %v, cwnd_epoch %v; want K 0, W_max = cwnd_epoch = ssthresh %d",
			s.inEpoch, s.k, s.wMax, s.cwndEpoch, c.Ssthresh())
	}
	// A later loss uses equation (2) again.
	f.recover(50 * time.Millisecond)
	f.round(50 * time.Millisecond)
	if c.s.k <= 0 {
		t.Errorf("stage after a loss following the RTO stage: K = %v, want > 0", c.s.k)
	}
}

// TestCubicAppLimited checks RFC 9438 §4.2 and §5.8: while the flow is
// application-limited cwnd does not grow and t does not advance, so that
// W_cubic does not leap when the flow becomes cwnd-limited again.
func TestCubicAppLimited(t *testing.T) {
	const mss = 1460
	const rtt = 100 * time.Millisecond
	c, f := cubicAfterLoss(mss, 1000, rtt)
	for range 20 {
		f.round(rtt)
	}
	active := f.now.Sub(c.s.epochStart)
	cwnd := c.s.cwnd

	// 5 s of ACKs for a trickle of data: 50 rounds with two segments each.
	start := f.now
	for i := range 100 {
		f.now = start.Add(time.Duration(i+1) * 50 * time.Millisecond)
		f.una += mss
		f.ack = Ack{Now: f.now, Acked: mss, RTT: rtt, SRTT: rtt, InFlight: 2 * mss,
			SndUna: f.una, SndNxt: f.una + mss, AppLimited: true}
		c.OnAck(f.ack)
	}
	if c.s.cwnd != cwnd {
		t.Errorf("application-limited ACKs changed cwnd from %.1f to %.1f", cwnd, c.s.cwnd)
	}
	if got := f.now.Sub(c.s.epochStart); got != active {
		t.Errorf("after 5 s application-limited, t = %v, want %v (the active time only)", got, active)
	}
}

// TestCubicIdle checks OnIdle: an idle period no longer than the RTO is
// left out of t (RFC 9438 §5.8); a longer one restarts with
// cwnd = min(IW, cwnd) (RFC 5681 §4.1) and a new epoch.
func TestCubicIdle(t *testing.T) {
	const mss = 1460
	const rtt = 100 * time.Millisecond
	c, f := cubicAfterLoss(mss, 1000, rtt)
	for range 20 {
		f.round(rtt)
	}
	active := f.now.Sub(c.s.epochStart)
	f.now = f.now.Add(800 * time.Millisecond)
	c.OnIdle(f.now, 800*time.Millisecond, time.Second)
	if got := f.now.Sub(c.s.epochStart); got != active {
		t.Errorf("after 800 ms idle (RTO 1 s), t = %v, want %v", got, active)
	}
	f.now = f.now.Add(3 * time.Second)
	c.OnIdle(f.now, 3*time.Second, time.Second)
	if c.Cwnd() != InitialWindow(mss) || c.s.inEpoch {
		t.Errorf("after 3 s idle (RTO 1 s): cwnd %d, in epoch %v; want %d, a new epoch to come",
			c.Cwnd(), c.s.inEpoch, InitialWindow(mss))
	}
}

// TestCubicUndo checks RFC 9438 §4.9.2: a spurious congestion event is
// undone by restoring cwnd, cwnd_prior, ssthresh, W_max, K, t_epoch and
// W_est, and in the initial slow start HyStart++ resumes.
func TestCubicUndo(t *testing.T) {
	const mss = 1460
	const rtt = 100 * time.Millisecond
	c, f := cubicAfterLoss(mss, 1000, rtt)
	for range 20 {
		f.round(rtt)
	}
	before := c.s
	c.OnCongestion(f.now, f.inFlight())
	c.OnSpuriousCongestion(f.now.Add(rtt))
	if c.s != before {
		t.Errorf("undo: state\n%+v\nwant\n%+v", c.s, before)
	}
	// The undo is spent: after a restart from idle cuts cwnd below
	// cwnd_prior, a second call must not restore the old window again.
	c.OnIdle(f.now.Add(3*time.Second), 3*time.Second, time.Second)
	c.OnSpuriousCongestion(f.now.Add(3 * time.Second))
	if c.Cwnd() != InitialWindow(mss) {
		t.Errorf("second undo: cwnd %d, want the restart window %d", c.Cwnd(), InitialWindow(mss))
	}

	c = NewCubic(mss)
	f = newFlow(c, mss)
	f.round(rtt)
	c.OnRTO(f.now, f.inFlight())
	if c.s.hs.active() {
		t.Fatal("HyStart++ still active after an RTO")
	}
	c.OnSpuriousCongestion(f.now)
	if !c.s.hs.active() || c.Ssthresh() != InfiniteSsthresh {
		t.Errorf("undo in the initial slow start: HyStart++ active %v, ssthresh %d; want true, InfiniteSsthresh",
			c.s.hs.active(), c.Ssthresh())
	}
}
