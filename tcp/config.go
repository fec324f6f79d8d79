package tcp

import (
	"net/netip"
	"time"
)

// Config holds the tunables of a connection. The zero value of a field means
// its default; a Config may be shared by many connections and must not be
// changed once in use.
type Config struct {
	// MSS is the largest segment payload this end accepts, announced in the
	// MSS option of its SYN (RFC 9293 §3.7.1). Default 1460 (a 1500-byte
	// MTU less 40 bytes of IPv4 and TCP headers).
	MSS int

	// SendBufferSize and ReceiveBufferSize are the initial sizes in bytes
	// of the send and receive buffers. The receive buffer bounds the
	// advertised window. Both grow by themselves (auto-tuning) up to
	// MaxSendBufferSize and MaxReceiveBufferSize as the path's
	// bandwidth-delay product demands, unless the application fixes them
	// (Conn.SetSendBufferSize, SetReceiveBufferSize). Defaults 256 KiB and
	// 128 KiB initially (Linux's tcp_rmem[1] is 128 KiB), growing up to
	// 4 MiB and 6 MiB (Linux's tcp_wmem[2] and tcp_rmem[2]).
	SendBufferSize, MaxSendBufferSize       int
	ReceiveBufferSize, MaxReceiveBufferSize int

	// NoWindowScaling, NoTimestamps and NoSACK turn off the options of
	// RFC 7323 (window scaling; timestamps, with RTTM and PAWS) and
	// RFC 2018 (selective acknowledgments), which are offered and accepted
	// by default, as Linux's tcp_window_scaling, tcp_timestamps and
	// tcp_sack do.
	NoWindowScaling, NoTimestamps, NoSACK bool

	// NoTailLossProbe turns off tail loss probes (RFC 8985 §7), which are
	// on by default for SACK connections, as with Linux's
	// tcp_early_retrans.
	NoTailLossProbe bool

	// CongestionControl names the algorithm: "cubic" (RFC 9438, the
	// default, as on Linux) or "reno" (RFC 5681 with RFC 6582 NewReno).
	CongestionControl string

	// DelayedACK is the longest an acknowledgment is held back waiting for
	// data to ride on or a second segment to acknowledge (RFC 1122
	// §4.2.3.2, RFC 5681 §4.2). Default 40 ms (Linux's TCP_ATO_MIN); at
	// most 200 ms is allowed; a negative value acknowledges every segment
	// at once.
	DelayedACK time.Duration

	// Nagle turns Nagle's algorithm (RFC 896, RFC 1122 §4.2.3.4) on for new
	// connections. Off by default, as Go's net.TCPConn has it
	// (SetNoDelay(true)).
	Nagle bool

	// KeepAliveIdle, KeepAliveInterval and KeepAliveCount configure
	// keep-alive probes (RFC 1122 §4.2.3.6) for new connections: after
	// KeepAliveIdle without a segment from the peer, a probe every
	// KeepAliveInterval, and the connection fails after KeepAliveCount
	// unanswered ones. KeepAliveIdle 0 means off (the default here; the
	// stack turns them on as package net does). Interval defaults to the
	// idle time, count to 9 (Linux's tcp_keepalive_probes).
	KeepAliveIdle, KeepAliveInterval time.Duration
	KeepAliveCount                   int

	// UserTimeout, if positive, is how long sent data may stay
	// unacknowledged before the connection fails with ETIMEDOUT, whatever
	// the retry counts say (RFC 5482's USER_TIMEOUT, Linux's
	// TCP_USER_TIMEOUT).
	UserTimeout time.Duration

	// MSL is the maximum segment lifetime; TIME_WAIT lasts 2×MSL
	// (RFC 9293 §3.4.2). Default 30 s, so TIME_WAIT lasts 60 s as on Linux.
	MSL time.Duration

	// FinWait2Timeout bounds FIN_WAIT_2 for a connection the application
	// has fully closed, so a peer that never sends its FIN cannot hold it
	// forever (Linux's tcp_fin_timeout). Default 60 s.
	FinWait2Timeout time.Duration

	// InitialRTO, MinRTO and MaxRTO bound the retransmission timeout
	// (RFC 6298 §2). Defaults 1 s, 200 ms (as Linux) and 120 s.
	InitialRTO, MinRTO, MaxRTO time.Duration

	// SynRetries, SynAckRetries and Retries are how many times a SYN, a
	// SYN-ACK and other data are retransmitted before the connection fails
	// with ETIMEDOUT. Defaults 6, 5 and 15, as Linux's tcp_syn_retries,
	// tcp_synack_retries and tcp_retries2.
	SynRetries, SynAckRetries, Retries int

	// ChallengeACKLimit is the most challenge ACKs (RFC 5961 §7) a
	// connection sends per second. Default 10.
	ChallengeACKLimit int

	// InvalidRateLimit is the least time between two answers of a
	// connection to segments that are out of window (duplicate ACKs,
	// challenge ACKs, a SYN-ACK resent for a duplicate SYN), as Linux's
	// net.ipv4.tcp_invalid_ratelimit; see oow.go. Default 500 ms;
	// negative turns the limit off.
	InvalidRateLimit time.Duration

	// RFC1337 makes TIME-WAIT ignore resets, as RFC 1337 §3 ("R1")
	// proposes against TIME-WAIT assassination: a reset, an old duplicate
	// or the answer of a peer that forgot the connection to one of our
	// ACKs, would otherwise end TIME-WAIT early and let old segments into
	// a new incarnation. Off by default, as Linux's net.ipv4.tcp_rfc1337:
	// an acceptable reset then ends TIME-WAIT (RFC 9293 §3.10.7.4).
	RFC1337 bool

	// ChallengeACKs, if set, is shared by the connections of a host: it
	// counts their challenge ACKs and holds them to a host-wide limit
	// (RFC 5961 §7), as well as each to its own ChallengeACKLimit.
	ChallengeACKs *ChallengeACKLimiter

	// ISN chooses the initial sequence number of a new connection. Default:
	// the RFC 6528 generator (DefaultISN). Tests set it to get fixed numbers.
	ISN func(id ID, now time.Time) Value

	// TSOffset chooses the offset added to the millisecond clock of the
	// timestamps (RFC 7323 §7.1) of connections between two addresses.
	// Default: DefaultTSOffset, a keyed hash of the address pair, as
	// Linux's secure_tcp_ts_off. Keyed by the addresses (not the ports,
	// nor the ISN), the timestamps of successive connections between two
	// hosts run on one clock, so a new SYN on a 4-tuple still in TIME-WAIT
	// is seen to be newer (RFC 6191) and takes the 4-tuple over.
	TSOffset func(local, remote netip.Addr) uint32

	defaulted bool // made by WithDefaults: connections may share it
}

