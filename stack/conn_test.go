package stack

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seqack/seqack/tcp"
)

// TestHTTP runs net/http's server on one stack and its client on the other.
func TestHTTP(t *testing.T) {
	client, server, _, _ := pair(t, tcp.Config{})
	ln, err := server.Listen("tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("seqack ", 100000)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s\n", r.Method, r.URL.Path)
		io.WriteString(w, body)
	})}
	go srv.Serve(ln)
	defer srv.Close()

	hc := &http.Client{Transport: &http.Transport{DialContext: client.DialContext}}
	for i := range 3 { // the second and third requests reuse the connection
		resp, err := hc.Get(fmt.Sprintf("http://10.0.0.2/page%d", i))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("GET /page%d\n%s", i, body)
		if string(got) != want {
			t.Fatalf("request %d: got %d bytes, want %d", i, len(got), len(want))
		}
	}
}

// TestCopy64MiB sends 64 MiB each way at once through io.Copy and compares
// SHA-256 digests at both ends.
func TestCopy64MiB(t *testing.T) {
	size := int64(64 << 20)
	if testing.Short() {
		size = 4 << 20
	}
	client, server, _, _ := pair(t, tcp.Config{})
	ln, err := server.Listen("tcp", "10.0.0.2:5001")
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		sum [32]byte
		n   int64
		err error
	}
	// Each side writes a seeded random stream and hashes what it reads.
	run := func(c net.Conn, seed uint64, sent chan<- [32]byte, got chan<- result) {
		go func() {
			h := sha256.New()
			src := io.TeeReader(io.LimitReader(rand.NewChaCha8(seedBytes(seed)), size), h)
			if _, err := io.Copy(c, src); err != nil {
				t.Error(err)
			}
			c.(*Conn).CloseWrite()
			var s [32]byte
			copy(s[:], h.Sum(nil))
			sent <- s
		}()
		go func() {
			h := sha256.New()
			n, err := io.Copy(h, c)
			var s [32]byte
			copy(s[:], h.Sum(nil))
			got <- result{s, n, err}
		}()
	}
	acceptc := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			t.Error(err)
		}
		acceptc <- c
	}()
	cc, err := client.Dial("tcp", "10.0.0.2:5001")
	if err != nil {
		t.Fatal(err)
	}
	sc := <-acceptc
	cSent, cGot := make(chan [32]byte, 1), make(chan result, 1)
	sSent, sGot := make(chan [32]byte, 1), make(chan result, 1)
	start := time.Now()
	run(cc, 1, cSent, cGot)
	run(sc, 2, sSent, sGot)
	up, down := <-cSent, <-sSent
	atServer, atClient := <-sGot, <-cGot
	elapsed := time.Since(start)
	for _, r := range []struct {
		name string
		sent [32]byte
		got  result
	}{{"client→server", up, atServer}, {"server→client", down, atClient}} {
		if r.got.err != nil || r.got.n != size || r.got.sum != r.sent {
			t.Errorf("%s: read %d bytes (want %d), err %v, digest match %v", r.name, r.got.n, size, r.got.err, r.got.sum == r.sent)
		}
	}
	t.Logf("%d MiB each way in %v (%.0f MiB/s each way)", size>>20, elapsed, float64(size>>20)/elapsed.Seconds())
	cc.Close()
	sc.Close()
}

func seedBytes(seed uint64) [32]byte {
	var s [32]byte
	s[0] = byte(seed)
	return s
}

