package sim

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"time"

	"github.com/seqack/seqack/link"
	"github.com/seqack/seqack/stack"
	"github.com/seqack/seqack/tcp"
)

// TransferConfig describes a bulk transfer between two hosts.
type TransferConfig struct {
	// Port is the server's port. Default 5001 (iperf's).
	Port uint16

	// Bytes is how much the client sends to the server, and ReverseBytes
	// how much the server sends back at the same time. The data is
	// pseudo-random, drawn from the simulation's seed.
	Bytes, ReverseBytes int64

	// Limit bounds the virtual time the whole exchange may take, closing
	// included. Default one hour.
	Limit time.Duration
}

// TransferResult is what a transfer measured.
type TransferResult struct {
	// DataTime runs from the moment the client's connection is
	// established to the moment the last byte is read, in either
	// direction. Elapsed runs from the dial until both ends are CLOSED,
	// TIME_WAIT included.
	DataTime, Elapsed time.Duration

	// Goodput is the data delivered, both directions together, in bits
	// per second of DataTime.
	Goodput float64

	// Retransmits counts the segments the two hosts retransmitted, and
	// Segments all the segments they sent. Resets counts the segments
	// with RST among them: a reset may answer a late segment after a
	// connection has closed, and cut the peer's TIME_WAIT short.
	Retransmits, Segments, Resets int

	// Forward and Reverse are what the link did from client to server
	// and from server to client.
	Forward, Reverse link.NetemStats

	// SHA256 is the hash of the data each way, checked at both ends:
	// client to server, then server to client.
	SHA256 [2][sha256.Size]byte
}

// Transfer runs a bulk transfer from client to server (and back, with
// cfg.ReverseBytes), which must be joined by a link: the server listens,
// the client dials, each side writes its data and then closes its sending
// side (CloseWrite), reads until EOF, hashes what it read with SHA-256, and
// closes. It succeeds if both ends receive exactly what was sent and both
// connections close cleanly: each reaches CLOSED from LAST_ACK, its FIN
// acknowledged, or from TIME_WAIT, and none is reset, aborted or timed out
// on the way (see HostStats.AbnormalCloses). Errors name the seed, which
// replays the run.
func (s *Sim) Transfer(client, server *Host, cfg TransferConfig) (TransferResult, error) {
	var res TransferResult
	if client.link == nil || client.link != server.link {
		return res, errors.New("sim: Transfer between hosts that are not joined to each other")
	}
	if cfg.Bytes < 0 || cfg.ReverseBytes < 0 {
		return res, fmt.Errorf("sim: Transfer of a negative byte count (%d, %d)", cfg.Bytes, cfg.ReverseBytes)
	}
	if cfg.Port == 0 {
		cfg.Port = 5001
	}
	if cfg.Limit <= 0 {
		cfg.Limit = time.Hour
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("sim: seed %d: transfer %s→%s: %s", s.seed, client.name, server.name, fmt.Sprintf(format, args...))
	}
	ln, err := server.stack.ListenTCP("tcp", ":"+strconv.Itoa(int(cfg.Port)))
	if err != nil {
		return res, fail("%v", err)
	}
	cBefore, sBefore := client.stats, server.stats
	start := s.now
	var established, lastByte time.Time

	up := newSender(derive(s.seed, saltData, 0), cfg.Bytes)
	down := newSender(derive(s.seed, saltData, 1), cfg.ReverseBytes)
	upRecv, downRecv := newReceiver(), newReceiver()
	addr := netip.AddrPortFrom(server.addr, cfg.Port).String()

	var cc, sc *stack.Conn
	var cEnd, sEnd endpoint
	abandoned := false // the run failed: the apps stop
	defer func() { abandoned = true }()
	s.AddApp(func() (bool, error) {
		if abandoned {
			return true, nil
		}
		if cc == nil {
			c, err := client.stack.DialStart("tcp", addr)
			if err != nil {
				return false, fail("dial: %v", err)
			}
			cc = c
		}
		if established.IsZero() {
			switch st := cc.State(); {
			case st == tcp.Closed:
				_, err := cc.TryRead(nil)
				return false, fail("the client's connection closed during the handshake: %v", err)
			case st < tcp.Established:
				return false, nil
			}
			established = s.now
		}
		done, err := cEnd.step(cc, up, downRecv, s.now, &lastByte)
		if err != nil {
			return false, fail("client: %v", err)
		}
		return done, nil
	})
	s.AddApp(func() (bool, error) {
		if abandoned {
			return true, nil
		}
		if sc == nil {
			c, err := ln.TryAccept()
			if err == stack.ErrWouldBlock {
				return false, nil
			}
			ln.Close()
			if err != nil {
				return false, fail("accept: %v", err)
			}
			sc = c
		}
		done, err := sEnd.step(sc, down, upRecv, s.now, &lastByte)
		if err != nil {
			return false, fail("server: %v", err)
		}
		return done, nil
	})
	err = s.Run(func() bool {
		return cEnd.closed && sEnd.closed && cc.State() == tcp.Closed && sc.State() == tcp.Closed
	}, cfg.Limit)
	if err != nil {
		ln.Close()
		return res, fmt.Errorf("%w (during transfer %s→%s)", err, client.name, server.name)
	}

	res.Elapsed = s.now.Sub(start)
	if !lastByte.IsZero() {
		res.DataTime = lastByte.Sub(established)
	}
	if res.DataTime > 0 {
		res.Goodput = float64(cfg.Bytes+cfg.ReverseBytes) * 8 / res.DataTime.Seconds()
	}
	res.Forward, res.Reverse = client.link.ab.Stats(), client.link.ba.Stats()
	if client.link.a != client {
		res.Forward, res.Reverse = res.Reverse, res.Forward
	}
	for _, h := range [2]struct {
		h      *Host
		before HostStats
	}{{client, cBefore}, {server, sBefore}} {
		res.Retransmits += h.h.stats.Retransmits - h.before.Retransmits
		res.Segments += h.h.stats.SegmentsSent - h.before.SegmentsSent
		res.Resets += h.h.stats.ResetsSent - h.before.ResetsSent
		if n := h.h.stats.AbnormalCloses - h.before.AbnormalCloses; n > 0 {
			return res, fail("the connection of %s did not close cleanly: %s", h.h.name, h.h.stats.LastAbnormal)
		}
		if n := h.h.stats.ConnErrors - h.before.ConnErrors; n > 0 {
			return res, fail("the connection of %s failed", h.h.name)
		}
	}
	for i, d := range [2]struct {
		name string
		w    *sender
		r    *receiver
	}{{"client→server", up, upRecv}, {"server→client", down, downRecv}} {
		sent, got := d.w.sum(), d.r.sum()
		if d.r.n != d.w.total || !bytes.Equal(sent[:], got[:]) {
			return res, fail("%s: sent %d bytes with SHA-256 %x, received %d with %x", d.name, d.w.total, sent, d.r.n, got)
		}
		res.SHA256[i] = sent
	}
	return res, nil
}

