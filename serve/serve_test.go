package serve

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/serve/db"
)

// TestSubmitAndScore: the whole flow through the API and the browser form,
// on both databases — accepted, queued, scored once, ranked, shown.
func TestSubmitAndScore(t *testing.T) {
	engines(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, Options{})
		a, b := e.team("Alpha"), e.team("Beta")
		st, body := e.submit("lvef", a, upload{"file", "preds.csv", e.c.lvefCSV(3, 1)})
		if st != http.StatusAccepted {
			t.Fatalf("submit: %d %s", st, body)
		}
		var resp SubmitResponse
		json.Unmarshal([]byte(body), &resp)
		if resp.ID == 0 || resp.Status != db.Queued {
			t.Fatalf("response %s", body)
		}
		// Before scoring: queued, no scores.
		if st, body := e.api("GET", resp.API, a, nil, ""); st != 200 || !strings.Contains(body, `"status": "queued"`) {
			t.Fatalf("before scoring: %d %s", st, body)
		}
		st, _ = e.submit("lvef", b, upload{"file", "worse.csv", e.c.lvefCSV(9, 2)})
		if st != http.StatusAccepted {
			t.Fatal(st)
		}
		// Beta also uploads through the browser form.
		br := e.browser()
		br.signin(b)
		csrf := br.csrf("/tasks/lvef/submit")
		if st, page := br.upload("lvef", csrf, upload{"file", "best.csv", e.c.lvefCSV(1, 3)}); st != 200 || !strings.Contains(page, "queued") {
			t.Fatalf("form upload: %d %s", st, page)
		}
		e.drain()
		subs, _ := e.db.Submissions(t.Context(), 0, 0, "")
		if len(subs) != 3 {
			t.Fatalf("%d submissions", len(subs))
		}
		for _, s := range subs {
			if s.Status != db.Done || s.ScoreWrites != 1 {
				t.Errorf("submission %d: %s, scored %d times (%s)", s.ID, s.Status, s.ScoreWrites, s.Error)
			}
		}
		st, body = e.api("GET", "/api/tasks/lvef/leaderboard", "", nil, "")
		var bv struct {
			Public []struct {
				Rank         int
				Team         string
				SubmissionID int64 `json:"submission_id"`
				Entries      int
				Score        float64
			}
			Private any
		}
		if err := json.Unmarshal([]byte(body), &bv); err != nil || st != 200 {
			t.Fatalf("leaderboard %d %s", st, body)
		}
		// Beta's best (the form upload, noise 1) leads; Alpha second; one row per team.
		if len(bv.Public) != 2 || bv.Public[0].Team != "Beta" || bv.Public[0].Entries != 2 || bv.Public[1].Team != "Alpha" ||
			!(bv.Public[0].Score < bv.Public[1].Score) || bv.Private != nil {
			t.Fatalf("leaderboard %s", body)
		}
		// The detail page shows the metrics and the figures.
		st, page := br.get(fmt.Sprintf("/submissions/%d", bv.Public[0].SubmissionID))
		if st != 200 || !strings.Contains(page, "MAE") || !strings.Contains(page, "bland_altman.svg") || strings.Contains(page, "Private part") {
			t.Fatalf("detail page %d", st)
		}
		st, svg := br.get(fmt.Sprintf("/submissions/%d/plots/public/bland_altman.svg", bv.Public[0].SubmissionID))
		if st != 200 || !strings.HasPrefix(strings.TrimSpace(svg), "<?xml") && !strings.HasPrefix(strings.TrimSpace(svg), "<svg") {
			t.Fatalf("svg %d %.80s", st, svg)
		}
		// Private part hidden while open, shown once closed.
		if st, _ := br.get(fmt.Sprintf("/submissions/%d/plots/private/bland_altman.svg", bv.Public[0].SubmissionID)); st != 404 {
			t.Fatalf("private figure while open: %d", st)
		}
		if err := e.db.CloseTask(t.Context(), "lvef"); err != nil {
			t.Fatal(err)
		}
		_, body = e.api("GET", "/api/tasks/lvef/leaderboard", "", nil, "")
		if !strings.Contains(body, `"private"`) {
			t.Fatalf("closed task shows no private ranking: %s", body)
		}
		if st, page := br.get("/tasks/lvef"); st != 200 || !strings.Contains(page, "Private leaderboard") {
			t.Fatal("closed board page")
		}
		if st, body := e.submit("lvef", a, upload{"file", "late.csv", e.c.lvefCSV(3, 1)}); st != http.StatusConflict {
			t.Fatalf("submission to a closed task: %d %s", st, body)
		}
	})
}

// TestClassificationBoard: two targets, per-label DeLong p against the
// leader; a copy of the leader's predictions reads as tied (p = 1).
func TestClassificationBoard(t *testing.T) {
	engines(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, Options{})
		a, b, c := e.team("A"), e.team("B"), e.team("C")
		good := e.c.dxCSV(0.6, 1)
		e.submit("dx", a, upload{"file", "a.csv", good})
		e.submit("dx", b, upload{"file", "b.csv", good})
		e.submit("dx", c, upload{"file", "c.csv", e.c.dxCSV(0, 9)})
		e.drain()
		_, body := e.api("GET", "/api/tasks/dx/leaderboard", "", nil, "")
		var bv BoardView
		if err := json.Unmarshal([]byte(body), &bv); err != nil {
			t.Fatal(err)
		}
		if len(bv.Public) != 3 {
			t.Fatalf("board %s", body)
		}
		r0, r1, r2 := bv.Public[0], bv.Public[1], bv.Public[2]
		if r0.Team != "A" || r1.Team != "B" || r1.Rank != 1 || !r1.Tied || float64(r1.P) != 1 {
			t.Fatalf("identical predictions: %+v %+v", r0, r1)
		}
		if r2.Team != "C" || r2.Tied || !(float64(r2.P) < 0.05) || len(r2.PerTarget) != 2 {
			t.Fatalf("random predictions vs leader: %+v", r2)
		}
	})
}

