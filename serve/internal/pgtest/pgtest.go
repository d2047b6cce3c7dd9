// Package pgtest starts a throwaway PostgreSQL server for tests: initdb into
// a fresh temporary folder, postgres listening on a free loopback port, one
// new database per test, and everything removed when the test binary ends.
//
// PostgreSQL refuses to run as root, and tests (and CI) run as root here, so
// as root the server runs under the unprivileged "postgres" account that
// Debian's postgresql package creates (or "nobody" when there is none), with
// the data folder owned by that account; as a normal user it simply runs as
// that user. The binaries are found on PATH or under
// /usr/lib/postgresql/<version>/bin (Debian's layout, the newest version).
//
// A test package uses it as
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// and calls DSN(t) for a database of its own. On a machine without
// PostgreSQL the test skips with a loud message, or fails in CI
// (internal/testenv's rule).
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cmrfm/cmrfm/internal/testenv"
)

// Server is a running PostgreSQL server owned by the test binary.
type Server struct {
	Dir  string // temporary folder holding data/, the socket and the log
	Port int    // TCP port on 127.0.0.1
	User string // database superuser name
	cmd  *exec.Cmd
	done chan struct{}
}

var (
	mu      sync.Mutex
	shared  *Server
	started error
	once    bool
)

// Main runs the tests of a package and stops the shared server afterwards.
func Main(m *testing.M) int {
	code := m.Run()
	mu.Lock()
	defer mu.Unlock()
	if shared != nil {
		if err := shared.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
	}
	return code
}

// Shared returns the package's server, starting it on first use; it skips
// or fails the test when PostgreSQL cannot be started.
func Shared(t testing.TB) *Server {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if !once {
		once = true
		shared, started = Start(context.Background())
	}
	if started != nil {
		if testenv.InCI() {
			t.Fatalf("MISSING IN CI: PostgreSQL: %v", started)
		}
		t.Skipf("SKIPPED — PostgreSQL is not available (%v); CI runs this test", started)
	}
	return shared
}

// DSN creates a fresh database on the shared server and returns its URL.
func DSN(t testing.TB) string {
	t.Helper()
	s := Shared(t)
	dsn, err := s.CreateDB(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return dsn
}

// binDir finds the folder holding initdb and postgres.
func binDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("pgtest: no initdb on PATH or under /usr/lib/postgresql/*/bin (Debian package postgresql)")
}

func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// account returns the credentials to run PostgreSQL with: nil for the
// current user, an unprivileged account when running as root.
func account() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.Atoi(u.Uid)
		gid, err2 := strconv.Atoi(u.Gid)
		if err1 != nil || err2 != nil {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, errors.New("pgtest: running as root and no unprivileged account (postgres, nobody) to run PostgreSQL as")
}

// Start initialises and starts a new server.
func Start(ctx context.Context) (*Server, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	cred, err := account()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "cmrfm-pg-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: %w", err)
		}
	}
	s := &Server{Dir: dir, User: "cmrfm"}
	run := func(name string, args ...string) *exec.Cmd {
		c := exec.Command(filepath.Join(bin, name), args...)
		c.Dir = dir
		c.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
		if cred != nil {
			c.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		}
		return c
	}
	data := filepath.Join(dir, "data")
	if out, err := run("initdb", "-D", data, "-U", s.User, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: initdb: %v: %s", err, out)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		s.Port = port
		logf, err := os.Create(filepath.Join(dir, "postgres.log"))
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: %w", err)
		}
		c := run("postgres", "-D", data, "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-k", dir,
			"-c", "max_connections=200", "-c", "shared_buffers=32MB")
		c.Stdout, c.Stderr = logf, logf
		if err := c.Start(); err != nil {
			logf.Close()
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: start postgres: %w", err)
		}
		logf.Close()
		s.cmd, s.done = c, make(chan struct{})
		go func() { c.Wait(); close(s.done) }()
		if lastErr = s.waitReady(ctx, 30*time.Second); lastErr == nil {
			return s, nil
		}
		s.kill()
	}
	log, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
	os.RemoveAll(dir)
	return nil, fmt.Errorf("pgtest: postgres did not start: %v\n%s", lastErr, tail(string(log), 2000))
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// URL returns the connection URL of database name.
func (s *Server) URL(name string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", s.User, s.Port, name)
}

func (s *Server) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var err error
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return errors.New("postgres exited")
		default:
		}
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		var conn *pgx.Conn
		conn, err = pgx.Connect(cctx, s.URL("postgres"))
		if err == nil {
			conn.Close(cctx)
			cancel()
			return nil
		}
		cancel()
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("not ready after %v: %w", limit, err)
}

// CreateDB creates a database with a random name and returns its URL.
func (s *Server) CreateDB(ctx context.Context) (string, error) {
	b := make([]byte, 6)
	rand.Read(b)
	name := "t_" + hex.EncodeToString(b)
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return "", fmt.Errorf("pgtest: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("pgtest: create database: %w", err)
	}
	return s.URL(name), nil
}

func (s *Server) kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		<-s.done
	}
}

// Stop shuts the server down (fast shutdown) and removes its folder.
func (s *Server) Stop() error {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-s.done:
		case <-time.After(20 * time.Second):
			s.kill()
		}
	}
	if err := os.RemoveAll(s.Dir); err != nil && !strings.Contains(err.Error(), "no such file") {
		return fmt.Errorf("pgtest: %w", err)
	}
	return nil
}
