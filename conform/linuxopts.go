package conform

import "fmt"

// LinuxOptions configures the Linux target that [NewLinux] makes.
type LinuxOptions struct {
	// Sysctls are written inside the namespace after [LinuxSysctls], so
	// one of the same name overrides the default.
	Sysctls []Sysctl

	// Logf, if not nil, receives notes: how long the set-up took, the
	// packets the kernel sent that Next does not return, and calls that
	// could not be woken at Close. testing.T.Logf fits.
	Logf func(format string, args ...any)
}

// A Sysctl is one kernel setting that the Linux target writes inside its
// private network namespace before a script begins.
type Sysctl struct {
	Name  string // as sysctl(8) names it, such as "net.ipv4.tcp_sack"
	Value string

	// Optional marks a setting that older kernels lack. Where it is
	// missing it is skipped, and Value is what those kernels always did.
	Optional bool

	// Why says what the setting is for.
	Why string
}

// String formats s as a sysctl.conf line, "name = value".
func (s Sysctl) String() string { return fmt.Sprintf("%s = %s", s.Name, s.Value) }

// LinuxSysctls are the settings that the Linux target writes inside its
// namespace, in this order, so that what the kernel sends depends on the
// script and not on the host. Most per-namespace TCP settings start at the
// kernel's defaults in a new namespace, but some (the buffer sizes, the
// congestion control) are copied from the host's, so they are all written.
//
// One input is outside the namespace's reach: the window scale the kernel
// offers is ilog2(max(tcp_rmem[2], net.core.rmem_max)) - 15, and
// net.core.rmem_max is global. With rmem_max below 8 MiB (Linux's default
// is 212992) it is 7; the target logs a note when it is not.
//
// Nor is the congestion control a sysctl here: a namespace other than the
// host's may only choose among net.ipv4.tcp_allowed_congestion_control,
// and it starts with the host's choice (which may be BBR, which paces its
// segments). The target gives its route to RemoteAddr "congctl cubic"
// instead, Linux's default, which every connection on that route uses.
var LinuxSysctls = []Sysctl{
	{Name: "net.ipv6.conf.all.disable_ipv6", Value: "1", Why: "no IPv6 at all: no router solicitations or MLD reports on the TUN device"},
	{Name: "net.ipv6.conf.default.disable_ipv6", Value: "1", Why: "nor on the TUN device, made after this is set"},
	{Name: "net.ipv4.tcp_timestamps", Value: "1", Why: "RFC 7323 timestamps on (with per-connection random offsets, Linux's default)"},
	{Name: "net.ipv4.tcp_sack", Value: "1", Why: "RFC 2018 SACK on"},
	{Name: "net.ipv4.tcp_dsack", Value: "1", Why: "RFC 2883 D-SACK on"},
	{Name: "net.ipv4.tcp_window_scaling", Value: "1", Why: "RFC 7323 window scaling on"},
	{Name: "net.ipv4.tcp_syncookies", Value: "1", Why: "SYN cookies only when the SYN queue overflows (Linux's default)"},
	{Name: "net.ipv4.tcp_ecn", Value: "0", Why: "no ECN, neither asked for nor accepted: SYN and SYN-ACK flags are exact"},
	{Name: "net.ipv4.tcp_fastopen", Value: "0", Why: "no TCP Fast Open cookie options"},
	{Name: "net.ipv4.tcp_no_metrics_save", Value: "1", Why: "no RTT or ssthresh carried from one connection to the next"},
	{Name: "net.ipv4.tcp_rmem", Value: "4096 131072 6291456", Why: "receive buffer: a SYN's window is 64240 for MSS 1460 (65160 in a SYN-ACK with timestamps), window scale 7"},
	{Name: "net.ipv4.tcp_wmem", Value: "4096 16384 4194304", Why: "send buffer, Linux's default"},
	{Name: "net.ipv4.tcp_autocorking", Value: "0", Why: "a small write is sent at once, not held while an earlier segment is still queued on the device"},
	{Name: "net.ipv4.tcp_comp_sack_nr", Value: "0", Optional: true, Why: "every out-of-order segment is answered at once (no SACK compression)"},
	{Name: "net.ipv4.tcp_syn_linear_timeouts", Value: "0", Optional: true, Why: "SYN retransmissions back off exponentially from 1 s (RFC 6298), not linearly at first"},
	{Name: "net.ipv4.tcp_early_retrans", Value: "3", Why: "tail loss probes on (Linux's default)"},
	{Name: "net.ipv4.tcp_recovery", Value: "1", Why: "RACK loss detection on (Linux's default)"},
	{Name: "net.ipv4.tcp_frto", Value: "2", Why: "F-RTO on (Linux's default)"},
	{Name: "net.ipv4.tcp_mtu_probing", Value: "0", Why: "no path MTU probing"},
	{Name: "net.ipv4.tcp_syn_retries", Value: "6", Why: "SYN retransmissions before connect fails (Linux's default)"},
	{Name: "net.ipv4.tcp_synack_retries", Value: "5", Why: "SYN-ACK retransmissions (Linux's default)"},
	{Name: "net.ipv4.tcp_retries2", Value: "15", Why: "retransmissions before an established connection fails (Linux's default)"},
	{Name: "net.ipv4.tcp_fin_timeout", Value: "60", Why: "FIN_WAIT_2 lifetime of an orphaned socket, seconds (Linux's default)"},
	{Name: "net.ipv4.tcp_rfc1337", Value: "0", Why: "an RST in TIME_WAIT ends it (Linux's default; RFC 1337 would ignore it)"},
	{Name: "net.ipv4.tcp_invalid_ratelimit", Value: "500", Why: "at most one duplicate ACK per 500 ms for out-of-window segments (Linux's default)"},
	{Name: "net.ipv4.tcp_challenge_ack_limit", Value: "2147483647", Why: "challenge ACKs (RFC 5961) not limited by a per-namespace budget"},
}
