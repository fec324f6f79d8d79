package conform

import (
	"fmt"
	"slices"
	"strings"
)

// targetMakers make a fresh target by name, for one script each. logf, if
// not nil, receives a target's notes.
var targetMakers = map[string]func(logf func(string, ...any)) (Target, error){
	"seqack": func(func(string, ...any)) (Target, error) { return NewSeqack(SeqackOptions{Seed: 1}) },
	"linux":  func(logf func(string, ...any)) (Target, error) { return NewLinux(LinuxOptions{Logf: logf}) },
}

// TargetNames returns the names NewTarget knows, sorted.
func TargetNames() []string {
	var names []string
	for n := range targetMakers {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// NewTarget makes a fresh target by name: "seqack" (seed 1), or "linux"
// where the Linux target is built in. logf, if not nil, receives the
// target's notes.
func NewTarget(name string, logf func(format string, args ...any)) (Target, error) {
	mk, ok := targetMakers[name]
	if !ok {
		return nil, fmt.Errorf("conform: no target %q (there are: %s)", name, strings.Join(TargetNames(), ", "))
	}
	return mk(logf)
}
