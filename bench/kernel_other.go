//go:build !linux

package bench

import (
	"fmt"
	"net"
)

// kernelEnv is the kernel's TCP over the host's loopback.
type kernelEnv struct{}

// NewKernel returns an Env on the host's loopback (127.0.0.1). The
// kernel's socket buffers and MTU are its own.
func NewKernel(o Options) (Env, error) { return kernelEnv{}, nil }

func (kernelEnv) Listen(port uint16) (net.Listener, error) {
	return net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
}

func (kernelEnv) Dial(port uint16) (net.Conn, error) {
	return net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
}

func (e kernelEnv) Go(f func(dial func(uint16) (net.Conn, error))) { go f(e.Dial) }

func (kernelEnv) Close() error { return nil }

// Describe says where the kernel's TCP runs, for the table's notes.
func (kernelEnv) Describe() string { return "host loopback" }
