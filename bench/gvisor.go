package bench

import (
	"context"
	"fmt"
	"net"
	"sync"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/waiter"
)

const gvisorNIC tcpip.NICID = 1

// gvisorEnv is two gVisor netstack stacks, each on a channel link endpoint,
// with a pump goroutine per direction moving packets from one endpoint's
// outbound queue into the other's inbound path.
type gvisorEnv struct {
	client, server *stack.Stack
	cep, sep       *channel.Endpoint
	cancel         context.CancelFunc
	pumps          sync.WaitGroup
	backlog        int
}

// NewGvisor returns an Env of two gVisor stacks joined by channel
// endpoints with queues of o.QueueLen packets. Checksums are computed and
// verified (the endpoints claim no checksum offload), GSO is off, SACK is
// on, and the send and receive buffers are fixed at o.Buffer (receive
// buffer moderation is off, gVisor's default).
func NewGvisor(o Options) (Env, error) {
	e := &gvisorEnv{backlog: o.Backlog}
	e.cep = channel.New(o.QueueLen, uint32(o.MTU), "")
	e.sep = channel.New(o.QueueLen, uint32(o.MTU), "")
	var err error
	if e.client, err = newGvisorStack(e.cep, clientAddr.AsSlice(), o); err != nil {
		return nil, err
	}
	if e.server, err = newGvisorStack(e.sep, serverAddr.AsSlice(), o); err != nil {
		e.client.Destroy()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.pumps.Add(2)
	go e.pump(ctx, e.cep, e.sep)
	go e.pump(ctx, e.sep, e.cep)
	return e, nil
}

func newGvisorStack(ep *channel.Endpoint, addr []byte, o Options) (*stack.Stack, error) {
	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol},
	})
	sack := tcpip.TCPSACKEnabled(true)
	snd := tcpip.TCPSendBufferSizeRangeOption{Min: tcp.MinBufferSize, Default: o.Buffer, Max: o.Buffer}
	rcv := tcpip.TCPReceiveBufferSizeRangeOption{Min: tcp.MinBufferSize, Default: o.Buffer, Max: o.Buffer}
	for _, opt := range []tcpip.SettableTransportProtocolOption{&sack, &snd, &rcv} {
		if err := s.SetTransportProtocolOption(tcp.ProtocolNumber, opt); err != nil {
			s.Destroy()
			return nil, fmt.Errorf("gvisor: %T: %v", opt, err)
		}
	}
	if err := s.CreateNIC(gvisorNIC, ep); err != nil {
		s.Destroy()
		return nil, fmt.Errorf("gvisor: CreateNIC: %v", err)
	}
	pa := tcpip.ProtocolAddress{
		Protocol:          ipv4.ProtocolNumber,
		AddressWithPrefix: tcpip.AddrFromSlice(addr).WithPrefix(),
	}
	if err := s.AddProtocolAddress(gvisorNIC, pa, stack.AddressProperties{}); err != nil {
		s.Destroy()
		return nil, fmt.Errorf("gvisor: AddProtocolAddress: %v", err)
	}
	s.SetRouteTable([]tcpip.Route{{Destination: header.IPv4EmptySubnet, NIC: gvisorNIC}})
	return s, nil
}

// pump moves packets written to from's outbound queue into to's inbound
// path, as gVisor's own link/pipe does: a fresh packet over the same bytes.
func (e *gvisorEnv) pump(ctx context.Context, from, to *channel.Endpoint) {
	defer e.pumps.Done()
	for {
		pkt := from.ReadContext(ctx)
		if pkt == nil {
			return
		}
		in := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: pkt.ToBuffer()})
		pkt.DecRef()
		to.InjectInbound(ipv4.ProtocolNumber, in)
		in.DecRef()
	}
}

func (e *gvisorEnv) Listen(port uint16) (net.Listener, error) {
	var wq waiter.Queue
	ep, terr := e.server.NewEndpoint(tcp.ProtocolNumber, ipv4.ProtocolNumber, &wq)
	if terr != nil {
		return nil, fmt.Errorf("gvisor: NewEndpoint: %v", terr)
	}
	if terr := ep.Bind(tcpip.FullAddress{Port: port}); terr != nil {
		ep.Close()
		return nil, fmt.Errorf("gvisor: bind :%d: %v", port, terr)
	}
	if terr := ep.Listen(e.backlog); terr != nil {
		ep.Close()
		return nil, fmt.Errorf("gvisor: listen :%d: %v", port, terr)
	}
	return gonet.NewTCPListener(e.server, &wq, ep), nil
}

func (e *gvisorEnv) Dial(port uint16) (net.Conn, error) {
	addr := tcpip.FullAddress{NIC: gvisorNIC, Addr: tcpip.AddrFromSlice(serverAddr.AsSlice()), Port: port}
	return gonet.DialContextTCP(context.Background(), e.client, addr, ipv4.ProtocolNumber)
}

func (e *gvisorEnv) Go(f func(dial func(uint16) (net.Conn, error))) {
	go f(e.Dial)
}

func (e *gvisorEnv) Close() error {
	e.client.Close()
	e.server.Close()
	e.cancel()
	e.pumps.Wait()
	e.client.Wait()
	e.server.Wait()
	e.cep.Close()
	e.sep.Close()
	return nil
}
