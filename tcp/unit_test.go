package tcp

// Unit tests of the engine's building blocks: sequence arithmetic, the ring
// buffer, the RTO estimator, the ISN generator, state names.

import (
	"net/netip"
	"testing"
	"time"
)

// RFC 9293 §3.4: sequence numbers compare modulo 2³², valid for values
// less than 2³¹ apart.
func TestValueComparisons(t *testing.T) {
	for _, tc := range []struct {
		a, b           Value
		lt, le, gt, ge bool
	}{
		{1, 2, true, true, false, false},
		{2, 1, false, false, true, true},
		{5, 5, false, true, false, true},
		{0xFFFFFFFF, 0, true, true, false, false}, // wraps
		{0, 0xFFFFFFFF, false, false, true, true},
		{0xFFFFFFF0, 0x10, true, true, false, false},
		{0x10, 0xFFFFFFF0, false, false, true, true},
		{0x7FFFFFFF, 0, false, false, true, true}, // 2³¹-1 apart: still ordered
		{0, 0x7FFFFFFF, true, true, false, false},
		{0x80000010, 0x00000011, false, false, true, true},
	} {
		if got := tc.a.LessThan(tc.b); got != tc.lt {
			t.Errorf("%#x.LessThan(%#x) = %v", uint32(tc.a), uint32(tc.b), got)
		}
		if got := tc.a.LessThanEq(tc.b); got != tc.le {
			t.Errorf("%#x.LessThanEq(%#x) = %v", uint32(tc.a), uint32(tc.b), got)
		}
		if got := tc.a.GreaterThan(tc.b); got != tc.gt {
			t.Errorf("%#x.GreaterThan(%#x) = %v", uint32(tc.a), uint32(tc.b), got)
		}
		if got := tc.a.GreaterThanEq(tc.b); got != tc.ge {
			t.Errorf("%#x.GreaterThanEq(%#x) = %v", uint32(tc.a), uint32(tc.b), got)
		}
	}
}

// InWindow is start ≤ v < start+size, across the wrap.
func TestValueInWindow(t *testing.T) {
	for _, tc := range []struct {
		v, start Value
		size     uint32
		want     bool
	}{
		{5, 5, 1, true},
		{6, 5, 1, false},
		{4, 5, 10, false},
		{14, 5, 10, true},
		{15, 5, 10, false},
		{5, 5, 0, false}, // an empty window holds nothing
		{0xFFFFFFFE, 0xFFFFFFF0, 0x20, true},
		{0x00000005, 0xFFFFFFF0, 0x20, true}, // past the wrap
		{0x0000000F, 0xFFFFFFF0, 0x20, true}, // the last one
		{0x00000010, 0xFFFFFFF0, 0x20, false},
		{0xFFFFFFEF, 0xFFFFFFF0, 0x20, false},
	} {
		if got := tc.v.InWindow(tc.start, tc.size); got != tc.want {
			t.Errorf("%#x.InWindow(%#x, %#x) = %v, want %v", uint32(tc.v), uint32(tc.start), tc.size, got, tc.want)
		}
	}
}

func TestValueAddSub(t *testing.T) {
	for _, tc := range []struct {
		v    Value
		n    uint32
		want Value
	}{
		{1, 2, 3},
		{0xFFFFFFFF, 1, 0},
		{0xFFFFFFFF, 2, 1},
		{0xFFFFFFF0, 0x20, 0x10},
	} {
		if got := tc.v.Add(tc.n); got != tc.want {
			t.Errorf("%#x.Add(%#x) = %#x, want %#x", uint32(tc.v), tc.n, uint32(got), uint32(tc.want))
		}
		if got := tc.want.Sub(tc.v); got != tc.n {
			t.Errorf("%#x.Sub(%#x) = %#x, want %#x", uint32(tc.want), uint32(tc.v), got, tc.n)
		}
	}
}

