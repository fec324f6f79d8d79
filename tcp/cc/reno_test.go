package cc

import (
	"testing"
	"time"
)

// TestRenoCongestionAvoidance checks byte counting in congestion avoidance
// (RFC 5681 §3.1, RFC 3465 §2.1): cwnd grows by one SMSS when the bytes
// acknowledged since the last increase reach cwnd, whatever the ACK sizes.
func TestRenoCongestionAvoidance(t *testing.T) {
	const mss = 1000
	tests := []struct {
		name  string
		acks  []int // bytes per ACK
		want  int   // cwnd, from 10 000
		carry int   // bytes counted towards the next increase
	}{
		{"nine segments", []int{1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000}, 10000, 9000},
		{"ten segments", []int{1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000}, 11000, 0},
		{"delayed ACKs", []int{2000, 2000, 2000, 2000, 2000}, 11000, 0},
		{"odd sizes", []int{3000, 3000, 3000, 1500}, 11000, 500},
		{"one stretch ACK", []int{25000}, 11000, 15000},
		{"then the rest counts on", []int{25000, 1000}, 12000, 5000},
	}
	for _, tt := range tests {
		r := NewReno(mss)
		r.OnCongestion(t0, 20000) // ssthresh = cwnd = 10 000
		r.OnRecoveryExit(t0)
		now := t0
		for _, n := range tt.acks {
			now = now.Add(time.Millisecond)
			r.OnAck(Ack{Now: now, Acked: n, InFlight: r.Cwnd()})
		}
		if r.Cwnd() != tt.want || r.bytesAcked != tt.carry {
			t.Errorf("%s: cwnd %d, bytes counted %d; want %d, %d", tt.name, r.Cwnd(), r.bytesAcked, tt.want, tt.carry)
		}
	}
}

// TestRenoLinearPerRTT checks that a cwnd-limited Reno in congestion
// avoidance gains exactly one segment per round trip.
func TestRenoLinearPerRTT(t *testing.T) {
	const mss = 1460
	r := NewReno(mss)
	f := newFlow(r, mss)
	f.round(50 * time.Millisecond) // 20 segments
	f.recover(50 * time.Millisecond)
	if got := r.Cwnd(); got != 10*mss {
		t.Fatalf("after recovery Cwnd() = %d, want %d", got, 10*mss)
	}
	for round := 1; round <= 20; round++ {
		f.round(50 * time.Millisecond)
		if got, want := r.Cwnd(), (10+round)*mss; got != want {
			t.Fatalf("round %d: Cwnd() = %d, want %d", round, got, want)
		}
	}
}

// TestRenoSlowStartStopsAtSsthresh checks that slow start does not carry
// cwnd past ssthresh (RFC 5681 §3.1) and congestion avoidance takes over.
func TestRenoSlowStartStopsAtSsthresh(t *testing.T) {
	const mss = 1000
	r := NewReno(mss)
	r.OnRTO(t0, 25000) // ssthresh 12 500, cwnd 1 000
	now := t0
	for range 20 {
		now = now.Add(time.Millisecond)
		r.OnAck(Ack{Now: now, Acked: mss, InFlight: r.Cwnd()})
	}
	// 11 ACKs take cwnd to 12 000, the 12th to ssthresh (12 500), and the
	// remaining 8 are counted towards the next increase.
	if r.Cwnd() != 12500 || r.bytesAcked != 8000 {
		t.Errorf("cwnd %d, bytes counted %d; want 12500, 8000", r.Cwnd(), r.bytesAcked)
	}
}
