package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/seqack/seqack/stack"
)

// stdin is what "seqack dial" sends; a variable so that tests can replace it.
var stdin io.Reader = os.Stdin

func runDial(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dial", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var h hostFlags
	h.register(fs)
	var timeout time.Duration
	fs.DurationVar(&timeout, "timeout", 0, "give up connecting after this `duration` (default: when the SYN retries run out)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: seqack dial [flags] HOST:PORT

Connects to HOST:PORT over seqack, like nc: standard input goes to the
connection and the connection to standard output. At the end of standard
input, seqack closes its sending side (a half-close: a FIN) and keeps
reading until the peer closes too. HOST is an IPv4 address; seqack does
not resolve names. For example, as root, with "nc -l 10.7.0.1 9000" in
another terminal:

	seqack dial --tun seqack0 --addr 10.7.0.2/24 --host-addr 10.7.0.1/24 10.7.0.1:9000

%s
Flags:
`, hostUsage)
		fs.PrintDefaults()
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "seqack dial: want one HOST:PORT to connect to (-h for help)")
		return 2
	}
	hs, err := h.open(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "seqack dial: %v\n", err)
		return 1
	}
	defer hs.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dctx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		dctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	c, err := hs.s.DialTCP(dctx, "tcp", pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "seqack dial: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "seqack dial: connected %v → %v\n", c.LocalAddr(), c.RemoteAddr())
	return converse(ctx, c, stdout, stderr)
}

// converse copies stdin to c and c to stdout until the peer closes, then
// closes c and waits for the close to finish.
func converse(ctx context.Context, c *stack.Conn, stdout, stderr io.Writer) int {
	sent := make(chan error, 1)
	go func() {
		_, err := io.Copy(c, stdin)
		if err == nil {
			err = c.CloseWrite() // end of input: half-close
		}
		sent <- err
	}()
	received := make(chan error, 1)
	go func() {
		_, err := io.Copy(stdout, c)
		received <- err
	}()
	status := 0
	select {
	case err := <-received:
		if err != nil {
			fmt.Fprintf(stderr, "seqack dial: %v\n", err)
			status = 1
		}
	case <-ctx.Done():
		fmt.Fprintln(stderr, "seqack dial: interrupted; closing")
	}
	select {
	case err := <-sent:
		if err != nil && status == 0 {
			fmt.Fprintf(stderr, "seqack dial: %v\n", err)
			status = 1
		}
	default:
		// The peer closed while input was still coming: stop sending.
	}
	c.Close()
	if waitClosed([]*stack.Conn{c}, closeLimit) > 0 {
		fmt.Fprintf(stderr, "seqack dial: the connection had not finished closing after %v\n", closeLimit)
	}
	return status
}
