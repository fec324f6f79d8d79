// Package cc is seqack's TCP congestion control: the algorithms that own a
// connection's congestion window (cwnd) and slow-start threshold (ssthresh).
//
// Two controllers are provided: [Cubic] (RFC 9438, with HyStart++ of
// RFC 9406 in the initial slow start), the default, and [Reno] (RFC 5681
// with the RFC 6582 NewReno recovery exit). [New] picks one by name.
//
// Like the engine that drives it, the package is sans-I/O: it reads no
// clock, starts no goroutine and takes no lock. Every event carries the
// current time, and all durations the algorithms use (CUBIC's elapsed time
// t, HyStart++'s rounds) are measured in the time the caller passes in, so a
// simulation on a virtual clock sees exactly what a real connection would.
// A Controller is not safe for concurrent use.
//
// # How the engine drives a Controller
//
// Windows are in bytes. The engine
//
//   - creates the controller with the MSS it expects and calls SetMSS once
//     the handshake has fixed the send MSS (before the first ACK this
//     rescales the initial window of RFC 6928), and again when path MTU
//     discovery changes it; if the SYN or SYN-ACK had to be retransmitted
//     it calls OnSYNLoss first, so the initial window is one segment;
//   - calls OnAck for every ACK that acknowledges new data outside loss
//     recovery, with the fields of [Ack] filled in; the engine may send
//     while bytes in flight are below Cwnd;
//   - calls OnCongestion once when it enters loss recovery (three duplicate
//     ACKs, SACK or RACK loss detection), then runs recovery itself (RFC 6675
//     pipe against Cwnd, which is now ssthresh, or RFC 6937 PRR towards
//     Ssthresh) without calling OnAck, and calls OnRecoveryExit when a full
//     ACK ends recovery (RFC 6582 §3.2 step 3);
//   - calls OnRTO when the retransmission timer expires (this also ends any
//     recovery in progress; do not call OnRecoveryExit for it);
//   - calls OnIdle when it resumes sending after a period with nothing in
//     flight, with the length of that period and the current RTO;
//   - calls OnSpuriousCongestion if it later proves (F-RTO, Eifel, DSACK)
//     that the last OnCongestion or OnRTO was caused by a loss that did not
//     happen.
//
// No method allocates. [Ack] is passed by pointer so that the engine can
// keep one in its connection state and refill it for each ACK; a pointer to
// a fresh local variable handed through the [Controller] interface escapes
// to the heap, which would cost one allocation per ACK.
package cc
