package stack

import (
	"container/heap"
	"sync"
	"time"
)

// timerQueue holds the next deadline of every connection that has one, in
// one heap served by one goroutine: no timer or goroutine per connection.
type timerQueue struct {
	mu   sync.Mutex
	h    timerHeap
	kick chan struct{} // a new earliest deadline was added
}

type timerEntry struct {
	at time.Time
	c  *Conn
}

type timerHeap []timerEntry

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h timerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)        { *h = append(*h, x.(timerEntry)) }
func (h *timerHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = timerEntry{}
	*h = old[:len(old)-1]
	return e
}

func (q *timerQueue) init() { q.kick = make(chan struct{}, 1) }

// schedule asks for c.fireTimer(at) at time at.
func (q *timerQueue) schedule(c *Conn, at time.Time) {
	q.mu.Lock()
	heap.Push(&q.h, timerEntry{at: at, c: c})
	first := q.h[0].c == c && q.h[0].at.Equal(at)
	q.mu.Unlock()
	if first {
		select {
		case q.kick <- struct{}{}:
		default:
		}
	}
}

// due pops the entries due at now and returns them, with the time of the
// next one (zero if none).
func (q *timerQueue) due(now time.Time, buf []timerEntry) ([]timerEntry, time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.h) > 0 && !q.h[0].at.After(now) {
		buf = append(buf, heap.Pop(&q.h).(timerEntry))
	}
	if len(q.h) > 0 {
		return buf, q.h[0].at
	}
	return buf, time.Time{}
}

// timerLoop runs the connections' timers until the stack closes.
func (s *Stack) timerLoop() {
	defer s.wg.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	var buf []timerEntry
	for {
		var next time.Time
		buf, next = s.fireDue(buf)
		wait := time.Hour
		if !next.IsZero() {
			wait = max(time.Until(next), 0)
		}
		t.Reset(wait)
		select {
		case <-t.C:
		case <-s.timers.kick:
		case <-s.done:
			return
		}
	}
}

// fireDue fires every connection timer due at s.now() and returns the time
// of the next one (zero if none), reusing buf as scratch space.
func (s *Stack) fireDue(buf []timerEntry) ([]timerEntry, time.Time) {
	buf, next := s.timers.due(s.now(), buf[:0])
	for i, e := range buf {
		e.c.fireTimer(e.at)
		buf[i] = timerEntry{}
	}
	return buf[:0], next
}

// peek returns the earliest deadline in the queue, or the zero time.
func (q *timerQueue) peek() time.Time {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.h) == 0 {
		return time.Time{}
	}
	return q.h[0].at
}
