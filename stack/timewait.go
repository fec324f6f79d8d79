package stack

import (
	"sync"
	"time"

	"github.com/seqack/seqack/tcp"
	"github.com/seqack/seqack/wire"
)

// timeWaits is the stack's table of connections in TIME-WAIT. A connection
// that enters TIME-WAIT leaves the connection table for this one, as a
// tcp.TimeWaitEntry of 144 bytes: its Conn, buffers and all, is then
// garbage unless the application still holds it. Lookups try the
// connection table first, then this one (tcpInput).
//
// Every entry lasts 2×MSL from when it began or was last restarted, and
// MSL is the same for every connection of the stack, so expiries come in
// the order the entries were queued: a FIFO serves as the timer, with no
// per-entry timer and O(1) work per entry. An entry has one record in the
// queue, whatever its peer sends: a restart (a retransmitted FIN) only
// moves the entry's expiry, and when its record comes up early it is
// queued again, at the back (see expireTimeWaits).
type timeWaits struct {
	mu    sync.Mutex // after Stack.mu, if both are held
	table map[connKey]*tcp.TimeWaitEntry
	queue []twRecord // queue[head:], in order of expiry
	head  int
}

// A twRecord is an entry's place in the expiry queue.
type twRecord struct {
	tw *tcp.TimeWaitEntry
	at time.Time // the entry's expiry when queued
}

// lookupLocked returns the entry for id, or nil. q.mu is held.
func (q *timeWaits) lookupLocked(id tcp.ID) *tcp.TimeWaitEntry { return q.table[keyOf(id)] }

// pushLocked queues tw to expire at its current expiry (or at the time of
// the back of the queue, if that is later), and reports
// whether the queue was empty. q.mu is held.
func (q *timeWaits) pushLocked(tw *tcp.TimeWaitEntry) bool {
	empty := q.head == len(q.queue)
	if empty {
		q.queue, q.head = q.queue[:0], 0
	} else if q.head > 1024 && q.head > len(q.queue)/2 {
		// Slide the live records down rather than grow for ever.
		n := copy(q.queue, q.queue[q.head:])
		clear(q.queue[n:])
		q.queue, q.head = q.queue[:n], 0
	}
	at := tw.Expires()
	if n := len(q.queue); n > q.head && q.queue[n-1].at.After(at) {
		at = q.queue[n-1].at // keep the queue in order of time
	}
	q.queue = append(q.queue, twRecord{tw: tw, at: at})
	return empty
}

// nextLocked returns the expiry of the first record, or the zero time.
// q.mu is held.
func (q *timeWaits) nextLocked() time.Time {
	if q.head == len(q.queue) {
		return time.Time{}
	}
	return q.queue[q.head].at
}

// removeLocked takes tw out of the table (its records are skipped when
// they come up). q.mu is held.
func (q *timeWaits) removeLocked(tw *tcp.TimeWaitEntry) {
	if k := keyOf(tw.ID()); q.table[k] == tw {
		delete(q.table, k)
		if len(q.table) == 0 {
			// A map does not shrink: let a table that held a million
			// entries go with them.
			q.table = nil
		}
	}
}

// addTimeWait puts the TIME-WAIT entry of a connection that has just been
// compacted into the table, unless a segment ended it meanwhile, or the
// table holds Config.MaxTimeWait entries already, in which case the
// connection goes straight to CLOSED, as Linux's inet_twsk_alloc fails
// at tcp_max_tw_buckets.
func (s *Stack) addTimeWait(tw *tcp.TimeWaitEntry) {
	q := &s.timeWait
	q.mu.Lock()
	if tw.State() != tcp.TimeWait || isClosed(s.done) {
		q.mu.Unlock()
		return
	}
	if max := s.cfg.MaxTimeWait; max > 0 && len(q.table) >= max {
		tw.Abort(s.now(), s.sink)
		q.mu.Unlock()
		s.stats.tcpTimeWaitOverflow.Add(1)
		return
	}
	if q.table == nil {
		q.table = make(map[connKey]*tcp.TimeWaitEntry)
	}
	q.table[keyOf(tw.ID())] = tw
	first := q.pushLocked(tw)
	q.mu.Unlock()
	if first {
		// The timer goroutine may be asleep until a later deadline, or
		// none: wake it to take this one into account. Later entries
		// expire after this one.
		s.kickTimers()
	}
}

// timeWaitInput hands a segment to the TIME-WAIT entry for id, if there is
// one, and reports whether it took the segment: false if there is none, or
// if the segment is a SYN that reopens the connection (RFC 1122
// §4.2.2.13, RFC 6191), which a listener is then to take.
func (s *Stack) timeWaitInput(id tcp.ID, seg *tcp.Segment) bool {
	q := &s.timeWait
	q.mu.Lock()
	tw := q.lookupLocked(id)
	q.mu.Unlock()
	return tw != nil && s.inputTimeWait(tw, seg)
}

