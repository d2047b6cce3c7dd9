package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

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
	cmd.AddCommand(newTextIndexCmd(a), newTextTokenizeCmd(a), newTextSentencesCmd(a))
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
				return errors.New("text index: --reports and --out are required")
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
			return nil
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
				return fmt.Errorf("--max-length %d: want 0 (no limit) or at least 2", maxLength)
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