// The ring: writes that wrap, Peek in two parts, Discard, Read.
func TestRing(t *testing.T) {
	r := newRing(8)
	if r.Cap() != 8 || r.Len() != 0 || r.Free() != 8 {
		t.Fatalf("new ring: Cap %d Len %d Free %d, want 8 0 8", r.Cap(), r.Len(), r.Free())
	}
	if a, b := r.Peek(0, 4); a != nil || b != nil {
		t.Fatalf("Peek of an empty ring = %q %q", a, b)
	}
	if n := r.Write([]byte("abcdef")); n != 6 {
		t.Fatalf("Write = %d, want 6", n)
	}
	buf := make([]byte, 4)
	if n := r.Read(buf); n != 4 || string(buf) != "abcd" {
		t.Fatalf("Read = %d %q, want 4 \"abcd\"", n, buf[:n])
	}
	// "ef" sits at indices 4-5; the next write fills 6-7, then wraps to 0-3.
	if n := r.Write([]byte("ghijklmn")); n != 6 {
		t.Fatalf("Write into 6 free bytes = %d, want 6", n)
	}
	if r.Len() != 8 || r.Free() != 0 {
		t.Fatalf("full ring: Len %d Free %d, want 8 0", r.Len(), r.Free())
	}
	if n := r.Write([]byte("z")); n != 0 {
		t.Fatalf("Write into a full ring = %d, want 0", n)
	}
	for _, tc := range []struct {
		off, n        int
		first, second string
	}{
		{0, 8, "efgh", "ijkl"}, // two parts
		{0, 100, "efgh", "ijkl"},
		{1, 3, "fgh", ""},  // before the wrap
		{3, 3, "h", "ij"},  // straddling it
		{4, 2, "ij", ""},   // after it
		{5, 10, "jkl", ""}, // clipped to what is stored
		{8, 1, "", ""},     // past the end
	} {
		a, b := r.Peek(tc.off, tc.n)
		if string(a) != tc.first || string(b) != tc.second {
			t.Errorf("Peek(%d, %d) = %q %q, want %q %q", tc.off, tc.n, a, b, tc.first, tc.second)
		}
	}
	r.Discard(5)
	if a, b := r.Peek(0, 8); string(a)+string(b) != "jkl" || r.Len() != 3 {
		t.Errorf("after Discard(5): %q%q (Len %d), want \"jkl\" (3)", a, b, r.Len())
	}
	buf = make([]byte, 8)
	if n := r.Write([]byte("01234")); n != 5 {
		t.Fatalf("Write = %d, want 5", n)
	}
	if n := r.Read(buf); n != 8 || string(buf) != "jkl01234" {
		t.Errorf("Read across the wrap = %d %q, want 8 \"jkl01234\"", n, buf[:n])
	}
	r.Discard(100)
	if r.Len() != 0 || r.Free() != 8 {
		t.Errorf("after emptying: Len %d Free %d", r.Len(), r.Free())
	}
}

// rtoCfg is the default timer configuration.
func rtoCfg() Config { return (&Config{}).withDefaults() }

