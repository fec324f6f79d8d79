// Package link moves IP packets between a stack and the world: the Link
// interface, and its implementations: Pipe (two in-memory ends), Netem
// (loss, delay, reordering, duplication, corruption and a bottleneck, on
// any link; NetemPath is its core for simulators), TUN (a Linux TUN
// device), and Tap (a pcap recorder on any link).
package link

import "errors"

// ErrClosed is returned by a Link's methods after Close.
var ErrClosed = errors.New("link: closed")

// A Link sends and receives whole IP packets, several at a time.
//
// ReadPackets blocks until at least one packet is available, then copies up
// to len(bufs) packets into bufs (one per buffer), stores each packet's
// length in sizes, and returns how many it filled. A packet longer than its
// buffer is truncated. It returns ErrClosed once the link is closed.
//
// WritePackets sends the packets in order and returns how many the link
// accepted; the link does not retain the slices after it returns. A link
// that is full drops packets (as a router's queue would), counts them, and
// still reports them as written: loss is the transport's to repair.
//
// ReadPackets is called from one goroutine; WritePackets may be called
// from several at once.
type Link interface {
	ReadPackets(bufs [][]byte, sizes []int) (n int, err error)
	WritePackets(pkts [][]byte) (n int, err error)
	// MTU is the largest IP packet, in bytes, that the link carries.
	MTU() int
	// Close releases the link and unblocks ReadPackets.
	Close() error
}
