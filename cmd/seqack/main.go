// Command seqack runs the seqack user-space TCP/IP stack.
//
// Usage:
//
//	seqack demo [flags]                 two hosts in one process, and the ladder of their connection
//	seqack serve [flags]                echo, discard and HTTP on a TUN device, for the kernel's tools
//	seqack dial [flags] HOST:PORT       like nc: standard input to a connection, the connection to standard output
//	seqack get [flags] URL [-o FILE]    an HTTP GET over seqack, with a progress bar
//	seqack stat [flags]                 the connection table and counters of a running seqack serve, like ss -tan
//	seqack trace [flags] FILE           the ladder of every TCP connection in a pcap or pcapng capture
//	seqack conform [flags] PATH...      run packetdrill-style scripts against seqack and the Linux kernel
//
// serve, dial and get run seqack as a host of its own on a Linux TUN
// device, with the kernel on the other side; they need root (or
// CAP_NET_ADMIN).
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
	{"demo", "two hosts in one process over a simulated link; prints the ladder of their connection", runDemo},
	{"serve", "serve echo, discard and HTTP on a TUN device, for curl, nc, ping and nmap to talk to", runServe},
	{"dial", "connect to HOST:PORT over a TUN device, like nc: stdin to the connection, the connection to stdout", runDial},
	{"get", "fetch a URL with HTTP over a TUN device, with a progress bar and the transfer rate", runGet},
	{"stat", "print the connection table (like ss -tan) and the counters of a running seqack serve", runStat},
	{"trace", "draw the ladder of every TCP connection in a pcap or pcapng capture", runTrace},
	{"conform", "run packetdrill-style conformance scripts against seqack and the Linux kernel", runConform},
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
