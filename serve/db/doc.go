// Package db is the leaderboard's storage: one schema, reached through
// database/sql, on either of two engines —
//
//   - SQLite through modernc.org/sqlite (pure Go, no cgo): one file, the
//     embedded default (DSN "sqlite:PATH"), opened in WAL mode with
//     synchronous=FULL, foreign keys on and every transaction BEGIN
//     IMMEDIATE, so writers queue instead of failing;
//   - PostgreSQL through github.com/jackc/pgx/v5 (DSN "postgres://…" or
//     "postgresql://…") for a group's server, several of which may share
//     one database.
//
// The schema is built by versioned migrations (migrations.go) that Open
// runs on start inside one transaction under a lock (PostgreSQL: an
// advisory lock; SQLite: the write lock), so servers starting together
// migrate once. Every statement is written once with '?' placeholders and
// rebound to $n for PostgreSQL; values only ever travel as parameters.
//
// Scoring is a job queue stored in the submissions table: a submission is
// accepted (committed) before the upload is answered, a worker claims it
// with a time-limited lease (FOR UPDATE SKIP LOCKED on PostgreSQL), and the
// result is written only by the lease holder, in one transaction that also
// counts the write (score_writes) — so a server killed while scoring loses
// nothing and a restarted one scores each submission exactly once.
package db
