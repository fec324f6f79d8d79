package stack

import (
	"net/netip"
	"testing"
	"unsafe"

	"github.com/seqack/seqack/tcp"
)

// A connection's key gives back its endpoints, and tells apart 4-tuples
// that differ in any one part.
func TestConnKey(t *testing.T) {
	base := tcp.ID{Local: netip.MustParseAddrPort("10.0.0.1:49152"), Remote: netip.MustParseAddrPort("10.0.0.2:80")}
	ids := []tcp.ID{
		base,
		{Local: netip.MustParseAddrPort("10.0.0.3:49152"), Remote: base.Remote},
		{Local: netip.MustParseAddrPort("10.0.0.1:49153"), Remote: base.Remote},
		{Local: base.Local, Remote: netip.MustParseAddrPort("10.0.0.4:80")},
		{Local: base.Local, Remote: netip.MustParseAddrPort("10.0.0.2:81")},
		{Local: base.Remote, Remote: base.Local},
		{Local: netip.MustParseAddrPort("255.255.255.255:65535"), Remote: netip.MustParseAddrPort("0.0.0.0:1")},
	}
	seen := map[connKey]tcp.ID{}
	for _, id := range ids {
		k := keyOf(id)
		if got := k.id(); got != id {
			t.Errorf("keyOf(%v).id() = %v", id, got)
		}
		if other, dup := seen[k]; dup {
			t.Errorf("%v and %v have the same key", id, other)
		}
		seen[k] = id
	}
	if n := unsafe.Sizeof(connKey{}); n != 12 {
		t.Errorf("a key takes %d bytes, want 12", n)
	}
}
