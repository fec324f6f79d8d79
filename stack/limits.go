package stack

import "syscall"

// Errors of a connection refused because a stack-wide limit was reached.
// Both match syscall.ENOBUFS with errors.Is, the errno Linux gives when
// it has no room for a socket.
var (
	// ErrConnectionLimit: the stack holds Config.MaxConnections
	// connections already.
	ErrConnectionLimit error = &limitError{"connection limit (Config.MaxConnections) reached"}
	// ErrBufferMemoryLimit: the connections' buffers hold
	// Config.MaxBufferMemory bytes already.
	ErrBufferMemoryLimit error = &limitError{"buffer memory limit (Config.MaxBufferMemory) reached"}
)

type limitError struct{ msg string }

func (e *limitError) Error() string        { return "stack: " + e.msg }
func (e *limitError) Is(target error) bool { return target == syscall.ENOBUFS }

// BufferMemory returns the bytes of memory the connections' send and
// receive buffers hold now (what Config.MaxBufferMemory bounds). A
// half-open or idle connection holds none.
func (s *Stack) BufferMemory() int64 { return s.bufMem.Load() }

// admitLocked reports why the stack cannot take one more connection, if
// it cannot, and counts the refusal. Existing connections are never
// closed to make room: only new ones are refused. s.mu is held (for
// reading at least).
func (s *Stack) admitLocked() error {
	if s.cfg.MaxConnections > 0 && len(s.conns) >= s.cfg.MaxConnections {
		s.stats.tcpConnLimitRefused.Add(1)
		return ErrConnectionLimit
	}
	if s.cfg.MaxBufferMemory > 0 && s.bufMem.Load() >= s.cfg.MaxBufferMemory {
		s.stats.tcpMemLimitRefused.Add(1)
		return ErrBufferMemoryLimit
	}
	return nil
}

// admit is admitLocked for a caller that does not hold s.mu.
func (s *Stack) admit() error {
	if s.cfg.MaxConnections <= 0 && s.cfg.MaxBufferMemory <= 0 {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.admitLocked()
}

// accountMemory brings the stack's count of buffer memory up to date with
// what c's buffers hold now, or with nothing once c has left the table.
// c.mu is held.
func (c *Conn) accountMemory() {
	mem := 0
	if !c.removed {
		mem = c.tcb.BufferMemory()
	}
	if mem != c.bufMem {
		c.s.bufMem.Add(int64(mem - c.bufMem))
		c.bufMem = mem
	}
}
