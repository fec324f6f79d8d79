package wire

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// refSum is the textbook RFC 1071 sum: 16-bit words, carries folded at
// the end. It is the reference the fast Sum is checked against.
func refSum(b []byte) uint16 {
	var s uint64
	for i := 0; i+1 < len(b); i += 2 {
		s += uint64(b[i])<<8 | uint64(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint64(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s>>16 + s&0xffff
	}
	return uint16(s)
}

func refChecksum(b []byte) uint16 { return ^refSum(b) }

func TestSumRFC1071Example(t *testing.T) {
	// RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to 2ddf0, which
	// folds to ddf2; the checksum is its complement, 220d.
	b := []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}
	if got := ^Fold(Sum(b, 0)); got != 0xddf2 {
		t.Errorf("folded sum = %#04x, want 0xddf2", got)
	}
	if got := Checksum(b); got != 0x220d {
		t.Errorf("Checksum = %#04x, want 0x220d", got)
	}
	// Storing the checksum makes the whole sum to -0.
	b = append(b, 0x22, 0x0d)
	if got := Checksum(b); got != 0 {
		t.Errorf("Checksum with checksum appended = %#04x, want 0", got)
	}
}

func TestSumSmall(t *testing.T) {
	tests := []struct {
		in   []byte
		want uint16 // folded sum, not complemented
	}{
		{nil, 0},
		{[]byte{0x01}, 0x0100},                      // odd byte padded on the right
		{[]byte{0x01, 0x02, 0x03}, 0x0402},          // 0x0102 + 0x0300
		{[]byte{0xff, 0xff}, 0xffff},                // -0 stays -0
		{[]byte{0xff, 0xff, 0x00, 0x01}, 0x0001},    // end-around carry
		{[]byte{0x80, 0x00, 0x80, 0x00}, 0x0001},    // carry out of the top
		{[]byte{1, 2, 3, 4, 5, 6, 7, 8, 9}, 0x1914}, // 0102+0304+0506+0708+0900
	}
	for _, tt := range tests {
		if got := ^Fold(Sum(tt.in, 0)); got != tt.want {
			t.Errorf("sum(% x) = %#04x, want %#04x", tt.in, got, tt.want)
		}
		if got := refSum(tt.in); got != tt.want {
			t.Errorf("refSum(% x) = %#04x, want %#04x (bad test)", tt.in, got, tt.want)
		}
	}
}

func TestSumMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 300 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		if got, want := Checksum(b), refChecksum(b); got != want {
			t.Fatalf("len %d: Checksum = %#04x, reference %#04x", n, got, want)
		}
		// Every byte 0xff: the sum is as large as it can be.
		for i := range b {
			b[i] = 0xff
		}
		if got, want := Checksum(b), refChecksum(b); got != want {
			t.Fatalf("len %d of 0xff: Checksum = %#04x, reference %#04x", n, got, want)
		}
	}
}

func TestSumLargeNoOverflow(t *testing.T) {
	// 64 KiB of 0xff on top of the largest initial value.
	b := make([]byte, 65536+40)
	for i := range b {
		b[i] = 0xff
	}
	s := Sum(b, 0xffffffff)
	ref := uint64(0xffffffff)
	for i := 0; i < len(b); i += 2 {
		ref += uint64(binary.BigEndian.Uint16(b[i:]))
	}
	for ref>>16 != 0 {
		ref = ref>>16 + ref&0xffff
	}
	if got := ^Fold(s); uint64(got) != ref {
		t.Errorf("folded sum = %#x, want %#x", got, ref)
	}
	// Random data, random initial value.
	r := rand.New(rand.NewPCG(3, 4))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	for range 20 {
		init := r.Uint32()
		ref := uint64(init)
		for i := 0; i < len(b); i += 2 {
			ref += uint64(binary.BigEndian.Uint16(b[i:]))
		}
		for ref>>16 != 0 {
			ref = ref>>16 + ref&0xffff
		}
		if got := ^Fold(Sum(b, init)); uint64(got) != ref && !(got == 0xffff && ref == 0) {
			t.Errorf("initial %#x: folded sum = %#x, want %#x", init, got, ref)
		}
	}
}

