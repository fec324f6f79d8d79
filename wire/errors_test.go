package wire

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

var allErrors = []*Error{
	ErrIPv4TooShort, ErrIPv4Version, ErrIPv4HeaderLen, ErrIPv4TotalLen, ErrIPv4Checksum,
	ErrTCPTooShort, ErrTCPDataOffset, ErrTCPChecksum, ErrTCPOptionLen, ErrTCPOptionOverrun, ErrTCPOptionBadLen,
	ErrICMPTooShort, ErrICMPChecksum,
}

func TestErrors(t *testing.T) {
	if len(allErrors) != NumReasons {
		t.Fatalf("%d sentinels, NumReasons = %d", len(allErrors), NumReasons)
	}
	seen := map[Reason]bool{}
	for _, e := range allErrors {
		if seen[e.Reason] {
			t.Errorf("reason %d used twice", e.Reason)
		}
		seen[e.Reason] = true
		if e.Reason.Layer() != e.Layer {
			t.Errorf("%v: reason layer %v, error layer %v", e, e.Reason.Layer(), e.Layer)
		}
		msg := e.Error()
		if want := e.Layer.String() + ": " + e.Reason.String(); msg != want {
			t.Errorf("Error() = %q, want %q", msg, want)
		}
		if strings.Contains(msg, "Reason(") || strings.Contains(msg, "Layer(") {
			t.Errorf("unnamed: %q", msg)
		}
		wrapped := fmt.Errorf("drop: %w", e)
		if !errors.Is(wrapped, e) {
			t.Errorf("errors.Is(%v) failed", e)
		}
		var pe *Error
		if !errors.As(wrapped, &pe) || pe != e {
			t.Errorf("errors.As(%v) failed", e)
		}
	}
	if got := ErrTCPOptionOverrun.Error(); got != "tcp: option runs past header" {
		t.Errorf("ErrTCPOptionOverrun = %q", got)
	}
	if got := (&Error{LayerICMPv4, ReasonTCPChecksum}).Error(); got != "icmpv4: bad checksum" {
		t.Errorf("mismatched layer: %q", got)
	}
	if got := (&Error{Layer(9), Reason(200)}).Error(); got != "Layer(9): Reason(200)" {
		t.Errorf("out of range: %q", got)
	}
	if n := testing.AllocsPerRun(100, func() { _ = ErrTCPOptionLen.Error() }); n != 0 {
		t.Errorf("Error() allocates %v times", n)
	}
}
