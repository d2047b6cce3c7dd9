// Package dcmenc writes DICOM Part 10 files in Explicit VR Little Endian
// (PS3.5 §7.1.2, PS3.10 §7.1): a 128-byte preamble, "DICM", the group-2 file
// meta information with its group length, then the data set with elements in
// ascending tag order. Values are padded to even length as PS3.5 §6.2
// requires: UI with NUL, other character strings with a space, binary values
// with a zero byte. Sequences and items are written with explicit lengths.
//
// It is a writer only, sized for the phantom's needs: it never reads.
package dcmenc
