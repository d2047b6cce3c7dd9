package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/internal/testenv"
)

// plantedStudy is one phantom study re-dressed as a hospital export: the
// identifiers below go into its DICOM headers (dcmodify), its folder and
// file names, its report and its label row.
type plantedStudy struct {
	name, id, otherID, birth, accession, institution string
	referring, performing, operator, private, date   string
	folders                                          []string // folder names from the unit down (the last holds the series folders)
	file                                             string   // prefix of every file name
	as                                               string   // "folder", "tgz" or "zip"
	archive                                          string   // archive file name
}

var planted = []plantedStudy{
	{name: "ZYLBERSTEIN^QUENTINA^MARGARETE", id: "MRN88442211", otherID: "OTHERID4471902", birth: "19610304", accession: "ACC99887766",
		institution: "KWACZYNSKI MEMORIAL HEART INSTITUTE", referring: "THORNBURY^BARTHOLOMEW", performing: "VANTERPOOL^OTTOLINE",
		operator: "FEATHERSTONE^PERCIVAL", private: "PRIVSECRET-93317", date: "20210304",
		folders: []string{"MRN88442211", "ZYLBERSTEIN_QUENTINA_1961-03-04", "CMR_2021-03-04_ACC99887766"}, file: "ZYLBERSTEIN_Q", as: "folder"},
	{name: "OSTROWSKA^HELGA", id: "MRN55443322", otherID: "OTHERID3390417", birth: "19480717", accession: "ACC55664433",
		institution: "GRZEGORZEWSKI CARDIAC CENTRE", referring: "ABERNATHY^LEOPOLD", performing: "RAVENSCROFT^WINIFRED",
		operator: "QUILLFEATHER^DESMOND", private: "PRIVSECRET-44108", date: "20190612",
		folders: []string{"OSTROWSKA_HELGA", "19480717_MRN55443322"}, file: "OSTROWSKA_H", as: "tgz", archive: "OSTROWSKA_HELGA_MRN55443322.tgz"},
	{name: "QUISENBERRY^WENDELL", id: "MRN77110099", otherID: "OTHERID5528816", birth: "19770921", accession: "ACC7766554433",
		institution: "BLACKTHORNE VALLEY HOSPITAL", referring: "MERRIWEATHER^AUGUSTINA", performing: "HOLLINGSWORTH^EZEKIEL",
		operator: "PENDLEBURY^GWENDOLYN", private: "PRIVSECRET-70552", date: "20180115",
		folders: []string{"QUISENBERRY_WENDELL", "ACC7766554433"}, file: "QUISENBERRY_W", as: "zip", archive: "ACC7766554433.zip"},
}

// The NIfTI study, the garbage archive and the report-only identifiers.
const (
	niftiFolder  = "WOJCIECHOWSKI_ROSALIND_MRN33221100"
	niftiFile    = "WOJCIECHOWSKI_ROSALIND_4d.nii.gz"
	garbageTgz   = "KOWALCZYK_BEATA_1955-02-11.tgz"
	reportPhone  = "0113 496 0771"
	reportEmail  = "q.zylberstein@example.org"
	reportStreet = "42 Larkspur Avenue"
	reportCity   = "LS6 2QT"
)

// identifiers lists every planted string with the variants a leak could
// take: as written, lower-cased, and with ^ as a space, an underscore, or
// removed parts.
func identifiers(studyUIDs []string) []string {
	var out []string
	add := func(s string) {
		for _, v := range []string{s, strings.ToLower(s), strings.ReplaceAll(s, "^", " "), strings.ReplaceAll(s, "^", "_"),
			strings.ReplaceAll(s, " ", "^"), strings.ReplaceAll(s, " ", "_"), strings.ToLower(strings.ReplaceAll(s, "^", " "))} {
			if !strings.Contains(strings.Join(out, "\x00"), "\x00"+v+"\x00") {
				out = append(out, v)
			}
		}
	}
	for _, p := range planted {
		for _, s := range []string{p.name, p.id, p.otherID, p.birth, p.accession, p.institution, p.referring, p.performing,
			p.operator, p.private, p.date, p.archive, p.file} {
			if s != "" {
				add(s)
			}
		}
		for _, part := range strings.FieldsFunc(p.name+"^"+p.referring+"^"+p.performing+"^"+p.operator, func(r rune) bool { return r == '^' }) {
			add(part)
		}
		for _, f := range p.folders {
			add(f)
		}
		add(fmt.Sprintf("%s-%s-%s", p.birth[:4], p.birth[4:6], p.birth[6:]))
		add(fmt.Sprintf("%s/%s/%s", p.birth[6:], p.birth[4:6], p.birth[:4]))
	}
	for _, s := range []string{niftiFolder, niftiFile, "WOJCIECHOWSKI", "ROSALIND", garbageTgz, "KOWALCZYK", "BEATA", reportPhone,
		reportEmail, reportStreet, reportCity, "Larkspur", "TRUNCATED_ZYLBERSTEIN", "CORRUPT_ZYLBERSTEIN"} {
		add(s)
	}
	for _, u := range studyUIDs {
		add(u)
	}
	return out
}

