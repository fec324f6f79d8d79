package cc

import (
	"strings"
	"testing"
	"time"
)

// controllers lists a constructor for every algorithm, for the tests that
// hold for all of them.
var controllers = []struct {
	name string
	make func(mss int) Controller
}{
	{"reno", func(mss int) Controller { return NewReno(mss) }},
	{"cubic", func(mss int) Controller { return NewCubic(mss) }},
}

func TestNew(t *testing.T) {
	tests := []struct {
		name     string
		wantName string // "" for an error
	}{
		{"", "cubic"},
		{"cubic", "cubic"},
		{"reno", "reno"},
		{"newreno", "reno"},
		{"bbr", ""},
		{"CUBIC", ""},
	}
	for _, tt := range tests {
		c, err := New(tt.name, 1460)
		if tt.wantName == "" {
			if err == nil {
				t.Errorf("New(%q) = %s, want an error", tt.name, c.Name())
				continue
			}
			for _, s := range []string{tt.name, "cubic", "reno", "newreno"} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("New(%q) error %q does not mention %q", tt.name, err, s)
				}
			}
			continue
		}
		if err != nil {
			t.Errorf("New(%q): %v", tt.name, err)
			continue
		}
		if c.Name() != tt.wantName {
			t.Errorf("New(%q).Name() = %q, want %q", tt.name, c.Name(), tt.wantName)
		}
		if c.Cwnd() != 14600 {
			t.Errorf("New(%q).Cwnd() = %d, want 14600", tt.name, c.Cwnd())
		}
	}
}

// TestInitialWindow checks RFC 6928 §2: IW = min(10*MSS, max(2*MSS, 14600)),
// from the constructor and from SetMSS before the first ACK.
func TestInitialWindow(t *testing.T) {
	tests := []struct {
		mss, want int
	}{
		{536, 5360},   // 10*536 is below 14600
		{1460, 14600}, // 10*1460 = 14600
		{4000, 14600}, // 14600 caps it
		{8960, 17920}, // 2*8960 is above 14600 (jumbo frames)
		{100, 1000},
		{0, 5360}, // no MSS: RFC 9293's default 536
	}
	for _, tt := range tests {
		if tt.mss > 0 {
			if got := InitialWindow(tt.mss); got != tt.want {
				t.Errorf("InitialWindow(%d) = %d, want %d", tt.mss, got, tt.want)
			}
		}
		for _, ctl := range controllers {
			if got := ctl.make(tt.mss).Cwnd(); got != tt.want {
				t.Errorf("%s(mss %d).Cwnd() = %d, want %d", ctl.name, tt.mss, got, tt.want)
			}
			if tt.mss <= 0 {
				continue
			}
			c := ctl.make(1460)
			c.SetMSS(tt.mss)
			if got := c.Cwnd(); got != tt.want {
				t.Errorf("%s: SetMSS(%d) before any ACK: Cwnd() = %d, want %d", ctl.name, tt.mss, got, tt.want)
			}
			if got := c.Ssthresh(); got != InfiniteSsthresh {
				t.Errorf("%s: initial Ssthresh() = %d, want InfiniteSsthresh", ctl.name, got)
			}
		}
	}
}

// TestSetMSSAfterAck checks that once data has been acknowledged, SetMSS
// no longer resets cwnd to an initial window, but keeps at least a
// segment.
func TestSetMSSAfterAck(t *testing.T) {
	for _, ctl := range controllers {
		t.Run(ctl.name, func(t *testing.T) {
			c := ctl.make(1460)
			f := newFlow(c, 1460)
			f.round(50 * time.Millisecond) // 10 -> 20 segments
			if got := c.Cwnd(); got != 29200 {
				t.Fatalf("after one round Cwnd() = %d, want 29200", got)
			}
			c.SetMSS(536)
			if got := c.Cwnd(); got != 29200 {
				t.Errorf("SetMSS(536) after an ACK: Cwnd() = %d, want 29200 kept", got)
			}
			c.OnRTO(f.now, f.inFlight()) // cwnd = 1 MSS = 536
			c.SetMSS(1460)
			if got := c.Cwnd(); got != 1460 {
				t.Errorf("SetMSS(1460) with cwnd 536: Cwnd() = %d, want one segment, 1460", got)
			}
			c.SetMSS(-1)
			if got := c.Cwnd(); got != 1460 {
				t.Errorf("SetMSS(-1) changed Cwnd() to %d", got)
			}
		})
	}
}

