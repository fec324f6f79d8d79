package bench

import (
	"flag"
	"fmt"
	"testing"
)

// The benchmarks are the table's figures as testing.B entry points, one
// sub-benchmark per contender, for benchstat:
//
//	go test -run '^$' -bench . -count 10 | tee new.txt
//	benchstat -col /impl new.txt
//
// A profile of one contender's figure:
//
//	go test -run '^$' -bench 'Bulk/impl=seqack/mtu=1500' -cpuprofile cpu.out -memprofile mem.out

var idleConns = flag.Int("idleconns", 1000, "connections per BenchmarkIdle iteration")

// forEach runs f as a sub-benchmark for each contender, named impl=NAME.
func forEach(b *testing.B, f func(b *testing.B, im Impl)) {
	for _, im := range Impls() {
		b.Run("impl="+im.Name, func(b *testing.B) { f(b, im) })
	}
}

// withEnv runs f on a fresh Env of im with options o.
func withEnv(b *testing.B, im Impl, o Options, f func(env Env)) {
	env, err := im.New(o)
	if err != nil {
		b.Fatal(err)
	}
	defer env.Close()
	f(env)
}

// benchTiming makes a workload's clock the benchmark's timer.
func benchTiming(b *testing.B) timing {
	return timing{start: b.ResetTimer, stop: b.StopTimer}
}

// BenchmarkBulk is one stream at MTU 1500 and 65535: each op is one 64 KiB
// write, and the timer stops when the receiver has read them all.
func BenchmarkBulk(b *testing.B) {
	forEach(b, func(b *testing.B, im Impl) {
		for _, mtu := range []int{1500, 65535} {
			b.Run(fmt.Sprintf("mtu=%d", mtu), func(b *testing.B) {
				o := DefaultOptions()
				o.MTU = mtu
				withEnv(b, im, o, func(env Env) { benchBulk(b, env, 1) })
			})
		}
	})
}

// BenchmarkBulk8 is eight streams at once at MTU 1500; each op is one
// 64 KiB write, spread over the streams.
func BenchmarkBulk8(b *testing.B) {
	forEach(b, func(b *testing.B, im Impl) {
		withEnv(b, im, DefaultOptions(), func(env Env) { benchBulk(b, env, 8) })
	})
}

func benchBulk(b *testing.B, env Env, streams int) {
	const write = 64 << 10
	total := max(int64(b.N)*write, int64(streams))
	b.SetBytes(write)
	b.ReportAllocs()
	r, err := bulk(env, streams, total, write, benchTiming(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(r.Gbps(), "Gbit/s")
	b.ReportMetric(r.MallocsPerMiB(), "allocs/MiB")
}

// BenchmarkChurn is connect, one byte each way and close; each op is one
// connection, from one client or from 64 at once.
func BenchmarkChurn(b *testing.B) {
	forEach(b, func(b *testing.B, im Impl) {
		for _, clients := range []int{1, 64} {
			b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
				withEnv(b, im, DefaultOptions(), func(env Env) {
					b.ReportAllocs()
					if _, err := churn(env, clients, b.N, benchTiming(b)); err != nil {
						b.Fatal(err)
					}
				})
			})
		}
	})
}

// BenchmarkPingPong is one 64-byte round trip per op, with the percentiles
// as metrics.
func BenchmarkPingPong(b *testing.B) {
	forEach(b, func(b *testing.B, im Impl) {
		withEnv(b, im, DefaultOptions(), func(env Env) {
			b.ReportAllocs()
			rtts, err := pingPong(env, 64, 100, b.N, benchTiming(b))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(us(Percentile(rtts, 50)), "p50-µs")
			b.ReportMetric(us(Percentile(rtts, 99)), "p99-µs")
		})
	})
}

// BenchmarkIdle sets up -idleconns idle connections per op and reports the
// heap and goroutines they hold (seqack and gVisor only: the kernel's
// memory is not in the heap).
func BenchmarkIdle(b *testing.B) {
	for _, im := range Impls()[:2] {
		b.Run("impl="+im.Name, func(b *testing.B) {
			var last IdleResult
			for range b.N {
				env, err := im.New(DefaultOptions())
				if err != nil {
					b.Fatal(err)
				}
				last, err = Idle(env, *idleConns, DefaultConfig().PerPort)
				env.Close()
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(last.PerPair(), "bytes/conn-pair")
			b.ReportMetric(last.GoroutinesPerPair(), "goroutines/conn-pair")
		})
	}
}
