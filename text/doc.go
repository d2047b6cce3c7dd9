// Package text turns free-text radiology reports into what contrastive
// pretraining samples: sentences, their BERT WordPiece ids, and one indexed
// JSON file per cohort.
//
// Three parts, usable on their own:
//
//   - Tokenizer: BERT's BasicTokenizer + WordPiece with the semantics of
//     Hugging Face's Rust tokenizers (what BertTokenizerFast runs), loaded from
//     a vocab.txt or a tokenizer.json. Ids, attention masks, truncation (the
//     final [SEP] is kept) and padding are identical to HF's on every
//     report and adversarial string the tests know, and its Unicode handling
//     matches HF's on every code point: the category tables are pinned to the
//     Unicode versions HF was built with (unicode_tables.go), not to Go's.
//   - Splitter: a rule-based sentence splitter tuned for radiology reports
//     (abbreviations, decimals, numbered and bulleted lists, section headers,
//     line breaks).
//   - Index: reads reports (CSV or JSONL), splits and tokenizes them, and
//     writes the report index keyed by study; Sampler draws the k random
//     sentences per study and step that pretraining feeds the text encoder.
//
// Two vocabularies are built in (see Builtin): PubMedBERT's uncased vocabulary
// (MIT, Microsoft), which the paper used and which is the default, and
// bert-base-uncased's (Apache-2.0, Google).
package text