// WithDefaults returns a copy of c with every zero field set to its
// default. A connection made with a Config that WithDefaults returned
// keeps a pointer to it rather than a copy of its own, so that the many
// connections of a host share one: such a Config must not change once in
// use.
func (c Config) WithDefaults() Config { return c.withDefaults() }

// resolve returns the Config a connection made with c uses: c itself if
// WithDefaults made it, else a copy with the defaults.
func (c *Config) resolve() *Config {
	if c != nil && c.defaulted {
		return c
	}
	d := c.withDefaults()
	return &d
}

// withDefaults returns a copy of c with every zero field set to its default.
func (c *Config) withDefaults() Config {
	d := Config{}
	if c != nil {
		d = *c
	}
	setDefault(&d.MSS, 1460)
	setDefault(&d.SendBufferSize, 256<<10)
	setDefault(&d.ReceiveBufferSize, 128<<10)
	setDefault(&d.MaxSendBufferSize, 4<<20)
	setDefault(&d.MaxReceiveBufferSize, 6<<20)
	d.MaxSendBufferSize = max(d.MaxSendBufferSize, d.SendBufferSize)
	d.MaxReceiveBufferSize = max(d.MaxReceiveBufferSize, d.ReceiveBufferSize)
	switch {
	case d.DelayedACK == 0:
		d.DelayedACK = 40 * time.Millisecond
	case d.DelayedACK > maxDelayedACK:
		d.DelayedACK = maxDelayedACK
	}
	if d.KeepAliveIdle > 0 {
		setDefault(&d.KeepAliveInterval, d.KeepAliveIdle)
		setDefault(&d.KeepAliveCount, 9)
	}
	setDefault(&d.MSL, 30*time.Second)
	setDefault(&d.FinWait2Timeout, 60*time.Second)
	setDefault(&d.InitialRTO, time.Second)
	setDefault(&d.MinRTO, 200*time.Millisecond)
	setDefault(&d.MaxRTO, 120*time.Second)
	setDefault(&d.SynRetries, 6)
	setDefault(&d.SynAckRetries, 5)
	setDefault(&d.Retries, 15)
	setDefault(&d.ChallengeACKLimit, 10)
	if d.InvalidRateLimit == 0 {
		d.InvalidRateLimit = 500 * time.Millisecond
	}
	if d.ISN == nil {
		d.ISN = DefaultISN
	}
	if d.TSOffset == nil {
		d.TSOffset = DefaultTSOffset
	}
	d.defaulted = true
	return d
}

func setDefault[T int | time.Duration](p *T, v T) {
	if *p <= 0 {
		*p = v
	}
}

// maxDelayedACK is the longest an ACK may be delayed: RFC 1122 §4.2.3.2
// allows 500 ms; Linux never waits more than 200 ms (TCP_DELACK_MAX).
const maxDelayedACK = 200 * time.Millisecond
