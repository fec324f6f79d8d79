// Package bench measures seqack side by side with gVisor's netstack and the
// Linux kernel on the same work, in one process on one machine.
//
// Each contender is an [Env]: a client side and a server side joined by a
// link. seqack runs two stacks on an in-memory [link.Pipe]; gVisor runs two
// netstack stacks on channel link endpoints with pump goroutines moving
// packets between them; the kernel runs TCP over a loopback interface, in a
// network namespace of its own when the process may create one (so that
// the loopback MTU can match the others').
//
// The workloads ([Bulk], [Churn], [PingPong], [Idle]) take an Env and
// return what they measured; [Suite] runs them for every contender and
// builds the one table that cmd/seqack-bench prints. The package is its own
// module, so that seqack never depends on gVisor.
package bench
