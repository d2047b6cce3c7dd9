package main

import (
	"strings"
	"testing"
)

// TestHelpPipelineOrder: `cmrfm --help` lists the command groups in
// pipeline order, each stage's commands in the order data flows, and
// every built-in stage command in a group.
func TestHelpPipelineOrder(t *testing.T) {
	out, err := runText(t, "", "--help")
	if err != nil {
		t.Fatal(err)
	}
	order := []string{"Start here:", "  demo ", "Data (", "  phantom ", "  dicom ", "  ingest ", "  store ", "  text ",
		"Model (", "  weights ", "  forward ", "Training:", "  pretrain ", "  finetune ",
		"Evaluation (", "  predict ", "  evaluate ", "Additional Commands:", "  version "}
	at := 0
	for _, s := range order {
		i := strings.Index(out[at:], s)
		if i < 0 {
			t.Fatalf("%q missing or out of pipeline order in:\n%s", s, out)
		}
		at += i + len(s)
	}
}
