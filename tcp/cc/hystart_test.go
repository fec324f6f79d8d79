package cc

import (
	"testing"
	"time"
)

const ms = time.Millisecond

// TestRTTThresh checks RttThresh = max(4 ms, min(lastRoundMinRTT/8, 16 ms))
// (RFC 9406 §4.2, §4.3).
func TestRTTThresh(t *testing.T) {
	tests := []struct {
		last, want time.Duration
	}{
		{time.Millisecond, 4 * ms},
		{20 * ms, 4 * ms}, // 2.5 ms, raised to MIN_RTT_THRESH
		{32 * ms, 4 * ms},
		{100 * ms, 12500 * time.Microsecond},
		{128 * ms, 16 * ms},
		{200 * ms, 16 * ms}, // 25 ms, lowered to MAX_RTT_THRESH
	}
	for _, tt := range tests {
		if got := rttThresh(tt.last); got != tt.want {
			t.Errorf("rttThresh(%v) = %v, want %v", tt.last, got, tt.want)
		}
	}
}

// hsRound runs one round of HyStart++: an ACK that passes windowEnd, then
// one ACK per further sample, each with the given RTT (0: no sample). It
// reports whether beginAck handed over to congestion avoidance.
func hsRound(h *hystart, rtts ...time.Duration) (toCA bool) {
	start := h.windowEnd + 1
	for i, rtt := range rtts {
		if h.beginAck(start+uint32(i), start+100_000) {
			toCA = true
		}
		h.endAck(rtt)
	}
	return toCA
}

// repeat returns n copies of d.
func repeat(d time.Duration, n int) []time.Duration {
	s := make([]time.Duration, n)
	for i := range s {
		s[i] = d
	}
	return s
}

// TestHyStartDelayIncrease checks the exit from slow start to Conservative
// Slow Start (RFC 9406 §4.2): once a round has N_RTT_SAMPLE = 8 samples and
// its minimum RTT is at least the previous round's minimum plus RttThresh.
func TestHyStartDelayIncrease(t *testing.T) {
	tests := []struct {
		name      string
		last      []time.Duration // previous round's samples; nil for none
		this      []time.Duration
		wantPhase hsPhase
	}{
		{"rise by RttThresh", repeat(100*ms, 8), repeat(112500*time.Microsecond, 8), hsCSS},
		{"rise just short", repeat(100*ms, 8), repeat(112500*time.Microsecond-1, 8), hsSlowStart},
		{"rise by 4 ms at 20 ms", repeat(20*ms, 8), repeat(24*ms, 8), hsCSS},
		{"rise short of 4 ms at 20 ms", repeat(20*ms, 8), repeat(24*ms-1, 8), hsSlowStart},
		{"rise by 16 ms at 200 ms", repeat(200*ms, 8), repeat(216*ms, 8), hsCSS},
		{"rise short of 16 ms at 200 ms", repeat(200*ms, 8), repeat(216*ms-1, 8), hsSlowStart},
		{"7 samples are too few", repeat(100*ms, 8), repeat(150*ms, 7), hsSlowStart},
		{"8 samples among ACKs without", repeat(100*ms, 8),
			append(repeat(0, 5), repeat(150*ms, 8)...), hsCSS},
		{"the minimum counts", repeat(100*ms, 8),
			append(repeat(150*ms, 7), 105*ms, 150*ms), hsSlowStart},
		{"the previous round's minimum counts", append(repeat(120*ms, 7), 90*ms),
			repeat(105*ms, 8), hsCSS}, // 105 >= 90 + 11.25
		{"previous round without samples", repeat(0, 8), repeat(150*ms, 8), hsSlowStart},
		{"no previous round", nil, repeat(150*ms, 8), hsSlowStart},
	}
	for _, tt := range tests {
		h := newHystart()
		if tt.last != nil {
			hsRound(&h, tt.last...)
		}
		hsRound(&h, tt.this...)
		if h.phase != tt.wantPhase {
			t.Errorf("%s: phase %d, want %d", tt.name, h.phase, tt.wantPhase)
		}
		if h.phase == hsCSS && h.cssBaselineMinRTT != h.currentRoundMinRTT {
			t.Errorf("%s: cssBaselineMinRtt %v, want this round's minimum %v", tt.name, h.cssBaselineMinRTT, h.currentRoundMinRTT)
		}
	}
}

