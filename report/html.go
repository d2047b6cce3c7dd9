package report

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/cmrfm/cmrfm/internal/fsutil"
)

// HTMLOptions configures an HTML report (cmrfm report). Only Out and at
// least one of Runs or Predictions are required.
type HTMLOptions struct {
	// Runs are training run folders (cmrfm finetune or pretrain --out):
	// config.yaml, metrics.csv and checkpoints/last.safetensors are read
	// when present.
	Runs []string
	// Predictions are cmrfm predict tables (a CSV, or a folder of one CSV
	// per target), each optionally prefixed "NAME=" to name its target; the
	// task follows from the columns (preds: regression, probs:
	// classification). Without a name, a table inside a run folder of a
	// single target is named after that target, any other after its file.
	Predictions []string
	// Baselines pairs, by position, a baseline's predictions with
	// Predictions[i] ("" for none): the tables then show both models and
	// DeLong's test between them.
	Baselines []string
	// BaselineName labels the baseline in tables and figures ("baseline").
	BaselineName string
	// ModelName labels the model under evaluation ("model").
	ModelName string
	// Explain is a cmrfm explain output folder: its view-attention map,
	// UMAP and attention videos are shown and linked.
	Explain string
	// Store is the study store whose index.csv describes the cohort; by
	// default the store named in the first run's configuration.
	Store string
	// Index overrides the dataset index (default <Store>/index.csv).
	Index string
	// Out is the HTML file to write.
	Out string
	// Title heads the page ("cmrfm report").
	Title string
	// Version and Command are the provenance of this report (the cmrfm
	// version string and the command line).
	Version string
	Command []string
	// Now stamps the report; zero means time.Now(). Tests fix it.
	Now time.Time
	// Extremes is how many best and worst studies are highlighted per task
	// (0 means 3).
	Extremes int
}

// WriteHTML builds the report described by o and writes it to o.Out
// atomically (temporary file, fsync, rename). The page is one
// self-contained file: styles, scripts and figures are inline, nothing is
// fetched, and a Content-Security-Policy forbids any network request.
func WriteHTML(o HTMLOptions) (*Page, error) {
	if o.Out == "" {
		return nil, errors.New("report: no output file")
	}
	p, err := BuildPage(o)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := RenderHTML(&buf, p); err != nil {
		return nil, err
	}
	if err := fsutil.WriteFileAtomic(o.Out, func(w io.Writer) error { _, err := w.Write(buf.Bytes()); return err }); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return p, nil
}

//go:embed assets/report.html.tmpl
var pageTemplate string

//go:embed assets/report.css
var pageCSS string

//go:embed assets/report.js
var pageJS string

// RenderHTML writes p as the report page.
func RenderHTML(w io.Writer, p *Page) error {
	t, err := template.New("report").Funcs(template.FuncMap{
		"num":  fmtNum,
		"pval": pString,
		"pct":  func(v float64) string { return fmtNum(100*v, 1) + " %" },
		"css":  func() template.CSS { return template.CSS(pageCSS) },
		"js":   func() template.JS { return template.JS(pageJS) },
		"svg":  func(s string) template.HTML { return template.HTML(s) }, // our own renderer's output
		"img":  func(s string) template.URL { return template.URL(s) },   // data: URIs we built
		"inc":  func(i int) int { return i + 1 },
	}).Parse(pageTemplate)
	if err != nil {
		return fmt.Errorf("report: template: %w", err)
	}
	if err := t.Execute(w, p); err != nil {
		return fmt.Errorf("report: render: %w", err)
	}
	return nil
}

