package pull

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/cmrfm/cmrfm/dicom"
	"github.com/cmrfm/cmrfm/dicomweb"
)

// accessionColumns are the header names ReadAccessions recognises.
var accessionColumns = []string{"accession", "accession_number", "accessionnumber", "acc", "study_key"}

// ReadAccessions reads accession numbers from a CSV file: the column named
// accession, accession_number, AccessionNumber or study_key, or the only
// column of a file without such a header. Empty cells and lines starting
// with '#' are skipped; duplicates are kept once.
func ReadAccessions(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pull: accessions: %w", err)
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	rows, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("pull: accessions %s: %w", path, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("pull: accessions %s: the file is empty", path)
	}
	col := -1
	head := rows[0]
	for i, h := range head {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		for _, want := range accessionColumns {
			if h == want && col < 0 {
				col = i
			}
		}
	}
	switch {
	case col >= 0:
		rows = rows[1:]
	case len(head) == 1:
		col = 0
	default:
		return nil, fmt.Errorf("pull: accessions %s: %d columns and none is named accession, accession_number, AccessionNumber or study_key", path, len(head))
	}
	var out []string
	seen := map[string]bool{}
	for _, r := range rows {
		if col >= len(r) {
			continue
		}
		a := strings.TrimSpace(r[col])
		if a != "" && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("pull: accessions %s: no accession numbers", path)
	}
	return out, nil
}

// ParseQuery parses QIDO-RS matching keys written as a URL query
// ("ModalitiesInStudy=MR&StudyDate=20240101-20241231").
func ParseQuery(s string) (url.Values, error) {
	q, err := url.ParseQuery(s)
	if err != nil {
		return nil, fmt.Errorf("pull: --query %q: %w", s, err)
	}
	for k := range q {
		switch strings.ToLower(k) {
		case "limit", "offset", "includefield", "fuzzymatching":
			return nil, fmt.Errorf("pull: --query: %s is set by pull, not a matching key", k)
		}
	}
	if len(q) == 0 {
		return nil, fmt.Errorf("pull: --query %q has no matching key", s)
	}
	return q, nil
}

// missing is a requested key that matched no study.
type missing struct{ kind, key string }

// search resolves the requests to studies, in request order (each query's
// matches sorted by StudyInstanceUID), each study once.
func (p *puller) search(ctx context.Context) ([]*studyState, []missing, error) {
	var out []*studyState
	var notFound []missing
	seen := map[string]bool{}
	add := func(kind, key string, found []*dicom.DataSet) {
		sort.Slice(found, func(i, j int) bool {
			return found[i].String(dicom.TagStudyInstanceUID) < found[j].String(dicom.TagStudyInstanceUID)
		})
		if len(found) == 0 && kind != "query" {
			notFound = append(notFound, missing{kind, key})
		}
		for _, ds := range found {
			uid := ds.String(dicom.TagStudyInstanceUID)
			if seen[uid] {
				continue
			}
			seen[uid] = true
			out = append(out, &studyState{uid: uid, accession: ds.String(dicom.TagAccessionNumber), request: kind + ":" + key})
		}
	}
	run := func(kind, key string, q url.Values) error {
		found, err := p.client.SearchStudies(ctx, q)
		if err != nil {
			if dicomweb.IsStatus(err, http.StatusNotFound) {
				return fmt.Errorf("%w (is --server the DICOMweb root, e.g. http://host:8042/dicom-web for Orthanc?)", err)
			}
			return err
		}
		// A server may ignore an unknown key and answer everything: keep
		// only exact matches on the keys pull asks for.
		var keep []*dicom.DataSet
		for _, ds := range found {
			switch kind {
			case "study":
				if ds.String(dicom.TagStudyInstanceUID) != key {
					continue
				}
			case "accession":
				if ds.String(dicom.TagAccessionNumber) != key {
					continue
				}
			}
			keep = append(keep, ds)
		}
		add(kind, key, keep)
		return nil
	}
	for _, uid := range p.opts.Studies {
		if err := p.acquire(ctx, func() error { return run("study", uid, url.Values{"StudyInstanceUID": {uid}}) }); err != nil {
			return nil, nil, err
		}
	}
	for _, acc := range p.opts.Accessions {
		if err := p.acquire(ctx, func() error { return run("accession", acc, url.Values{"AccessionNumber": {acc}}) }); err != nil {
			return nil, nil, err
		}
	}
	if len(p.opts.Query) > 0 {
		if err := p.acquire(ctx, func() error { return run("query", p.opts.Query.Encode(), p.opts.Query) }); err != nil {
			return nil, nil, err
		}
	}
	return out, notFound, nil
}

// errNoRequest is returned when nothing was asked for.
var errNoRequest = errors.New("pull: nothing to pull: give --study, --accessions or --query")
