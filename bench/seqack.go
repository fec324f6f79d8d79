package bench

import (
	"fmt"
	"net"
	"net/netip"

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
	return e.client.Dial("tcp", netip.AddrPortFrom(serverAddr, port).String())
}

func (e *seqackEnv) Go(f func(dial func(uint16) (net.Conn, error))) {
	go f(e.Dial)
}

func (e *seqackEnv) Close() error {
	e.client.Close()
	e.server.Close()
	return nil
}
