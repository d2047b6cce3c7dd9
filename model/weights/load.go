package weights

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/cmrfm/cmrfm/internal/fsutil"
)

// Metadata keys of cmrfm's own checkpoints.
const (
	MetaFormat = "cmrfm.format" // "cmrfm-weights-v1"
	MetaArch   = "cmrfm.arch"   // architecture name, e.g. "mvit-b-16x4"
	MetaSHA256 = "cmrfm.sha256" // hex SHA-256 of the safetensors data section
	MetaSource = "cmrfm.source" // file the weights were converted from
	FormatV1   = "cmrfm-weights-v1"
)

// Load reads a weights file, choosing the parser from its content:
// safetensors, a PyTorch checkpoint (zip or legacy pickle), an .npz archive
// or a single .npy array. A safetensors file carrying cmrfm.sha256 metadata
// is verified against it.
func Load(path string) (*Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	head := make([]byte, 16)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	f.Close()
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")) || bytes.HasPrefix(head, []byte("PK\x05\x06")):
		// Zip: numpy.savez, or torch.save (read lazily: a Lightning
		// checkpoint can hold gigabytes of optimiser state).
		zr, err := zip.OpenReader(path)
		if err != nil {
			return nil, fmt.Errorf("weights %s: %w", path, err)
		}
		npz := isNPZ(&zr.Reader)
		zr.Close()
		if !npz {
			return ReadTorch(path)
		}
	case len(head) > 9 && head[8] == '{': // safetensors (its length prefix may start with 0x80)
	case len(head) > 1 && head[0] == 0x80: // a raw pickle: legacy torch.save
		return ReadTorch(path)
	}
	buf, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	switch {
	case bytes.HasPrefix(buf, []byte("\x93NUMPY")):
		name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		t, err := ParseNPY(name, buf)
		if err != nil {
			return nil, fmt.Errorf("weights %s: %w", path, err)
		}
		s := NewSet()
		s.Format = "npy"
		s.Add(t)
		return s, nil
	case bytes.HasPrefix(buf, []byte("PK")):
		s, err := ParseNPZ(bytes.NewReader(buf), int64(len(buf)))
		if err != nil {
			return nil, fmt.Errorf("weights %s: %w", path, err)
		}
		return s, nil
	case len(buf) > 9 && buf[8] == '{':
		s, err := ParseSafetensors(buf)
		if err != nil {
			return nil, fmt.Errorf("weights %s: %w", path, err)
		}
		if want, ok := s.Metadata[MetaSHA256]; ok {
			sum := sha256.Sum256(dataSection(buf))
			if got := hex.EncodeToString(sum[:]); got != want {
				return nil, fmt.Errorf("weights %s: checksum mismatch: data has sha256 %s, header records %s (file corrupted or edited)", path, got, want)
			}
		}
		return s, nil
	}
	return nil, fmt.Errorf("weights %s: unrecognised format (want .safetensors, .pt/.pth/.ckpt/.pyth, .npz or .npy)", path)
}

// isNPZ reports whether a zip archive holds only .npy members (numpy.savez);
// PyTorch archives hold data.pkl.
func isNPZ(zr *zip.Reader) bool {
	if len(zr.File) == 0 {
		return false
	}
	for _, f := range zr.File {
		if !strings.HasSuffix(f.Name, ".npy") {
			return false
		}
	}
	return true
}

// SaveCheckpoint writes s as a cmrfm checkpoint: safetensors whose metadata
// records the architecture and the SHA-256 of the tensor data, written
// atomically (temporary file, then rename).
func SaveCheckpoint(path, arch string, s *Set) error {
	meta := map[string]string{}
	for k, v := range s.Metadata {
		if !strings.HasPrefix(k, "cmrfm.") {
			meta[k] = v
		}
	}
	meta[MetaFormat] = FormatV1
	meta[MetaArch] = arch
	if src, ok := s.Metadata[MetaSource]; ok {
		meta[MetaSource] = src
	}
	h := sha256.New()
	for _, name := range s.Names() {
		h.Write(s.Tensors[name].Data)
	}
	meta[MetaSHA256] = hex.EncodeToString(h.Sum(nil))
	out := &Set{Tensors: s.Tensors, Metadata: meta}
	if err := fsutil.WriteFileAtomic(path, func(w io.Writer) error { return WriteSafetensors(w, out) }); err != nil {
		return fmt.Errorf("weights: checkpoint %s: %w", path, err)
	}
	return nil
}
