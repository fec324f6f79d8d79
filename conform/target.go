package conform

import (
	"errors"
	"net/netip"
	"syscall"
	"time"
)

// The addresses every script uses, as packetdrill's defaults do: the system
// under test is LocalAddr; the script plays the peer at RemoteAddr.
var (
	LocalAddr  = netip.MustParseAddr("192.168.0.1")
	RemoteAddr = netip.MustParseAddr("192.0.2.1")
)

// RemotePort is the script's port when a line does not name one: injected
// segments come from it, and connect(2) in a script goes to it.
const RemotePort = 8080

// A Target is one system under test: the seqack stack on a virtual clock,
// or the Linux kernel behind a TUN device in a private network namespace.
// The interpreter drives it from one goroutine; a Target need not be safe
// for concurrent use except where a method says so.
//
// Time is measured from the moment the Target was made.
type Target interface {
	// Name names the target in messages: "seqack" or "linux".
	Name() string

	// Now is the time since the Target was made: virtual time on a
	// simulated target, real time on a real one.
	Now() time.Duration

	// Virtual reports whether time is virtual, so that a script's timing
	// is checked exactly rather than within packetdrill's tolerance.
	Virtual() bool

	// AdvanceTo lets time pass until t. A virtual target runs its timers up
	// to t (capturing what they send); a real one sleeps. Nothing happens
	// if t is not after Now.
	AdvanceTo(t time.Duration)

	// Inject hands the system one IPv4 packet from RemoteAddr, as if it had
	// arrived on its link.
	Inject(pkt []byte) error

	// Next returns the next IPv4 packet the system sent, in order, and when
	// it was sent. If none has been sent yet, it lets time pass (as
	// AdvanceTo does) until one is or until deadline, and then returns
	// ok=false. The packet is the caller's to keep.
	Next(deadline time.Duration) (pkt []byte, at time.Duration, ok bool)

	// Start begins a system call. The call may finish at once or block
	// (accept with nothing queued, read with nothing to read, a blocking
	// connect); it completes while time passes or packets are injected.
	// Done reports whether it has finished yet, without waiting.
	Start(c Call) Pending

	// Close ends the test: every socket is closed and every resource (a
	// namespace, a device) released.
	Close() error
}

// A Pending is a system call that Start began.
type Pending interface {
	// Done reports whether the call has returned, with its result and the
	// time it returned.
	Done() (r Result, at time.Duration, ok bool)
}

// Op names a system call.
type Op string

// The system calls a script can make, with packetdrill's names.
const (
	OpSocket     Op = "socket"     // socket(AF_INET, SOCK_STREAM, IPPROTO_TCP); returns the fd
	OpBind       Op = "bind"       // Fd, Port: bind(fd, LocalAddr:Port)
	OpListen     Op = "listen"     // Fd, Backlog
	OpAccept     Op = "accept"     // Fd; returns the new fd
	OpConnect    Op = "connect"    // Fd, Port: connect(fd, RemoteAddr:Port)
	OpWrite      Op = "write"      // Fd, Len (the data is Len bytes of a fixed pattern); returns bytes written
	OpRead       Op = "read"       // Fd, Len; returns bytes read (0 at EOF)
	OpShutdown   Op = "shutdown"   // Fd, How (syscall.SHUT_RD, SHUT_WR, SHUT_RDWR)
	OpClose      Op = "close"      // Fd
	OpSetsockopt Op = "setsockopt" // Fd, Level, Option, Value (and Linger for SO_LINGER)
	OpFcntl      Op = "fcntl"      // Fd, NonBlock: F_SETFL O_NONBLOCK on or off
)

// A Call is one system call with its arguments. File descriptors are the
// script's numbers: a target maps them to its own sockets, and socket()
// and accept() return the lowest number not in use, starting at 3, as
// Linux does for a fresh process.
type Call struct {
	Op      Op
	Fd      int
	Port    uint16 // bind, connect
	Backlog int    // listen
	Len     int    // read, write
	How     int    // shutdown
	Level   int    // setsockopt: syscall.SOL_SOCKET or syscall.IPPROTO_TCP
	Option  int    // setsockopt: SO_LINGER, SO_RCVBUF, SO_SNDBUF, TCP_NODELAY
	Value   int    // setsockopt: the int value
	// Linger is SO_LINGER's {l_onoff, l_linger}.
	Linger [2]int
	// NonBlock is fcntl's O_NONBLOCK.
	NonBlock bool
}

// A Result is what a system call returned: Ret as the call's return value
// (-1 on failure) and Errno naming why it failed (0 on success), as the C
// call reports them.
type Result struct {
	Ret   int
	Errno syscall.Errno

	// Err, if not nil, says that the target could not make the call at
	// all (ErrUnsupported, perhaps wrapped with why): not a call that
	// failed, which Errno reports, but a gap in the target. Ret and Errno
	// are then meaningless.
	Err error
}

// ErrUnsupported is what a target reports in Result.Err when it cannot make a call at all
// (not a call that failed: that is a Result with an Errno).
var ErrUnsupported = errors.New("conform: the target does not support this call")