// endpoint is one side of a transfer: it sends its data, closes its
// sending side, reads until EOF, then closes.
type endpoint struct {
	closeWritten bool
	closed       bool
}

// step does what can be done without waiting. It reports done once the
// connection is closed by the application.
func (e *endpoint) step(c *stack.Conn, w *sender, r *receiver, now time.Time, lastByte *time.Time) (bool, error) {
	if e.closed {
		return true, nil
	}
	if err := w.step(c); err != nil {
		return false, err
	}
	if w.done() && !e.closeWritten {
		if err := c.CloseWrite(); err != nil {
			return false, err
		}
		e.closeWritten = true
	}
	before := r.n
	if err := r.step(c); err != nil {
		return false, err
	}
	if r.n > before && now.After(*lastByte) {
		*lastByte = now
	}
	if r.eof && e.closeWritten {
		if err := c.Close(); err != nil {
			return false, err
		}
		e.closed = true
		return true, nil
	}
	return false, nil
}

// sender writes total pseudo-random bytes, hashing them as it goes.
type sender struct {
	gen   *rand.ChaCha8
	total int64
	left  int64  // bytes not generated yet
	buf   []byte // scratch for generating
	pend  []byte // generated, not yet taken by the connection
	h     hash.Hash
}

func newSender(seed uint64, total int64) *sender {
	var key [32]byte
	for i := range 4 {
		v := mix64(seed + uint64(i))
		for j := range 8 {
			key[8*i+j] = byte(v >> (8 * j))
		}
	}
	return &sender{gen: rand.NewChaCha8(key), total: total, left: total, buf: make([]byte, 32<<10), h: sha256.New()}
}

func (w *sender) done() bool { return w.left == 0 && len(w.pend) == 0 }

func (w *sender) sum() (s [sha256.Size]byte) {
	w.h.Sum(s[:0])
	return s
}

// step writes until the connection's buffer is full or the data is sent.
func (w *sender) step(c *stack.Conn) error {
	for {
		if len(w.pend) == 0 {
			if w.left == 0 {
				return nil
			}
			n := int(min(int64(len(w.buf)), w.left))
			w.gen.Read(w.buf[:n])
			w.h.Write(w.buf[:n])
			w.pend = w.buf[:n]
			w.left -= int64(n)
		}
		k, err := c.TryWrite(w.pend)
		w.pend = w.pend[k:]
		if err == stack.ErrWouldBlock {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// receiver reads until EOF, hashing what it reads.
type receiver struct {
	n   int64
	eof bool
	buf []byte
	h   hash.Hash
}

func newReceiver() *receiver { return &receiver{buf: make([]byte, 64<<10), h: sha256.New()} }

func (r *receiver) sum() (s [sha256.Size]byte) {
	r.h.Sum(s[:0])
	return s
}

// step reads what has arrived.
func (r *receiver) step(c *stack.Conn) error {
	for !r.eof {
		k, err := c.TryRead(r.buf)
		r.h.Write(r.buf[:k])
		r.n += int64(k)
		switch {
		case err == stack.ErrWouldBlock:
			return nil
		case err == io.EOF:
			r.eof = true
		case err != nil:
			return err
		}
	}
	return nil
}
