package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/seqack/seqack/stack"
	"github.com/seqack/seqack/wire"
)

// The control socket: "seqack serve" listens on a Unix socket in the file
// system, and answers each connection with a snapshot of its stack as one
// JSON document, then closes it. "seqack stat" reads it. A socket in the
// file system (not an abstract one) is reachable from any network
// namespace, so stat works wherever serve runs.

// snapshot is what the control socket answers.
type snapshot struct {
	Time      time.Time      `json:"time"`
	Device    string         `json:"device,omitempty"`
	Conns     []snapConn     `json:"conns"`
	Listeners []snapListener `json:"listeners"`
	// Groups of counters, in order: the stack's, the device's, the
	// process's memory.
	Counters []counterGroup `json:"counters"`
}

// snapConn is one row of the connection table.
type snapConn struct {
	State  string `json:"state"`
	Local  string `json:"local"`
	Remote string `json:"remote"`
	RecvQ  int    `json:"recvq"`
	SendQ  int    `json:"sendq"`
}

// snapListener is one listener: its queues and its own counters.
type snapListener struct {
	Local       string    `json:"local"`
	AcceptQueue int       `json:"accept_queue"`
	Backlog     int       `json:"backlog"`
	HalfOpen    int       `json:"half_open"`
	SynBacklog  int       `json:"syn_backlog"`
	Counters    []counter `json:"counters,omitempty"`
}

// counterGroup is a named list of counters.
type counterGroup struct {
	Name     string    `json:"name"`
	Counters []counter `json:"counters"`
}

// counter is one named value.
type counter struct {
	Name  string `json:"name"`
	Value uint64 `json:"value"`
}

// defaultControlPath is where serve puts its control socket for the TUN
// device tun: /run/seqack/<tun>.sock, or the same under the temporary
// directory when /run/seqack cannot be made.
func defaultControlPath(tun string) string {
	dir := "/run/seqack"
	if err := os.MkdirAll(dir, 0o755); err != nil || !writable(dir) {
		dir = filepath.Join(os.TempDir(), "seqack")
		os.MkdirAll(dir, 0o755)
	}
	return filepath.Join(dir, tun+".sock")
}

// controlCandidates are the places stat looks for the control socket of
// the TUN device tun, in order.
func controlCandidates(tun string) []string {
	return []string{
		filepath.Join("/run/seqack", tun+".sock"),
		filepath.Join(os.TempDir(), "seqack", tun+".sock"),
	}
}

// writable reports whether the process may create files in dir.
func writable(dir string) bool {
	f, err := os.CreateTemp(dir, ".probe-")
	if err != nil {
		return false
	}
	f.Close()
	os.Remove(f.Name())
	return true
}

// controlServer answers snapshots on a Unix socket.
type controlServer struct {
	ln       *net.UnixListener
	path     string
	snapshot func() *snapshot
	wg       sync.WaitGroup
}

// listenControl opens the control socket at path. A socket left there by
// a serve that is gone is replaced; one that still answers is not.
func listenControl(path string, snap func() *snapshot) (*controlServer, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != os.ModeSocket {
			return nil, fmt.Errorf("control socket: %s exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("control socket: %s is in use by another seqack serve (give --control another path)", path)
		}
		os.Remove(path) // stale: its server is gone
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	ln.SetUnlinkOnClose(true)
	cs := &controlServer{ln: ln, path: path, snapshot: snap}
	cs.wg.Add(1)
	go cs.serve()
	return cs, nil
}

// serve answers each connection with one snapshot.
func (cs *controlServer) serve() {
	defer cs.wg.Done()
	for {
		c, err := cs.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // EMFILE and the like: try again
			continue
		}
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		json.NewEncoder(c).Encode(cs.snapshot())
		c.Close()
	}
}

// Close stops answering and removes the socket.
func (cs *controlServer) Close() error {
	err := cs.ln.Close()
	cs.wg.Wait()
	return err
}

