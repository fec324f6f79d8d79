//go:build linux

package conform

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/seqack/seqack/internal/netns"
	"github.com/seqack/seqack/link"
	"github.com/seqack/seqack/wire"
)

// The Linux target's namespaces are named nsPrefix, the PID of the process
// that made them, and a counter, so that a later process can tell the
// leftovers of a dead one.
const nsPrefix = "sqk-conform-"

// linuxTUN names the TUN device inside the namespace; being private, the
// namespace has no other.
const linuxTUN = "tun0"

// linuxQueueLen bounds the packets captured and not yet taken by Next; more are
// dropped and counted (a script that reads none of thousands is broken).
const linuxQueueLen = 1 << 14

// linuxWakeTimeout bounds how long Close waits for the blocked calls it woke.
const linuxWakeTimeout = 2 * time.Second

var nsSeq atomic.Int32

// NewLinux makes a Linux target, as packetdrill sets itself up: a private
// network namespace with its loopback up and a TUN device (IFF_TUN |
// IFF_NO_PI) holding LocalAddr/24, a route to RemoteAddr's /24 through the
// device (with CUBIC congestion control: see LinuxSysctls), and [LinuxSysctls] (then opts.Sysctls) written inside it. It
// needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) and the "ip" command.
// It first deletes the namespaces that processes no longer running left
// behind.
//
// The target's sockets are the kernel's own, made inside the namespace;
// its system calls are the real ones, each blocking call on a thread of
// its own. [Target.Next] returns the IPv4 packets from LocalAddr to
// RemoteAddr that carry TCP or ICMP, and logs and drops anything else the
// kernel sends to the device. Time is real: Virtual reports false and
// AdvanceTo sleeps.
//
// Close closes the sockets, wakes the calls still blocked, and deletes
// the device and the namespace.
func NewLinux(opts LinuxOptions) (Target, error) {
	netns.RemoveStale(nsPrefix)
	begin := time.Now()
	l := &linuxTarget{
		ns:       fmt.Sprintf("%s%d-%d", nsPrefix, os.Getpid(), nsSeq.Add(1)),
		logf:     opts.Logf,
		fds:      make(map[int]int),
		pending:  make(map[*linuxCall]struct{}),
		pkts:     make(chan linuxCaptured, linuxQueueLen),
		readDone: make(chan struct{}),
	}
	if l.logf == nil {
		l.logf = func(string, ...any) {}
	}
	if out, err := exec.Command("ip", "netns", "add", l.ns).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("conform: ip netns add %s: %v: %s", l.ns, err, bytes.TrimSpace(out))
	}
	l.made = true
	if err := l.setUp(append(slices.Clone(LinuxSysctls), opts.Sysctls...)); err != nil {
		l.tearDown()
		return nil, err
	}
	l.start = time.Now()
	go l.readLoop()
	l.logf("linux: namespace %s with %s ready in %v", l.ns, linuxTUN, l.start.Sub(begin).Round(time.Microsecond))
	return l, nil
}

// linuxTarget is the [Target] that NewLinux makes.
type linuxTarget struct {
	ns    string // the namespace's name
	made  bool   // whether the namespace exists, to be deleted
	logf  func(string, ...any)
	start time.Time

	// nsCalls runs functions on a thread that has entered the namespace
	// (socket(2) and set-up, which must be made there); nsDone is closed
	// when that thread has gone.
	nsCalls chan func()
	nsDone  chan struct{}

	tun      *link.TUN
	pkts     chan linuxCaptured
	readDone chan struct{}
	overflow atomic.Uint64 // packets dropped because pkts was full

	closed atomic.Bool

	mu sync.Mutex
	// fds maps the script's descriptors to the process's; -1 marks a
	// number that a blocked accept has reserved, as the kernel reserves
	// the new descriptor before it waits.
	fds     map[int]int
	pending map[*linuxCall]struct{} // calls running on threads of their own
	wg      sync.WaitGroup          // those calls' goroutines
}

// linuxCaptured is a packet the kernel sent and when it was read.
type linuxCaptured struct {
	pkt []byte
	at  time.Duration
}

