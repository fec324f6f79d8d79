package bench

import (
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Config says what a Suite run measures and how much.
type Config struct {
	Options   Options  // link and buffers (the MTU is set per figure)
	Bytes     int64    // bytes per bulk run (split over the streams)
	WriteSize int      // bytes per Write in bulk runs
	Runs      int      // runs per timed figure; the table shows the median
	Churn     int      // connections per churn run
	Pings     int      // round trips per latency run
	IdleConns []int    // connection counts for the idle-memory figures
	IdleRuns  int      // runs per idle-memory figure
	PerPort   int      // idle connections per server port
	Impls     []string // contenders, by name; nil means all
	Only      []string // figures to run (see Figures); nil means all

	// Log, if set, receives a line per run as the suite goes.
	Log io.Writer
}

// DefaultConfig returns the configuration of the published table.
func DefaultConfig() Config {
	return Config{
		Options:   DefaultOptions(),
		Bytes:     512 << 20,
		WriteSize: 64 << 10,
		Runs:      5,
		Churn:     5000,
		Pings:     20000,
		IdleConns: []int{10000, 100000},
		IdleRuns:  1,
		PerPort:   8000,
	}
}

// Figures lists the names Config.Only accepts. A name may also be given as
// figure-contender ("idle-seqack"), or a contender's name alone.
var Figures = []string{"bulk1500", "bulk65535", "bulk8", "churn", "churn64", "latency", "idle"}

// A Row is one line of the table: a figure's value for each contender.
type Row struct {
	Figure string             // the figure it comes from (Figures)
	Name   string             // what it measures, with its unit
	Lower  bool               // lower is better
	Values map[string]float64 // by contender; absent: not measured
	Errs   map[string]error   // by contender, for runs that failed
	Prec   int                // decimals to print
}

// Ratio returns how many times better seqack did than gVisor: seqack/gVisor
// when higher is better, gVisor/seqack when lower is. It is NaN when either
// is missing or the quotient is undefined.
func (r *Row) Ratio() float64 {
	s, ok1 := r.Values["seqack"]
	g, ok2 := r.Values["gvisor"]
	if !ok1 || !ok2 {
		return math.NaN()
	}
	if r.Lower {
		s, g = g, s
	}
	if g == 0 {
		return math.NaN()
	}
	return s / g
}

// A Table is what a Suite run produced.
type Table struct {
	Impls []string // column order
	Rows  []*Row
	Notes []string
}

// Suite runs the figures cfg asks for, for each contender, each run on a
// fresh Env, and returns the table of medians.
func Suite(cfg Config) (*Table, error) {
	impls := Impls()
	if cfg.Impls != nil {
		impls = impls[:0:0]
		for _, name := range cfg.Impls {
			im, err := Lookup(name)
			if err != nil {
				return nil, err
			}
			impls = append(impls, im)
		}
	}
	for _, p := range cfg.Only {
		if !validOnly(p) {
			return nil, fmt.Errorf("bench: -only %q: figures are %s, optionally -seqack, -gvisor or -kernel", p, strings.Join(Figures, ", "))
		}
	}
	t := &Table{}
	for _, im := range impls {
		t.Impls = append(t.Impls, im.Name)
	}
	s := &suite{cfg: cfg, t: t, rows: map[string]*Row{}}
	want := func(fig, impl string) bool {
		if len(cfg.Only) == 0 {
			return true
		}
		for _, p := range cfg.Only {
			if p == fig || p == impl || p == fig+"-"+impl {
				return true
			}
		}
		return false
	}
	for _, fig := range Figures {
		for _, im := range impls {
			if want(fig, im.Name) {
				s.run(fig, im)
			}
		}
	}
	return t, nil
}

func validOnly(p string) bool {
	for _, f := range Figures {
		for _, im := range Impls() {
			if p == f || p == im.Name || p == f+"-"+im.Name {
				return true
			}
		}
	}
	return false
}

type suite struct {
	cfg  Config
	t    *Table
	rows map[string]*Row
}

// row returns the row with the given name, adding it at the end of the
// table the first time.
func (s *suite) row(fig, name string, lower bool, prec int) *Row {
	r, ok := s.rows[name]
	if !ok {
		r = &Row{Figure: fig, Name: name, Lower: lower, Prec: prec, Values: map[string]float64{}, Errs: map[string]error{}}
		s.rows[name] = r
		s.t.Rows = append(s.t.Rows, r)
	}
	return r
}

func (s *suite) logf(format string, args ...any) {
	if s.cfg.Log != nil {
		fmt.Fprintf(s.cfg.Log, format+"\n", args...)
	}
}

func (s *suite) note(n string) {
	if !slices.Contains(s.t.Notes, n) {
		s.t.Notes = append(s.t.Notes, n)
	}
}

// env makes a fresh Env for one run, with the heap left by earlier runs
// collected.
func (s *suite) env(im Impl, mtu int) (Env, error) {
	runtime.GC()
	o := s.cfg.Options
	o.MTU = mtu
	env, err := im.New(o)
	if err != nil {
		return nil, err
	}
	if d, ok := env.(interface{ Describe() string }); ok {
		s.note(im.Name + ": " + d.Describe())
	}
	return env, nil
}

func (s *suite) run(fig string, im Impl) {
	switch fig {
	case "bulk1500":
		s.bulk(fig, im, 1500, 1, "bulk, 1 stream, MTU 1500 (Gbit/s)", "allocs per MiB, bulk MTU 1500")
	case "bulk65535":
		s.bulk(fig, im, 65535, 1, "bulk, 1 stream, MTU 65535 (Gbit/s)", "allocs per MiB, bulk MTU 65535")
	case "bulk8":
		s.bulk(fig, im, 1500, 8, "bulk, 8 streams, MTU 1500 (Gbit/s)", "")
	case "churn":
		s.churn(fig, im, 1, "connect+1B req/resp+close, 1 client (conn/s)")
	case "churn64":
		s.churn(fig, im, 64, "connect+1B req/resp+close, 64 clients (conn/s)")
	case "latency":
		s.latency(fig, im)
	case "idle":
		if im.Name == "kernel" {
			return // the kernel's memory is not in this process's heap
		}
		for _, n := range s.cfg.IdleConns {
			s.idle(fig, im, n)
		}
	}
}

func (s *suite) bulk(fig string, im Impl, mtu, streams int, name, allocName string) {
	r := s.row(fig, name, false, 2)
	var ra *Row
	if allocName != "" {
		ra = s.row(fig, allocName, true, 1)
	}
	var gbps, allocs []float64
	for i := range s.cfg.Runs {
		env, err := s.env(im, mtu)
		var res BulkResult
		if err == nil {
			res, err = Bulk(env, streams, s.cfg.Bytes, s.cfg.WriteSize)
			env.Close()
		}
		if err != nil {
			s.logf("%-8s %-10s run %d: %v", im.Name, fig, i+1, err)
			r.Errs[im.Name] = err
			return
		}
		s.logf("%-8s %-10s run %d: %.2f Gbit/s, %.1f allocs/MiB", im.Name, fig, i+1, res.Gbps(), res.MallocsPerMiB())
		gbps = append(gbps, res.Gbps())
		allocs = append(allocs, res.MallocsPerMiB())
	}
	r.Values[im.Name] = median(gbps)
	if ra != nil {
		ra.Values[im.Name] = median(allocs)
	}
}

func (s *suite) churn(fig string, im Impl, clients int, name string) {
	r := s.row(fig, name, false, 0)
	var rates []float64
	for i := range s.cfg.Runs {
		env, err := s.env(im, 1500)
		var d time.Duration
		if err == nil {
			d, err = Churn(env, clients, s.cfg.Churn)
			env.Close()
		}
		if err != nil {
			s.logf("%-8s %-10s run %d: %v", im.Name, fig, i+1, err)
			r.Errs[im.Name] = err
			return
		}
		rate := float64(s.cfg.Churn) / d.Seconds()
		s.logf("%-8s %-10s run %d: %.0f conn/s", im.Name, fig, i+1, rate)
		rates = append(rates, rate)
	}
	r.Values[im.Name] = median(rates)
}

func (s *suite) latency(fig string, im Impl) {
	r50 := s.row(fig, "64 B ping-pong round trip, p50 (µs)", true, 1)
	r99 := s.row(fig, "64 B ping-pong round trip, p99 (µs)", true, 1)
	var p50, p99 []float64
	for i := range s.cfg.Runs {
		env, err := s.env(im, 1500)
		var rtts []time.Duration
		if err == nil {
			rtts, err = PingPong(env, 64, s.cfg.Pings/10, s.cfg.Pings)
			env.Close()
		}
		if err != nil {
			s.logf("%-8s %-10s run %d: %v", im.Name, fig, i+1, err)
			r50.Errs[im.Name] = err
			return
		}
		a, b := us(Percentile(rtts, 50)), us(Percentile(rtts, 99))
		s.logf("%-8s %-10s run %d: p50 %.1f µs, p99 %.1f µs", im.Name, fig, i+1, a, b)
		p50 = append(p50, a)
		p99 = append(p99, b)
	}
	r50.Values[im.Name] = median(p50)
	r99.Values[im.Name] = median(p99)
}

func (s *suite) idle(fig string, im Impl, n int) {
	k := count(n)
	rp := s.row(fig, fmt.Sprintf("idle heap per conn pair, %s conns (bytes)", k), true, 0)
	re := s.row(fig, fmt.Sprintf("idle heap per endpoint, %s conns (bytes)", k), true, 0)
	rg := s.row(fig, fmt.Sprintf("goroutines per conn pair, %s conns", k), true, 2)
	rs := s.row(fig, fmt.Sprintf("time to set up %s conns (s)", k), true, 2)
	var pair, gor, setup []float64
	for i := range max(1, s.cfg.IdleRuns) {
		env, err := s.env(im, 1500)
		var res IdleResult
		if err == nil {
			res, err = Idle(env, n, s.cfg.PerPort)
			env.Close()
		}
		if err != nil {
			s.logf("%-8s %-10s %s run %d: %v", im.Name, fig, k, i+1, err)
			rp.Errs[im.Name] = err
			return
		}
		s.logf("%-8s %-10s %s run %d: %.0f bytes/pair, %.2f goroutines/pair, set up in %.2fs",
			im.Name, fig, k, i+1, res.PerPair(), res.GoroutinesPerPair(), res.Setup.Seconds())
		pair = append(pair, res.PerPair())
		gor = append(gor, res.GoroutinesPerPair())
		setup = append(setup, res.Setup.Seconds())
	}
	rp.Values[im.Name] = median(pair)
	re.Values[im.Name] = median(pair) / 2
	rg.Values[im.Name] = median(gor)
	rs.Values[im.Name] = median(setup)
}

// count writes n as "10k", "1M" when it is a round number of those.
func count(n int) string {
	switch {
	case n >= 1e6 && n%1e6 == 0:
		return fmt.Sprintf("%dM", n/1e6)
	case n >= 1e3 && n%1e3 == 0:
		return fmt.Sprintf("%dk", n/1e3)
	}
	return fmt.Sprint(n)
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// Format writes the table, aligned, with the ratio column and the notes.
func (t *Table) Format(w io.Writer) {
	header := append([]string{"figure"}, t.Impls...)
	header = append(header, "seqack vs gVisor")
	lines := [][]string{header}
	for _, r := range t.Rows {
		line := []string{r.Name}
		for _, im := range t.Impls {
			v, ok := r.Values[im]
			switch {
			case ok:
				line = append(line, formatValue(v, r.Prec))
			case r.Errs[im] != nil:
				line = append(line, "error")
			default:
				line = append(line, "—")
			}
		}
		ratio := r.Ratio()
		if math.IsNaN(ratio) {
			line = append(line, "—")
		} else {
			op := "s/g"
			if r.Lower {
				op = "g/s"
			}
			line = append(line, fmt.Sprintf("%.2f× (%s)", ratio, op))
		}
		lines = append(lines, line)
	}
	widths := make([]int, len(header))
	for _, l := range lines {
		for i, c := range l {
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	for j, l := range lines {
		var b strings.Builder
		for i, c := range l {
			pad := strings.Repeat(" ", widths[i]-len([]rune(c)))
			if i == 0 {
				b.WriteString(c + pad)
			} else {
				b.WriteString("  " + pad + c)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
		if j == 0 {
			fmt.Fprintln(w, strings.Repeat("-", len([]rune(b.String()))))
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "seqack vs gVisor: how many times better seqack did (s/g: seqack ÷ gVisor where higher is better; g/s: gVisor ÷ seqack where lower is better).")
	for _, r := range t.Rows {
		for _, im := range t.Impls {
			if err := r.Errs[im]; err != nil {
				fmt.Fprintf(w, "error: %s, %s: %v\n", im, r.Name, err)
			}
		}
	}
	for _, n := range t.Notes {
		fmt.Fprintln(w, n)
	}
}

func formatValue(v float64, prec int) string {
	if math.IsNaN(v) {
		return "—"
	}
	if prec == 0 && math.Abs(v) >= 1000 {
		s := fmt.Sprintf("%.0f", v)
		neg := strings.HasPrefix(s, "-")
		s = strings.TrimPrefix(s, "-")
		var b strings.Builder
		for i, c := range s {
			if i > 0 && (len(s)-i)%3 == 0 {
				b.WriteByte(',')
			}
			b.WriteRune(c)
		}
		if neg {
			return "-" + b.String()
		}
		return b.String()
	}
	return fmt.Sprintf("%.*f", prec, v)
}