// TestNoPlantedIdentifierLeaks builds a hospital export whose every place
// holds a distinct identifier — folder and file names at every depth,
// PatientName/ID/BirthDate, OtherPatientIDs, AccessionNumber,
// InstitutionName, physician and operator names, dates, a private tag,
// report text and identifying label columns — as a folder study with a
// truncated and a corrupt file, a .tgz and a .zip study, a garbage .tgz
// and a NIfTI study; runs ingest (with reports and labels), finetune,
// predict, evaluate and the demo on it; and searches every byte of every
// file they wrote, and everything they printed or logged at debug level,
// for every identifier in every variant.
func TestNoPlantedIdentifierLeaks(t *testing.T) {
	dcmodify := testenv.Tool(t, "dcmodify")
	dir := t.TempDir()
	ph := filepath.Join(dir, "phantom")
	if code, out, errOut := runCLI(t, "phantom", "--studies", "3", "--matrix", "32", "--frames", "8", "--seed", "4", "--out", ph); code != 0 {
		t.Fatalf("phantom: %d\n%s%s", code, out, errOut)
	}
	var rawTruth struct {
		Studies []map[string]any `json:"studies"`
	}
	b, err := os.ReadFile(filepath.Join(ph, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rawTruth); err != nil {
		t.Fatal(err)
	}
	export := filepath.Join(dir, "export") // the folder a user points ingest at
	var uids []string
	for i, p := range planted {
		st := rawTruth.Studies[i]
		uids = append(uids, st["study_instance_uid"].(string))
		for _, se := range st["series"].([]any) {
			uids = append(uids, se.(map[string]any)["series_instance_uid"].(string))
		}
		src := filepath.Join(ph, "dicom", st["study_folder"].(string))
		studyDir := filepath.Join(append([]string{dir, "staging", p.file}, p.folders...)...)
		// Series folders renamed after the patient, files too.
		series, err := os.ReadDir(src)
		if err != nil {
			t.Fatal(err)
		}
		var files []string
		for k, se := range series {
			sd := filepath.Join(studyDir, fmt.Sprintf("SER%02d_%s", k+1, p.file))
			if err := os.MkdirAll(sd, 0o755); err != nil {
				t.Fatal(err)
			}
			ims, _ := os.ReadDir(filepath.Join(src, se.Name()))
			for j, im := range ims {
				dst := filepath.Join(sd, fmt.Sprintf("%s_%04d.dcm", p.file, j+1))
				copyFile(t, filepath.Join(src, se.Name(), im.Name()), dst)
				files = append(files, dst)
			}
		}
		args := []string{"-nb", "-i", "(0010,0010)=" + p.name, "-i", "(0010,0020)=" + p.id, "-i", "(0010,0030)=" + p.birth,
			"-i", "(0010,1000)=" + p.otherID, "-i", "(0008,0050)=" + p.accession, "-i", "(0008,0080)=" + p.institution,
			"-i", "(0008,0090)=" + p.referring, "-i", "(0008,1050)=" + p.performing, "-i", "(0008,1070)=" + p.operator,
			"-i", "(0008,0020)=" + p.date, "-i", "(0008,0021)=" + p.date, "-i", "(0008,0022)=" + p.date,
			"-i", "(0009,0010)=GEMS_IDEN_01", "-i", "(0009,1001)=" + p.private}
		for start := 0; start < len(files); start += 200 {
			cmd := exec.Command(dcmodify, append(args, files[start:min(start+200, len(files))]...)...)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("dcmodify: %v\n%s", err, out)
			}
		}
		if i == 0 {
			// A truncated and a corrupt copy beside the good files.
			good, _ := os.ReadFile(files[0])
			last := filepath.Dir(files[0])
			os.WriteFile(filepath.Join(last, "TRUNCATED_ZYLBERSTEIN_0099.dcm"), good[:len(good)/3], 0o644)
			bad := bytes.Clone(good)
			for k := 400; k < len(bad); k += 7 {
				bad[k] ^= 0xA5
			}
			os.WriteFile(filepath.Join(last, "CORRUPT_ZYLBERSTEIN_0098.dcm"), bad, 0o644)
		}
		root := filepath.Join(dir, "staging", p.file)
		switch p.as {
		case "folder":
			if err := os.CopyFS(filepath.Join(export, "studies"), os.DirFS(root)); err != nil {
				t.Fatal(err)
			}
		case "tgz":
			writeTgz(t, root, filepath.Join(export, "archives", p.archive))
		case "zip":
			writeZip(t, root, filepath.Join(export, "archives", p.archive))
		}
	}
	os.WriteFile(filepath.Join(export, "archives", garbageTgz), []byte("not a gzip stream: KOWALCZYK BEATA 1955-02-11"), 0o644)
	nd := filepath.Join(export, "nifti", niftiFolder)
	os.MkdirAll(nd, 0o755)
	copyFile(t, filepath.Join(testenv.RepoRoot(t), "cine", "testdata", "nifti", "small_f32.nii.gz"), filepath.Join(nd, niftiFile))
	os.WriteFile(filepath.Join(nd, "Info.cfg"), []byte("ED: 1\nES: 2\nGroup: DCM\nHeight: 181\nNbFrame: 2\nWeight: 77\n"), 0o644)

	// Reports and labels keyed by accession, with identifying columns and text.
	var rep, lab strings.Builder
	rep.WriteString("accession,patient_name,mrn,report\n")
	lab.WriteString("accession,patient_name,mrn,dob,lvef,split\n")
	for i, p := range planted {
		given := strings.Split(p.name, "^")[1]
		family := strings.Split(p.name, "^")[0]
		text := fmt.Sprintf("Patient: %s %s (%s), DOB %s/%s/%s. Referred by Dr %s. FINDINGS: LVEF 55 %%, EDV 150 ml. "+
			"Findings discussed with Dr %s on %s, tel %s, e-mail %s. Home: %s, Leeds %s. Performed at %s.",
			title(given), title(family), p.id, p.birth[6:], p.birth[4:6], p.birth[:4], strings.ReplaceAll(p.referring, "^", " "),
			strings.ReplaceAll(p.performing, "^", " "), p.date, reportPhone, reportEmail, reportStreet, reportCity, p.institution)
		fmt.Fprintf(&rep, "%s,%s,%s,\"%s\"\n", p.accession, p.name, p.id, text)
		fmt.Fprintf(&lab, "%s,%s,%s,%s,%d,train\n", p.accession, p.name, p.id, p.birth, 40+10*i)
	}
	reports, labels := filepath.Join(dir, "reports.csv"), filepath.Join(dir, "labels.csv")
	os.WriteFile(reports, []byte(rep.String()), 0o644)
	os.WriteFile(labels, []byte(lab.String()), 0o644)

	// Run every command that reads these studies; keep what they print.
	outDir := filepath.Join(dir, "out")
	var printed bytes.Buffer
	cli := func(want []int, args ...string) {
		code, out, errOut := runCLI(t, append([]string{"--log-level", "debug"}, args...)...)
		printed.WriteString(out + errOut)
		ok := false
		for _, w := range want {
			ok = ok || code == w
		}
		if !ok {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
	}
	store := filepath.Join(outDir, "store")
	cfg := filepath.Join(dir, "ingest.yaml")
	os.WriteFile(cfg, []byte("report_key: accession\nreport_text: report\nlabel_key: accession\n"), 0o644)
	cli([]int{exitPartial}, "ingest", "--config", cfg, "--input", export, "--out", store, "--salt-file", filepath.Join(outDir, "salt"),
		"--frames", "original", "--channels", "1", "--reports", reports, "--labels", labels, "--workers", "2")
	// A rerun (everything resumed): the resume bookkeeping logs too.
	cli([]int{exitPartial}, "ingest", "--config", cfg, "--input", export, "--out", store, "--salt-file", filepath.Join(outDir, "salt"),
		"--frames", "original", "--channels", "1", "--reports", reports, "--labels", labels)
	run := filepath.Join(outDir, "run")
	cli([]int{exitOK}, "finetune", "--preset", "tiny-lvef", "--store", store, "--out", run, "--max-steps", "1", "--epochs", "1")
	preds := filepath.Join(outDir, "preds.csv")
	cli([]int{exitOK, exitPartial}, "predict", "--checkpoint", filepath.Join(run, "checkpoints", "last.safetensors"), "--store", store,
		"--out", preds, "--clips", filepath.Join(outDir, "clips.csv"), "--embeddings", filepath.Join(outDir, "emb.npz"))
	cli([]int{exitOK}, "evaluate", "regression", "--pred", preds, "--out", filepath.Join(outDir, "eval.csv"), "--plot", filepath.Join(outDir, "figures"))
	cli([]int{exitOK}, "demo", "--input", export, "--out", filepath.Join(outDir, "demo"))
	cli([]int{exitOK}, "store", "inspect", store)

	// The reports really were there to leak: ingest wrote them.
	if b, err := os.ReadFile(filepath.Join(store, "reports.jsonl")); err != nil || !bytes.Contains(b, []byte("[NAME]")) || !bytes.Contains(b, []byte("LVEF 55 %")) {
		t.Errorf("reports.jsonl: %v\n%s", err, b)
	}
	// Every kind of input reached ingest: the bad files are listed, the
	// garbage archive failed, the archives and the NIfTI study were written.
	man, err := os.ReadFile(filepath.Join(store, "manifest.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"bad_files":[{"file":`, "not gzip-compressed", `"rule":"nifti: 4-D short-axis cine"`} {
		if !bytes.Contains(man, []byte(want)) {
			t.Errorf("manifest lacks %s:\n%s", want, man)
		}
	}
	if n := bytes.Count(man, []byte(`"status":"ok"`)); n != 4 {
		t.Errorf("%d studies written, want 4 (folder, tgz, zip, NIfTI)", n)
	}
	// Search everything written and printed.
	ids := identifiers(uids)
	check := func(where string, data []byte) {
		for _, id := range ids {
			if len(id) >= 4 && bytes.Contains(data, []byte(id)) {
				i := bytes.Index(data, []byte(id))
				lo, hi := max(0, i-60), min(len(data), i+len(id)+60)
				t.Errorf("%s holds %q: …%q…", where, id, data[lo:hi])
			}
		}
	}
	check("the printed output and logs", printed.Bytes())
	n := 0
	filepath.WalkDir(outDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || p == filepath.Join(outDir, "salt") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Error(err)
			return nil
		}
		n++
		rel, _ := filepath.Rel(outDir, p)
		check(rel, b)
		check("the name "+rel, []byte(rel))
		return nil
	})
	if n < 20 {
		t.Errorf("only %d output files searched", n)
	}
	t.Logf("searched %d files and %d bytes of output for %d identifier variants", n, printed.Len(), len(ids))
}

func title(s string) string { return s[:1] + strings.ToLower(s[1:]) }

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// walkFiles lists the files under root, sorted, relative to root.
func walkFiles(t *testing.T, root string) []string {
	var out []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(out)
	return out
}

func writeTgz(t *testing.T, root, dst string) {
	t.Helper()
	os.MkdirAll(filepath.Dir(dst), 0o755)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, rel := range walkFiles(t, root) {
		b, _ := os.ReadFile(filepath.Join(root, rel))
		tw.WriteHeader(&tar.Header{Name: rel, Size: int64(len(b)), Mode: 0o644, Typeflag: tar.TypeReg})
		tw.Write(b)
	}
	tw.Close()
	zw.Close()
	os.WriteFile(dst, buf.Bytes(), 0o644)
}

func writeZip(t *testing.T, root, dst string) {
	t.Helper()
	os.MkdirAll(filepath.Dir(dst), 0o755)
	f, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, rel := range walkFiles(t, root) {
		w, _ := zw.Create(rel)
		src, _ := os.Open(filepath.Join(root, rel))
		io.Copy(w, src)
		src.Close()
	}
	zw.Close()
	f.Close()
}
