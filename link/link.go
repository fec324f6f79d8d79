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

// A Swapper is a Link that can move packets without copying them, by
// trading buffers with its caller: the in-memory Pipe is one. Its methods
// do what WritePackets and ReadPackets do, with one difference each.
//
// SwapWritePackets may keep the memory of a packet whose capacity is at
// least the MTU, instead of copying it, and put in its place in pkts a
// buffer of its own, of capacity at least the MTU (and any length), that
// belongs to the caller from then on. The caller must hold no other
// reference to the memory of the packets it writes.
//
// SwapReadPackets may, instead of copying a packet into bufs[i], take
// bufs[i] if its capacity is at least the MTU and put in its place the
// buffer that holds the packet, of capacity at least the MTU; as with
// ReadPackets, the packet is bufs[i][:sizes[i]].
//
// The caller's buffers and the link's thus stay in circulation between
// them, and a steady flow of packets is neither copied by the link nor
// allocated.
type Swapper interface {
	Link
	SwapWritePackets(pkts [][]byte) (n int, err error)
	SwapReadPackets(bufs [][]byte, sizes []int) (n int, err error)
}
