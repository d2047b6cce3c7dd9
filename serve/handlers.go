package serve

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/cmrfm/cmrfm/serve/db"
	"github.com/cmrfm/cmrfm/serve/score"
)

//
// Rendering helpers.
//

func parsePages() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"num": func(v score.Num, digits int) string {
			if !v.Valid() {
				return "—"
			}
			return strconv.FormatFloat(float64(v), 'f', digits, 64)
		},
		"pval": func(v score.Num) string {
			switch {
			case !v.Valid():
				return "—"
			case v < 1e-4:
				return fmt.Sprintf("%.1e", float64(v))
			}
			return fmt.Sprintf("%.4f", float64(v))
		},
		"when": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.UTC().Format("2006-01-02 15:04 UTC")
		},
		"rowsOf": func(rows any, t TaskView) map[string]any {
			switch r := rows.(type) {
			case *[]score.Row:
				rows = *r
			}
			return map[string]any{"Rows": rows, "Task": t}
		},
		"partOf": func(title string, p *score.Part, v *SubmissionView) map[string]any {
			return map[string]any{"Title": title, "Part": p, "Sub": v}
		},
	}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("serve: templates: %w", err)
	}
	pages := map[string]*template.Template{}
	for _, p := range []string{"index", "board", "about", "submit", "submission", "team", "signin", "error"} {
		t, err := template.Must(layout.Clone()).ParseFS(assets, "templates/"+p+".html")
		if err != nil {
			return nil, fmt.Errorf("serve: template %s: %w", p, err)
		}
		pages[p] = t
	}
	return pages, nil
}

// page is what every template gets.
type page struct {
	Title   string
	Team    *db.Team // signed-in team, or nil
	CSRF    string
	Refresh int // seconds; 0: none
	Data    any
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	p.CSRF = s.ensureCSRF(w, r)
	var b bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&b, "layout.html", p); err != nil {
		s.log.Error("render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	who, _ := s.identify(r)
	var team *db.Team
	if who != nil {
		team = who.Team
	}
	s.render(w, r, status, "error", page{Title: http.StatusText(status), Team: team, Data: msg})
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	if wantsJSON(r) {
		writeJSON(w, http.StatusNotFound, apiError{Error: "not found"})
		return
	}
	s.errorPage(w, r, http.StatusNotFound, "There is nothing here.")
}

type apiError struct {
	Error string `json:"error"`
}

func wantsJSON(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/api/")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// fail answers an error as JSON (API) or a page.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if wantsJSON(r) {
		writeJSON(w, status, apiError{Error: msg})
		return
	}
	s.errorPage(w, r, status, msg)
}

func (s *Server) internal(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("request failed", "path", r.URL.Path, "err", err)
	s.fail(w, r, http.StatusInternalServerError, "internal error")
}