// setUp enters the namespace on a thread of its own and configures it.
func (l *linuxTarget) setUp(sysctls []Sysctl) error {
	if err := l.startNSThread(); err != nil {
		return err
	}
	err := l.inNS(func() error {
		for _, s := range sysctls {
			if err := writeSysctl(s); err != nil {
				if s.Optional && errors.Is(err, fs.ErrNotExist) {
					l.logf("linux: this kernel has no %s; skipped", s.Name)
					continue
				}
				return fmt.Errorf("conform: sysctl %s in %s: %w", s, l.ns, err)
			}
		}
		// The thread is in the namespace, so the device is made there.
		tun, err := link.OpenTUN(link.TUNConfig{Name: linuxTUN, HostAddr: netip.PrefixFrom(LocalAddr, 24)})
		if err != nil {
			return fmt.Errorf("conform: in %s: %w", l.ns, err)
		}
		l.tun = tun
		return nil
	})
	if err != nil {
		return err
	}
	remote := netip.PrefixFrom(RemoteAddr, 24).Masked()
	batch := fmt.Sprintf("link set dev lo up\nlink set dev %s txqueuelen 10000\nroute add %s dev %s congctl cubic\n", linuxTUN, remote, linuxTUN)
	cmd := exec.Command("ip", "-n", l.ns, "-batch", "-")
	cmd.Stdin = strings.NewReader(batch)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("conform: ip -n %s -batch (%q): %v: %s", l.ns, batch, err, bytes.TrimSpace(out))
	}
	if rmemMax, err := os.ReadFile("/proc/sys/net/core/rmem_max"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(rmemMax))); err == nil && n >= 1<<23 {
			l.logf("linux: net.core.rmem_max is %d, so the kernel's window scale is above 7", n)
		}
	}
	return nil
}

