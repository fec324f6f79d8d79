package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seqack/seqack/link"
	"github.com/seqack/seqack/stack"
	"github.com/seqack/seqack/tcp"
	"github.com/seqack/seqack/trace"
)

// conversation runs one connection between two stacks over a pipe whose
// client end is tapped into a pcap file, and returns the file and the
// engine's own events. The server closes first if serverFirst; with
// refused, the client dials a port nobody listens on.
func conversation(t *testing.T, serverFirst, refused bool) (string, []trace.Event) {
	t.Helper()
	rec := &trace.Recorder{}
	a, b := link.Pipe()
	path := filepath.Join(t.TempDir(), "c.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pw, err := link.NewPcapWriter(f)
	if err != nil {
		t.Fatal(err)
	}
	tc := tcp.Config{MSL: 5 * time.Millisecond}
	client, err := stack.New(link.NewTap(a, pw, nil), stack.Config{Addrs: []netip.Addr{demoClient}, TCP: tc, Trace: rec})
	if err != nil {
		t.Fatal(err)
	}
	server, err := stack.New(b, stack.Config{Addrs: []netip.Addr{demoServer}, TCP: tc, Trace: rec})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := server.ListenTCP("tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if refused {
		if _, err := client.DialTCP(ctx, "tcp", "10.0.0.2:81"); err == nil {
			t.Fatal("dial to a closed port succeeded")
		}
	} else {
		acc := make(chan *stack.Conn, 1)
		go func() {
			c, _ := ln.AcceptTCP()
			acc <- c
		}()
		cc, err := client.DialTCP(ctx, "tcp", "10.0.0.2:80")
		if err != nil {
			t.Fatal(err)
		}
		sc := <-acc
		io.WriteString(cc, "hello")
		io.ReadFull(sc, make([]byte, 5))
		first, second := cc, sc
		if serverFirst {
			first, second = sc, cc
		}
		first.Close()
		second.Read(make([]byte, 1)) // EOF
		second.Close()
		for _, c := range []*stack.Conn{cc, sc} {
			if err := waitState(ctx, c, tcp.Closed); err != nil {
				t.Fatal(err)
			}
		}
	}
	client.Close() // flushes the tap
	server.Close()
	return path, rec.Events()
}

// enginePaths returns each endpoint's states as the engine traced them,
// without the listener's own (LISTEN, and CLOSED when the stack stops) and the expiry of
// TIME_WAIT, which no segment shows.
func enginePaths(events []trace.Event) map[netip.AddrPort]string {
	paths := map[netip.AddrPort][]string{}
	for _, e := range events {
		if e.Kind != trace.StateChanged || !e.Remote.IsValid() {
			continue
		}
		if e.From == "TIME_WAIT" && e.To == "CLOSED" {
			continue
		}
		if len(paths[e.Local]) == 0 {
			paths[e.Local] = []string{e.From}
		}
		paths[e.Local] = append(paths[e.Local], e.To)
	}
	out := map[netip.AddrPort]string{}
	for k, v := range paths {
		out[k] = strings.Join(v, " → ")
	}
	return out
}

// TestTraceInfersStates: the states that "seqack trace" infers from a
// capture are the states the engines went through, in each close order
// and for a refused connection.
func TestTraceInfersStates(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		serverFirst, refused bool
	}{
		{"client closes first", false, false},
		{"server closes first", true, false},
		{"refused", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, events := conversation(t, tc.serverFirst, tc.refused)
			var out, errOut bytes.Buffer
			if code := run([]string{"trace", path}, &out, &errOut); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			s := out.String()
			want := enginePaths(events)
			if len(want) == 0 {
				t.Fatal("the engine traced no state changes")
			}
			for addr, p := range want {
				if line := addr.String() + ": " + p + "\n"; !strings.Contains(s, line) {
					t.Errorf("trace lacks %q\n%s", line, s)
				}
			}
			if !strings.Contains(s, "[S] seq ") || !strings.Contains(s, "1 connections") {
				t.Errorf("trace lacks the SYN or the count:\n%s", s)
			}
		})
	}
}

