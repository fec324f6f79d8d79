package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestConformCommand(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"conform", "--target", "seqack", "../../conform/scripts/handshake"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d, want 0\n%s%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "PASS  seqack  ../../conform/scripts/handshake/passive-open.pkt") ||
		!strings.Contains(out.String(), "runs passed") {
		t.Errorf("output:\n%s", out.String())
	}

	out.Reset()
	const wrong = "../../conform/testdata/wrong/ack-off-by-one.pkt"
	if code := run([]string{"conform", "-v", wrong}, &out, &errb); code != 1 {
		t.Fatalf("exit %d for the wrong script, want 1\n%s", code, out.String())
	}
	// -v prints each event as it runs.
	for _, want := range []string{"FAIL  seqack  " + wrong, wrong + ":14: expected", "1 of 1 runs failed", "\t" + wrong + ":3: 0 socket("} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	for _, args := range [][]string{{"conform"}, {"conform", "--target", "bsd", "x.pkt"}} {
		if code := run(args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
