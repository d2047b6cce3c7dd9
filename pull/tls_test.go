package pull

import (
	"context"

	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cmrfm/cmrfm/dicomweb"
	"github.com/cmrfm/cmrfm/ingest"
	"github.com/cmrfm/cmrfm/internal/orthanctest"
	"github.com/cmrfm/cmrfm/phantom"
)

// TestTLSAndBearer: a server behind HTTPS with a private CA and bearer
// tokens (a Go TLS proxy in front of Orthanc; see internal/orthanctest for
// why). With the CA bundle and the token from a private file the pull
// completes; without the bundle it fails at once naming --ca-bundle; with a
// wrong token the server's 401 stops it.
func TestTLSAndBearer(t *testing.T) {
	fx := newFixture(t, 1)
	ca := orthanctest.NewCA(t)
	s := orthanctest.Start(t, orthanctest.Options{Users: map[string]string{"cmrfm": "s3cret"}, TLS: ca, BearerToken: "tok-1234"})
	fx.load(t, s)
	if !strings.HasPrefix(s.DICOMweb, "https://") {
		t.Fatalf("not HTTPS: %s", s.DICOMweb)
	}
	dir := t.TempDir()
	bundle := filepath.Join(dir, "ca.pem")
	os.WriteFile(bundle, ca.CAPEM, 0o644)
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte("tok-1234\n"), 0o600)
	auth, err := dicomweb.LoadAuth("bearer", tokenFile, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	uid := fx.cohort.Studies[0].StudyInstanceUID

	o := pullOptions(t, s, filepath.Join(dir, "pull"))
	o.Server.Auth, o.Server.CABundle = auth, bundle
	o.Studies = []string{uid}
	sum := mustRun(t, o)
	if sum.Complete != 1 {
		t.Fatalf("summary %+v", sum)
	}
	sameDigest(t, "over TLS", sopDigest(t, filepath.Join(o.Out, DICOMDir)), fx.wantSOPs(flatten(fx.used())))

	// No CA bundle: the certificate is not trusted, and that is not retried.
	o = pullOptions(t, s, filepath.Join(dir, "pull2"))
	o.Server.Auth, o.Studies = auth, []string{uid}
	o.Server.RetryWait = 5 * time.Second
	t0 := time.Now()
	_, err = Run(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "--ca-bundle") || dicomweb.Retryable(err) || time.Since(t0) > 4*time.Second {
		t.Fatalf("without the CA bundle: %v (after %s)", err, time.Since(t0))
	}

	// A wrong token.
	o = pullOptions(t, s, filepath.Join(dir, "pull3"))
	o.Server.Auth = dicomweb.Auth{Kind: "bearer", Token: "stolen"}
	o.Server.CABundle, o.Studies = bundle, []string{uid}
	if _, err = Run(context.Background(), o); !dicomweb.IsStatus(err, http.StatusUnauthorized) {
		t.Fatalf("wrong token: %v", err)
	}
}

// TestPullEnhancedMultiframe: studies stored as Enhanced MR multi-frame
// objects (one file per series; geometry and timing in per-frame functional
// groups of the WADO-RS metadata) are selected and ingested as ingest does
// from the exported files.
func TestPullEnhancedMultiframe(t *testing.T) {
	dir := t.TempDir()
	c, err := phantom.Generate(context.Background(), phantom.Options{Studies: 2, Out: dir, Seed: 9, Workers: 2, Matrix: 64, Frames: 8, MultiFrame: true})
	if err != nil {
		t.Fatal(err)
	}
	s := orthanctest.Start(t, orthanctest.Options{})
	s.UploadDir(filepath.Join(dir, "dicom"))
	o := pullOptions(t, s, filepath.Join(dir, "pull"))
	o.Studies = []string{c.Studies[0].StudyInstanceUID, c.Studies[1].StudyInstanceUID}
	o.Ingest = ingestConfig(filepath.Join(dir, "store-pull"))
	sum := mustRun(t, o)
	if sum.Ingested != 2 || sum.SeriesSkipped == 0 {
		t.Fatalf("summary %+v", sum)
	}
	ref := *ingestConfig(filepath.Join(dir, "store-export"))
	ref.Inputs = []string{filepath.Join(dir, "dicom")}
	if _, err := ingest.Run(context.Background(), ref, nil, nil); err != nil {
		t.Fatal(err)
	}
	sameDigest(t, "multi-frame store", storeDigest(t, o.Ingest.Out), storeDigest(t, ref.Out))
}
