package dicom

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// jsonElement is one attribute of the DICOM JSON model (PS3.18 §F.2.2).
type jsonElement struct {
	VR           string            `json:"vr"`
	Value        []json.RawMessage `json:"Value"`
	InlineBinary string            `json:"InlineBinary"`
	BulkDataURI  string            `json:"BulkDataURI"`
}

// ReadJSON decodes the DICOM JSON model (PS3.18 Annex F) — what DICOMweb
// servers answer to QIDO-RS searches and WADO-RS metadata requests — into
// data sets: one per object of a JSON array, or one for a single object.
//
// Values are stored as an explicit VR little endian file would hold them
// (strings joined by '\', person names by their alphabetic, ideographic and
// phonetic groups joined by '=', IS and DS numbers in the server's own
// decimal text, binary VRs little endian, InlineBinary decoded), so every
// DataSet accessor, and File.Images, works as on a parsed file. Elements
// sent as a BulkDataURI (pixel data) are present with an empty value.
func ReadJSON(b []byte) ([]*DataSet, error) {
	b = bytes.TrimSpace(b)
	var objs []map[string]jsonElement
	if len(b) > 0 && b[0] == '{' {
		var o map[string]jsonElement
		if err := json.Unmarshal(b, &o); err != nil {
			return nil, fmt.Errorf("dicom: JSON: %w", err)
		}
		objs = append(objs, o)
	} else if err := json.Unmarshal(b, &objs); err != nil {
		return nil, fmt.Errorf("dicom: JSON: %w", err)
	}
	out := make([]*DataSet, len(objs))
	for i, o := range objs {
		ds, err := jsonDataSet(o, 0)
		if err != nil {
			return nil, fmt.Errorf("dicom: JSON object %d: %w", i, err)
		}
		out[i] = ds
	}
	return out, nil
}

func jsonDataSet(obj map[string]jsonElement, depth int) (*DataSet, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("sequences nest deeper than %d", maxDepth)
	}
	ds := &DataSet{order: binary.LittleEndian}
	for key, je := range obj {
		v, err := strconv.ParseUint(key, 16, 32)
		if err != nil || len(key) != 8 {
			return nil, fmt.Errorf("attribute key %q is not 8 hex digits", key)
		}
		t := Tag(v)
		e, err := jsonValue(t, je, depth)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", t, t.Keyword(), err)
		}
		ds.Elements = append(ds.Elements, e)
	}
	sort.Slice(ds.Elements, func(i, j int) bool { return ds.Elements[i].Tag < ds.Elements[j].Tag })
	return ds, nil
}

func jsonValue(t Tag, je jsonElement, depth int) (*Element, error) {
	vr := strings.ToUpper(je.VR)
	if vr == "" {
		vr = dictVR(t)
	}
	e := &Element{Tag: t, VR: vr}
	if je.InlineBinary != "" {
		b, err := base64.StdEncoding.DecodeString(je.InlineBinary)
		if err != nil {
			return nil, fmt.Errorf("InlineBinary: %w", err)
		}
		e.Value = b
		return e, nil
	}
	if je.BulkDataURI != "" || len(je.Value) == 0 {
		e.BulkDataURI = je.BulkDataURI
		return e, nil
	}
	var buf []byte
	le := binary.LittleEndian
	switch vr {
	case "SQ":
		for i, raw := range je.Value {
			var item map[string]jsonElement
			if err := json.Unmarshal(raw, &item); err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			ds, err := jsonDataSet(item, depth+1)
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			e.Items = append(e.Items, ds)
		}
		return e, nil
	case "US", "SS", "UL", "SL", "UV", "SV":
		for i, raw := range je.Value {
			var n json.Number
			if err := json.Unmarshal(raw, &n); err != nil {
				return nil, fmt.Errorf("value %d: want a number: %w", i, err)
			}
			x, err := strconv.ParseInt(n.String(), 10, 64)
			if err != nil {
				if vr != "UV" {
					return nil, fmt.Errorf("value %d: %w", i, err)
				}
				u, uerr := strconv.ParseUint(n.String(), 10, 64)
				if uerr != nil {
					return nil, fmt.Errorf("value %d: %w", i, uerr)
				}
				x = int64(u)
			}
			switch vr {
			case "US", "SS":
				buf = le.AppendUint16(buf, uint16(x))
			case "UL", "SL":
				buf = le.AppendUint32(buf, uint32(x))
			default:
				buf = le.AppendUint64(buf, uint64(x))
			}
		}
	case "FL", "FD":
		for i, raw := range je.Value {
			var f float64
			if err := json.Unmarshal(raw, &f); err != nil {
				// Non-finite values travel as strings ("NaN", "Infinity").
				var s string
				if json.Unmarshal(raw, &s) != nil {
					return nil, fmt.Errorf("value %d: want a number: %w", i, err)
				}
				if f, err = strconv.ParseFloat(s, 64); err != nil {
					return nil, fmt.Errorf("value %d: %w", i, err)
				}
			}
			if vr == "FL" {
				buf = le.AppendUint32(buf, math.Float32bits(float32(f)))
			} else {
				buf = le.AppendUint64(buf, math.Float64bits(f))
			}
		}
	case "AT":
		for i, raw := range je.Value {
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, fmt.Errorf("value %d: %w", i, err)
			}
			v, err := strconv.ParseUint(s, 16, 32)
			if err != nil {
				return nil, fmt.Errorf("value %d: tag %q: %w", i, s, err)
			}
			buf = le.AppendUint16(buf, uint16(v>>16))
			buf = le.AppendUint16(buf, uint16(v))
		}
	default:
		parts := make([]string, len(je.Value))
		for i, raw := range je.Value {
			s, err := jsonString(vr, raw)
			if err != nil {
				return nil, fmt.Errorf("value %d: %w", i, err)
			}
			parts[i] = s
		}
		buf = []byte(strings.Join(parts, `\`))
	}
	e.Value = buf
	return e, nil
}

// jsonString turns one value of a string VR into its DICOM text: null is
// empty, a number (IS, DS) keeps its decimal text, a person name joins its
// component groups with '='.
func jsonString(vr string, raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return "", nil
	case raw[0] == '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case raw[0] == '{':
		var pn struct{ Alphabetic, Ideographic, Phonetic string }
		if err := json.Unmarshal(raw, &pn); err != nil {
			return "", err
		}
		return strings.TrimRight(pn.Alphabetic+"="+pn.Ideographic+"="+pn.Phonetic, "="), nil
	default:
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", fmt.Errorf("%s value %s: %w", vr, raw, err)
		}
		return n.String(), nil
	}
}