// who identifies the caller and applies the per-token rate limit; it
// answers the request itself (401/429) and returns nil when it must stop.
func (s *Server) who(w http.ResponseWriter, r *http.Request) *identity {
	id, err := s.identify(r)
	if err != nil {
		if errors.Is(err, errBadToken) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="cmrfm"`)
			s.fail(w, r, http.StatusUnauthorized, "invalid or revoked token")
			return nil
		}
		s.internal(w, r, err)
		return nil
	}
	if id.Team != nil {
		if ok, wait := s.tokenLimit.allow(strconv.FormatInt(id.TokenID, 10)); !ok {
			tooMany(w, r, wait, "token")
			return nil
		}
	}
	return id
}

func (s *Server) task(w http.ResponseWriter, r *http.Request) *db.Task {
	t, err := s.db.Task(r.Context(), r.PathValue("slug"))
	if errors.Is(err, db.ErrNotFound) {
		s.notFound(w, r)
		return nil
	}
	if err != nil {
		s.internal(w, r, err)
		return nil
	}
	return t
}

func (s *Server) keys(ctx context.Context, t *db.Task) (taskKeys, error) {
	s.mu.Lock()
	k, ok := s.keyCache[t.ID]
	s.mu.Unlock()
	if ok {
		return k, nil
	}
	studies, err := s.db.Studies(ctx, t.ID)
	if err != nil {
		return k, err
	}
	for _, st := range studies {
		k.keys = append(k.keys, st.Key)
		if st.Public {
			k.public++
		}
	}
	s.mu.Lock()
	s.keyCache[t.ID] = k
	s.mu.Unlock()
	return k, nil
}

//
// Public views of the data (the JSON API and the templates share them).
//

// TaskView is what anyone may know about a task.
type TaskView struct {
	Slug       string    `json:"slug"`
	Title      string    `json:"title"`
	Kind       string    `json:"kind"`
	Targets    []string  `json:"targets"`
	Column     string    `json:"prediction_column"`
	Metric     string    `json:"metric"`
	Cutoff     float64   `json:"hf_cutoff,omitempty"`
	State      string    `json:"state"`
	Studies    int       `json:"studies"`
	Public     int       `json:"public_studies"`
	DailyLimit int       `json:"daily_limit"`
	MinBin     int       `json:"plot_min_bin"`
	Created    time.Time `json:"created"`
	Closed     time.Time `json:"closed,omitzero"`
}

func (s *Server) taskView(ctx context.Context, t *db.Task) (TaskView, error) {
	k, err := s.keys(ctx, t)
	v := TaskView{Slug: t.Slug, Title: t.Title, Kind: t.Kind, Targets: t.Targets, State: t.State, Studies: len(k.keys),
		Public: k.public, DailyLimit: t.DailyLimit, MinBin: t.PlotMinBin, Created: t.CreatedAt, Closed: t.ClosedAt}
	if t.Kind == db.Regression {
		v.Column, v.Metric, v.Cutoff = "preds", "MAE (lower is better)", t.Cutoff
	} else {
		v.Column, v.Metric = "probs", "macro AUROC (higher is better)"
	}
	return v, err
}

// BoardView is a task's leaderboard as shown: the private ranking only
// once the task is closed.
type BoardView struct {
	Task    TaskView     `json:"task"`
	Public  []score.Row  `json:"public"`
	Private *[]score.Row `json:"private,omitempty"`
}

func (s *Server) boardView(ctx context.Context, t *db.Task) (*BoardView, error) {
	tv, err := s.taskView(ctx, t)
	if err != nil {
		return nil, err
	}
	bv := &BoardView{Task: tv, Public: []score.Row{}}
	_, data, err := s.db.Board(ctx, t.ID)
	if errors.Is(err, db.ErrNotFound) {
		return bv, nil
	}
	if err != nil {
		return nil, err
	}
	var b score.Board
	if err := json.Unmarshal([]byte(data), &b); err != nil {
		return nil, fmt.Errorf("serve: board of %s: %w", t.Slug, err)
	}
	bv.Public = b.Public
	if t.State == db.StateClosed && b.Private != nil {
		bv.Private = &b.Private
	}
	return bv, nil
}

// SubmissionView is a submission as its team sees it.
type SubmissionView struct {
	ID       int64         `json:"id"`
	Task     string        `json:"task"`
	Team     string        `json:"team"`
	TeamID   int64         `json:"team_id"`
	Filename string        `json:"filename"`
	SHA256   string        `json:"sha256"`
	Bytes    int64         `json:"bytes"`
	Created  time.Time     `json:"created"`
	Status   string        `json:"status"`
	Error    string        `json:"error,omitempty"`
	Scored   time.Time     `json:"scored,omitzero"`
	Public   *score.Part   `json:"public,omitempty"`
	Private  *score.Part   `json:"private,omitempty"`
	Plots    []PlotView    `json:"plots,omitempty"`
	Kind     string        `json:"-"`
	TaskView *TaskView     `json:"-"`
	Cutoff   float64       `json:"-"`
	Result   *score.Result `json:"-"`
}

// PlotView names one figure.
type PlotView struct {
	Part string `json:"part"`
	Name string `json:"name"`
	URL  string `json:"url"`
}

// submissionView loads a submission for its own team; another team's (or
// a missing one) is ErrNotFound, so ids reveal nothing.
func (s *Server) submissionView(ctx context.Context, id int64, team *db.Team) (*SubmissionView, error) {
	sub, err := s.db.Submission(ctx, id)
	if err != nil {
		return nil, err
	}
	if team == nil || sub.TeamID != team.ID {
		return nil, db.ErrNotFound
	}
	t, err := s.db.TaskByID(ctx, sub.TaskID)
	if err != nil {
		return nil, err
	}
	tv, err := s.taskView(ctx, t)
	if err != nil {
		return nil, err
	}
	v := &SubmissionView{ID: sub.ID, Task: t.Slug, Team: team.Name, TeamID: team.ID, Filename: sub.Filename,
		SHA256: sub.UploadSHA256, Bytes: sub.UploadBytes, Created: sub.CreatedAt, Status: sub.Status, Error: sub.Error,
		Scored: sub.ScoredAt, Kind: t.Kind, TaskView: &tv, Cutoff: t.Cutoff}
	if sub.Status == db.Done {
		var res score.Result
		if err := json.Unmarshal([]byte(sub.Result), &res); err != nil {
			return nil, fmt.Errorf("serve: submission %d: result: %w", id, err)
		}
		v.Public = res.Public
		parts := []string{score.Public}
		if t.State == db.StateClosed {
			v.Private = res.Private
			parts = append(parts, score.Private)
		}
		for _, part := range parts {
			names, err := s.db.PlotNames(ctx, id, part)
			if err != nil {
				return nil, err
			}
			for _, n := range names {
				v.Plots = append(v.Plots, PlotView{Part: part, Name: n, URL: fmt.Sprintf("/submissions/%d/plots/%s/%s.svg", id, part, n)})
			}
		}
	}
	return v, nil
}

// TeamView is a team's public page: its submissions with their public
// scores (private ones once a task is closed).
type TeamView struct {
	ID      int64           `json:"id"`
	Name    string          `json:"name"`
	Created time.Time       `json:"created"`
	History []TeamEntryView `json:"submissions"`
}

// TeamEntryView is one line of a team's history.
type TeamEntryView struct {
	ID      int64     `json:"id"`
	Task    string    `json:"task"`
	Created time.Time `json:"created"`
	Status  string    `json:"status"`
	Public  score.Num `json:"public_score"`
	Private score.Num `json:"private_score"`
	Own     bool      `json:"-"`
}

func (s *Server) teamView(ctx context.Context, id int64, viewer *db.Team) (*TeamView, error) {
	t, err := s.db.TeamByID(ctx, id)
	if err != nil {
		return nil, err
	}
	subs, err := s.db.Submissions(ctx, t.ID, 0, "")
	if err != nil {
		return nil, err
	}
	tasks := map[int64]*db.Task{}
	v := &TeamView{ID: t.ID, Name: t.Name, Created: t.CreatedAt, History: []TeamEntryView{}}
	for _, x := range subs {
		tk, ok := tasks[x.TaskID]
		if !ok {
			if tk, err = s.db.TaskByID(ctx, x.TaskID); err != nil {
				return nil, err
			}
			tasks[x.TaskID] = tk
		}
		e := TeamEntryView{ID: x.ID, Task: tk.Slug, Created: x.CreatedAt, Status: x.Status,
			Public: score.Num(math.NaN()), Private: score.Num(math.NaN()), Own: viewer != nil && viewer.ID == t.ID}
		if x.PublicScore.Valid {
			e.Public = score.Num(x.PublicScore.Float64)
		}
		if x.PrivateScore.Valid && tk.State == db.StateClosed {
			e.Private = score.Num(x.PrivateScore.Float64)
		}
		v.History = append(v.History, e)
	}
	return v, nil
}

func pathID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id, err == nil && id > 0
}

//
// Pages.
//

func (s *Server) pageIndex(w http.ResponseWriter, r *http.Request) {
	who := s.who(w, r)
	if who == nil {
		return
	}
	tasks, err := s.db.Tasks(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	var views []TaskView
	for _, t := range tasks {
		v, err := s.taskView(r.Context(), t)
		if err != nil {
			s.internal(w, r, err)
			return
		}
		views = append(views, v)
	}
	s.render(w, r, http.StatusOK, "index", page{Title: "Leaderboards", Team: who.Team, Data: views})
}

func (s *Server) pageBoard(w http.ResponseWriter, r *http.Request) {
	who := s.who(w, r)
	if who == nil {
		return
	}
	t := s.task(w, r)
	if t == nil {
		return
	}
	bv, err := s.boardView(r.Context(), t)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "board", page{Title: t.Title, Team: who.Team, Data: bv})
}

func (s *Server) pageAbout(w http.ResponseWriter, r *http.Request) {
	who := s.who(w, r)
	if who == nil {
		return
	}
	t := s.task(w, r)
	if t == nil {
		return
	}
	tv, err := s.taskView(r.Context(), t)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "about", page{Title: t.Title + ": how to submit", Team: who.Team, Data: tv})
}

// exampleCSV is a valid submission: every study with a constant
// prediction, in the columns of `cmrfm predict`.
func (s *Server) exampleCSV(w http.ResponseWriter, r *http.Request) {
	t := s.task(w, r)
	if t == nil {
		return
	}
	k, err := s.keys(r.Context(), t)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	head := []string{"filenames"}
	val := "0.5"
	if t.Kind == db.Regression {
		head, val = append(head, "preds"), "55"
	} else if len(t.Targets) == 1 {
		head = append(head, "probs")
	} else {
		for _, tg := range t.Targets {
			head = append(head, "probs_"+tg)
		}
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+t.Slug+`-example.csv"`)
	cw := csv.NewWriter(w)
	cw.Write(head)
	for _, key := range k.keys {
		rec := []string{key}
		for range head[1:] {
			rec = append(rec, val)
		}
		cw.Write(rec)
	}
	cw.Flush()
}

type submitData struct {
	Task    TaskView
	Today   int
	Message string
}

func (s *Server) pageSubmit(w http.ResponseWriter, r *http.Request) {
	who := s.who(w, r)
	if who == nil {
		return
	}
	t := s.task(w, r)
	if t == nil {
		return
	}
	if who.Team == nil {
		http.Redirect(w, r, "/signin?next="+urlPathEscape("/tasks/"+t.Slug+"/submit"), http.StatusSeeOther)
		return
	}
	tv, err := s.taskView(r.Context(), t)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	n, err := s.db.SubmissionsToday(r.Context(), who.Team.ID, t.ID)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "submit", page{Title: "Submit to " + t.Title, Team: who.Team, Data: submitData{Task: tv, Today: n}})
}

