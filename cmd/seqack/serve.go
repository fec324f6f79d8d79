package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/seqack/seqack/stack"
)

// closeLimit bounds how long a command waits, when it stops, for its
// connections to finish closing.
const closeLimit = 3 * time.Second

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var h hostFlags
	h.register(fs)
	var echoPort, discardPort, httpPort int
	var root, control string
	var linger time.Duration
	fs.IntVar(&echoPort, "echo", 0, "serve echo (RFC 862) on this `port`: every byte received is sent back")
	fs.IntVar(&discardPort, "discard", 0, "serve discard (RFC 863) on this `port`: every byte received is thrown away")
	fs.IntVar(&httpPort, "http", 0, "serve the files under --root over HTTP on this `port`, with Go's net/http")
	fs.StringVar(&root, "root", ".", "the `directory` that --http serves")
	fs.StringVar(&control, "control", "", "answer \"seqack stat\" on a Unix socket at this `path` (default /run/seqack/DEVICE.sock, or under the temporary directory if /run is not writable)")
	fs.DurationVar(&linger, "linger", 5*time.Second, "on Ctrl-C, how long to wait for the clients to close their side too before resetting what is left")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: seqack serve [flags]

Runs seqack as a host on a TUN device and serves echo, discard and HTTP
on the ports given, so that the kernel's own tools (curl, nc, ping, nmap)
can talk to a user-space TCP. For example, as root:

	seqack serve --tun seqack0 --addr 10.7.0.2/24 --host-addr 10.7.0.1/24 --http 80
	curl http://10.7.0.2/            (in another terminal)

%s
Ctrl-C closes every connection with a FIN and waits (--linger) for the
clients to close their side too; what is still open then is reset.

