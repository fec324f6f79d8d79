package tcp

// Statistical tests of unpredictability (RFC 6528 for ISNs, and the SYN
// cookies that stand in for them): over many 4-tuples at one instant, every
// bit is as often 1 as 0, every byte is uniform, and the difference
// between the numbers of neighbouring 4-tuples (ports n and n+1, what an
// attacker who learns one would step from) is uniform too. The thresholds
// sit more than five standard deviations out: a good generator fails one
// about once in ten million runs, a predictable one every time.

import (
	"fmt"
	"math"
	"net/netip"
	"testing"
	"time"
)

// statSamples is how many 4-tuples each test draws.
const statSamples = 1 << 16

// chiSquareLimit255 is the χ² (255 degrees of freedom) that a uniform
// byte exceeds with probability about 10^-8 (Wilson–Hilferty: 5.5 σ).
const chiSquareLimit255 = 400

// tuples returns statSamples distinct 4-tuples toward one server port:
// consecutive ports from a few client addresses, as a scan would use.
func tuples() []ID {
	ids := make([]ID, statSamples)
	for i := range ids {
		ids[i] = ID{
			Local:  netip.MustParseAddrPort("10.0.0.1:80"),
			Remote: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 1, byte(i >> 14)}), uint16(1024+i&(1<<14-1))),
		}
	}
	return ids
}

// checkUnpredictable runs the bit, byte and neighbour tests over the
// numbers vs made for tuples().
func checkUnpredictable(t *testing.T, vs []uint32) {
	t.Helper()
	for _, p := range predictability(vs) {
		t.Error(p)
	}
}

// predictability returns what the tests found wrong with vs.
func predictability(vs []uint32) []string {
	var found []string
	n := float64(len(vs))
	sigma := math.Sqrt(n) / 2
	for bit := range 32 {
		ones := 0
		for _, v := range vs {
			ones += int(v >> bit & 1)
		}
		if d := math.Abs(float64(ones) - n/2); d > 6*sigma {
			found = append(found, fmt.Sprintf("bit %d is 1 in %d of %d numbers: %.1f σ from half", bit, ones, len(vs), d/sigma))
		}
	}
	chi := func(byteOf func(i int) byte) float64 {
		var bins [256]float64
		for i := range vs {
			bins[byteOf(i)]++
		}
		want := n / 256
		x := 0.0
		for _, b := range bins {
			x += (b - want) * (b - want) / want
		}
		return x
	}
	for k := range 4 {
		if x := chi(func(i int) byte { return byte(vs[i] >> (8 * k)) }); x > chiSquareLimit255 {
			found = append(found, fmt.Sprintf("byte %d: χ² = %.0f over 256 values, want below %d", k, x, chiSquareLimit255))
		}
		// Neighbours: the step from one tuple's number to the next one's.
		if x := chi(func(i int) byte { return byte((vs[(i+1)%len(vs)] - vs[i]) >> (8 * k)) }); x > chiSquareLimit255 {
			found = append(found, fmt.Sprintf("byte %d of the step between neighbouring tuples: χ² = %.0f, want below %d", k, x, chiSquareLimit255))
		}
	}
	return found
}

// ISNs of many 4-tuples at one instant are unpredictable (RFC 6528 §3's F),
// while for one 4-tuple they advance exactly with the 4 µs clock (M).
func TestISNUnpredictable(t *testing.T) {
	g := NewISNGenerator(epoch)
	now := epoch.Add(1234567 * time.Microsecond)
	ids := tuples()
	vs := make([]uint32, len(ids))
	for i, id := range ids {
		vs[i] = uint32(g.ISN(id, now))
	}
	checkUnpredictable(t, vs)
	// And for each tuple, later is larger by exactly the clock's ticks.
	for _, id := range ids[:1000] {
		if d := g.ISN(id, now.Add(40*time.Millisecond)).Sub(g.ISN(id, now)); d != 10000 {
			t.Fatalf("ISN of %v grew by %d in 40 ms, want 10000", id, d)
		}
	}
}

// The same holds for the cookies a flood draws, which serve as ISNs.
func TestSynCookieUnpredictable(t *testing.T) {
	sc := NewSynCookies()
	now := epoch.Add(1234567 * time.Microsecond)
	ids := tuples()
	vs := make([]uint32, len(ids))
	s := syn(1000).mss(1460).segment()
	for i, id := range ids {
		vs[i] = uint32(sc.Reply(id, s, nil, now).Seq)
	}
	checkUnpredictable(t, vs)
}

// A broken generator fails the tests: the check has teeth.
func TestUnpredictableCheckFailsPredictable(t *testing.T) {
	for name, f := range map[string]func(i int) uint32{
		"counter":       func(i int) uint32 { return uint32(i) * 64000 },
		"low bits zero": func(i int) uint32 { return uint32(i*2654435761) &^ 0xff },
		"linear":        func(i int) uint32 { return uint32(i)*2654435761 + 12345 },
	} {
		vs := make([]uint32, statSamples)
		for i := range vs {
			vs[i] = f(i)
		}
		if len(predictability(vs)) == 0 {
			t.Errorf("%s generator passed the unpredictability check", name)
		}
	}
}
