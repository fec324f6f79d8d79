package tcp

// Value is a TCP sequence number: arithmetic on it is modulo 2³² and
// comparisons are the circular ones of RFC 9293 §3.4, valid for values less
// than 2³¹ apart.
type Value uint32

// LessThan reports whether v comes before w.
func (v Value) LessThan(w Value) bool { return int32(v-w) < 0 }

// LessThanEq reports whether v comes before w or equals it.
func (v Value) LessThanEq(w Value) bool { return int32(v-w) <= 0 }

// GreaterThan reports whether v comes after w.
func (v Value) GreaterThan(w Value) bool { return int32(v-w) > 0 }

// GreaterThanEq reports whether v comes after w or equals it.
func (v Value) GreaterThanEq(w Value) bool { return int32(v-w) >= 0 }

// InWindow reports whether start ≤ v < start+size.
func (v Value) InWindow(start Value, size uint32) bool {
	return uint32(v-start) < size
}

// Add returns v advanced by n.
func (v Value) Add(n uint32) Value { return v + Value(n) }

// Sub returns the distance from w forward to v (v - w), which must not be
// negative.
func (v Value) Sub(w Value) uint32 { return uint32(v - w) }
