//go:build race

package vk

// raceEnabled is true under -race, where the single-threaded simulation gains nothing
// from the detector and runs ten times slower.
const raceEnabled = true
