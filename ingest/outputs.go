package ingest

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cmrfm/cmrfm/store"
)

// identifyingColumn reports label columns that must not leave ingest.
func identifyingColumn(name string) bool {
	l := strings.ToLower(name)
	for _, k := range []string{"patient", "name", "mrn", "accession", "birth", "dob", "address", "phone", "email", "ssn", "study_key", "studyinstanceuid", "study_uid"} {
		if strings.Contains(l, k) {
			return true
		}
	}
	return false
}

// readTable reads a CSV (or, for .jsonl, JSON lines of flat objects) as a
// header and rows of strings.
func readTable(path string) ([]string, []map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	if strings.HasSuffix(strings.ToLower(path), ".jsonl") {
		var head []string
		seen := map[string]bool{}
		var rows []map[string]string
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<26)
		for line := 1; sc.Scan(); line++ {
			if strings.TrimSpace(sc.Text()) == "" {
				continue
			}
			var obj map[string]any
			if err := json.Unmarshal(sc.Bytes(), &obj); err != nil {
				return nil, nil, fmt.Errorf("%s line %d: %w", path, line, err)
			}
			row := map[string]string{}
			var keys []string
			for k := range obj {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				row[k] = fmt.Sprint(obj[k])
				if s, ok := obj[k].(string); ok {
					row[k] = s
				}
				if !seen[k] {
					seen[k] = true
					head = append(head, k)
				}
			}
			rows = append(rows, row)
		}
		return head, rows, sc.Err()
	}
	cr := csv.NewReader(f)
	cr.FieldsPerRecord = -1
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(recs) == 0 {
		return nil, nil, fmt.Errorf("%s: empty", path)
	}
	head := recs[0]
	head[0] = strings.TrimPrefix(head[0], "\ufeff")
	var rows []map[string]string
	for i, rec := range recs[1:] {
		if len(rec) != len(head) {
			return nil, nil, fmt.Errorf("%s line %d: %d fields, header has %d", path, i+2, len(rec), len(head))
		}
		row := map[string]string{}
		for j, h := range head {
			row[h] = rec[j]
		}
		rows = append(rows, row)
	}
	return head, rows, nil
}

// byStudyID maps study pseudonyms to written entries.
func byStudyID(all []*Entry) map[string]*Entry {
	m := map[string]*Entry{}
	for _, e := range all {
		if e.Status == StatusOK {
			m[e.StudyID] = e
		}
	}
	return m
}