// inputTimeWait hands a segment to tw, as timeWaitInput.
func (s *Stack) inputTimeWait(tw *tcp.TimeWaitEntry, seg *tcp.Segment) bool {
	// A new SYN may take the 4-tuple if a listener is there to take the
	// SYN; if none is, TIME-WAIT answers it, as Linux does (TCP_TW_SYN
	// with no listener is TCP_TW_ACK). (Looked up before q.mu, which
	// comes after s.mu.)
	syn := seg.Flags&(wire.FlagSYN|wire.FlagACK|wire.FlagRST) == wire.FlagSYN
	listening := syn && s.lookupListener(tw.ID().Local) != nil
	q := &s.timeWait
	q.mu.Lock()
	defer q.mu.Unlock()
	if tw.State() != tcp.TimeWait {
		return false // ended meanwhile: treat the segment as for no connection
	}
	// The time is read under the lock, so that the timestamps of the
	// entry's answers never go back (see Conn.input).
	now := s.now()
	if listening && tw.Reopens(seg) {
		tw.Abort(now, s.sink)
		q.removeLocked(tw)
		return false
	}
	if tw.Input(seg, now, statelessSender{s}, s.sink) {
		q.removeLocked(tw) // a reset
	}
	// A retransmitted FIN restarts the 2×MSL: the entry's record, when it
	// comes up, finds the expiry later and queues the entry again. (A
	// record per restart would let a peer that keeps resending its FIN
	// grow the queue as fast as it sends.)
	return true
}

// expireTimeWaits ends the TIME-WAIT entries whose 2×MSL has passed at
// now, and returns the earlier of next and the next expiry.
func (s *Stack) expireTimeWaits(now, next time.Time) time.Time {
	q := &s.timeWait
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.head < len(q.queue) {
		r := q.queue[q.head]
		if r.at.After(now) {
			break
		}
		q.queue[q.head] = twRecord{}
		q.head++
		switch {
		case r.tw.State() != tcp.TimeWait:
			// Ended meanwhile (a reset, a reopening SYN): nothing to do.
		case r.tw.Expires().After(now):
			// Restarted since it was queued: queue it again. The back of
			// the queue may be later than its expiry, by at most 2×MSL
			// (an entry restarted just after it was queued, whose record
			// comes up when the newest record is 2×MSL away), so that
			// such an entry ends late, never early.
			q.pushLocked(r.tw)
		case r.tw.Expire(now, s.sink):
			q.removeLocked(r.tw)
		}
	}
	if q.head == len(q.queue) {
		q.queue, q.head = nil, 0
		return next
	}
	if at := q.queue[q.head].at; next.IsZero() || at.Before(next) {
		return at
	}
	return next
}

// nextTimeWait returns when the first TIME-WAIT entry expires, or the zero
// time.
func (s *Stack) nextTimeWait() time.Time {
	q := &s.timeWait
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.nextLocked()
}

// closeTimeWaits ends every TIME-WAIT entry, when the stack closes.
func (s *Stack) closeTimeWaits() {
	q := &s.timeWait
	q.mu.Lock()
	defer q.mu.Unlock()
	now := s.now()
	for _, tw := range q.table {
		tw.Abort(now, s.sink)
	}
	q.table, q.queue, q.head = nil, nil, 0
}

// timeWaitCount returns the number of connections in TIME-WAIT.
func (s *Stack) timeWaitCount() int {
	q := &s.timeWait
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.table)
}

// timeWaitUsedLocked reports whether a TIME-WAIT entry holds id. s.mu is
// held.
func (s *Stack) timeWaitUsedLocked(id tcp.ID) bool {
	q := &s.timeWait
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.table[keyOf(id)] != nil
}

// timeWaitPortLocked reports whether a TIME-WAIT entry uses the local
// port. s.mu is held.
func (s *Stack) timeWaitPortLocked(port uint16) bool {
	q := &s.timeWait
	q.mu.Lock()
	defer q.mu.Unlock()
	for k := range q.table {
		if k.lport == port {
			return true
		}
	}
	return false
}

// timeWaitInfosLocked returns the TIME-WAIT entries as ConnInfos, but for
// those whose Conn is still in the connection table (skip). s.mu is held.
func (s *Stack) timeWaitInfosLocked(skip map[connKey]*Conn) []ConnInfo {
	q := &s.timeWait
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]ConnInfo, 0, len(q.table))
	for k, tw := range q.table {
		if _, dup := skip[k]; !dup {
			out = append(out, ConnInfo{ID: tw.ID(), State: tw.State()})
		}
	}
	return out
}

// timeWaitState returns the state of a connection handed over to tw.
func (s *Stack) timeWaitState(tw *tcp.TimeWaitEntry) tcp.State {
	q := &s.timeWait
	q.mu.Lock()
	defer q.mu.Unlock()
	return tw.State()
}

// kickTimers wakes the timer goroutine to look at the deadlines again.
func (s *Stack) kickTimers() {
	select {
	case s.timers.kick <- struct{}{}:
	default:
	}
}