func urlPathEscape(p string) string {
	return strings.NewReplacer("%", "%25", "&", "%26", "#", "%23", "?", "%3F", " ", "%20").Replace(p)
}

func (s *Server) pageSubmission(w http.ResponseWriter, r *http.Request) {
	who := s.who(w, r)
	if who == nil {
		return
	}
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	v, err := s.submissionView(r.Context(), id, who.Team)
	if errors.Is(err, db.ErrNotFound) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	p := page{Title: fmt.Sprintf("Submission %d", id), Team: who.Team, Data: v}
	if v.Status == db.Queued || v.Status == db.Running {
		p.Refresh = 2
	}
	s.render(w, r, http.StatusOK, "submission", p)
}

func (s *Server) plot(w http.ResponseWriter, r *http.Request) {
	who := s.who(w, r)
	if who == nil {
		return
	}
	id, ok := pathID(r)
	name, isSVG := strings.CutSuffix(r.PathValue("name"), ".svg")
	part := r.PathValue("part")
	if !ok || !isSVG || (part != score.Public && part != score.Private) {
		s.notFound(w, r)
		return
	}
	v, err := s.submissionView(r.Context(), id, who.Team)
	if errors.Is(err, db.ErrNotFound) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if part == score.Private && v.Private == nil { // hidden until the task closes
		s.notFound(w, r)
		return
	}
	svg, err := s.db.PlotSVG(r.Context(), id, part, name)
	if errors.Is(err, db.ErrNotFound) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	io.WriteString(w, svg)
}

