package tcp

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
	"time"
)

// ISNGenerator chooses initial sequence numbers as RFC 6528 §3 says:
//
//	ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
//
// where M is a timer that ticks every 4 µs and F is a keyed hash (here
// SHA-256 over a random 32-byte key and the 4-tuple). Numbers for the same
// 4-tuple grow with time, so a new incarnation's segments are not confused
// with an old one's, while an off-path attacker cannot predict them.
type ISNGenerator struct {
	key   [32]byte
	epoch time.Time
}

// NewISNGenerator returns a generator with a fresh random key whose 4 µs
// clock starts at epoch.
func NewISNGenerator(epoch time.Time) *ISNGenerator {
	g := &ISNGenerator{epoch: epoch}
	if _, err := rand.Read(g.key[:]); err != nil {
		panic("tcp: cannot read random key: " + err.Error())
	}
	return g
}

// ISN returns the initial sequence number for id at time now.
func (g *ISNGenerator) ISN(id ID, now time.Time) Value {
	var buf [32 + 2*(16+2)]byte
	b := append(buf[:0], g.key[:]...)
	for _, ap := range [2]netip.AddrPort{id.Local, id.Remote} {
		a := ap.Addr().As16()
		b = append(b, a[:]...)
		b = binary.BigEndian.AppendUint16(b, ap.Port())
	}
	sum := sha256.Sum256(b)
	m := uint32(now.Sub(g.epoch) / (4 * time.Microsecond))
	return Value(m + binary.BigEndian.Uint32(sum[:4]))
}

var defaultISN = NewISNGenerator(time.Now())

// DefaultISN is the RFC 6528 generator with a per-process random key.
func DefaultISN(id ID, now time.Time) Value { return defaultISN.ISN(id, now) }

// TSOffsetGenerator chooses timestamp clock offsets (RFC 7323 §7.1): a
// keyed hash of the two addresses, so that the clock does not leak to
// observers and differs between peers, while successive connections
// between the same two addresses share it.
type TSOffsetGenerator struct{ k0, k1 uint64 }

// NewTSOffsetGenerator returns a generator with a fresh random key.
func NewTSOffsetGenerator() *TSOffsetGenerator {
	var key [16]byte
	if _, err := rand.Read(key[:]); err != nil {
		panic("tcp: cannot read random key: " + err.Error())
	}
	return &TSOffsetGenerator{binary.LittleEndian.Uint64(key[:8]), binary.LittleEndian.Uint64(key[8:])}
}

// Offset returns the offset for connections from local to remote.
func (g *TSOffsetGenerator) Offset(local, remote netip.Addr) uint32 {
	var buf [32]byte
	l, r := local.As16(), remote.As16()
	copy(buf[:16], l[:])
	copy(buf[16:], r[:])
	return uint32(sipHash24(g.k0, g.k1, buf[:]))
}

var defaultTSOffset = NewTSOffsetGenerator()

// DefaultTSOffset is the timestamp offset generator with a per-process
// random key.
func DefaultTSOffset(local, remote netip.Addr) uint32 { return defaultTSOffset.Offset(local, remote) }
