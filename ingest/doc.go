// Package ingest turns a hospital's cine MRI archive — folders of DICOM
// studies at any nesting, one-study .tar/.tgz/.zip archives, ACDC-style NIfTI
// folders — into a de-identified HDF5 study store (package store), and is the
// only place where identifiers are seen: everything it writes is keyed by
// salted pseudonyms.
//
// A run discovers units (a study folder, an archive, a NIfTI folder), and
// processes each with one worker: parse every DICOM file, group images into
// studies and series (cine.Assemble), assign views (the reference's
// SeriesDescription maps, a user map, then geometry), decode and pre-process
// the chosen series (reference resize/crop, intensity policy), and write one
// .h5 per study atomically. Every study gets one line in the JSONL manifest —
// what was written, what was excluded or failed and why — and a rerun skips
// units already done (their outputs verified by checksum), so an interrupted
// run resumes where it stopped and ends with the same store.
package ingest
