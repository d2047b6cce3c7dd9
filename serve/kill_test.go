package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cmrfm/cmrfm/serve/db"
)

// The kill test runs the server in a child process: this test binary,
// re-executed with childEnv set, serving the database named in
// CMRFM_SERVE_TEST_DSN and writing its URL to CMRFM_SERVE_TEST_URLFILE.
const childEnv = "CMRFM_SERVE_TEST_CHILD"

func childMain() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	urlFile := os.Getenv("CMRFM_SERVE_TEST_URLFILE")
	err := Run(ctx, os.Getenv("CMRFM_SERVE_TEST_DSN"), "127.0.0.1:0",
		Options{Lease: time.Second, Poll: 50 * time.Millisecond, IPRate: -1, TokenRate: -1},
		func(url string) { os.WriteFile(urlFile, []byte(url), 0o644) })
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	return 0
}

type child struct {
	cmd *exec.Cmd
	url string
}

func startChild(t *testing.T, dsn string) *child {
	t.Helper()
	urlFile := filepath.Join(t.TempDir(), "url")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1", "CMRFM_SERVE_TEST_DSN="+dsn, "CMRFM_SERVE_TEST_URLFILE="+urlFile)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(urlFile); err == nil && len(b) > 0 {
			return &child{cmd: cmd, url: string(b)}
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	t.Fatalf("server child did not start: %s", stderr.String())
	return nil
}

func (c *child) kill9() {
	c.cmd.Process.Signal(syscall.SIGKILL)
	c.cmd.Wait()
}

func (c *child) stop() {
	c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		c.kill9()
	}
}

// TestKillWhileScoring: kill -9 the server while it is scoring (and while
// uploads are arriving), restart it, and check that every accepted
// submission is there and is scored exactly once — on both databases.
func TestKillWhileScoring(t *testing.T) {
	engines(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		d, err := db.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		// A large test set makes each scoring take a while.
		c := newCohort(3000, 5)
		spec := TaskSpec{Slug: "lvef", Kind: db.Regression, Targets: []string{"lvef"}, DailyLimit: 10000, PlotMinBin: 10}
		st, err := ReadTaskStudies(bytes.NewReader(c.index), "index.csv", &spec)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := CreateTask(ctx, d, spec, st); err != nil {
			t.Fatal(err)
		}
		var toks []string
		for i := 0; i < 3; i++ {
			CreateTeam(ctx, d, fmt.Sprintf("team%d", i))
			tok, _, _ := IssueToken(ctx, d, fmt.Sprintf("team%d", i))
			toks = append(toks, tok)
		}
		var mu sync.Mutex
		accepted := map[int64]bool{}
		upload := func(url string, i int) error {
			body, ct := multipartBody(nil, upload{"file", "p.csv", c.lvefCSV(float64(1+i%7), uint64(i))})
			req, _ := http.NewRequest("POST", url+"/api/tasks/lvef/submissions", body)
			req.Header.Set("Authorization", "Bearer "+toks[i%len(toks)])
			req.Header.Set("Content-Type", ct)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err // not accepted: the server died mid-request
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 202 {
				return fmt.Errorf("upload %d: %d %s", i, resp.StatusCode, b)
			}
			var r SubmitResponse
			json.Unmarshal(b, &r)
			mu.Lock()
			accepted[r.ID] = true
			mu.Unlock()
			return nil
		}
		kills, n := 0, 0
		for round := 0; round < 6 && kills < 2; round++ {
			srv := startChild(t, dsn)
			for i := 0; i < 8; i++ {
				if err := upload(srv.url, n); err != nil {
					t.Fatal(err)
				}
				n++
			}
			// Keep uploading while waiting for a submission being scored.
			stopUp := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stopUp:
						return
					default:
					}
					mu.Lock()
					k := n
					n++
					mu.Unlock()
					if upload(srv.url, k) != nil {
						return
					}
				}
			}()
			deadline := time.Now().Add(30 * time.Second)
			killed := false
			for time.Now().Before(deadline) && !killed {
				if cnt, _ := d.QueueCounts(ctx); cnt[db.Running] > 0 {
					srv.kill9()
					killed = true
				}
				time.Sleep(2 * time.Millisecond)
			}
			close(stopUp)
			wg.Wait()
			if !killed {
				srv.stop()
				continue
			}
			// Was something really mid-scoring? Its lease is held by the dead process.
			if cnt, _ := d.QueueCounts(ctx); cnt[db.Running] > 0 {
				kills++
				t.Logf("round %d: killed with %v", round, cnt)
			}
		}
		if kills < 2 {
			t.Fatalf("managed only %d kills mid-scoring", kills)
		}
		srv := startChild(t, dsn)
		defer srv.stop()
		deadline := time.Now().Add(2 * time.Minute)
		for {
			cnt, _ := d.QueueCounts(ctx)
			if cnt[db.Queued] == 0 && cnt[db.Running] == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("queue not drained after restart: %v", cnt)
			}
			time.Sleep(100 * time.Millisecond)
		}
		subs, err := d.Submissions(ctx, 0, 0, "")
		if err != nil {
			t.Fatal(err)
		}
		inDB := map[int64]bool{}
		retried := 0
		for _, s := range subs {
			inDB[s.ID] = true
			if s.Status != db.Done || s.ScoreWrites != 1 {
				t.Errorf("submission %d: %s, scored %d times, attempts %d (%s)", s.ID, s.Status, s.ScoreWrites, s.Attempts, s.Error)
			}
			if s.Attempts > 1 {
				retried++
			}
		}
		for id := range accepted {
			if !inDB[id] {
				t.Errorf("accepted submission %d lost", id)
			}
		}
		if retried == 0 {
			t.Error("no submission was re-scored after a kill")
		}
		t.Logf("%d kills mid-scoring; %d submissions accepted (%d in the database), all scored exactly once; %d re-scored after a kill",
			kills, len(accepted), len(subs), retried)
		if _, data, err := d.Board(ctx, 1); err != nil || !strings.Contains(data, "team") {
			t.Fatalf("board after restart: %v", err)
		}
	})
}
