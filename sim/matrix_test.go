package sim

import (
	"flag"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/seqack/seqack/link"
)

var (
	matrixSeeds = flag.Int("matrix.seeds", 20, "seeds per cell of TestMatrix")
	matrixBytes = flag.Int64("matrix.bytes", defaultMatrixBytes, "bytes each way per transfer in TestMatrix")
)

// defaultMatrixBytes is the size of each direction of a matrix transfer:
// enough for a few hundred segments each way, so that every cell sees
// losses in slow start, in recovery and at the close; small enough that
// the 1500 transfers take about half a minute under -race on two cores.
const defaultMatrixBytes = 256 << 10

// A cell is one network condition: a loss rate, an impairment, and a
// round-trip time.
type cell struct {
	loss   float64
	impair string // a key of impairments
	rtt    time.Duration
}

func (c cell) String() string {
	return fmt.Sprintf("loss%d/%s/rtt%s", int(c.loss*100+0.5), c.impair, c.rtt)
}

// path returns the path one way: half the round trip, the cell's loss, and
// its impairment.
func (c cell) path() link.NetemConfig {
	p := impairments[c.impair]
	p.Loss = c.loss
	p.Delay = c.rtt / 2
	return p
}

// bottleneckRate is the rate of the "bottleneck" impairment.
const bottleneckRate = 10e6

// impairments are the ways a path can misbehave besides losing packets.
var impairments = map[string]link.NetemConfig{
	"plain":      {},
	"reorder":    {Reorder: 0.1},
	"duplicate":  {Duplicate: 0.05},
	"corrupt":    {Corrupt: 0.05},
	"bottleneck": {Rate: bottleneckRate}, // with the default queue
}

var (
	matrixLosses      = []float64{0, 0.01, 0.05, 0.10, 0.20}
	matrixImpairments = []string{"plain", "reorder", "duplicate", "corrupt", "bottleneck"}
	matrixRTTs        = []time.Duration{time.Millisecond, 20 * time.Millisecond, 200 * time.Millisecond}
)

// matrixLimit bounds each transfer's virtual time: enough for the slowest
// cell to recover by timeouts alone, short enough that a transfer that
// has stopped making progress fails quickly.
const matrixLimit = 15 * time.Minute

// TestMatrix runs a transfer both ways, checked with SHA-256 at both ends
// and followed by a clean close, in every cell of the loss × impairment ×
// RTT matrix, for -matrix.seeds seeds each. A failure prints the command
// that replays it.
func TestMatrix(t *testing.T) {
	seeds := *matrixSeeds
	if testing.Short() {
		seeds = min(seeds, 3)
	}
	var mu sync.Mutex
	wall := time.Now()
	runs := 0
	for _, loss := range matrixLosses {
		for _, impair := range matrixImpairments {
			for _, rtt := range matrixRTTs {
				c := cell{loss, impair, rtt}
				t.Run(c.String(), func(t *testing.T) {
					t.Parallel()
					var sum struct {
						data   time.Duration
						rtx, n int
					}
					for seed := 1; seed <= seeds; seed++ {
						t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
							res, err := runCell(t, c, uint64(seed), *matrixBytes)
							if err != nil {
								t.Errorf("%v\nreplay: go test ./sim -run '^TestMatrix$/%s/^seed%d$' -v%s", err, regexpCell(c), seed, bytesFlag())
								return
							}
							sum.data += res.DataTime
							sum.rtx += res.Retransmits
							sum.n++
						})
					}
					if sum.n > 0 {
						t.Logf("%d seeds: mean data time %v, mean retransmissions %.1f", sum.n, sum.data/time.Duration(sum.n), float64(sum.rtx)/float64(sum.n))
					}
					mu.Lock()
					runs += sum.n
					mu.Unlock()
				})
			}
		}
	}
	t.Cleanup(func() {
		t.Logf("%d transfers in %v of wall time", runs, time.Since(wall).Round(time.Millisecond))
	})
}

// bytesFlag is the -matrix.bytes flag a replay needs, if any.
func bytesFlag() string {
	if *matrixBytes == defaultMatrixBytes {
		return ""
	}
	return fmt.Sprintf(" -matrix.bytes=%d", *matrixBytes)
}

// regexpCell is the -run pattern of a cell's subtest names.
func regexpCell(c cell) string {
	return fmt.Sprintf("^loss%d$/^%s$/^rtt%s$", int(c.loss*100+0.5), c.impair, c.rtt)
}

// runCell runs one transfer of the given size each way in cell c. Its
// event limit, a generous 100 events per kilobyte, stops a packet storm.
func runCell(t testing.TB, c cell, seed uint64, bytes int64) (TransferResult, error) {
	s, client, server := newPair(t, seed, c.path(), c.path(), nil)
	s.SetEventLimit(int(max(bytes/10, 10000)))
	return s.Transfer(client, server, TransferConfig{Bytes: bytes, ReverseBytes: bytes, Limit: matrixLimit})
}
