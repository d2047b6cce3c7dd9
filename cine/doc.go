// Package cine is cmrfm's in-memory model of a cardiac cine MRI study: a Study
// holds one Video per view (4CH, 3CH, 2CH, SAX), and a Video is a 4-D array in
// the (c, f, h, w) order the cmr_transformer loader reads.
//
// A SAX Video is a stack of slices, each a run of frames; SliceFrames marks the
// boundaries with the reference's convention (the 0-based index of the last
// frame of every slice but the last), so a stack of S slices of n frames has
// SliceFrames = [n-1, 2n-1, ..., (S-1)n-1] and a single-slice view has none.
package cine