// TestTraceErrors: a file that is not a capture, or missing, is an error
// that names it; the wrong number of arguments is a usage error.
func TestTraceErrors(t *testing.T) {
	dir := t.TempDir()
	notPcap := filepath.Join(dir, "x.txt")
	os.WriteFile(notPcap, []byte("hello, this is not a capture file"), 0o644)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"trace", notPcap}, 1, "not a pcap"},
		{[]string{"trace", filepath.Join(dir, "missing.pcap")}, 1, "missing.pcap"},
		{[]string{"trace"}, 2, "want one capture file"},
	} {
		var out, errOut bytes.Buffer
		if code := run(tc.args, &out, &errOut); code != tc.code || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%q: exit %d, %q; want %d and %q", tc.args, code, errOut.String(), tc.code, tc.want)
		}
	}
}

// TestLiveTracer: --trace prints a connection's ladder when both its
// traced ends have reached CLOSED, and the rest when it is closed.
func TestLiveTracer(t *testing.T) {
	var buf bytes.Buffer
	lt := newLiveTracer(&buf, false)
	_, events := conversation(t, false, false)
	for i := range events {
		lt.Emit(&events[i])
	}
	lt.Close()
	s := buf.String()
	for _, want := range []string{"10.0.0.2:80: LISTEN → SYN_RCVD → ESTABLISHED → CLOSE_WAIT → LAST_ACK → CLOSED",
		"FIN_WAIT_2 → TIME_WAIT → CLOSED"} {
		if !strings.Contains(s, want) {
			t.Errorf("live trace lacks %q:\n%s", want, s)
		}
	}
}

// TestHelpAndUsage: every command explains itself with -h (exit 0), and
// refuses bad flags with a usage error (exit 2) before touching a device.
func TestHelpAndUsage(t *testing.T) {
	for _, name := range []string{"serve", "dial", "get", "trace"} {
		var out, errOut bytes.Buffer
		if code := run([]string{name, "-h"}, &out, &errOut); code != 0 || !strings.Contains(errOut.String(), "Usage: seqack "+name) {
			t.Errorf("%s -h: exit %d, %q", name, code, errOut.String())
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve"}, "nothing to serve"},
		{[]string{"serve", "--echo", "7", "--discard", "7"}, "both want port 7"},
		{[]string{"serve", "--http", "80", "--root", "/no/such/dir"}, "not a directory"},
		{[]string{"serve", "--echo", "70000"}, "not a port"},
		{[]string{"dial"}, "want one HOST:PORT"},
		{[]string{"get", "ftp://10.0.0.1/"}, "not an http:// URL"},
		{[]string{"get", "--nosuchflag", "http://10.0.0.1/"}, "nosuchflag"},
	} {
		var out, errOut bytes.Buffer
		if code := run(tc.args, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%q: exit %d, %q; want 2 and %q", tc.args, code, errOut.String(), tc.want)
		}
	}
}

// TestParseArgs: flags may follow the positional arguments.
func TestParseArgs(t *testing.T) {
	var h hostFlags
	var out string
	fs := newTestFlagSet(&h, &out)
	pos, err := parseArgs(fs, []string{"--tun", "x0", "http://a/", "-o", "f", "--", "-o"})
	if err != nil || len(pos) != 2 || pos[0] != "http://a/" || pos[1] != "-o" || out != "f" || h.tun != "x0" {
		t.Errorf("pos %q err %v out %q tun %q", pos, err, out, h.tun)
	}
}

// TestHostFlagsValidation: addresses that cannot work are refused with a
// reason, before any device is opened.
func TestHostFlagsValidation(t *testing.T) {
	for _, tc := range []struct {
		h    hostFlags
		want string
	}{
		{hostFlags{addr: "fd00::2/64"}, "IPv4 only"},
		{hostFlags{addr: "10.7.0.2/24", hostAddr: "10.7.0.2/24"}, "need an address each"},
		{hostFlags{addr: "10.8.0.2/24", hostAddr: "10.7.0.1/24"}, "outside"},
		{hostFlags{addr: "10.7.0.2", hostAddr: "10.7.0.1/24", mtu: 100}, "576"},
		{hostFlags{addr: "nonsense"}, "--addr"},
	} {
		if _, err := tc.h.open(io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error about %q", tc.h, err, tc.want)
		}
	}
}

// newTestFlagSet is get's flag set, without its usage text.
func newTestFlagSet(h *hostFlags, out *string) *flag.FlagSet {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	h.register(fs)
	fs.StringVar(out, "o", "", "")
	return fs
}
