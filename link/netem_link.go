package link

import (
	"container/heap"
	"errors"
	"sync"
	"time"
)

// Netem is a [Link] that impairs the packets of another link on the real
// clock, as Linux's tc netem does to a network interface: packets written
// to it cross an egress [NetemPath] before they reach the inner link, and
// packets read from the inner link cross an ingress NetemPath before
// ReadPackets returns them.
//
// A Netem runs two goroutines until Close: one reads the inner link, the
// other holds the delayed packets of both directions and hands each on when
// its time comes.
type Netem struct {
	inner Link

	mu      sync.Mutex
	ready   sync.Cond // signalled when ingress packets are due, or on Close
	egress  *NetemPath
	ingress *NetemPath
	pending netemHeap // delayed packets of both directions
	seq     uint64    // tie-break for packets due at the same time
	inbox   [][]byte  // ingress packets due, waiting for ReadPackets
	closed  bool
	kick    chan struct{} // a new earliest packet was queued
	done    chan struct{}
	wg      sync.WaitGroup
}

var _ Link = (*Netem)(nil)

// NewNetem wraps inner: what is written goes through egress, what is read
// comes through ingress, with random choices drawn from seed. It returns an
// error if either configuration is invalid.
func NewNetem(inner Link, egress, ingress NetemConfig, seed uint64) (*Netem, error) {
	e, err := newNetemPath(egress, mix64(seed), "link: netem egress")
	if err != nil {
		return nil, err
	}
	in, err := newNetemPath(ingress, mix64(seed^0x5a5a5a5a5a5a5a5a), "link: netem ingress")
	if err != nil {
		return nil, err
	}
	n := &Netem{
		inner:   inner,
		egress:  e,
		ingress: in,
		kick:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	n.ready.L = &n.mu
	n.wg.Add(2)
	go n.readLoop()
	go n.scheduleLoop()
	return n, nil
}

// MTU returns the inner link's MTU. A smaller NetemConfig.MTU is a limit
// further along the path, which the host does not know about.
func (n *Netem) MTU() int { return n.inner.MTU() }

// Stats returns the counters of the egress and the ingress path.
func (n *Netem) Stats() (egress, ingress NetemStats) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.egress.Stats(), n.ingress.Stats()
}

// WritePackets sends each packet through the egress path; those that
// survive reach the inner link when they are due. It returns [ErrClosed]
// after Close.
func (n *Netem) WritePackets(pkts [][]byte) (int, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return 0, ErrClosed
	}
	now := time.Now()
	for _, p := range pkts {
		n.egress.Send(p, now, n.pushEgress)
	}
	return len(pkts), nil
}

// ReadPackets blocks until at least one ingress packet is due, then copies
// as many due packets as fit into bufs, one per buffer, truncating those
// longer than their buffer. It returns [ErrClosed] after Close.
func (n *Netem) ReadPackets(bufs [][]byte, sizes []int) (int, error) {
	limit := min(len(bufs), len(sizes))
	n.mu.Lock()
	defer n.mu.Unlock()
	for len(n.inbox) == 0 && !n.closed {
		if limit == 0 {
			return 0, nil
		}
		n.ready.Wait()
	}
	if n.closed {
		return 0, ErrClosed
	}
	k := min(limit, len(n.inbox))
	for i := range k {
		sizes[i] = copy(bufs[i], n.inbox[i])
		n.inbox[i] = nil
	}
	n.inbox = n.inbox[k:]
	return k, nil
}

// Close stops both goroutines, drops the packets still delayed, closes the
// inner link and returns its error. Closing twice does nothing.
func (n *Netem) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	n.pending = nil
	n.inbox = nil
	close(n.done)
	n.ready.Broadcast()
	n.mu.Unlock()
	err := n.inner.Close() // unblocks readLoop
	n.wg.Wait()
	return err
}

// pushEgress and pushIngress queue a copy from a path. n.mu is held.
func (n *Netem) pushEgress(at time.Time, pkt []byte)  { n.push(at, pkt, true) }
func (n *Netem) pushIngress(at time.Time, pkt []byte) { n.push(at, pkt, false) }

func (n *Netem) push(at time.Time, pkt []byte, egress bool) {
	n.seq++
	heap.Push(&n.pending, netemPacket{at: at, seq: n.seq, pkt: pkt, egress: egress})
	if n.pending[0].seq == n.seq {
		select {
		case n.kick <- struct{}{}:
		default:
		}
	}
}

// readLoop reads the inner link and sends what it reads through the
// ingress path.
func (n *Netem) readLoop() {
	defer n.wg.Done()
	const batch = 16
	bufs := make([][]byte, batch)
	for i := range bufs {
		bufs[i] = make([]byte, max(n.inner.MTU(), 65535))
	}
	sizes := make([]int, batch)
	for {
		k, err := n.inner.ReadPackets(bufs, sizes)
		if err != nil {
			select {
			case <-n.done:
				return
			default:
			}
			if errors.Is(err, ErrClosed) {
				return
			}
			// A device can fail for a moment; try again shortly.
			time.Sleep(time.Millisecond)
			continue
		}
		n.mu.Lock()
		if n.closed {
			n.mu.Unlock()
			return
		}
		now := time.Now()
		for i := range k {
			n.ingress.Send(bufs[i][:sizes[i]], now, n.pushIngress)
		}
		n.mu.Unlock()
	}
}

// scheduleLoop hands each delayed packet on when it is due: egress packets
// to the inner link, ingress packets to ReadPackets.
func (n *Netem) scheduleLoop() {
	defer n.wg.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	var out [][]byte
	for {
		n.mu.Lock()
		now := time.Now()
		arrived := false
		for len(n.pending) > 0 && !n.pending[0].at.After(now) {
			p := heap.Pop(&n.pending).(netemPacket)
			if p.egress {
				out = append(out, p.pkt)
			} else {
				n.inbox = append(n.inbox, p.pkt)
				arrived = true
			}
		}
		if arrived {
			n.ready.Signal()
		}
		wait := time.Hour
		if len(n.pending) > 0 {
			wait = n.pending[0].at.Sub(now)
		}
		n.mu.Unlock()
		if len(out) > 0 {
			// The inner link counts what it cannot take; a closed one
			// means Close is under way.
			n.inner.WritePackets(out)
			clear(out)
			out = out[:0]
		}
		t.Reset(wait)
		select {
		case <-t.C:
		case <-n.kick:
		case <-n.done:
			return
		}
	}
}

// netemPacket is a packet waiting for its time.
type netemPacket struct {
	at     time.Time
	seq    uint64
	pkt    []byte
	egress bool
}

type netemHeap []netemPacket

func (h netemHeap) Len() int { return len(h) }
func (h netemHeap) Less(i, j int) bool {
	if h[i].at.Equal(h[j].at) {
		return h[i].seq < h[j].seq
	}
	return h[i].at.Before(h[j].at)
}
func (h netemHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *netemHeap) Push(x any)   { *h = append(*h, x.(netemPacket)) }
func (h *netemHeap) Pop() any {
	old := *h
	p := old[len(old)-1]
	old[len(old)-1] = netemPacket{}
	*h = old[:len(old)-1]
	return p
}
