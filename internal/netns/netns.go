//go:build linux

// Package netns builds private Linux network namespaces for tests that
// need the real kernel on the other end of a link: seqack on a TUN device
// inside a namespace, the kernel's TCP and its tools (curl, nc, nmap,
// tcpdump) in the same one. Nothing a test does in a namespace reaches the
// host's network, and every namespace is deleted when its test ends,
// failed or not.
//
// Tests that need namespaces call [Require] first: without root, or
// without a tool, it skips the test with the reason, unless the
// environment variable SEQACK_REQUIRE_NETNS is 1 (CI sets it), in which
// case it fails the test instead.
package netns

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// Required reports whether SEQACK_REQUIRE_NETNS=1: whether a test that
// cannot run here must fail rather than skip.
func Required() bool { return os.Getenv("SEQACK_REQUIRE_NETNS") == "1" }

// Require skips t, or fails it if [Required], unless the process is root,
// /dev/net/tun exists, network namespaces work, and every tool named is on
// the PATH.
func Require(t testing.TB, tools ...string) {
	t.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root (network namespaces and TUN devices need it)")
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		missing = append(missing, "/dev/net/tun")
	}
	for _, tool := range append([]string{"ip"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := "needs " + strings.Join(missing, ", ") + "; ./test.sh as root installs the tools"
	if Required() {
		t.Fatalf("SEQACK_REQUIRE_NETNS=1, but this test %s", msg)
	}
	t.Skip("skipped: this test " + msg)
}

// NS is a network namespace made by [New].
type NS struct {
	name string
	t    testing.TB
}

var seq atomic.Int32

// prefix starts the name of every namespace this package makes; the PID
// that follows says which test process made it.
const prefix = "sqk-"

// New makes a namespace with its loopback interface up, and deletes it,
// after ending the processes still running in it, when t ends. It first
// deletes the namespaces that earlier test processes, now gone, left
// behind (a test binary killed by its timeout runs no cleanup).
func New(t testing.TB) *NS {
	t.Helper()
	RemoveStale(prefix)
	ns := &NS{name: fmt.Sprintf("%s%d-%d", prefix, os.Getpid(), seq.Add(1)), t: t}
	if out, err := exec.Command("ip", "netns", "add", ns.name).CombinedOutput(); err != nil {
		msg := fmt.Sprintf("ip netns add %s: %v: %s", ns.name, err, out)
		if Required() {
			t.Fatal(msg)
		}
		t.Skip("skipped: network namespaces do not work here: " + msg)
	}
	t.Cleanup(ns.remove)
	ns.Run("ip", "link", "set", "lo", "up")
	return ns
}

// Name returns the namespace's name, as "ip netns" knows it.
func (ns *NS) Name() string { return ns.name }

// remove ends the processes in the namespace and deletes it.
func (ns *NS) remove() {
	out, _ := exec.Command("ip", "netns", "pids", ns.name).Output()
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if out, err := exec.Command("ip", "netns", "del", ns.name).CombinedOutput(); err != nil {
		ns.t.Errorf("ip netns del %s: %v: %s", ns.name, err, out)
	}
}

// RemoveStale deletes the namespaces named prefix, a PID, "-" and more,
// whose process no longer runs: the leftovers of a test binary killed by
// its timeout, which runs no cleanup. [New] calls it for its own prefix.
func RemoveStale(prefix string) {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		rest, ok := strings.CutPrefix(name, prefix)
		if !ok {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() || syscall.Kill(pid, 0) != syscall.ESRCH {
			continue
		}
		exec.Command("ip", "netns", "del", name).Run()
	}
}

// Command returns a command that runs in the namespace.
func (ns *NS) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns.name, name}, args...)...)
}

// Run runs a command in the namespace and returns its standard output;
// the test fails if the command does.
func (ns *NS) Run(name string, args ...string) string {
	ns.t.Helper()
	cmd := ns.Command(context.Background(), name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		ns.t.Fatalf("in %s: %s %s: %v\n%s%s", ns.name, name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// Do runs f on an operating-system thread that has entered the namespace,
// and returns its error. Sockets and devices that f opens belong to the
// namespace and can then be used from any goroutine. The thread leaves the
// namespace afterwards, or, if it cannot, is never used again.
func (ns *NS) Do(f func() error) error {
	target, err := os.Open("/var/run/netns/" + ns.name)
	if err != nil {
		return err
	}
	defer target.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		self, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer self.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("setns %s: %w", ns.name, err)
			return
		}
		ferr := f()
		if unix.Setns(int(self.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread() // back home: the thread may be reused
		} // else the thread stays locked and dies with this goroutine
		errc <- ferr
	}()
	return <-errc
}

// Veth joins namespaces a and b with a veth pair, gives each end its
// address (such as "10.8.0.1/24") and the MTU, and brings both up.
func Veth(t testing.TB, a *NS, addrA string, b *NS, addrB string, mtu int) {
	t.Helper()
	a.Run("ip", "link", "add", "veth0", "mtu", strconv.Itoa(mtu), "type", "veth", "peer", "name", "veth1", "mtu", strconv.Itoa(mtu), "netns", b.name)
	a.Run("ip", "addr", "add", addrA, "dev", "veth0")
	a.Run("ip", "link", "set", "veth0", "up")
	b.Run("ip", "addr", "add", addrB, "dev", "veth1")
	b.Run("ip", "link", "set", "veth1", "up")
}