// TestValidation: every kind of bad upload is refused with a message that
// names the problem, and nothing is queued.
func TestValidation(t *testing.T) {
	e := newEnv(t, "sqlite:"+t.TempDir()+"/lb.db", Options{MaxUpload: 1 << 16})
	tok := e.team("A")
	good := string(e.c.lvefCSV(3, 1))
	lines := strings.Split(strings.TrimSpace(good), "\n")
	dx := string(e.c.dxCSV(0.5, 1))
	cases := []struct {
		name, task, body string
		status           int
		want             string
	}{
		{"unknown study", "lvef", good + "site_9999-x.h5,50,,,,,,,\n", 400, `study "site_9999-x.h5" is not in this task's test set`},
		{"missing studies", "lvef", strings.Join(lines[:len(lines)-3], "\n") + "\n", 400, "3 of the 60 test studies have no prediction"},
		{"duplicate", "lvef", good + lines[1] + "\n", 400, "is listed twice"},
		{"NaN", "lvef", strings.Replace(good, lines[2], strings.Split(lines[2], ",")[0]+",NaN,,,,,,,", 1), 400, `"NaN" is not finite`},
		{"Inf", "lvef", strings.Replace(good, lines[2], strings.Split(lines[2], ",")[0]+",+Inf,,,,,,,", 1), 400, "is not finite"},
		{"not a number", "lvef", strings.Replace(good, lines[2], strings.Split(lines[2], ",")[0]+",abc,,,,,,,", 1), 400, `"abc" is not a number`},
		{"wrong column", "lvef", strings.Replace(good, "preds", "prediction", 1), 400, `no column "preds"`},
		{"classification table for regression", "lvef", strings.Replace(good, "preds", "probs", 1), 400, `this is a regression task, so the table needs "preds"`},
		{"no filenames", "lvef", strings.Replace(good, "filenames", "study", 1), 400, `no column "filenames"`},
		{"probability > 1", "dx", strings.Replace(dx, ",0.", ",1.", 1), 400, "is not a probability in [0, 1]"},
		{"missing target", "dx", strings.ReplaceAll(dx, "probs_hcm", "other"), 400, "no predictions for target hcm"},
		{"empty", "lvef", "", 400, "the file is empty"},
		{"ragged rows", "lvef", good + "a,b\n", 400, "cells for"},
		{"too large", "lvef", strings.Repeat(good, 40), 413, "larger than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, body := e.submit(c.task, tok, upload{"file", "preds.csv", []byte(c.body)})
			var msg apiError
			json.Unmarshal([]byte(body), &msg)
			if st != c.status || !strings.Contains(msg.Error, c.want) || strings.Contains(msg.Error, "evaluate:") {
				t.Fatalf("status %d, body %s; want %d and %q", st, body, c.status, c.want)
			}
		})
	}
	// Several targets as one file per target, in fields named after them.
	var d1, d2 strings.Builder
	d1.WriteString("filenames,probs\n")
	d2.WriteString("filenames,probs\n")
	for i, k := range e.c.keys {
		fmt.Fprintf(&d1, "%s,%d\n", k, e.c.dcm[i])
		fmt.Fprintf(&d2, "%s,0.5\n", k)
	}
	if st, body := e.submit("dx", tok, upload{"dcm", "dcm.csv", []byte(d1.String())}, upload{"hcm", "hcm.csv", []byte(d2.String())}); st != 202 {
		t.Fatalf("per-target files: %d %s", st, body)
	}
	if n, _ := e.db.QueueCounts(t.Context()); n[db.Queued] != 1 {
		t.Fatalf("queue %v: refused uploads were queued", n)
	}
}

// TestDailyLimit: the per-team daily limit is enforced and named.
func TestDailyLimit(t *testing.T) {
	engines(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, Options{})
		ctx := t.Context()
		spec := TaskSpec{Slug: "small", Kind: db.Regression, Targets: []string{"lvef"}, DailyLimit: 2}
		st, _ := ReadTaskStudies(strings.NewReader(string(e.c.index)), "index.csv", &spec)
		if _, err := CreateTask(ctx, e.db, spec, st); err != nil {
			t.Fatal(err)
		}
		tok := e.team("A")
		for i := 0; i < 2; i++ {
			if st, body := e.submit("small", tok, upload{"file", "p.csv", e.c.lvefCSV(3, 1)}); st != 202 {
				t.Fatal(st, body)
			}
		}
		if st, body := e.submit("small", tok, upload{"file", "p.csv", e.c.lvefCSV(3, 1)}); st != 429 || !strings.Contains(body, "daily limit reached: 2 submissions") {
			t.Fatalf("third: %d %s", st, body)
		}
		// Another team has its own allowance.
		if st, _ := e.submit("small", e.team("B"), upload{"file", "p.csv", e.c.lvefCSV(3, 1)}); st != 202 {
			t.Fatal(st)
		}
	})
}