// writeSysctl writes s on the calling thread, whose network namespace is
// the one whose net.* settings /proc/sys/net shows.
func writeSysctl(s Sysctl) error {
	f, err := os.OpenFile("/proc/sys/"+strings.ReplaceAll(s.Name, ".", "/"), os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(s.Value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// startNSThread starts the goroutine that serves inNS, locked to a thread
// that has entered the namespace. The thread never leaves it: the
// goroutine ends still locked, and the runtime then ends the thread.
func (l *linuxTarget) startNSThread() error {
	f, err := os.Open("/var/run/netns/" + l.ns)
	if err != nil {
		return fmt.Errorf("conform: %w", err)
	}
	l.nsCalls = make(chan func())
	l.nsDone = make(chan struct{})
	ready := make(chan error, 1)
	go func() {
		defer close(l.nsDone)
		runtime.LockOSThread()
		err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
		f.Close()
		if err != nil {
			ready <- fmt.Errorf("conform: setns %s: %w", l.ns, err)
			return
		}
		ready <- nil
		for fn := range l.nsCalls {
			fn()
		}
	}()
	if err := <-ready; err != nil {
		l.nsCalls = nil
		return err
	}
	return nil
}

// inNS runs f on the thread inside the namespace.
func (l *linuxTarget) inNS(f func() error) error {
	errc := make(chan error, 1)
	l.nsCalls <- func() { errc <- f() }
	return <-errc
}

// tearDown releases what NewLinux made, in reverse: the device, the
// namespace's thread, the namespace.
func (l *linuxTarget) tearDown() error {
	var errs []error
	if l.tun != nil {
		errs = append(errs, l.tun.Close())
	}
	if l.nsCalls != nil {
		close(l.nsCalls)
		<-l.nsDone
		l.nsCalls = nil
	}
	if l.made {
		if out, err := exec.Command("ip", "netns", "del", l.ns).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("conform: ip netns del %s: %v: %s", l.ns, err, bytes.TrimSpace(out)))
		}
		l.made = false
	}
	return errors.Join(errs...)
}

// readLoop captures what the kernel sends to the device until it closes.
func (l *linuxTarget) readLoop() {
	defer close(l.readDone)
	bufs := make([][]byte, 16)
	for i := range bufs {
		bufs[i] = make([]byte, 65536)
	}
	sizes := make([]int, len(bufs))
	for {
		n, err := l.tun.ReadPackets(bufs, sizes)
		if err != nil {
			if !errors.Is(err, link.ErrClosed) {
				l.logf("linux: reading %s: %v", linuxTUN, err)
			}
			return
		}
		at := l.Now()
		for i := range n {
			pkt := bufs[i][:sizes[i]]
			if !linuxWanted(pkt) {
				l.logf("linux: at %v the kernel sent a packet that is not for the script: %s", at, linuxDescribe(pkt))
				continue
			}
			select {
			case l.pkts <- linuxCaptured{pkt: bytes.Clone(pkt), at: at}:
			default:
				l.overflow.Add(1)
			}
		}
	}
}

// linuxWanted reports whether the kernel's packet is one Next returns: IPv4,
// from LocalAddr to RemoteAddr, carrying TCP or ICMP.
func linuxWanted(pkt []byte) bool {
	p, err := wire.ParseIPv4(pkt)
	if err != nil {
		return false
	}
	return p.Src() == LocalAddr && p.Dst() == RemoteAddr &&
		(p.Protocol() == wire.ProtoTCP || p.Protocol() == wire.ProtoICMP)
}

// linuxDescribe names a packet for a log line.
func linuxDescribe(pkt []byte) string {
	if p, err := wire.ParseIPv4(pkt); err == nil {
		return p.String()
	}
	if len(pkt) > 0 && pkt[0]>>4 == 6 {
		return fmt.Sprintf("IPv6, %d bytes", len(pkt))
	}
	return fmt.Sprintf("%d bytes % x", len(pkt), pkt[:min(len(pkt), 20)])
}

// Name returns "linux".
func (l *linuxTarget) Name() string { return "linux" }

// Now returns the real time since the target was made.
func (l *linuxTarget) Now() time.Duration { return time.Since(l.start) }

// Virtual returns false: the kernel's clock is real.
func (l *linuxTarget) Virtual() bool { return false }

// AdvanceTo sleeps until t.
func (l *linuxTarget) AdvanceTo(t time.Duration) {
	if d := t - l.Now(); d > 0 {
		time.Sleep(d)
	}
}

// Inject writes pkt to the TUN device, from which the kernel receives it.
func (l *linuxTarget) Inject(pkt []byte) error {
	if l.closed.Load() {
		return link.ErrClosed
	}
	before := l.tun.Stats()
	if _, err := l.tun.WritePackets([][]byte{pkt}); err != nil {
		return fmt.Errorf("conform: inject: %w", err)
	}
	after := l.tun.Stats()
	switch {
	case after.TooBig > before.TooBig:
		return fmt.Errorf("conform: inject: a packet of %d bytes is longer than %s's MTU of %d", len(pkt), linuxTUN, l.tun.MTU())
	case after.WriteErrors > before.WriteErrors:
		return fmt.Errorf("conform: inject: the kernel refused a packet of %d bytes", len(pkt))
	}
	return nil
}

// Next returns the next packet captured, waiting for one until deadline.
func (l *linuxTarget) Next(deadline time.Duration) ([]byte, time.Duration, bool) {
	select {
	case c := <-l.pkts:
		return c.pkt, c.at, true
	default:
	}
	wait := deadline - l.Now()
	if wait <= 0 {
		return nil, 0, false
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case c := <-l.pkts:
		return c.pkt, c.at, true
	case <-timer.C:
		return nil, 0, false
	}
}

// Close wakes the calls still blocked and waits for them, closes every
// socket, and deletes the device and the namespace.
func (l *linuxTarget) Close() error {
	if l.closed.Swap(true) {
		return nil
	}
	var errs []error
	l.mu.Lock()
	calls := make([]*linuxCall, 0, len(l.pending))
	for c := range l.pending {
		calls = append(calls, c)
	}
	l.mu.Unlock()
	// shutdown(2) wakes accept, connect, read and write; a close(2)
	// lingering for its FIN to be acknowledged wakes on a signal. SIGURG
	// is the one the Go runtime already takes in its stride.
	deadline := time.Now().Add(linuxWakeTimeout)
	for _, c := range calls {
		c.shutdown()
		c.signal()
	}
	for _, c := range calls {
		for !c.wait(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				errs = append(errs, fmt.Errorf("conform: a blocked %s could not be woken", c.op))
				break
			}
			c.signal()
		}
	}
	if len(errs) == 0 {
		l.wg.Wait()
	}
	l.mu.Lock()
	for fd, real := range l.fds {
		if real >= 0 {
			unix.Close(real)
		}
		delete(l.fds, fd)
	}
	l.mu.Unlock()
	if n := l.overflow.Load(); n > 0 {
		l.logf("linux: %d packets were dropped because the script did not take them", n)
	}
	errs = append(errs, l.tearDown())
	<-l.readDone
	for _, err := range errs {
		if err != nil {
			l.logf("linux: close: %v", err)
		}
	}
	return errors.Join(errs...)
}

