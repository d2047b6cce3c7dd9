package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Submission states.
const (
	Queued  = "queued"  // accepted, waiting for a worker
	Running = "running" // leased by a worker
	Done    = "done"    // scored
	Failed  = "failed"  // could not be scored (the error says why)
)

// Submission is one uploaded prediction file and its scoring state.
type Submission struct {
	ID, TaskID, TeamID int64
	CreatedAt          time.Time
	Filename           string // the upload's name, sanitised
	UploadSHA256       string
	UploadBytes        int64
	Preds              string // canonical predictions (JSON), set by Claim only
	Status             string
	Attempts           int
	LeaseOwner         string
	Error              string
	ScoredAt           time.Time
	ScoreWrites        int
	PublicScore        sql.NullFloat64
	PrivateScore       sql.NullFloat64
	Result             string // JSON of the scores (both parts)
}

const subCols = `id, task_id, team_id, created_at, filename, upload_sha256, upload_bytes, status, attempts,
	lease_owner, error, scored_at, score_writes, public_score, private_score, result`

func scanSub(r interface{ Scan(...any) error }) (*Submission, error) {
	var s Submission
	var created int64
	var owner, errMsg, result sql.NullString
	var scored sql.NullInt64
	if err := r.Scan(&s.ID, &s.TaskID, &s.TeamID, &created, &s.Filename, &s.UploadSHA256, &s.UploadBytes, &s.Status,
		&s.Attempts, &owner, &errMsg, &scored, &s.ScoreWrites, &s.PublicScore, &s.PrivateScore, &result); err != nil {
		return nil, err
	}
	s.CreatedAt, s.ScoredAt = fromMicros(created), nullMicros(scored)
	s.LeaseOwner, s.Error, s.Result = owner.String, errMsg.String, result.String
	return &s, nil
}

// Day is the UTC calendar day a daily limit counts in.
func Day(t time.Time) string { return t.UTC().Format("2006-01-02") }

