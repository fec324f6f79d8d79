package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

func runStat(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("stat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var control, tun string
	var countersOnly, all bool
	fs.StringVar(&control, "control", "", "the control socket `path` of the seqack serve to ask (default: the one for --tun)")
	fs.StringVar(&tun, "tun", "seqack0", "ask the seqack serve running on this TUN `device`")
	fs.BoolVar(&countersOnly, "c", false, "print the counters only, not the connection table")
	fs.BoolVar(&all, "a", false, "print every counter, those still zero too")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: seqack stat [flags]

Prints the connection table of a running "seqack serve", as "ss -tan"
does (state, receive and send queues, local and peer address; for a
listener, the accept queue and its backlog), then its counters: the
stack's, each listener's, the device's and the process's. Counters still
zero are left out unless -a is given.

seqack serve answers on a Unix socket, /run/seqack/DEVICE.sock (or
%s when /run is not writable) unless its --control flag says
otherwise; stat finds it by --tun or --control, from any network namespace.

Flags:
`, filepath.Join(os.TempDir(), "seqack", "DEVICE.sock"))
		fs.PrintDefaults()
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "seqack stat: unexpected argument %q\n", pos[0])
		return 2
	}
	paths := []string{control}
	if control == "" {
		paths = controlCandidates(tun)
	}
	snap, err := fetchSnapshot(paths)
	if err != nil {
		fmt.Fprintf(stderr, "seqack stat: %v\n", err)
		return 1
	}
	if !countersOnly {
		printTable(stdout, snap)
		fmt.Fprintln(stdout)
	}
	printCounters(stdout, snap, all)
	return 0
}

// fetchSnapshot asks the first of paths where a serve answers.
func fetchSnapshot(paths []string) (*snapshot, error) {
	var errs []error
	for _, p := range paths {
		c, err := net.DialTimeout("unix", p, 5*time.Second)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		var snap snapshot
		if err := json.NewDecoder(c).Decode(&snap); err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, err)
		}
		return &snap, nil
	}
	return nil, fmt.Errorf("no seqack serve answers (is one running?): %w", errors.Join(errs...))
}

// printTable prints the listeners and connections as "ss -tan" does:
// for a listener, Recv-Q is its accept queue and Send-Q its backlog.
func printTable(w io.Writer, snap *snapshot) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "State\tRecv-Q\tSend-Q\tLocal Address:Port\tPeer Address:Port")
	for _, l := range snap.Listeners {
		fmt.Fprintf(tw, "LISTEN\t%d\t%d\t%s\t0.0.0.0:*\n", l.AcceptQueue, l.Backlog, l.Local)
	}
	for _, c := range snap.Conns {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", c.State, c.RecvQ, c.SendQ, c.Local, c.Remote)
	}
	tw.Flush()
}

// printCounters prints each group of counters, and each listener's, one
// "Name value" line each, leaving out zeros unless all is set.
func printCounters(w io.Writer, snap *snapshot, all bool) {
	group := func(title string, cs []counter) {
		fmt.Fprintf(w, "%s:\n", title)
		var show []counter
		wn, wv := 0, 0
		for _, c := range cs {
			if c.Value != 0 || all {
				show = append(show, c)
				wn, wv = max(wn, len(c.Name)), max(wv, len(strconv.FormatUint(c.Value, 10)))
			}
		}
		for _, c := range show {
			fmt.Fprintf(w, "  %-*s  %*d\n", wn, c.Name, wv, c.Value)
		}
	}
	for i, g := range snap.Counters {
		if i > 0 {
			fmt.Fprintln(w)
		}
		title := strings.ToUpper(g.Name[:1]) + g.Name[1:]
		if g.Name == "device" && snap.Device != "" {
			title += " " + snap.Device
		}
		group(title, g.Counters)
		if g.Name == "stack" {
			for _, l := range snap.Listeners {
				fmt.Fprintln(w)
				group(fmt.Sprintf("Listener %s (half-open %d of %d, accept queue %d of %d)",
					l.Local, l.HalfOpen, l.SynBacklog, l.AcceptQueue, l.Backlog), l.Counters)
			}
		}
	}
}