// TestOnSYNLoss checks RFC 6928 §2: after a lost SYN or SYN-ACK the
// initial window is one segment, also after SetMSS.
func TestOnSYNLoss(t *testing.T) {
	for _, ctl := range controllers {
		c := ctl.make(1460)
		c.OnSYNLoss()
		if got := c.Cwnd(); got != 1460 {
			t.Errorf("%s: after OnSYNLoss Cwnd() = %d, want 1460", ctl.name, got)
		}
		c.SetMSS(1000)
		if got := c.Cwnd(); got != 1000 {
			t.Errorf("%s: OnSYNLoss, SetMSS(1000): Cwnd() = %d, want 1000", ctl.name, got)
		}
	}
}

// TestSlowStartDoublesPerRTT checks that slow start doubles cwnd every
// round trip (RFC 5681 §3.1), with an ACK per segment and with delayed
// ACKs (one per two segments: ABC's L = 2*SMSS for Reno, RFC 3465 §2.2;
// HyStart++'s L = 8*SMSS for CUBIC, RFC 9406 §4.3).
func TestSlowStartDoublesPerRTT(t *testing.T) {
	for _, ctl := range controllers {
		for _, mss := range []int{536, 1460, 8960} {
			for _, perAck := range []int{1, 2} {
				c := ctl.make(mss)
				f := newFlow(c, mss)
				f.ackSize = perAck * mss
				iw := InitialWindow(mss)
				for r := 1; r <= 5; r++ {
					f.round(40 * time.Millisecond)
					if got, want := c.Cwnd(), iw<<r; got != want {
						t.Errorf("%s, MSS %d, %d segments per ACK: after %d rounds Cwnd() = %d, want %d",
							ctl.name, mss, perAck, r, got, want)
					}
				}
				if got := c.Ssthresh(); got != InfiniteSsthresh {
					t.Errorf("%s: Ssthresh() = %d after slow start without loss or delay, want InfiniteSsthresh", ctl.name, got)
				}
			}
		}
	}
}

// TestSlowStartIncreaseLimit checks how much one ACK that acknowledges
// many segments may add in slow start: L = 2*SMSS (RFC 3465 §2.2), 1*SMSS
// after a timeout (RFC 3465 §2.3), and 8*SMSS in CUBIC's HyStart++ slow
// start (RFC 9406 §4.3).
func TestSlowStartIncreaseLimit(t *testing.T) {
	const mss = 1000
	tests := []struct {
		ctl      string
		afterRTO bool
		acked    int
		want     int // increase
	}{
		{"reno", false, 500, 500},
		{"reno", false, 1000, 1000},
		{"reno", false, 5000, 2000},
		{"reno", true, 5000, 1000},
		{"cubic", false, 5000, 5000},
		{"cubic", false, 20000, 8000},
		{"cubic", true, 5000, 1000},
	}
	for _, tt := range tests {
		c, _ := New(tt.ctl, mss)
		if tt.afterRTO {
			c.OnRTO(t0, 100*mss) // ssthresh = 50 or 70 segments, cwnd = 1
		}
		before := c.Cwnd()
		c.OnAck(Ack{Now: t0, Acked: tt.acked, InFlight: before, SndUna: 1, SndNxt: 1})
		if got := c.Cwnd() - before; got != tt.want {
			t.Errorf("%s, after RTO %v: ACK of %d bytes grew cwnd by %d, want %d",
				tt.ctl, tt.afterRTO, tt.acked, got, tt.want)
		}
	}
}

