package text_test

import (
	"fmt"

	"github.com/cmrfm/cmrfm/text"
)

// Tokenize a report phrase with the built-in PubMedBERT vocabulary, framed
// and padded to 8 tokens. ("LVEF 55%" is in the adversarial golden set: these
// ids are Hugging Face's.)
func ExampleTokenizer_Encode() {
	tok, err := text.Load("builtin:pubmedbert")
	if err != nil {
		panic(err)
	}
	e := tok.Encode("LVEF 55%", 8)
	fmt.Println(e.IDs)
	fmt.Println(e.AttentionMask)
	// Output:
	// [2 18283 4288 9 3 0 0 0]
	// [1 1 1 1 1 0 0 0]
}

// Split a cardiac MRI report into sentences with their sections.
func ExampleSplitter_Split() {
	report := "FINDINGS:\n1. LV normal in size, LVEF 55%.\n2. No LGE\nIMPRESSION: Normal study, i.e. no myocarditis."
	for _, s := range (text.Splitter{}).Split(report) {
		fmt.Printf("%s: %s\n", s.Section, s.Text)
	}
	// Output:
	// FINDINGS: LV normal in size, LVEF 55%.
	// FINDINGS: No LGE
	// IMPRESSION: Normal study, i.e. no myocarditis.
}