func (s *Server) pageTeam(w http.ResponseWriter, r *http.Request) {
	who := s.who(w, r)
	if who == nil {
		return
	}
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	v, err := s.teamView(r.Context(), id, who.Team)
	if errors.Is(err, db.ErrNotFound) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "team", page{Title: "Team " + v.Name, Team: who.Team, Data: v})
}

type signinData struct {
	Next    string
	Message string
}

// safeNext keeps a post-sign-in redirect on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/"
	}
	return next
}

func (s *Server) pageSignin(w http.ResponseWriter, r *http.Request) {
	who := s.who(w, r)
	if who == nil {
		return
	}
	s.render(w, r, http.StatusOK, "signin", page{Title: "Sign in", Team: who.Team,
		Data: signinData{Next: safeNext(r.URL.Query().Get("next"))}})
}

func (s *Server) postSignin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "bad form")
		return
	}
	if !s.checkCSRF(r, r.PostForm.Get(csrfField)) {
		s.fail(w, r, http.StatusForbidden, "the form expired or came from another site: reload the page and try again")
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	row, err := s.tokens.verify(r.Context(), r.PostForm.Get("token"))
	if err != nil {
		if !errors.Is(err, errBadToken) {
			s.internal(w, r, err)
			return
		}
		s.render(w, r, http.StatusUnauthorized, "signin", page{Title: "Sign in",
			Data: signinData{Next: next, Message: "That token is not valid (or was revoked)."}})
		return
	}
	id := randomString(32)
	if err := s.db.CreateSession(r.Context(), hashSession(id), db.Session{TeamID: row.TeamID, TokenID: row.ID,
		ExpiresAt: time.Now().Add(s.opt.SessionTTL)}); err != nil {
		s.internal(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, Secure: s.opt.Secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(s.opt.SessionTTL.Seconds())})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) postSignout(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil || !s.checkCSRF(r, r.PostForm.Get(csrfField)) {
		s.fail(w, r, http.StatusForbidden, "the form expired or came from another site: reload the page and try again")
		return
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.db.DeleteSession(r.Context(), hashSession(c.Value))
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.opt.Secure})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

