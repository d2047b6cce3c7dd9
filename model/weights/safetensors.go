package weights

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
)

// Safetensors layout (https://github.com/huggingface/safetensors): an 8-byte
// little-endian header length N, N bytes of JSON
//
//	{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, …,
//	 "__metadata__": {"key": "value"}}
//
// then the tensor bytes, offsets relative to the end of the header.

type stEntry struct {
	DType       DType  `json:"dtype"`
	Shape       []int  `json:"shape"`
	DataOffsets [2]int `json:"data_offsets"`
}

// maxHeader bounds the JSON header a reader will accept (the format's own limit).
const maxHeader = 100 << 20

// ParseSafetensors decodes a whole safetensors file held in memory. Tensor
// data aliases buf.
func ParseSafetensors(buf []byte) (*Set, error) {
	if len(buf) < 8 {
		return nil, fmt.Errorf("safetensors: %d bytes, too short for a header", len(buf))
	}
	n := binary.LittleEndian.Uint64(buf)
	if n > maxHeader || n > uint64(len(buf)-8) {
		return nil, fmt.Errorf("safetensors: header length %d exceeds file size %d", n, len(buf))
	}
	hdr := buf[8 : 8+n]
	data := buf[8+n:]
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hdr, &raw); err != nil {
		return nil, fmt.Errorf("safetensors: header JSON: %w", err)
	}
	s := NewSet()
	s.Format = "safetensors"
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &s.Metadata); err != nil {
				return nil, fmt.Errorf("safetensors: __metadata__ must map strings to strings: %w", err)
			}
			continue
		}
		var e stEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, fmt.Errorf("safetensors: tensor %q: %w", name, err)
		}
		es := e.DType.Size()
		if es == 0 {
			return nil, fmt.Errorf("safetensors: tensor %q: unsupported dtype %q", name, e.DType)
		}
		numel, err := checkedElements(e.Shape)
		if err != nil {
			return nil, fmt.Errorf("safetensors: tensor %q: %w", name, err)
		}
		b, en := e.DataOffsets[0], e.DataOffsets[1]
		if b < 0 || en < b || en > len(data) {
			return nil, fmt.Errorf("safetensors: tensor %q: data offsets %v outside the %d data bytes", name, e.DataOffsets, len(data))
		}
		if want := numel * es; en-b != want {
			return nil, fmt.Errorf("safetensors: tensor %q: %d bytes for %s%v (want %d)", name, en-b, e.DType, e.Shape, want)
		}
		shape := e.Shape
		if shape == nil {
			shape = []int{}
		}
		s.Add(&Tensor{Name: name, DType: e.DType, Shape: shape, Data: data[b:en:en]})
	}
	return s, nil
}

// WriteSafetensors writes the set (tensors sorted by name) with metadata.
func WriteSafetensors(w io.Writer, s *Set) error {
	names := s.Names()
	hdr := map[string]any{}
	off := 0
	for _, name := range names {
		t := s.Tensors[name]
		if want := NumElements(t.Shape) * t.DType.Size(); want != len(t.Data) || want == 0 && t.DType.Size() == 0 {
			return fmt.Errorf("safetensors: tensor %q: %d bytes for %s%v", name, len(t.Data), t.DType, t.Shape)
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		hdr[name] = stEntry{DType: t.DType, Shape: shape, DataOffsets: [2]int{off, off + len(t.Data)}}
		off += len(t.Data)
	}
	if len(s.Metadata) > 0 {
		hdr["__metadata__"] = s.Metadata
	}
	h, err := json.Marshal(hdr)
	if err != nil {
		return fmt.Errorf("safetensors: header: %w", err)
	}
	if pad := (8 - len(h)%8) % 8; pad > 0 {
		h = append(h, bytes.Repeat([]byte{' '}, pad)...)
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(h)))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	if _, err := w.Write(h); err != nil {
		return err
	}
	for _, name := range names {
		if _, err := w.Write(s.Tensors[name].Data); err != nil {
			return err
		}
	}
	return nil
}

// dataSection returns the bytes after a safetensors header, for hashing.
func dataSection(buf []byte) []byte {
	n := binary.LittleEndian.Uint64(buf)
	return buf[8+n:]
}