// TestHalfClose: after the client's CloseWrite the server reads EOF, and
// then still sends data that the client reads.
func TestHalfClose(t *testing.T) {
	client, server, _, _ := pair(t, tcp.Config{})
	ln, _ := server.Listen("tcp", ":7")
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		req, err := io.ReadAll(c) // until the client's FIN
		if err != nil {
			done <- err
			return
		}
		if got := c.(*Conn).State(); got != tcp.CloseWait {
			done <- fmt.Errorf("server state after EOF = %v, want CLOSE_WAIT", got)
			return
		}
		// The answer flows after the request side is closed.
		for i := range 100 {
			if _, err := fmt.Fprintf(c, "%d:%s\n", i, bytes.ToUpper(req)); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	c, err := client.Dial("tcp", "10.0.0.2:7")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "hello")
	if err := c.(*Conn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, syscall.EPIPE) {
		t.Errorf("Write after CloseWrite: %v, want EPIPE", err)
	}
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for i := range 100 {
		fmt.Fprintf(&want, "%d:HELLO\n", i)
	}
	if string(got) != want.String() {
		t.Errorf("client read %q..., want %q...", got[:min(len(got), 40)], want.String()[:40])
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	c.Close()
	// The client closed last... no: the client sent its FIN first, so it
	// ends in TIME_WAIT once the server's FIN arrives.
	waitState(t, c.(*Conn), tcp.TimeWait)
}

func waitState(t *testing.T, c *Conn, want tcp.State) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for c.State() != want {
		if time.Now().After(deadline) {
			t.Fatalf("state %v, want %v", c.State(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestDialRefused: a SYN to a port with no listener draws a RST, and Dial
// fails with ECONNREFUSED at once.
func TestDialRefused(t *testing.T) {
	client, server, cl, _ := pair(t, tcp.Config{})
	_, err := client.Dial("tcp", "10.0.0.2:81")
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("Dial = %v, want ECONNREFUSED", err)
	}
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" {
		t.Fatalf("error %T %v is not a *net.OpError from dial", err, err)
	}
	if !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("error text %q", err)
	}
	// Refused at once: the one SYN drew the RST, nothing was retransmitted.
	if sent := cl.Stats().Sent; sent != 1 {
		t.Errorf("client sent %d segments, want just the SYN", sent)
	}
	if s := server.Stats(); s.TCPResetsSent != 1 || s.TCPNoPort != 1 {
		t.Errorf("server stats: resets %d, no-port %d; want 1, 1", s.TCPResetsSent, s.TCPNoPort)
	}
}

// TestDialTimeout: with no answer at all the SYN is retransmitted and the
// dial ends with ETIMEDOUT once the retries run out.
func TestDialTimeout(t *testing.T) {
	client, _, cl, _ := pair(t, tcp.Config{InitialRTO: 20 * time.Millisecond, SynRetries: 2})
	cl.Hold() // nothing the client sends is delivered
	_, err := client.Dial("tcp", "10.0.0.2:80")
	if !errors.Is(err, syscall.ETIMEDOUT) {
		t.Fatalf("Dial = %v, want ETIMEDOUT", err)
	}
	if got := cl.Stats().Sent; got != 3 {
		t.Errorf("client sent %d SYNs, want 3 (1 + 2 retries)", got)
	}
}

// TestDialContext: a context deadline or cancellation ends a dial that gets
// no answer, with the errors package net gives.
func TestDialContext(t *testing.T) {
	client, _, cl, _ := pair(t, tcp.Config{})
	cl.Hold()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := client.DialContext(ctx, "tcp", "10.0.0.2:80")
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("deadline: %v, want a timeout", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	_, err = client.DialContext(ctx, "tcp", "10.0.0.2:80")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancel: %v, want context.Canceled", err)
	}
}

// TestDeadlines: read and write deadlines fire, with errors that are
// net.Error timeouts and os.ErrDeadlineExceeded, and can be lifted.
func TestDeadlines(t *testing.T) {
	client, server, _, _ := pair(t, tcp.Config{SendBufferSize: 64 << 10})
	c, sc := connect(t, client, server)
	defer sc.Close()
	var err error

	// A read deadline in the future fires while Read is blocked. (The
	// clock is read before the deadline is set: on a loaded machine,
	// setting it may take a few milliseconds of the 30.)
	start := time.Now()
	c.SetReadDeadline(start.Add(30 * time.Millisecond))
	_, err = c.Read(make([]byte, 10))
	checkTimeout(t, "Read", err)
	if d := time.Since(start); d < 25*time.Millisecond {
		t.Errorf("Read returned after %v, before its deadline", d)
	}
	// A deadline in the past fails at once; clearing it lets data through.
	c.SetReadDeadline(time.Now().Add(-time.Second))
	_, err = c.Read(make([]byte, 10))
	checkTimeout(t, "Read (past deadline)", err)
	c.SetReadDeadline(time.Time{})
	sc.Write([]byte("ok"))
	buf := make([]byte, 2)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ok" {
		t.Fatalf("Read after clearing the deadline: %q, %v", buf, err)
	}
	// A deadline set while Read is already blocked wakes it.
	go func() {
		time.Sleep(20 * time.Millisecond)
		c.SetReadDeadline(time.Now())
	}()
	_, err = c.Read(buf)
	checkTimeout(t, "Read (deadline set while blocked)", err)

	// Write: the server never reads, so its 64 KiB receive window and our
	// 64 KiB send buffer fill, and Write blocks until its deadline.
	c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	n, err := c.Write(make([]byte, 1<<20))
	checkTimeout(t, "Write", err)
	if n == 0 || n >= 1<<20 {
		t.Errorf("Write wrote %d bytes before timing out; want a partial write", n)
	}
	c.Close()
}

func checkTimeout(t *testing.T, what string, err error) {
	t.Helper()
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("%s: %v, want a deadline-exceeded timeout", what, err)
	}
}

