package link

import "net/netip"

// TUNConfig describes the TUN device that [OpenTUN] opens.
//
// A TUN device is a network interface of the host whose other end is a
// file: the IP packets the host's kernel routes to the interface are read
// from the file, and the packets written to the file arrive at the kernel
// as if they had come in on the interface. Opened by seqack, the kernel's
// side is one host and seqack is another, on the same subnet.
type TUNConfig struct {
	// Name is the interface's name, at most 15 bytes, such as "seqack0".
	// If a TUN device of that name exists (made persistent with
	// "ip tuntap add"), seqack attaches to it; otherwise the device is
	// created, and removed again when the link is closed. If Name is
	// empty, the kernel picks a free "tunN".
	Name string

	// MTU, if positive, is set as the interface's MTU. Otherwise the link
	// uses the MTU the interface already has (1500 for a new device).
	MTU int

	// HostAddr, if valid, is the address and prefix length given to the
	// kernel's side of the device (as "ip addr add" would), such as
	// 10.7.0.1/24; the device is then also brought up. The kernel routes
	// the prefix to the device, so the other addresses in it are reached
	// through seqack. It must be IPv4.
	HostAddr netip.Prefix

	// Up brings the device up (as "ip link set NAME up" would) even
	// without HostAddr, for a device whose address is configured by
	// other means.
	Up bool
}

// TUNStats counts what happened to the packets of a TUN link.
type TUNStats struct {
	PacketsRead    uint64 // packets read from the device
	PacketsWritten uint64 // packets the kernel accepted
	WriteErrors    uint64 // packets the kernel refused (device down, malformed, ...) and were dropped
	TooBig         uint64 // packets longer than the MTU, dropped before writing
}
