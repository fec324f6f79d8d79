// Package stack is a host on one link: its IPv4 addresses, the IP layer
// (validation, demultiplexing, ICMP echo), the table of TCP connections and
// listeners, one timer queue for all of them, and the Go API shaped like
// package net: Listen, Dial and DialContext giving net.Listener and net.Conn.
//
// There is no goroutine per connection. One goroutine reads the link and
// processes each packet inline; one goroutine runs the timers of every
// connection; a user's call (Write, Close, ...) sends its segments from the
// user's own goroutine. Blocking calls sleep until an event wakes them.
package stack
