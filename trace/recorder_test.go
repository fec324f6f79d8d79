package trace

import (
	"sync"
	"testing"
)

func TestRecorder(t *testing.T) {
	var r Recorder
	e := Event{Kind: StateChanged, Local: client, Remote: server, From: "CLOSED", To: "SYN_SENT"}
	r.Emit(&e)
	e.To = "changed by the emitter" // the recorder kept a copy
	got := r.Events()
	if len(got) != 1 || got[0].To != "SYN_SENT" {
		t.Fatalf("Events = %+v", got)
	}
	got[0].To = "changed by the caller" // and handed out a copy
	if r.Events()[0].To != "SYN_SENT" {
		t.Error("changing the result of Events changed the recorder")
	}
	r.Reset()
	if n := len(r.Events()); n != 0 {
		t.Errorf("%d events after Reset", n)
	}
}

func TestRecorderConcurrent(t *testing.T) {
	const goroutines, each = 8, 1000
	var (
		r  Recorder
		wg sync.WaitGroup
	)
	var sink Sink = &r
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				sink.Emit(&Event{Kind: TimerFired, Timer: "retransmit"})
			}
		}()
	}
	for range 10 {
		r.Events() // reading while others write
	}
	wg.Wait()
	if n := len(r.Events()); n != goroutines*each {
		t.Errorf("recorded %d events, want %d", n, goroutines*each)
	}
}