//
// Uploads.
//

// errTooLarge is an upload over the size cap.
var errTooLarge = errors.New("too large")

// sanitizeFilename keeps the last path element of an uploaded file's name
// and only [A-Za-z0-9._-]; it is shown, never used as a path.
func sanitizeFilename(name string) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	var b strings.Builder
	for _, c := range name {
		if b.Len() >= 100 {
			break
		}
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '_':
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
	}
	out := strings.TrimLeft(b.String(), ".")
	if out == "" {
		return "upload.csv"
	}
	return out
}

// readUpload reads a multipart form of at most a few small fields and
// files of at most MaxUpload bytes each, all in memory, never on disk.
func (s *Server) readUpload(w http.ResponseWriter, r *http.Request) (fields map[string]string, files []score.File, err error) {
	limit := s.opt.MaxUpload + 64<<10
	if r.ContentLength > limit {
		return nil, nil, errTooLarge
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		return nil, nil, errors.New("want a multipart/form-data upload (curl -F file=@preds.csv)")
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, nil, fmt.Errorf("bad multipart form: %w", err)
	}
	fields = map[string]string{}
	for n := 0; ; n++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, nil, errTooLarge
		}
		if err != nil {
			return nil, nil, fmt.Errorf("bad multipart form: %w", err)
		}
		if n >= 16 {
			return nil, nil, errors.New("too many form parts (at most 16)")
		}
		data, err := readPart(part, s.opt.MaxUpload)
		if err != nil {
			return nil, nil, err
		}
		if part.FileName() == "" {
			if len(data) > 4096 {
				return nil, nil, fmt.Errorf("form field %q is too long", sanitizeFilename(part.FormName()))
			}
			fields[part.FormName()] = string(data)
			continue
		}
		files = append(files, score.File{Field: part.FormName(), Name: sanitizeFilename(part.FileName()), Data: data})
	}
	return fields, files, nil
}

