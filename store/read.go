package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/scigolib/hdf5"

	"github.com/cmrfm/cmrfm/cine"
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
	// Type is "uint8", "int16", "float32", … as far as the file says.
	Type string
	// Storage is "chunked (chunks=[…])", "contiguous (…)" or "compact (…)".
	Storage string
	// Attrs holds the dataset's numeric attributes as int64 or float64 slices.
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
	datasets []*hdf5.Dataset
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
	f = &File{Path: path, Size: st.Size(), h: h}
	for _, c := range h.Root().Children() {
		if d, ok := c.(*hdf5.Dataset); ok {
			f.datasets = append(f.datasets, d)
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

// recoverAs turns a panic inside the HDF5 decoder into an error naming the
// file: corrupt input must never crash a batch job.
func recoverAs(err *error, path, what string) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("store: %s: %w: %s failed inside the HDF5 decoder: %v", path, ErrFormat, what, r)
	}
}

// Close releases the file.
func (f *File) Close() error { return f.h.Close() }

// Names returns the root dataset names in file order.
func (f *File) Names() []string {
	out := make([]string, len(f.datasets))
	for i, d := range f.datasets {
		out[i] = d.Name()
	}
	return out
}

func (f *File) dataset(name string) (*hdf5.Dataset, error) {
	for _, d := range f.datasets {
		if d.Name() == name {
			return d, nil
		}
	}
	return nil, fmt.Errorf("store: %s: no dataset %q (has %s)", f.Path, name, strings.Join(f.Names(), ", "))
}

// Info describes every root dataset.
func (f *File) Info() []DatasetInfo {
	out := make([]DatasetInfo, 0, len(f.datasets))
	for _, d := range f.datasets {
		out = append(out, f.describe(d))
	}
	return out
}

var (
	reDims  = regexp.MustCompile(`(\d+)D array \[([\d x]+)\]`)
	reType  = regexp.MustCompile(`^Dataset: (\w+) \(size=(\d+) bytes\)`)
	reStore = regexp.MustCompile(`, ((?:chunked|contiguous|compact|virtual).*)$`)
)

