package tcp

import (
	"testing"
	"time"
)

// Our timestamp clock never goes back, even when the times it is given
// do (two goroutines of a stack each read the clock, then take turns with
// the connection): the peer's PAWS (RFC 7323 §5) would drop the segments.
func TestTimestampClockNeverGoesBack(t *testing.T) {
	c := NewConn(testID, nil, nil, nil)
	later := epoch.Add(10 * time.Millisecond)
	v1 := c.tsNow(later)
	v0 := c.tsNow(epoch) // a time read earlier, used later
	if int32(v0-v1) < 0 {
		t.Errorf("TSval went back from %d to %d", v1, v0)
	}
	if v2 := c.tsNow(later.Add(5 * time.Millisecond)); v2-v1 != 5 {
		t.Errorf("TSval 5 ms later = %d, want %d", v2, v1+5)
	}
}
