// Package progress draws the progress bars of long cmrfm jobs (items/s and
// ETA) on a terminal, and stays silent when the output is not one, so logs
// and CI output are not flooded with control sequences.
//
// Libraries report progress through callbacks and never draw; commands
// (and the demo, on behalf of its user) render those callbacks here:
// Counter for func(done, total int) callbacks (ingest, phantom, store
// verification), Train for a training run's train.Hooks.
package progress