func TestSumChained(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	b := make([]byte, 1001)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	whole := Fold(Sum(b, 0))
	for split := 0; split <= len(b); split += 2 {
		if got := Fold(Sum(b[split:], Sum(b[:split], 0))); got != whole {
			t.Fatalf("split at %d: %#04x, want %#04x", split, got, whole)
		}
	}
}

func TestPseudoHeaderSum(t *testing.T) {
	tests := []struct {
		src, dst string
		proto    uint8
		length   int
		header   []byte
	}{
		{
			"192.168.1.10", "93.184.216.34", ProtoTCP, 40,
			[]byte{192, 168, 1, 10, 93, 184, 216, 34, 0, 6, 0, 40},
		},
		{
			"::ffff:10.0.0.1", "10.0.0.2", ProtoUDP, 0xffff,
			[]byte{10, 0, 0, 1, 10, 0, 0, 2, 0, 17, 0xff, 0xff},
		},
		{
			"2001:db8::1", "2001:db8::2", ProtoTCP, 0x12345,
			[]byte{
				0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
				0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
				0, 1, 0x23, 0x45, 0, 0, 0, 6,
			},
		},
		{
			"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 255, 0x7fffffff,
			[]byte{
				0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 255,
			},
		},
	}
	for _, tt := range tests {
		src, dst := netip.MustParseAddr(tt.src), netip.MustParseAddr(tt.dst)
		got := Fold(PseudoHeaderSum(src, dst, tt.proto, tt.length))
		if want := refChecksum(tt.header); got != want {
			t.Errorf("%s > %s: %#04x, want %#04x", tt.src, tt.dst, got, want)
		}
	}
	// The zero Addr must not panic.
	_ = PseudoHeaderSum(netip.Addr{}, netip.Addr{}, ProtoTCP, 20)
}

func TestUpdateChecksum(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for iter := range 20000 {
		// A random header with a checksum field in word 0. Small words
		// and sparse data exercise the carries and the zero cases.
		n := 2 * (2 + r.IntN(20))
		b := make([]byte, n)
		for i := 2; i < n; i++ {
			if r.IntN(3) > 0 {
				b[i] = byte(r.Uint32())
			}
		}
		binary.BigEndian.PutUint16(b, refChecksum(b))

		if iter%2 == 0 {
			w := 2 * (1 + r.IntN(n/2-1))
			old := binary.BigEndian.Uint16(b[w:])
			new := uint16(r.Uint32())
			if r.IntN(4) == 0 {
				new = ^old
			}
			binary.BigEndian.PutUint16(b[w:], new)
			check := UpdateChecksum(binary.BigEndian.Uint16(b), old, new)
			compareUpdate(t, b, check)
		} else if n >= 8 {
			w := 4 * (1 + r.IntN(n/4-1))
			old := binary.BigEndian.Uint32(b[w:])
			new := r.Uint32()
			binary.BigEndian.PutUint32(b[w:], new)
			check := UpdateChecksum32(binary.BigEndian.Uint16(b), old, new)
			compareUpdate(t, b, check)
		}
	}
}

// compareUpdate checks an incrementally updated checksum of b (stored in
// its first word) against a full recompute.
func compareUpdate(t *testing.T, b []byte, check uint16) {
	t.Helper()
	saved := [2]byte{b[0], b[1]}
	b[0], b[1] = 0, 0
	want := refChecksum(b)
	allZero := refSum(b) == 0
	b[0], b[1] = saved[0], saved[1]
	if allZero {
		// RFC 1624 §3: when the data becomes all zeros the incremental
		// result is 0x0000 where a recompute gives 0xffff; both verify.
		if check != 0 && check != 0xffff {
			t.Fatalf("all-zero data: checksum %#04x", check)
		}
		return
	}
	if check != want {
		t.Fatalf("data % x: incremental %#04x, recomputed %#04x", b[2:], check, want)
	}
}
