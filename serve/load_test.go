package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cmrfm/cmrfm/serve/db"
)

// Load test sizes (the issue's): 50 concurrent clients, 5,000 page and API
// requests, 200 submissions.
const (
	loadClients     = 50
	loadRequests    = 5000
	loadSubmissions = 200
	loadP99         = 100 * time.Millisecond
)

// LoadReport is what TestLoad measured.
type LoadReport struct {
	Engine                  string
	Requests, Submissions   int
	Errors                  int
	P50, P95, P99, Max      time.Duration
	Wall, Drain             time.Duration
	CPUPerRequest           time.Duration // process CPU (server, scorer and clients) per page request
	LoadAverage             float64
	ScoredOnce, ScoredTwice int
}

// runLoad drives a real server on a loopback port: loadClients goroutines
// share loadRequests GETs (leaderboard, task, team and submission pages and
// their JSON) and loadSubmissions uploads, then wait for the queue to
// drain. Rate limits are off: every client is 127.0.0.1 (TestRateLimits
// covers them).
func runLoad(t *testing.T, dsn string) LoadReport {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := newEnv(t, dsn, Options{})
	e.ts.Close() // serve through Serve (its timeouts and its worker) instead
	spec := TaskSpec{Slug: "load", Kind: db.Regression, Targets: []string{"lvef"}, DailyLimit: 10000}
	c := newCohort(300, 11)
	st, err := ReadTaskStudies(strings.NewReader(string(c.index)), "index.csv", &spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CreateTask(ctx, e.db, spec, st); err != nil {
		t.Fatal(err)
	}
	const teams = 20
	var toks []string
	for i := 0; i < teams; i++ {
		toks = append(toks, e.team(fmt.Sprintf("team %02d", i)))
	}
	uploads := make([][]byte, 10)
	for i := range uploads {
		uploads[i] = c.lvefCSV(float64(2+i), uint64(i))
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + l.Addr().String()
	done := make(chan error, 1)
	go func() { done <- e.s.Serve(ctx, l) }()
	tr := &http.Transport{MaxIdleConnsPerHost: loadClients}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	// One scored submission first, so the pages have something to show.
	body, ct := multipartBody(nil, upload{"file", "p.csv", uploads[0]})
	req, _ := http.NewRequest("POST", base+"/api/tasks/load/submissions", body)
	req.Header.Set("Authorization", "Bearer "+toks[0])
	req.Header.Set("Content-Type", ct)
	if resp, err := client.Do(req); err != nil || resp.StatusCode != 202 {
		t.Fatalf("first upload: %v", err)
	} else {
		resp.Body.Close()
	}
	for i := 0; i < 100; i++ {
		if n, _ := e.db.CountDone(ctx, 2); n > 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Warm-up: each token's first use runs argon2id once (deliberately
	// slow); later requests hit the verified-token cache.
	for _, tok := range toks {
		req, _ := http.NewRequest("GET", base+"/api/tasks", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
		}
	}
	paths := []string{"/tasks/load", "/api/tasks/load/leaderboard", "/tasks/load/about", "/api/tasks", "/",
		"/teams/1", "/api/teams/2", "/submissions/1", "/api/submissions/1"}
	var mu sync.Mutex
	var lat []time.Duration
	var errs []string
	var wg sync.WaitGroup
	cpu0 := cpuTime()
	t0 := time.Now()
	for w := 0; w < loadClients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok := toks[w%teams]
			perClient := loadRequests / loadClients
			subs := loadSubmissions / loadClients
			if w == 0 {
				subs-- // the first upload above
			}
			every := perClient / max(subs, 1)
			for i := 0; i < perClient; i++ {
				if subs > 0 && i%every == every/2 {
					subs--
					body, ct := multipartBody(nil, upload{"file", "p.csv", uploads[(w+i)%len(uploads)]})
					req, _ := http.NewRequest("POST", base+"/api/tasks/load/submissions", body)
					req.Header.Set("Authorization", "Bearer "+tok)
					req.Header.Set("Content-Type", ct)
					resp, err := client.Do(req)
					if err != nil || resp.StatusCode != 202 {
						mu.Lock()
						errs = append(errs, fmt.Sprintf("upload: %v %v", err, resp))
						mu.Unlock()
					}
					if resp != nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				}
				p := paths[(w+i)%len(paths)]
				req, _ := http.NewRequest("GET", base+p, nil)
				if strings.Contains(p, "submissions/") {
					req.Header.Set("Authorization", "Bearer "+toks[0])
				}
				s := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				d := time.Since(s)
				mu.Lock()
				lat = append(lat, d)
				if err != nil || resp.StatusCode != 200 {
					errs = append(errs, fmt.Sprintf("GET %s: %v %v", p, err, resp))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	wall := time.Since(t0)
	deadline := time.Now().Add(3 * time.Minute)
	for {
		cnt, _ := e.db.QueueCounts(ctx)
		if cnt[db.Queued] == 0 && cnt[db.Running] == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue not drained: %v", cnt)
		}
		time.Sleep(50 * time.Millisecond)
	}
	drain := time.Since(t0)
	cpu := cpuTime() - cpu0
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
	r := LoadReport{Engine: string(e.db.Engine()), Requests: len(lat), Errors: len(errs),
		P50: q(0.50), P95: q(0.95), P99: q(0.99), Max: lat[len(lat)-1], Wall: wall, Drain: drain,
		CPUPerRequest: cpu / time.Duration(len(lat)), LoadAverage: loadAverage()}
	subs, _ := e.db.Submissions(context.Background(), 0, 0, "")
	r.Submissions = len(subs)
	for _, s := range subs {
		switch {
		case s.Status == db.Done && s.ScoreWrites == 1:
			r.ScoredOnce++
		case s.ScoreWrites > 1:
			r.ScoredTwice++
		}
	}
	for i, e := range errs {
		if i < 5 {
			t.Error(e)
		}
	}
	return r
}

// TestLoad checks the load bar on both databases: 0 errors, every
// submission scored exactly once, p99 page latency ≤ 100 ms. With
// CMRFM_LOAD_REPORT=FILE it appends the figures as JSON lines (the
// benchmark script bench/serve-load.sh turns them into the table of
// docs/benchmarks.md).
func TestLoad(t *testing.T) {
	engines(t, func(t *testing.T, dsn string) {
		r := runLoad(t, dsn)
		t.Logf("%s: %d requests + %d submissions by %d clients in %v (queue drained at %v): p50 %v p95 %v p99 %v max %v; %d errors; %d scored once, %d more than once; CPU per request %v (scoring included); load %.1f, GOMAXPROCS %d",
			r.Engine, r.Requests, r.Submissions, loadClients, r.Wall.Round(time.Millisecond), r.Drain.Round(time.Millisecond),
			r.P50, r.P95, r.P99, r.Max, r.Errors, r.ScoredOnce, r.ScoredTwice, r.CPUPerRequest, r.LoadAverage, runtime.GOMAXPROCS(0))
		if f := os.Getenv("CMRFM_LOAD_REPORT"); f != "" {
			b, _ := json.Marshal(r)
			fh, err := os.OpenFile(f, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			if err == nil {
				fh.Write(append(b, '\n'))
				fh.Close()
			}
		}
		if r.Errors != 0 || r.Requests != loadRequests || r.Submissions != loadSubmissions || r.ScoredOnce != loadSubmissions {
			t.Fatalf("%d errors, %d requests, %d submissions, %d scored exactly once", r.Errors, r.Requests, r.Submissions, r.ScoredOnce)
		}
		// The latency bar is only meaningful when the test gets the
		// machine: on a box running other jobs (load above its CPU count)
		// it is reported, not gated (bench/serve-load.sh measures it on a
		// quiet machine).
		if load := loadAverage(); load > float64(runtime.NumCPU()) {
			t.Logf("NOT GATED: load average %.1f on %d CPUs; p99 %v (bar %v)", load, runtime.NumCPU(), r.P99, loadP99)
		} else if r.P99 > loadP99 {
			t.Fatalf("p99 page latency %v > %v (load average %.1f)", r.P99, loadP99, load)
		}
	})
}

// loadAverage is the one-minute load average (0 where unknown).
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	var l float64
	fmt.Sscan(string(b), &l)
	return l
}

// cpuTime is the process's user + system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