// TestReset: SetLinger(0) then Close resets the connection; the peer's Read
// fails with ECONNRESET.
func TestReset(t *testing.T) {
	client, server, _, _ := pair(t, tcp.Config{})
	c, sc := connect(t, client, server)
	c.SetLinger(0)
	c.Close()
	_, err := sc.Read(make([]byte, 1))
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("Read after peer reset: %v, want ECONNRESET", err)
	}
	if !strings.Contains(err.Error(), "connection reset by peer") {
		t.Errorf("error text %q", err)
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read on a closed Conn: %v, want net.ErrClosed", err)
	}
	if err := c.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close: %v, want net.ErrClosed", err)
	}
}

// TestCloseOrders: each close order leaves the side that closed first in
// TIME_WAIT and the other CLOSED.
func TestCloseOrders(t *testing.T) {
	for _, serverFirst := range []bool{false, true} {
		t.Run(fmt.Sprintf("serverFirst=%v", serverFirst), func(t *testing.T) {
			client, server, _, _ := pair(t, tcp.Config{})
			first, second := connect(t, client, server)
			if serverFirst {
				first, second = second, first
			}
			first.Close()
			if _, err := second.Read(make([]byte, 1)); err != io.EOF {
				t.Fatalf("Read after peer's close: %v, want EOF", err)
			}
			second.Close()
			waitState(t, first, tcp.TimeWait)
			waitState(t, second, tcp.Closed)
		})
	}
}

// TestListenErrors: misuse is answered with errors that say what was wrong.
func TestListenErrors(t *testing.T) {
	_, server, _, _ := pair(t, tcp.Config{})
	if _, err := server.Listen("tcp", ":80"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		network, addr string
		want          error
	}{
		{"tcp", ":80", syscall.EADDRINUSE},
		{"tcp", "10.0.0.2:80", syscall.EADDRINUSE},
		{"tcp", "10.9.9.9:80", syscall.EADDRNOTAVAIL},
		{"udp", ":80", nil},
		{"tcp", "localhost:80", nil},
		{"tcp", "80", nil},
	} {
		_, err := server.Listen(tc.network, tc.addr)
		if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("Listen(%q, %q) = %v, want %v", tc.network, tc.addr, err, tc.want)
		}
	}
	l, err := server.Listen("tcp", "10.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	if p := l.Addr().(*net.TCPAddr).Port; p < 49152 {
		t.Errorf("Listen on port 0 got port %d, want an ephemeral port", p)
	}
	l.Close()
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept on closed listener: %v", err)
	}
}

// TestAcceptDeadline: Accept honours SetDeadline.
func TestAcceptDeadline(t *testing.T) {
	_, server, _, _ := pair(t, tcp.Config{})
	l, _ := server.ListenTCP("tcp", ":80")
	l.SetDeadline(time.Now().Add(20 * time.Millisecond))
	_, err := l.Accept()
	checkTimeout(t, "Accept", err)
}

// TestBacklog: beyond the accept backlog, handshakes do not complete until
// Accept makes room; then they do.
func TestBacklog(t *testing.T) {
	a, b, err := newPairWithBacklog(t, 2)
	if err != nil {
		t.Fatal(err)
	}
	l, _ := b.ListenTCP("tcp", ":80")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	results := make(chan error, 4)
	for range 4 {
		go func() {
			c, err := a.DialContext(ctx, "tcp", "10.0.0.2:80")
			if err == nil {
				defer c.Close()
			}
			results <- err
		}()
	}
	// Two handshakes fill the queue; the others' final ACKs are dropped.
	for deadline := time.Now().Add(10 * time.Second); b.Stats().TCPListenOverflow == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no listen overflow counted with 4 dials and a backlog of 2")
		}
	}
	for range 4 {
		c, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	for range 4 {
		if err := <-results; err != nil {
			t.Errorf("dial: %v", err)
		}
	}
}
