package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/seqack/seqack/link"
	"github.com/seqack/seqack/stack"
	"github.com/seqack/seqack/tcp"
)

// hostFlags are the flags that put seqack on a TUN device, shared by
// serve, dial and get.
type hostFlags struct {
	tun      string
	addr     string
	hostAddr string
	mtu      int
	pcap     string
	trace    bool
	relative bool

	synCookies       stack.SynCookieMode
	synBacklog       int
	backlog, maxConn int
}

func (h *hostFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&h.tun, "tun", "seqack0", "the TUN `device` to use; created if absent (needs root or CAP_NET_ADMIN)")
	fs.StringVar(&h.addr, "addr", "10.7.0.2/24", "seqack's own IPv4 `address`, with an optional prefix length")
	fs.StringVar(&h.hostAddr, "host-addr", "", "if set, give the kernel's side of the device this `address/len` and bring it up (as 'ip addr add' and 'ip link set up')")
	fs.IntVar(&h.mtu, "mtu", 0, "if set, the device's `MTU`; otherwise the device's own (1500 when new)")
	fs.StringVar(&h.pcap, "pcap", "", "write every packet, both ways, to this pcap `file` (Wireshark, tshark and 'seqack trace' read it)")
	fs.BoolVar(&h.trace, "trace", false, "print the ladder diagram of each connection when it ends")
	fs.BoolVar(&h.relative, "relative", false, "with --trace, show sequence numbers relative to each side's ISN")
	fs.TextVar(&h.synCookies, "syncookies", stack.SynCookiesAuto, "when listeners answer SYNs with SYN cookies: `auto` (once the half-open queue is full), always or never, as Linux's net.ipv4.tcp_syncookies 1, 2, 0")
	fs.IntVar(&h.synBacklog, "syn-backlog", 0, "each listener's half-open queue: at most this many `connections` in SYN_RCVD (default 256)")
	fs.IntVar(&h.backlog, "backlog", 0, "each listener's accept queue: at most this many `connections` waiting for Accept (default 128)")
	fs.IntVar(&h.maxConn, "max-conns", 0, "refuse new connections while seqack holds this many (default: no limit)")
}

// hostUsage is the part of every TUN command's help that explains the
// device.
const hostUsage = `seqack runs as its own host on a TUN device: the kernel is one end of the
device, seqack the other. With --host-addr, seqack creates and configures the
device itself; without it, set the device up beforehand, for example:

	ip tuntap add dev seqack0 mode tun
	ip addr add 10.7.0.1/24 dev seqack0
	ip link set seqack0 up
`

// host is seqack on a TUN device: the stack and what it needs closing.
type host struct {
	s      *stack.Stack
	tun    *link.TUN
	addr   netip.Prefix
	kernel netip.Prefix // the host side's address, if we set it
	pcap   *os.File
	tracer *liveTracer
}

// parsePrefix parses "10.7.0.2/24" or a bare "10.7.0.2" (taken as /24).
func parsePrefix(flagName, s string) (netip.Prefix, error) {
	var p netip.Prefix
	var err error
	if strings.Contains(s, "/") {
		p, err = netip.ParsePrefix(s)
	} else {
		var a netip.Addr
		a, err = netip.ParseAddr(s)
		p = netip.PrefixFrom(a, 24)
	}
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("--%s %q: %v", flagName, s, err)
	}
	if !p.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("--%s %q: seqack speaks IPv4 only", flagName, s)
	}
	return p, nil
}

// open opens the device, configures it, and starts the stack on it.
// Diagnostics (the pcap's and the tracer's) go to stdout.
func (h *hostFlags) open(stdout io.Writer) (*host, error) {
	addr, err := parsePrefix("addr", h.addr)
	if err != nil {
		return nil, err
	}
	cfg := link.TUNConfig{Name: h.tun, MTU: h.mtu}
	var kernel netip.Prefix
	if h.hostAddr != "" {
		if kernel, err = parsePrefix("host-addr", h.hostAddr); err != nil {
			return nil, err
		}
		if kernel.Addr() == addr.Addr() {
			return nil, fmt.Errorf("--host-addr and --addr are both %v: the kernel and seqack need an address each", addr.Addr())
		}
		if !kernel.Masked().Contains(addr.Addr()) {
			return nil, fmt.Errorf("--addr %v is outside --host-addr %v: the kernel would not route to it through %s", addr.Addr(), kernel, h.tun)
		}
		cfg.HostAddr = kernel
	}
	if h.mtu < 0 || h.mtu > 0 && h.mtu < 576 {
		return nil, fmt.Errorf("--mtu %d: below the 576 bytes every IPv4 host must accept (RFC 791)", h.mtu)
	}
	tun, err := link.OpenTUN(cfg)
	if err != nil {
		return nil, err
	}
	hs := &host{tun: tun, addr: addr, kernel: kernel}
	var l link.Link = tun
	if h.pcap != "" {
		f, err := os.Create(h.pcap)
		if err != nil {
			tun.Close()
			return nil, err
		}
		pw, err := link.NewPcapWriter(f)
		if err != nil {
			f.Close()
			tun.Close()
			return nil, err
		}
		hs.pcap = f
		l = link.NewTap(tun, pw, nil)
	}
	scfg := stack.Config{Addrs: []netip.Addr{addr.Addr()}, TCP: tcp.Config{},
		SynCookies: h.synCookies, SynBacklog: h.synBacklog, ListenBacklog: h.backlog, MaxConnections: h.maxConn}
	if h.trace {
		hs.tracer = newLiveTracer(stdout, h.relative)
		scfg.Trace = hs.tracer
	}
	s, err := stack.New(l, scfg)
	if err != nil {
		l.Close()
		if hs.pcap != nil {
			hs.pcap.Close()
		}
		return nil, err
	}
	hs.s = s
	return hs, nil
}

// describe says where seqack is, for the first line a command prints.
func (hs *host) describe() string {
	s := fmt.Sprintf("%v on %s (MTU %d)", hs.addr.Addr(), hs.tun.Name(), hs.tun.MTU())
	if hs.kernel.IsValid() {
		s += fmt.Sprintf("; the kernel's side is %v", hs.kernel)
	}
	return s
}

// Close stops the stack (which closes the device and flushes the capture),
// closes the capture file, and prints the ladders not printed yet.
func (hs *host) Close() error {
	err := hs.s.Close()
	if hs.pcap != nil {
		if cerr := hs.pcap.Close(); err == nil {
			err = cerr
		}
	}
	if hs.tracer != nil {
		hs.tracer.Close()
	}
	return err
}

// waitClosed waits until each of the connections is CLOSED or in
// TIME_WAIT, that is both sides have closed and every FIN is acknowledged,
// or until the time limit. It reports how many were still closing; when
// the stack stops, those are reset.
func waitClosed(conns []*stack.Conn, limit time.Duration) int {
	deadline := time.Now().Add(limit)
	for {
		open := 0
		for _, c := range conns {
			if st := c.State(); st != tcp.Closed && st != tcp.TimeWait {
				open++
			}
		}
		if open == 0 || time.Now().After(deadline) {
			return open
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// parseArgs parses flags that may come before, between or after the
// positional arguments, as "seqack get URL -o FILE" needs, and returns
// the positional arguments. It reports flag.ErrHelp for -h.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// flagExit turns a flag parsing error into an exit status: 0 for -h, 2
// otherwise (the FlagSet has printed the problem).
func flagExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}

// rate formats n bytes over d as a rate.
func rate(n int64, d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return formatBytes(int64(float64(n)/d.Seconds())) + "/s"
}

// formatBytes formats n in binary units.
func formatBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