// TestHyStartCSS checks Conservative Slow Start (RFC 9406 §4.2): it
// returns to slow start if a round's minimum RTT (over 8 samples) falls
// below cssBaselineMinRtt, and otherwise hands over to congestion
// avoidance when CSS_ROUNDS = 5 rounds are complete, counting the round in
// which it began.
func TestHyStartCSS(t *testing.T) {
	const base, high = 100 * ms, 120 * ms
	enter := func() hystart {
		h := newHystart()
		hsRound(&h, repeat(base, 8)...)
		hsRound(&h, repeat(high, 8)...)
		if h.phase != hsCSS {
			t.Fatalf("setup: phase %d, want CSS", h.phase)
		}
		return h
	}

	h := enter()
	for i := 2; i <= 5; i++ {
		if hsRound(&h, repeat(high, 8)...) {
			t.Fatalf("CSS round %d: handed over to congestion avoidance before %d rounds", i, hsCSSRounds)
		}
	}
	if !hsRound(&h, high) || h.phase != hsOff {
		t.Errorf("the round after 5 rounds of CSS: phase %d, want congestion avoidance", h.phase)
	}

	h = enter()
	hsRound(&h, repeat(high-1, 7)...)
	if h.phase != hsCSS {
		t.Errorf("7 lower samples: phase %d, want still CSS", h.phase)
	}
	h = enter()
	hsRound(&h, append(repeat(high, 7), high-1)...)
	if h.phase != hsSlowStart || h.cssBaselineMinRTT != rttInfinity {
		t.Errorf("8 samples, minimum below the baseline: phase %d, baseline %v; want slow start, infinity",
			h.phase, h.cssBaselineMinRTT)
	}
	h = enter()
	hsRound(&h, repeat(high, 8)...)
	if h.phase != hsCSS {
		t.Errorf("minimum equal to the baseline: phase %d, want still CSS", h.phase)
	}
}

// TestHyStartRoundsWrap checks that rounds are tracked in sequence space
// (modulo 2^32): a round ends when SND.UNA passes windowEnd, across the
// wrap.
func TestHyStartRoundsWrap(t *testing.T) {
	h := newHystart()
	h.beginAck(0xffff_f000, 0xffff_ff00)
	h.endAck(50 * ms)
	tests := []struct {
		una, nxt uint32
		newRound bool
	}{
		{0xffff_f800, 0x0000_0100, false},
		{0xffff_ff00, 0x0000_0200, false}, // windowEnd reached, not passed
		{0xffff_ff01, 0x0000_0300, true},  // windowEnd = 0x300
		{0x0000_0300, 0x0000_0400, false},
		{0x0000_0400, 0x0000_0500, true},
	}
	for _, tt := range tests {
		h.rttSampleCount = 99 // a new round resets it
		h.beginAck(tt.una, tt.nxt)
		if got := h.rttSampleCount == 0; got != tt.newRound {
			t.Errorf("ACK to %#x (windowEnd now %#x): new round %v, want %v", tt.una, h.windowEnd, got, tt.newRound)
		}
	}
}

