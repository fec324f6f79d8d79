package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/seqack/seqack/link"
	"github.com/seqack/seqack/sim"
	"github.com/seqack/seqack/stack"
	"github.com/seqack/seqack/tcp"
	"github.com/seqack/seqack/trace"
)

// demoOptions are the flags of "seqack demo".
type demoOptions struct {
	message           string
	serverClosesFirst bool
	simultaneousClose bool
	relative          bool
	msl               time.Duration

	loss, reorder percent       // of the packets, each direction
	delay         time.Duration // one way, each direction
	seed          uint64
	bytes         int // if > 0, the client sends this many bytes instead of message
}

// The bounds of the demo's flags.
const (
	demoMaxBytes = 1 << 20          // the ladder draws every segment
	demoMaxDelay = 10 * time.Second // one way
	demoMaxMSL   = time.Hour
	// demoLimit bounds the virtual time a demo may take: far more than a
	// connection that gives up takes (Linux's retry counts give up on a
	// silent peer after about 15 minutes), so the demo ends either way.
	demoLimit = 2 * time.Hour
)

func runDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := demoOptions{seed: 1}
	fs.StringVar(&o.message, "message", "hello, seqack", "the message the client sends")
	fs.IntVar(&o.bytes, "bytes", 0, "the client sends `N` bytes of data instead of --message, enough segments\nfor loss to show (at most 1 MiB); the server answers with one short line")
	fs.BoolVar(&o.serverClosesFirst, "server-closes-first", false, "the server closes first, right after its answer (as an HTTP/1.0 server does)")
	fs.BoolVar(&o.simultaneousClose, "simultaneous-close", false, "both sides close at the same instant, once the client has the answer; the\nFINs cross on the link and both sides pass through CLOSING")
	fs.BoolVar(&o.relative, "relative", false, "show sequence numbers (SACK blocks included) relative to each side's ISN,\nas Wireshark does")
	fs.DurationVar(&o.msl, "msl", 250*time.Millisecond, "maximum segment lifetime; TIME_WAIT lasts 2×MSL (Linux: 30s, so 60s)")
	fs.Var(&o.loss, "loss", "lose `P` percent of the packets, in each direction independently: 5 or 5%\nis one packet in twenty; 0 to 100 (with 100 nothing gets through and the\nconnection times out)")
	fs.DurationVar(&o.delay, "delay", time.Millisecond, "one-way delay of the link in each direction, so the round trip is twice\nthis; 0 to 10s")
	fs.Var(&o.reorder, "reorder", "let `P` percent of the packets skip the delay and overtake those in\nflight, as tc netem's reorder does (needs --delay > 0)")
	fs.Uint64Var(&o.seed, "seed", 1, "the simulation's seed: it decides the ISNs, the ports and which packets\nthe link loses or reorders; the same seed gives the same output")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: seqack demo [flags]

Runs two hosts in one process, a client at 10.0.0.1 and a server at 10.0.0.2,
joined by a simulated link. The client connects to port 80, sends a message
(or --bytes of data), the server answers, and both close. Every segment,
every state change and every timer is traced, and the connection is printed
as a ladder diagram: the three-way handshake, the data and its ACKs, and
the four-way close.

Everything runs on a virtual clock from a seed, so a run takes no time, the
times in the ladder are those of the simulated link (--delay shows as real
gaps), and the same flags print the same ladder every time. With --loss or
--reorder the ladder also shows what TCP does about it: lost segments (X),
duplicate ACKs, SACK blocks, fast retransmissions and retransmission
timeouts; the notes under it say which segments were lost and how each
came back. For example:

	seqack demo --loss 5 --bytes 20000 --seed 10

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })
	if msg := o.validate(fs.Args(), explicit); msg != "" {
		fmt.Fprintf(stderr, "seqack demo: %s\n", msg)
		return 2
	}
	r, err := demo(o)
	printDemo(stdout, o, r)
	if err != nil {
		fmt.Fprintf(stderr, "seqack demo: %v\n", err)
		return 1
	}
	return 0
}

// validate checks the flags and returns what is wrong with them, or "".
func (o *demoOptions) validate(args []string, explicit map[string]bool) string {
	switch {
	case len(args) > 0:
		return fmt.Sprintf("unexpected argument %q (-h for help)", args[0])
	case o.serverClosesFirst && o.simultaneousClose:
		return "--server-closes-first and --simultaneous-close exclude each other"
	case o.msl <= 0 || o.msl > demoMaxMSL:
		return fmt.Sprintf("--msl %v: want more than 0 and at most %v", o.msl, demoMaxMSL)
	case o.bytes < 0 || o.bytes > demoMaxBytes:
		return fmt.Sprintf("--bytes %d: want 1 to %d (the ladder draws every segment)", o.bytes, demoMaxBytes)
	case o.bytes > 0 && explicit["message"]:
		return "--bytes and --message exclude each other: the client sends one or the other"
	case explicit["bytes"] && o.bytes == 0:
		return "--bytes 0: want at least one byte (or leave --bytes out to send --message)"
	case o.bytes == 0 && o.message == "":
		return "--message must not be empty"
	case o.delay < 0 || o.delay > demoMaxDelay:
		return fmt.Sprintf("--delay %v: want 0 to %v", o.delay, demoMaxDelay)
	case o.reorder > 0 && o.delay == 0:
		return "--reorder needs --delay > 0: a packet can only overtake packets that are still in flight"
	}
	return ""
}

