package tcp

import (
	"testing"
	"time"
)

// Linux answers what reaches TIME-WAIT out of its window — a retransmitted
// FIN, a stray ACK, a SYN that does not reopen — at most once per
// tcp_invalid_ratelimit (tcp_timewait_state_process, then
// tcp_timewait_check_oow_rate_limit), as a synchronized connection
// does (oow.go); conform/scripts/teardown/time-wait-reack.pkt notes it.
// Without the limit, a peer (or anyone who knows the 4-tuple) makes
// TIME-WAIT send as fast as it sends.
func TestReview2TimeWaitOutOfWindowRateLimited(t *testing.T) {
	inTimeWait(t, nil, nil, func(t *testing.T, h *harness) {
		h.advance(time.Second)
		h.send(fin(5001, 1002))
		h.expect(ack(1002, 5002))
		h.advance(100 * time.Millisecond)
		h.send(fin(5001, 1002))
		h.expectNone()
		h.send(ack(5000, 1002)) // below RCV.NXT: a duplicate
		h.expectNone()
		h.advance(400 * time.Millisecond) // 500 ms since the last answer
		h.send(fin(5001, 1002))
		h.expect(ack(1002, 5002))
		h.state(TimeWait)
	})
}
