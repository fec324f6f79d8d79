package link

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// TUN is a [Link] over a Linux TUN device (Documentation/networking/tuntap.rst):
// each read of the device file returns one IP packet that the kernel sent
// to the interface, and each write hands one packet to the kernel.
//
// The device is opened with IFF_TUN|IFF_NO_PI, so packets carry no
// link-layer header and no packet-information prefix: they are bare IPv4
// (or IPv6) packets, and the version nibble tells them apart. The file is
// non-blocking and served by Go's network poller, so a blocked ReadPackets
// costs no thread and Close unblocks it.
//
// A later version may open the device with IFF_VNET_HDR, so that the
// kernel hands over and accepts 64 KiB TCP super-packets (TSO/GRO) behind
// a virtio_net_hdr; readOne and writeOne are where that header would be
// taken off and put on.
type TUN struct {
	f    *os.File
	rc   syscall.RawConn
	name string
	mtu  int

	closed         atomic.Bool
	read, written  atomic.Uint64
	writeErrs, big atomic.Uint64
}

var _ Link = (*TUN)(nil)

// OpenTUN opens (or creates) the TUN device that cfg names and configures
// it as cfg says. It needs CAP_NET_ADMIN, as "ip tuntap add" does.
func OpenTUN(cfg TUNConfig) (*TUN, error) {
	if len(cfg.Name) >= unix.IFNAMSIZ {
		return nil, fmt.Errorf("link: TUN name %q is longer than %d bytes", cfg.Name, unix.IFNAMSIZ-1)
	}
	if cfg.HostAddr.IsValid() && !cfg.HostAddr.Addr().Is4() {
		return nil, fmt.Errorf("link: host address %v is not IPv4", cfg.HostAddr)
	}
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("link: open /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(cfg.Name)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("link: TUN name %q: %w", cfg.Name, err)
	}
	ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.EPERM) {
			return nil, fmt.Errorf("link: create TUN device %q: %w (it needs root or CAP_NET_ADMIN)", cfg.Name, err)
		}
		return nil, fmt.Errorf("link: create TUN device %q: %w (is there a non-TUN interface of that name?)", cfg.Name, err)
	}
	t := &TUN{name: ifr.Name()}
	// os.NewFile sees the non-blocking descriptor and registers it with
	// the runtime's poller.
	t.f = os.NewFile(uintptr(fd), "/dev/net/tun")
	if t.rc, err = t.f.SyscallConn(); err != nil {
		t.f.Close()
		return nil, err
	}
	if err := t.configure(cfg); err != nil {
		t.f.Close()
		return nil, err
	}
	return t, nil
}

