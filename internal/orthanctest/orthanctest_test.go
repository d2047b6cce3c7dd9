package orthanctest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/cmrfm/cmrfm/phantom"
)

// TestServer starts Orthanc with TLS and authentication, loads a phantom
// study, and restarts it on the same storage.
func TestServer(t *testing.T) {
	dir := t.TempDir()
	c, err := phantom.Generate(context.Background(), phantom.Options{Studies: 1, Out: dir, Seed: 3, Matrix: 64, Frames: 8})
	if err != nil {
		t.Fatal(err)
	}
	ca := NewCA(t)
	s := Start(t, Options{Users: map[string]string{"u": "p"}, TLS: ca, BearerToken: "tok"})
	t0 := time.Now()
	n := s.UploadDir(filepath.Join(dir, "dicom"))
	t.Logf("uploaded %d files in %s", n, time.Since(t0))
	var st struct{ CountInstances int }
	s.must(http.MethodGet, "/statistics", nil, &st)
	if st.CountInstances != n {
		t.Fatalf("Orthanc holds %d instances, want %d", st.CountInstances, n)
	}
	s.Lookup(c.Studies[0].StudyInstanceUID)

	// Unauthenticated requests are refused.
	s.user = ""
	if code, _, err := s.Request(http.MethodGet, "/statistics", nil); err != nil || code != http.StatusUnauthorized {
		t.Fatalf("without credentials: status %d, %v; want 401", code, err)
	}
	s.user = "u"

	// The front proxy serves HTTPS that the test CA vouches for, and wants the token.
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.CAPEM)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	for _, tc := range []struct {
		auth string
		want int
	}{{"Bearer tok", 200}, {"Bearer nope", 401}, {"", 401}} {
		req, _ := http.NewRequest(http.MethodGet, s.DICOMweb+"/studies", nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("proxy with %q: status %d, want %d", tc.auth, resp.StatusCode, tc.want)
		}
	}
	if _, err := http.Get(s.DICOMweb + "/studies"); err == nil {
		t.Error("a client without the test CA trusted the proxy")
	}

	s.Restart()
	s.must(http.MethodGet, "/statistics", nil, &st)
	if st.CountInstances != n {
		t.Fatalf("after restart Orthanc holds %d instances, want %d", st.CountInstances, n)
	}
	s.Kill()
	if s.Running() {
		t.Fatal("still running after Kill")
	}
	if _, _, err := s.Request(http.MethodGet, "/system", nil); err == nil {
		t.Fatal("a killed server answered")
	}
}