// stackSnapshot describes s: its connection table, its listeners and its
// counters, with extra groups of counters after the stack's (a device's,
// say), each a struct whose exported integer fields are counters.
func stackSnapshot(s *stack.Stack, device string, extra ...namedCounters) *snapshot {
	snap := &snapshot{Time: time.Now(), Device: device}
	for _, c := range s.Connections() {
		snap.Conns = append(snap.Conns, snapConn{
			State: c.State.String(), Local: c.ID.Local.String(), Remote: c.ID.Remote.String(),
			RecvQ: c.RecvQueue, SendQ: c.SendQueue,
		})
	}
	for _, l := range s.Listeners() {
		snap.Listeners = append(snap.Listeners, snapListener{
			Local: l.Addr.String(), AcceptQueue: l.AcceptQueue, Backlog: l.Backlog,
			HalfOpen: l.HalfOpen, SynBacklog: l.SynBacklog, Counters: flattenCounters(l.Stats),
		})
	}
	snap.Counters = append(snap.Counters, counterGroup{"stack", flattenCounters(s.Stats())})
	for _, e := range extra {
		snap.Counters = append(snap.Counters, counterGroup{e.name, flattenCounters(e.value)})
	}
	snap.Counters = append(snap.Counters, counterGroup{"process", processCounters()})
	return snap
}

// namedCounters is a struct of counters with the name of its group.
type namedCounters struct {
	name  string
	value any
}

// flattenCounters lists the exported integer fields of the struct v, in
// order, by reflection, so that a counter added to the struct appears
// without any change here. An array field becomes one counter per element,
// named Field[i], or by the name of what i stands for where one is known
// (ParseErrors by wire.Reason, ICMPIn and ICMPOut by ICMP type). A nested
// struct's fields are prefixed with its name and a dot.
func flattenCounters(v any) []counter {
	var out []counter
	flattenValue(reflect.ValueOf(v), "", &out)
	return out
}

func flattenValue(v reflect.Value, prefix string, out *[]counter) {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return
	}
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name := prefix + f.Name
		fv := v.Field(i)
		switch fv.Kind() {
		case reflect.Array, reflect.Slice:
			for j := range fv.Len() {
				if n, ok := integer(fv.Index(j)); ok {
					*out = append(*out, counter{name + "[" + indexName(f.Name, j) + "]", n})
				}
			}
		case reflect.Struct:
			flattenValue(fv, name+".", out)
		default:
			if n, ok := integer(fv); ok {
				*out = append(*out, counter{name, n})
			}
		}
	}
}

// integer returns v's value if it is an integer (a negative one as 0).
func integer(v reflect.Value) (uint64, bool) {
	switch v.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint(), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return uint64(max(v.Int(), 0)), true
	}
	return 0, false
}

// indexName names element i of the array field: a parse error's reason,
// an ICMP type, or else the number.
func indexName(field string, i int) string {
	switch {
	case field == "ParseErrors" && i < wire.NumReasons:
		r := wire.Reason(i)
		return r.Layer().String() + ":" + strings.ReplaceAll(r.String(), " ", "-")
	case strings.HasPrefix(field, "ICMP"):
		if name, ok := icmpTypeNames[i]; ok {
			return name
		}
	}
	return strconv.Itoa(i)
}

// icmpTypeNames names the ICMP types (RFC 792) that wire knows.
var icmpTypeNames = map[int]string{
	wire.ICMPEchoReply:        "echo-reply",
	wire.ICMPDestUnreachable:  "dest-unreachable",
	wire.ICMPEchoRequest:      "echo-request",
	wire.ICMPTimeExceeded:     "time-exceeded",
	wire.ICMPParameterProblem: "parameter-problem",
}

// processCounters describes the process: goroutines, the Go heap, and the
// resident memory and its peak as the kernel counts them.
func processCounters() []counter {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	cs := []counter{
		{"Goroutines", uint64(runtime.NumGoroutine())},
		{"HeapInuseBytes", ms.HeapInuse},
		{"HeapSysBytes", ms.HeapSys},
		{"SysBytes", ms.Sys},
	}
	rss, peak := residentMemory()
	if peak > 0 {
		cs = append(cs, counter{"VmRSSBytes", rss}, counter{"VmHWMBytes", peak})
	}
	return cs
}

// residentMemory returns the process's resident set size and its peak
// (VmRSS and VmHWM in /proc/self/status), or zeros where there is no /proc.
func residentMemory() (rss, peak uint64) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, val, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		f := strings.Fields(val)
		if len(f) != 2 || f[1] != "kB" {
			continue
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			continue
		}
		if name == "VmRSS" {
			rss = n << 10
		} else {
			peak = n << 10
		}
	}
	return rss, peak
}
