package serve

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/serve/db"
	"github.com/cmrfm/cmrfm/serve/internal/pgtest"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(childMain())
	}
	os.Exit(pgtest.Main(m))
}

// engines runs f on a fresh SQLite file and a fresh PostgreSQL database.
func engines(t *testing.T, f func(t *testing.T, dsn string)) {
	t.Run("sqlite", func(t *testing.T) { f(t, "sqlite:"+filepath.Join(t.TempDir(), "lb.db")) })
	t.Run("postgres", func(t *testing.T) { f(t, pgtest.DSN(t)) })
}

// cohort is a synthetic hidden test set: nStudies studies with LVEF labels
// carrying five decimals (so a leak is easy to find) and dcm/hcm labels.
type cohort struct {
	index []byte // index.csv
	keys  []string
	lvef  []float64
	lvefS []string // labels as written in index.csv
	dcm   []int
	hcm   []int
}

func newCohort(n int, seed uint64) *cohort {
	rng := rand.New(rand.NewPCG(seed, 7))
	c := &cohort{}
	var b bytes.Buffer
	b.WriteString("parent_folder,accession,split,lvef,dcm,hcm\n")
	for i := 0; i < n; i++ {
		lv := 18 + 55*rng.Float64()
		s := fmt.Sprintf("%.5f", lv)
		d, h := 0, 0
		if lv < 40 || rng.Float64() < 0.1 {
			d = 1
		}
		if rng.Float64() < 0.3 {
			h = 1
		}
		pf, acc := fmt.Sprintf("site_%04x", 4096+i*7), fmt.Sprintf("st%03d.h5", i)
		fmt.Fprintf(&b, "%s,%s,test,%s,%d,%d\n", pf, acc, s, d, h)
		c.keys = append(c.keys, pf+"-"+acc)
		c.lvef, c.lvefS, c.dcm, c.hcm = append(c.lvef, lv), append(c.lvefS, s), append(c.dcm, d), append(c.hcm, h)
	}
	// A few training rows that are not part of the task.
	b.WriteString("site_ffff,train1.h5,train,55.5,0,0\n")
	c.index = b.Bytes()
	return c
}

// lvefCSV is a `cmrfm predict`-shaped regression table: truth + noise.
func (c *cohort) lvefCSV(noise float64, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	var b bytes.Buffer
	b.WriteString("filenames,preds,labels,views,softmax_attn,attn_2CH,attn_3CH,attn_4CH,attn_SAX\n")
	for i, k := range c.keys {
		fmt.Fprintf(&b, "%s,%.4f,,4CH;SAX,0.5;0.5,,,0.5,0.5\n", k, c.lvef[i]+noise*rng.NormFloat64())
	}
	return b.Bytes()
}

// dxCSV is a two-target classification table with probs_<target> columns.
func (c *cohort) dxCSV(skill float64, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 2))
	var b bytes.Buffer
	b.WriteString("filenames,probs_dcm,probs_hcm\n")
	for i, k := range c.keys {
		p1 := (1-skill)*rng.Float64() + skill*float64(c.dcm[i])
		p2 := (1-skill)*rng.Float64() + skill*float64(c.hcm[i])
		fmt.Fprintf(&b, "%s,%.4f,%.4f\n", k, p1, p2)
	}
	return b.Bytes()
}

type env struct {
	t      *testing.T
	db     *db.DB
	s      *Server
	ts     *httptest.Server
	c      *cohort
	tokens map[string]string // team name → token
	teams  map[string]int64
}

func newEnv(t *testing.T, dsn string, opt Options) *env {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	opt.DB = d
	if opt.IPRate == 0 {
		opt.IPRate, opt.TokenRate = -1, -1
	}
	s, err := New(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: d, s: s, c: newCohort(60, 3), tokens: map[string]string{}, teams: map[string]int64{}}
	e.ts = httptest.NewServer(s.Handler())
	t.Cleanup(e.ts.Close)
	for _, spec := range []TaskSpec{
		{Slug: "lvef", Title: "LVEF", Kind: db.Regression, Targets: []string{"lvef"}, PlotMinBin: 5, DailyLimit: 50},
		{Slug: "dx", Title: "Diseases", Kind: db.Classification, Targets: []string{"dcm", "hcm"}, PlotMinBin: 5, DailyLimit: 50},
	} {
		st, err := ReadTaskStudies(bytes.NewReader(e.c.index), "index.csv", &spec)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := CreateTask(ctx, d, spec, st); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *env) team(name string) string {
	e.t.Helper()
	tm, err := CreateTeam(context.Background(), e.db, name)
	if err != nil {
		e.t.Fatal(err)
	}
	tok, _, err := IssueToken(context.Background(), e.db, tm.Name)
	if err != nil {
		e.t.Fatal(err)
	}
	e.tokens[name], e.teams[name] = tok, tm.ID
	return tok
}

// drain scores every queued submission.
func (e *env) drain() {
	e.t.Helper()
	for {
		did, err := e.s.ScoreNext(context.Background())
		if err != nil {
			e.t.Fatal(err)
		}
		if !did {
			return
		}
	}
}

type upload struct {
	field, name string
	data        []byte
}

func multipartBody(fields map[string]string, files ...upload) (*bytes.Buffer, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for _, f := range files {
		w, _ := mw.CreateFormFile(f.field, f.name)
		w.Write(f.data)
	}
	mw.Close()
	return &b, mw.FormDataContentType()
}

// api sends a request with an optional bearer token and returns status and body.
func (e *env) api(method, path, token string, body io.Reader, ctype string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.ts.URL+path, body)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (e *env) submit(task, token string, files ...upload) (int, string) {
	e.t.Helper()
	body, ct := multipartBody(nil, files...)
	return e.api("POST", "/api/tasks/"+task+"/submissions", token, body, ct)
}

// browser is a cookie-keeping client that signs in through the form.
type browser struct {
	e *env
	c *http.Client
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar}}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

func (b *browser) get(path string) (int, string) {
	b.e.t.Helper()
	resp, err := b.c.Get(b.e.ts.URL + path)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (b *browser) csrf(path string) string {
	b.e.t.Helper()
	_, body := b.get(path)
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		b.e.t.Fatalf("no CSRF token on %s", path)
	}
	return m[1]
}

func (b *browser) signin(token string) {
	b.e.t.Helper()
	tok := b.csrf("/signin")
	resp, err := b.c.PostForm(b.e.ts.URL+"/signin", url.Values{"csrf": {tok}, "token": {token}, "next": {"/"}})
	if err != nil {
		b.e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Request.URL.Path, "/") {
		b.e.t.Fatalf("sign-in: %d", resp.StatusCode)
	}
}

func (b *browser) upload(task string, csrf string, files ...upload) (int, string) {
	b.e.t.Helper()
	fields := map[string]string{}
	if csrf != "" {
		fields["csrf"] = csrf
	}
	body, ct := multipartBody(fields, files...)
	req, _ := http.NewRequest("POST", b.e.ts.URL+"/tasks/"+task+"/submit", body)
	req.Header.Set("Content-Type", ct)
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}