func readPart(p *multipart.Part, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(p, max+1))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || int64(len(data)) > max {
		return nil, errTooLarge
	}
	if err != nil {
		return nil, fmt.Errorf("bad multipart form: %w", err)
	}
	return data, nil
}

// accept validates and queues an upload; it returns the submission id or
// an HTTP status and a message for the team.
func (s *Server) accept(ctx context.Context, t *db.Task, team *db.Team, files []score.File) (int64, int, string) {
	if t.State != db.StateOpen {
		return 0, http.StatusConflict, "this task is closed: it takes no more submissions"
	}
	st, err := s.scoreTask(ctx, t)
	if err != nil {
		return 0, http.StatusInternalServerError, "internal error"
	}
	preds, err := score.Parse(st, files)
	if err != nil {
		msg := strings.TrimSuffix(err.Error(), ": "+score.ErrInvalid.Error())
		msg = strings.TrimSuffix(strings.TrimPrefix(msg, "evaluate: "), ": bad prediction table")
		return 0, http.StatusBadRequest, msg
	}
	body, err := json.Marshal(preds)
	if err != nil {
		return 0, http.StatusInternalServerError, "internal error"
	}
	h := sha256.New()
	var size int64
	names := make([]string, len(files))
	for i, f := range files {
		h.Write(f.Data)
		size += int64(len(f.Data))
		names[i] = f.Name
	}
	sub := &db.Submission{TaskID: t.ID, TeamID: team.ID, Filename: strings.Join(names, "+"),
		UploadSHA256: hex.EncodeToString(h.Sum(nil)), UploadBytes: size, Preds: string(body)}
	switch err := s.db.Submit(ctx, sub, t.DailyLimit); {
	case errors.Is(err, db.ErrDailyLimit):
		return 0, http.StatusTooManyRequests, fmt.Sprintf("daily limit reached: %d submissions per team per day (UTC) for this task", t.DailyLimit)
	case errors.Is(err, db.ErrClosed):
		return 0, http.StatusConflict, "this task is closed: it takes no more submissions"
	case err != nil:
		s.log.Error("submit", "err", err)
		return 0, http.StatusInternalServerError, "internal error"
	}
	s.log.Info("submission accepted", "submission", sub.ID, "task", t.Slug, "team", team.ID, "bytes", size)
	s.notifyWorkers()
	return sub.ID, http.StatusAccepted, ""
}

func (s *Server) uploadError(err error) (int, string) {
	if errors.Is(err, errTooLarge) {
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("the upload is larger than the %d MiB limit", s.opt.MaxUpload>>20)
	}
	return http.StatusBadRequest, err.Error()
}