// TestCongestionSsthresh checks the reduction on entering fast recovery:
// Reno ssthresh = max(FlightSize/2, 2*SMSS) (RFC 5681 §3.2 step 2), CUBIC
// ssthresh = max(FlightSize*0.7, 2*SMSS) (RFC 9438 §4.6); cwnd = ssthresh;
// and cwnd = ssthresh again when recovery ends (RFC 6582 §3.2 step 3).
func TestCongestionSsthresh(t *testing.T) {
	const mss = 1460
	tests := []struct {
		ctl      string
		inFlight int
		want     int
	}{
		{"reno", 146000, 73000},
		{"reno", 14601, 7300},
		{"reno", 5000, 2920}, // 2500 < 2*SMSS
		{"reno", 0, 2920},
		{"cubic", 146000, 102200},
		{"cubic", 14601, 10220}, // 10220.7 rounded down
		{"cubic", 4000, 2920},   // 2800 < 2*SMSS
		{"cubic", 0, 2920},
	}
	for _, tt := range tests {
		c, _ := New(tt.ctl, mss)
		f := newFlow(c, mss)
		f.round(20 * time.Millisecond)
		c.OnCongestion(f.now, tt.inFlight)
		if got := c.Ssthresh(); got != tt.want {
			t.Errorf("%s: OnCongestion(FlightSize %d): Ssthresh() = %d, want %d", tt.ctl, tt.inFlight, got, tt.want)
		}
		if got := c.Cwnd(); got != tt.want {
			t.Errorf("%s: OnCongestion(FlightSize %d): Cwnd() = %d, want %d", tt.ctl, tt.inFlight, got, tt.want)
		}
		c.OnRecoveryExit(f.now.Add(20 * time.Millisecond))
		if got := c.Cwnd(); got != tt.want {
			t.Errorf("%s: OnRecoveryExit: Cwnd() = %d, want ssthresh %d", tt.ctl, got, tt.want)
		}
	}
}

// TestRTO checks the timeout response: ssthresh from FlightSize (halved for
// Reno, RFC 5681 §3.1 equation (4); times 0.7 for CUBIC, RFC 9438 §4.8),
// cwnd = LW = 1 SMSS, ssthresh held when the retransmission times out
// again, recomputed after an ACK; and slow start up to ssthresh.
func TestRTO(t *testing.T) {
	const mss = 1000
	tests := []struct {
		ctl          string
		wantSsthresh int // for FlightSize 100 000
		wantAgain    int // for FlightSize 10 000
	}{
		{"reno", 50000, 5000},
		{"cubic", 70000, 7000},
	}
	for _, tt := range tests {
		c, _ := New(tt.ctl, mss)
		c.OnRTO(t0, 100000)
		if got := c.Cwnd(); got != mss {
			t.Errorf("%s: after OnRTO Cwnd() = %d, want 1 MSS", tt.ctl, got)
		}
		if got := c.Ssthresh(); got != tt.wantSsthresh {
			t.Errorf("%s: after OnRTO Ssthresh() = %d, want %d", tt.ctl, got, tt.wantSsthresh)
		}
		// The retransmission times out too: FlightSize is now one
		// segment, but ssthresh stays.
		c.OnRTO(t0.Add(time.Second), mss)
		if got := c.Ssthresh(); got != tt.wantSsthresh {
			t.Errorf("%s: second OnRTO: Ssthresh() = %d, want %d held", tt.ctl, got, tt.wantSsthresh)
		}
		if got := c.Cwnd(); got != mss {
			t.Errorf("%s: second OnRTO: Cwnd() = %d, want 1 MSS", tt.ctl, got)
		}
		// Slow start from one segment: one segment per ACK, up to
		// ssthresh and no further.
		f := newFlow(c, mss)
		f.now = t0.Add(3 * time.Second)
		for r := 1; r <= 5; r++ {
			f.round(10 * time.Millisecond)
			if got := c.Cwnd(); got != mss<<r {
				t.Errorf("%s: round %d after RTO: Cwnd() = %d, want %d", tt.ctl, r, got, mss<<r)
			}
		}
		f.round(10 * time.Millisecond) // 32 -> 64, capped at ssthresh
		if got := c.Cwnd(); got != min(64*mss, tt.wantSsthresh) {
			t.Errorf("%s: slow start past ssthresh: Cwnd() = %d, want %d", tt.ctl, got, min(64*mss, tt.wantSsthresh))
		}
		// After progress, a new timeout computes ssthresh afresh.
		c.OnRTO(f.now, 10*mss)
		if got := c.Ssthresh(); got != tt.wantAgain {
			t.Errorf("%s: OnRTO after an ACK, FlightSize 10 MSS: Ssthresh() = %d, want %d", tt.ctl, got, tt.wantAgain)
		}
	}
}

