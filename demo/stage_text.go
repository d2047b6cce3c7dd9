package demo

import (
	"context"
	"fmt"
	"os"

	"github.com/cmrfm/cmrfm/text"
)

// demoVocab is the built-in vocabulary the demo indexes reports with: the
// PubMedBERT vocabulary of the paper's text encoder.
const demoVocab = "builtin:pubmedbert"

// stageText splits and tokenizes the de-identified reports the ingest stage
// wrote (store/reports.jsonl: {"study_key", "text"} per line, keyed by the
// store's study keys) into the report index text/reports.json, as
// "cmrfm text index" would.
func stageText(ctx context.Context, r *Run) (Result, error) {
	in := r.Path("store", "reports.jsonl")
	if _, err := os.Stat(in); err != nil {
		return Result{Summary: "skipped: no reports (the ingest stage writes " + in + " when the cohort has reports)"}, nil
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	tok, err := text.Load(demoVocab)
	if err != nil {
		return Result{}, err
	}
	idx, err := text.BuildIndexFile(in, tok, text.IndexOptions{KeyColumn: "study_key", TextColumn: "text", VocabName: demoVocab})
	if err != nil {
		return Result{}, err
	}
	if len(idx.Studies) == 0 {
		return Result{}, fmt.Errorf("no usable report in %s (%d rows skipped)", in, len(idx.Skipped))
	}
	for _, s := range idx.Skipped {
		r.Log.Warn("report skipped", "study", s.Key, "line", s.Line, "reason", s.Reason)
	}
	out := r.Path("text", "reports.json")
	if err := idx.WriteFile(out); err != nil {
		return Result{}, err
	}
	st := idx.Stats()
	return Result{
		Summary: fmt.Sprintf("indexed %d reports: %d sentences, %d WordPiece tokens (%d unknown), %d rows skipped",
			st.Studies, st.Sentences, st.Tokens, st.Unknown, len(idx.Skipped)),
		Outputs: []string{out},
	}, nil
}
