package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cmrfm/cmrfm/text"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: corpus MTSAMPLES_DIR > corpus.txt")
		os.Exit(2)
	}
	files, err := filepath.Glob(filepath.Join(os.Args[1], "*.jsonl"))
	if err != nil || len(files) == 0 {
		fmt.Fprintln(os.Stderr, "corpus: no *.jsonl in", os.Args[1], err)
		os.Exit(1)
	}
	sort.Strings(files)
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	sp := text.Splitter{CommaLineBreaks: true}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, "corpus:", err)
			os.Exit(1)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			var r struct {
				Transcription string `json:"transcription"`
			}
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				fmt.Fprintln(os.Stderr, "corpus:", f, err)
				os.Exit(1)
			}
			for _, s := range sp.Sentences(r.Transcription) {
				w.WriteString(s)
				w.WriteByte('\n')
			}
		}
	}
}
