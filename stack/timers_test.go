package stack

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

var wheelEpoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// TestTimerQueueMatchesModel drives the wheel and a plain map of deadlines
// with the same random schedules, moves, cancels and clock steps (from
// microseconds to days, so that entries cascade down every level), and
// checks after every step that both agree on the exact earliest deadline
// and on what is due, in deadline order.
func TestTimerQueueMatchesModel(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			q := &timerQueue{}
			q.init(wheelEpoch)
			cs := make([]*Conn, 50)
			for i := range cs {
				cs[i] = &Conn{}
			}
			model := map[*Conn]time.Time{}
			now := wheelEpoch
			spans := []time.Duration{time.Microsecond, time.Millisecond, 70 * time.Millisecond,
				5 * time.Second, 5 * time.Minute, 20 * time.Hour, 24 * 400 * time.Hour}
			var buf []timerEntry
			for step := range 3000 {
				span := spans[rng.IntN(len(spans))]
				switch op := rng.IntN(10); {
				case op < 5:
					c := cs[rng.IntN(len(cs))]
					// Now and then a deadline already past.
					at := now.Add(time.Duration(rng.Int64N(int64(span))) - span/8)
					q.schedule(c, at)
					model[c] = at
				case op < 6:
					c := cs[rng.IntN(len(cs))]
					q.cancel(c)
					delete(model, c)
				default:
					now = now.Add(time.Duration(rng.Int64N(int64(span))))
					buf, _ = q.due(now, buf[:0])
					var want []timerEntry
					for c, at := range model {
						if !at.After(now) {
							want = append(want, timerEntry{at: at, c: c})
							delete(model, c)
						}
					}
					slices.SortFunc(want, func(a, b timerEntry) int { return a.at.Compare(b.at) })
					if len(buf) != len(want) {
						t.Fatalf("step %d: %d due, want %d", step, len(buf), len(want))
					}
					for i := range buf {
						if !buf[i].at.Equal(want[i].at) || buf[i].at.After(now) {
							t.Fatalf("step %d: due[%d] at %v, want %v (now %v)", step, i, buf[i].at, want[i].at, now)
						}
					}
				}
				var earliest time.Time
				for _, at := range model {
					if earliest.IsZero() || at.Before(earliest) {
						earliest = at
					}
				}
				if got := q.peek(); !got.Equal(earliest) {
					t.Fatalf("step %d: peek = %v, want %v", step, got, earliest)
				}
			}
		})
	}
}

// TestTimerQueueNextBounds checks the time due asks to be called again at:
// never after the earliest deadline, and exactly it once it is close.
func TestTimerQueueNextBounds(t *testing.T) {
	q := &timerQueue{}
	q.init(wheelEpoch)
	c := &Conn{}
	at := wheelEpoch.Add(3*time.Hour + 1234567)
	q.schedule(c, at)
	now := wheelEpoch
	for i := 0; ; i++ {
		buf, next := q.due(now, nil)
		if len(buf) == 1 {
			if !buf[0].at.Equal(at) || now.Before(at) {
				t.Fatalf("fired at %v for %v", now, buf[0].at)
			}
			return
		}
		if next.IsZero() || next.After(at) {
			t.Fatalf("next = %v, deadline %v", next, at)
		}
		if i > 2*wheelLevels {
			t.Fatalf("still not fired after %d calls", i)
		}
		now = next
	}
}

// BenchmarkTimers measures the connection timer queue with 100,000
// connections, each with one deadline: moving a deadline earlier (as a
// connection does when a delayed ACK or a probe comes due before its
// retransmission timer), and firing them all as the clock runs through
// them in 1 ms steps. ns/op is per deadline moved or fired.
func BenchmarkTimers(b *testing.B) {
	const n = 100_000
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	setup := func() (*timerQueue, []*Conn) {
		q := &timerQueue{}
		q.init(base)
		cs := make([]*Conn, n)
		for i := range cs {
			cs[i] = &Conn{}
		}
		return q, cs
	}
	b.Run(fmt.Sprintf("schedule/conns=%d", n), func(b *testing.B) {
		q, cs := setup()
		rng := rand.New(rand.NewPCG(1, 2))
		// Every connection starts with a deadline far off; each operation
		// moves one earlier, within the next 10 s.
		for _, c := range cs {
			q.schedule(c, base.Add(time.Hour))
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			c := cs[i%n]
			q.schedule(c, base.Add(time.Duration(rng.Int64N(int64(10*time.Second)))))
		}
	})
	b.Run(fmt.Sprintf("fire/conns=%d", n), func(b *testing.B) {
		rng := rand.New(rand.NewPCG(1, 2))
		var buf []timerEntry
		b.ReportAllocs()
		for range b.N/n + 1 {
			b.StopTimer()
			q, cs := setup()
			for _, c := range cs {
				q.schedule(c, base.Add(time.Duration(rng.Int64N(int64(time.Second)))))
			}
			b.StartTimer()
			fired := 0
			for t := base; fired < n; t = t.Add(time.Millisecond) {
				buf, _ = q.due(t, buf[:0])
				fired += len(buf)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64((b.N/n+1)*n), "ns/fire")
	})
}
