//go:build !linux

package link

import (
	"errors"
	"fmt"
	"runtime"
)

// TUN is a [Link] over a TUN device. Only Linux has one so far.
type TUN struct{}

// OpenTUN fails: TUN devices are supported on Linux only.
func OpenTUN(cfg TUNConfig) (*TUN, error) {
	return nil, fmt.Errorf("link: TUN devices are supported on Linux only, not %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

// Name returns "".
func (t *TUN) Name() string { return "" }

// MTU returns 0.
func (t *TUN) MTU() int { return 0 }

// Stats returns zero counters.
func (t *TUN) Stats() TUNStats { return TUNStats{} }

// ReadPackets returns ErrClosed.
func (t *TUN) ReadPackets(bufs [][]byte, sizes []int) (int, error) { return 0, ErrClosed }

// WritePackets returns ErrClosed.
func (t *TUN) WritePackets(pkts [][]byte) (int, error) { return 0, ErrClosed }

// Close does nothing.
func (t *TUN) Close() error { return nil }
