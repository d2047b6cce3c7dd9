package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cmrfm/cmrfm/cine"
	"github.com/cmrfm/cmrfm/internal/hdf5"
)

// Layout says how a 4-D dataset's axes are ordered.
type Layout int

const (
	// LayoutAuto tells the layouts apart by which axis has 1 or 3 entries,
	// and, when both could, by which axis holds identical channel planes.
	LayoutAuto Layout = iota
	// LayoutCFHW is (c, f, h, w): cmrfm and the paper-era toolkit.
	LayoutCFHW
	// LayoutFCHW is (f, c, h, w): the toolkit's later output.
	LayoutFCHW
	// LayoutFHW is (f, h, w): single-channel (the toolkit's --channels grey).
	LayoutFHW
)

func (l Layout) String() string {
	switch l {
	case LayoutCFHW:
		return "(c,f,h,w)"
	case LayoutFCHW:
		return "(f,c,h,w)"
	case LayoutFHW:
		return "(f,h,w)"
	}
	return "auto"
}

// ParseLayout parses "auto", "cfhw", "fchw" or "fhw".
func ParseLayout(s string) (Layout, error) {
	switch strings.ToLower(strings.Trim(s, "()")) {
	case "", "auto":
		return LayoutAuto, nil
	case "cfhw", "c,f,h,w":
		return LayoutCFHW, nil
	case "fchw", "f,c,h,w":
		return LayoutFCHW, nil
	case "fhw", "f,h,w":
		return LayoutFHW, nil
	}
	return 0, fmt.Errorf("layout %q: want auto, cfhw, fchw or fhw", s)
}

// ErrFormat is wrapped by errors about files that are not valid study files.
var ErrFormat = errors.New("not a valid study file")

// DatasetInfo describes one root dataset without reading its values.
type DatasetInfo struct {
	Name string
	// Dims is the stored shape, in the file's own axis order.
	Dims []int
	// Type is "uint8", "int16", "float32", …
	Type string
	// Storage is "contiguous", "compact" or "chunked […] deflate", etc.
	Storage string
	// Attrs holds the dataset's numeric attributes.
	Attrs map[string][]float64
	// Layout is the axis order Read will assume (resolved from Dims only;
	// ambiguous shapes are resolved on the data).
	Layout Layout
	// Err is set when the dataset cannot be described.
	Err error
}

// File is an open study file.
type File struct {
	Path     string
	Size     int64
	h        *hdf5.File
	datasets []hdf5.Member
}

// Open opens a study file and lists its root datasets. The error names the
// file and says what is wrong; corrupt files never panic.
func Open(path string) (f *File, err error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("store: %s: %w: is a directory", path, ErrFormat)
	}
	if st.Size() == 0 {
		return nil, fmt.Errorf("store: %s: %w: empty file", path, ErrFormat)
	}
	if err := checkSignature(path); err != nil {
		return nil, err
	}
	defer recoverAs(&err, path, "open")
	h, err := hdf5.Open(path)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w: %v", path, ErrFormat, err)
	}
	ms, err := h.Members()
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("store: %s: %w: %v", path, ErrFormat, err)
	}
	f = &File{Path: path, Size: st.Size(), h: h}
	for _, m := range ms {
		if m.Kind == hdf5.KindDataset {
			f.datasets = append(f.datasets, m)
		}
	}
	return f, nil
}

// checkSignature rejects files that do not start with the HDF5 signature, so
// that a text file or a DICOM named .h5 gets a plain message.
func checkSignature(path string) error {
	fh, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer fh.Close()
	var sig [8]byte
	if _, err := io.ReadFull(fh, sig[:]); err != nil {
		return fmt.Errorf("store: %s: %w: shorter than the 8-byte HDF5 signature", path, ErrFormat)
	}
	if string(sig[:]) != "\x89HDF\r\n\x1a\n" {
		return fmt.Errorf("store: %s: %w: no HDF5 signature (starts with %q)", path, ErrFormat, sig[:])
	}
	return nil
}

// recoverAs turns a panic while decoding into an error naming the file:
// corrupt input must never crash a batch job.
func recoverAs(err *error, path, what string) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("store: %s: %w: %s failed: %v", path, ErrFormat, what, r)
	}
}

// Close releases the file.
func (f *File) Close() error { return f.h.Close() }

// Names returns the root dataset names in byte order (h5py's order).
func (f *File) Names() []string {
	out := make([]string, len(f.datasets))
	for i, d := range f.datasets {
		out[i] = d.Name
	}
	return out
}

