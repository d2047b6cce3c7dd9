package text

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
)

// TableDeidOptions configures DeidentifyTable.
type TableDeidOptions struct {
	// Format is "csv", "tsv" or "jsonl"; "" decides by the name's extension.
	Format string
	// TextColumn holds the report text (default "text").
	TextColumn string
	// NameColumns and IDColumns hold each row's own identifiers (patient
	// name, MRN, accession, …): their values are removed from that row's
	// text wherever they occur; the columns themselves are kept.
	NameColumns, IDColumns []string
	// PatientColumn keys the per-patient date offset (DatesShift).
	PatientColumn string
	// ShiftKey is the secret the per-patient offset derives from
	// (ShiftDays); needed for DatesShift.
	ShiftKey []byte
	// MaxShiftDays bounds the offset (0: 365).
	MaxShiftDays int
	Deid         DeidOptions
}

// DeidStats counts what DeidentifyTable did.
type DeidStats struct {
	Rows, Changed int
	Found         map[PHIKind]int
}

// DeidentifyTable copies a table of reports from r to w with the text
// column de-identified (Deidentify); every other column and the row order
// are kept. name is the input's name for messages and the format.
func DeidentifyTable(r io.Reader, name string, w io.Writer, o TableDeidOptions) (*DeidStats, error) {
	if o.TextColumn == "" {
		o.TextColumn = "text"
	}
	if o.Format == "" {
		switch strings.ToLower(filepath.Ext(name)) {
		case ".csv":
			o.Format = "csv"
		case ".tsv":
			o.Format = "tsv"
		default:
			o.Format = "jsonl"
		}
	}
	if o.Deid.Dates == DatesShift && (o.PatientColumn == "" || len(o.ShiftKey) == 0) {
		return nil, errors.New("text: shifting dates needs a patient column and a secret key (salt)")
	}
	st := &DeidStats{Found: map[PHIKind]int{}}
	deid := func(get func(col string) string, text string) string {
		k := &Known{}
		for _, c := range o.NameColumns {
			if v := strings.TrimSpace(get(c)); v != "" {
				k.Names = append(k.Names, v)
			}
		}
		for _, c := range o.IDColumns {
			if v := strings.TrimSpace(get(c)); v != "" {
				k.MRNs = append(k.MRNs, v)
			}
		}
		do := o.Deid
		if do.Dates == DatesShift {
			do.ShiftDays = ShiftDays(o.ShiftKey, get(o.PatientColumn), o.MaxShiftDays)
		}
		out, spans := Deidentify(text, k, do)
		st.Rows++
		if len(spans) > 0 {
			st.Changed++
		}
		for _, s := range spans {
			st.Found[s.Kind]++
		}
		return out
	}
	switch o.Format {
	case "csv", "tsv":
		return st, deidCSV(r, name, w, o, deid)
	case "jsonl":
		return st, deidJSONL(r, name, w, o, deid)
	}
	return nil, fmt.Errorf("text: report format %q: want csv, tsv or jsonl", o.Format)
}

func deidCSV(r io.Reader, name string, w io.Writer, o TableDeidOptions, deid func(func(string) string, string) string) error {
	cr := csv.NewReader(bufio.NewReader(r))
	cw := csv.NewWriter(w)
	if o.Format == "tsv" {
		cr.Comma, cr.LazyQuotes, cw.Comma = '\t', true, '\t'
	}
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("text: %s: header: %w", name, err)
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\uFEFF")
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	for _, c := range append(append([]string{o.TextColumn}, o.NameColumns...), o.IDColumns...) {
		if _, ok := col[c]; !ok {
			return fmt.Errorf("text: %s: no column %q (columns: %s)", name, c, strings.Join(header, ", "))
		}
	}
	if o.PatientColumn != "" {
		if _, ok := col[o.PatientColumn]; !ok {
			return fmt.Errorf("text: %s: no column %q (columns: %s)", name, o.PatientColumn, strings.Join(header, ", "))
		}
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	ti := col[o.TextColumn]
	for rec := 2; ; rec++ {
		fields, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("text: %s: %w", name, err)
		}
		get := func(c string) string {
			if i, ok := col[c]; ok && i < len(fields) {
				return fields[i]
			}
			return ""
		}
		if ti >= len(fields) {
			return fmt.Errorf("text: %s: record %d has %d fields, fewer than the header", name, rec, len(fields))
		}
		fields[ti] = deid(get, fields[ti])
		if err := cw.Write(fields); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func deidJSONL(r io.Reader, name string, w io.Writer, o TableDeidOptions, deid func(func(string) string, string) string) error {
	br := bufio.NewReader(r)
	bw := bufio.NewWriter(w)
	for line := 1; ; line++ {
		b, rerr := br.ReadBytes('\n')
		if len(bytes.TrimSpace(b)) > 0 {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(b, &m); err != nil {
				return fmt.Errorf("text: %s: line %d: %w", name, line, err)
			}
			get := func(c string) string {
				v, ok := m[c]
				if !ok {
					return ""
				}
				var s string
				if json.Unmarshal(v, &s) == nil {
					return s
				}
				return strings.Trim(string(v), `"`)
			}
			raw, ok := m[o.TextColumn]
			if !ok {
				return fmt.Errorf("text: %s: line %d: no column %q", name, line, o.TextColumn)
			}
			var txt string
			if err := json.Unmarshal(raw, &txt); err != nil {
				return fmt.Errorf("text: %s: line %d: column %s is not a string", name, line, o.TextColumn)
			}
			out, err := marshalNoEscape(deid(get, txt))
			if err != nil {
				return err
			}
			m[o.TextColumn] = out
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			bw.WriteByte('{')
			for i, k := range keys {
				if i > 0 {
					bw.WriteByte(',')
				}
				kb, _ := marshalNoEscape(k)
				bw.Write(kb)
				bw.WriteByte(':')
				bw.Write(m[k])
			}
			bw.WriteString("}\n")
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return fmt.Errorf("text: %s: line %d: %w", name, line, rerr)
		}
	}
	return bw.Flush()
}

func marshalNoEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}