// RFC 6298 §2: before any sample the RTO is the initial 1 s (§2.1); the
// first sample R sets SRTT = R, RTTVAR = R/2 (§2.2); later samples
// RTTVAR = 3/4·RTTVAR + 1/4·|SRTT - R| (with the old SRTT), then
// SRTT = 7/8·SRTT + 1/8·R (§2.3); RTO = SRTT + max(G, 4·RTTVAR), at least
// MinRTO (§2.4) and at most MaxRTO (§2.5).
func TestRTOEstimator(t *testing.T) {
	cfg := rtoCfg()
	e := newRTOEstimator(&cfg)
	if e.rto != time.Second || e.hasSample {
		t.Fatalf("initial RTO %v (sample %v), want 1s", e.rto, e.hasSample)
	}
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	for _, step := range []struct {
		r                 time.Duration
		srtt, rttvar, rto time.Duration
	}{
		{ms(100), ms(100), ms(50), ms(300)},
		// RTTVAR = 3/4·50 + 1/4·|100-200| = 62.5; SRTT = 7/8·100 + 1/8·200 = 112.5.
		{ms(200), ms(112.5), ms(62.5), ms(362.5)},
		// RTTVAR = 3/4·62.5 + 1/4·12.5 = 50; SRTT = 7/8·112.5 + 1/8·100 = 110.9375.
		{ms(100), ms(110.9375), ms(50), ms(310.9375)},
	} {
		e.sample(step.r)
		if e.srtt != step.srtt || e.rttvar != step.rttvar || e.rto != step.rto {
			t.Fatalf("after sample %v: SRTT %v RTTVAR %v RTO %v; want %v %v %v",
				step.r, e.srtt, e.rttvar, e.rto, step.srtt, step.rttvar, step.rto)
		}
	}
}

func TestRTOBounds(t *testing.T) {
	t.Run("MinRTO", func(t *testing.T) {
		cfg := rtoCfg()
		e := newRTOEstimator(&cfg)
		e.sample(10 * time.Millisecond) // 10 + 4·5 = 30 ms
		if e.rto != 200*time.Millisecond {
			t.Errorf("RTO %v, want MinRTO 200ms", e.rto)
		}
	})
	t.Run("MaxRTO", func(t *testing.T) {
		cfg := rtoCfg()
		e := newRTOEstimator(&cfg)
		e.sample(100 * time.Second) // 100 + 4·50 = 300 s
		if e.rto != 120*time.Second {
			t.Errorf("RTO %v, want MaxRTO 120s", e.rto)
		}
	})
	t.Run("clock granularity", func(t *testing.T) {
		cfg := rtoCfg()
		cfg.MinRTO = time.Nanosecond
		e := newRTOEstimator(&cfg)
		e.sample(time.Microsecond) // 4·RTTVAR = 2 µs < G = 1 ms
		if want := time.Microsecond + time.Millisecond; e.rto != want {
			t.Errorf("RTO %v, want SRTT + G = %v", e.rto, want)
		}
	})
	t.Run("zero sample", func(t *testing.T) {
		cfg := rtoCfg()
		e := newRTOEstimator(&cfg)
		e.sample(0)
		if !e.hasSample || e.srtt <= 0 || e.rto != 200*time.Millisecond {
			t.Errorf("after a zero sample: SRTT %v RTO %v", e.srtt, e.rto)
		}
	})
}

// RFC 6298 §5.5: "set RTO <- RTO * 2 ("back off the timer")", bounded by
// MaxRTO.
func TestRTOBackoff(t *testing.T) {
	cfg := rtoCfg()
	cfg.MaxRTO = 5 * time.Second
	e := newRTOEstimator(&cfg)
	for _, want := range []time.Duration{2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second} {
		e.backoff()
		if e.rto != want {
			t.Fatalf("after backoff RTO %v, want %v", e.rto, want)
		}
	}
	// A fresh sample replaces the backed-off value (RFC 6298 §5.7 note).
	e.sample(100 * time.Millisecond)
	if e.rto != 300*time.Millisecond {
		t.Errorf("RTO after a sample %v, want 300ms", e.rto)
	}
}

