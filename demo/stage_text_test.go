package demo

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/text"
)

func TestStageText(t *testing.T) {
	r := &Run{Opts: Options{Out: t.TempDir()}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	res, err := stageText(context.Background(), r)
	if err != nil || !strings.HasPrefix(res.Summary, "skipped") {
		t.Fatalf("without reports: %+v, %v", res, err)
	}
	reports := `{"study_key": "phantom_0001-study_0001.h5", "text": "FINDINGS:\nNormal LV size. LVEF 62%.\nIMPRESSION: Normal study."}
{"study_key": "phantom_0002-study_0002.h5", "text": ""}
`
	if err := os.MkdirAll(r.Path("store"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r.Path("store", "reports.jsonl"), []byte(reports), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err = stageText(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(r.Opts.Out, "text", "reports.json"); !slices.Equal(res.Outputs, []string{want}) {
		t.Errorf("outputs %v", res.Outputs)
	}
	idx, err := text.LoadIndex(res.Outputs[0])
	if err != nil {
		t.Fatal(err)
	}
	rep := idx.Studies["phantom_0001-study_0001.h5"]
	if rep == nil || !slices.Equal(rep.Sentences, []string{"Normal LV size.", "LVEF 62%.", "Normal study."}) {
		t.Fatalf("index %+v", idx)
	}
	if len(idx.Skipped) != 1 || idx.Skipped[0].Reason != "empty report" {
		t.Errorf("skipped %+v", idx.Skipped)
	}
	if !strings.Contains(res.Summary, "indexed 1 reports: 3 sentences") {
		t.Errorf("summary %q", res.Summary)
	}
}
