package text

import (
	"bufio"
	"os"
	"testing"
)

// benchCorpus returns the sentences of every MTSamples report (split with
// CommaLineBreaks), or the sentences of the file named by
// CMRFM_TEXT_BENCH_CORPUS (one a line), which bench/text/bench.sh
// also feeds to HF's tokenizers.
func benchCorpus(b *testing.B) []string {
	b.Helper()
	if p := os.Getenv("CMRFM_TEXT_BENCH_CORPUS"); p != "" {
		f, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		var out []string
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			out = append(out, sc.Text())
		}
		if err := sc.Err(); err != nil {
			b.Fatal(err)
		}
		return out
	}
	var out []string
	sp := Splitter{CommaLineBreaks: true}
	for _, rows := range readMTSamples(b) {
		for _, r := range rows {
			out = append(out, sp.Sentences(r)...)
		}
	}
	return out
}

// BenchmarkTokenize measures WordPiece tokenization of report sentences on
// one goroutine: one op is the whole corpus.
func BenchmarkTokenize(b *testing.B) {
	corpus := benchCorpus(b)
	for _, name := range []string{"pubmedbert", "bert-base-uncased"} {
		b.Run(name, func(b *testing.B) {
			tok := testTokenizer(b, name)
			var bytes, tokens int
			for _, s := range corpus {
				bytes += len(s)
				tokens += len(tok.Tokenize(s)) + 2
			}
			b.SetBytes(int64(bytes))
			var ids []int32
			b.ResetTimer()
			for range b.N {
				for _, s := range corpus {
					ids = tok.AppendTokenize(ids[:0], s)
				}
			}
			sec := b.Elapsed().Seconds()
			b.ReportMetric(float64(len(corpus)*b.N)/sec, "sentences/s")
			b.ReportMetric(float64(tokens*b.N)/sec, "tokens/s")
		})
	}
}

// BenchmarkEncode adds [CLS]/[SEP], truncation and padding to 128 tokens.
func BenchmarkEncode(b *testing.B) {
	corpus := benchCorpus(b)
	tok := testTokenizer(b, "pubmedbert")
	var n int
	for _, s := range corpus {
		n += len(s)
	}
	b.SetBytes(int64(n))
	b.ResetTimer()
	for range b.N {
		for _, s := range corpus {
			tok.Encode(s, 128)
		}
	}
	b.ReportMetric(float64(len(corpus)*b.N)/b.Elapsed().Seconds(), "sentences/s")
}

// BenchmarkSplit measures sentence splitting of whole reports.
func BenchmarkSplit(b *testing.B) {
	var reports []string
	var n int
	for _, rows := range readMTSamples(b) {
		for _, r := range rows {
			reports = append(reports, r)
			n += len(r)
		}
	}
	sp := Splitter{CommaLineBreaks: true}
	b.SetBytes(int64(n))
	b.ResetTimer()
	for range b.N {
		for _, r := range reports {
			sp.Split(r)
		}
	}
	b.ReportMetric(float64(len(reports)*b.N)/b.Elapsed().Seconds(), "reports/s")
}
