//go:build !linux

package conform

import (
	"errors"
	"fmt"
	"runtime"
)

// NewLinux fails: the Linux target needs Linux's network namespaces and
// TUN devices.
func NewLinux(opts LinuxOptions) (Target, error) {
	return nil, fmt.Errorf("conform: the Linux target runs on Linux only, not %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
