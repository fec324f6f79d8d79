package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/seqack/seqack/stack"
)

func runGet(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("get", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var h hostFlags
	h.register(fs)
	var out string
	var quiet bool
	fs.StringVar(&out, "o", "", "write the body to this `file` instead of standard output")
	fs.BoolVar(&quiet, "q", false, "print no progress bar and no summary")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: seqack get [flags] URL [-o FILE]

Fetches URL with an HTTP GET over seqack, with Go's net/http client, and
shows a progress bar and the transfer rate on standard error. The URL's
host is an IPv4 address; seqack does not resolve names. An answer other
than 2xx is an error (exit status 1), and its body is not written. For
example, as root, with "python3 -m http.server 8000" in another terminal:

	seqack get --tun seqack0 --addr 10.7.0.2/24 --host-addr 10.7.0.1/24 http://10.7.0.1:8000/ -o index.html

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
		fmt.Fprintln(stderr, "seqack get: want one URL (-h for help)")
		return 2
	}
	u, err := url.Parse(pos[0])
	if err != nil || u.Scheme != "http" || u.Host == "" {
		fmt.Fprintf(stderr, "seqack get: %q is not an http:// URL\n", pos[0])
		return 2
	}
	if u.Port() == "" {
		u.Host = net.JoinHostPort(u.Hostname(), "80")
	}
	hs, err := h.open(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "seqack get: %v\n", err)
		return 1
	}
	defer hs.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var mu sync.Mutex
	var conns []*stack.Conn
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := hs.s.DialTCP(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			return c, nil
		},
		DisableCompression: true, // the bytes on the wire are the bytes written
	}
	defer func() {
		tr.CloseIdleConnections()
		mu.Lock()
		cs := conns
		mu.Unlock()
		waitClosed(cs, closeLimit)
	}()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		fmt.Fprintf(stderr, "seqack get: %v\n", err)
		return 1
	}
	req.Header.Set("User-Agent", "seqack-get")
	start := time.Now()
	resp, err := tr.RoundTrip(req)
	if err != nil {
		fmt.Fprintf(stderr, "seqack get: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		fmt.Fprintf(stderr, "seqack get: %s: %s\n", u, resp.Status)
		return 1
	}
	var w io.Writer = stdout
	if out != "" {
		f, err := os.Create(out)
		if err != nil {
			fmt.Fprintf(stderr, "seqack get: %v\n", err)
			return 1
		}
		defer f.Close()
		w = f
	}
	p := &progress{w: stderr, total: resp.ContentLength, start: start, live: !quiet && isTerminal(stderr)}
	n, err := io.Copy(w, io.TeeReader(resp.Body, p))
	p.finish()
	if err != nil {
		fmt.Fprintf(stderr, "seqack get: after %d bytes: %v\n", n, err)
		return 1
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		fmt.Fprintf(stderr, "seqack get: got %d bytes, the server announced %d\n", n, resp.ContentLength)
		return 1
	}
	if !quiet {
		d := time.Since(start)
		dest := "standard output"
		if out != "" {
			dest = out
		}
		fmt.Fprintf(stderr, "seqack get: %s: %s, %d bytes in %.3fs (%s) to %s\n",
			u, resp.Status, n, d.Seconds(), rate(n, d), dest)
	}
	return 0
}

// isTerminal reports whether w is a terminal, where a progress bar that
// redraws itself makes sense.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progress draws a progress bar as bytes pass through its Write, at most
// five times a second.
type progress struct {
	w     io.Writer
	total int64 // -1 if unknown
	start time.Time
	live  bool

	n     int64
	drawn time.Time
}

// Write counts p.
func (p *progress) Write(b []byte) (int, error) {
	p.n += int64(len(b))
	if p.live && time.Since(p.drawn) >= 200*time.Millisecond {
		p.draw()
	}
	return len(b), nil
}

// draw redraws the bar on its line.
func (p *progress) draw() {
	p.drawn = time.Now()
	el := time.Since(p.start)
	if p.total > 0 {
		const width = 30
		frac := float64(p.n) / float64(p.total)
		full := int(frac * width)
		fmt.Fprintf(p.w, "\r[%s%s] %3.0f%%  %s / %s  %s   ", strings.Repeat("#", full), strings.Repeat(" ", width-full),
			100*frac, formatBytes(p.n), formatBytes(p.total), rate(p.n, el))
		return
	}
	fmt.Fprintf(p.w, "\r%s  %s   ", formatBytes(p.n), rate(p.n, el))
}

// finish draws the bar a last time and ends its line.
func (p *progress) finish() {
	if p.live {
		p.draw()
		fmt.Fprintln(p.w)
	}
}
