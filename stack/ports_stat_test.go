package stack

// Ephemeral ports are unpredictable (RFC 6056 §3.3.1, Algorithm 1: a
// random port in the range for every connection): uniform over the range,
// and the step from one to the next uniform too, so that an off-path
// attacker who sees one port cannot guess the next. The thresholds sit
// more than five standard deviations out: a good generator fails about
// once in ten million runs, a sequential or biased one every time.

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"testing"
	"time"
)

// portProblems returns what is wrong with ports drawn from lo..hi: the
// χ² of their spread over 64 equal bins, and of the spread of the steps
// between successive ports (mod the range), each against a limit that a
// uniform draw exceeds with probability about 10^-8 (63 degrees of
// freedom); and their serial correlation.
func portProblems(ports []uint16, lo, hi int) []string {
	var found []string
	size := hi - lo + 1
	n := float64(len(ports))
	const bins, limit = 64, 150
	chi := func(at func(i int) int) float64 {
		var b [bins]float64
		for i := range ports {
			b[at(i)*bins/size]++
		}
		x := 0.0
		for _, c := range b {
			x += (c - n/bins) * (c - n/bins) / (n / bins)
		}
		return x
	}
	if x := chi(func(i int) int { return int(ports[i]) - lo }); x > limit {
		found = append(found, fmt.Sprintf("ports over the range: χ² = %.0f, want below %d", x, limit))
	}
	step := func(i int) int { return ((int(ports[(i+1)%len(ports)])-int(ports[i]))%size + size) % size }
	if x := chi(step); x > limit {
		found = append(found, fmt.Sprintf("steps between successive ports: χ² = %.0f, want below %d", x, limit))
	}
	var mean, sxx, sxy float64
	for _, p := range ports {
		mean += float64(p)
	}
	mean /= n
	for i := range ports {
		a, b := float64(ports[i])-mean, float64(ports[(i+1)%len(ports)])-mean
		sxx += a * a
		sxy += a * b
	}
	if r := sxy / sxx; math.Abs(r) > 6/math.Sqrt(n) {
		found = append(found, fmt.Sprintf("serial correlation %.4f, want within ±%.4f", r, 6/math.Sqrt(n)))
	}
	return found
}

// randomPort: uniform over the default range, steps uniform, no serial
// correlation.
func TestRandomPortUniform(t *testing.T) {
	s, _ := newRawPeer(t, Config{})
	lo, hi := int(s.cfg.EphemeralPorts[0]), int(s.cfg.EphemeralPorts[1])
	ports := make([]uint16, 64000)
	for i := range ports {
		ports[i] = s.randomPort()
		if int(ports[i]) < lo || int(ports[i]) > hi {
			t.Fatalf("port %d outside %d-%d", ports[i], lo, hi)
		}
	}
	for _, p := range portProblems(ports, lo, hi) {
		t.Error(p)
	}
}

// The check has teeth: sequential ports, ports in steps of 7, and ports
// from a quarter of the range fail it.
func TestPortCheckFailsPredictable(t *testing.T) {
	for name, f := range map[string]func(i int) uint16{
		"sequential":    func(i int) uint16 { return uint16(49152 + i%16384) },
		"steps of 7":    func(i int) uint16 { return uint16(49152 + (i*7)%16384) },
		"quarter range": func(i int) uint16 { return uint16(49152 + (i*2654435761)%4096) },
	} {
		ports := make([]uint16, 64000)
		for i := range ports {
			ports[i] = f(i)
		}
		if len(portProblems(ports, 49152, 65535)) == 0 {
			t.Errorf("%s ports passed the check", name)
		}
	}
}

// Dials to one destination get ports spread over the range with no
// pattern from one to the next, as RFC 6056 asks.
func TestDialPortsUnpredictable(t *testing.T) {
	l := &drivenLink{}
	s, err := New(l, Config{Addrs: []netip.Addr{clientAddr}, Clock: func() time.Time { return drivenEpoch }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const dials = 4000
	ports := make([]uint16, dials)
	adjacent := 0
	for i := range ports {
		c, err := s.DialStart("tcp", "10.0.0.2:80")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = c.LocalAddr().(*net.TCPAddr).AddrPort().Port()
		if i > 0 && ports[i] == ports[i-1]+1 {
			adjacent++
		}
		l.take()
	}
	// With 16384 ports, a random choice lands next to the previous one
	// (or is pushed there past a port in use) a few times in a thousand.
	if adjacent > dials/50 {
		t.Errorf("%d of %d dials took the port after the previous one's", adjacent, dials)
	}
	// Over 16 bins (χ², 15 degrees of freedom, limit about 10^-7).
	var bins [16]float64
	for _, p := range ports {
		bins[(int(p)-49152)*16/16384]++
	}
	x := 0.0
	for _, b := range bins {
		x += (b - dials/16) * (b - dials/16) / (dials / 16)
	}
	if x > 60 {
		t.Errorf("dial ports over the range: χ² = %.0f, want below 60; bins %v", x, bins)
	}
}
