package serve

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cmrfm/cmrfm/serve/db"
)

// secrets lists renderings of the hidden labels that must never appear in
// a response: every LVEF label as written in the hidden table and to four
// and three decimals, and the disease label vectors in study order.
func (c *cohort) secrets() []string {
	var out []string
	for i, s := range c.lvefS {
		out = append(out, s, strconv.FormatFloat(c.lvef[i], 'f', 4, 64), strconv.FormatFloat(c.lvef[i], 'f', 3, 64))
	}
	for _, v := range [][]int{c.dcm, c.hcm} {
		var parts []string
		for _, x := range v {
			parts = append(parts, strconv.Itoa(x))
		}
		out = append(out, strings.Join(parts, ","), strings.Join(parts, ", "), strings.Join(parts, ""))
	}
	return out
}

// containsValue reports whether body holds s as a value of its own: not
// inside a longer number and not as the seconds of a timestamp (a hidden
// LVEF of 27.822 is not revealed by "20:31:27.822345Z", which made this
// test fail once in a while).
func containsValue(body, s string) bool {
	digit := func(c byte) bool { return c >= '0' && c <= '9' }
	for i := 0; ; {
		j := strings.Index(body[i:], s)
		if j < 0 {
			return false
		}
		j += i
		before, after := byte(' '), byte(' ')
		if j > 0 {
			before = body[j-1]
		}
		if k := j + len(s); k < len(body) {
			after = body[k]
		}
		clock := before == ':' && j >= 3 && digit(body[j-2]) && digit(body[j-3]) // hh:mm:ss.fff
		if !digit(before) && before != '.' && !clock && !digit(after) {
			return true
		}
		i = j + 1
	}
}

var linkRE = regexp.MustCompile(`(?:href|src|action)="(/[^"]*)"`)

// crawl fetches every GET route reachable from the seeds (following links
// in pages) as one client, checks the security headers on every response
// and returns the bodies by path.
func crawl(t *testing.T, e *env, do func(req *http.Request) (*http.Response, error), seeds []string) map[string]string {
	t.Helper()
	seen := map[string]string{}
	queue := append([]string(nil), seeds...)
	for len(queue) > 0 && len(seen) < 400 {
		p := queue[0]
		queue = queue[1:]
		if _, ok := seen[p]; ok || strings.HasPrefix(p, "/signout") {
			continue
		}
		req, _ := http.NewRequest("GET", e.ts.URL+p, nil)
		resp, err := do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		seen[p] = string(b)
		h := resp.Header
		if h.Get("Content-Security-Policy") == "" || h.Get("X-Content-Type-Options") != "nosniff" ||
			h.Get("X-Frame-Options") != "DENY" || h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("GET %s: missing security headers: %v", p, h)
		}
		if resp.StatusCode >= 500 {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
		}
		for _, m := range linkRE.FindAllStringSubmatch(string(b), -1) {
			u := strings.ReplaceAll(m[1], "&amp;", "&")
			if i := strings.IndexByte(u, '?'); i >= 0 && !strings.HasPrefix(u, "/signin") {
				u = u[:i]
			}
			queue = append(queue, u)
		}
	}
	return seen
}

