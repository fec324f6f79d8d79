package main

import (
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/seqack/seqack/conform"
)

func runConform(args []string, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("conform", flag.ContinueOnError)
	fset.SetOutput(stderr)
	target := fset.String("target", "seqack", "the system to test: "+strings.Join(conform.TargetNames(), ", ")+", or both")
	tolerance := fset.Duration("tolerance", conform.DefaultTolerance, "how far from its scripted time an event may happen on a real target (the Linux kernel); a virtual one is exact")
	retries := fset.Int("retries", conform.DefaultRetries, "how many times to run a script again on a real target when it failed in timing, which a loaded machine can cause")
	verbose := fset.Bool("v", false, "print every event as it runs, and what the system sent")
	fset.Usage = func() {
		fmt.Fprintf(stderr, `Usage: seqack conform [flags] PATH...

Runs packetdrill-style conformance scripts (.pkt files; a directory means
every script under it) against seqack, on a virtual clock, or against the
Linux kernel, through a TUN device in a private network namespace (which
needs root), or both. Prints PASS or FAIL for each script and target, with
the line that failed and why; exits 1 if any failed. For example:

	seqack conform conform/scripts
	sudo seqack conform --target both -v conform/scripts/handshake/passive-open.pkt

The syntax and the kernel settings are in conform/scripts/README.md.

Flags:
`)
		fset.PrintDefaults()
	}
	paths, err := parseArgs(fset, args)
	if err != nil {
		return flagExit(err)
	}
	targets := []string{*target}
	if *target == "both" {
		targets = conform.TargetNames()
	} else if !slices.Contains(conform.TargetNames(), *target) {
		fmt.Fprintf(stderr, "seqack conform: no target %q (there are: %s, both)\n", *target, strings.Join(conform.TargetNames(), ", "))
		return 2
	}
	if len(paths) == 0 {
		fmt.Fprintln(stderr, "seqack conform: want scripts or directories of scripts (-h for help)")
		return 2
	}
	scripts, err := findScripts(paths)
	if err != nil {
		fmt.Fprintf(stderr, "seqack conform: %v\n", err)
		return 1
	}
	var logf func(string, ...any)
	if *verbose {
		logf = func(format string, args ...any) { fmt.Fprintf(stdout, "\t"+format+"\n", args...) }
	}
	if *retries == 0 {
		*retries = -1 // the Runner's zero is its default
	}
	r := conform.Runner{Tolerance: *tolerance, Retries: *retries, Logf: logf}
	failed := 0
	for _, path := range scripts {
		for _, name := range targets {
			start := time.Now()
			err := runOne(&r, name, path)
			took := time.Since(start).Round(time.Millisecond)
			if err != nil {
				failed++
				fmt.Fprintf(stdout, "FAIL  %-7s %s (%v)\n      %v\n", name, path, took, err)
				continue
			}
			fmt.Fprintf(stdout, "PASS  %-7s %s (%v)\n", name, path, took)
		}
	}
	runs := len(scripts) * len(targets)
	if failed > 0 {
		fmt.Fprintf(stdout, "%d of %d runs failed\n", failed, runs)
		return 1
	}
	fmt.Fprintf(stdout, "all %d runs passed\n", runs)
	return 0
}

// runOne runs the script at path against a fresh target.
func runOne(r *conform.Runner, target, path string) error {
	s, err := conform.ParseFile(path)
	if err != nil {
		return err
	}
	return r.RunTarget(s, target)
}

// findScripts returns the scripts the paths name: each file as it is, and
// the .pkt files under each directory, in order.
func findScripts(paths []string) ([]string, error) {
	var scripts []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			scripts = append(scripts, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(path, ".pkt") {
				found = append(found, path)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("no .pkt scripts under %s", p)
		}
		scripts = append(scripts, found...)
	}
	return scripts, nil
}
