package stack

import (
	"net/netip"

	"github.com/seqack/seqack/tcp"
)

// connKey is a connection's 4-tuple as the stack's tables key it: 12
// bytes where a tcp.ID, two netip.AddrPorts, takes 64. The tables hold a
// slot per connection, and a host may hold a million connections. The
// stack's addresses, and so both ends of each of its connections, are
// IPv4.
type connKey struct {
	local, remote [4]byte
	lport, rport  uint16
}

// keyOf returns the key of id, whose addresses are IPv4.
func keyOf(id tcp.ID) connKey {
	return connKey{
		local: id.Local.Addr().As4(), remote: id.Remote.Addr().As4(),
		lport: id.Local.Port(), rport: id.Remote.Port(),
	}
}

// id returns the connection's endpoints.
func (k connKey) id() tcp.ID {
	return tcp.ID{
		Local:  netip.AddrPortFrom(netip.AddrFrom4(k.local), k.lport),
		Remote: netip.AddrPortFrom(netip.AddrFrom4(k.remote), k.rport),
	}
}