// A percent is a flag holding a percentage, 0 to 100, written as 5 or 5%.
type percent float64

func (p *percent) String() string { return strconv.FormatFloat(float64(*p), 'g', -1, 64) }

func (p *percent) Set(s string) error {
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%")), 64)
	switch {
	case err != nil:
		return errors.New("want a percentage such as 5 or 5% or 0.5")
	case math.IsNaN(v) || v < 0 || v > 100:
		return errors.New("want a percentage from 0 to 100")
	}
	*p = percent(v)
	return nil
}

// fraction returns p as a probability.
func (p percent) fraction() float64 { return float64(p) / 100 }

var (
	demoClient = netip.MustParseAddr("10.0.0.1")
	demoServer = netip.MustParseAddr("10.0.0.2")
)

const demoPort = 80

// demoResult is what a demo run produced and measured.
type demoResult struct {
	events   []trace.Event
	received int // bytes of the request the server read

	// firstData is when the client first wrote its request, lastByte when
	// the server read the last byte of it: the time goodput is measured
	// over.
	firstData, lastByte time.Duration

	forward, reverse link.NetemStats // client → server, server → client
}

// demo runs the conversation on the simulator and returns what happened.
// The result holds the trace even when the run fails.
func demo(o demoOptions) (*demoResult, error) {
	res := &demoResult{}
	rec := &trace.Recorder{}
	s := sim.New(o.seed)
	defer s.Close()
	cfg := stack.Config{TCP: tcp.Config{MSL: o.msl}, Trace: rec}
	ch, err := s.AddHost("client", demoClient, 0, cfg)
	if err != nil {
		return res, err
	}
	sh, err := s.AddHost("server", demoServer, 0, cfg)
	if err != nil {
		return res, err
	}
	path := link.NetemConfig{Loss: o.loss.fraction(), Delay: o.delay, Reorder: o.reorder.fraction()}
	l, err := s.Join(ch, sh, path, path)
	if err != nil {
		return res, err
	}

	ln, err := sh.Stack().ListenTCP("tcp", netip.AddrPortFrom(demoServer, demoPort).String())
	if err != nil {
		return res, err
	}
	defer ln.Close()

	request := []byte(o.message)
	if o.bytes > 0 {
		request = demoData(o.bytes)
	}
	d := &demoScript{
		o:       o,
		sim:     s,
		res:     res,
		ln:      ln,
		request: request,

		clientStack: ch.Stack(),
	}
	s.AddApp(d.client)
	s.AddApp(d.server)
	err = s.Run(d.finished, demoLimit)
	res.events = rec.Events() // what happened, not what closing the stacks does
	res.forward, res.reverse = l.Stats()
	if err != nil {
		if !strings.Contains(err.Error(), "seed") {
			err = fmt.Errorf("seed %d: %w", o.seed, err)
		}
		return res, fmt.Errorf("%w\n(the ladder above shows how far it got; --seed %d replays it, another seed or less --loss may get through)", err, o.seed)
	}
	return res, nil
}

// demoData returns n bytes of printable text for --bytes.
func demoData(n int) []byte {
	const text = "The quick brown fox jumps over the lazy dog. "
	return bytes.Repeat([]byte(text), n/len(text)+1)[:n]
}

// demoScript is the client's and the server's program, as two step
// functions for the simulator: each does what it can without waiting and
// returns.
type demoScript struct {
	o       demoOptions
	sim     *sim.Sim
	res     *demoResult
	ln      *stack.Listener
	request []byte

	clientStack *stack.Stack

	cc, sc *stack.Conn

	// The client.
	written    int    // bytes of the request queued
	reply      []byte // the answer as read so far
	clientDone bool   // it has closed its connection

	// The server.
	got        []byte // the request as read so far
	answerSent bool
	serverDone bool

	closeNow bool // --simultaneous-close: both sides close at this step
}

// finished reports whether both programs are done and both connections
// are closed, TIME_WAIT included.
func (d *demoScript) finished() bool {
	return d.clientDone && d.serverDone && d.cc.State() == tcp.Closed && d.sc.State() == tcp.Closed
}

func (d *demoScript) fail(who, format string, args ...any) error {
	return fmt.Errorf("seed %d: %s at %s: %s", d.o.seed, who, ms(d.sim.Elapsed()), fmt.Sprintf(format, args...))
}

