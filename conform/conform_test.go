package conform

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seqack/seqack/internal/netns"
)

// The targets the tests run scripts against: SEQACK_CONFORM_TARGETS, a
// comma-separated list of names ("seqack", "linux"), or every target
// built in. The Linux target needs root and namespaces: without them it is
// skipped (or fails, with SEQACK_REQUIRE_NETNS=1, as in CI).
func testTargets(t *testing.T) []string {
	env := os.Getenv("SEQACK_CONFORM_TARGETS")
	if env == "" {
		return TargetNames()
	}
	names := strings.Split(env, ",")
	for _, n := range names {
		if !slices.Contains(TargetNames(), n) {
			t.Fatalf("SEQACK_CONFORM_TARGETS names %q; the targets are %v", n, TargetNames())
		}
	}
	return names
}

// runScript runs the script at path against a fresh target by name,
// retrying a run on a real target that failed in timing, as the Runner does.
func runScript(t *testing.T, target, path string) error {
	t.Helper()
	if target != "seqack" {
		netns.Require(t)
	}
	s, err := ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := Runner{Logf: t.Logf, Tolerance: testTolerance(t)}
	return r.RunTarget(s, target)
}

// testTolerance is SEQACK_CONFORM_TOLERANCE (a duration such as 40ms), or
// zero for the Runner's default.
func testTolerance(t *testing.T) time.Duration {
	env := os.Getenv("SEQACK_CONFORM_TOLERANCE")
	if env == "" {
		return 0
	}
	d, err := time.ParseDuration(env)
	if err != nil || d <= 0 {
		t.Fatalf("SEQACK_CONFORM_TOLERANCE=%q is not a positive duration", env)
	}
	return d
}

// corpus returns the paths of the scripts under dir, sorted.
func corpus(t *testing.T, dir string) []string {
	var paths []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".pkt") {
			paths = append(paths, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return paths
}

// TestCorpus runs every script of the corpus against every target.
func TestCorpus(t *testing.T) {
	paths := corpus(t, "scripts")
	if len(paths) == 0 {
		t.Fatal("no scripts in scripts/")
	}
	for _, target := range testTargets(t) {
		t.Run(target, func(t *testing.T) {
			for _, path := range paths {
				name := strings.TrimSuffix(strings.TrimPrefix(filepath.ToSlash(path), "scripts/"), ".pkt")
				t.Run(name, func(t *testing.T) {
					if err := runScript(t, target, path); err != nil {
						t.Error(err)
					}
				})
			}
		})
	}
}

// TestTargetsAgree runs the scripts of testdata/api, which check how the
// targets map system calls and their errors, on every target.
func TestTargetsAgree(t *testing.T) {
	paths := corpus(t, "testdata/api")
	for _, target := range testTargets(t) {
		t.Run(target, func(t *testing.T) {
			for _, path := range paths {
				t.Run(strings.TrimSuffix(filepath.Base(path), ".pkt"), func(t *testing.T) {
					if err := runScript(t, target, path); err != nil {
						t.Error(err)
					}
				})
			}
		})
	}
}

// TestWrongScript checks that a script with an ACK off by one fails on
// every target, with a message that names the line of the ACK and shows
// what was expected and what was sent.
func TestWrongScript(t *testing.T) {
	const path = "testdata/wrong/ack-off-by-one.pkt"
	for _, target := range testTargets(t) {
		t.Run(target, func(t *testing.T) {
			err := runScript(t, target, path)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v, want a *conform.Error", err)
			}
			t.Log(err)
			if e.Line != 14 {
				t.Errorf("the error names line %d, want 14", e.Line)
			}
			for _, want := range []string{path + ":14: ", `expected "> . 1:1(0) ack 1002 <nop,nop,TS val 210 ecr 120>"`, `but saw "> . 1:1(0) ack 1001 win `} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the error does not say %q", want)
				}
			}
		})
	}
}

// TestReadme checks that the corpus README lists the Linux target's
// sysctls and the number of scripts in each folder.
func TestReadme(t *testing.T) {
	b, err := os.ReadFile("scripts/README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, s := range LinuxSysctls {
		if row := fmt.Sprintf("| `%s` | `%s` |", s.Name, s.Value); !strings.Contains(readme, row) {
			t.Errorf("the README does not list %s = %s (a row starting %s)", s.Name, s.Value, row)
		}
	}
	have := map[string]int{}
	for _, path := range corpus(t, "scripts") {
		folder, _, _ := strings.Cut(strings.TrimPrefix(filepath.ToSlash(path), "scripts/"), "/")
		have[folder]++
	}
	_, table, _ := strings.Cut(readme, "## The scripts")
	listed := map[string]int{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([^`]+)` \\| ([0-9]+) \\|").FindAllStringSubmatch(table, -1) {
		n, _ := strconv.Atoi(m[2])
		listed[m[1]] = n
	}
	for folder, n := range have {
		if listed[folder] != n {
			t.Errorf("the README lists %d scripts in %s; it has %d", listed[folder], folder, n)
		}
	}
	for folder, n := range listed {
		if have[folder] == 0 {
			t.Errorf("the README lists %d scripts in %s, which has none", n, folder)
		}
	}
}
