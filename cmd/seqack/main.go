// Command seqack runs the seqack user-space TCP/IP stack.
//
// Usage:
//
//	seqack demo [flags]    two hosts in one process, and the ladder of their connection
//
// Run "seqack COMMAND -h" for a command's flags.
package main

import (
	"fmt"
	"io"
	"os"
)

// command is one subcommand of seqack.
type command struct {
	name, summary string
	run           func(args []string, stdout, stderr io.Writer) int
}

var commands = []command{
	{"demo", "two hosts in one process over an in-memory link; prints the ladder of their connection", runDemo},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line args and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "seqack: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "seqack is a user-space TCP/IP stack.\n\nUsage:\n\n")
	for _, c := range commands {
		fmt.Fprintf(w, "\tseqack %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'seqack COMMAND -h' for a command's flags.\n")
}