// client connects, sends the request, reads the answer and closes.
func (d *demoScript) client() (bool, error) {
	if d.clientDone {
		return true, nil
	}
	if d.cc == nil {
		c, err := d.clientStack.DialStart("tcp", netip.AddrPortFrom(demoServer, demoPort).String())
		if err != nil {
			return false, d.fail("client", "dial: %v", err)
		}
		d.cc = c
	}
	c := d.cc
	switch st := c.State(); {
	case st == tcp.SynSent:
		return false, nil
	case st == tcp.Closed && d.written == 0:
		_, err := c.TryRead(nil)
		return false, d.fail("client", "the connection failed during the handshake: %v", err)
	}
	for d.written < len(d.request) {
		if d.written == 0 {
			d.res.firstData = d.sim.Elapsed()
		}
		n, err := c.TryWrite(d.request[d.written:])
		d.written += n
		if err == stack.ErrWouldBlock {
			return false, nil
		}
		if err != nil {
			return false, d.fail("client", "sending the request: %v", err)
		}
	}
	want := len(demoAnswer(d.o, len(d.request)))
	eof, err := readSome(c, &d.reply, want)
	if err != nil {
		return false, d.fail("client", "reading the answer: %v", err)
	}
	if len(d.reply) < want {
		if eof {
			return false, d.fail("client", "the server closed after %d bytes of its %d-byte answer", len(d.reply), want)
		}
		return false, nil
	}
	switch {
	case d.o.simultaneousClose:
		d.closeNow = true // the server, stepped next, closes at the same instant
	case d.o.serverClosesFirst:
		// Passive close: wait for the server's FIN (EOF), then close.
		if !eof {
			var extra []byte
			if eof, err = readSome(c, &extra, 1); err != nil || len(extra) > 0 {
				return false, d.fail("client", "expected the end of the stream after the answer, got %d bytes more, %v", len(extra), err)
			}
			if !eof {
				return false, nil
			}
		}
	}
	if err := c.Close(); err != nil {
		return false, d.fail("client", "close: %v", err)
	}
	d.clientDone = true
	return true, nil
}

// server accepts one connection, reads the request, answers and closes.
func (d *demoScript) server() (bool, error) {
	if d.serverDone {
		return true, nil
	}
	if d.sc == nil {
		c, err := d.ln.TryAccept()
		if err == stack.ErrWouldBlock {
			return false, nil
		}
		if err != nil {
			return false, d.fail("server", "accept: %v", err)
		}
		d.sc = c
		d.ln.Close() // one connection is all this server serves
	}
	c := d.sc
	if !d.answerSent {
		before := len(d.got)
		eof, err := readSome(c, &d.got, len(d.request))
		if err != nil {
			return false, d.fail("server", "reading the request: %v", err)
		}
		if len(d.got) > before {
			d.res.received = len(d.got)
			d.res.lastByte = d.sim.Elapsed()
		}
		if len(d.got) < len(d.request) {
			if eof {
				return false, d.fail("server", "the client closed after %d bytes of its %d-byte request", len(d.got), len(d.request))
			}
			return false, nil
		}
		if !bytes.Equal(d.got, d.request) {
			return false, d.fail("server", "the request arrived damaged")
		}
		answer := demoAnswer(d.o, len(d.request))
		n, err := c.TryWrite([]byte(answer)) // short: it fits the send buffer at once
		if err != nil || n != len(answer) {
			return false, d.fail("server", "answering: %d of %d bytes, %v", n, len(answer), err)
		}
		d.answerSent = true
	}
	switch {
	case d.o.simultaneousClose:
		if !d.closeNow {
			return false, nil
		}
	case d.o.serverClosesFirst:
		// Active close right after the answer.
	default:
		// Passive close: wait for the client's FIN (EOF), then close.
		var extra []byte
		eof, err := readSome(c, &extra, 1)
		if err != nil || len(extra) > 0 {
			return false, d.fail("server", "expected the end of the stream after the request, got %d bytes more, %v", len(extra), err)
		}
		if !eof {
			return false, nil
		}
	}
	if err := c.Close(); err != nil {
		return false, d.fail("server", "close: %v", err)
	}
	d.serverDone = true
	return true, nil
}

// readSome reads what has arrived on c into *buf, up to want bytes in all,
// and reports whether the peer's FIN has been read.
func readSome(c *stack.Conn, buf *[]byte, want int) (eof bool, err error) {
	var tmp [4096]byte
	for len(*buf) < want {
		n, err := c.TryRead(tmp[:min(len(tmp), want-len(*buf))])
		*buf = append(*buf, tmp[:n]...)
		switch {
		case err == stack.ErrWouldBlock:
			return false, nil
		case err == io.EOF:
			return true, nil
		case err != nil:
			return false, err
		}
	}
	if want == len(*buf) {
		// Look for the FIN without reading past what was asked for.
		if _, err := c.TryRead(nil); err == io.EOF {
			return true, nil
		}
	}
	return false, nil
}

// demoAnswer is what the server answers to a request of n bytes.
func demoAnswer(o demoOptions, n int) string {
	if o.bytes > 0 {
		return fmt.Sprintf("got %d bytes", n)
	}
	return fmt.Sprintf("got %d bytes: %s", n, strings.ToUpper(o.message))
}

// ms formats d in milliseconds, as the ladder does.
func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64) + "ms"
}

// waitState waits, on the real clock, until c reaches state want. (The
// demo runs on the simulator's clock and has no use for it; tests of
// stacks that run on the real clock do.)
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
