package db

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cmrfm/cmrfm/serve/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// engines runs f against a fresh SQLite file and a fresh database on a real
// PostgreSQL server.
func engines(t *testing.T, f func(t *testing.T, dsn string)) {
	t.Run("sqlite", func(t *testing.T) { f(t, "sqlite:"+filepath.Join(t.TempDir(), "lb.db")) })
	t.Run("postgres", func(t *testing.T) { f(t, pgtest.DSN(t)) })
}

func open(t *testing.T, dsn string) *DB {
	t.Helper()
	d, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestParseDSN(t *testing.T) {
	for _, c := range []struct {
		in     string
		engine Engine
		target string
	}{
		{"sqlite:/tmp/x.db", SQLite, "/tmp/x.db"},
		{"sqlite:rel/x.db", SQLite, "rel/x.db"},
		{"lb.db", SQLite, "lb.db"},
		{"postgres://u@127.0.0.1:5432/lb", Postgres, "postgres://u@127.0.0.1:5432/lb"},
		{"postgresql://u@h/lb", Postgres, "postgresql://u@h/lb"},
	} {
		e, tg, err := ParseDSN(c.in)
		if err != nil || e != c.engine || tg != c.target {
			t.Errorf("ParseDSN(%q) = %v, %q, %v", c.in, e, tg, err)
		}
	}
	for _, bad := range []string{"", "sqlite:", "mysql://x", "x.txt"} {
		if _, _, err := ParseDSN(bad); err == nil {
			t.Errorf("ParseDSN(%q) accepted", bad)
		}
	}
}

func TestMigrationsIdempotent(t *testing.T) {
	engines(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		// Two servers starting together migrate once.
		var wg sync.WaitGroup
		errs := make([]error, 3)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d, err := Open(ctx, dsn)
				if err == nil {
					d.Close()
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		d := open(t, dsn)
		v, err := d.Versions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(v) != len(migrations) || v[len(v)-1] != SchemaVersion() {
			t.Fatalf("versions %v, want %d migrations up to %d", v, len(migrations), SchemaVersion())
		}
		// A database newer than this binary is refused.
		if _, err := d.exec(ctx, d.sql, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", 999, "future", 0); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(ctx, dsn); err == nil {
			t.Fatal("opened a database with a newer schema")
		}
	})
}

func newTask(t *testing.T, d *DB, slug string, limit int) *Task {
	t.Helper()
	tk := &Task{Slug: slug, Title: "LVEF", Kind: Regression, Targets: []string{"lvef"}, Cutoff: 40, DailyLimit: limit,
		PlotMinBin: 5, PublicFraction: 0.5, Seed: 1}
	studies := []Study{{"a-1.h5", true, []float64{55.5}}, {"a-2.h5", false, []float64{math.NaN()}}, {"b-1.h5", true, []float64{31}}}
	if err := d.CreateTask(context.Background(), tk, studies); err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestTasksTeamsTokens(t *testing.T) {
	engines(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		d := open(t, dsn)
		tk := newTask(t, d, "lvef", 3)
		if err := d.CreateTask(ctx, &Task{Slug: "lvef", Targets: []string{"x"}}, nil); !errors.Is(err, ErrExists) {
			t.Fatalf("duplicate task: %v", err)
		}
		got, err := d.Task(ctx, "lvef")
		if err != nil || got.ID != tk.ID || got.Targets[0] != "lvef" || got.State != StateOpen || got.DailyLimit != 3 {
			t.Fatalf("Task = %+v, %v", got, err)
		}
		st, err := d.Studies(ctx, tk.ID)
		if err != nil || len(st) != 3 || st[0].Key != "a-1.h5" || !st[0].Public || st[1].Public || !math.IsNaN(st[1].Labels[0]) || st[2].Labels[0] != 31 {
			t.Fatalf("Studies = %+v, %v", st, err)
		}
		if _, err := d.Task(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("missing task: %v", err)
		}
		team, err := d.CreateTeam(ctx, "Robert'); DROP TABLE teams;--")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.CreateTeam(ctx, team.Name); !errors.Is(err, ErrExists) {
			t.Fatalf("duplicate team: %v", err)
		}
		if got, err := d.Team(ctx, team.Name); err != nil || got.ID != team.ID {
			t.Fatalf("Team = %+v, %v", got, err)
		}
		tok, err := d.AddToken(ctx, team.ID, "pid1", "hash")
		if err != nil {
			t.Fatal(err)
		}
		if err := d.CreateSession(ctx, "sess", Session{TeamID: team.ID, TokenID: tok.ID, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if s, err := d.Session(ctx, "sess"); err != nil || s.TeamID != team.ID {
			t.Fatalf("Session = %+v, %v", s, err)
		}
		if err := d.RevokeToken(ctx, "pid1"); err != nil {
			t.Fatal(err)
		}
		if got, _ := d.TokenByPublicID(ctx, "pid1"); !got.Revoked() {
			t.Fatal("token not revoked")
		}
		if _, err := d.Session(ctx, "sess"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("session of a revoked token: %v", err)
		}
		v1, _ := d.Setting(ctx, "k", func() string { return "first" })
		v2, _ := d.Setting(ctx, "k", func() string { return "second" })
		if v1 != "first" || v2 != "first" {
			t.Fatalf("Setting = %q, %q", v1, v2)
		}
		if err := d.CloseTask(ctx, "lvef"); err != nil {
			t.Fatal(err)
		}
		if err := d.CloseTask(ctx, "lvef"); !errors.Is(err, ErrClosed) {
			t.Fatalf("second close: %v", err)
		}
	})
}

func TestQueue(t *testing.T) {
	engines(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		d := open(t, dsn)
		now := time.Date(2025, 3, 1, 23, 59, 0, 0, time.UTC)
		d.Now = func() time.Time { return now }
		tk := newTask(t, d, "lvef", 2)
		team, _ := d.CreateTeam(ctx, "A")
		sub := func() error {
			return d.Submit(ctx, &Submission{TaskID: tk.ID, TeamID: team.ID, Filename: "p.csv", UploadSHA256: "x", Preds: "[[1,2,3]]"}, tk.DailyLimit)
		}
		for i := 0; i < 2; i++ {
			if err := sub(); err != nil {
				t.Fatal(err)
			}
		}
		if err := sub(); !errors.Is(err, ErrDailyLimit) {
			t.Fatalf("third submission of the day: %v", err)
		}
		now = now.Add(2 * time.Minute) // next UTC day
		if err := sub(); err != nil {
			t.Fatalf("next day: %v", err)
		}
		c1, err := d.Claim(ctx, "w1", time.Minute, 3)
		if err != nil || c1 == nil || c1.Preds != "[[1,2,3]]" || c1.Status != Running || c1.Attempts != 1 {
			t.Fatalf("Claim = %+v, %v", c1, err)
		}
		c2, _ := d.Claim(ctx, "w2", time.Minute, 3)
		if c2 == nil || c2.ID == c1.ID {
			t.Fatalf("second claim %+v", c2)
		}
		// The lease expires: another worker takes c1 over; the first
		// worker's late result is refused.
		now = now.Add(2 * time.Minute)
		c3, _ := d.Claim(ctx, "w3", time.Minute, 3)
		if c3 == nil || c3.ID != c1.ID || c3.Attempts != 2 {
			t.Fatalf("reclaim = %+v", c3)
		}
		score := sql.NullFloat64{Float64: 4.5, Valid: true}
		if err := d.Complete(ctx, c1.ID, "w1", score, score, "{}", nil); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("late complete: %v", err)
		}
		if err := d.Complete(ctx, c1.ID, "w3", score, score, "{}", []Plot{{"public", "roc", "<svg/>"}}); err != nil {
			t.Fatal(err)
		}
		if err := d.Complete(ctx, c1.ID, "w3", score, score, "{}", nil); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("second complete: %v", err)
		}
		got, _ := d.Submission(ctx, c1.ID)
		if got.Status != Done || got.ScoreWrites != 1 || got.PublicScore.Float64 != 4.5 {
			t.Fatalf("after complete: %+v", got)
		}
		if svg, err := d.PlotSVG(ctx, c1.ID, "public", "roc"); err != nil || svg != "<svg/>" {
			t.Fatalf("PlotSVG = %q, %v", svg, err)
		}
		if err := d.Fail(ctx, c2.ID, "w2", "bad"); err != nil {
			t.Fatal(err)
		}
		// A job whose scorer keeps dying is failed after maxAttempts.
		c4, _ := d.Claim(ctx, "w4", time.Minute, 2)
		now = now.Add(2 * time.Minute)
		c5, _ := d.Claim(ctx, "w5", time.Minute, 2)
		if c5 == nil || c5.ID != c4.ID {
			t.Fatalf("reclaim %+v", c5)
		}
		now = now.Add(2 * time.Minute)
		if c6, err := d.Claim(ctx, "w6", time.Minute, 2); err != nil || c6 != nil {
			t.Fatalf("claim after max attempts = %+v, %v", c6, err)
		}
		if got, _ := d.Submission(ctx, c4.ID); got.Status != Failed || got.Error == "" {
			t.Fatalf("poison job: %+v", got)
		}
		counts, _ := d.QueueCounts(ctx)
		if counts[Done] != 1 || counts[Failed] != 2 {
			t.Fatalf("counts %v", counts)
		}
		// Boards only move forward.
		if ok, err := d.SaveBoard(ctx, tk.ID, 2, "b2"); !ok || err != nil {
			t.Fatal(ok, err)
		}
		if ok, _ := d.SaveBoard(ctx, tk.ID, 1, "b1"); ok {
			t.Fatal("older board overwrote a newer one")
		}
		if asOf, data, _ := d.Board(ctx, tk.ID); asOf != 2 || data != "b2" {
			t.Fatalf("board %d %q", asOf, data)
		}
		if err := d.CloseTask(ctx, "lvef"); err != nil {
			t.Fatal(err)
		}
		if err := sub(); !errors.Is(err, ErrClosed) {
			t.Fatalf("submission to a closed task: %v", err)
		}
	})
}

// TestConcurrentClaims: many workers, every job claimed exactly once.
func TestConcurrentClaims(t *testing.T) {
	engines(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		d := open(t, dsn)
		tk := newTask(t, d, "lvef", 1000)
		team, _ := d.CreateTeam(ctx, "A")
		const n = 40
		for i := 0; i < n; i++ {
			if err := d.Submit(ctx, &Submission{TaskID: tk.ID, TeamID: team.ID, Filename: "p.csv", Preds: "[]"}, 1000); err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		seen := map[int64]int{}
		var wg sync.WaitGroup
		for w := 0; w < 6; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				owner := string(rune('a' + w))
				for {
					s, err := d.Claim(ctx, owner, time.Minute, 3)
					if err != nil {
						t.Error(err)
						return
					}
					if s == nil {
						return
					}
					if err := d.Complete(ctx, s.ID, owner, sql.NullFloat64{}, sql.NullFloat64{}, "{}", nil); err != nil {
						t.Error(err)
					}
					mu.Lock()
					seen[s.ID]++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(seen) != n {
			t.Fatalf("%d of %d jobs claimed", len(seen), n)
		}
		for id, c := range seen {
			if c != 1 {
				t.Errorf("job %d claimed %d times", id, c)
			}
		}
	})
}
