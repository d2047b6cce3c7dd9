// Package progress draws the progress bars of long cmrfm jobs (items/s and
// ETA) on a terminal, and stays silent when the output is not one, so logs
// and CI output are not flooded with control sequences.
package progress
