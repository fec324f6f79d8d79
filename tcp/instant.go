package tcp

import "time"

// An instant is a time as a Conn keeps it: nanoseconds since the
// connection's base time (Conn.at), in 8 bytes where a time.Time takes 24.
// A connection keeps more than a dozen times (timers, the last send, the
// last arrival), and a host may keep a million connections. The zero
// instant means none, as the zero time.Time does.
type instant int64

// IsZero reports whether i is the zero instant: none.
func (i instant) IsZero() bool { return i == 0 }

// Add returns the instant d after i.
func (i instant) Add(d time.Duration) instant { return i + instant(d) }

// Sub returns the duration i-j.
func (i instant) Sub(j instant) time.Duration { return time.Duration(i - j) }

// Before reports whether i is before j.
func (i instant) Before(j instant) bool { return i < j }

// After reports whether i is after j.
func (i instant) After(j instant) bool { return i > j }

// at returns now as an instant of the connection. The first call fixes the
// connection's base an hour before now, so that its instants are positive,
// never the zero "none" even if the caller's clock steps back a little.
// On the real clock the base carries a monotonic reading, and so instants
// measure monotonic time; on a virtual clock, the clock's own.
func (c *Conn) at(now time.Time) instant {
	if c.base.IsZero() {
		c.base = now.Add(-time.Hour)
	}
	return max(instant(now.Sub(c.base)), 1)
}

// timeOf returns the time of an instant of the connection, or the zero
// time for the zero instant.
func (c *Conn) timeOf(i instant) time.Time {
	if i == 0 {
		return time.Time{}
	}
	return c.base.Add(time.Duration(i))
}