// RFC 6528 §3: ISN = M + F(4-tuple, key), M a 4 µs clock.
func TestISNGenerator(t *testing.T) {
	id := testID
	other := ID{Local: id.Local, Remote: netip.MustParseAddrPort("10.0.0.2:81")}
	swapped := ID{Local: id.Remote, Remote: id.Local}
	g := NewISNGenerator(epoch)

	t.Run("grows by elapsed/4µs", func(t *testing.T) {
		a := g.ISN(id, epoch.Add(time.Second))
		b := g.ISN(id, epoch.Add(3*time.Second))
		if d := b.Sub(a); d != 500000 {
			t.Errorf("ISN 2s later is %d larger, want 500000", d)
		}
		if !b.GreaterThan(a) {
			t.Errorf("later ISN %d not greater than %d", b, a)
		}
		if c := g.ISN(id, epoch.Add(3*time.Second+3*time.Microsecond)); c != b {
			t.Errorf("ISN changed within one 4µs tick: %d then %d", b, c)
		}
		if c := g.ISN(id, epoch.Add(3*time.Second+4*time.Microsecond)); c != b+1 {
			t.Errorf("ISN after one 4µs tick = %d, want %d", c, b+1)
		}
	})
	t.Run("differs by tuple", func(t *testing.T) {
		now := epoch.Add(time.Second)
		a, b, c := g.ISN(id, now), g.ISN(other, now), g.ISN(swapped, now)
		if a == b || a == c || b == c {
			t.Errorf("ISNs for different 4-tuples collide: %d %d %d", a, b, c)
		}
		if g.ISN(id, now) != a {
			t.Error("the same tuple and time gave a different ISN")
		}
	})
	t.Run("differs by key", func(t *testing.T) {
		h := NewISNGenerator(epoch)
		now := epoch.Add(time.Second)
		if g.ISN(id, now) == h.ISN(id, now) {
			t.Error("two generators with different keys gave the same ISN")
		}
	})
	t.Run("default", func(t *testing.T) {
		cfg := (&Config{}).withDefaults()
		if cfg.ISN == nil {
			t.Fatal("no default ISN function")
		}
		now := time.Now()
		if a, b := cfg.ISN(id, now), cfg.ISN(id, now.Add(time.Second)); b.Sub(a) != 250000 {
			t.Errorf("default ISN grew by %d in 1s, want 250000", b.Sub(a))
		}
	})
}

// The state names are netstat's (RFC 9293 Figure 5 with underscores).
func TestStateString(t *testing.T) {
	for s, want := range map[State]string{
		Closed: "CLOSED", Listen: "LISTEN", SynSent: "SYN_SENT", SynReceived: "SYN_RCVD",
		Established: "ESTABLISHED", FinWait1: "FIN_WAIT_1", FinWait2: "FIN_WAIT_2",
		CloseWait: "CLOSE_WAIT", Closing: "CLOSING", LastAck: "LAST_ACK", TimeWait: "TIME_WAIT",
		State(200): "UNKNOWN",
	} {
		if got := s.String(); got != want {
			t.Errorf("State(%d).String() = %q, want %q", s, got, want)
		}
	}
}

// Config defaults (documented on Config).
func TestConfigDefaults(t *testing.T) {
	d := (&Config{}).withDefaults()
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"MSS", d.MSS, 1460},
		{"SendBufferSize", d.SendBufferSize, 256 << 10},
		{"ReceiveBufferSize", d.ReceiveBufferSize, 128 << 10},
		{"MaxSendBufferSize", d.MaxSendBufferSize, 4 << 20},
		{"MaxReceiveBufferSize", d.MaxReceiveBufferSize, 6 << 20},
		{"MSL", d.MSL, 30 * time.Second},
		{"FinWait2Timeout", d.FinWait2Timeout, 60 * time.Second},
		{"InitialRTO", d.InitialRTO, time.Second},
		{"MinRTO", d.MinRTO, 200 * time.Millisecond},
		{"MaxRTO", d.MaxRTO, 120 * time.Second},
		{"SynRetries", d.SynRetries, 6},
		{"SynAckRetries", d.SynAckRetries, 5},
		{"Retries", d.Retries, 15},
		{"ChallengeACKLimit", d.ChallengeACKLimit, 10},
	} {
		if tc.got != tc.want {
			t.Errorf("%s default = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	var nilCfg *Config
	if nilCfg.withDefaults().MSS != 1460 {
		t.Error("a nil Config does not give the defaults")
	}
}
