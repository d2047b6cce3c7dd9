package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/cmrfm/cmrfm/serve"
	"github.com/cmrfm/cmrfm/serve/db"
	"github.com/cmrfm/cmrfm/train/finetune"
)

// stageServe puts the finetune stage's test predictions on a throwaway
// leaderboard, as a consortium's `cmrfm serve` would: an SQLite database
// under serve/, a task built from the store's index.csv (test split, LVEF),
// a baseline team that predicts the train mean, and the demo team, whose
// predictions are uploaded through the web app's own API (in memory, no
// port opened) and scored by its queue. It prints the demo team's rank and
// the command and URL that show the leaderboard in a browser.
func stageServe(ctx context.Context, r *Run) (Result, error) {
	preds := ""
	for _, t := range r.tasks {
		if t.target == "lvef" {
			preds = t.preds
		}
	}
	if preds == "" || !fileExists(preds) {
		return Result{Summary: "skipped: no LVEF test predictions from the finetune stage", Skipped: true}, nil
	}
	idx, err := finetune.ReadIndex(r.Path("store"), "")
	if err != nil {
		return Result{}, err
	}
	var buf bytes.Buffer
	if err := idx.Write(&buf); err != nil {
		return Result{}, err
	}
	spec := serve.TaskSpec{Slug: "demo-lvef", Title: "Demo: LVEF on the phantom test split", Kind: db.Regression,
		Targets: []string{"lvef"}, PublicFraction: 1, Seed: r.Opts.Seed, PlotMinBin: 1}
	studies, err := serve.ReadTaskStudies(&buf, "index.csv", &spec)
	if err != nil {
		return Result{Summary: fmt.Sprintf("skipped: %v", err)}, nil
	}
	path := r.Path("serve", "leaderboard.db")
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		os.Remove(p) // a throwaway database, new each run
	}
	d, err := db.Open(ctx, "sqlite:"+path)
	if err != nil {
		return Result{}, err
	}
	defer d.Close()
	if _, err := serve.CreateTask(ctx, d, spec, studies); err != nil {
		return Result{}, err
	}
	s, err := serve.New(ctx, serve.Options{DB: d, IPRate: -1, TokenRate: -1, Log: r.Log})
	if err != nil {
		return Result{}, err
	}
	h := s.Handler()
	upload := func(team string, csv []byte) error {
		if _, err := serve.CreateTeam(ctx, d, team); err != nil {
			return err
		}
		tok, _, err := serve.IssueToken(ctx, d, team)
		if err != nil {
			return err
		}
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		w, _ := mw.CreateFormFile("file", "test_predictions.csv")
		w.Write(csv)
		mw.Close()
		req := httptest.NewRequestWithContext(ctx, "POST", "/api/tasks/demo-lvef/submissions", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusAccepted {
			return fmt.Errorf("demo: upload for %s: %d %s", team, rec.Code, rec.Body.String())
		}
		return nil
	}
	own, err := os.ReadFile(preds)
	if err != nil {
		return Result{}, err
	}
	mean, n := 0.0, 0
	for _, row := range idx.Filter("train") {
		if v, ok := row.Float("lvef"); ok {
			mean, n = mean+v, n+1
		}
	}
	var base bytes.Buffer
	base.WriteString("filenames,preds\n")
	for _, st := range studies {
		fmt.Fprintf(&base, "%s,%.3f\n", st.Key, mean/float64(max(n, 1)))
	}
	if err := upload("cmrfm demo", own); err != nil {
		return Result{Summary: fmt.Sprintf("skipped: %v", err)}, nil
	}
	if err := upload("baseline (train mean)", base.Bytes()); err != nil {
		return Result{}, err
	}
	for {
		did, err := s.ScoreNext(ctx)
		if err != nil {
			return Result{}, err
		}
		if !did {
			break
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, "GET", "/api/tasks/demo-lvef/leaderboard", nil))
	var bv serve.BoardView
	if err := json.Unmarshal(rec.Body.Bytes(), &bv); err != nil {
		return Result{}, fmt.Errorf("demo: leaderboard: %w", err)
	}
	sum := fmt.Sprintf("scored the test predictions on a throwaway leaderboard (%d studies)", len(studies))
	for _, row := range bv.Public {
		if row.Team == "cmrfm demo" {
			sum += fmt.Sprintf(": rank %d of %d, MAE %.2f", row.Rank, len(bv.Public), float64(row.Score))
		}
	}
	sum += fmt.Sprintf("; see it with `cmrfm serve --db sqlite:%s` and open http://localhost:8080/tasks/demo-lvef", path)
	return Result{Summary: sum, Outputs: []string{path}}, nil
}
