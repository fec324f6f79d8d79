package stack

import (
	"math/bits"
	"slices"
	"sync"
	"time"
)

// timerQueue holds the next deadline of every connection that has one, in
// one hierarchical timing wheel served by one goroutine: no timer or
// goroutine per connection, and no allocation to schedule, move or cancel
// a deadline. Each connection has one entry (Conn.tn), which moves when
// the connection's deadline does.
//
// The wheel (Varghese and Lauck's scheme 7, with cascading) counts time in
// ticks of 2^20 ns (about 1 ms) from a base time. Level L has 64 slots of
// 64^L ticks each; an entry sits at the level of the highest base-64 digit
// in which its tick differs from the current tick, in the slot that digit
// names. As the current tick reaches a slot of level L > 0, the slot's
// entries move down to the levels below; at level 0 a slot is a single
// tick, whose entries are due. So every entry is moved at most once per
// level, scheduling and cancelling are O(1), and the wheel jumps straight
// over empty stretches of time (a virtual clock may leap hours at once).
//
// Entries keep their exact deadlines: an entry fires only once the clock
// has reached it, not at the start of its tick, and peek returns the exact
// earliest deadline, as a simulator needs.
type timerQueue struct {
	mu       sync.Mutex
	base     time.Time // tick 0
	cur      uint64    // the current tick: every entry is due at or after it
	occupied [wheelLevels]uint64
	slots    [wheelLevels][wheelSlots]*timerNode

	// min caches the earliest deadline (ns from base) when minOK.
	min   int64
	minOK bool

	// sleepUntil is when the timer goroutine will next look at the queue
	// (ns from base); a deadline scheduled before it kicks the goroutine.
	sleepUntil int64
	kick       chan struct{}
}

// A timerNode is a connection's entry in the wheel. Its fields are guarded
// by the queue's mu.
type timerNode struct {
	next, prev *timerNode
	c          *Conn
	ns         int64 // the deadline, in ns from the queue's base (exact)
	level      uint8
	slot       uint8
	linked     bool
}

// A timerEntry is a deadline that has come: c.fireTimer(at) runs it.
type timerEntry struct {
	at time.Time
	c  *Conn
}

const (
	wheelTickShift = 20 // a tick is 2^20 ns, 1.049 ms
	wheelSlotBits  = 6
	wheelSlots     = 1 << wheelSlotBits
	// Ticks are below 2^43 (a non-negative int64 of nanoseconds, shifted
	// right by 20): 8 levels of 6 bits cover them all.
	wheelLevels = 8
	noSleep     = int64(^uint64(0) >> 1)
)

func (q *timerQueue) init(base time.Time) {
	q.base = base
	q.kick = make(chan struct{}, 1)
	q.sleepUntil = noSleep
}

// offset returns t as nanoseconds after the base (negative before it).
func (q *timerQueue) offset(t time.Time) int64 { return t.Sub(q.base).Nanoseconds() }

// tickOf returns the tick of a time in ns from the base; times before the
// base are in tick 0.
func tickOf(ns int64) uint64 { return uint64(max(ns, 0)) >> wheelTickShift }

// schedule sets c's deadline in the queue to at: c.fireTimer(at) runs once
// the clock reaches at. An earlier deadline of c's is replaced.
func (q *timerQueue) schedule(c *Conn, at time.Time) {
	ns := q.offset(at)
	q.mu.Lock()
	n := &c.tn
	if n.linked {
		q.unlink(n)
	}
	n.c, n.ns = c, ns
	q.insert(n)
	if q.minOK && ns < q.min {
		q.min = ns
	}
	kick := ns < q.sleepUntil
	if kick {
		q.sleepUntil = ns // one kick is enough until the goroutine looks again
	}
	q.mu.Unlock()
	if kick {
		select {
		case q.kick <- struct{}{}:
		default:
		}
	}
}

// cancel removes c's deadline, if it has one.
func (q *timerQueue) cancel(c *Conn) {
	q.mu.Lock()
	if n := &c.tn; n.linked {
		q.unlink(n)
		n.c = nil
	}
	q.mu.Unlock()
}

// insert links n into the slot its deadline belongs to. q.mu is held.
func (q *timerQueue) insert(n *timerNode) {
	tick := tickOf(n.ns)
	level, slot := 0, int(q.cur&(wheelSlots-1))
	if tick > q.cur {
		level = (bits.Len64(tick^q.cur) - 1) / wheelSlotBits
		slot = int(tick>>(level*wheelSlotBits)) & (wheelSlots - 1)
	}
	head := &q.slots[level][slot]
	n.level, n.slot, n.linked = uint8(level), uint8(slot), true
	n.prev, n.next = nil, *head
	if *head != nil {
		(*head).prev = n
	}
	*head = n
	q.occupied[level] |= 1 << slot
}

