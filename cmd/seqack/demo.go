package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/seqack/seqack/link"
	"github.com/seqack/seqack/stack"
	"github.com/seqack/seqack/tcp"
	"github.com/seqack/seqack/trace"
	"github.com/seqack/seqack/wire"
)

// demoOptions are the flags of "seqack demo".
type demoOptions struct {
	message           string
	serverClosesFirst bool
	simultaneousClose bool
	relative          bool
	msl               time.Duration
}

func runDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o demoOptions
	fs.StringVar(&o.message, "message", "hello, seqack", "the message the client sends")
	fs.BoolVar(&o.serverClosesFirst, "server-closes-first", false, "the server closes first (active close on the server)")
	fs.BoolVar(&o.simultaneousClose, "simultaneous-close", false, "both sides close at the same moment (both pass through CLOSING)")
	fs.BoolVar(&o.relative, "relative", false, "show sequence numbers relative to each side's ISN, as Wireshark does")
	fs.DurationVar(&o.msl, "msl", 250*time.Millisecond, "maximum segment lifetime; TIME_WAIT lasts 2×MSL (Linux: 30s, so 60s)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: seqack demo [flags]

Runs two hosts in one process, a client at 10.0.0.1 and a server at 10.0.0.2,
joined by an in-memory link. The client connects to port 80, sends a message,
the server answers, and both close. Every segment and every state change is
traced, and the connection is printed as a ladder diagram: the three-way
handshake, the data and its ACKs, and the four-way close.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "seqack demo: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if o.serverClosesFirst && o.simultaneousClose {
		fmt.Fprintln(stderr, "seqack demo: --server-closes-first and --simultaneous-close exclude each other")
		return 2
	}
	if o.msl <= 0 {
		fmt.Fprintln(stderr, "seqack demo: --msl must be positive")
		return 2
	}
	if o.message == "" {
		fmt.Fprintln(stderr, "seqack demo: --message must not be empty")
		return 2
	}
	events, err := demo(o)
	if err != nil {
		fmt.Fprintf(stderr, "seqack demo: %v\n", err)
		return 1
	}
	printDemo(stdout, o, events)
	return 0
}

var (
	demoClient = netip.MustParseAddr("10.0.0.1")
	demoServer = netip.MustParseAddr("10.0.0.2")
)

// demo runs the conversation and returns its trace.
func demo(o demoOptions) ([]trace.Event, error) {
	rec := &trace.Recorder{}
	cl, sl := link.Pipe()
	tc := tcp.Config{MSL: o.msl}
	client, err := stack.New(cl, stack.Config{Addrs: []netip.Addr{demoClient}, TCP: tc, Trace: rec})
	if err != nil {
		return nil, err
	}
	defer client.Close()
	server, err := stack.New(sl, stack.Config{Addrs: []netip.Addr{demoServer}, TCP: tc, Trace: rec})
	if err != nil {
		return nil, err
	}
	defer server.Close()

	ln, err := server.ListenTCP("tcp", "10.0.0.2:80")
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	type accepted struct {
		c   *stack.Conn
		err error
	}
	acc := make(chan accepted, 1)
	go func() {
		c, err := ln.AcceptTCP()
		acc <- accepted{c, err}
	}()
	cc, err := client.DialTCP(ctx, "tcp", "10.0.0.2:80")
	if err != nil {
		return nil, err
	}
	a := <-acc
	if a.err != nil {
		return nil, a.err
	}
	sc := a.c
	deadline := time.Now().Add(10 * time.Second)
	cc.SetDeadline(deadline)
	sc.SetDeadline(deadline)

	// The client speaks; the server reads the message and answers.
	if _, err := io.WriteString(cc, o.message); err != nil {
		return nil, err
	}
	got := make([]byte, len(o.message))
	if _, err := io.ReadFull(sc, got); err != nil {
		return nil, fmt.Errorf("server reading the message: %w", err)
	}
	answer := fmt.Sprintf("got %d bytes: %s", len(got), strings.ToUpper(string(got)))
	if _, err := io.WriteString(sc, answer); err != nil {
		return nil, err
	}
	reply := make([]byte, len(answer))
	if _, err := io.ReadFull(cc, reply); err != nil {
		return nil, fmt.Errorf("client reading the answer: %w", err)
	}

	first, second := cc, sc
	if o.serverClosesFirst {
		first, second = sc, cc
	}
	switch {
	case o.simultaneousClose:
		// Hold both directions so that both FINs are sent before either
		// arrives, then let them cross.
		cl.Hold()
		sl.Hold()
		cc.Close()
		sc.Close()
		cl.Release()
		sl.Release()
		if err := waitState(ctx, cc, tcp.Closed); err != nil {
			return nil, err
		}
		if err := waitState(ctx, sc, tcp.Closed); err != nil {
			return nil, err
		}
	default:
		first.Close()
		// The other side reads the end of the stream, then closes too.
		if n, err := second.Read(make([]byte, 1)); err != io.EOF {
			return nil, fmt.Errorf("expected EOF after the peer's FIN, got %d bytes, %v", n, err)
		}
		second.Close()
		if err := waitState(ctx, second, tcp.Closed); err != nil {
			return nil, err
		}
		// The side that closed first waits out TIME_WAIT.
		if err := waitState(ctx, first, tcp.Closed); err != nil {
			return nil, err
		}
	}
	return rec.Events(), nil
}