// TestCubicHyStart runs CUBIC's initial slow start with RTT samples that
// rise by RttThresh after three rounds: the first 8 ACKs of that round
// still double, the rest grow cwnd by a quarter (CSS_GROWTH_DIVISOR);
// four more rounds of CSS grow cwnd by 1.25 each, and at the next round
// CUBIC enters congestion avoidance with ssthresh = cwnd_prior = cwnd,
// K = 0 and W_max = cwnd_epoch (RFC 9406 §4.2, RFC 9438 §4.10).
func TestCubicHyStart(t *testing.T) {
	const mss = 1460
	const base, high = 100 * ms, 112500 * time.Microsecond
	c := NewCubic(mss)
	f := newFlow(c, mss)
	for range 3 {
		f.round(base) // 10 -> 80 segments
	}
	f.round(high)
	if c.s.hs.phase != hsCSS {
		t.Fatalf("after a round with RTT up by RttThresh: phase %d, want CSS", c.s.hs.phase)
	}
	if got, want := c.Cwnd(), (80+8+72/4)*mss; got != want {
		t.Errorf("cwnd after the round CSS began = %d, want %d (88 + 72/4 segments)", got, want)
	}
	for r := 2; r <= 5; r++ {
		before := c.s.cwnd
		f.round(high)
		if growth := c.s.cwnd / before; !near(growth, 1.25, 0.01) {
			t.Errorf("CSS round %d: cwnd grew by a factor %.3f, want 1.25", r, growth)
		}
		if c.Ssthresh() != InfiniteSsthresh {
			t.Fatalf("CSS round %d: ssthresh %d, want still InfiniteSsthresh", r, c.Ssthresh())
		}
	}
	cwnd := c.Cwnd()
	f.round(high)
	s := c.s
	if c.Ssthresh() != cwnd || int(s.cwndPrior) != cwnd || s.hs.active() {
		t.Errorf("after 5 CSS rounds: ssthresh %d, cwnd_prior %v, HyStart++ active %v; want ssthresh = cwnd_prior = %d, inactive",
			c.Ssthresh(), s.cwndPrior, s.hs.active(), cwnd)
	}
	if !s.inEpoch || s.k != 0 || s.wMax != s.cwndEpoch || int(s.cwndEpoch) != cwnd {
		t.Errorf("first congestion avoidance stage: K %v, W_max %v, cwnd_epoch %v; want 0 and both %d",
			s.k, s.wMax, s.cwndEpoch, cwnd)
	}
}

// TestCubicHyStartSpurious checks that when the RTT falls back below the
// CSS baseline, slow start resumes: the first 8 ACKs of that round grow
// cwnd by a quarter segment, the rest by a whole one.
func TestCubicHyStartSpurious(t *testing.T) {
	const mss = 1460
	c := NewCubic(mss)
	f := newFlow(c, mss)
	for range 3 {
		f.round(100 * ms)
	}
	f.round(120 * ms) // 106 segments, in CSS
	f.round(100 * ms)
	if c.s.hs.phase != hsSlowStart {
		t.Fatalf("RTT back to 100 ms: phase %d, want slow start", c.s.hs.phase)
	}
	if got, want := c.Cwnd(), (106+8/4+98)*mss; got != want {
		t.Errorf("cwnd = %d, want %d (106 + 8/4 + 98 segments)", got, want)
	}
	f.round(100 * ms)
	if got, want := c.Cwnd(), 2*(106+8/4+98)*mss; got != want {
		t.Errorf("next round: cwnd = %d, want %d, doubled", got, want)
	}
}

// TestCubicHyStartOnlyInitial checks RFC 9406 §4.3: HyStart++ runs only
// in the initial slow start. The slow start after a timeout is RFC 5681's
// and ignores a rising RTT.
func TestCubicHyStartOnlyInitial(t *testing.T) {
	const mss = 1000
	c := NewCubic(mss)
	f := newFlow(c, mss)
	f.round(100 * ms)
	c.OnRTO(f.now, 1000*mss) // ssthresh 700 segments
	f.una = f.nxt
	f.refill()
	rtt := 100 * ms
	for r := 1; r <= 8; r++ {
		rtt += 20 * ms
		f.round(rtt)
		if got := c.Cwnd(); got != mss<<r {
			t.Fatalf("slow start round %d after RTO, RTT rising: cwnd %d, want %d", r, got, mss<<r)
		}
	}
}