// TestLabelsNeverLeak crawls every route as every role — anonymous, a team
// signed in through the browser, a team with a bearer token, another team,
// a revoked token — while the tasks are open and after they close, and
// searches every body for the hidden labels.
func TestLabelsNeverLeak(t *testing.T) {
	engines(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, Options{})
		a, b := e.team("Alpha"), e.team("Beta")
		revoked := e.team("Gone")
		for i, tok := range []string{a, b} {
			for k := 0; k < 2; k++ {
				e.submit("lvef", tok, upload{"file", "p.csv", e.c.lvefCSV(float64(2+3*i+k), uint64(i*10+k))})
				e.submit("dx", tok, upload{"file", "p.csv", e.c.dxCSV(0.4+0.2*float64(k), uint64(i*10+k))})
			}
		}
		e.submit("lvef", revoked, upload{"file", "p.csv", e.c.lvefCSV(4, 99)})
		// A failed submission too (its error message is shown).
		e.db.Submit(t.Context(), &db.Submission{TaskID: 1, TeamID: e.teams["Alpha"], Filename: "x.csv", Preds: "[[1]]"}, 100)
		e.drain()
		if err := RevokeToken(t.Context(), e.db, revoked); err != nil {
			t.Fatal(err)
		}
		seeds := []string{"/", "/tasks/lvef", "/tasks/dx", "/tasks/lvef/about", "/tasks/dx/about", "/tasks/lvef/example.csv",
			"/tasks/dx/example.csv", "/tasks/lvef/submit", "/tasks/dx/submit", "/signin", "/healthz", "/static/style.css",
			"/api/tasks", "/api/tasks/lvef", "/api/tasks/dx", "/api/tasks/lvef/leaderboard", "/api/tasks/dx/leaderboard",
			"/nope", "/tasks/nope", "/api/nope"}
		for id := 1; id <= 12; id++ {
			seeds = append(seeds, fmt.Sprintf("/submissions/%d", id), fmt.Sprintf("/api/submissions/%d", id))
			for _, part := range []string{"public", "private"} {
				for _, n := range []string{"bland_altman", "roc_hf", "roc_dcm", "roc_hcm"} {
					seeds = append(seeds, fmt.Sprintf("/submissions/%d/plots/%s/%s.svg", id, part, n))
				}
			}
		}
		for id := 1; id <= 4; id++ {
			seeds = append(seeds, fmt.Sprintf("/teams/%d", id), fmt.Sprintf("/api/teams/%d", id))
		}
		bearer := func(tok string) func(*http.Request) (*http.Response, error) {
			return func(r *http.Request) (*http.Response, error) {
				r.Header.Set("Authorization", "Bearer "+tok)
				return http.DefaultClient.Do(r)
			}
		}
		check := func(phase string) int {
			br := e.browser()
			br.signin(a)
			roles := map[string]func(*http.Request) (*http.Response, error){
				"anonymous":     http.DefaultClient.Do,
				"alpha-session": br.c.Do,
				"alpha-bearer":  bearer(a),
				"beta-bearer":   bearer(b),
				"revoked":       bearer(revoked),
			}
			pages := 0
			for role, do := range roles {
				bodies := crawl(t, e, do, seeds)
				pages += len(bodies)
				for path, body := range bodies {
					for _, s := range e.c.secrets() {
						if containsValue(body, s) {
							t.Errorf("%s, %s: GET %s reveals hidden label text %q", phase, role, path, s)
						}
					}
				}
			}
			return pages
		}
		n := check("open")
		for _, slug := range []string{"lvef", "dx"} {
			e.db.CloseTask(t.Context(), slug)
		}
		n += check("closed")
		t.Logf("%d responses searched", n)
	})
}

