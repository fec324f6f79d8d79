package bench

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// kernelEnv is the Linux kernel's TCP over a loopback interface. When the
// process may create a network namespace, it is the loopback of a new
// namespace with its MTU set to the Env's; otherwise it is the host's
// loopback, whatever its MTU.
type kernelEnv struct {
	nsfd int           // the namespace's handle, or -1 on the host's loopback
	do   chan func()   // runs a function on a thread inside the namespace
	done chan struct{} // closed when that thread has left
	mtu  int           // the loopback's MTU
}

// NewKernel returns an Env on the kernel's loopback (127.0.0.1). It first
// tries a network namespace of its own, whose loopback it brings up with
// o.MTU and with segmentation offloads (TSO, GSO) off, so that the kernel,
// too, sends one packet per MTU-sized segment; without the privilege to,
// it uses the host's loopback as it is. The kernel's socket buffers are its
// own (auto-tuned); o.Buffer does not apply.
func NewKernel(o Options) (Env, error) {
	e := &kernelEnv{nsfd: -1, do: make(chan func()), done: make(chan struct{})}
	ready := make(chan error, 1)
	go e.nsThread(o.MTU, ready)
	if err := <-ready; err != nil {
		// No namespace: the host's loopback.
		e.mtu = loopbackMTU()
		return e, nil
	}
	return e, nil
}

// nsThread moves its thread into a new network namespace, brings the
// loopback up there and then runs the functions sent on e.do until e.do is
// closed. It never unlocks its thread, so the runtime discards the thread
// when it returns rather than hand it, in the namespace, to other code.
func (e *kernelEnv) nsThread(mtu int, ready chan<- error) {
	runtime.LockOSThread()
	defer close(e.done)
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread() // still in the host's namespace
		ready <- err
		return
	}
	if err := loopbackUp(mtu); err != nil {
		ready <- err
		return
	}
	fd, err := unix.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		ready <- err
		return
	}
	e.nsfd, e.mtu = fd, mtu
	ready <- nil
	for f := range e.do {
		f()
	}
}

// loopbackUp sets the MTU of "lo" in the calling thread's namespace and
// brings it up.
func loopbackUp(mtu int) error {
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(s)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	ifr.SetUint32(uint32(mtu))
	if err := unix.IoctlIfreq(s, unix.SIOCSIFMTU, ifr); err != nil {
		return fmt.Errorf("lo mtu %d: %w", mtu, err)
	}
	for _, cmd := range []uint32{unix.ETHTOOL_STSO, unix.ETHTOOL_SGSO} {
		if err := ethtoolSet(s, "lo", cmd, 0); err != nil {
			return fmt.Errorf("lo offload 0x%x off: %w", cmd, err)
		}
	}
	if err := unix.IoctlIfreq(s, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(s, unix.SIOCSIFFLAGS, ifr)
}

// ethtoolSet runs an ethtool "set" command that takes one value (struct
// ethtool_value) on the named interface.
func ethtoolSet(fd int, ifname string, cmd, value uint32) error {
	v := struct{ cmd, data uint32 }{cmd, value}
	var ifr struct {
		name [unix.IFNAMSIZ]byte
		data unsafe.Pointer
		_    [24 - unsafe.Sizeof(uintptr(0))]byte
	}
	copy(ifr.name[:], ifname)
	ifr.data = unsafe.Pointer(&v)
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&ifr)))
	runtime.KeepAlive(&v)
	if errno != 0 {
		return errno
	}
	return nil
}

// loopbackMTU returns the MTU of the host's loopback, or 0 if unknown.
func loopbackMTU() int {
	ifi, err := net.InterfaceByName("lo")
	if err != nil {
		return 0
	}
	return ifi.MTU
}

// inNS runs f on the namespace's thread (or, on the host's loopback, here).
func (e *kernelEnv) inNS(f func()) {
	if e.nsfd < 0 {
		f()
		return
	}
	done := make(chan struct{})
	e.do <- func() { f(); close(done) }
	<-done
}

func (e *kernelEnv) Listen(port uint16) (ln net.Listener, err error) {
	e.inNS(func() { ln, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)) })
	return ln, err
}

func (e *kernelEnv) Dial(port uint16) (c net.Conn, err error) {
	e.inNS(func() { c, err = kernelDial(port) })
	return c, err
}

func kernelDial(port uint16) (net.Conn, error) {
	return net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
}

// Go runs f on a thread of its own inside the namespace, so that its
// dials go straight to the kernel.
func (e *kernelEnv) Go(f func(dial func(uint16) (net.Conn, error))) {
	if e.nsfd < 0 {
		go f(kernelDial)
		return
	}
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with f
		if err := unix.Setns(e.nsfd, unix.CLONE_NEWNET); err != nil {
			f(func(uint16) (net.Conn, error) {
				return nil, os.NewSyscallError("setns", err)
			})
			return
		}
		f(kernelDial)
	}()
}

func (e *kernelEnv) Close() error {
	if e.nsfd < 0 {
		return nil
	}
	close(e.do)
	<-e.done
	return errors.Join(unix.Close(e.nsfd))
}

// Describe says where the kernel's TCP runs, for the table's notes.
func (e *kernelEnv) Describe() string {
	if e.nsfd < 0 {
		return fmt.Sprintf("host loopback, MTU %d", e.mtu)
	}
	return fmt.Sprintf("loopback in a private namespace, MTU %d, TSO and GSO off", e.mtu)
}
