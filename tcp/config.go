package tcp

import "time"

// Config holds the tunables of a connection. The zero value of a field means
// its default; a Config may be shared by many connections and must not be
// changed once in use.
type Config struct {
	// MSS is the largest segment payload this end accepts, announced in the
	// MSS option of its SYN (RFC 9293 §3.7.1). Default 1460 (a 1500-byte
	// MTU less 40 bytes of IPv4 and TCP headers).
	MSS int

	// SendBufferSize and ReceiveBufferSize are the sizes in bytes of the
	// send and receive buffers. The receive buffer bounds the advertised
	// window, which is at most 65535 until window scaling is negotiated.
	// Defaults 256 KiB and 64 KiB.
	SendBufferSize    int
	ReceiveBufferSize int

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

	// ISN chooses the initial sequence number of a new connection. Default:
	// the RFC 6528 generator (DefaultISN). Tests set it to get fixed numbers.
	ISN func(id ID, now time.Time) Value
}

// withDefaults returns a copy of c with every zero field set to its default.
func (c *Config) withDefaults() Config {
	d := Config{}
	if c != nil {
		d = *c
	}
	setDefault(&d.MSS, 1460)
	setDefault(&d.SendBufferSize, 256<<10)
	setDefault(&d.ReceiveBufferSize, 64<<10)
	setDefault(&d.MSL, 30*time.Second)
	setDefault(&d.FinWait2Timeout, 60*time.Second)
	setDefault(&d.InitialRTO, time.Second)
	setDefault(&d.MinRTO, 200*time.Millisecond)
	setDefault(&d.MaxRTO, 120*time.Second)
	setDefault(&d.SynRetries, 6)
	setDefault(&d.SynAckRetries, 5)
	setDefault(&d.Retries, 15)
	setDefault(&d.ChallengeACKLimit, 10)
	if d.ISN == nil {
		d.ISN = DefaultISN
	}
	return d
}

func setDefault[T int | time.Duration](p *T, v T) {
	if *p <= 0 {
		*p = v
	}
}
