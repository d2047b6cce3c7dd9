package serve

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"

	"github.com/cmrfm/cmrfm/serve/db"
)

// Tokens look like cmrfm_<public id>_<secret>. The public id finds the row;
// only an argon2id hash of the secret is stored.
const tokenPrefix = "cmrfm_"

// argon2id parameters (RFC 9106 / OWASP's minimum: 19 MiB, 2 passes).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

var errBadToken = errors.New("invalid or revoked token")

func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func randomID(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// hashSecret returns the PHC string of argon2id(secret).
func hashSecret(secret string) string {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		panic(err)
	}
	key := argon2.IDKey([]byte(secret), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// verifySecret checks secret against a PHC argon2id string.
func verifySecret(phc, secret string) bool {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var v int
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || m > 256*1024 || t > 16 {
		return false
	}
	got := argon2.IDKey([]byte(secret), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// NewToken makes a token for a team and returns it with the row to store.
func NewToken() (token, publicID, hash string) {
	publicID = randomID(8)
	secret := randomString(32)
	return tokenPrefix + publicID + "_" + secret, publicID, hashSecret(secret)
}

func splitToken(tok string) (publicID, secret string, ok bool) {
	rest, ok := strings.CutPrefix(tok, tokenPrefix)
	if !ok {
		return "", "", false
	}
	publicID, secret, ok = strings.Cut(rest, "_")
	if !ok || len(publicID) != 16 || len(secret) < 16 || len(secret) > 128 {
		return "", "", false
	}
	return publicID, secret, true
}

// tokenVerifier checks tokens. argon2id is deliberately slow, so a token
// verified once is remembered (as a SHA-256 of its secret, in memory only)
// and later requests cost one SHA-256; the database row is still read on
// every request, so a revocation by another process takes effect at once.
type tokenVerifier struct {
	db   *db.DB
	mu   sync.Mutex
	ok   map[string][32]byte // public id → sha256(secret)
	slow chan struct{}       // bounds concurrent argon2id runs
}

func newTokenVerifier(d *db.DB) *tokenVerifier {
	return &tokenVerifier{db: d, ok: map[string][32]byte{}, slow: make(chan struct{}, 2)}
}

// verify returns the live token row of tok.
func (v *tokenVerifier) verify(ctx context.Context, tok string) (*db.Token, error) {
	pid, secret, ok := splitToken(strings.TrimSpace(tok))
	if !ok {
		return nil, errBadToken
	}
	row, err := v.db.TokenByPublicID(ctx, pid)
	if errors.Is(err, db.ErrNotFound) {
		return nil, errBadToken
	}
	if err != nil {
		return nil, err
	}
	if row.Revoked() {
		return nil, errBadToken
	}
	sum := sha256.Sum256([]byte(secret))
	v.mu.Lock()
	known, hit := v.ok[pid]
	v.mu.Unlock()
	if hit && subtle.ConstantTimeCompare(known[:], sum[:]) == 1 {
		return row, nil
	}
	select {
	case v.slow <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	good := verifySecret(row.Hash, secret)
	<-v.slow
	if !good {
		return nil, errBadToken
	}
	v.mu.Lock()
	if len(v.ok) > 100000 {
		clear(v.ok)
	}
	v.ok[pid] = sum
	v.mu.Unlock()
	return row, nil
}

// Cookies.
const (
	sessionCookie = "cmrfm_session"
	csrfCookie    = "cmrfm_csrf"
	csrfField     = "csrf"
)

func hashSession(id string) string {
	s := sha256.Sum256([]byte(id))
	return hex.EncodeToString(s[:])
}

// csrfToken derives the form token of a browser's CSRF cookie.
func (s *Server) csrfToken(cookie string) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte("csrf|" + cookie))
	return hex.EncodeToString(m.Sum(nil))
}

// ensureCSRF returns the form token for this browser, setting its CSRF
// cookie first if it has none.
func (s *Server) ensureCSRF(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 32 && len(c.Value) <= 64 {
		return s.csrfToken(c.Value)
	}
	v := randomString(32)
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: v, Path: "/", HttpOnly: true, Secure: s.opt.Secure,
		SameSite: http.SameSiteStrictMode})
	return s.csrfToken(v)
}

// checkCSRF verifies a form's token against the browser's CSRF cookie.
func (s *Server) checkCSRF(r *http.Request, formToken string) bool {
	c, err := r.Cookie(csrfCookie)
	if err != nil || formToken == "" {
		return false
	}
	return hmac.Equal([]byte(s.csrfToken(c.Value)), []byte(formToken))
}

// identity is who is asking: a team (by token or session) or nobody.
type identity struct {
	Team    *db.Team
	TokenID int64
	ViaAPI  bool // bearer token (no cookies involved)
}

// identify reads the Authorization header or the session cookie. A bad
// bearer token is an error (the client asked to be someone); a stale
// cookie is just anonymous.
func (s *Server) identify(r *http.Request) (*identity, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return nil, errBadToken
		}
		row, err := s.tokens.verify(r.Context(), tok)
		if err != nil {
			return nil, err
		}
		team, err := s.db.TeamByID(r.Context(), row.TeamID)
		if err != nil {
			return nil, err
		}
		return &identity{Team: team, TokenID: row.ID, ViaAPI: true}, nil
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil || len(c.Value) > 128 {
		return &identity{}, nil
	}
	sess, err := s.db.Session(r.Context(), hashSession(c.Value))
	if err != nil {
		return &identity{}, nil
	}
	team, err := s.db.TeamByID(r.Context(), sess.TeamID)
	if err != nil {
		return &identity{}, nil
	}
	return &identity{Team: team, TokenID: sess.TokenID}, nil
}