// TestHostileInput: SQL injection and script strings in team names and CSV
// cells, a 2 GB upload, a zip bomb named .csv, path traversal in file
// names, a revoked token, another team's submission, forged forms.
func TestHostileInput(t *testing.T) {
	engines(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, Options{MaxUpload: 1 << 20})
		evil := `<script>alert(1)</script>'); DROP TABLE teams;--`
		tokEvil := e.team(evil)
		tokB := e.team("Beta")

		t.Run("names are data, escaped", func(t *testing.T) {
			if st, _ := e.submit("lvef", tokEvil, upload{"file", "p.csv", e.c.lvefCSV(3, 1)}); st != 202 {
				t.Fatal(st)
			}
			e.drain()
			if _, err := e.db.Team(t.Context(), evil); err != nil {
				t.Fatalf("team lookup after injection attempt: %v", err)
			}
			for _, p := range []string{"/tasks/lvef", fmt.Sprintf("/teams/%d", e.teams[evil])} {
				_, body := e.browser().get(p)
				if strings.Contains(body, "<script>") || !strings.Contains(body, "&lt;script&gt;") {
					t.Errorf("%s: team name not escaped", p)
				}
			}
			_, body := e.api("GET", "/api/tasks/lvef/leaderboard", "", nil, "")
			if strings.Contains(body, "<script>") {
				t.Error("JSON carries a raw <script>")
			}
		})

		t.Run("SQL and script in CSV cells", func(t *testing.T) {
			for _, cell := range []string{`x'); DROP TABLE submissions;--`, `<script>alert(1)</script>`, `1' OR '1'='1`} {
				csv := strings.Replace(string(e.c.lvefCSV(3, 1)), e.c.keys[0], `"`+strings.ReplaceAll(cell, `"`, `""`)+`"`, 1)
				st, body := e.submit("lvef", tokB, upload{"file", "p.csv", []byte(csv)})
				if st != 400 || !strings.Contains(body, "is not in this task's test set") {
					t.Fatalf("%q: %d %s", cell, st, body)
				}
				br := e.browser()
				br.signin(tokB)
				_, page := br.upload("lvef", br.csrf("/tasks/lvef/submit"), upload{"file", "p.csv", []byte(csv)})
				if strings.Contains(page, "<script>alert") {
					t.Fatalf("error page echoes a raw script")
				}
			}
			if _, err := e.db.Submissions(t.Context(), 0, 0, ""); err != nil {
				t.Fatalf("submissions table: %v", err)
			}
		})

		t.Run("2 GB upload", func(t *testing.T) {
			// Declared length: refused before a byte of the body is read.
			var sent countingReader
			sent.r = io.LimitReader(zeroReader{}, 2<<30)
			req, _ := http.NewRequest("POST", e.ts.URL+"/api/tasks/lvef/submissions", &sent)
			req.ContentLength = 2 << 30
			req.Header.Set("Authorization", "Bearer "+tokB)
			req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
			t0 := time.Now()
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode != 413 {
					t.Fatalf("declared 2 GB: %d", resp.StatusCode)
				}
			}
			// Streamed without a length: cut off at the cap.
			var sent2 countingReader
			body, ct := multipartBody(nil)
			_ = body
			pr, pw := io.Pipe()
			go func() {
				pw.Write([]byte("--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n\r\n"))
				io.Copy(pw, &sent2)
				pw.Close()
			}()
			sent2.r = io.LimitReader(zeroReader{}, 2<<30)
			req, _ = http.NewRequest("POST", e.ts.URL+"/api/tasks/lvef/submissions", pr)
			req.Header.Set("Authorization", "Bearer "+tokB)
			req.Header.Set("Content-Type", strings.Replace(ct, ct[strings.Index(ct, "boundary=")+9:], "x", 1))
			resp, err = http.DefaultClient.Do(req)
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 413 || !strings.Contains(string(b), "larger than") {
					t.Fatalf("streamed 2 GB: %d %s", resp.StatusCode, b)
				}
			}
			pr.CloseWithError(io.ErrClosedPipe)
			if n := sent.n + sent2.n; n > 64<<20 {
				t.Fatalf("the server read %d MiB of a 2 GB upload", n>>20)
			}
			t.Logf("2 GB uploads refused after %d + %d bytes sent, %v", sent.n, sent2.n, time.Since(t0).Round(time.Millisecond))
		})

		t.Run("zip bomb named .csv", func(t *testing.T) {
			var zb bytes.Buffer
			zw := zip.NewWriter(&zb)
			w, _ := zw.Create("preds.csv")
			w.Write(bytes.Repeat([]byte("0"), 200<<20)) // 200 MiB of zeros, a few hundred KiB zipped
			zw.Close()
			st, body := e.submit("lvef", tokB, upload{"file", "preds.csv", zb.Bytes()})
			if st != 400 || !strings.Contains(body, "ZIP archive") {
				t.Fatalf("zip bomb (%d bytes): %d %s", zb.Len(), st, body)
			}
		})

		t.Run("path traversal in the file name", func(t *testing.T) {
			st, body := e.submit("lvef", tokB, upload{"file", `../../../../etc/cron.d/..\..\evil.csv`, e.c.lvefCSV(3, 1)})
			if st != 202 {
				t.Fatal(st, body)
			}
			var r SubmitResponse
			json.Unmarshal([]byte(body), &r)
			sub, _ := e.db.Submission(t.Context(), r.ID)
			if sub.Filename != "evil.csv" {
				t.Fatalf("stored file name %q", sub.Filename)
			}
		})

		t.Run("revoked token", func(t *testing.T) {
			tok := e.team("Temp")
			br := e.browser()
			br.signin(tok)
			if err := RevokeToken(t.Context(), e.db, tok); err != nil {
				t.Fatal(err)
			}
			if st, _ := e.submit("lvef", tok, upload{"file", "p.csv", e.c.lvefCSV(3, 1)}); st != 401 {
				t.Fatalf("revoked token submits: %d", st)
			}
			if _, page := br.get("/tasks/lvef/submit"); !strings.Contains(page, "signin-form") {
				t.Fatal("the revoked token's browser session lives on")
			}
			for _, bad := range []string{"nonsense", "cmrfm_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAA", tokB + "x"} {
				if st, _ := e.api("GET", "/api/submissions/1", bad, nil, ""); st != 401 {
					t.Fatalf("token %q: %d", bad, st)
				}
			}
		})

		t.Run("another team's submission", func(t *testing.T) {
			subs, _ := e.db.Submissions(t.Context(), e.teams[evil], 0, db.Done)
			id := subs[0].ID
			for _, p := range []string{fmt.Sprintf("/api/submissions/%d", id), fmt.Sprintf("/submissions/%d", id),
				fmt.Sprintf("/submissions/%d/plots/public/bland_altman.svg", id)} {
				if st, _ := e.api("GET", p, tokB, nil, ""); st != 404 {
					t.Errorf("%s as another team: %d", p, st)
				}
				if st, _ := e.api("GET", p, tokEvil, nil, ""); st != 200 {
					t.Errorf("%s as its team: %d", p, st)
				}
			}
		})

		t.Run("CSRF", func(t *testing.T) {
			br := e.browser()
			br.signin(tokB)
			n0, _ := e.db.Submissions(t.Context(), e.teams["Beta"], 0, "")
			if st, _ := br.upload("lvef", "", upload{"file", "p.csv", e.c.lvefCSV(3, 1)}); st != 403 {
				t.Fatalf("form without CSRF token: %d", st)
			}
			if st, _ := br.upload("lvef", strings.Repeat("ab", 32), upload{"file", "p.csv", e.c.lvefCSV(3, 1)}); st != 403 {
				t.Fatalf("form with a forged CSRF token: %d", st)
			}
			// A cross-site browser POST, even with a valid token, is refused.
			body, ct := multipartBody(map[string]string{"csrf": br.csrf("/tasks/lvef/submit")}, upload{"file", "p.csv", e.c.lvefCSV(3, 1)})
			req, _ := http.NewRequest("POST", e.ts.URL+"/tasks/lvef/submit", body)
			req.Header.Set("Content-Type", ct)
			req.Header.Set("Sec-Fetch-Site", "cross-site")
			resp, err := br.c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 403 {
				t.Fatalf("cross-site POST: %d", resp.StatusCode)
			}
			// The sign-in form is protected too.
			resp, _ = http.PostForm(e.ts.URL+"/signin", map[string][]string{"token": {tokB}})
			resp.Body.Close()
			if resp.StatusCode != 403 {
				t.Fatalf("sign-in without CSRF token: %d", resp.StatusCode)
			}
			if n1, _ := e.db.Submissions(t.Context(), e.teams["Beta"], 0, ""); len(n1) != len(n0) {
				t.Fatal("a forged form was accepted")
			}
		})

		t.Run("open redirect", func(t *testing.T) {
			for _, next := range []string{"//evil.example/", "https://evil.example/", `/\evil.example`} {
				if got := safeNext(next); got != "/" {
					t.Errorf("safeNext(%q) = %q", next, got)
				}
			}
		})
	})
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestRateLimits: per address and per token, 429 with Retry-After.
func TestRateLimits(t *testing.T) {
	e := newEnv(t, "sqlite:"+t.TempDir()+"/lb.db", Options{IPRate: 1, IPBurst: 5, TokenRate: 1000, TokenBurst: 1000})
	codes := map[int]int{}
	var retry string
	for i := 0; i < 8; i++ {
		resp, err := http.Get(e.ts.URL + "/api/tasks")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes[resp.StatusCode]++
		if resp.StatusCode == 429 {
			retry = resp.Header.Get("Retry-After")
		}
	}
	if codes[200] != 5 || codes[429] != 3 || retry == "" {
		t.Fatalf("per-IP limit: %v, Retry-After %q", codes, retry)
	}
	e2 := newEnv(t, "sqlite:"+t.TempDir()+"/lb.db", Options{IPRate: 1000, IPBurst: 1000, TokenRate: 1, TokenBurst: 3})
	tok := e2.team("A")
	codes = map[int]int{}
	for i := 0; i < 6; i++ {
		st, _ := e2.api("GET", "/api/tasks", tok, nil, "")
		codes[st]++
	}
	if codes[200] != 3 || codes[429] != 3 {
		t.Fatalf("per-token limit: %v", codes)
	}
	// Anonymous requests from the same address are not the token's.
	if st, _ := e2.api("GET", "/api/tasks", "", nil, ""); st != 200 {
		t.Fatalf("anonymous after the token's limit: %d", st)
	}
}

