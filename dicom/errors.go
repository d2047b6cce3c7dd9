package dicom

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by this package wraps one of them
// (inside an *Error that names the file), so callers can classify failures
// with errors.Is.
var (
	// ErrNotDICOM: the bytes are not a DICOM file (no "DICM" preamble and no
	// plausible data set at offset 0), or the file is empty.
	ErrNotDICOM = errors.New("not a DICOM file")
	// ErrTruncated: the file ends inside an element, a sequence, the pixel
	// data, or before a sequence delimiter.
	ErrTruncated = errors.New("file truncated")
	// ErrMalformed: the bytes are DICOM-like but structurally invalid (bad
	// VR, item outside a sequence, nesting too deep, inconsistent lengths).
	ErrMalformed = errors.New("malformed DICOM")
	// ErrNoPixelData: the data set has no top-level Pixel Data element.
	ErrNoPixelData = errors.New("no pixel data")
	// ErrUnsupportedTransferSyntax: no decoder for the file's transfer syntax.
	ErrUnsupportedTransferSyntax = errors.New("unsupported transfer syntax")
	// ErrUnsupportedPixelFormat: a pixel module combination cmrfm does not
	// decode (e.g. BitsAllocated 1, 3+ samples that are not colour).
	ErrUnsupportedPixelFormat = errors.New("unsupported pixel format")
	// ErrBadPixelModule: the image pixel module is missing or inconsistent
	// (no Rows, BitsStored > BitsAllocated, ...).
	ErrBadPixelModule = errors.New("bad image pixel module")
	// ErrTooLarge: decoding would need more memory than DecodeOptions.MaxBytes.
	ErrTooLarge = errors.New("image too large")
	// ErrCorruptFrame: a compressed frame could not be decoded, or decoded to
	// a size or bit depth different from what the header declares.
	ErrCorruptFrame = errors.New("corrupt compressed frame")
)

// Error is the error type returned by this package. It names the file, the
// operation and, where known, the transfer syntax and frame.
type Error struct {
	Path           string // file path ("" when parsing bytes)
	Op             string // "parse" or "decode"
	TransferSyntax string // transfer syntax UID, when known
	Frame          int    // 0-based frame index, or -1
	Err            error  // wraps one of the sentinels above
}

func (e *Error) Error() string {
	s := "dicom: " + e.Op
	if e.Path != "" {
		s += " " + e.Path
	}
	if e.Frame >= 0 {
		s += fmt.Sprintf(" frame %d", e.Frame)
	}
	if e.TransferSyntax != "" {
		s += " (transfer syntax " + e.TransferSyntax
		if ts, ok := LookupTransferSyntax(e.TransferSyntax); ok {
			s += " " + ts.Name
		}
		s += ")"
	}
	return s + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// errf wraps a sentinel with a formatted reason.
func errf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}