// describe reads a dataset's metadata. scigolib exposes it only as a
// description string ("Dataset: integer (size=1 bytes), 4D array [3 50 224
// 224], chunked (chunks=[3 1 224 224 1])"), which this parses.
func (f *File) describe(d *hdf5.Dataset) (di DatasetInfo) {
	di.Name = d.Name()
	defer func() {
		if r := recover(); r != nil {
			di.Err = fmt.Errorf("store: %s: dataset %s: %w: metadata unreadable: %v", f.Path, di.Name, ErrFormat, r)
		}
	}()
	s, err := d.Info()
	if err != nil {
		di.Err = fmt.Errorf("store: %s: dataset %s: %w: %v", f.Path, di.Name, ErrFormat, err)
		return di
	}
	m := reType.FindStringSubmatch(s)
	if m == nil {
		di.Err = fmt.Errorf("store: %s: dataset %s: unsupported datatype (%s)", f.Path, di.Name, s)
		return di
	}
	size, _ := strconv.Atoi(m[2])
	switch m[1] {
	case "integer":
		// The description does not carry signedness; cine data is unsigned
		// in every store we know, and Read checks values on conversion.
		di.Type = "uint" + strconv.Itoa(8*size)
	case "float":
		di.Type = "float" + strconv.Itoa(8*size)
	default:
		di.Type = m[1]
	}
	if strings.Contains(s, "scalar") {
		di.Dims = []int{}
	} else if m := reDims.FindStringSubmatch(s); m != nil {
		for _, p := range strings.Fields(strings.ReplaceAll(m[2], "x", " ")) {
			n, _ := strconv.Atoi(p)
			di.Dims = append(di.Dims, n)
		}
	} else if strings.Contains(s, "1D array [") {
		var n int
		fmt.Sscanf(s[strings.Index(s, "1D array [")+10:], "%d", &n)
		di.Dims = []int{n}
	}
	if m := reStore.FindStringSubmatch(s); m != nil {
		di.Storage = m[1]
	}
	di.Layout = layoutFromDims(di.Dims)
	di.Attrs, di.Err = readAttrs(d)
	if di.Err != nil {
		di.Err = fmt.Errorf("store: %s: dataset %s: %w", f.Path, di.Name, di.Err)
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

// readAttrs decodes numeric attributes from their raw bytes (the library's
// own decoder ignores byte order and signedness).
func readAttrs(d *hdf5.Dataset) (map[string][]float64, error) {
	attrs, err := d.Attributes()
	if err != nil {
		return nil, fmt.Errorf("attributes: %w", err)
	}
	out := make(map[string][]float64, len(attrs))
	for _, a := range attrs {
		if a.Datatype == nil || a.Dataspace == nil {
			continue
		}
		n := 1
		for _, x := range a.Dataspace.Dimensions {
			n *= int(x)
		}
		if len(a.Dataspace.Dimensions) == 0 && len(a.Data) == 0 {
			n = 0
		}
		size := int(a.Datatype.Size)
		if size == 0 || len(a.Data) < n*size {
			return nil, fmt.Errorf("attribute %s: %d bytes for %d values of %d bytes", a.Name, len(a.Data), n, size)
		}
		var bo binary.ByteOrder = binary.LittleEndian
		if a.Datatype.ClassBitField&1 != 0 {
			bo = binary.BigEndian
		}
		signed := a.Datatype.ClassBitField&0x08 != 0
		vals := make([]float64, n)
		for i := range vals {
			b := a.Data[i*size : (i+1)*size]
			switch {
			case a.Datatype.Class == 0 && size == 1:
				vals[i] = pick(signed, float64(int8(b[0])), float64(b[0]))
			case a.Datatype.Class == 0 && size == 2:
				u := bo.Uint16(b)
				vals[i] = pick(signed, float64(int16(u)), float64(u))
			case a.Datatype.Class == 0 && size == 4:
				u := bo.Uint32(b)
				vals[i] = pick(signed, float64(int32(u)), float64(u))
			case a.Datatype.Class == 0 && size == 8:
				u := bo.Uint64(b)
				vals[i] = pick(signed, float64(int64(u)), float64(u))
			case a.Datatype.Class == 1 && size == 4:
				vals[i] = float64(math.Float32frombits(bo.Uint32(b)))
			case a.Datatype.Class == 1 && size == 8:
				vals[i] = math.Float64frombits(bo.Uint64(b))
			default:
				vals = nil
			}
			if vals == nil {
				break // not numeric: strings and compounds are not part of the format
			}
		}
		if vals != nil {
			out[a.Name] = vals
		}
	}
	return out, nil
}

func pick(signed bool, s, u float64) float64 {
	if signed {
		return s
	}
	return u
}

// ReadOptions controls how datasets become videos.
type ReadOptions struct {
	// Layout forces an axis order; the zero value detects it.
	Layout Layout
	// Views restricts reading to these dataset names (nil reads all).
	Views []cine.View
}

// ReadVideo reads one dataset as a cine.Video in (c, f, h, w) order.
func (f *File) ReadVideo(name string, layout Layout) (v *cine.Video, err error) {
	d, err := f.dataset(name)
	if err != nil {
		return nil, err
	}
	di := f.describe(d)
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
	if !strings.HasPrefix(di.Type, "uint") && !strings.HasPrefix(di.Type, "float") {
		return nil, fmt.Errorf("%s: %w: datatype %s is not numeric", where, ErrFormat, di.Type)
	}
	vals, err := readValues(d, f.Path, name)
	if err != nil {
		return nil, err
	}
	total := 1
	for _, n := range di.Dims {
		total *= n
	}
	if len(vals) != total {
		return nil, fmt.Errorf("%s: %w: %d values for shape %v", where, ErrFormat, len(vals), di.Dims)
	}
	if layout == LayoutAuto {
		layout = di.Layout
	}
	if len(di.Dims) == 3 {
		layout = LayoutFHW
	} else if layout == LayoutFHW {
		return nil, fmt.Errorf("%s: layout (f,h,w) forced on a 4-D dataset %v", where, di.Dims)
	}
	if layout == LayoutAuto {
		layout, err = layoutFromData(vals, di.Dims)
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
	if err := fill(v, vals, layout, di.Type == "uint8"); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
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

func readValues(d *hdf5.Dataset, path, name string) (vals []float64, err error) {
	defer recoverAs(&err, path, "reading dataset "+name)
	vals, err = d.Read()
	if err != nil {
		return nil, fmt.Errorf("store: %s: dataset %s: %w: %v", path, name, ErrFormat, err)
	}
	return vals, nil
}

// layoutFromData resolves a 4-D shape whose first two axes could both be the
// channel axis: the channel axis is the one whose planes are identical copies
// (the reference repeats grey frames to 3 channels).
func layoutFromData(vals []float64, dims []int) (Layout, error) {
	a, b, hw := dims[0], dims[1], dims[2]*dims[3]
	identical := func(channelFirst bool) bool {
		for i := 0; i < a; i++ {
			for j := 0; j < b; j++ {
				var c, off int
				if channelFirst {
					c, off = i, (i*b+j)*hw
				} else {
					c, off = j, (i*b+j)*hw
				}
				if c == 0 {
					continue
				}
				var ref int
				if channelFirst {
					ref = j * hw
				} else {
					ref = i * b * hw
				}
				for k := 0; k < hw; k++ {
					if vals[off+k] != vals[ref+k] {
						return false
					}
				}
			}
		}
		return true
	}
	cf, fc := identical(true), identical(false)
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

// fill copies vals, in the given layout, into v's (c,f,h,w) buffer.
func fill(v *cine.Video, vals []float64, layout Layout, asUint8 bool) error {
	n := v.Len()
	hw := v.H * v.W
	if asUint8 {
		v.Pix = make([]uint8, n)
	} else {
		v.Float = make([]float32, n)
	}
	for c := 0; c < v.C; c++ {
		for fr := 0; fr < v.F; fr++ {
			var src int
			switch layout {
			case LayoutFCHW:
				src = (fr*v.C + c) * hw
			case LayoutFHW:
				src = fr * hw
			default:
				src = (c*v.F + fr) * hw
			}
			dst := (c*v.F + fr) * hw
			if asUint8 {
				for k, x := range vals[src : src+hw] {
					if x < 0 || x > 255 || x != math.Trunc(x) {
						return fmt.Errorf("%w: value %v at (c=%d,f=%d) is not uint8", ErrFormat, x, c, fr)
					}
					v.Pix[dst+k] = uint8(x)
				}
			} else {
				for k, x := range vals[src : src+hw] {
					v.Float[dst+k] = float32(x)
				}
			}
		}
	}
	return nil
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
		names = names[:0:0]
		for _, v := range opts.Views {
			if _, err := f.dataset(string(v)); err == nil {
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
