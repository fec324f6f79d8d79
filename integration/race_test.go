//go:build linux && race

package integration

// raceEnabled says whether the tests run with the race detector, so that
// the seqack they run is built with it too.
const raceEnabled = true
