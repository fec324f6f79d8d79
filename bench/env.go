package bench

import (
	"fmt"
	"net"
)

// Options are what every contender is configured with, so that they do the
// same work on links of the same shape.
type Options struct {
	// MTU of the link, in bytes. The MSS follows from it (MTU − 40).
	MTU int

	// Buffer is the size of each connection's send and receive buffer,
	// in bytes, fixed (no auto-tuning beyond it) in seqack and gVisor. The
	// kernel keeps its own auto-tuned buffers.
	Buffer int

	// QueueLen is how many packets each direction of the link holds before
	// it drops (tail drop).
	QueueLen int

	// Backlog is each listener's accept queue (and, for seqack, its SYN
	// queue).
	Backlog int
}

// DefaultOptions returns the options the benchmark uses unless told
// otherwise: MTU 1500, 1 MiB buffers (gVisor's defaults), a link queue of
// 4096 packets and listen backlogs of 1024.
func DefaultOptions() Options {
	return Options{MTU: 1500, Buffer: 1 << 20, QueueLen: 4096, Backlog: 1024}
}

// An Env is a client and a server joined by a link, all in this process
// (or, for the kernel, in this process's sockets).
type Env interface {
	// Listen listens on the server side on the given TCP port.
	Listen(port uint16) (net.Listener, error)

	// Dial connects from the client side to the server's port. It may be
	// called from any goroutine.
	Dial(port uint16) (net.Conn, error)

	// Go runs f on a new goroutine, handing it a dial function as cheap as
	// the Env can make it, for use by that goroutine only. (For the kernel
	// in a namespace, it is a thread inside the namespace; for the others
	// it is Dial.)
	Go(f func(dial func(port uint16) (net.Conn, error)))

	// Close shuts both sides down, aborting every connection.
	Close() error
}

// An Impl is one contender: a name and a way to build its Env.
type Impl struct {
	Name string
	New  func(Options) (Env, error)
}

// Impls returns the three contenders, in the order of the table's columns.
func Impls() []Impl {
	return []Impl{
		{Name: "seqack", New: NewSeqack},
		{Name: "gvisor", New: NewGvisor},
		{Name: "kernel", New: NewKernel},
	}
}

// Lookup returns the contender with the given name.
func Lookup(name string) (Impl, error) {
	for _, im := range Impls() {
		if im.Name == name {
			return im, nil
		}
	}
	return Impl{}, fmt.Errorf("bench: no contender %q", name)
}
