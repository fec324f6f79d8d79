// Command seqack-bench measures seqack side by side with gVisor's netstack
// and the Linux kernel, and prints one table: bulk throughput, connection
// churn, request/response latency, heap per idle connection and allocations
// per MiB, each the median of several runs, with how many times better
// seqack did than gVisor.
//
// Usage (from the bench directory, its own module):
//
//	go run ./cmd/seqack-bench                      the full table
//	go run ./cmd/seqack-bench -bytes 8MiB -runs 1 -churn 200 -conns 1000
//	go run ./cmd/seqack-bench -only bulk1500,latency
//	go run ./cmd/seqack-bench -conns 1000000 -only idle-seqack
//
// Progress goes to standard error, the table to standard output.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/seqack/seqack/bench"
)

func main() {
	cfg := bench.DefaultConfig()
	var (
		bytesFlag = sizeFlag(cfg.Bytes)
		bufFlag   = sizeFlag(cfg.Options.Buffer)
		writeFlag = sizeFlag(cfg.WriteSize)
		conns     = intsFlag(cfg.IdleConns)
		only      = flag.String("only", "", "comma-separated figures to run: "+strings.Join(bench.Figures, ", ")+
			"; a figure may name one contender (idle-seqack), or a contender alone (gvisor)")
		impls = flag.String("impls", "seqack,gvisor,kernel", "comma-separated contenders")
		quiet = flag.Bool("q", false, "do not print each run's result on standard error")
	)
	flag.Var(&bytesFlag, "bytes", "bytes per bulk run, split over the streams (suffixes KiB, MiB, GiB)")
	flag.Var(&bufFlag, "buf", "send and receive buffer per connection, fixed, for seqack and gVisor")
	flag.Var(&writeFlag, "write", "bytes per Write in bulk runs")
	flag.Var(&conns, "conns", "comma-separated connection counts for the idle-memory figures")
	flag.IntVar(&cfg.Runs, "runs", cfg.Runs, "runs per timed figure; the table shows the median")
	flag.IntVar(&cfg.Churn, "churn", cfg.Churn, "connections per churn run")
	flag.IntVar(&cfg.Pings, "pings", cfg.Pings, "round trips per latency run (and a tenth as many to warm up)")
	flag.IntVar(&cfg.IdleRuns, "idleruns", cfg.IdleRuns, "runs per idle-memory figure")
	flag.IntVar(&cfg.PerPort, "perport", cfg.PerPort, "idle connections per server port")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: seqack-bench [flags]\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 || cfg.Runs < 1 || cfg.Churn < 1 || cfg.Pings < 1 || cfg.PerPort < 1 {
		flag.Usage()
		os.Exit(2)
	}
	cfg.Bytes = int64(bytesFlag)
	cfg.Options.Buffer = int(bufFlag)
	cfg.WriteSize = int(writeFlag)
	cfg.IdleConns = conns
	cfg.Impls = split(*impls)
	cfg.Only = split(*only)
	if !*quiet {
		cfg.Log = os.Stderr
	}

	fmt.Printf("machine: %s\n", bench.Machine())
	fmt.Printf("work: bulk %s per run in %s writes, %d runs (median); churn %d connections; %d round trips; idle %v connections; buffers %s fixed; link queue %d packets\n\n",
		bytesFlag, writeFlag, cfg.Runs, cfg.Churn, cfg.Pings, cfg.IdleConns, bufFlag, cfg.Options.QueueLen)
	t, err := bench.Suite(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	t.Format(os.Stdout)
	for _, r := range t.Rows {
		if len(r.Errs) > 0 {
			os.Exit(1)
		}
	}
}

func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// sizeFlag is a byte count written as 1048576, 1MiB, 512KiB or 1GiB.
type sizeFlag int64

func (s sizeFlag) String() string {
	switch {
	case s >= 1<<30 && s%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", s>>30)
	case s >= 1<<20 && s%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", s>>20)
	case s >= 1<<10 && s%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", s>>10)
	}
	return strconv.FormatInt(int64(s), 10)
}

func (s *sizeFlag) Set(v string) error {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if strings.HasSuffix(v, u.suffix) {
			v, mult = strings.TrimSuffix(v, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return fmt.Errorf("not a positive size: %q", v)
	}
	*s = sizeFlag(n * mult)
	return nil
}

// intsFlag is a comma-separated list of positive counts.
type intsFlag []int

func (f intsFlag) String() string {
	s := make([]string, len(f))
	for i, n := range f {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

func (f *intsFlag) Set(v string) error {
	*f = nil
	for _, p := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n <= 0 {
			return fmt.Errorf("not a positive count: %q", p)
		}
		*f = append(*f, n)
	}
	return nil
}