Flags:
`, hostUsage)
		fs.PrintDefaults()
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "seqack serve: unexpected argument %q\n", pos[0])
		return 2
	}
	ports := map[string]int{"echo": echoPort, "discard": discardPort, "http": httpPort}
	seen := map[int]string{}
	for name, p := range ports {
		if p < 0 || p > 65535 {
			fmt.Fprintf(stderr, "seqack serve: --%s %d is not a port\n", name, p)
			return 2
		}
		if p == 0 {
			continue
		}
		if other, dup := seen[p]; dup {
			fmt.Fprintf(stderr, "seqack serve: --%s and --%s both want port %d\n", other, name, p)
			return 2
		}
		seen[p] = name
	}
	if len(seen) == 0 {
		fmt.Fprintln(stderr, "seqack serve: nothing to serve: give --echo, --discard or --http a port (-h for help)")
		return 2
	}
	if httpPort != 0 {
		if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
			fmt.Fprintf(stderr, "seqack serve: --root %q is not a directory\n", root)
			return 2
		}
	}

	hs, err := h.open(stdout)
	if err != nil {
		fmt.Fprintf(stderr, "seqack serve: %v\n", err)
		return 1
	}
	srv := &server{hs: hs, log: stdout, linger: linger}
	fmt.Fprintf(stdout, "seqack serve: %s\n", hs.describe())
	addr := hs.addr.Addr()
	start := func(name string, port int, serve func(net.Listener), what string) bool {
		if port == 0 {
			return true
		}
		ln, err := hs.s.ListenTCP("tcp", fmt.Sprintf("%v:%d", addr, port))
		if err != nil {
			fmt.Fprintf(stderr, "seqack serve: %v\n", err)
			return false
		}
		tl := &trackingListener{Listener: ln, srv: srv}
		srv.listeners = append(srv.listeners, tl)
		fmt.Fprintf(stdout, "  %-8s %v:%d  %s\n", name, addr, port, what)
		srv.wg.Add(1)
		go func() {
			defer srv.wg.Done()
			serve(tl)
		}()
		return true
	}
	ok := start("echo", echoPort, srv.serveEcho, "(RFC 862: sends back what it receives)") &&
		start("discard", discardPort, srv.serveDiscard, "(RFC 863: reads and throws away)") &&
		start("http", httpPort, func(ln net.Listener) {
			hsrv := &http.Server{Handler: srv.logRequests(http.FileServer(http.Dir(root)))}
			srv.mu.Lock()
			srv.http = hsrv
			srv.mu.Unlock()
			hsrv.Serve(ln)
		}, fmt.Sprintf("(files under %s)", root))
	if !ok {
		srv.shutdown()
		hs.Close()
		return 1
	}
	explicit := control != ""
	if !explicit {
		control = defaultControlPath(hs.tun.Name())
	}
	cs, err := listenControl(control, func() *snapshot {
		return stackSnapshot(hs.s, hs.tun.Name(), namedCounters{"device", hs.tun.Stats()})
	})
	switch {
	case err == nil:
		fmt.Fprintf(stdout, "  control  %s  (seqack stat --control %s)\n", control, control)
	case explicit:
		fmt.Fprintf(stderr, "seqack serve: %v\n", err)
		srv.shutdown()
		hs.Close()
		return 1
	default:
		// Another serve, in another network namespace, may have a device
		// of the same name: serve all the same, without "seqack stat".
		fmt.Fprintf(stderr, "seqack serve: %v; seqack stat will not reach this one\n", err)
	}
	fmt.Fprintf(stdout, "Try: ping %v", addr)
	if httpPort != 0 {
		fmt.Fprintf(stdout, "   curl http://%v:%d/", addr, httpPort)
	}
	if echoPort != 0 {
		fmt.Fprintf(stdout, "   nc %v %d", addr, echoPort)
	}
	fmt.Fprintf(stdout, "\nCtrl-C stops.\n")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	<-ctx.Done()
	stop() // a second Ctrl-C ends the process at once
	fmt.Fprintln(stdout, "seqack serve: stopping; closing connections")
	if cs != nil {
		cs.Close()
	}
	open := srv.shutdown()
	st := hs.s.Stats()
	ts := hs.tun.Stats()
	if err := hs.Close(); err != nil {
		fmt.Fprintf(stderr, "seqack serve: %v\n", err)
	}
	if open > 0 {
		fmt.Fprintf(stdout, "seqack serve: %d connections had not finished closing after %v; reset\n", open, linger)
	} else {
		fmt.Fprintln(stdout, "seqack serve: every connection closed cleanly")
	}
	fmt.Fprintf(stdout, "seqack serve: %d packets in, %d out; %d TCP segments in, %d out; %d resets sent; %d echo requests answered\n",
		st.IPReceived, st.IPSent, st.TCPSegmentsIn, st.TCPSegmentsOut, st.TCPResetsSent, st.ICMPEchoReplies)
	fmt.Fprintf(stdout, "seqack serve: device %s: %d packets read, %d written, %d refused by the kernel, %d too big\n",
		hs.tun.Name(), ts.PacketsRead, ts.PacketsWritten, ts.WriteErrors, ts.TooBig)
	if _, peak := residentMemory(); peak > 0 {
		fmt.Fprintf(stdout, "seqack serve: peak resident memory %s (VmHWM)\n", formatBytes(int64(peak)))
	}
	return 0
}

// server is the state of "seqack serve": its listeners and the
// connections they accepted.
type server struct {
	hs     *host
	log    io.Writer
	linger time.Duration

	mu        sync.Mutex
	listeners []*trackingListener
	conns     []*stack.Conn
	http      *http.Server
	wg        sync.WaitGroup // the accept loops and the echo and discard handlers
}

// trackingListener records every connection it accepts, so that shutdown
// can close them and wait for them.
type trackingListener struct {
	net.Listener
	srv *server
}

// Accept accepts a connection and records it.
func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.srv.mu.Lock()
	l.srv.conns = append(l.srv.conns, c.(*stack.Conn))
	l.srv.mu.Unlock()
	return c, nil
}

// serveEcho sends back every byte each connection receives (RFC 862),
// then closes once the client has closed its side.
func (s *server) serveEcho(ln net.Listener) {
	s.acceptLoop(ln, "echo", func(c net.Conn) (int64, error) { return io.Copy(c, c) })
}

// serveDiscard reads and throws away everything (RFC 863), then closes
// once the client has closed its side.
func (s *server) serveDiscard(ln net.Listener) {
	s.acceptLoop(ln, "discard", func(c net.Conn) (int64, error) { return io.Copy(io.Discard, c) })
}

// acceptLoop runs handle on each accepted connection, then closes it, and
// logs both.
func (s *server) acceptLoop(ln net.Listener, name string, handle func(net.Conn) (int64, error)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		fmt.Fprintf(s.log, "%s: %v connected\n", name, c.RemoteAddr())
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			n, err := handle(c)
			c.Close()
			how := "closed by the client"
			switch {
			case errors.Is(err, net.ErrClosed):
				how = "closed by seqack (stopping)"
			case err != nil:
				how = err.Error()
			}
			fmt.Fprintf(s.log, "%s: %v: %d bytes, %s\n", name, c.RemoteAddr(), n, how)
		}()
	}
}

// logRequests logs each HTTP request.
func (s *server) logRequests(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(s.log, "http: %s %s %s\n", r.RemoteAddr, r.Method, r.URL)
		h.ServeHTTP(w, r)
	})
}

// shutdown stops accepting, closes every connection (letting HTTP
// responses in progress finish for a moment), and waits up to s.linger
// for the connections to finish closing. It returns how many had not.
func (s *server) shutdown() int {
	for _, l := range s.listeners {
		l.Close()
	}
	s.mu.Lock()
	hsrv := s.http
	s.mu.Unlock()
	if hsrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), min(s.linger, closeLimit))
		if err := hsrv.Shutdown(ctx); errors.Is(err, context.DeadlineExceeded) {
			hsrv.Close()
		}
		cancel()
	}
	s.mu.Lock()
	conns := append([]*stack.Conn(nil), s.conns...)
	s.mu.Unlock()
	for _, c := range conns {
		c.Close() // a FIN; the echo and discard handlers then end
	}
	s.wg.Wait()
	return waitClosed(conns, s.linger)
}