// A linuxCall is a system call running on a thread of its own: one that
// may block. It implements [Pending].
type linuxCall struct {
	op   Op
	done chan struct{} // closed when the call has returned
	res  Result
	at   time.Duration

	mu  sync.Mutex
	tid int // the thread making the call, while it does
	// wake is a duplicate of the call's socket descriptor, which the call
	// uses and Close shuts down to wake it: the script may close its own
	// descriptor, and the process's number may then be reused. -1 once
	// the call has returned and closed it.
	wake int
}

// finished returns a Pending for a call that has already returned.
func (l *linuxTarget) finished(op Op, r Result) Pending {
	c := &linuxCall{op: op, done: make(chan struct{}), res: r, at: l.Now(), wake: -1}
	close(c.done)
	return c
}

// Done reports the call's result once it has returned.
func (c *linuxCall) Done() (Result, time.Duration, bool) {
	select {
	case <-c.done:
		return c.res, c.at, true
	default:
		return Result{}, 0, false
	}
}

// wait waits up to d for the call to return and reports whether it has.
func (c *linuxCall) wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.done:
		return true
	case <-t.C:
		return false
	}
}

// shutdown shuts the call's socket down for reading and writing.
func (c *linuxCall) shutdown() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.wake >= 0 {
		unix.Shutdown(c.wake, unix.SHUT_RDWR)
	}
}

// signal interrupts the call's thread with SIGURG.
func (c *linuxCall) signal() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tid != 0 {
		unix.Tgkill(os.Getpid(), c.tid, unix.SIGURG)
	}
}

// Start makes the system call c. A call that cannot block is made at
// once. One that can (accept, connect, read, write, close) is made on a
// thread of its own, and Start returns when it has returned or when the
// thread is seen asleep inside it, as packetdrill waits for its system
// call thread: /proc/self/task/TID/syscall names the call a sleeping
// thread is in.
func (l *linuxTarget) Start(c Call) Pending {
	if l.closed.Load() {
		return l.finished(c.Op, Result{Ret: -1, Errno: unix.EBADF})
	}
	if c.Op == OpSocket {
		var fd int
		err := l.inNS(func() (err error) {
			fd, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
			return err
		})
		if err != nil {
			return l.finished(c.Op, linuxResult(-1, err))
		}
		l.mu.Lock()
		n := l.lowestFree()
		l.fds[n] = fd
		l.mu.Unlock()
		return l.finished(c.Op, Result{Ret: n})
	}
	l.mu.Lock()
	real, ok := l.fds[c.Fd]
	if !ok || real < 0 {
		l.mu.Unlock()
		return l.finished(c.Op, Result{Ret: -1, Errno: unix.EBADF})
	}
	switch c.Op {
	case OpAccept:
		n := l.lowestFree()
		l.fds[n] = -1
		l.mu.Unlock()
		return l.blocking(c.Op, real, true, unix.SYS_ACCEPT4, func(fd int) Result {
			nfd, _, err := unix.Accept4(fd, unix.SOCK_CLOEXEC)
			l.mu.Lock()
			defer l.mu.Unlock()
			if err != nil {
				delete(l.fds, n)
				return linuxResult(-1, err)
			}
			l.fds[n] = nfd
			return Result{Ret: n}
		})
	case OpClose:
		// As close(2) frees the number before it returns, however long
		// it lingers.
		delete(l.fds, c.Fd)
		l.mu.Unlock()
		return l.blocking(c.Op, real, false, unix.SYS_CLOSE, func(fd int) Result {
			return linuxResult(0, unix.Close(fd))
		})
	}
	l.mu.Unlock()
	switch c.Op {
	case OpConnect:
		sa := &unix.SockaddrInet4{Port: int(c.Port), Addr: RemoteAddr.As4()}
		return l.blocking(c.Op, real, true, unix.SYS_CONNECT, func(fd int) Result {
			return linuxResult(0, unix.Connect(fd, sa))
		})
	case OpRead:
		buf := make([]byte, max(c.Len, 0))
		return l.blocking(c.Op, real, true, unix.SYS_READ, func(fd int) Result {
			return linuxResult(unix.Read(fd, buf))
		})
	case OpWrite:
		buf := linuxWriteData(max(c.Len, 0))
		return l.blocking(c.Op, real, true, unix.SYS_WRITE, func(fd int) Result {
			return linuxResult(unix.Write(fd, buf))
		})
	case OpBind:
		return l.finished(c.Op, linuxResult(0, unix.Bind(real, &unix.SockaddrInet4{Port: int(c.Port), Addr: LocalAddr.As4()})))
	case OpListen:
		return l.finished(c.Op, linuxResult(0, unix.Listen(real, c.Backlog)))
	case OpShutdown:
		return l.finished(c.Op, linuxResult(0, unix.Shutdown(real, c.How)))
	case OpSetsockopt:
		var err error
		if c.Level == unix.SOL_SOCKET && c.Option == unix.SO_LINGER {
			err = unix.SetsockoptLinger(real, c.Level, c.Option, &unix.Linger{Onoff: int32(c.Linger[0]), Linger: int32(c.Linger[1])})
		} else {
			err = unix.SetsockoptInt(real, c.Level, c.Option, c.Value)
		}
		return l.finished(c.Op, linuxResult(0, err))
	case OpFcntl:
		flags, err := unix.FcntlInt(uintptr(real), unix.F_GETFL, 0)
		if err == nil {
			if c.NonBlock {
				flags |= unix.O_NONBLOCK
			} else {
				flags &^= unix.O_NONBLOCK
			}
			_, err = unix.FcntlInt(uintptr(real), unix.F_SETFL, flags)
		}
		return l.finished(c.Op, linuxResult(0, err))
	}
	return l.finished(c.Op, Result{Ret: -1, Err: fmt.Errorf("%w: %q", ErrUnsupported, c.Op)})
}

