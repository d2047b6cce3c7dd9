package ingest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/cmrfm/cmrfm/internal/fsutil"
	"github.com/cmrfm/cmrfm/text"
)

// reportsDir holds, inside the store, one de-identified report per written
// study (<study pseudonym>.json), made while the study's DICOM identity is
// in memory; reports.jsonl is assembled from them, so a resumed run writes
// the same bytes as an uninterrupted one.
const reportsDir = ".cmrfm-reports"

// reportDeid de-identifies the reports of a run: it holds the report table
// by study pseudonym (the table is read once).
type reportDeid struct {
	cfg    Config
	pseudo *Pseudonymizer
	salt   []byte
	dates  text.DateMode
	head   []string
	rows   map[string]map[string]string // study pseudonym → report row
}

// newReportDeid reads the report table of cfg (nil without reports).
func newReportDeid(cfg Config, pseudo *Pseudonymizer, salt []byte) (*reportDeid, error) {
	if cfg.Reports == "" {
		return nil, nil
	}
	head, rows, err := readTable(cfg.Reports)
	if err != nil {
		return nil, fmt.Errorf("ingest: reports: %w", err)
	}
	for _, c := range []string{cfg.ReportKey, cfg.ReportText} {
		if !contains(head, c) {
			return nil, fmt.Errorf("ingest: reports %s: no column %q (have %s)", cfg.Reports, c, strings.Join(head, ","))
		}
	}
	mode, err := text.ParseDateMode(cfg.ReportDates)
	if err != nil {
		return nil, err
	}
	d := &reportDeid{cfg: cfg, pseudo: pseudo, salt: salt, dates: mode, head: head, rows: map[string]map[string]string{}}
	for _, row := range rows {
		d.rows[pseudo.Pseudonym("study", row[cfg.ReportKey])] = row
	}
	return d, nil
}

// deidReport is a study's de-identified report as kept in reportsDir.
type deidReport struct {
	// SourceSHA256 is the sha256 of the report text it was made from
	// (a changed report table is de-identified again).
	SourceSHA256 string         `json:"source_sha256"`
	Text         string         `json:"text"`
	Found        map[string]int `json:"found,omitempty"` // identifiers replaced, by type
}

func sourceSum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// known gathers a report's own identifiers: the study's DICOM identity (nil
// for none) and the report row's identifying columns.
func (d *reportDeid) known(id *studyIdentity, row map[string]string) *text.Known {
	k := &text.Known{}
	if id != nil {
		k.Names = append(k.Names, id.Names...)
		k.MRNs = append(append(k.MRNs, id.PatientID), id.OtherIDs...)
		k.Accessions = append(k.Accessions, id.Accession, id.StudyUID)
		if id.Institution != "" {
			k.Other = append(k.Other, id.Institution)
		}
	}
	for _, h := range d.head {
		v := strings.TrimSpace(row[h])
		if v == "" || h == d.cfg.ReportText {
			continue
		}
		switch l := strings.ToLower(h); {
		case h == d.cfg.ReportKey:
			k.Accessions = append(k.Accessions, v)
		case strings.Contains(l, "name") || strings.Contains(l, "physician") || strings.Contains(l, "doctor"):
			k.Names = append(k.Names, v)
		case identifyingColumn(h):
			k.MRNs = append(k.MRNs, v)
		}
	}
	return k
}

// text de-identifies one report row's text for a study of the patient
// with pseudonym patient (the key of the date shift).
func (d *reportDeid) text(id *studyIdentity, row map[string]string, patient string) deidReport {
	src := row[d.cfg.ReportText]
	k := d.known(id, row)
	out := deidReport{SourceSHA256: sourceSum(src)}
	if d.cfg.NoReportDeid {
		// Only the row's and the study's own identifiers, literally.
		t := src
		for _, v := range append(append(append(k.MRNs, k.Accessions...), k.Names...), k.Other...) {
			if v = strings.TrimSpace(v); len(v) >= 3 {
				t = strings.ReplaceAll(t, v, "[REDACTED]")
			}
		}
		out.Text = t
		return out
	}
	o := text.DeidOptions{Dates: d.dates}
	if d.dates == text.DatesShift {
		o.ShiftDays = text.ShiftDays(d.salt, patient, d.cfg.ReportDateShiftDays)
	}
	t, spans := text.Deidentify(src, k, o)
	out.Text = t
	if len(spans) > 0 {
		out.Found = map[string]int{}
		for _, s := range spans {
			out.Found[string(s.Kind)]++
		}
	}
	return out
}

// deidentify writes the de-identified report of a study about to be
// written (when the report table has one), while its DICOM identity is at
// hand. A nil receiver (no reports) does nothing.
func (d *reportDeid) deidentify(e *Entry, id *studyIdentity) error {
	if d == nil {
		return nil
	}
	row, ok := d.rows[e.StudyID]
	if !ok {
		return nil
	}
	rep := d.text(id, row, e.Patient)
	path := filepath.Join(d.cfg.Out, reportsDir, e.StudyID+".json")
	err := fsutil.WriteFileAtomic(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return enc.Encode(rep)
	})
	if err != nil {
		return fmt.Errorf("ingest: de-identified report: %w", withoutPath(err))
	}
	return nil
}

// report returns the de-identified text of a written study's report row:
// the one made with the study's identity, else (a report table changed
// since) one made from the row alone.
func (d *reportDeid) report(e *Entry, row map[string]string) (string, bool) {
	b, err := os.ReadFile(filepath.Join(d.cfg.Out, reportsDir, e.StudyID+".json"))
	if err == nil {
		var rep deidReport
		if json.Unmarshal(b, &rep) == nil && rep.SourceSHA256 == sourceSum(row[d.cfg.ReportText]) {
			return rep.Text, true
		}
	}
	return d.text(nil, row, e.Patient).Text, false
}