// waitState waits until c reaches state want.
func waitState(ctx context.Context, c *stack.Conn, want tcp.State) error {
	for c.State() != want {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%v: still %v, waiting for %v", c.LocalAddr(), c.State(), want)
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

// printDemo writes the ladder and the notes that point out what a reader
// of a textbook chapter on TCP should see in it.
func printDemo(w io.Writer, o demoOptions, events []trace.Event) {
	closeMode := "the client closes first"
	switch {
	case o.serverClosesFirst:
		closeMode = "the server closes first"
	case o.simultaneousClose:
		closeMode = "both sides close at once"
	}
	fmt.Fprintf(w, "seqack demo: client 10.0.0.1 → server 10.0.0.2:80 over an in-memory link; %s.\n", closeMode)
	fmt.Fprintf(w, "The client sends %q, the server answers, then they close.\n\n", o.message)
	trace.WriteLadder(w, events, trace.LadderOptions{Relative: o.relative, Left: netip.AddrPort{}})
	fmt.Fprintln(w)
	for _, line := range demoNotes(o, events) {
		fmt.Fprintln(w, line)
	}
}

// demoNotes explains the numbers in the ladder, read from the same events.
// They are always absolute, whatever the ladder shows.
func demoNotes(o demoOptions, events []trace.Event) []string {
	var notes []string
	var clientSYN, serverSYN *trace.Event
	fins := map[netip.AddrPort]*trace.Event{}
	for i := range events {
		e := &events[i]
		if e.Kind != trace.SegmentSent {
			continue
		}
		f := e.Seg.Flags
		switch {
		case f.Has(wire.FlagSYN) && !f.Has(wire.FlagACK) && clientSYN == nil:
			clientSYN = e
		case f.Has(wire.FlagSYN|wire.FlagACK) && serverSYN == nil:
			serverSYN = e
		case f.Has(wire.FlagFIN) && fins[e.Local] == nil:
			fins[e.Local] = e
		}
	}
	if clientSYN == nil || serverSYN == nil {
		return nil
	}
	x, y := clientSYN.Seg.Seq, serverSYN.Seg.Seq
	notes = append(notes,
		fmt.Sprintf("Handshake: the client's ISN is x = %d and the server's is y = %d.", x, y),
		fmt.Sprintf("  The SYN-ACK carries ack x+1 = %d and the client's ACK carries ack y+1 = %d:", serverSYN.Seg.Ack, y+1),
		"  a SYN consumes one sequence number although it carries no data.")
	for _, who := range []struct {
		name string
		e    *trace.Event
	}{{"client", fins[clientSYN.Local]}, {"server", fins[serverSYN.Local]}} {
		if who.e == nil {
			continue
		}
		line := fmt.Sprintf("Close: the %s's FIN has seq %d", who.name, who.e.Seg.Seq)
		if ack := findACK(events, who.e); ack != nil {
			line += fmt.Sprintf(" and is acknowledged with ack %d: a FIN consumes one sequence number too.", ack.Seg.Ack)
		}
		notes = append(notes, line)
	}
	if o.relative {
		notes = append(notes, "(The ladder shows these numbers relative to each side's ISN, so x and y appear there as 0.)")
	}
	notes = append(notes, fmt.Sprintf(
		"TIME_WAIT lasts 2×MSL. On Linux the MSL is 30s, so TIME_WAIT lasts 60s; this demo uses --msl %v, so it lasted %v.",
		o.msl, 2*o.msl))
	return notes
}

// findACK returns the first segment sent by fin's receiver that
// acknowledges the FIN.
func findACK(events []trace.Event, fin *trace.Event) *trace.Event {
	want := fin.Seg.Seq + uint32(fin.Seg.Len) + 1
	for i := range events {
		e := &events[i]
		if e.Kind == trace.SegmentSent && e.Local == fin.Remote && e.Seg.Flags.Has(wire.FlagACK) && e.Seg.Ack == want {
			return e
		}
	}
	return nil
}
