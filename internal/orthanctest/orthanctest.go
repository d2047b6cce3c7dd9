package orthanctest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cmrfm/cmrfm/internal/testenv"
)

// Debian's paths; CMRFM_ORTHANC and CMRFM_ORTHANC_DICOMWEB override them.
const (
	debianOrthanc  = "/usr/sbin/Orthanc"
	debianDICOMweb = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"
)

// Options configures a server. The zero value is an unauthenticated plain
// HTTP server with an empty store.
type Options struct {
	// Users enables HTTP basic authentication with these user → password
	// pairs; nil leaves authentication off.
	Users map[string]string
	// TLS, when set, serves HTTPS with this certificate and key (see NewCA)
	// from the front proxy; URL and DICOMweb then point at the proxy.
	TLS *Cert
	// BearerToken, when set, makes the front proxy require
	// "Authorization: Bearer <token>" and forward with the basic-auth
	// credentials of Users to Orthanc.
	BearerToken string
	// StorageCacheBytes is Orthanc's in-memory cache of stored files; the
	// default 0 disables it, so a damaged storage file is seen at once.
	StorageCacheBytes int
}

// Server is a running (or stopped) Orthanc.
type Server struct {
	// URL is the server's root: Orthanc's http://127.0.0.1:PORT, or the
	// front proxy's (https://127.0.0.1:PORT2 with TLS).
	URL string
	// DICOMweb is the DICOMweb root, URL + "/dicom-web".
	DICOMweb string
	// Dir holds the configuration, the storage and the log.
	Dir string

	t       testing.TB
	opts    Options
	port    int
	orthanc string // Orthanc's own root URL (plain HTTP)
	user    string
	pass    string
	client  *http.Client

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Binaries returns the Orthanc executable and the DICOMweb plugin, skipping
// (user clone) or failing (CI) the test when either is missing.
func Binaries(t testing.TB) (orthanc, plugin string) {
	t.Helper()
	orthanc = os.Getenv("CMRFM_ORTHANC")
	if orthanc == "" {
		if p, err := exec.LookPath("Orthanc"); err == nil {
			orthanc = p
		} else {
			orthanc = debianOrthanc
		}
	}
	plugin = os.Getenv("CMRFM_ORTHANC_DICOMWEB")
	if plugin == "" {
		plugin = debianDICOMweb
	}
	for _, p := range []string{orthanc, plugin} {
		if _, err := os.Stat(p); err != nil {
			const what = "Orthanc with its DICOMweb plugin (Debian packages orthanc, orthanc-dicomweb)"
			if testenv.InCI() {
				t.Fatalf("MISSING IN CI: %s: %v", what, err)
			}
			t.Skipf("SKIPPED — %s is not installed (%v); CI runs this test", what, err)
		}
	}
	return orthanc, plugin
}

// Start starts Orthanc (and its front proxy when TLS or a bearer token is
// asked for) and waits until it answers; both are stopped when the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	orthanc, plugin := Binaries(t)
	s := &Server{Dir: t.TempDir(), t: t, opts: o}
	for u, p := range o.Users {
		s.user, s.pass = u, p
		break
	}
	var err error
	if s.port, err = freePort(); err != nil {
		t.Fatal(err)
	}
	s.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}, Timeout: 2 * time.Minute}
	s.orthanc = fmt.Sprintf("http://127.0.0.1:%d", s.port)
	s.URL = s.orthanc
	if err := s.writeConfig(plugin); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop() })
	s.start(orthanc)
	if o.TLS != nil || o.BearerToken != "" {
		s.startProxy()
	}
	s.DICOMweb = s.URL + "/dicom-web"
	return s
}

func (s *Server) writeConfig(plugin string) error {
	storage := filepath.Join(s.Dir, "storage")
	cfg := map[string]any{
		"Name":                    "cmrfm-test",
		"StorageDirectory":        storage,
		"IndexDirectory":          storage,
		"HttpPort":                s.port,
		"DicomServerEnabled":      false,
		"DicomPort":               0,
		"RemoteAccessAllowed":     false,
		"AuthenticationEnabled":   len(s.opts.Users) > 0,
		"RegisteredUsers":         s.opts.Users,
		"Plugins":                 []string{plugin},
		"MaximumStorageCacheSize": s.opts.StorageCacheBytes,
		"StorageCompression":      false,
		"SaveJobs":                false,
		"HttpThreadsCount":        16,
		"DicomWeb": map[string]any{
			"Enable": true, "Root": "/dicom-web/", "EnableWado": false,
			"Host": fmt.Sprintf("127.0.0.1:%d", s.port),
		},
	}
	if s.opts.Users == nil {
		cfg["RegisteredUsers"] = map[string]string{}
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(s.Dir, "orthanc.json"), b, 0o600)
}

