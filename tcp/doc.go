// Package tcp is seqack's TCP protocol engine: one connection's control
// block and the state machine of RFC 9293, with no I/O.
//
// The engine is sans-I/O. A Conn never reads a clock, starts a goroutine,
// takes a lock or touches a socket: the caller hands it segments (Input),
// user requests (Connect, Write, Read, Close, ...) and the current time, and
// the Conn answers by handing segments to its Sender, events to its
// trace.Sink, and by reporting the next instant at which it wants to be
// woken (Deadline, then HandleTimer). This makes every rule testable one
// segment at a time and lets the same code run on the real clock or a
// simulated one.
//
// A Conn is not safe for concurrent use; the stack serializes calls.
//
// The rules are those of RFC 9293 §3.10 (event processing), with RFC 5961
// (blind in-window attacks), RFC 6298 (retransmission timer) and RFC 6528
// (initial sequence numbers). The section numbers are beside the code that
// enforces them.
package tcp
