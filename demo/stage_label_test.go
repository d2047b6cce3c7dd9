package demo

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
)

func TestStageLabel(t *testing.T) {
	r := &Run{Opts: Options{Out: t.TempDir()}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	res, err := stageLabel(context.Background(), r)
	if err != nil || !strings.HasPrefix(res.Summary, "skipped") {
		t.Fatalf("without reports: %+v, %v", res, err)
	}
	os.MkdirAll(r.Path("store"), 0o755)
	reports := `{"study_key": "p1-s1.h5", "text": "IMPRESSION: Appearances are consistent with hypertrophic cardiomyopathy."}
{"study_key": "p2-s2.h5", "text": "IMPRESSION: Structurally normal heart. No features of hypertrophic cardiomyopathy."}
{"study_key": "p3-s3.h5", "text": ""}
`
	index := "parent_folder,accession,split,normal,dcm,hcm,infarct,effusion\np1,s1.h5,train,0,0,1,0,0\np2,s2.h5,val,1,0,0,0,0\np3,s3.h5,test,1,0,0,0,0\n"
	os.WriteFile(r.Path("store", "reports.jsonl"), []byte(reports), 0o644)
	os.WriteFile(r.Path("store", "index.csv"), []byte(index), 0o644)
	res, err = stageLabel(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Summary, "labelled 3 reports with the phantom rules (1 failed)") || !strings.Contains(res.Summary, "hcm 1.00") ||
		len(res.Outputs) != 2 {
		t.Errorf("result %+v", res)
	}
}
