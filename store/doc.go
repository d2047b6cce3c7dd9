// Package store reads and writes cmrfm's HDF5 study store, the on-disk format
// shared with the reference toolkit (cmr_toolkit) and loader (cmr_transformer).
//
// # Layout
//
// One file per study at <root>/<site>_<patient-hash>/<study-hash>.h5. Root
// datasets are named by view — 4CH, 3CH, 2CH, SAX — each a uint8 array of
// shape (c, f, h, w) with c = 3 identical channels (reference compatible) or
// 1, chunked one frame per chunk and written without filters. Each dataset
// carries two int32 attributes:
//
//	slice_frames  1-D, the 0-based index of the last frame of every slice but
//	              the last (empty for single-slice views): S slices of n
//	              frames give [n-1, 2n-1, …, (S-1)n-1]
//	total_images  the number of DICOM images the view was built from
//
// Files are written atomically (temporary file, fsync, rename).
//
// # Reading
//
// Read accepts, besides its own files, what h5py wrote for the reference:
// float32 or uint8 datasets in (c, f, h, w) (paper era) or (f, c, h, w)
// (toolkit HEAD), (f, h, w) greyscale, gzip/lzf/shuffle/fletcher32 filters,
// and datasets keyed by the raw SeriesDescription instead of a view name. All
// of them become one cine.Video in (c, f, h, w) order.
//
// The HDF5 encoding is cmrfm's own (internal/hdf5, pure Go, tested against
// h5py and libhdf5): github.com/scigolib/hdf5 was tried first and rejected —
// it cannot write empty or scalar attributes (the reference's slice_frames
// and total_images), decodes LZF incorrectly, ignores per-chunk filter masks,
// silently drops datasets of files in the newest format, and converts every
// value through float64 (3.6 MB/s).
package store
