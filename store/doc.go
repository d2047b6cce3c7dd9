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
// The HDF5 encoding itself is done by github.com/scigolib/hdf5 (pure Go). Its
// known limits shape this package: it writes scalar attributes as shape (1,)
// arrays, its gzip writer output is not readable by libhdf5 (so cmrfm writes
// unfiltered chunks), and it exposes dataset metadata only as a description
// string, which datasetInfo parses.
package store
