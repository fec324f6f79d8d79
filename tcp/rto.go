package tcp

import "time"

// rtoEstimator computes the retransmission timeout of RFC 6298 §2 from
// round-trip samples.
type rtoEstimator struct {
	srtt, rttvar time.Duration
	rto          time.Duration
	hasSample    bool
	min, max     time.Duration
}

// clockGranularity is G of RFC 6298 §2: the engine measures in
// nanoseconds, but timers in practice fire no finer than this.
const clockGranularity = time.Millisecond

func newRTOEstimator(cfg *Config) rtoEstimator {
	return rtoEstimator{rto: cfg.InitialRTO, min: cfg.MinRTO, max: cfg.MaxRTO}
}

// sample folds one round-trip measurement r into the estimate.
func (e *rtoEstimator) sample(r time.Duration) {
	if r <= 0 {
		r = time.Microsecond
	}
	if !e.hasSample {
		// RFC 6298 §2.2: the first measurement.
		e.srtt = r
		e.rttvar = r / 2
		e.hasSample = true
	} else {
		// RFC 6298 §2.3, with alpha = 1/8 and beta = 1/4.
		delta := e.srtt - r
		if delta < 0 {
			delta = -delta
		}
		e.rttvar = (3*e.rttvar + delta) / 4
		e.srtt = (7*e.srtt + r) / 8
	}
	e.rto = e.clamp(e.srtt + max(clockGranularity, 4*e.rttvar))
}

// backoff doubles the timeout after an expiry (RFC 6298 §5.5).
func (e *rtoEstimator) backoff() { e.rto = e.clamp(2 * e.rto) }

// clamp applies the bounds of RFC 6298 §2.4 and §2.5.
func (e *rtoEstimator) clamp(d time.Duration) time.Duration {
	return min(max(d, e.min), e.max)
}