// BuildPage reads every input and computes the page's content.
func BuildPage(o HTMLOptions) (*Page, error) {
	if len(o.Runs) == 0 && len(o.Predictions) == 0 {
		return nil, errors.New("report: nothing to report: give at least one run folder or predictions table")
	}
	if len(o.Baselines) > len(o.Predictions) {
		return nil, fmt.Errorf("report: %d baselines for %d predictions tables", len(o.Baselines), len(o.Predictions))
	}
	if o.Title == "" {
		o.Title = "cmrfm report"
	}
	if o.ModelName == "" {
		o.ModelName = "model"
	}
	if o.BaselineName == "" {
		o.BaselineName = "baseline"
	}
	if o.Extremes <= 0 {
		o.Extremes = 3
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	p := &Page{Title: o.Title, ModelName: o.ModelName, BaselineName: o.BaselineName,
		Generated: now.UTC().Format("2006-01-02 15:04 UTC")}
	outDir := filepath.Dir(o.Out)

	for _, dir := range o.Runs {
		r, err := readRun(dir)
		if err != nil {
			return nil, err
		}
		p.Runs = append(p.Runs, r)
	}
	storeDir := o.Store
	if storeDir == "" {
		for _, r := range p.Runs {
			if r.Store != "" {
				storeDir = r.Store
				break
			}
		}
	}
	if storeDir != "" || o.Index != "" {
		c, err := readCohort(storeDir, o.Index)
		if err != nil {
			return nil, err
		}
		p.Cohort = c
	}
	var exp *explainOutputs
	if o.Explain != "" {
		var err error
		if exp, err = readExplain(o.Explain, outDir); err != nil {
			return nil, err
		}
		p.Explain = exp.section
	}
	for i, pred := range o.Predictions {
		base := ""
		if i < len(o.Baselines) {
			base = o.Baselines[i]
		}
		name, path := splitName(pred)
		if name == "" {
			name = targetOfRun(path, p.Runs)
		}
		secs, err := readTask(name, path, base, o, exp)
		if err != nil {
			return nil, err
		}
		p.Tasks = append(p.Tasks, secs...)
	}
	p.Provenance = provenance(o, p.Runs, now)
	return p, nil
}

// splitName parses "NAME=PATH" (a name without a path separator); anything
// else is a path.
func splitName(s string) (name, path string) {
	if n, p, ok := strings.Cut(s, "="); ok && n != "" && !strings.ContainsAny(n, `/\`) {
		return n, p
	}
	return "", s
}

// targetOfRun names a predictions table found inside the folder of a run
// with a single target after that target ("" otherwise).
func targetOfRun(path string, runs []*Run) string {
	ap, err := filepath.Abs(path)
	if err != nil {
		return ""
	}
	for _, r := range runs {
		ad, err := filepath.Abs(r.Dir)
		if err != nil || len(r.Targets) != 1 {
			continue
		}
		if rel, err := filepath.Rel(ad, ap); err == nil && !strings.HasPrefix(rel, "..") {
			return r.Targets[0]
		}
	}
	return ""
}

// Page is everything the report shows, computed; RenderHTML only formats it.
type Page struct {
	Title, Generated        string
	ModelName, BaselineName string
	Cohort                  *Cohort
	Tasks                   []*Task
	Runs                    []*Run
	Explain                 *ExplainSection
	Provenance              Provenance
}

// Provenance says what produced the report and its inputs.
type Provenance struct {
	Version, Command, Go, Platform, CPU, Generated string
	Cores                                          int
	Inputs                                         []InputFile
}

// InputFile is one input with its size and SHA-256.
type InputFile struct {
	Role, Path, SHA256 string
	Size               int64
}

func provenance(o HTMLOptions, runs []*Run, now time.Time) Provenance {
	pv := Provenance{Version: o.Version, Command: strings.Join(o.Command, " "), Go: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH, Cores: runtime.NumCPU(), CPU: cpuModel(),
		Generated: now.UTC().Format(time.RFC3339)}
	if pv.Version == "" {
		pv.Version = "devel"
	}
	add := func(role, path string) {
		if path == "" {
			return
		}
		f := InputFile{Role: role, Path: path}
		if h, n, err := hashFile(path); err == nil {
			f.SHA256, f.Size = h, n
		}
		pv.Inputs = append(pv.Inputs, f)
	}
	for _, r := range runs {
		add("checkpoint of run "+r.Name, r.Checkpoint)
	}
	for _, p := range o.Predictions {
		_, p = splitName(p)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			add("predictions", p)
		}
	}
	for _, p := range o.Baselines {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			add("baseline predictions", p)
		}
	}
	sort.SliceStable(pv.Inputs, func(i, j int) bool { return pv.Inputs[i].Role < pv.Inputs[j].Role })
	return pv
}

func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// cpuModel reads the processor name on Linux ("" elsewhere).
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
