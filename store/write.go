package store

import (
	"encoding/binary"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/cmrfm/cmrfm/cine"
	"github.com/cmrfm/cmrfm/internal/fsutil"
	"github.com/cmrfm/cmrfm/internal/hdf5"
)

// Ext is the file extension of a study file.
const Ext = ".h5"

// StudyPath returns where a study lives in a store rooted at root:
// <root>/<site>_<patient>/<study>.h5. The parts must be non-empty and must
// not contain path separators or '-' (the reference loader splits file keys
// at the first '-').
func StudyPath(root, site, patient, study string) (string, error) {
	for _, p := range []struct{ name, v string }{{"site", site}, {"patient", patient}, {"study", study}} {
		if p.v == "" || strings.ContainsAny(p.v, `/\-`) || p.v == "." || p.v == ".." {
			return "", fmt.Errorf("store: %s %q must be non-empty and contain no '/', '\\' or '-'", p.name, p.v)
		}
	}
	return filepath.Join(root, site+"_"+patient, study+Ext), nil
}

// Write writes s to path as one HDF5 file, atomically: a reader sees either
// the previous file or the complete new one. Every view must pass
// cine.Video.Validate; uint8 views are written as uint8 (the store format),
// float32 views as float32 (the reference toolkit's raw-intensity format).
// Views are written in canonical order.
func Write(path string, s *cine.Study) error { return write(path, s, WriteOptions{}, nil) }

// WriteOptions adjusts what Write stores.
type WriteOptions struct {
	// Channels, when > 1, stores single-channel views as that many
	// identical channels (the reference's 3), without copying them in memory.
	Channels int
}

// WriteSum is Write with options that also returns a checksum of the file's
// bytes, computed while writing (no second read): FileChecksum's value.
func WriteSum(path string, s *cine.Study, opt WriteOptions) (string, error) {
	h := crc32.New(castagnoli)
	if err := write(path, s, opt, h); err != nil {
		return "", err
	}
	return fmt.Sprintf("crc32c:%08x", h.Sum32()), nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// FileChecksum returns "crc32c:<hex>", the CRC-32C (Castagnoli) of a file's
// bytes — hardware-accelerated, so verifying a store costs little more than
// reading it. It detects truncation and corruption; it is not a
// cryptographic digest.
func FileChecksum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := crc32.New(castagnoli)
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return fmt.Sprintf("crc32c:%08x", h.Sum32()), nil
}

func write(path string, s *cine.Study, opt WriteOptions, h hash.Hash) error {
	names := s.ViewNames()
	if len(names) == 0 {
		return fmt.Errorf("store: write %s: study %q has no views", path, s.Key)
	}
	for _, name := range names {
		v := s.Views[name]
		if err := checkWritable(name, v); err != nil {
			return fmt.Errorf("store: write %s: %w", path, err)
		}
	}
	ds := make([]hdf5.DatasetSpec, 0, len(names))
	for _, name := range names {
		v := s.Views[name]
		sf := v.SliceFrames
		if sf == nil {
			sf = []int32{}
		}
		c := v.C
		repeat := 1
		if v.C == 1 && opt.Channels > 1 {
			c, repeat = opt.Channels, opt.Channels
		}
		spec := hdf5.DatasetSpec{
			Name:   string(name),
			Dims:   []uint64{uint64(c), uint64(v.F), uint64(v.H), uint64(v.W)},
			Data:   v.Pix,
			Repeat: repeat,
			Attrs: []hdf5.Int32Attr{
				{Name: "slice_frames", Values: sf},
				{Name: "total_images", Scalar: true, Values: []int32{v.TotalImages}},
			},
		}
		if v.Pix == nil {
			spec.Type = hdf5.Datatype{Class: hdf5.ClassFloat, Size: 4}
			spec.Data = make([]byte, 4*len(v.Float))
			for i, x := range v.Float {
				binary.LittleEndian.PutUint32(spec.Data[4*i:], math.Float32bits(x))
			}
		}
		ds = append(ds, spec)
	}
	err := fsutil.WriteAtomic(path, func(tmp string) error { return hdf5.WriteFileHash(tmp, ds, h) })
	if err != nil {
		return fmt.Errorf("store: write %s: %w", path, err)
	}
	return nil
}

func checkWritable(name cine.View, v *cine.Video) error {
	if v == nil {
		return fmt.Errorf("view %s is nil", name)
	}
	if err := v.Validate(); err != nil {
		return fmt.Errorf("view %s: %w", name, err)
	}
	if v.C != 1 && v.C != 3 {
		return fmt.Errorf("view %s: %d channels; the store holds 1 or 3", name, v.C)
	}
	if strings.ContainsAny(string(name), "/.") || name == "" {
		return fmt.Errorf("view name %q is not a valid dataset name", name)
	}
	return nil
}
