package dicom

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"io"
	"os"
)

// File is a parsed DICOM file.
type File struct {
	// Path is the file's path ("" when parsed from bytes).
	Path string
	// Meta is the file meta information (group 0002), possibly empty.
	Meta *DataSet
	// DataSet is the main data set.
	DataSet *DataSet
	// TransferSyntax of the data set and pixel data.
	TransferSyntax TransferSyntax
	// Size is the number of bytes parsed (after inflating a deflated data set).
	Size int
}

// maxDepth bounds sequence nesting; real files nest 4–6 deep.
const maxDepth = 32

// maxInflated bounds a deflated data set's inflated size.
const maxInflated = 1 << 30

// ReadFile reads and parses the DICOM file at path.
func ReadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{Path: path, Op: "parse", Frame: -1, Err: err}
	}
	return Parse(path, b)
}

// Parse parses a DICOM file held in b. The returned File's values are
// sub-slices of b, which must not be modified afterwards. path is used only in
// error messages and may be empty.
func Parse(path string, b []byte) (*File, error) {
	f := &File{Path: path}
	if err := f.parse(b); err != nil {
		return nil, &Error{Path: path, Op: "parse", TransferSyntax: f.TransferSyntax.UID, Frame: -1, Err: err}
	}
	return f, nil
}

func (f *File) parse(b []byte) error {
	if len(b) == 0 {
		return errf(ErrNotDICOM, "empty file")
	}
	pos := 0
	if len(b) >= 132 && string(b[128:132]) == "DICM" {
		pos = 132
	} else if !plausibleStart(b) {
		return errf(ErrNotDICOM, "no DICM marker at byte 128 and no data set at byte 0 (%d bytes)", len(b))
	}
	// File meta information: explicit VR little endian, group 0002.
	p := &parser{buf: b, order: binary.LittleEndian, explicit: true}
	meta := &DataSet{order: binary.LittleEndian}
	metaEnd := pos
	if pos+2 <= len(b) && binary.LittleEndian.Uint16(b[pos:]) == 0x0002 {
		p.explicit = looksExplicit(b, pos)
		for pos+4 <= len(b) && binary.LittleEndian.Uint16(b[pos:]) == 0x0002 {
			e, next, err := p.element(pos, len(b), 0)
			if err != nil {
				return fmt.Errorf("file meta information: %w", err)
			}
			meta.Elements = append(meta.Elements, e)
			pos = next
		}
		metaEnd = pos
	}
	f.Meta = meta
	uid := meta.String(TagTransferSyntaxUID)
	switch {
	case uid != "":
		f.TransferSyntax = transferSyntaxFor(uid)
	case metaEnd < len(b) && looksExplicit(b, metaEnd):
		f.TransferSyntax = transferSyntaxes[ExplicitVRLittleEndian]
	default:
		f.TransferSyntax = transferSyntaxes[ImplicitVRLittleEndian]
	}
	body := b[metaEnd:]
	base := metaEnd
	if f.TransferSyntax.Deflated {
		inflated, err := inflate(body)
		if err != nil {
			return err
		}
		body, base = inflated, 0
	}
	p = &parser{buf: body, order: f.TransferSyntax.ByteOrder(), explicit: !f.TransferSyntax.Implicit, base: base}
	ds, _, err := p.dataSet(0, len(body), 0, false)
	if err != nil {
		return err
	}
	f.DataSet = ds
	f.Size = len(b)
	if f.TransferSyntax.Deflated {
		f.Size = metaEnd + len(body)
	}
	if len(ds.Elements) == 0 && len(meta.Elements) == 0 {
		return errf(ErrNotDICOM, "no elements")
	}
	return nil
}

func inflate(b []byte) ([]byte, error) {
	r := flate.NewReader(bytes.NewReader(b))
	defer r.Close()
	var out bytes.Buffer
	n, err := io.Copy(&out, io.LimitReader(r, maxInflated+1))
	if err != nil {
		return nil, errf(ErrMalformed, "deflated data set: %v", err)
	}
	if n > maxInflated {
		return nil, errf(ErrTooLarge, "deflated data set inflates beyond %d bytes", maxInflated)
	}
	return out.Bytes(), nil
}

// plausibleStart reports whether b starts with a group 0002 or 0008 element,
// as files written without a preamble do.
func plausibleStart(b []byte) bool {
	if len(b) < 8 {
		return false
	}
	g := binary.LittleEndian.Uint16(b)
	return g == 0x0002 || g == 0x0008
}