// Submit accepts a validated submission into the scoring queue, unless the
// team already made dailyLimit submissions to the task today (UTC) or the
// task is closed. The returned submission is committed when Submit returns.
func (d *DB) Submit(ctx context.Context, s *Submission, dailyLimit int) error {
	now := d.now().UTC()
	s.CreatedAt, s.Status = now, Queued
	return d.tx(ctx, func(tx *sql.Tx) error {
		// Serialise a team's submissions so the daily count cannot race.
		var teamID int64
		if err := d.row(ctx, tx, "SELECT id FROM teams WHERE id = ?"+d.forUpdate(false), s.TeamID).Scan(&teamID); err != nil {
			return fmt.Errorf("db: submit: team %d: %w", s.TeamID, err)
		}
		var state string
		if err := d.row(ctx, tx, "SELECT state FROM tasks WHERE id = ?", s.TaskID).Scan(&state); err != nil {
			return fmt.Errorf("db: submit: task %d: %w", s.TaskID, err)
		}
		if state != StateOpen {
			return fmt.Errorf("db: submit: %w", ErrClosed)
		}
		var n int
		if err := d.row(ctx, tx, "SELECT COUNT(*) FROM submissions WHERE team_id = ? AND task_id = ? AND day = ?",
			s.TeamID, s.TaskID, Day(now)).Scan(&n); err != nil {
			return fmt.Errorf("db: submit: %w", err)
		}
		if n >= dailyLimit {
			return fmt.Errorf("db: submit: %d of %d today: %w", n, dailyLimit, ErrDailyLimit)
		}
		id, err := d.insert(ctx, tx, `INSERT INTO submissions (task_id, team_id, created_at, day, filename, upload_sha256,
			upload_bytes, preds, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			s.TaskID, s.TeamID, micros(now), Day(now), s.Filename, s.UploadSHA256, s.UploadBytes, s.Preds, Queued)
		if err != nil {
			return fmt.Errorf("db: submit: %w", err)
		}
		s.ID = id
		return nil
	})
}

// SubmissionsToday counts a team's submissions to a task on the current
// UTC day.
func (d *DB) SubmissionsToday(ctx context.Context, teamID, taskID int64) (int, error) {
	var n int
	err := d.row(ctx, d.sql, "SELECT COUNT(*) FROM submissions WHERE team_id = ? AND task_id = ? AND day = ?",
		teamID, taskID, Day(d.now())).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("db: %w", err)
	}
	return n, nil
}

// Submission returns one submission (without its predictions).
func (d *DB) Submission(ctx context.Context, id int64) (*Submission, error) {
	s, err := scanSub(d.row(ctx, d.sql, "SELECT "+subCols+" FROM submissions WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("db: submission %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("db: submission %d: %w", id, err)
	}
	return s, nil
}

// Preds returns a submission's canonical predictions.
func (d *DB) Preds(ctx context.Context, id int64) (string, error) {
	var p string
	err := d.row(ctx, d.sql, "SELECT preds FROM submissions WHERE id = ?", id).Scan(&p)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("db: submission %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("db: submission %d: %w", id, err)
	}
	return p, nil
}

// Submissions lists submissions, newest first, of one team (teamID > 0)
// and/or one task (taskID > 0), or with one status (status != "").
func (d *DB) Submissions(ctx context.Context, teamID, taskID int64, status string) ([]*Submission, error) {
	q := "SELECT " + subCols + " FROM submissions WHERE 1 = 1"
	var args []any
	if teamID > 0 {
		q += " AND team_id = ?"
		args = append(args, teamID)
	}
	if taskID > 0 {
		q += " AND task_id = ?"
		args = append(args, taskID)
	}
	if status != "" {
		q += " AND status = ?"
		args = append(args, status)
	}
	rows, err := d.query(ctx, d.sql, q+" ORDER BY id DESC", args...)
	if err != nil {
		return nil, fmt.Errorf("db: submissions: %w", err)
	}
	defer rows.Close()
	var out []*Submission
	for rows.Next() {
		s, err := scanSub(rows)
		if err != nil {
			return nil, fmt.Errorf("db: submissions: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Claim leases the oldest submission waiting to be scored (queued, or
// running with an expired lease: its server died) to owner until now +
// lease, and returns it with its predictions; nil when there is none. A
// submission whose lease expired maxAttempts times is marked failed instead
// (it keeps crashing its scorer).
func (d *DB) Claim(ctx context.Context, owner string, lease time.Duration, maxAttempts int) (*Submission, error) {
	var out *Submission
	err := d.tx(ctx, func(tx *sql.Tx) error {
		now := d.now()
		for {
			var id int64
			var attempts int
			var status string
			err := d.row(ctx, tx, `SELECT id, attempts, status FROM submissions
				WHERE status = ? OR (status = ? AND lease_until < ?) ORDER BY id LIMIT 1`+d.forUpdate(true),
				Queued, Running, micros(now)).Scan(&id, &attempts, &status)
			if errors.Is(err, sql.ErrNoRows) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("db: claim: %w", err)
			}
			if status == Running && attempts >= maxAttempts {
				msg := fmt.Sprintf("scoring did not finish in %d attempts (the scoring server stopped each time)", attempts)
				if _, err := d.exec(ctx, tx, "UPDATE submissions SET status = ?, error = ?, lease_owner = NULL, lease_until = NULL WHERE id = ?",
					Failed, msg, id); err != nil {
					return fmt.Errorf("db: claim: %w", err)
				}
				continue
			}
			if _, err := d.exec(ctx, tx, `UPDATE submissions SET status = ?, attempts = attempts + 1, lease_owner = ?, lease_until = ?
				WHERE id = ?`, Running, owner, micros(now.Add(lease)), id); err != nil {
				return fmt.Errorf("db: claim: %w", err)
			}
			s, err := scanSub(d.row(ctx, tx, "SELECT "+subCols+" FROM submissions WHERE id = ?", id))
			if err != nil {
				return fmt.Errorf("db: claim: %w", err)
			}
			if err := d.row(ctx, tx, "SELECT preds FROM submissions WHERE id = ?", id).Scan(&s.Preds); err != nil {
				return fmt.Errorf("db: claim: %w", err)
			}
			out = s
			return nil
		}
	})
	return out, err
}

// Plot is one rendered figure of a scored submission.
type Plot struct {
	Part string // "public" or "private"
	Name string
	SVG  string
}

// Complete stores a submission's scores, result and figures, but only while
// owner still holds its lease (ErrLeaseLost otherwise): one transaction,
// which also counts the write in score_writes.
func (d *DB) Complete(ctx context.Context, id int64, owner string, public, private sql.NullFloat64, result string, plots []Plot) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
		res, err := d.exec(ctx, tx, `UPDATE submissions SET status = ?, public_score = ?, private_score = ?, result = ?,
			scored_at = ?, score_writes = score_writes + 1, error = NULL, lease_owner = NULL, lease_until = NULL
			WHERE id = ? AND status = ? AND lease_owner = ?`,
			Done, public, private, result, micros(d.now()), id, Running, owner)
		if err != nil {
			return fmt.Errorf("db: complete submission %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("db: complete submission %d: %w", id, ErrLeaseLost)
		}
		for _, p := range plots {
			if _, err := d.exec(ctx, tx, "INSERT INTO plots (submission_id, part, name, svg) VALUES (?, ?, ?, ?)",
				id, p.Part, p.Name, p.SVG); err != nil {
				return fmt.Errorf("db: complete submission %d: plot %s: %w", id, p.Name, err)
			}
		}
		return nil
	})
}

// Fail marks a leased submission as impossible to score.
func (d *DB) Fail(ctx context.Context, id int64, owner, msg string) error {
	res, err := d.exec(ctx, d.sql, `UPDATE submissions SET status = ?, error = ?, lease_owner = NULL, lease_until = NULL
		WHERE id = ? AND status = ? AND lease_owner = ?`, Failed, msg, id, Running, owner)
	if err != nil {
		return fmt.Errorf("db: fail submission %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("db: fail submission %d: %w", id, ErrLeaseLost)
	}
	return nil
}

// PlotSVG returns one stored figure.
func (d *DB) PlotSVG(ctx context.Context, id int64, part, name string) (string, error) {
	var svg string
	err := d.row(ctx, d.sql, "SELECT svg FROM plots WHERE submission_id = ? AND part = ? AND name = ?", id, part, name).Scan(&svg)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("db: plot %s/%s of submission %d: %w", part, name, id, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("db: plot: %w", err)
	}
	return svg, nil
}

// PlotNames lists the figures of a submission's part.
func (d *DB) PlotNames(ctx context.Context, id int64, part string) ([]string, error) {
	rows, err := d.query(ctx, d.sql, "SELECT name FROM plots WHERE submission_id = ? AND part = ? ORDER BY name", id, part)
	if err != nil {
		return nil, fmt.Errorf("db: plots: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// QueueCounts counts submissions per status.
func (d *DB) QueueCounts(ctx context.Context) (map[string]int, error) {
	rows, err := d.query(ctx, d.sql, "SELECT status, COUNT(*) FROM submissions GROUP BY status")
	if err != nil {
		return nil, fmt.Errorf("db: queue: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = n
	}
	return out, rows.Err()
}

// CountDone counts a task's scored submissions: the version of its board.
func (d *DB) CountDone(ctx context.Context, taskID int64) (int64, error) {
	var n int64
	err := d.row(ctx, d.sql, "SELECT COUNT(*) FROM submissions WHERE task_id = ? AND status = ?", taskID, Done).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("db: %w", err)
	}
	return n, nil
}

// Board returns a task's stored leaderboard (JSON) and the number of scored
// submissions it was computed from; ErrNotFound before the first.
func (d *DB) Board(ctx context.Context, taskID int64) (asOf int64, data string, err error) {
	err = d.row(ctx, d.sql, "SELECT as_of, data FROM boards WHERE task_id = ?", taskID).Scan(&asOf, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", fmt.Errorf("db: board of task %d: %w", taskID, ErrNotFound)
	}
	if err != nil {
		return 0, "", fmt.Errorf("db: board of task %d: %w", taskID, err)
	}
	return asOf, data, nil
}

// SaveBoard stores a leaderboard computed from asOf scored submissions,
// unless a board from as many or more is already stored (a slower worker
// never overwrites a newer board). It reports whether it wrote.
func (d *DB) SaveBoard(ctx context.Context, taskID, asOf int64, data string) (bool, error) {
	res, err := d.exec(ctx, d.sql, `INSERT INTO boards (task_id, as_of, data, computed_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (task_id) DO UPDATE SET as_of = excluded.as_of, data = excluded.data, computed_at = excluded.computed_at
		WHERE boards.as_of < excluded.as_of`, taskID, asOf, data, micros(d.now()))
	if err != nil {
		return false, fmt.Errorf("db: save board of task %d: %w", taskID, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}