func (s *Server) start(orthanc string) {
	s.t.Helper()
	logf, err := os.OpenFile(filepath.Join(s.Dir, "orthanc.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	cmd := exec.Command(orthanc, filepath.Join(s.Dir, "orthanc.json"))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = s.Dir
	if err := cmd.Start(); err != nil {
		logf.Close()
		s.t.Fatalf("orthanctest: start %s: %v", orthanc, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(done) }()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-done:
			s.t.Fatalf("orthanctest: Orthanc exited at start-up (%v):\n%s", cmd.ProcessState, s.LogTail(30))
		default:
		}
		if st, _, err := s.Request(http.MethodGet, "/system", nil); err == nil && st == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			s.Kill()
			s.t.Fatalf("orthanctest: Orthanc did not answer within 60 s:\n%s", s.LogTail(30))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop shuts Orthanc down gracefully (SIGTERM) and waits for it.
func (s *Server) Stop() { s.signal(syscall.SIGTERM) }

// Kill kills Orthanc with SIGKILL and waits for it: a server that dies
// mid-transfer.
func (s *Server) Kill() { s.signal(syscall.SIGKILL) }

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// Restart starts a stopped server again on the same port and storage.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	orthanc, _ := Binaries(s.t)
	s.start(orthanc)
}

// Running reports whether the Orthanc process is alive.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil
}

// User and Password are the first basic-auth credentials ("" without).
func (s *Server) User() string     { return s.user }
func (s *Server) Password() string { return s.pass }

// Request sends a request to Orthanc's REST API (path relative to its root;
// never through the front proxy) with the server's credentials and returns
// the status and body.
func (s *Server) Request(method, path string, body []byte) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, s.orthanc+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if s.user != "" {
		req.SetBasicAuth(s.user, s.pass)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// must sends a request that has to succeed and decodes its JSON answer.
func (s *Server) must(method, path string, body []byte, out any) {
	s.t.Helper()
	st, b, err := s.Request(method, path, body)
	if err != nil || st != http.StatusOK {
		s.t.Fatalf("orthanctest: %s %s: status %d, %v: %s", method, path, st, err, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatalf("orthanctest: %s %s: %v", method, path, err)
		}
	}
}

// Upload stores DICOM files (POST /instances) and returns their Orthanc ids.
func (s *Server) Upload(paths ...string) []string {
	s.t.Helper()
	ids := make([]string, len(paths))
	errs := make([]error, len(paths))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i, p := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			b, err := os.ReadFile(p)
			if err != nil {
				errs[i] = err
				return
			}
			st, body, err := s.Request(http.MethodPost, "/instances", b)
			if err != nil || st != http.StatusOK {
				errs[i] = fmt.Errorf("POST /instances %s: status %d, %v: %s", p, st, err, body)
				return
			}
			var r struct{ ID string }
			if err := json.Unmarshal(body, &r); err != nil {
				errs[i] = fmt.Errorf("POST /instances %s: %v", p, err)
				return
			}
			ids[i] = r.ID
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		s.t.Fatalf("orthanctest: %v", err)
	}
	return ids
}

// UploadDir stores every regular file under dir and returns how many.
func (s *Server) UploadDir(dir string) int {
	s.t.Helper()
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil {
		s.t.Fatal(err)
	}
	s.Upload(paths...)
	return len(paths)
}

// Lookup returns the Orthanc id of the resource with a DICOM UID
// (StudyInstanceUID, SeriesInstanceUID or SOPInstanceUID).
func (s *Server) Lookup(uid string) string {
	s.t.Helper()
	var r []struct{ ID string }
	s.must(http.MethodPost, "/tools/lookup", []byte(uid), &r)
	if len(r) != 1 {
		s.t.Fatalf("orthanctest: lookup %s: %d resources", uid, len(r))
	}
	return r[0].ID
}

// Delete removes a resource: kind is studies, series or instances.
func (s *Server) Delete(kind, id string) {
	s.t.Helper()
	s.must(http.MethodDelete, "/"+kind+"/"+id, nil, nil)
}

// Children lists the Orthanc ids below a resource: e.g. ("studies", id,
// "instances").
func (s *Server) Children(kind, id, child string) []string {
	s.t.Helper()
	var r []struct{ ID string }
	s.must(http.MethodGet, "/"+kind+"/"+id+"/"+child, nil, &r)
	out := make([]string, len(r))
	for i, x := range r {
		out[i] = x.ID
	}
	return out
}

// StorageFile is the path of the file Orthanc stores an instance in (with
// storage compression off, the DICOM file as uploaded).
func (s *Server) StorageFile(instanceID string) string {
	s.t.Helper()
	var info struct{ Uuid string }
	s.must(http.MethodGet, "/instances/"+instanceID+"/attachments/dicom/info", nil, &info)
	u := info.Uuid
	return filepath.Join(s.Dir, "storage", u[:2], u[2:4], u)
}

// LogTail returns the last n lines of Orthanc's log.
func (s *Server) LogTail(n int) string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "orthanc.log"))
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("orthanctest: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
