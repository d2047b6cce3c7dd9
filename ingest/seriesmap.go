package ingest

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"io"
	"strings"

	"github.com/cmrfm/cmrfm/cine"
)

//go:embed seriesmap.csv
var defaultSeriesMap string

// ViewExclude is the view a mapping rule gives to series that must never be
// used (a user mapping can exclude a description the defaults would map).
const ViewExclude cine.View = "exclude"

// Rule maps one normalised SeriesDescription to a view.
type Rule struct {
	Description string    // normalised: ' ' and '/' replaced by '_'
	View        cine.View // 4CH, 3CH, 2CH, SAX, LVOT (never loaded) or exclude
	Source      string    // "clinical", "ukbiobank" or the user file's name
	Priority    int       // lower wins within a view; user rules come first
}

// SeriesMap assigns views by exact SeriesDescription, as the reference's
// build_dataset.py does (docs/reference.md §1.8).
type SeriesMap struct {
	rules  []Rule
	byDesc map[string]int
}

// NormalizeDescription applies the reference's replacement of ' ' and '/'
// by '_' (cmr_toolkit dcm_to_array).
func NormalizeDescription(s string) string {
	return strings.NewReplacer(" ", "_", "/", "_").Replace(strings.TrimSpace(s))
}

// DefaultSeriesMap returns the reference toolkit's maps, shipped in the binary.
func DefaultSeriesMap() *SeriesMap {
	m, err := parseSeriesMap(strings.NewReader(defaultSeriesMap), "")
	if err != nil {
		panic("ingest: built-in series map: " + err.Error()) // a build defect, caught by tests
	}
	return m
}

// parseSeriesMap reads CSV rows series_description,view[,source]; '#' lines
// are comments. source overrides the third column when set.
func parseSeriesMap(r io.Reader, source string) (*SeriesMap, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	m := &SeriesMap{byDesc: map[string]int{}}
	line := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		line++
		if line == 1 && strings.EqualFold(strings.TrimSpace(rec[0]), "series_description") {
			continue
		}
		if len(rec) < 2 {
			return nil, fmt.Errorf("row %d: want series_description,view", line)
		}
		v := cine.View(strings.TrimSpace(rec[1]))
		switch strings.ToLower(string(v)) {
		case "exclude", "none", "ignore":
			v = ViewExclude
		}
		if !v.Canonical() && v != "LVOT" && v != ViewExclude {
			return nil, fmt.Errorf("row %d: view %q: want 4CH, 3CH, 2CH, SAX, LVOT or exclude", line, rec[1])
		}
		src := source
		if src == "" && len(rec) > 2 {
			src = strings.TrimSpace(rec[2])
		}
		m.add(Rule{Description: NormalizeDescription(rec[0]), View: v, Source: src})
	}
	return m, nil
}

func (m *SeriesMap) add(r Rule) {
	if _, dup := m.byDesc[r.Description]; dup {
		return // the reference keeps the first row for a name
	}
	r.Priority = len(m.rules)
	m.byDesc[r.Description] = len(m.rules)
	m.rules = append(m.rules, r)
}

// WithUser returns a map in which the user's rules (read from r, a CSV of
// series_description,view) come first — overriding the built-in rule for the
// same description and winning ties within a view — followed by the rest.
func (m *SeriesMap) WithUser(r io.Reader, name string) (*SeriesMap, error) {
	u, err := parseSeriesMap(r, "user:"+name)
	if err != nil {
		return nil, fmt.Errorf("series map %s: %w", name, err)
	}
	out := &SeriesMap{byDesc: map[string]int{}}
	for _, r := range u.rules {
		out.add(r)
	}
	for _, r := range m.rules {
		out.add(r)
	}
	return out, nil
}

// Lookup returns the rule for a SeriesDescription (normalised here).
func (m *SeriesMap) Lookup(desc string) (Rule, bool) {
	i, ok := m.byDesc[NormalizeDescription(desc)]
	if !ok {
		return Rule{}, false
	}
	return m.rules[i], true
}

// Len returns the number of rules.
func (m *SeriesMap) Len() int { return len(m.rules) }