// lowestFree returns the lowest script descriptor not in use, from 3.
// l.mu must be held.
func (l *linuxTarget) lowestFree() int {
	n := 3
	for {
		if _, used := l.fds[n]; !used {
			return n
		}
		n++
	}
}

// blocking runs call on a thread of its own, with the process descriptor
// real, or with a duplicate of it if dup is set, and returns once the call
// has returned or the thread sleeps in system call nr.
func (l *linuxTarget) blocking(op Op, real int, dup bool, nr uintptr, call func(fd int) Result) Pending {
	c := &linuxCall{op: op, done: make(chan struct{}), wake: -1}
	fd := real
	if dup {
		var err error
		if fd, err = unix.FcntlInt(uintptr(real), unix.F_DUPFD_CLOEXEC, 0); err != nil {
			return l.finished(op, linuxResult(-1, err))
		}
		c.wake = fd
	}
	l.mu.Lock()
	l.pending[c] = struct{}{}
	l.wg.Add(1)
	l.mu.Unlock()
	tids := make(chan int, 1)
	go func() {
		defer l.wg.Done()
		runtime.LockOSThread()
		c.mu.Lock()
		c.tid = unix.Gettid()
		c.mu.Unlock()
		tids <- c.tid
		r := call(fd)
		at := l.Now()
		c.mu.Lock()
		c.tid = 0
		if c.wake >= 0 {
			unix.Close(c.wake)
			c.wake = -1
		}
		c.mu.Unlock()
		runtime.UnlockOSThread()
		c.res, c.at = r, at
		l.mu.Lock()
		delete(l.pending, c)
		l.mu.Unlock()
		close(c.done)
	}()
	awaitBlocked(c, <-tids, nr, l.logf)
	return c
}

// awaitBlocked returns when the call has returned or its thread tid is
// asleep in system call nr.
func awaitBlocked(c *linuxCall, tid int, nr uintptr, logf func(string, ...any)) {
	path := fmt.Sprintf("/proc/self/task/%d/syscall", tid)
	limit := time.Now().Add(time.Second)
	want := strconv.FormatUint(uint64(nr), 10) + " "
	for {
		select {
		case <-c.done:
			return
		default:
		}
		// The file reads "running" while the thread runs, and the call's
		// number and arguments while it sleeps in one.
		if b, err := os.ReadFile(path); err == nil && strings.HasPrefix(string(b), want) {
			return
		}
		if time.Now().After(limit) {
			logf("linux: %s neither returned nor was seen blocked within a second; taken as blocked", c.op)
			return
		}
		time.Sleep(20 * time.Microsecond)
	}
}

// linuxResult turns a call's return value and error into a [Result].
func linuxResult(ret int, err error) Result {
	if err == nil {
		return Result{Ret: ret}
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return Result{Ret: -1, Errno: errno}
	}
	return Result{Ret: -1, Errno: syscall.EIO}
}

// linuxWriteData returns the n bytes that write(2) sends: zeros, as
// packetdrill's buffer holds.
func linuxWriteData(n int) []byte { return make([]byte, n) }