func (f *File) open(name string) (ds *hdf5.Dataset, err error) {
	defer recoverAs(&err, f.Path, "reading dataset "+name)
	for _, d := range f.datasets {
		if d.Name == name {
			ds, err := f.h.Dataset(name)
			if err != nil {
				return nil, fmt.Errorf("store: %s: %w: %v", f.Path, ErrFormat, err)
			}
			return ds, nil
		}
	}
	return nil, fmt.Errorf("store: %s: no dataset %q (has %s)", f.Path, name, strings.Join(f.Names(), ", "))
}

// Info describes every root dataset.
func (f *File) Info() []DatasetInfo {
	out := make([]DatasetInfo, 0, len(f.datasets))
	for _, d := range f.datasets {
		ds, err := f.open(d.Name)
		if err != nil {
			out = append(out, DatasetInfo{Name: d.Name, Err: err})
			continue
		}
		out = append(out, f.describe(ds))
	}
	return out
}

func (f *File) describe(ds *hdf5.Dataset) DatasetInfo {
	di := DatasetInfo{Name: ds.Name, Type: ds.Type.String(), Storage: ds.Storage, Attrs: map[string][]float64{}}
	if ds.Storage == "chunked" {
		di.Storage = fmt.Sprintf("chunked %v", ds.Chunk)
		if len(ds.Filters) > 0 {
			di.Storage += " " + strings.Join(ds.Filters, "+")
		}
	}
	for _, x := range ds.Dims {
		di.Dims = append(di.Dims, int(x))
	}
	di.Layout = layoutFromDims(di.Dims)
	for _, a := range ds.Attrs {
		if !a.Type.Numeric() {
			continue // string attributes are not part of the format
		}
		v, err := a.Float64s()
		if err != nil {
			di.Err = fmt.Errorf("store: %s: dataset %s: %w: %v", f.Path, ds.Name, ErrFormat, err)
			return di
		}
		di.Attrs[a.Name] = v
	}
	if err := ds.AttrErr(); err != nil {
		di.Err = fmt.Errorf("store: %s: %w", f.Path, err)
	}
	return di
}

// layoutFromDims guesses the axis order from the shape alone; LayoutAuto
// means the shape is ambiguous (both leading axes are 1 or 3) or unusable.
func layoutFromDims(d []int) Layout {
	switch len(d) {
	case 3:
		return LayoutFHW
	case 4:
		isC := func(n int) bool { return n == 1 || n == 3 }
		switch {
		case isC(d[0]) && !isC(d[1]):
			return LayoutCFHW
		case isC(d[1]) && !isC(d[0]):
			return LayoutFCHW
		}
	}
	return LayoutAuto
}

// ReadOptions controls how datasets become videos.
type ReadOptions struct {
	// Layout forces an axis order; the zero value detects it.
	Layout Layout
	// Views restricts reading to these dataset names (nil reads all).
	Views []cine.View
}

// ReadVideo reads one dataset as a cine.Video in (c, f, h, w) order: uint8
// datasets into Pix, every other numeric type into Float.
func (f *File) ReadVideo(name string, layout Layout) (v *cine.Video, err error) {
	ds, err := f.open(name)
	if err != nil {
		return nil, err
	}
	di := f.describe(ds)
	if di.Err != nil {
		return nil, di.Err
	}
	where := fmt.Sprintf("store: %s: dataset %s", f.Path, name)
	if len(di.Dims) != 3 && len(di.Dims) != 4 {
		return nil, fmt.Errorf("%s: %w: shape %v is not (c,f,h,w), (f,c,h,w) or (f,h,w)", where, ErrFormat, di.Dims)
	}
	for _, n := range di.Dims {
		if n <= 0 {
			return nil, fmt.Errorf("%s: %w: shape %v has an empty axis", where, ErrFormat, di.Dims)
		}
	}
	if !ds.Type.Numeric() {
		return nil, fmt.Errorf("%s: %w: datatype %s is not numeric", where, ErrFormat, di.Type)
	}
	asUint8 := di.Type == "uint8"
	var pix []uint8
	var fl []float32
	err = func() (err error) {
		defer recoverAs(&err, f.Path, "reading dataset "+name)
		if asUint8 {
			pix, err = ds.ReadRaw()
		} else {
			fl, err = ds.ReadFloat32()
		}
		return err
	}()
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", where, ErrFormat, err)
	}
	if len(di.Dims) == 3 {
		layout = LayoutFHW
	} else if layout == LayoutFHW {
		return nil, fmt.Errorf("%s: layout (f,h,w) forced on a 4-D dataset %v", where, di.Dims)
	}
	if layout == LayoutAuto {
		layout = di.Layout
	}
	if layout == LayoutAuto {
		if asUint8 {
			layout, err = layoutFromData(pix, di.Dims)
		} else {
			layout, err = layoutFromData(fl, di.Dims)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
	}
	v = &cine.Video{H: di.Dims[len(di.Dims)-2], W: di.Dims[len(di.Dims)-1]}
	switch layout {
	case LayoutCFHW:
		v.C, v.F = di.Dims[0], di.Dims[1]
	case LayoutFCHW:
		v.F, v.C = di.Dims[0], di.Dims[1]
	case LayoutFHW:
		v.C, v.F = 1, di.Dims[0]
	}
	if asUint8 {
		v.Pix = toCFHW(pix, v, layout)
	} else {
		v.Float = toCFHW(fl, v, layout)
	}
	v.TotalImages = int32(v.F)
	if ti, ok := di.Attrs["total_images"]; ok && len(ti) > 0 {
		v.TotalImages = int32(ti[0])
	}
	if sf, ok := di.Attrs["slice_frames"]; ok {
		v.SliceFrames = make([]int32, len(sf))
		for i, x := range sf {
			v.SliceFrames[i] = int32(x)
		}
	}
	if err := v.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return v, nil
}

