package cc

import (
	"math"
	"testing"
	"time"
)

// TestCubicSawtooth simulates a CUBIC flow at a fixed RTT that loses a
// packet every so many rounds, and checks in virtual time the defining
// property of the sawtooth (RFC 9438 §4.2): after each loss, with
// W_max = cwnd at the loss and cwnd_epoch = β_cubic*W_max, cwnd is back
// at W_max after K = ∛(W_max*(1−β_cubic)/C) seconds of congestion
// avoidance. The loss period is longer than K, so each loss finds cwnd
// past the last W_max, in the convex region, and fast convergence does not
// apply. Recovery takes one RTT; congestion avoidance starts at the first
// ACK after it.
//
// The tolerance is one RTT: cwnd moves only when an ACK arrives, and it
// chases the look-ahead target W_cubic(t+RTT).
func TestCubicSawtooth(t *testing.T) {
	const mss = 1460
	tests := []struct {
		rtt   time.Duration
		first int // the round of the first loss, ending slow start
		every int // rounds between losses after that
	}{
		// Slow start to 320 segments; K = ∛240 = 6.21 s = 62 rounds.
		{100 * time.Millisecond, 5, 80},
		// Slow start to 1280 segments; K = ∛960 = 9.87 s = 49 rounds.
		{200 * time.Millisecond, 7, 60},
	}
	for _, tt := range tests {
		c := NewCubic(mss)
		f := newFlow(c, mss)
		var (
			wMax    float64   // bytes, W_max of the current cycle
			k       float64   // seconds, expected K of the current cycle
			epoch   time.Time // t_epoch of the current cycle
			reached time.Time // when cwnd got back to W_max
		)
		f.observe = func(a *Ack) {
			if wMax == 0 {
				return
			}
			if epoch.IsZero() {
				epoch = c.s.epochStart
			}
			if reached.IsZero() && c.s.cwnd >= wMax {
				reached = a.Now
			}
		}
		cycles := 0
		for round := 1; cycles < 5; round++ {
			f.round(tt.rtt)
			if round < tt.first || (round-tt.first)%tt.every != 0 {
				continue
			}
			if wMax > 0 {
				// The end of a cycle: check it.
				cycles++
				took := reached.Sub(epoch)
				t.Logf("RTT %v, cycle %d: W_max %.1f segments, K %.3f s, cwnd back at W_max after %.3f s",
					tt.rtt, cycles, segs(wMax, mss), k, took.Seconds())
				if reached.IsZero() || math.Abs(took.Seconds()-k) > tt.rtt.Seconds() {
					t.Errorf("RTT %v, cycle %d: cwnd regained W_max = %.1f segments %v after t_epoch, want K = %.3f s ± one RTT",
						tt.rtt, cycles, segs(wMax, mss), took, k)
				}
			}
			// A loss: the next cycle.
			atLoss := c.s.cwnd
			f.recover(tt.rtt)
			wMax, epoch, reached = c.s.wMax, time.Time{}, time.Time{}
			if wMax != atLoss {
				t.Fatalf("RTT %v, round %d: W_max = %.1f, want cwnd at the loss, %.1f (no fast convergence)",
					tt.rtt, round, wMax, atLoss)
			}
			k = math.Cbrt(segs(wMax, mss) * (1 - 0.7) / 0.4)
			f.round(tt.rtt)
			round++
			if !near(c.s.k, k, 1e-3) {
				t.Errorf("RTT %v, round %d: K = %.4f s, want ∛(W_max*0.3/0.4) = %.4f s", tt.rtt, round, c.s.k, k)
			}
		}
	}
}
