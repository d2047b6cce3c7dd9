// Package dicom reads DICOM files and decodes their pixel data into integer
// frames: the first stage of cmrfm's pipeline.
//
// Parse (or ReadFile) walks the file once, zero-copy, into a DataSet of
// Elements whose values are sub-slices of the file's bytes; nested sequences
// (enhanced multi-frame functional groups) are parsed too. Every length is
// checked against the bytes that remain before it is used, so a corrupt or
// hostile file yields an error naming the file and the reason — never a
// panic and never an allocation larger than the file itself.
//
// File.Decode turns the pixel data into Pixels: the stored sample values of
// every frame as int32 (BitsStored-masked, sign-extended when
// PixelRepresentation is 1), for native little/big-endian data and for the
// compressed transfer syntaxes cmrfm supports (RLE, JPEG baseline/extended,
// JPEG lossless, JPEG-LS, JPEG 2000; see TransferSyntaxes). A syntax with no
// decoder is an *Error wrapping ErrUnsupportedTransferSyntax that names the
// UID and the file; when GDCM's gdcmconv is installed the decoder can fall
// back to it (DecodeOptions.GDCMFallback).
//
// Pixels.Grey gives brightness-correct greyscale values for the ingest stage:
// RescaleSlope/Intercept applied, MONOCHROME1 inverted, and RGB, YBR and
// PALETTE COLOR converted with the reference's luma weights
//
//	grey = 0.2989·R + 0.5870·G + 0.1140·B
//
// File.Images describes every frame (geometry, timing, series identity) for
// cine.Assemble, which orders frames into slices and builds cine videos.
//
// # Security considerations
//
// Decode checks Rows×Columns×Frames×Samples against DecodeOptions.MaxBytes
// before allocating. Inputs are untrusted: Parse and Decode are fuzzed
// (fuzz_test.go) and third-party codec panics are recovered into errors.
package dicom
