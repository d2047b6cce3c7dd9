package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"
)

// Errors callers test for with errors.Is.
var (
	ErrNotFound   = errors.New("not found")
	ErrExists     = errors.New("already exists")
	ErrDailyLimit = errors.New("daily submission limit reached")
	ErrLeaseLost  = errors.New("scoring lease lost")
	ErrClosed     = errors.New("task is closed")
)

// Engine names a database engine.
type Engine string

// The two engines.
const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// DB is an open leaderboard database with its schema migrated.
type DB struct {
	sql    *sql.DB
	engine Engine
	// Now is the clock; nil means time.Now (tests move it).
	Now func() time.Time
}

// ParseDSN splits a --db value into an engine and the driver's DSN:
// "sqlite:PATH" (or a bare path ending in .db/.sqlite) and
// "postgres://…"/"postgresql://…".
func ParseDSN(dsn string) (Engine, string, error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return Postgres, dsn, nil
	case strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(dsn, "sqlite:")
		path = strings.TrimPrefix(path, "//")
		if path == "" {
			return "", "", fmt.Errorf("db: %q: no file after sqlite:", dsn)
		}
		return SQLite, path, nil
	case strings.HasSuffix(dsn, ".db"), strings.HasSuffix(dsn, ".sqlite"):
		return SQLite, dsn, nil
	}
	return "", "", fmt.Errorf("db: %q: want sqlite:PATH or postgres://USER@HOST:PORT/NAME", dsn)
}

// Open connects to the database named by dsn (see ParseDSN), creating an
// SQLite file if needed, and runs every pending migration.
func Open(ctx context.Context, dsn string) (*DB, error) {
	engine, target, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	var sdb *sql.DB
	switch engine {
	case SQLite:
		if dir := filepath.Dir(target); dir != "." {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, fmt.Errorf("db: %w", err)
			}
		}
		q := url.Values{}
		for _, p := range []string{"busy_timeout(20000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)"} {
			q.Add("_pragma", p)
		}
		q.Set("_txlock", "immediate")
		sdb, err = sql.Open("sqlite", "file:"+target+"?"+q.Encode())
		if err != nil {
			return nil, fmt.Errorf("db: sqlite %s: %w", target, err)
		}
		sdb.SetMaxOpenConns(8)
		sdb.SetMaxIdleConns(8)
	case Postgres:
		sdb, err = sql.Open("pgx", target)
		if err != nil {
			return nil, fmt.Errorf("db: postgres: %w", err)
		}
		sdb.SetMaxOpenConns(20)
		sdb.SetMaxIdleConns(20)
	}
	sdb.SetConnMaxIdleTime(5 * time.Minute)
	d := &DB{sql: sdb, engine: engine}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := sdb.PingContext(pctx); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("db: connect to %s: %w", redact(dsn), err)
	}
	if err := d.migrate(ctx); err != nil {
		sdb.Close()
		return nil, err
	}
	return d, nil
}

// redact hides a password in a URL for messages.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Engine reports which engine the database runs on.
func (d *DB) Engine() Engine { return d.engine }

// Close closes the connections.
func (d *DB) Close() error { return d.sql.Close() }

func (d *DB) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// rebind turns '?' placeholders into $1, $2, … for PostgreSQL. Statements
// hold no literal question marks.
func (d *DB) rebind(q string) string {
	if d.engine != Postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// forUpdate is the row-lock suffix of a SELECT inside a transaction
// (SQLite needs none: its transactions hold the write lock from BEGIN).
func (d *DB) forUpdate(skipLocked bool) string {
	if d.engine != Postgres {
		return ""
	}
	if skipLocked {
		return " FOR UPDATE SKIP LOCKED"
	}
	return " FOR UPDATE"
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (d *DB) exec(ctx context.Context, q querier, query string, args ...any) (sql.Result, error) {
	return q.ExecContext(ctx, d.rebind(query), args...)
}

func (d *DB) query(ctx context.Context, q querier, query string, args ...any) (*sql.Rows, error) {
	return q.QueryContext(ctx, d.rebind(query), args...)
}

func (d *DB) row(ctx context.Context, q querier, query string, args ...any) *sql.Row {
	return q.QueryRowContext(ctx, d.rebind(query), args...)
}

// insert runs an INSERT … RETURNING id (both engines support RETURNING).
func (d *DB) insert(ctx context.Context, q querier, query string, args ...any) (int64, error) {
	var id int64
	err := d.row(ctx, q, query+" RETURNING id", args...).Scan(&id)
	return id, err
}

// tx runs fn in a transaction, committing when it returns nil. SQLite
// transactions begin IMMEDIATE (the DSN's _txlock), so fn holds the write
// lock throughout.
func (d *DB) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("db: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("db: commit: %w", err)
	}
	return nil
}

// isUnique reports a unique-constraint violation on either engine.
func isUnique(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "UNIQUE constraint failed") || strings.Contains(s, "SQLSTATE 23505")
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func nullMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMicros(v.Int64)
}
