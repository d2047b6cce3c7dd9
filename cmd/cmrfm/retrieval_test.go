package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/internal/cohorttest"
	"github.com/cmrfm/cmrfm/retrieval"
)

// TestRetrievalCommands runs the search-engine commands as a user would,
// on a 12-study phantom cohort and a 1-epoch tiny pretraining:
// pretrain → embed → search (text, study, JSON) → zeroshot → evaluate
// classification and evaluate retrieval; then a damaged study (exit 3)
// and an unknown study key (exit 1, the file named).
func TestRetrievalCommands(t *testing.T) {
	dir := t.TempDir()
	c := cohorttest.Build(t, dir, 12, 48, 16, 3)
	cfg := filepath.Join(dir, "pt.yaml")
	os.WriteFile(cfg, []byte("data:\n  views: [4CH]\n  augmix: false\n  min_size: 32\n  max_size: 32\n  flip_prob: 0\n  train_split: all\n  val_split: \"\"\n"+
		"trainer:\n  epochs: 1\n  batch_size: 4\n  progress: false\n"), 0o644)
	pt := filepath.Join(dir, "pt")
	if out, code := runCmd(t, "pretrain", "--preset", "tiny", "--config", cfg, "--store", c.Root, "--reports", c.ReportsPath, "--out", pt); code != 0 {
		t.Fatalf("pretrain: exit %d\n%s", code, out)
	}
	ckpt := filepath.Join(pt, "checkpoints", "last.safetensors")
	emb := filepath.Join(dir, "emb.h5")
	out, code := runCmd(t, "embed", "--checkpoint", ckpt, "--store", c.Root, "--reports", c.ReportsPath, "--out", emb, "--batch", "4")
	if code != 0 || !strings.Contains(out, "12 studies (12 views, 12 clips), 12 reports") {
		t.Fatalf("embed: exit %d\n%s", code, out)
	}
	if out, code := runCmd(t, "embed", "--checkpoint", ckpt, "--store", c.Root, "--reports", c.ReportsPath, "--out", emb); code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("embed again: exit %d\n%s", code, out)
	}

	out, code = runCmd(t, "search", "--index", emb, "--text", "dilated left ventricle with severely reduced systolic function", "--top", "3", "--reports", c.ReportsPath)
	if code != 0 || !strings.Contains(out, "rank  study") || !strings.Contains(out, "report of study") || !strings.Contains(out, "cosine") {
		t.Fatalf("search --text: exit %d\n%s", code, out)
	}
	key := c.Index.Rows[0].Filename()
	out, code = runCmd(t, "search", "--index", emb, "--study", key, "--top", "4", "--json")
	if code != 0 {
		t.Fatalf("search --study: exit %d\n%s", code, out)
	}
	var res retrieval.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("search --json: %v\n%s", err, out)
	}
	if res.Study != key || len(res.Studies) != 4 || len(res.Reports) != 4 || res.Studies[0].Rank != 1 || res.Studies[0].Score < res.Studies[3].Score {
		t.Fatalf("search --json: %+v", res)
	}
	qf := filepath.Join(dir, "queries.txt")
	os.WriteFile(qf, []byte("Pericardial effusion.\n\nstudy:"+key+"\n"), 0o644)
	out, code = runCmd(t, "search", "--index", emb, "--queries", qf, "--top", "2", "--json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var r1, r2 retrieval.Result
	if code != 0 || len(lines) != 2 || json.Unmarshal([]byte(lines[0]), &r1) != nil || json.Unmarshal([]byte(lines[1]), &r2) != nil ||
		r1.Query != "Pericardial effusion." || r2.Study != key || len(r2.Studies) != 2 {
		t.Fatalf("search --queries: exit %d\n%s", code, out)
	}
	if out, code := runCmd(t, "search", "--index", emb, "--study", "no-such.h5"); code != 1 || !strings.Contains(out, emb) || !strings.Contains(out, "no-such.h5") {
		t.Fatalf("unknown study: exit %d\n%s", code, out)
	}

	zs := filepath.Join(dir, "zs")
	out, code = runCmd(t, "zeroshot", "--index", emb, "--labels", c.IndexPath, "--prompts", "builtin:phantom", "--targets", "dcm,hcm", "--out", zs)
	if code != 0 || !strings.Contains(out, "scored 12 studies for [dcm hcm]") {
		t.Fatalf("zeroshot: exit %d\n%s", code, out)
	}
	out, code = runCmd(t, "evaluate", "classification", "--pred", zs, "--direction", "<", "--out", "-")
	if code != 0 || !strings.Contains(out, `"dcm"`) || !strings.Contains(out, `"hcm"`) {
		t.Fatalf("evaluate classification of zero-shot: exit %d\n%s", code, out)
	}
	out, code = runCmd(t, "evaluate", "retrieval", "--index", emb, "--json")
	var rr []retrieval.RetrievalResult
	if code != 0 || json.Unmarshal([]byte(out), &rr) != nil || len(rr) != 1 || rr[0].Pairs != 12 || rr[0].Pool != 12 || len(rr[0].VideoToText) != 3 {
		t.Fatalf("evaluate retrieval: exit %d\n%s", code, out)
	}
	plots := filepath.Join(dir, "plots")
	out, code = runCmd(t, "evaluate", "retrieval", "--index", emb, "--index", emb, "--name", "a", "--name", "b", "--pool", "4", "--plot", plots)
	if code != 0 || !strings.Contains(out, "chance") || !strings.Contains(out, "ties count against the model") {
		t.Fatalf("evaluate retrieval table: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(plots, "retrieval-recall.png")); err != nil {
		t.Fatal(err)
	}
	if out, code := runCmd(t, "zeroshot", "--print-prompts", "builtin:paper"); code != 0 || !strings.Contains(out, "Hypertrophic.Cardiomyopathy:") {
		t.Fatalf("--print-prompts: exit %d", code)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("labels:\n  dcm:\n    positive: [Dilated.]\n    negative: []\n"), 0o644)
	if out, code := runCmd(t, "zeroshot", "--index", emb, "--labels", c.IndexPath, "--prompts", bad, "--out", zs); code != 1 || !strings.Contains(out, "bad.yaml") {
		t.Fatalf("empty prompts: exit %d\n%s", code, out)
	}

	// A damaged study: the others are embedded, the command exits 3 and names it.
	st := filepath.Join(dir, "store2")
	if err := os.CopyFS(st, os.DirFS(c.Root)); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(c.Index.Rows[2].Path(st), []byte("broken"), 0o644)
	out, code = runCmd(t, "embed", "--checkpoint", ckpt, "--store", st, "--out", filepath.Join(dir, "emb2.h5"))
	if code != 3 || !strings.Contains(out, "skipped "+c.Index.Rows[2].Filename()) || !strings.Contains(out, "11 studies") {
		t.Fatalf("damaged study: exit %d\n%s", code, out)
	}
}
