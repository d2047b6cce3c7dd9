package ingest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cmrfm/cmrfm/internal/fsutil"
)

// Pseudonymizer turns identifiers into salted, keyed hashes: the same
// (salt, identifier) always gives the same pseudonym, and without the salt a
// pseudonym cannot be linked back to the identifier by hashing guesses.
type Pseudonymizer struct{ key []byte }

// NewPseudonymizer uses salt as the HMAC key; it must be at least 16 bytes.
func NewPseudonymizer(salt []byte) (*Pseudonymizer, error) {
	if len(salt) < 16 {
		return nil, fmt.Errorf("de-identification salt is %d bytes; want at least 16", len(salt))
	}
	return &Pseudonymizer{key: append([]byte(nil), salt...)}, nil
}

// LoadOrCreateSalt reads a hex salt from path, or creates the file with 32
// random bytes (mode 0600) when it does not exist. Keep the file: the same
// salt is needed to give a re-scanned patient the same pseudonym.
func LoadOrCreateSalt(path string) ([]byte, bool, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		salt, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, false, fmt.Errorf("salt file %s: not hex: %w", path, err)
		}
		return salt, false, nil
	}
	if !os.IsNotExist(err) {
		return nil, false, fmt.Errorf("salt file: %w", err)
	}
	salt := make([]byte, 32)
	if _, err := rand.Read(salt); err != nil {
		return nil, false, err
	}
	err = fsutil.WriteFileAtomic(path, func(w io.Writer) error {
		_, err := io.WriteString(w, hex.EncodeToString(salt)+"\n")
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("salt file: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, false, err
	}
	return salt, true, nil
}

var b32 = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// Pseudonym returns a 16-character lowercase token for an identifier of the
// given kind ("patient", "study"); kinds are hashed apart so a PatientID and
// an AccessionNumber with the same text get different pseudonyms. The
// alphabet has no '-' or '_' (file names use both as separators).
func (p *Pseudonymizer) Pseudonym(kind, id string) string {
	m := hmac.New(sha256.New, p.key)
	io.WriteString(m, kind)
	m.Write([]byte{0})
	io.WriteString(m, strings.TrimSpace(id))
	return b32.EncodeToString(m.Sum(nil))[:16]
}
