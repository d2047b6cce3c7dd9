package report

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ExplainSection shows the outputs of cmrfm explain: the view-attention map,
// the UMAP of the embeddings and links to the attention videos.
type ExplainSection struct {
	Dir     string
	Figures []Figure
	// Videos lists studies with attention videos and their link (relative
	// to the report).
	Videos []KV
	// Clips are the explained clips listed in attention/attention.json:
	// each clip's contact sheet inlined, with links to its videos.
	Clips []ExplainClip
}

// ExplainClip is one clip cmrfm explain attention rendered.
type ExplainClip struct {
	Study, Name, View string
	// Sheet is the clip's contact sheet (a PNG data: URI), "" when absent
	// or too large to inline.
	Sheet string
	// Links are the clip's videos (input, rollout, one grid per block),
	// relative to the report.
	Links []KV
}

// attentionManifest is the part of cmrfm explain attention's
// attention.json the report reads.
type attentionManifest struct {
	Clips []struct {
		Study, Name, View string
		Files             struct {
			Dir          string   `json:"dir"`
			Input        string   `json:"input_video"`
			Rollout      string   `json:"rollout"`
			Grids        []string `json:"grids"`
			ContactSheet string   `json:"contact_sheet"`
		} `json:"files"`
	} `json:"clips"`
}

// readAttentionManifest lists the clips of an attention folder's
// attention.json (none when the file is absent).
func readAttentionManifest(attDir, reportDir string) ([]ExplainClip, error) {
	p := filepath.Join(attDir, "attention.json")
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	var m attentionManifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("report: %s: %w", p, err)
	}
	var out []ExplainClip
	for _, c := range m.Clips {
		f := c.Files
		if f.Dir == "" || !filepath.IsLocal(filepath.FromSlash(f.Dir)) {
			return nil, fmt.Errorf("report: %s: clip %q: folder %q is not inside the attention folder", p, c.Name, f.Dir)
		}
		dir := filepath.Join(attDir, filepath.FromSlash(f.Dir))
		ec := ExplainClip{Study: c.Study, Name: c.Name, View: c.View}
		link := func(label, name string) {
			if name != "" && filepath.IsLocal(name) {
				ec.Links = append(ec.Links, KV{label, relLink(reportDir, filepath.Join(dir, name))})
			}
		}
		link("input", f.Input)
		link("rollout", f.Rollout)
		for i, g := range f.Grids {
			link(fmt.Sprintf("block %d heads", i), g)
		}
		if f.ContactSheet != "" && filepath.IsLocal(f.ContactSheet) {
			if fig, err := imageFigure(filepath.Join(dir, f.ContactSheet)); err == nil && fig != nil {
				ec.Sheet = fig.DataURI
			} else if err != nil {
				return nil, err
			}
		}
		out = append(out, ec)
	}
	return out, nil
}

type explainOutputs struct {
	section *ExplainSection
	// study key → link to the study's attention outputs
	links map[string]string
}

// maxInlineImage bounds a PNG inlined as a data: URI (larger ones are linked).
const maxInlineImage = 4 << 20

// readExplain gathers a cmrfm explain folder: figures (SVG inlined, PNG as
// data: URIs) of the view-attention map and the UMAP, and per study the
// folder of its attention videos, linked relative to the report's folder.
func readExplain(dir, reportDir string) (*explainOutputs, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("report: explain folder: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("report: explain folder %s: not a folder", dir)
	}
	e := &explainOutputs{section: &ExplainSection{Dir: dir}, links: map[string]string{}}
	var figs []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if d.IsDir() {
			// attention/<study key>/… : one folder per study
			if len(parts) == 2 && parts[0] == "attention" {
				e.links[parts[1]] = relLink(reportDir, p)
				return fs.SkipDir
			}
			return nil
		}
		if parts[0] == "views" || parts[0] == "umap" {
			switch strings.ToLower(filepath.Ext(p)) {
			case ".svg", ".png":
				figs = append(figs, p)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("report: explain folder: %w", err)
	}
	// Prefer SVG over the PNG of the same figure.
	sort.Strings(figs)
	seen := map[string]bool{}
	for _, p := range figs {
		if strings.HasSuffix(p, ".svg") {
			seen[strings.TrimSuffix(p, ".svg")] = true
		}
	}
	for _, p := range figs {
		stem := strings.TrimSuffix(strings.TrimSuffix(p, ".svg"), ".png")
		if strings.HasSuffix(p, ".png") && seen[stem] {
			continue
		}
		f, err := imageFigure(p)
		if err != nil {
			return nil, err
		}
		if f != nil {
			e.section.Figures = append(e.section.Figures, *f)
		}
	}
	if e.section.Clips, err = readAttentionManifest(filepath.Join(dir, "attention"), reportDir); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(e.links))
	for k := range e.links {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		e.section.Videos = append(e.section.Videos, KV{k, e.links[k]})
	}
	return e, nil
}

func imageFigure(p string) (*Figure, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	title := strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
	if strings.HasSuffix(p, ".svg") {
		s := string(b)
		i := strings.Index(s, "<svg")
		if i < 0 {
			return nil, fmt.Errorf("report: %s: not an SVG image", p)
		}
		s = svgSize.ReplaceAllString(s[i:], `<svg role="img" aria-label="`+attrEscape(title)+`"`)
		return &Figure{Title: title, SVG: s}, nil
	}
	if len(b) > maxInlineImage {
		return nil, nil
	}
	return &Figure{Title: title, DataURI: "data:image/png;base64," + base64.StdEncoding.EncodeToString(b)}, nil
}

// studyLink is the link to a study's attention outputs, or "".
func (e *explainOutputs) studyLink(key string) string {
	if l, ok := e.links[key]; ok {
		return l
	}
	// Prediction tables name studies parent-accession.h5; explain may use
	// the key without the extension.
	return e.links[strings.TrimSuffix(key, ".h5")]
}

// relLink is target relative to the report's folder, slash-separated, or
// an absolute file path when no relative one exists.
func relLink(from, target string) string {
	af, err1 := filepath.Abs(from)
	at, err2 := filepath.Abs(target)
	if err1 == nil && err2 == nil {
		if r, err := filepath.Rel(af, at); err == nil {
			return filepath.ToSlash(r)
		}
	}
	return filepath.ToSlash(target)
}