// TestIdleRestart checks RFC 5681 §4.1: after an idle period longer than
// the RTO, cwnd = min(IW, cwnd); after a shorter one, nothing changes.
func TestIdleRestart(t *testing.T) {
	const mss = 1460
	tests := []struct {
		name      string
		rounds    int  // of slow start from IW (10 segments)
		timeout   bool // OnRTO first: cwnd 1 segment
		idle, rto time.Duration
		want      int
	}{
		{"long idle", 3, false, 2 * time.Second, time.Second, 14600},
		{"idle equal to RTO", 3, false, time.Second, time.Second, 80 * mss},
		{"short idle", 3, false, 300 * time.Millisecond, time.Second, 80 * mss},
		{"long idle, cwnd below IW", 0, true, 2 * time.Second, time.Second, mss},
	}
	for _, ctl := range controllers {
		for _, tt := range tests {
			c := ctl.make(mss)
			f := newFlow(c, mss)
			for range tt.rounds {
				f.round(100 * time.Millisecond)
			}
			if tt.timeout {
				c.OnRTO(f.now, f.inFlight())
			}
			ssthresh := c.Ssthresh()
			c.OnIdle(f.now.Add(tt.idle), tt.idle, tt.rto)
			if got := c.Cwnd(); got != tt.want {
				t.Errorf("%s, %s: after OnIdle Cwnd() = %d, want %d", ctl.name, tt.name, got, tt.want)
			}
			if got := c.Ssthresh(); got != ssthresh {
				t.Errorf("%s, %s: OnIdle changed Ssthresh() from %d to %d", ctl.name, tt.name, ssthresh, got)
			}
		}
	}
}

// TestAppLimited checks that ACKs for a sender that did not use its window
// do not grow cwnd beyond what was in flight (RFC 7661, RFC 9438 §5.8), in
// slow start and in congestion avoidance; the same ACKs from a
// cwnd-limited sender do grow it.
func TestAppLimited(t *testing.T) {
	const mss = 1460
	tests := []struct {
		name       string
		ca         bool // congestion avoidance, else slow start
		appLimited bool
		inFlight   int // in segments
		wantGrowth bool
	}{
		{"slow start", false, false, 5, true},
		{"slow start, app-limited", false, true, 5, false},
		{"slow start, app-limited, window full", false, true, 10, false},
		{"congestion avoidance", true, false, 5, true},
		{"congestion avoidance, app-limited", true, true, 5, false},
	}
	for _, ctl := range controllers {
		for _, tt := range tests {
			c := ctl.make(mss)
			now := t0
			if tt.ca {
				// Reach congestion avoidance: cwnd = ssthresh.
				c.OnCongestion(now, 20*mss)
				c.OnRecoveryExit(now)
				if c.Ssthresh() > c.Cwnd() {
					t.Fatalf("%s: setup: not in congestion avoidance", ctl.name)
				}
			}
			before := c.Cwnd()
			for i := range 200 {
				now = now.Add(10 * time.Millisecond)
				c.OnAck(Ack{
					Now: now, Acked: mss, RTT: 50 * time.Millisecond, SRTT: 50 * time.Millisecond,
					InFlight: tt.inFlight * mss, SndUna: uint32(i * mss), SndNxt: uint32((i + tt.inFlight) * mss),
					AppLimited: tt.appLimited,
				})
			}
			if grew := c.Cwnd() > before; grew != tt.wantGrowth {
				t.Errorf("%s, %s: Cwnd() %d -> %d, want growth %v", ctl.name, tt.name, before, c.Cwnd(), tt.wantGrowth)
			}
		}
	}
}

