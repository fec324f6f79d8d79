// Package sim runs several seqack stacks on one virtual clock, joined by
// impaired links ([link.NetemPath]), in one goroutine and without sleeping.
// Everything that happens follows from the seed: a run replays exactly, so
// a failure found with one seed can be studied at leisure, and a
// sixty-second transfer over a long path takes a fraction of a second.
//
// A simulation is built from hosts ([Sim.AddHost]), each a [stack.Stack]
// driven by the simulator's clock, joined in pairs by links ([Sim.Join]).
// Applications are step functions ([Sim.AddApp]) that use the stacks'
// non-blocking calls (DialStart, TryAccept, TryRead, TryWrite) and are
// polled after every event. [Sim.Run] moves the clock from event to event:
// the next packet arrival, the next connection timer, or the next callback
// ([Sim.At]). [Sim.Transfer] is a complete application: a bulk transfer
// checked end to end with SHA-256.
package sim