// unlink takes n out of its slot. q.mu is held.
func (q *timerQueue) unlink(n *timerNode) {
	head := &q.slots[n.level][n.slot]
	if n.prev != nil {
		n.prev.next = n.next
	} else {
		*head = n.next
	}
	if n.next != nil {
		n.next.prev = n.prev
	}
	if *head == nil {
		q.occupied[n.level] &^= 1 << n.slot
	}
	n.next, n.prev, n.linked = nil, nil, false
	if q.minOK && n.ns == q.min {
		q.minOK = false
	}
}

// first returns the lowest level that holds entries, its first slot in
// time order, and the tick that slot starts at. Every entry of the wheel is
// at or after that tick. q.mu is held.
func (q *timerQueue) first() (level, slot int, start uint64, ok bool) {
	for level = range wheelLevels {
		if occ := q.occupied[level]; occ != 0 {
			// An entry of level L differs from the current tick in digit
			// L, and is later: its slot is past the current one, so the
			// lowest occupied slot comes first.
			slot = bits.TrailingZeros64(occ)
			shift := uint(level * wheelSlotBits)
			start = q.cur>>(shift+wheelSlotBits)<<(shift+wheelSlotBits) | uint64(slot)<<shift
			return level, slot, max(start, q.cur), true
		}
	}
	return 0, 0, 0, false
}

// take empties a slot and returns its list. q.mu is held.
func (q *timerQueue) take(level, slot int) *timerNode {
	l := q.slots[level][slot]
	q.slots[level][slot] = nil
	q.occupied[level] &^= 1 << slot
	return l
}

// due removes the entries due at now and appends them to buf, in the order
// of their deadlines, and returns buf with a time at which to look again
// (zero if the queue is empty): the next deadline, or, if that is far off,
// an earlier moment at which the wheel moves entries toward it.
func (q *timerQueue) due(now time.Time, buf []timerEntry) ([]timerEntry, time.Time) {
	nowNs := q.offset(now)
	target := tickOf(nowNs)
	q.mu.Lock()
	defer q.mu.Unlock()
	n0 := len(buf)
	for {
		level, slot, start, ok := q.first()
		if !ok || start > target {
			break
		}
		q.cur = start
		l := q.take(level, slot)
		if level > 0 {
			// Cascade: every entry lands on a lower level.
			for n := l; n != nil; {
				next := n.next
				q.insert(n)
				n = next
			}
			continue
		}
		for n := l; n != nil; {
			next := n.next
			if n.ns <= nowNs {
				n.next, n.prev, n.linked = nil, nil, false
				buf = append(buf, timerEntry{at: q.base.Add(time.Duration(n.ns)), c: n.c})
				if q.minOK && n.ns == q.min {
					q.minOK = false
				}
			} else {
				q.insert(n) // later in the current tick: stays
			}
			n = next
		}
		if start == target {
			break
		}
	}
	q.cur = max(q.cur, target)
	if len(buf)-n0 > 1 {
		slices.SortStableFunc(buf[n0:], func(a, b timerEntry) int { return a.at.Compare(b.at) })
	}
	next, ok := q.nextLocked()
	if !ok {
		q.sleepUntil = noSleep
		return buf, time.Time{}
	}
	q.sleepUntil = next
	return buf, q.base.Add(time.Duration(next))
}

// nextLocked returns, in ns from the base, when due should next be called:
// the exact earliest deadline if it is on level 0, otherwise the start of
// the slot that holds it (the entries there then move down). It reports
// false if the queue is empty. q.mu is held.
func (q *timerQueue) nextLocked() (int64, bool) {
	level, _, start, ok := q.first()
	switch {
	case !ok:
		return 0, false
	case level == 0:
		return q.minLocked()
	}
	return int64(start << wheelTickShift), true
}

// minLocked returns the earliest deadline, in ns from the base; it reports
// false if the queue is empty. q.mu is held.
func (q *timerQueue) minLocked() (int64, bool) {
	if q.minOK {
		return q.min, true
	}
	level, slot, _, ok := q.first()
	if !ok {
		return 0, false
	}
	// The first slot of the lowest occupied level holds the earliest
	// deadline: every entry of a higher level is later than any of it.
	m := int64(noSleep)
	for n := q.slots[level][slot]; n != nil; n = n.next {
		m = min(m, n.ns)
	}
	q.min, q.minOK = m, true
	return m, true
}

// peek returns the exact earliest deadline in the queue, or the zero time.
func (q *timerQueue) peek() time.Time {
	q.mu.Lock()
	defer q.mu.Unlock()
	if m, ok := q.minLocked(); ok {
		return q.base.Add(time.Duration(m))
	}
	return time.Time{}
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
// at which to look again (zero if none), reusing buf as scratch space.
func (s *Stack) fireDue(buf []timerEntry) ([]timerEntry, time.Time) {
	now := s.now()
	buf, next := s.timers.due(now, buf[:0])
	for i, e := range buf {
		e.c.fireTimer(e.at)
		buf[i] = timerEntry{}
	}
	return buf[:0], s.expireTimeWaits(now, next)
}
