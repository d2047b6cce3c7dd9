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
