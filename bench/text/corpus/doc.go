// Command corpus writes the text benchmark corpus: every sentence of every
// MTSamples report (../shared/data/mtsamples/*.jsonl, split by package text
// with CommaLineBreaks), one a line, to stdout. bench.sh feeds the same file
// to the Go benchmark and to HF's tokenizers.
package main
