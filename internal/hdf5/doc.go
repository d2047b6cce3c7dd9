// Package hdf5 reads and writes the subset of HDF5 that cmrfm's files use,
// in pure Go, checked against h5py/libhdf5 fixtures.
//
// Reading covers what h5py produces for array stores: superblocks v0–v3,
// object headers v1 and v2 (with continuation blocks), groups as symbol
// tables or compact link messages, numeric datasets (fixed-point and IEEE
// float, either byte order) with compact, contiguous or chunked storage —
// chunk indexes v1 B-tree, single chunk, implicit and fixed array — and the
// deflate, shuffle, fletcher32 and LZF filters, honouring each chunk's filter
// mask. Attributes are read from the object header. What is outside that set
// (dense link or attribute storage, extensible-array or v2-B-tree chunk
// indexes, other filters) is a named error, never a silent omission.
//
// Writing produces the oldest format every libhdf5 reads: superblock v0,
// version-1 object headers, a symbol-table root group of contiguous numeric
// or fixed-length string datasets (null-padded UTF-8; h5py reads them as
// bytes) with numeric attributes (scalar or 1-D, possibly empty). Fixed-length
// string datasets are also read (ReadStrings).
//
// Format reference: "HDF5 File Format Specification Version 3.0" (The HDF
// Group). The package was written from the specification; no HDF5 library
// source was used.
package hdf5
