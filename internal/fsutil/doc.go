// Package fsutil holds the file-system discipline every cmrfm writer follows:
// nothing already written is lost, and a reader never sees a half-written
// file. Outputs are produced in a temporary file beside the target, synced,
// and renamed over it; the directory is synced so the rename survives a crash.
package fsutil