// layoutFromData resolves a 4-D shape whose first two axes could both be the
// channel axis: the channel axis is the one whose planes are identical copies
// (the reference repeats grey frames to 3 channels).
func layoutFromData[T uint8 | float32](vals []T, dims []int) (Layout, error) {
	a, b, hw := dims[0], dims[1], dims[2]*dims[3]
	plane := func(i, j int) []T { o := (i*b + j) * hw; return vals[o : o+hw] }
	same := func(p, q []T) bool {
		for k := range p {
			if p[k] != q[k] {
				return false
			}
		}
		return true
	}
	// (c,f,h,w): plane (c, f) equals plane (0, f); (f,c,h,w): (f, c) equals (f, 0).
	cf, fc := true, true
	for i := 0; i < a && (cf || fc); i++ {
		for j := 0; j < b && (cf || fc); j++ {
			if cf && i > 0 && !same(plane(i, j), plane(0, j)) {
				cf = false
			}
			if fc && j > 0 && !same(plane(i, j), plane(i, 0)) {
				fc = false
			}
		}
	}
	switch {
	case a == 1 || (cf && !fc):
		return LayoutCFHW, nil
	case b == 1 || (fc && !cf):
		return LayoutFCHW, nil
	case cf && fc:
		return LayoutCFHW, nil // every plane identical: either order reads the same
	}
	return LayoutAuto, fmt.Errorf("cannot tell (c,f,h,w) from (f,c,h,w) for shape %v: set the layout explicitly", dims)
}

// toCFHW reorders vals, stored in the given layout, into v's (c,f,h,w)
// order, reusing vals when no reordering is needed.
func toCFHW[T uint8 | float32](vals []T, v *cine.Video, layout Layout) []T {
	if layout == LayoutCFHW || (layout == LayoutFHW && v.C == 1) || v.C == 1 && layout == LayoutFCHW {
		return vals
	}
	hw := v.H * v.W
	out := make([]T, v.Len())
	for c := 0; c < v.C; c++ {
		for fr := 0; fr < v.F; fr++ {
			src := (fr*v.C + c) * hw
			dst := (c*v.F + fr) * hw
			copy(out[dst:dst+hw], vals[src:src+hw])
		}
	}
	return out
}

// Read reads a whole study file. Dataset names become cine.Views as they are
// (canonical views, or raw SeriesDescription keys of reference stores).
func Read(path string, opts ReadOptions) (*cine.Study, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names := f.Names()
	if opts.Views != nil {
		have := map[string]bool{}
		for _, n := range names {
			have[n] = true
		}
		names = names[:0:0]
		for _, v := range opts.Views {
			if have[string(v)] {
				names = append(names, string(v))
			}
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("store: %s: %w: no cine datasets at the root", path, ErrFormat)
	}
	s := &cine.Study{Key: StudyKey(path), Views: make(map[cine.View]*cine.Video, len(names))}
	for _, name := range names {
		v, err := f.ReadVideo(name, opts.Layout)
		if err != nil {
			return nil, err
		}
		s.Views[cine.View(name)] = v
	}
	return s, nil
}

// StudyKey returns the reference loader's key for a study file:
// "<parent folder>-<file name>", e.g. "site_patient-study.h5".
func StudyKey(path string) string {
	path = strings.ReplaceAll(path, `\`, "/")
	parts := strings.Split(path, "/")
	if len(parts) < 2 {
		return parts[len(parts)-1]
	}
	return parts[len(parts)-2] + "-" + parts[len(parts)-1]
}
