package tcp

// BufferMemory returns the bytes of memory the connection's send and
// receive buffers hold now. Buffers take memory as data needs it and give
// it back as they drain, so a half-open or idle connection holds none.
func (c *Conn) BufferMemory() int { return c.sendBuf.Allocated() + c.rcvBuf.Allocated() }