// TestAppLimitedGrowsToInFlight checks that in slow start an
// application-limited ACK may still grow cwnd up to what was in flight
// (which can exceed cwnd, just after a reduction) but not beyond.
func TestAppLimitedGrowsToInFlight(t *testing.T) {
	const mss = 1000
	for _, ctl := range controllers {
		c := ctl.make(mss)
		c.OnRTO(t0, 100*mss) // cwnd 1 segment, ssthresh 50 or 70
		c.OnAck(Ack{Now: t0, Acked: 2 * mss, InFlight: int(1.5 * mss), AppLimited: true})
		if got := c.Cwnd(); got != 1500 {
			t.Errorf("%s: app-limited ACK with 1.5 segments in flight: Cwnd() = %d, want 1500", ctl.name, got)
		}
	}
}

// TestSpuriousUndo checks OnSpuriousCongestion (RFC 9438 §4.9.2): it
// restores cwnd and ssthresh saved before the last reduction, once, and
// only while cwnd is below its value then.
func TestSpuriousUndo(t *testing.T) {
	const mss = 1000
	for _, ctl := range controllers {
		c := ctl.make(mss)
		f := newFlow(c, mss)
		f.round(10 * time.Millisecond) // 10 -> 20 segments
		check := func(step string, cwnd, ssthresh int) {
			t.Helper()
			if c.Cwnd() != cwnd || c.Ssthresh() != ssthresh {
				t.Errorf("%s: %s: cwnd %d, ssthresh %d; want %d, %d",
					ctl.name, step, c.Cwnd(), c.Ssthresh(), cwnd, ssthresh)
			}
		}

		c.OnCongestion(f.now, f.inFlight())
		c.OnSpuriousCongestion(f.now)
		check("undo of OnCongestion", 20*mss, InfiniteSsthresh)
		c.OnRecoveryExit(f.now) // recovery was undone: nothing to exit
		check("OnRecoveryExit after undo", 20*mss, InfiniteSsthresh)

		c.OnRTO(f.now, 20*mss)
		c.OnRTO(f.now, mss)
		c.OnSpuriousCongestion(f.now)
		check("undo of two OnRTOs", 20*mss, InfiniteSsthresh)

		// An undo is spent once used: a long idle period then cuts
		// cwnd to IW, and a second undo must not bring back 20.
		c.OnCongestion(f.now, 20*mss)
		c.OnSpuriousCongestion(f.now)
		c.OnIdle(f.now, 2*time.Second, time.Second)
		c.OnSpuriousCongestion(f.now)
		check("second undo", 10*mss, InfiniteSsthresh)

		// Once cwnd has regained its size before the reduction, undo
		// keeps the present state.
		c.OnCongestion(f.now, 10*mss)
		c.OnRecoveryExit(f.now)
		f.una = f.nxt
		for c.Cwnd() < 10*mss {
			f.round(10 * time.Millisecond)
		}
		cwnd, ssthresh := c.Cwnd(), c.Ssthresh()
		c.OnSpuriousCongestion(f.now)
		check("late undo", cwnd, ssthresh)
	}
}