// looksExplicit reports whether the element at pos has two upper-case VR
// letters after its tag.
func looksExplicit(b []byte, pos int) bool {
	if pos+6 > len(b) {
		return false
	}
	return isVRByte(b[pos+4]) && isVRByte(b[pos+5])
}

func isVRByte(c byte) bool { return c >= 'A' && c <= 'Z' }

// longVR lists the explicit VRs with a 2-byte reserved field and a 4-byte length.
func longVR(vr string) bool {
	switch vr {
	case "OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV":
		return true
	}
	return false
}

type parser struct {
	buf      []byte
	order    binary.ByteOrder
	explicit bool
	base     int // offset of buf[0] in the file, for Element.Offset
}

// dataSet parses elements in buf[pos:end]. With inItem, an Item
// Delimitation ends it (undefined-length item) and its end offset is returned.
func (p *parser) dataSet(pos, end, depth int, inItem bool) (*DataSet, int, error) {
	if depth > maxDepth {
		return nil, 0, errf(ErrMalformed, "sequences nested deeper than %d", maxDepth)
	}
	ds := &DataSet{order: p.order}
	for pos < end {
		if end-pos < 4 {
			if !inItem && allZero(p.buf[pos:end]) {
				return ds, end, nil // trailing padding bytes
			}
			return nil, 0, errf(ErrTruncated, "%d stray bytes at offset %d", end-pos, p.base+pos)
		}
		t := p.tag(pos)
		if t == tagItemDelimitation {
			if !inItem {
				return nil, 0, errf(ErrMalformed, "item delimiter outside an item at offset %d", p.base+pos)
			}
			if end-pos < 8 {
				return nil, 0, errf(ErrTruncated, "item delimiter at offset %d", p.base+pos)
			}
			return ds, pos + 8, nil
		}
		if t.Group() == 0xFFFE {
			return nil, 0, errf(ErrMalformed, "unexpected %s at offset %d", t, p.base+pos)
		}
		e, next, err := p.element(pos, end, depth)
		if err != nil {
			return nil, 0, err
		}
		ds.Elements = append(ds.Elements, e)
		pos = next
	}
	if inItem {
		return nil, 0, errf(ErrTruncated, "undefined-length item ends without an item delimiter")
	}
	return ds, pos, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func (p *parser) tag(pos int) Tag {
	return NewTag(p.order.Uint16(p.buf[pos:]), p.order.Uint16(p.buf[pos+2:]))
}

// element parses one element at pos (which must have ≥4 bytes before end)
// and returns it with the offset just past it.
func (p *parser) element(pos, end, depth int) (*Element, int, error) {
	start := pos
	if end-pos < 8 {
		return nil, 0, errf(ErrTruncated, "element header at offset %d", p.base+pos)
	}
	t := p.tag(pos)
	pos += 4
	var vr string
	var length uint32
	if p.explicit {
		vr = string(p.buf[pos : pos+2])
		if !isVRByte(vr[0]) || !isVRByte(vr[1]) {
			return nil, 0, errf(ErrMalformed, "element %s at offset %d has invalid VR %q", t, p.base+start, vr)
		}
		if longVR(vr) {
			if end-pos < 8 {
				return nil, 0, errf(ErrTruncated, "element %s header at offset %d", t, p.base+start)
			}
			length = p.order.Uint32(p.buf[pos+4:])
			pos += 8
		} else {
			length = uint32(p.order.Uint16(p.buf[pos+2:]))
			pos += 4
		}
	} else {
		length = p.order.Uint32(p.buf[pos:])
		pos += 4
		vr = dictVR(t)
		if t == TagPixelData {
			vr = "OW"
		}
	}
	e := &Element{Tag: t, VR: vr, Offset: p.base + start}
	if length == undefinedLength {
		e.UndefinedLength = true
		switch {
		case t == TagPixelData:
			next, err := p.encapsulated(e, pos, end)
			return e, next, err
		case vr == "SQ" || vr == "UN" || !p.explicit:
			// UN of undefined length is a sequence in implicit VR LE (PS3.5 §6.2.2).
			sub := p
			if vr == "UN" && p.explicit {
				sub = &parser{buf: p.buf, order: binary.LittleEndian, explicit: false, base: p.base}
			}
			items, next, err := sub.sequence(pos, end, depth+1, -1)
			if err != nil {
				return nil, 0, fmt.Errorf("sequence %s: %w", t, err)
			}
			e.VR, e.Items = "SQ", items
			return e, next, nil
		default:
			return nil, 0, errf(ErrMalformed, "element %s (VR %s) at offset %d has undefined length", t, vr, p.base+start)
		}
	}
	if uint64(length) > uint64(end-pos) {
		return nil, 0, errf(ErrTruncated, "element %s at offset %d declares %d bytes, %d remain", t, p.base+start, length, end-pos)
	}
	valEnd := pos + int(length)
	if vr == "UN" && p.explicit {
		// Converters often write known attributes as UN; read them with the
		// dictionary's VR (as pydicom and dcmtk do). A UN sequence is
		// encoded in implicit VR little endian (PS3.5 §6.2.2).
		switch dv := dictVR(t); dv {
		case "UN":
		case "SQ":
			sub := &parser{buf: p.buf, order: binary.LittleEndian, explicit: false, base: p.base}
			items, next, err := sub.sequence(pos, valEnd, depth+1, valEnd)
			if err != nil {
				return nil, 0, fmt.Errorf("sequence %s: %w", t, err)
			}
			e.VR, e.Items = "SQ", items
			return e, next, nil
		default:
			e.VR = dv
		}
	}
	if vr == "SQ" {
		items, next, err := p.sequence(pos, valEnd, depth+1, valEnd)
		if err != nil {
			return nil, 0, fmt.Errorf("sequence %s: %w", t, err)
		}
		e.Items = items
		return e, next, nil
	}
	e.Value = p.buf[pos:valEnd:valEnd]
	return e, valEnd, nil
}

// sequence parses items from pos. limit ≥ 0 is the end of a defined-length
// sequence; limit < 0 means undefined length (ends at a Sequence Delimiter).
func (p *parser) sequence(pos, end, depth, limit int) ([]*DataSet, int, error) {
	var items []*DataSet
	for {
		if limit >= 0 && pos == limit {
			return items, pos, nil
		}
		if end-pos < 8 {
			return nil, 0, errf(ErrTruncated, "sequence at offset %d ends without a delimiter", p.base+pos)
		}
		t := p.tag(pos)
		length := p.order.Uint32(p.buf[pos+4:])
		switch t {
		case tagSequenceDelimitation:
			return items, pos + 8, nil
		case tagItem:
		default:
			return nil, 0, errf(ErrMalformed, "expected an item, found %s at offset %d", t, p.base+pos)
		}
		pos += 8
		if length == undefinedLength {
			ds, next, err := p.dataSet(pos, end, depth, true)
			if err != nil {
				return nil, 0, err
			}
			items, pos = append(items, ds), next
			continue
		}
		if uint64(length) > uint64(end-pos) {
			return nil, 0, errf(ErrTruncated, "item at offset %d declares %d bytes, %d remain", p.base+pos-8, length, end-pos)
		}
		ds, _, err := p.dataSet(pos, pos+int(length), depth, false)
		if err != nil {
			return nil, 0, err
		}
		items, pos = append(items, ds), pos+int(length)
	}
}

// encapsulated reads the items of encapsulated pixel data: the Basic Offset
// Table, the fragments, and the mandatory Sequence Delimitation Item.
func (p *parser) encapsulated(e *Element, pos, end int) (int, error) {
	first := true
	for {
		if end-pos < 8 {
			return 0, errf(ErrTruncated, "encapsulated pixel data ends after %d fragments without a sequence delimiter", len(e.Fragments))
		}
		t := p.tag(pos)
		length := p.order.Uint32(p.buf[pos+4:])
		if t == tagSequenceDelimitation {
			if first {
				return 0, errf(ErrMalformed, "encapsulated pixel data has no Basic Offset Table item")
			}
			return pos + 8, nil
		}
		if t != tagItem {
			return 0, errf(ErrMalformed, "encapsulated pixel data: expected an item, found %s at offset %d", t, p.base+pos)
		}
		pos += 8
		if length == undefinedLength || uint64(length) > uint64(end-pos) {
			return 0, errf(ErrTruncated, "pixel data fragment %d at offset %d declares %d bytes, %d remain", len(e.Fragments), p.base+pos-8, length, end-pos)
		}
		v := p.buf[pos : pos+int(length) : pos+int(length)]
		if first {
			e.BOT, first = v, false
		} else {
			e.Fragments = append(e.Fragments, v)
		}
		pos += int(length)
	}
}
