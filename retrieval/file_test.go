package retrieval

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/cmrfm/cmrfm/internal/testenv"
	"github.com/cmrfm/cmrfm/text"
)

func smallFile() *File {
	return &File{
		Checkpoint: "runs/pt/checkpoints/last.safetensors", CheckpointSHA256: "ab12", Config: "seed: 1\n",
		Settings: Settings{Split: "test", Views: []string{"4CH", "SAX"}, Pooling: PoolViews, Sentences: 5, SentenceSeed: 1, ClipSeed: 1, Fingerprint: "ff"},
		Text:     &TextInfo{Tokenizer: text.TokenizerInfo{Vocab: "builtin:pubmedbert", VocabSize: 30522, ClsID: 2, SepID: 3}},
		Dim:      2,
		Studies:  []string{"s_a-1.h5", "s_b-2.h5"}, Splits: []string{"test", "test"},
		StudyEmb:  []float32{1, 0, 0.6, 0.8},
		ViewStudy: []int32{0, 0, 1}, ViewName: []string{"4CH", "SAX", "4CH"}, ViewClips: []int32{1, 2, 1},
		ViewEmb:   []float32{1, 0, 1, 0, 0.6, 0.8},
		ClipStudy: []int32{0, 0, 0, 1}, ClipView: []string{"4CH", "SAX", "SAX", "4CH"},
		ClipSlice: []int32{0, 1, 2, 0}, ClipStart: []int32{0, 0, 16, 0}, ClipEnd: []int32{16, 16, 32, 16},
		ClipEmb: []float32{1, 0, 1, 0, 1, 0, 0.6, 0.8},
		Reports: []string{"s_a-1.h5", "s_c-3.h5"}, ReportStudy: []int32{0, -1}, ReportEmb: []float32{0, 1, -1, 0},
		SkippedStudies: []string{"s_c-3.h5"}, SkippedReasons: []string{"no usable clip in views [4CH SAX]"},
	}
}

// TestFileRoundTrip writes an embeddings file and reads it back
// unchanged; broken links and missing datasets are errors naming the
// file.
func TestFileRoundTrip(t *testing.T) {
	f := smallFile()
	p := filepath.Join(t.TempDir(), "e.h5")
	if err := f.Write(p); err != nil {
		t.Fatal(err)
	}
	g, err := ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f, g) {
		t.Fatalf("read back %+v\nwant %+v", g, f)
	}
	f.ReportStudy[0] = 7
	if err := f.Write(p); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(p); err == nil {
		t.Fatal("a report linked to study 7 of 2 was accepted")
	}
	empty := smallFile()
	empty.SkippedStudies, empty.SkippedReasons = nil, nil
	empty.Reports, empty.ReportStudy, empty.ReportEmb, empty.Text = nil, nil, nil, nil
	if err := empty.Write(p); err != nil {
		t.Fatal(err)
	}
	if g, err := ReadFile(p); err != nil || len(g.Reports) != 0 || g.Text != nil || len(g.SkippedStudies) != 0 {
		t.Fatalf("empty columns: %v %+v", err, g)
	}
	f.Dim = 3
	if err := f.Write(p); err == nil {
		t.Fatal("embeddings of the wrong width were written")
	}
}

// TestFileH5pyPandas: h5py reads every dataset of an embeddings file and
// pandas builds the documented tables from them (docs/retrieval.md).
func TestFileH5pyPandas(t *testing.T) {
	py := testenv.Python(t, "h5py", "numpy", "pandas")
	p := filepath.Join(t.TempDir(), "e.h5")
	if err := smallFile().Write(p); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "-c", `
import sys, json, h5py, numpy as np, pandas as pd
f = h5py.File(sys.argv[1], "r")
studies = pd.DataFrame(f["study_embedding"][:], index=f["study_keys"][:].astype(str))
clips = pd.DataFrame({"study": f["study_keys"][:].astype(str)[f["clip_study"][:]], "view": f["clip_view"][:].astype(str),
                      "slice": f["clip_slice"][:], "start": f["clip_start"][:], "end": f["clip_end"][:]})
reports = pd.DataFrame(f["report_embedding"][:], index=f["report_keys"][:].astype(str))
print(json.dumps({
  "datasets": sorted(f.keys()),
  "study_shape": list(f["study_embedding"].shape), "dtype": str(f["study_embedding"].dtype),
  "first_study": studies.index[0], "cos": float(studies.iloc[0] @ studies.iloc[1]),
  "sax_clips": int((clips.view == "SAX").sum()), "clip_end": clips["end"].tolist(),
  "report_study": f["report_study"][:].tolist(), "reports": reports.index.tolist(),
  "sha": f["checkpoint_sha256"][()].decode(), "settings": json.loads(f["settings"][()]),
  "text": json.loads(f["text"][()])["tokenizer"]["vocab"], "skipped": f["skipped_reason"][:].astype(str).tolist(),
}))`, p).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	var got struct {
		Datasets    []string
		StudyShape  []int `json:"study_shape"`
		Dtype       string
		FirstStudy  string  `json:"first_study"`
		Cos         float64 `json:"cos"`
		SAXClips    int     `json:"sax_clips"`
		ClipEnd     []int   `json:"clip_end"`
		ReportStudy []int   `json:"report_study"`
		Reports     []string
		SHA         string
		Settings    Settings
		Text        string
		Skipped     []string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(got.Datasets) != 24 || !reflect.DeepEqual(got.StudyShape, []int{2, 2}) || got.Dtype != "float32" || got.FirstStudy != "s_a-1.h5" ||
		got.Cos < 0.5999 || got.Cos > 0.6001 || got.SAXClips != 2 || !reflect.DeepEqual(got.ClipEnd, []int{16, 16, 32, 16}) ||
		!reflect.DeepEqual(got.ReportStudy, []int{0, -1}) || got.SHA != "ab12" || got.Settings.Pooling != PoolViews ||
		got.Text != "builtin:pubmedbert" || got.Skipped[0] != "no usable clip in views [4CH SAX]" || got.Reports[1] != "s_c-3.h5" {
		t.Fatalf("h5py/pandas read %+v", got)
	}
}
