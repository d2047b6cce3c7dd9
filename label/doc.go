// Package label turns free-text reports into disease labels, the step
// between "cmrfm ingest" (reports.jsonl, index.csv) and "cmrfm finetune"
// (which reads label columns from index.csv).
//
// Four parts, each usable on its own:
//
//   - Rules: a transparent rule-based labeller. Each label has keywords;
//     each keyword mention in a sentence (cmrfm's own report splitter,
//     text.Splitter) is affirmed, negated ("no", "without", "ruled out"),
//     uncertain ("possible", "cannot exclude", "?") or ignored ("family
//     history of") by NegEx-style trigger scopes. A label is present if any
//     mention is affirmed, else uncertain, else absent; the sentence that
//     decided it is quoted as evidence. Labels can also be defined from
//     others ("normal": none of the diseases).
//   - LLM: a client for the OpenAI-compatible /v1/chat/completions API
//     (vLLM, llama.cpp's server, Ollama, LM Studio) that asks one fixed,
//     versioned question per label and report, at temperature 0, with
//     structured output (a JSON schema where the server supports it, JSON
//     mode otherwise), validates every answer (an evidence quote must occur
//     in the report) and retries a bounded number of times, so a label is
//     never silently wrong: it is present, absent, uncertain, or a recorded
//     failure. Requests run concurrently with backoff on 429/5xx/timeouts
//     (honouring Retry-After); answers are cached by (server model, prompt
//     version and text, report hash) so a rerun or a killed run pays for
//     nothing twice.
//   - Agree: per-label agreement between two label tables (prevalence,
//     Cohen's κ, sensitivity and specificity with Wilson 95 % intervals, the
//     disagreeing keys): whether to trust a labeller.
//   - Merge: label columns into a dataset index (index.csv) as 0/1, with
//     uncertain answers dropped (empty cell: a missing label finetune
//     masks), 0 or 1.
//
// Label tables (labels.csv) have one row per report: study_key, status
// (ok, partial or failed), error, then per label a column with present,
// absent, uncertain or empty (failed) and a column <label>_evidence with
// the quoted sentence. A report that cannot be labelled (no text, an
// unreadable line, a repeated key) is a failed row naming the reason; it
// is never dropped.
package label