// writeIndex writes <out>/index.csv, the dataset index in the reference's
// master_csv shape, with the labels (keyed by AccessionNumber) joined by
// pseudonym and identifying columns dropped.
func (r *runner) writeIndex(all []*Entry) (string, error) {
	idx := &store.Index{Columns: []string{"parent_folder", "accession", "split"}}
	var labels map[string]map[string]string
	var labelCols []string
	hasSplit := false
	if r.cfg.Labels != "" {
		head, rows, err := readTable(r.cfg.Labels)
		if err != nil {
			return "", fmt.Errorf("ingest: labels: %w", err)
		}
		if !contains(head, r.cfg.LabelKey) {
			return "", fmt.Errorf("ingest: labels %s: no key column %q (have %s)", r.cfg.Labels, r.cfg.LabelKey, strings.Join(head, ","))
		}
		var dropped []string
		for _, h := range head {
			switch {
			case h == "split":
				hasSplit = true
			case h == r.cfg.LabelKey || identifyingColumn(h):
				dropped = append(dropped, h)
			default:
				labelCols = append(labelCols, h)
			}
		}
		r.log.Info("labels joined by pseudonym", "columns", strings.Join(labelCols, ","), "dropped as identifying", strings.Join(dropped, ","))
		labels = map[string]map[string]string{}
		for _, row := range rows {
			labels[r.pseudo.Pseudonym("study", row[r.cfg.LabelKey])] = row
		}
		idx.Columns = append(idx.Columns, labelCols...)
	}
	written := byStudyID(all)
	// Labels carried by the inputs themselves (ACDC Info.cfg).
	var inputCols []string
	for _, e := range written {
		for k := range e.Labels {
			if !contains(inputCols, k) && !contains(labelCols, k) {
				inputCols = append(inputCols, k)
			}
		}
	}
	sort.Strings(inputCols)
	idx.Columns = append(idx.Columns, inputCols...)
	ids := make([]string, 0, len(written))
	for id := range written {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	matched := 0
	for _, id := range ids {
		e := written[id]
		row := store.IndexRow{ParentFolder: filepath.Dir(filepath.ToSlash(e.Output)), Accession: filepath.Base(e.Output), Values: map[string]string{}}
		for _, c := range inputCols {
			row.Values[c] = e.Labels[c]
		}
		if l, ok := labels[id]; ok {
			matched++
			for _, c := range labelCols {
				row.Values[c] = l[c]
			}
			if hasSplit {
				row.Split = l["split"]
			}
		}
		idx.Rows = append(idx.Rows, row)
	}
	// Studies without a split from the labels get one by patient.
	rest := &store.Index{Columns: idx.Columns}
	var at []int
	for i, row := range idx.Rows {
		if row.Split == "" {
			rest.Rows = append(rest.Rows, row)
			at = append(at, i)
		}
	}
	if len(rest.Rows) > 0 {
		f := r.cfg.SplitFractions
		if err := rest.AssignSplits(f[0], f[1], f[2], r.cfg.SplitSeed); err != nil {
			return "", err
		}
		for k, i := range at {
			idx.Rows[i].Split = rest.Rows[k].Split
		}
	}
	if labels != nil {
		r.log.Info("labels", "studies with labels", matched, "studies without", len(ids)-matched, "label rows without a study", len(labels)-matched)
	}
	path := filepath.Join(r.cfg.Out, "index.csv")
	if err := writeAtomicLines(path, idx.Write); err != nil {
		return "", fmt.Errorf("ingest: %w", err)
	}
	return path, nil
}

// writeReports writes <out>/reports.jsonl: {"study_key", "text"} per written
// study with a report, keyed by the store's study key, the text
// de-identified (see reportDeid) — made when the study was processed, with
// its DICOM names and identifiers.
func (r *runner) writeReports(all []*Entry) (string, error) {
	d := r.reports
	written := byStudyID(all)
	type rep struct {
		Key  string `json:"study_key"`
		Text string `json:"text"`
	}
	var out []rep
	unmatched, stale := 0, 0
	for id, row := range d.rows {
		e, ok := written[id]
		if !ok {
			unmatched++
			continue
		}
		t, fresh := d.report(e, row)
		if !fresh {
			stale++
		}
		out = append(out, rep{e.Key, t})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	if unmatched > 0 {
		r.log.Warn("reports without an ingested study", "count", unmatched)
	}
	if stale > 0 {
		r.log.Warn("reports changed since their study was ingested: de-identified without the study's DICOM names", "count", stale)
	}
	path := filepath.Join(r.cfg.Out, "reports.jsonl")
	err := writeAtomicLines(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, x := range out {
			if err := enc.Encode(x); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("ingest: %w", err)
	}
	return path, nil
}

// writeCrosswalk merges this run's pseudonym ↔ identifier pairs into the
// crosswalk CSV (written only when the configuration names one).
func (r *runner) writeCrosswalk(fresh []*Entry) error {
	head := []string{"unit", "unit_path", "patient_pseudonym", "patient_id", "study_pseudonym", "accession_number", "study_instance_uid", "key"}
	rows := map[string][]string{}
	if _, old, err := readTable(r.cfg.Crosswalk); err == nil {
		for _, o := range old {
			rec := make([]string, len(head))
			for i, h := range head {
				rec[i] = o[h]
			}
			rows[rec[0]+"\x00"+rec[4]] = rec
		}
	}
	for _, e := range fresh {
		if e.identity == nil {
			continue
		}
		id := e.identity
		rec := []string{e.Unit, id.UnitPath, e.Patient, id.PatientID, e.StudyID, id.Accession, id.StudyUID, e.Key}
		rows[rec[0]+"\x00"+rec[4]] = rec
	}
	keys := make([]string, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	err := writeAtomicLines(r.cfg.Crosswalk, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		cw.Write(head)
		for _, k := range keys {
			cw.Write(rows[k])
		}
		cw.Flush()
		return cw.Error()
	})
	if err != nil {
		return fmt.Errorf("ingest: crosswalk: %w", err)
	}
	return os.Chmod(r.cfg.Crosswalk, 0o600)
}

func contains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}