// configure sets the interface's MTU, address and up state through the
// classic interface ioctls, and reads back its MTU.
func (t *TUN) configure(cfg TUNConfig) error {
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("link: socket for configuring %s: %w", t.name, err)
	}
	defer unix.Close(s)
	ioctl := func(what string, req uint, set func(*unix.Ifreq) error) (*unix.Ifreq, error) {
		ifr, err := unix.NewIfreq(t.name)
		if err != nil {
			return nil, err
		}
		if set != nil {
			if err := set(ifr); err != nil {
				return nil, err
			}
		}
		if err := unix.IoctlIfreq(s, req, ifr); err != nil {
			return nil, fmt.Errorf("link: %s of %s: %w", what, t.name, err)
		}
		return ifr, nil
	}
	if cfg.MTU > 0 {
		if _, err := ioctl("set MTU", unix.SIOCSIFMTU, func(r *unix.Ifreq) error {
			r.SetUint32(uint32(cfg.MTU))
			return nil
		}); err != nil {
			return err
		}
	}
	ifr, err := ioctl("get MTU", unix.SIOCGIFMTU, nil)
	if err != nil {
		return err
	}
	t.mtu = int(ifr.Uint32())
	if p := cfg.HostAddr; p.IsValid() {
		addr := p.Addr().As4()
		if _, err := ioctl("set address", unix.SIOCSIFADDR, func(r *unix.Ifreq) error {
			return r.SetInet4Addr(addr[:])
		}); err != nil {
			return err
		}
		mask := uint32(0xffffffff) << (32 - p.Bits())
		if p.Bits() == 0 {
			mask = 0
		}
		m := [4]byte{byte(mask >> 24), byte(mask >> 16), byte(mask >> 8), byte(mask)}
		if _, err := ioctl("set netmask", unix.SIOCSIFNETMASK, func(r *unix.Ifreq) error {
			return r.SetInet4Addr(m[:])
		}); err != nil {
			return err
		}
	}
	if cfg.Up || cfg.HostAddr.IsValid() {
		ifr, err := ioctl("get flags", unix.SIOCGIFFLAGS, nil)
		if err != nil {
			return err
		}
		flags := ifr.Uint16() | unix.IFF_UP
		if _, err := ioctl("bring up", unix.SIOCSIFFLAGS, func(r *unix.Ifreq) error {
			r.SetUint16(flags)
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// Name returns the interface's name, as the kernel knows it.
func (t *TUN) Name() string { return t.name }

// MTU returns the interface's MTU: the largest IP packet it carries.
func (t *TUN) MTU() int { return t.mtu }

// Stats returns the link's counters.
func (t *TUN) Stats() TUNStats {
	return TUNStats{
		PacketsRead:    t.read.Load(),
		PacketsWritten: t.written.Load(),
		WriteErrors:    t.writeErrs.Load(),
		TooBig:         t.big.Load(),
	}
}

// ReadPackets blocks until the kernel has sent at least one packet to the
// interface, then reads as many as are waiting, up to len(bufs), one per
// buffer, without blocking again. A packet longer than its buffer is
// truncated to it. It returns [ErrClosed] once the link is closed.
func (t *TUN) ReadPackets(bufs [][]byte, sizes []int) (int, error) {
	limit := min(len(bufs), len(sizes))
	if limit == 0 {
		return 0, nil
	}
	n := 0
	var rerr error
	err := t.rc.Read(func(fd uintptr) bool {
		for n < limit {
			m, err := readOne(int(fd), bufs[n])
			switch {
			case err == unix.EINTR:
				continue
			case err == unix.EAGAIN:
				return n > 0 // nothing more now: done, or wait for the first
			case err != nil:
				rerr = err
				return true
			}
			sizes[n] = min(m, len(bufs[n]))
			n++
		}
		return true
	})
	t.read.Add(uint64(n))
	if n > 0 {
		return n, nil // report an error on the next call, with no packet lost
	}
	if err == nil {
		err = rerr
	}
	if err != nil && (t.closed.Load() || errors.Is(err, os.ErrClosed)) {
		return 0, ErrClosed
	}
	if err != nil {
		return 0, fmt.Errorf("link: read %s: %w", t.name, err)
	}
	return 0, nil
}

// readOne reads one packet into b.
func readOne(fd int, b []byte) (int, error) {
	return unix.Read(fd, b)
}

// WritePackets hands the packets to the kernel, one write each, in order.
// A packet the kernel refuses (the interface is down, say) or one longer
// than the MTU is dropped and counted in [TUN.Stats], and still counts as
// written, as the [Link] contract says. It returns [ErrClosed] if the link
// is closed.
func (t *TUN) WritePackets(pkts [][]byte) (int, error) {
	if t.closed.Load() {
		return 0, ErrClosed
	}
	i := 0
	err := t.rc.Write(func(fd uintptr) bool {
		for i < len(pkts) {
			if len(pkts[i]) > t.mtu {
				t.big.Add(1)
				i++
				continue
			}
			err := writeOne(int(fd), pkts[i])
			switch err {
			case nil:
				t.written.Add(1)
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				return false // wait until the device takes more
			default:
				t.writeErrs.Add(1)
			}
			i++
		}
		return true
	})
	if err != nil {
		if t.closed.Load() || errors.Is(err, os.ErrClosed) {
			return i, ErrClosed
		}
		return i, fmt.Errorf("link: write %s: %w", t.name, err)
	}
	return len(pkts), nil
}

// writeOne writes the packet b.
func writeOne(fd int, b []byte) error {
	_, err := unix.Write(fd, b)
	return err
}

// Close closes the device file, which unblocks ReadPackets. A device that
// OpenTUN created goes away with it; a persistent one stays, down.
func (t *TUN) Close() error {
	if t.closed.Swap(true) {
		return nil
	}
	return t.f.Close()
}
