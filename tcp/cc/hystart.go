package cc

import (
	"math"
	"time"
)

// The constants of HyStart++ (RFC 9406 §4.3).
const (
	hsMinRTTThresh     = 4 * time.Millisecond
	hsMaxRTTThresh     = 16 * time.Millisecond
	hsMinRTTDivisor    = 8
	hsNRTTSample       = 8
	hsCSSGrowthDivisor = 4
	hsCSSRounds        = 5
	// hsL limits the bytes one ACK may add to cwnd to hsL*SMSS; 8 is the
	// value for a sender that does not pace (RFC 9406 §4.3).
	hsL = 8
)

// rttInfinity stands for the "infinity" of RFC 9406 §4.2: no sample yet.
const rttInfinity = time.Duration(math.MaxInt64)

// hsPhase is where HyStart++ is in the initial slow start.
type hsPhase uint8

const (
	hsOff       hsPhase = iota // slow start is over, or was never HyStart++'s
	hsSlowStart                // standard slow start, watching for a delay increase
	hsCSS                      // Conservative Slow Start
)

// hystart is the state of HyStart++ (RFC 9406 §4.2). A round is one window
// of data: it starts when the cumulative ACK passes windowEnd, the SND.NXT
// recorded when the previous round started.
type hystart struct {
	phase     hsPhase
	inRound   bool // a round has started
	windowEnd uint32

	lastRoundMinRTT    time.Duration
	currentRoundMinRTT time.Duration
	rttSampleCount     int

	cssBaselineMinRTT time.Duration
	cssRounds         int // rounds started since CSS began
}

// newHystart returns HyStart++ at the start of the initial slow start.
func newHystart() hystart {
	return hystart{
		phase:              hsSlowStart,
		lastRoundMinRTT:    rttInfinity,
		currentRoundMinRTT: rttInfinity,
		cssBaselineMinRTT:  rttInfinity,
	}
}

// active reports whether HyStart++ governs slow start.
func (h *hystart) active() bool { return h.phase != hsOff }

// stop ends HyStart++ for good: after a loss or a timeout, or once it has
// handed over to congestion avoidance. RFC 9406 §4.3: HyStart++ is only for
// the initial slow start; later slow starts exit at the ssthresh that
// congestion found.
func (h *hystart) stop() { h.phase = hsOff }

// beginAck does the round tracking that precedes the cwnd increase of an
// ACK with the given SND.UNA and SND.NXT (RFC 9406 §4.2): if the ACK passes
// windowEnd a new round starts. It reports whether this completed the
// CSS_ROUNDS rounds of Conservative Slow Start, in which case the caller
// enters congestion avoidance with ssthresh = cwnd and HyStart++ is over.
//
// The round in which CSS began counts as its first.
func (h *hystart) beginAck(sndUna, sndNxt uint32) (toCA bool) {
	if h.inRound && !seqGT(sndUna, h.windowEnd) {
		return false
	}
	h.inRound = true
	h.windowEnd = sndNxt
	h.lastRoundMinRTT = h.currentRoundMinRTT
	h.currentRoundMinRTT = rttInfinity
	h.rttSampleCount = 0
	if h.phase == hsCSS {
		h.cssRounds++
		if h.cssRounds >= hsCSSRounds {
			h.phase = hsOff
			return true
		}
	}
	return false
}

// increase is the cwnd increase for an ACK of acked bytes: min(N, L*SMSS),
// divided by CSS_GROWTH_DIVISOR in Conservative Slow Start (RFC 9406 §4.2).
func (h *hystart) increase(acked, mss int) float64 {
	inc := float64(min(acked, hsL*mss))
	if h.phase == hsCSS {
		inc /= hsCSSGrowthDivisor
	}
	return inc
}

// endAck takes the ACK's RTT sample (0 for none) and, once the round has
// N_RTT_SAMPLE samples, moves from slow start to CSS on a delay increase,
// or back from CSS to slow start if the increase proves spurious
// (RFC 9406 §4.2).
func (h *hystart) endAck(rtt time.Duration) {
	if rtt <= 0 {
		return
	}
	h.currentRoundMinRTT = min(h.currentRoundMinRTT, rtt)
	h.rttSampleCount++
	if h.rttSampleCount < hsNRTTSample {
		return
	}
	switch h.phase {
	case hsSlowStart:
		if h.lastRoundMinRTT == rttInfinity {
			return
		}
		if h.currentRoundMinRTT >= h.lastRoundMinRTT+rttThresh(h.lastRoundMinRTT) {
			h.cssBaselineMinRTT = h.currentRoundMinRTT
			h.phase = hsCSS
			h.cssRounds = 0
		}
	case hsCSS:
		if h.currentRoundMinRTT < h.cssBaselineMinRTT {
			h.cssBaselineMinRTT = rttInfinity
			h.phase = hsSlowStart
		}
	}
}

// rttThresh is RttThresh of RFC 9406 §4.2: lastRoundMinRTT/MIN_RTT_DIVISOR
// clamped to [MIN_RTT_THRESH, MAX_RTT_THRESH].
func rttThresh(lastRoundMinRTT time.Duration) time.Duration {
	return max(hsMinRTTThresh, min(lastRoundMinRTT/hsMinRTTDivisor, hsMaxRTTThresh))
}