// TestTokensStoredAsHashes: the database holds argon2id hashes only.
func TestTokensStoredAsHashes(t *testing.T) {
	engines(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, Options{})
		tok := e.team("A")
		_, secret, _ := splitToken(tok)
		rows, _ := e.db.Tokens(t.Context(), e.teams["A"])
		if len(rows) != 1 || !strings.HasPrefix(rows[0].Hash, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(rows[0].Hash, secret) {
			t.Fatalf("stored %+v", rows)
		}
		if !verifySecret(rows[0].Hash, secret) || verifySecret(rows[0].Hash, secret+"x") {
			t.Fatal("argon2id verification")
		}
	})
}

func TestContainsValue(t *testing.T) {
	for _, c := range []struct {
		body, s string
		want    bool
	}{
		{`{"lvef": 27.822}`, "27.822", true},
		{`<td>27.822</td>`, "27.822", true},
		{`{"lvef":27.822}`, "27.822", true},
		{`"2026-12-06T20:31:27.822345Z"`, "27.822", false},
		{`"20:31:27.822Z"`, "27.822", false},
		{`127.8221`, "27.822", false},
		{`x 127.822 y 27.822`, "27.822", true},
		{`[0,1,1,0]`, "0,1,1,0", true},
	} {
		if got := containsValue(c.body, c.s); got != c.want {
			t.Errorf("containsValue(%q, %q) = %v, want %v", c.body, c.s, got, c.want)
		}
	}
}
