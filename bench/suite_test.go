package bench

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"
)

// TestSuite runs every figure for every contender on tiny sizes and checks
// that each produced a value (the kernel has no idle-memory figures) and
// that the table shows them.
func TestSuite(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Bytes = 2 << 20
	cfg.Runs = 1
	cfg.Churn = 50
	cfg.Pings = 50
	cfg.IdleConns = []int{300}
	cfg.PerPort = 128 // three listeners
	var log bytes.Buffer
	cfg.Log = &log
	tab, err := Suite(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Rows) != 13 {
		t.Errorf("%d rows, want 13", len(tab.Rows))
	}
	for _, r := range tab.Rows {
		for _, im := range tab.Impls {
			if err := r.Errs[im]; err != nil {
				t.Errorf("%s, %s: %v", im, r.Name, err)
				continue
			}
			v, ok := r.Values[im]
			if im == "kernel" && r.Figure == "idle" {
				if ok {
					t.Errorf("kernel, %s: %v, want no value", r.Name, v)
				}
				continue
			}
			switch {
			case !ok:
				t.Errorf("%s, %s: no value", im, r.Name)
			case math.IsNaN(v) || v < 0:
				t.Errorf("%s, %s: %v", im, r.Name, v)
			case v == 0 && !strings.Contains(r.Name, "goroutines") && !strings.Contains(r.Name, "allocs"):
				t.Errorf("%s, %s: 0", im, r.Name)
			}
		}
	}
	var out bytes.Buffer
	tab.Format(&out)
	for _, r := range tab.Rows {
		if !strings.Contains(out.String(), r.Name) {
			t.Errorf("table lacks %q:\n%s", r.Name, out.String())
		}
	}
	if t.Failed() {
		t.Logf("log:\n%s\ntable:\n%s", log.String(), out.String())
	}
}

func TestSuiteOnly(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Runs = 1
	cfg.Pings = 20
	cfg.Only = []string{"latency-seqack"}
	tab, err := Suite(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range tab.Rows {
		if r.Figure != "latency" || len(r.Values) != 1 || len(r.Errs) != 0 {
			t.Errorf("row %q: figure %s, values %v, errors %v; want latency for seqack alone", r.Name, r.Figure, r.Values, r.Errs)
		}
	}
	cfg.Only = []string{"bulk"}
	if _, err := Suite(cfg); err == nil {
		t.Error(`Suite with Only "bulk": no error`)
	}
}

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		d := make([]time.Duration, len(v))
		for i, x := range v {
			d[i] = time.Duration(x) * time.Millisecond
		}
		return d
	}
	for _, tc := range []struct {
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 50, 7 * time.Millisecond},
		{ms(7), 99, 7 * time.Millisecond},
		{ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 90, 9 * time.Millisecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 100, 10 * time.Millisecond},
	} {
		if got := Percentile(tc.sorted, tc.p); got != tc.want {
			t.Errorf("Percentile(%v, %v) = %v, want %v", tc.sorted, tc.p, got, tc.want)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		v    []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := median(tc.v); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.v, got, tc.want)
		}
	}
	if got := median(nil); !math.IsNaN(got) {
		t.Errorf("median(nil) = %v, want NaN", got)
	}
}

func TestRatio(t *testing.T) {
	for _, tc := range []struct {
		lower  bool
		values map[string]float64
		want   float64
	}{
		{false, map[string]float64{"seqack": 6, "gvisor": 2}, 3},
		{true, map[string]float64{"seqack": 2, "gvisor": 6}, 3},
		{true, map[string]float64{"seqack": 0, "gvisor": 0}, math.NaN()},
		{false, map[string]float64{"seqack": 1}, math.NaN()},
	} {
		r := Row{Lower: tc.lower, Values: tc.values}
		got := r.Ratio()
		if got != tc.want && !(math.IsNaN(got) && math.IsNaN(tc.want)) {
			t.Errorf("Ratio(lower %v, %v) = %v, want %v", tc.lower, tc.values, got, tc.want)
		}
	}
}

func TestFormatValue(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		prec int
		want string
	}{
		{12.345, 2, "12.35"},
		{999, 0, "999"},
		{1000, 0, "1,000"},
		{1234567, 0, "1,234,567"},
		{-4321, 0, "-4,321"},
		{math.NaN(), 1, "—"},
	} {
		if got := formatValue(tc.v, tc.prec); got != tc.want {
			t.Errorf("formatValue(%v, %d) = %q, want %q", tc.v, tc.prec, got, tc.want)
		}
	}
}
