package wire

import (
	"testing"
)

var (
	sinkU32  uint32
	sinkErr  error
	sinkOpts TCPOptions
)

func BenchmarkParseIPv4(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_, sinkErr = ParseIPv4(realSYN)
	}
}

func BenchmarkParseTCP(b *testing.B) {
	seg := realSYN[20:]
	b.ReportAllocs()
	for b.Loop() {
		_, sinkErr = ParseTCP(seg)
	}
}

func BenchmarkParseTCPOptions(b *testing.B) {
	seg := TCP(realSYN[20:])
	b.ReportAllocs()
	for b.Loop() {
		sinkErr = seg.ParseOptions(&sinkOpts)
	}
}

func BenchmarkMarshalTCP(b *testing.B) {
	buf := make([]byte, 60)
	h := TCPHeader{SrcPort: 40000, DstPort: 80, Seq: 1, Ack: 2, Flags: FlagACK, Window: 502}
	o := TCPOptions{TSVal: 1, TSEcr: 2, HasTimestamps: true}
	b.ReportAllocs()
	for b.Loop() {
		o.TSVal++
		h.Marshal(buf, &o)
	}
}

func BenchmarkMarshalIPv4(b *testing.B) {
	buf := make([]byte, 20)
	h := IPv4Header{DontFragment: true, TTL: 64, Protocol: ProtoTCP, Src: addrA, Dst: addrB, PayloadLen: 1460}
	b.ReportAllocs()
	for b.Loop() {
		h.ID++
		h.Marshal(buf)
	}
}

func benchmarkChecksum(b *testing.B, n int) {
	buf := make([]byte, n)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	b.SetBytes(int64(n))
	b.ReportAllocs()
	for b.Loop() {
		sinkU32 += Sum(buf, 0)
	}
}

func BenchmarkChecksum1500(b *testing.B) { benchmarkChecksum(b, 1500) }
func BenchmarkChecksum64K(b *testing.B)  { benchmarkChecksum(b, 65536) }
