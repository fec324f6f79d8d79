package bench

import (
	"fmt"
	"net"
	"net/netip"
	"sync"

	"github.com/seqack/seqack/link"
	"github.com/seqack/seqack/stack"
	"github.com/seqack/seqack/tcp"
)

var (
	clientAddr = netip.MustParseAddr("10.0.0.1")
	serverAddr = netip.MustParseAddr("10.0.0.2")
)

// seqackEnv is two seqack stacks on the two ends of a link.Pipe.
type seqackEnv struct {
	client, server *stack.Stack
}

// NewSeqack returns an Env of two seqack stacks joined by a link.Pipe of
// the given MTU and queue length. Buffers are fixed at o.Buffer, and
// keep-alive is off, as in gVisor.
func NewSeqack(o Options) (Env, error) {
	a, b := link.NewPipe(o.MTU, o.QueueLen)
	tc := tcp.Config{
		SendBufferSize:       o.Buffer,
		MaxSendBufferSize:    o.Buffer,
		ReceiveBufferSize:    o.Buffer,
		MaxReceiveBufferSize: o.Buffer,
	}
	cfg := func(addr netip.Addr) stack.Config {
		return stack.Config{
			Addrs:         []netip.Addr{addr},
			TCP:           tc,
			ListenBacklog: o.Backlog,
			SynBacklog:    o.Backlog,
			KeepAlive:     -1,
		}
	}
	client, err := stack.New(a, cfg(clientAddr))
	if err != nil {
		return nil, err
	}
	server, err := stack.New(b, cfg(serverAddr))
	if err != nil {
		client.Close()
		return nil, err
	}
	return &seqackEnv{client: client, server: server}, nil
}

func (e *seqackEnv) Listen(port uint16) (net.Listener, error) {
	return e.server.Listen("tcp", fmt.Sprintf(":%d", port))
}

func (e *seqackEnv) Dial(port uint16) (net.Conn, error) {
	return e.client.Dial("tcp", serverAddrString(port))
}

// serverAddrStrings caches "10.0.0.2:port" by port, so that a dial does not
// spend an allocation on formatting the address that gVisor's Dial, given
// it as a struct, does not.
var serverAddrStrings struct {
	sync.RWMutex
	m map[uint16]string
}

func serverAddrString(port uint16) string {
	c := &serverAddrStrings
	c.RLock()
	s, ok := c.m[port]
	c.RUnlock()
	if ok {
		return s
	}
	s = netip.AddrPortFrom(serverAddr, port).String()
	c.Lock()
	if c.m == nil {
		c.m = make(map[uint16]string)
	}
	c.m[port] = s
	c.Unlock()
	return s
}

func (e *seqackEnv) Go(f func(dial func(uint16) (net.Conn, error))) {
	go f(e.Dial)
}

func (e *seqackEnv) Close() error {
	e.client.Close()
	e.server.Close()
	return nil
}
