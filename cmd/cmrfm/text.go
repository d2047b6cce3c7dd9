package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cmrfm/cmrfm/ingest"
	"github.com/cmrfm/cmrfm/internal/fsutil"
	"github.com/cmrfm/cmrfm/text"
)

func newTextCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "text",
		Short: "Report sentences, BERT WordPiece ids and the report index",
		Long: `text turns free-text reports into what pretraining samples: sentences,
BERT WordPiece ids identical to Hugging Face's tokenizers, and the report index.

--vocab takes a vocab.txt, a Hugging Face tokenizer.json, or a built-in
vocabulary: builtin:pubmedbert (the default, the paper's PubMedBERT uncased
vocabulary) or builtin:bert-base-uncased.`,
	}
	cmd.AddCommand(newTextIndexCmd(a), newTextTokenizeCmd(a), newTextSentencesCmd(a), newTextDeidCmd(a))
	return cmd
}

const defaultVocab = "builtin:" + text.DefaultBuiltin

func addSplitterFlags(cmd *cobra.Command, s *text.Splitter) {
	f := cmd.Flags()
	f.BoolVar(&s.CommaLineBreaks, "comma-line-breaks", false, "read commas that stand for line breaks as line breaks (Kaggle MTSamples exports)")
	f.BoolVar(&s.KeepHeaders, "keep-headers", false, "keep section headers (\"FINDINGS:\") as sentences of their own")
	f.StringSliceVar(&s.Abbreviations, "abbrev", nil, "extra abbreviations after which a period never ends a sentence (comma-separated)")
}

