package trace

import "sync"

// A Recorder is a [Sink] that keeps a copy of every event it receives, for
// rendering afterwards. It is safe for concurrent use; the zero value is
// ready to use.
type Recorder struct {
	mu     sync.Mutex
	events []Event
}

// Emit appends a copy of e to the recorded events.
func (r *Recorder) Emit(e *Event) {
	r.mu.Lock()
	r.events = append(r.events, *e)
	r.mu.Unlock()
}

// Events returns a copy of the events recorded so far, in the order they
// were emitted.
func (r *Recorder) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// Reset discards the recorded events.
func (r *Recorder) Reset() {
	r.mu.Lock()
	r.events = nil
	r.mu.Unlock()
}
