package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/cmrfm/cmrfm/model/bert"
	"github.com/cmrfm/cmrfm/model/weights"
)

// convertBertWeights is "cmrfm weights convert --arch bert-base": the BERT
// in any supported layout (HF BertModel / BertForPreTraining names,
// TensorFlow-era gamma/beta, a text tower in the authors' checkpoint) →
// a checked cmrfm checkpoint under HF BertModel names.
func convertBertWeights(a *app, arch, in, out string) error {
	if out == "" {
		return usagef("--out is required")
	}
	cfg, err := bert.ByName(arch)
	if err != nil {
		return err
	}
	src, err := weights.Load(in)
	if err != nil {
		return err
	}
	c, err := bert.Convert(cfg, src)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	c.Set.Metadata = map[string]string{weights.MetaSource: filepath.Base(in)}
	if err := weights.SaveCheckpoint(out, cfg.Name, c.Set); err != nil {
		return err
	}
	a.log.Info("converted", "from", in, "prefix", c.Prefix, "to", out, "arch", cfg.Name,
		"parameters", c.Set.NumParameters(), "renamed", len(c.Renamed), "dropped", len(c.Dropped))
	return nil
}

// isBertArch reports whether "weights convert --arch" names a BERT preset.
func isBertArch(arch string) bool {
	_, err := bert.ByName(arch)
	return err == nil
}

// bertArchsHelp lists the BERT presets for the --arch flag's help.
func bertArchsHelp() string {
	return ", " + strings.Join(bert.Archs(), ", ")
}

// withBertLayout adds what "weights inspect" says about BERTs in s to the
// layout line: it replaces the MViT guess for a plain BERT file and is
// appended for a two-tower checkpoint.
func withBertLayout(layout string, s *weights.Set) string {
	d := bert.Describe(s)
	switch {
	case d == "":
		return layout
	case strings.HasPrefix(layout, "MViT: authors'"):
		return layout + "; text tower: " + d
	}
	return d
}