func newTextIndexCmd(a *app) *cobra.Command {
	var (
		reports, out, vocab, studies, studiesColumn string
		o                                           text.IndexOptions
	)
	cmd := &cobra.Command{
		Use:   "index --reports FILE --out reports.json",
		Short: "Split and tokenize every report and write the report index",
		Long: `index reads reports from a CSV, TSV or JSON-lines file (one report per row,
a study key column and a text column), splits each into sentences, tokenizes
every sentence, and writes the report index: JSON keyed by study, with the
sentences, their sections and WordPiece ids, and the vocabulary's sha256.
Rows that give no entry (empty report, no key, repeated key, no study with
that key in --studies, unreadable row) are listed under "skipped" with the
reason; studies in --studies without a report are listed under "missing".

--studies takes the dataset index (master_csv: keys are
parent_folder-accession, as the reference loader names studies), a CSV with
the column --studies-column, or a list with one key a line.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if reports == "" || out == "" {
				return usageError{errors.New("text index: --reports and --out are required")}
			}
			tok, err := text.Load(vocab)
			if err != nil {
				return err
			}
			if studies != "" {
				if o.Studies, err = text.ReadStudyKeys(studies, studiesColumn); err != nil {
					return err
				}
			}
			o.VocabName = vocab
			idx, err := text.BuildIndexFile(reports, tok, o)
			if err != nil {
				return err
			}
			if err := idx.WriteFile(out); err != nil {
				return err
			}
			printIndexStats(a, idx, out)
			// A report of a study the store does not have is not a failure;
			// an unreadable, empty or repeated one is.
			failed := 0
			for _, s := range idx.Skipped {
				if s.Reason != "no study with this key" {
					failed++
				}
			}
			return outcome("text index", failed, failed+len(idx.Studies))
		},
	}
	f := cmd.Flags()
	f.StringVar(&reports, "reports", "", "reports file (.csv, .tsv, or JSON lines)")
	f.StringVar(&out, "out", "", "index file to write")
	f.StringVar(&vocab, "vocab", defaultVocab, "vocab.txt, tokenizer.json or builtin:NAME")
	f.StringVar(&o.Format, "format", "", "csv, tsv or jsonl (default: by extension)")
	f.StringVar(&o.KeyColumn, "key-column", "study_key", "column holding the study key")
	f.StringVar(&o.TextColumn, "text-column", "text", "column holding the report text")
	f.StringVar(&studies, "studies", "", "known study keys: master_csv, CSV or list; reports of other keys are skipped")
	f.StringVar(&studiesColumn, "studies-column", "", "key column of a --studies CSV (default: parent_folder-accession)")
	addSplitterFlags(cmd, &o.Splitter)
	return cmd
}

func printIndexStats(a *app, idx *text.Index, out string) {
	s := idx.Stats()
	fmt.Fprintf(a.stdout, "%s: %d studies, %d sentences, %d tokens (%d [UNK]); vocab sha256 %s\n",
		out, s.Studies, s.Sentences, s.Tokens, s.Unknown, idx.Tokenizer.VocabSHA256)
	reasons := make([]string, 0, len(s.Skipped))
	for r := range s.Skipped {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		fmt.Fprintf(a.stdout, "  skipped %d: %s\n", s.Skipped[r], r)
	}
	if s.Missing > 0 {
		fmt.Fprintf(a.stdout, "  %d studies have no report (listed under \"missing\")\n", s.Missing)
	}
}

// eachLine calls fn for every line of r (a JSON string per line with
// jsonInput); long lines are fine.
func eachLine(r io.Reader, jsonInput bool, fn func(s string) error) error {
	br := bufio.NewReaderSize(r, 1<<16)
	for n := 1; ; n++ {
		line, err := br.ReadString('\n')
		if len(line) > 0 {
			line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
			if jsonInput {
				var s string
				if jerr := json.Unmarshal([]byte(line), &s); jerr != nil {
					return fmt.Errorf("stdin line %d: not a JSON string: %w", n, jerr)
				}
				line = s
			}
			if ferr := fn(line); ferr != nil {
				return ferr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("stdin line %d: %w", n, err)
		}
	}
}

func newTextTokenizeCmd(a *app) *cobra.Command {
	var (
		vocab     string
		maxLength int
		jsonInput bool
	)
	cmd := &cobra.Command{
		Use:   "tokenize [--vocab V] [--max-length N] < texts",
		Short: "Print the BERT WordPiece ids of each input line as a JSON array",
		Long: `tokenize reads one text per line from standard input and prints its ids,
[CLS] and [SEP] included, as a JSON array on a line of its own. --max-length
cuts longer encodings (the final [SEP] is kept); nothing is padded.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if maxLength < 0 || maxLength == 1 {
				return usagef("--max-length %d: want 0 (no limit) or at least 2", maxLength)
			}
			tok, err := text.Load(vocab)
			if err != nil {
				return err
			}
			if maxLength == 0 {
				maxLength = tok.MaxLength()
			}
			w := bufio.NewWriter(a.stdout)
			defer w.Flush()
			return eachLine(cmd.InOrStdin(), jsonInput, func(s string) error {
				ids := tok.Encode(s, 0).IDs
				if maxLength > 0 && len(ids) > maxLength {
					ids = tok.Encode(s, maxLength).IDs
				}
				b, _ := json.Marshal(ids)
				w.Write(b)
				return w.WriteByte('\n')
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&vocab, "vocab", defaultVocab, "vocab.txt, tokenizer.json or builtin:NAME")
	f.IntVar(&maxLength, "max-length", 0, "cut encodings to this many tokens (0: no limit, or a tokenizer.json's truncation)")
	f.BoolVar(&jsonInput, "json-input", false, "each input line is a JSON string (for texts with line breaks)")
	return cmd
}

func newTextSentencesCmd(a *app) *cobra.Command {
	var (
		s         text.Splitter
		jsonInput bool
	)
	cmd := &cobra.Command{
		Use:   "sentences < reports",
		Short: "Print the sentences of each input line as a JSON array of strings",
		Long: `sentences reads one report per line from standard input (with --json-input,
one JSON string per line, so reports can keep their line breaks) and prints
its sentences as a JSON array of strings on a line of its own.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := bufio.NewWriter(a.stdout)
			defer w.Flush()
			return eachLine(cmd.InOrStdin(), jsonInput, func(line string) error {
				ss := s.Sentences(line)
				if ss == nil {
					ss = []string{}
				}
				b, _ := json.Marshal(ss)
				w.Write(b)
				return w.WriteByte('\n')
			})
		},
	}
	addSplitterFlags(cmd, &s)
	cmd.Flags().BoolVar(&jsonInput, "json-input", false, "each input line is a JSON string (for reports with line breaks)")
	return cmd
}

func newTextDeidCmd(a *app) *cobra.Command {
	var (
		reports, out, dates, saltFile string
		jsonInput                     bool
		o                             text.TableDeidOptions
	)
	cmd := &cobra.Command{
		Use:   "deid [--reports FILE --out FILE] [--dates remove|shift] < reports",
		Short: "Replace names, dates, MRNs, accession and phone numbers, e-mail and street addresses in report text",
		Long: `deid replaces the identifiers in free-text reports by typed placeholders —
[NAME], [DATE], [MRN], [ACCESSION], [PHONE], [EMAIL], [ADDRESS], [ID] — and
keeps clinical numbers ("LVEF 55 %", "2.5 x 3.1 cm", "120/80 mmHg") as they are.
Names are found after titles, credentials and labels ("Dr", "MD", "Reported
by:", "cc:"), and, with --name-columns, wherever a row's own names occur;
--id-columns does the same for its MRNs and accession numbers. Measured
recall and precision are in docs/reliability.md. ingest --reports runs the
same de-identification with the names and IDs of each study's DICOM headers.

--dates remove (default) writes [DATE]; --dates shift moves every date it can
read by a per-patient offset of 1 to --max-shift-days days into the past,
derived from --salt-file (the salt ingest uses: the same patient gets the
same offset) and the --patient-column value.

With --reports, the table (CSV, TSV or JSON lines) is copied to --out with
the --text-column de-identified and every other column kept. Without it,
each line of standard input is one report (a JSON string with --json-input)
and its de-identified text is printed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			mode, err := text.ParseDateMode(dates)
			if err != nil {
				return usageError{err}
			}
			o.Deid.Dates = mode
			if mode == text.DatesShift {
				if saltFile == "" {
					return usageError{errors.New("text deid: --dates shift needs --salt-file")}
				}
				if o.ShiftKey, _, err = ingest.LoadOrCreateSalt(saltFile); err != nil {
					return err
				}
			}
			if reports == "" {
				if out != "" {
					return usageError{errors.New("text deid: --out needs --reports (without it, standard input → standard output)")}
				}
				if mode == text.DatesShift {
					return usageError{errors.New("text deid: --dates shift needs --reports and --patient-column")}
				}
				w := bufio.NewWriter(a.stdout)
				defer w.Flush()
				return eachLine(cmd.InOrStdin(), jsonInput, func(s string) error {
					d, _ := text.Deidentify(s, nil, o.Deid)
					if jsonInput {
						b, _ := json.Marshal(d)
						d = string(b)
					}
					w.WriteString(d)
					return w.WriteByte('\n')
				})
			}
			if out == "" {
				return usageError{errors.New("text deid: --reports needs --out")}
			}
			f, err := os.Open(reports)
			if err != nil {
				return fmt.Errorf("text deid: %w", err)
			}
			defer f.Close()
			var st *text.DeidStats
			err = fsutil.WriteFileAtomic(out, func(w io.Writer) error {
				var err error
				st, err = text.DeidentifyTable(f, reports, w, o)
				return err
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s: %d reports, %d changed;", out, st.Rows, st.Changed)
			for _, k := range text.PHIKinds() {
				if n := st.Found[k]; n > 0 {
					fmt.Fprintf(a.stdout, " %s %d", k, n)
				}
			}
			fmt.Fprintln(a.stdout)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&reports, "reports", "", "reports table (.csv, .tsv or JSON lines)")
	f.StringVar(&out, "out", "", "de-identified table to write (same format)")
	f.StringVar(&o.Format, "format", "", "csv, tsv or jsonl (default: by extension)")
	f.StringVar(&o.TextColumn, "text-column", "text", "column holding the report text")
	f.StringSliceVar(&o.NameColumns, "name-columns", nil, "columns holding each row's own person names (removed from its text)")
	f.StringSliceVar(&o.IDColumns, "id-columns", nil, "columns holding each row's own identifiers (MRN, accession; removed from its text)")
	f.StringVar(&dates, "dates", "remove", "remove (→ [DATE]) or shift (per-patient offset; needs --salt-file and --patient-column)")
	f.StringVar(&saltFile, "salt-file", "", "secret salt for date shifting (the ingest salt file; created if absent)")
	f.StringVar(&o.PatientColumn, "patient-column", "", "column identifying the patient (date shift)")
	f.IntVar(&o.MaxShiftDays, "max-shift-days", 365, "largest date shift in days")
	f.BoolVar(&o.Deid.DayFirst, "day-first", false, "read ambiguous dates such as 03/04/2021 as day/month when shifting")
	f.BoolVar(&jsonInput, "json-input", false, "each input line is a JSON string (reports with line breaks); output likewise")
	return cmd
}
