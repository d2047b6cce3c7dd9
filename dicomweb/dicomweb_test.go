package dicomweb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestLoadAuth(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), mode)
		os.Chmod(p, mode)
		return p
	}
	env := map[string]string{EnvUser: "alice", EnvPassword: "pw:with:colons", EnvToken: "tok"}
	getenv := func(k string) string { return env[k] }
	none := func(string) string { return "" }
	for _, tc := range []struct {
		kind, file string
		getenv     func(string) string
		want       Auth
		err        string
	}{
		{kind: "", getenv: getenv, want: Auth{}},
		{kind: "basic", getenv: getenv, want: Auth{Kind: "basic", User: "alice", Password: "pw:with:colons"}},
		{kind: "bearer", getenv: getenv, want: Auth{Kind: "bearer", Token: "tok"}},
		{kind: "basic", file: file("b", "bob:secret:x\nignored\n", 0o600), getenv: none, want: Auth{Kind: "basic", User: "bob", Password: "secret:x"}},
		{kind: "bearer", file: file("t", "abc.def\r\n", 0o400), getenv: none, want: Auth{Kind: "bearer", Token: "abc.def"}},
		{kind: "basic", getenv: none, err: EnvUser},
		{kind: "bearer", getenv: none, err: EnvToken},
		{kind: "basic", file: file("open", "bob:x\n", 0o644), getenv: none, err: "readable by others (mode 0644)"},
		{kind: "basic", file: file("nocolon", "bob\n", 0o600), getenv: none, err: "want user:password"},
		{kind: "bearer", file: file("empty", "", 0o600), getenv: none, err: "is empty"},
		{kind: "digest", getenv: getenv, err: `auth "digest"`},
		{kind: "", file: file("x", "a:b", 0o600), getenv: getenv, err: "without --auth"},
	} {
		got, err := LoadAuth(tc.kind, tc.file, tc.getenv)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("LoadAuth(%q, %q): error %v, want %q", tc.kind, tc.file, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("LoadAuth(%q, %q) = %+v, %v; want %+v", tc.kind, tc.file, got, err, tc.want)
		}
	}
}

func TestScrub(t *testing.T) {
	in := "GET /studies/2.25.320619036858272139331148626333477251921/series/1.2.840.113619.2.1: dial tcp 127.0.0.1:8042: refused (v1.10.1)"
	want := "GET /studies/<uid>/series/<uid>: dial tcp 127.0.0.1:8042: refused (v1.10.1)"
	if got := Scrub(in); got != want {
		t.Errorf("Scrub:\n got %s\nwant %s", got, want)
	}
}

// The tests below use httptest servers: test doubles for server behaviours
// Orthanc cannot be made to show (stalling mid-answer, asking to retry
// later, breaking a multipart answer off). Everything else is tested
// against a real Orthanc in package pull.

func newTestClient(t *testing.T, url string) *Client {
	t.Helper()
	c, err := New(Options{URL: url, Retries: 2, RetryWait: 10 * time.Millisecond, StallTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestRetries: 503 and 429 (Retry-After) are retried until the answer
// comes; 404 is not retried; a server that keeps failing gives the last
// answer with the number of attempts.
func TestRetries(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k := n.Add(1)
		switch {
		case r.URL.Path == "/studies/9.9.9/instances":
			http.Error(w, "no such study 1.2.840.99.9", http.StatusNotFound)
		case r.URL.Path == "/studies/7.7.7/instances":
			http.Error(w, "down", http.StatusBadGateway)
		case k == 1:
			http.Error(w, "busy", http.StatusServiceUnavailable)
		case k == 2:
			w.Header().Set("Retry-After", "0")
			http.Error(w, "slow down", http.StatusTooManyRequests)
		default:
			w.Header().Set("Content-Type", "application/dicom+json")
			fmt.Fprint(w, `[{"00080018": {"vr": "UI", "Value": ["1.2.3.4"]}}]`)
		}
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL)
	ds, err := c.SearchInstances(context.Background(), "1.2.3")
	if err != nil || len(ds) != 1 || n.Load() != 3 {
		t.Fatalf("got %d results, %v after %d requests; want 1 after 3", len(ds), err, n.Load())
	}
	n.Store(10)
	_, err = c.SearchInstances(context.Background(), "9.9.9")
	if !IsStatus(err, http.StatusNotFound) || n.Load() != 11 || strings.Contains(err.Error(), "1.2.840.99.9") {
		t.Fatalf("404: %v after %d requests; want one request and no UID in the message", err, n.Load()-10)
	}
	n.Store(20)
	_, err = c.SearchInstances(context.Background(), "7.7.7")
	if !IsStatus(err, http.StatusBadGateway) || n.Load() != 23 || !strings.Contains(err.Error(), "after 3 attempts") {
		t.Fatalf("502: %v after %d requests; want 3", err, n.Load()-20)
	}
}

// TestStall: an answer that stops arriving is abandoned after the stall
// timeout and retried; a multipart answer that breaks off is reported as
// such, and a single instance is fetched again.
func TestStall(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k := n.Add(1)
		if strings.HasSuffix(r.URL.Path, "/metadata") {
			w.Header().Set("Content-Type", "application/dicom+json")
			if k == 1 {
				fmt.Fprint(w, `[{"00080018": `)
				w.(http.Flusher).Flush()
				<-r.Context().Done() // hang
				return
			}
			fmt.Fprint(w, `[{"00080018": {"vr": "UI", "Value": ["1.2.3.4"]}}]`)
			return
		}
		w.Header().Set("Content-Type", `multipart/related; type="application/dicom"; boundary=XX`)
		fmt.Fprint(w, "--XX\r\nContent-Type: application/dicom\r\n\r\nfirst\r\n--XX\r\nContent-Type: application/dicom\r\n\r\nsec")
		if k%2 == 0 { // every other answer breaks off in the second part
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
		fmt.Fprint(w, "ond\r\n--XX--\r\n")
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL)
	t0 := time.Now()
	ds, err := c.SeriesMetadata(context.Background(), "1.2.3", "4.5.6")
	if err != nil || len(ds) != 1 || n.Load() != 2 || time.Since(t0) < 300*time.Millisecond {
		t.Fatalf("stalled metadata: %v after %d requests in %s", err, n.Load(), time.Since(t0))
	}

	var parts []string
	collect := func(p Part) error {
		b, err := io.ReadAll(p)
		if err == nil {
			parts = append(parts, string(b))
		}
		return err
	}
	n.Store(1) // the next answer (k = 2) breaks off
	err = c.RetrieveSeries(context.Background(), "1.2.3", "4.5.6", collect)
	if !errors.Is(err, ErrPartStream) || !Retryable(err) || len(parts) != 1 || parts[0] != "first" {
		t.Fatalf("broken series: %v, parts %q", err, parts)
	}
	parts = nil
	n.Store(1)
	if err := c.RetrieveInstance(context.Background(), "1.2.3", "4.5.6", "7.8.9", collect); err != nil || n.Load() != 3 {
		t.Fatalf("instance: %v after %d requests", err, n.Load()-1)
	}
	if parts[len(parts)-2] != "first" || parts[len(parts)-1] != "second" {
		t.Fatalf("parts %q", parts)
	}
}
