package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Task kinds.
const (
	Regression     = "regression"     // one continuous target (LVEF), ranked by MAE
	Classification = "classification" // one or more binary targets, ranked by macro AUROC
)

// Task states.
const (
	StateOpen   = "open"
	StateClosed = "closed"
)

// Task is one leaderboard: a hidden test set and how it is scored.
type Task struct {
	ID             int64
	Slug           string // URL name, [a-z0-9-]
	Title          string
	Kind           string   // Regression or Classification
	Targets        []string // label columns, in order
	Cutoff         float64  // regression: heart-failure outcome label < Cutoff
	DailyLimit     int      // submissions per team per UTC day
	PlotMinBin     int      // every plotted point aggregates at least this many studies
	PublicFraction float64
	Seed           int64
	State          string
	CreatedAt      time.Time
	ClosedAt       time.Time
}

// Study is one hidden test study: its key, which part of the leaderboard
// it counts for, and its label per target (NaN: unknown).
type Study struct {
	Key    string
	Public bool
	Labels []float64
}

const taskCols = "id, slug, title, kind, targets, cutoff, daily_limit, plot_min_bin, public_fraction, seed, state, created_at, closed_at"

func scanTask(r interface{ Scan(...any) error }) (*Task, error) {
	var t Task
	var targets string
	var created int64
	var closed sql.NullInt64
	if err := r.Scan(&t.ID, &t.Slug, &t.Title, &t.Kind, &targets, &t.Cutoff, &t.DailyLimit, &t.PlotMinBin,
		&t.PublicFraction, &t.Seed, &t.State, &created, &closed); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(targets), &t.Targets); err != nil {
		return nil, fmt.Errorf("db: task %s: targets: %w", t.Slug, err)
	}
	t.CreatedAt, t.ClosedAt = fromMicros(created), nullMicros(closed)
	return &t, nil
}

// CreateTask stores a task and its hidden studies in one transaction.
func (d *DB) CreateTask(ctx context.Context, t *Task, studies []Study) error {
	targets, _ := json.Marshal(t.Targets)
	t.State, t.CreatedAt = StateOpen, d.now().UTC()
	return d.tx(ctx, func(tx *sql.Tx) error {
		id, err := d.insert(ctx, tx, `INSERT INTO tasks (slug, title, kind, targets, cutoff, daily_limit, plot_min_bin,
			public_fraction, seed, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.Slug, t.Title, t.Kind, string(targets), t.Cutoff, t.DailyLimit, t.PlotMinBin, t.PublicFraction, t.Seed,
			t.State, micros(t.CreatedAt))
		if isUnique(err) {
			return fmt.Errorf("db: task %q: %w", t.Slug, ErrExists)
		}
		if err != nil {
			return fmt.Errorf("db: create task %q: %w", t.Slug, err)
		}
		t.ID = id
		for i, s := range studies {
			lab, err := json.Marshal(jsonFloats(s.Labels))
			if err != nil {
				return err
			}
			pub := 0
			if s.Public {
				pub = 1
			}
			if _, err := d.exec(ctx, tx, "INSERT INTO task_studies (task_id, ord, study_key, public, labels) VALUES (?, ?, ?, ?, ?)",
				id, i, s.Key, pub, string(lab)); err != nil {
				return fmt.Errorf("db: task %q: study %q: %w", t.Slug, s.Key, err)
			}
		}
		return nil
	})
}

// Task returns the task named slug.
func (d *DB) Task(ctx context.Context, slug string) (*Task, error) {
	t, err := scanTask(d.row(ctx, d.sql, "SELECT "+taskCols+" FROM tasks WHERE slug = ?", slug))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("db: task %q: %w", slug, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("db: task %q: %w", slug, err)
	}
	return t, nil
}

// TaskByID returns the task with this id.
func (d *DB) TaskByID(ctx context.Context, id int64) (*Task, error) {
	t, err := scanTask(d.row(ctx, d.sql, "SELECT "+taskCols+" FROM tasks WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("db: task %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("db: task %d: %w", id, err)
	}
	return t, nil
}

// Tasks lists every task, oldest first.
func (d *DB) Tasks(ctx context.Context) ([]*Task, error) {
	rows, err := d.query(ctx, d.sql, "SELECT "+taskCols+" FROM tasks ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("db: tasks: %w", err)
	}
	defer rows.Close()
	var out []*Task
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, fmt.Errorf("db: tasks: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Studies returns the hidden studies of a task in order, labels included:
// for scoring only, never for a response.
func (d *DB) Studies(ctx context.Context, taskID int64) ([]Study, error) {
	rows, err := d.query(ctx, d.sql, "SELECT study_key, public, labels FROM task_studies WHERE task_id = ? ORDER BY ord", taskID)
	if err != nil {
		return nil, fmt.Errorf("db: studies of task %d: %w", taskID, err)
	}
	defer rows.Close()
	var out []Study
	for rows.Next() {
		var s Study
		var pub int64
		var lab string
		if err := rows.Scan(&s.Key, &pub, &lab); err != nil {
			return nil, fmt.Errorf("db: studies of task %d: %w", taskID, err)
		}
		var jf []jsonFloat
		if err := json.Unmarshal([]byte(lab), &jf); err != nil {
			return nil, fmt.Errorf("db: task %d, study %s: labels: %w", taskID, s.Key, err)
		}
		s.Public, s.Labels = pub == 1, floats(jf)
		out = append(out, s)
	}
	return out, rows.Err()
}

// StudyKeys returns the keys of a task's studies in order (public
// information: the example submission lists them).
func (d *DB) StudyKeys(ctx context.Context, taskID int64) ([]string, error) {
	rows, err := d.query(ctx, d.sql, "SELECT study_key FROM task_studies WHERE task_id = ? ORDER BY ord", taskID)
	if err != nil {
		return nil, fmt.Errorf("db: study keys of task %d: %w", taskID, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// CloseTask closes a task: no more submissions, and the private ranking
// becomes visible.
func (d *DB) CloseTask(ctx context.Context, slug string) error {
	res, err := d.exec(ctx, d.sql, "UPDATE tasks SET state = ?, closed_at = ? WHERE slug = ? AND state = ?",
		StateClosed, micros(d.now()), slug, StateOpen)
	if err != nil {
		return fmt.Errorf("db: close task %q: %w", slug, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		t, err := d.Task(ctx, slug)
		if err != nil {
			return err
		}
		if t.State == StateClosed {
			return fmt.Errorf("db: task %q: %w", slug, ErrClosed)
		}
	}
	return nil
}

// jsonFloat is a float64 that survives JSON as null when NaN.
type jsonFloat struct{ v float64 }

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	if f.v != f.v {
		return []byte("null"), nil
	}
	return json.Marshal(f.v)
}

func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		f.v = nan()
		return nil
	}
	return json.Unmarshal(b, &f.v)
}

func jsonFloats(v []float64) []jsonFloat {
	out := make([]jsonFloat, len(v))
	for i, x := range v {
		out[i].v = x
	}
	return out
}

func floats(v []jsonFloat) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = x.v
	}
	return out
}
