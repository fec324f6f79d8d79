package sim

import (
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/seqack/seqack/link"
)

// A goodputCell is one path of BenchmarkGoodput: a bottleneck rate, a
// round-trip time and a loss rate (both ways).
type goodputCell struct {
	rate int64 // bit/s
	rtt  time.Duration
	loss float64
}

func (c goodputCell) String() string {
	return fmt.Sprintf("rate%dM/rtt%s/loss%g", c.rate/1e6, c.rtt, c.loss*100)
}

var goodputCells = func() []goodputCell {
	var cells []goodputCell
	for _, loss := range []float64{0, 0.01, 0.05} {
		for _, rtt := range []time.Duration{time.Millisecond, 20 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond} {
			cells = append(cells, goodputCell{10e6, rtt, loss})
		}
	}
	for _, rtt := range []time.Duration{time.Millisecond, 20 * time.Millisecond} {
		cells = append(cells, goodputCell{100e6, rtt, 0}, goodputCell{100e6, rtt, 0.01})
	}
	return cells
}()

// goodputRow is what one cell measured, averaged over its runs.
type goodputRow struct {
	cell                 goodputCell
	goodput              float64 // bit/s
	dataTime             time.Duration
	retransmits, dropped float64
	runs                 int
	failed               error // the first run that failed, if any
}

// BenchmarkGoodput measures, for each cell, the goodput of a one-way bulk
// transfer of 10 s worth of the bottleneck's rate, next to the ideal: the
// bottleneck rate itself (the window is never the limit: the receive
// buffer grows to fit the path). It prints a table when every cell is done:
//
//	go test -run '^$' -bench Goodput -benchtime 3x ./sim
//
// Each iteration uses the next seed. The time per operation is real time;
// the goodput is in virtual time.
func BenchmarkGoodput(b *testing.B) {
	var rows []goodputRow
	for _, c := range goodputCells {
		row := goodputRow{cell: c}
		b.Run(c.String(), func(b *testing.B) {
			row = goodputRow{cell: c}
			bytes := c.rate / 8 * 10
			for i := range b.N {
				path := link.NetemConfig{Delay: c.rtt / 2, Loss: c.loss, Rate: c.rate}
				back := link.NetemConfig{Delay: c.rtt / 2, Loss: c.loss}
				s, client, server := newPair(b, uint64(i+1), path, back, nil)
				res, err := s.Transfer(client, server, TransferConfig{Bytes: bytes})
				s.Close()
				if err != nil {
					// Report it, and go on measuring the other cells.
					b.Error(err)
					row.failed = err
					return
				}
				row.goodput += res.Goodput
				row.dataTime += res.DataTime
				row.retransmits += float64(res.Retransmits)
				row.dropped += float64(res.Forward.QueueDrops)
				row.runs++
			}
			n := float64(row.runs)
			row.goodput /= n
			row.dataTime /= time.Duration(row.runs)
			row.retransmits /= n
			row.dropped /= n
			b.ReportMetric(row.goodput/1e6, "Mbit/s")
			b.ReportMetric(100*row.goodput/float64(c.rate), "%ideal")
		})
		rows = append(rows, row)
	}
	fmt.Fprint(os.Stdout, goodputTable(rows))
}

// goodputTable renders rows as a markdown table.
func goodputTable(rows []goodputRow) string {
	var b strings.Builder
	b.WriteString("\n| bottleneck | RTT | loss | ideal | loss bound | goodput | of ideal | retransmitted | queue drops | virtual time |\n")
	b.WriteString("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, r := range rows {
		c := r.cell
		if r.failed != nil || r.runs == 0 {
			fmt.Fprintf(&b, "| %d Mbit/s | %v | %g %% | %.1f Mbit/s | %s | failed: %v | | | | |\n",
				c.rate/1e6, c.rtt, c.loss*100, float64(c.rate)/1e6, mathis(c), r.failed)
			continue
		}
		fmt.Fprintf(&b, "| %d Mbit/s | %v | %g %% | %.1f Mbit/s | %s | %.2f Mbit/s | %.1f %% | %.0f | %.0f | %v |\n",
			c.rate/1e6, c.rtt, c.loss*100, float64(c.rate)/1e6, mathis(c), r.goodput/1e6, 100*r.goodput/float64(c.rate),
			r.retransmits, r.dropped, r.dataTime.Round(time.Millisecond))
	}
	return b.String()
}

// mathis is the loss bound of a Reno-style sender for the cell, MSS/RTT ×
// 1.22/√p (Mathis et al., 1997), or "-" without random loss: what an
// ideal window-halving TCP would reach, for comparison with the goodput.
func mathis(c goodputCell) string {
	if c.loss == 0 {
		return "-"
	}
	const mss = 1448 // 1500 less IPv4, TCP and timestamp headers
	bps := mss * 8 / c.rtt.Seconds() * 1.22 / math.Sqrt(c.loss)
	return fmt.Sprintf("%.1f Mbit/s", min(bps, float64(c.rate))/1e6)
}