func (s *Server) postSubmit(w http.ResponseWriter, r *http.Request) {
	who := s.who(w, r)
	if who == nil {
		return
	}
	t := s.task(w, r)
	if t == nil {
		return
	}
	if who.Team == nil {
		s.fail(w, r, http.StatusUnauthorized, "sign in first")
		return
	}
	fields, files, err := s.readUpload(w, r)
	if err != nil {
		st, msg := s.uploadError(err)
		if st == http.StatusRequestEntityTooLarge {
			w.Header().Set("Connection", "close")
		}
		s.fail(w, r, st, msg)
		return
	}
	if !who.ViaAPI && !s.checkCSRF(r, fields[csrfField]) {
		s.fail(w, r, http.StatusForbidden, "the form expired or came from another site: reload the page and try again")
		return
	}
	id, status, msg := s.accept(r.Context(), t, who.Team, files)
	if id == 0 {
		tv, _ := s.taskView(r.Context(), t)
		n, _ := s.db.SubmissionsToday(r.Context(), who.Team.ID, t.ID)
		s.render(w, r, status, "submit", page{Title: "Submit to " + t.Title, Team: who.Team,
			Data: submitData{Task: tv, Today: n, Message: msg}})
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/submissions/%d", id), http.StatusSeeOther)
}

//
// JSON API.
//

func (s *Server) apiTasks(w http.ResponseWriter, r *http.Request) {
	if s.who(w, r) == nil {
		return
	}
	tasks, err := s.db.Tasks(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	views := []TaskView{}
	for _, t := range tasks {
		v, err := s.taskView(r.Context(), t)
		if err != nil {
			s.internal(w, r, err)
			return
		}
		views = append(views, v)
	}
	writeJSON(w, http.StatusOK, views)
}

func (s *Server) apiTask(w http.ResponseWriter, r *http.Request) {
	if s.who(w, r) == nil {
		return
	}
	t := s.task(w, r)
	if t == nil {
		return
	}
	v, err := s.taskView(r.Context(), t)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) apiBoard(w http.ResponseWriter, r *http.Request) {
	if s.who(w, r) == nil {
		return
	}
	t := s.task(w, r)
	if t == nil {
		return
	}
	bv, err := s.boardView(r.Context(), t)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, bv)
}

func (s *Server) apiTeam(w http.ResponseWriter, r *http.Request) {
	who := s.who(w, r)
	if who == nil {
		return
	}
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	v, err := s.teamView(r.Context(), id, who.Team)
	if errors.Is(err, db.ErrNotFound) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) apiSubmission(w http.ResponseWriter, r *http.Request) {
	who := s.who(w, r)
	if who == nil {
		return
	}
	if who.Team == nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="cmrfm"`)
		s.fail(w, r, http.StatusUnauthorized, "send your team's token: Authorization: Bearer cmrfm_…")
		return
	}
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	v, err := s.submissionView(r.Context(), id, who.Team)
	if errors.Is(err, db.ErrNotFound) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// SubmitResponse answers an accepted API upload.
type SubmitResponse struct {
	ID     int64  `json:"id"`
	Status string `json:"status"`
	URL    string `json:"url"`
	API    string `json:"api"`
}

func (s *Server) apiSubmit(w http.ResponseWriter, r *http.Request) {
	who := s.who(w, r)
	if who == nil {
		return
	}
	if who.Team == nil || !who.ViaAPI {
		w.Header().Set("WWW-Authenticate", `Bearer realm="cmrfm"`)
		s.fail(w, r, http.StatusUnauthorized, "send your team's token: curl -H \"Authorization: Bearer cmrfm_…\" -F file=@preds.csv")
		return
	}
	t := s.task(w, r)
	if t == nil {
		return
	}
	_, files, err := s.readUpload(w, r)
	if err != nil {
		st, msg := s.uploadError(err)
		if st == http.StatusRequestEntityTooLarge {
			w.Header().Set("Connection", "close")
		}
		s.fail(w, r, st, msg)
		return
	}
	id, status, msg := s.accept(r.Context(), t, who.Team, files)
	if id == 0 {
		s.fail(w, r, status, msg)
		return
	}
	writeJSON(w, http.StatusAccepted, SubmitResponse{ID: id, Status: db.Queued,
		URL: fmt.Sprintf("/submissions/%d", id), API: fmt.Sprintf("/api/submissions/%d", id)})
}
