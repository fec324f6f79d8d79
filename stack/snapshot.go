package stack

import (
	"net/netip"
	"slices"
)

// ListenerInfo describes one listener, with its queues as ss(8) shows them.
type ListenerInfo struct {
	Addr netip.AddrPort

	// AcceptQueue is the connections that finished their handshake and
	// wait for Accept (ss's Recv-Q for a listener); Backlog is its bound
	// (Config.ListenBacklog or Listener.SetBacklog, ss's Send-Q).
	AcceptQueue, Backlog int
	// HalfOpen is the connections still in SYN_RCVD; SynBacklog is their
	// bound (Config.SynBacklog).
	HalfOpen, SynBacklog int
	// Stats are the listener's counters (Listener.Stats).
	Stats ListenerStats
}

// Listeners returns the stack's listeners, ordered by address.
func (s *Stack) Listeners() []ListenerInfo {
	s.mu.RLock()
	ls := make([]*Listener, 0, len(s.listeners))
	for _, l := range s.listeners {
		ls = append(ls, l)
	}
	s.mu.RUnlock()
	out := make([]ListenerInfo, 0, len(ls))
	for _, l := range ls {
		out = append(out, l.info())
	}
	slices.SortFunc(out, func(a, b ListenerInfo) int { return a.Addr.Compare(b.Addr) })
	return out
}

// info describes the listener.
func (l *Listener) info() ListenerInfo {
	st := l.Stats()
	return ListenerInfo{
		Addr:        l.addr,
		AcceptQueue: int(st.AcceptQueue),
		Backlog:     l.Backlog(),
		HalfOpen:    int(st.HalfOpen),
		SynBacklog:  l.s.cfg.SynBacklog,
		Stats:       st,
	}
}

// info describes the connection.
func (c *Conn) info() ConnInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return ConnInfo{ID: c.id, State: c.tcb.State(), RecvQueue: c.tcb.Unread(), SendQueue: c.tcb.Buffered()}
}
