package serve

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/cmrfm/cmrfm/serve/db"
	"github.com/cmrfm/cmrfm/serve/score"
)

// RunWorker scores queued submissions until ctx ends.
func (s *Server) RunWorker(ctx context.Context) {
	for ctx.Err() == nil {
		did, err := s.ScoreNext(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Error("scoring", "err", err)
		}
		if did {
			continue
		}
		select {
		case <-ctx.Done():
		case <-s.wake:
		case <-time.After(s.opt.Poll):
		}
	}
}

func (s *Server) notifyWorkers() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// scoreTask returns the scoring view of a task (hidden labels included),
// cached: a task's studies never change.
func (s *Server) scoreTask(ctx context.Context, t *db.Task) (*score.Task, error) {
	s.mu.Lock()
	st, ok := s.taskCache[t.ID]
	s.mu.Unlock()
	if ok {
		return st, nil
	}
	studies, err := s.db.Studies(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	st = &score.Task{Kind: t.Kind, Targets: t.Targets, Cutoff: t.Cutoff, MinBin: t.PlotMinBin}
	for _, x := range studies {
		st.Keys = append(st.Keys, x.Key)
		st.Public = append(st.Public, x.Public)
		st.Labels = append(st.Labels, x.Labels)
	}
	st.Index("") // build the index before sharing
	s.mu.Lock()
	s.taskCache[t.ID] = st
	s.mu.Unlock()
	return st, nil
}

// ScoreNext claims one queued submission, scores it and rebuilds its
// task's leaderboard; it reports whether there was one.
func (s *Server) ScoreNext(ctx context.Context) (bool, error) {
	sub, err := s.db.Claim(ctx, s.owner, s.opt.Lease, s.opt.MaxAttempts)
	if err != nil || sub == nil {
		return false, err
	}
	log := s.log.With("submission", sub.ID, "task", sub.TaskID, "team", sub.TeamID, "attempt", sub.Attempts)
	t0 := time.Now()
	res, figs, task, err := s.score(ctx, sub)
	if err != nil {
		log.Warn("submission failed", "err", err)
		if ferr := s.db.Fail(ctx, sub.ID, s.owner, err.Error()); ferr != nil {
			return true, ferr
		}
		return true, nil
	}
	body, err := json.Marshal(res)
	if err != nil {
		return true, fmt.Errorf("serve: submission %d: %w", sub.ID, err)
	}
	plots := make([]db.Plot, len(figs))
	for i, f := range figs {
		plots[i] = db.Plot{Part: f.Part, Name: f.Name, SVG: f.SVG}
	}
	var pub, priv sql.NullFloat64
	if res.Public != nil && res.Public.Score.Valid() {
		pub = sql.NullFloat64{Float64: float64(res.Public.Score), Valid: true}
	}
	if res.Private != nil && res.Private.Score.Valid() {
		priv = sql.NullFloat64{Float64: float64(res.Private.Score), Valid: true}
	}
	if err := s.db.Complete(ctx, sub.ID, s.owner, pub, priv, string(body), plots); err != nil {
		if errors.Is(err, db.ErrLeaseLost) {
			log.Warn("lease lost: another server scored this submission")
			return true, nil
		}
		return true, err
	}
	log.Info("scored", "public", pub.Float64, "elapsed", time.Since(t0).Round(time.Millisecond))
	if err := s.RebuildBoard(ctx, task); err != nil {
		return true, err
	}
	if s.opt.OnScored != nil {
		s.opt.OnScored(sub.ID)
	}
	return true, nil
}

func (s *Server) score(ctx context.Context, sub *db.Submission) (*score.Result, []score.Figure, *db.Task, error) {
	task, err := s.db.TaskByID(ctx, sub.TaskID)
	if err != nil {
		return nil, nil, nil, err
	}
	st, err := s.scoreTask(ctx, task)
	if err != nil {
		return nil, nil, nil, err
	}
	var p score.Preds
	if err := json.Unmarshal([]byte(sub.Preds), &p); err != nil {
		return nil, nil, nil, fmt.Errorf("stored predictions unreadable: %w", err)
	}
	if len(p) != len(st.Targets) {
		return nil, nil, nil, fmt.Errorf("stored predictions have %d targets, the task %d", len(p), len(st.Targets))
	}
	for _, col := range p {
		if len(col) != len(st.Keys) {
			return nil, nil, nil, fmt.Errorf("stored predictions have %d studies, the task %d", len(col), len(st.Keys))
		}
	}
	res, figs, err := score.Score(st, p)
	return res, figs, task, err
}

// RebuildBoard recomputes a task's leaderboard from its scored
// submissions and stores it unless a newer one is already stored.
func (s *Server) RebuildBoard(ctx context.Context, task *db.Task) error {
	st, err := s.scoreTask(ctx, task)
	if err != nil {
		return err
	}
	asOf, err := s.db.CountDone(ctx, task.ID)
	if err != nil {
		return err
	}
	subs, err := s.db.Submissions(ctx, 0, task.ID, db.Done)
	if err != nil {
		return err
	}
	names := map[int64]string{}
	entries := make([]score.Entry, 0, len(subs))
	for _, x := range subs {
		name, ok := names[x.TeamID]
		if !ok {
			t, err := s.db.TeamByID(ctx, x.TeamID)
			if err != nil {
				return err
			}
			name, names[x.TeamID] = t.Name, t.Name
		}
		e := score.Entry{SubmissionID: x.ID, TeamID: x.TeamID, Team: name, CreatedAt: x.CreatedAt,
			Public: score.Num(math.NaN()), Private: score.Num(math.NaN())}
		if x.PublicScore.Valid {
			e.Public = score.Num(x.PublicScore.Float64)
		}
		if x.PrivateScore.Valid {
			e.Private = score.Num(x.PrivateScore.Float64)
		}
		entries = append(entries, e)
	}
	board, err := score.Rank(st, entries, func(id int64) (score.Preds, error) {
		raw, err := s.db.Preds(ctx, id)
		if err != nil {
			return nil, err
		}
		var p score.Preds
		return p, json.Unmarshal([]byte(raw), &p)
	})
	if err != nil {
		return err
	}
	body, err := json.Marshal(board)
	if err != nil {
		return err
	}
	_, err = s.db.SaveBoard(ctx, task.ID, asOf, string(body))
	return err
}
