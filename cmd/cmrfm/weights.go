package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cmrfm/cmrfm/model/mvit"
	"github.com/cmrfm/cmrfm/model/weights"
)

func newWeightsCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "weights",
		Short: "Inspect and convert model weights (safetensors, PyTorch .pt/.pth/.ckpt/.pyth, .npz)",
	}
	cmd.AddCommand(newWeightsInspectCmd(a), newWeightsConvertCmd(a), newWeightsExtractCmd(a))
	return cmd
}

func newWeightsInspectCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "inspect FILE",
		Short: "List a weight file's tensors (name, dtype, shape), metadata and parameter count",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := weights.Load(args[0])
			if err != nil {
				return err
			}
			layout := "unknown"
			switch {
			case mvit.IsAuthorsCheckpoint(s):
				layout = "MViT: authors' Lightning checkpoint"
			case len(s.Tensors) > 0:
				layout = "MViT: " + string(mvit.DetectLayout(s)) + " names (if this is an MViT)"
			}
			layout = withBertLayout(layout, s)
			if asJSON {
				type tensor struct {
					Name  string `json:"name"`
					DType string `json:"dtype"`
					Shape []int  `json:"shape"`
				}
				out := struct {
					File       string            `json:"file"`
					Format     string            `json:"format"`
					Tensors    []tensor          `json:"tensors"`
					Parameters int               `json:"parameters"`
					Metadata   map[string]string `json:"metadata"`
				}{File: args[0], Format: s.Format, Parameters: s.NumParameters(), Metadata: s.Metadata}
				for _, n := range s.Names() {
					t := s.Tensors[n]
					out.Tensors = append(out.Tensors, tensor{n, string(t.DType), t.Shape})
				}
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			fmt.Fprintf(a.stdout, "%s: %s, %d tensors, %d parameters (%s)\n", args[0], s.Format, len(s.Tensors), s.NumParameters(), layout)
			keys := make([]string, 0, len(s.Metadata))
			for k := range s.Metadata {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				v := s.Metadata[k]
				if len(v) > 120 {
					v = v[:117] + "..."
				}
				fmt.Fprintf(a.stdout, "  meta %s = %s\n", k, v)
			}
			for _, n := range s.Names() {
				t := s.Tensors[n]
				fmt.Fprintf(a.stdout, "  %-60s %-4s %v\n", n, t.DType, t.Shape)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "write JSON instead of text")
	return cmd
}

func newWeightsConvertCmd(a *app) *cobra.Command {
	var arch, out, init string
	var bugCompatible bool
	cmd := &cobra.Command{
		Use:   "convert IN --arch mvit-b-16x4 --out OUT.safetensors",
		Short: "Convert torchvision, pytorchvideo or the authors' weights into a checked cmrfm checkpoint",
		Long: `Convert reads MViT weights in any supported layout — torchvision mvit_v1_b,
pytorchvideo (the Kinetics MVIT_B_16x4.pyth), or the authors' Lightning
checkpoint (model.video_encoder.*, model.video_proj.*) — renames them to cmrfm's
canonical names, checks every tensor's presence and shape against --arch, and
writes a safetensors file whose metadata records the architecture and the
SHA-256 of the tensor data (verified on every load).

--authors-bug-compatible reproduces the authors' loader, which never loads the
spatial and temporal positional embeddings from their checkpoint (they keep the
Kinetics-400 values): give the Kinetics weights with --init.

With --arch bert-base (or bert-tiny) it converts a BERT instead: Hugging Face
model.safetensors or pytorch_model.bin (BertModel, BertForPreTraining/MaskedLM,
TensorFlow-era gamma/beta names) or the text tower of the authors' checkpoint,
to Hugging Face BertModel names, checked against the architecture.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if isBertArch(arch) {
				return convertBertWeights(a, arch, args[0], out)
			}
			if out == "" {
				return usagef("--out is required")
			}
			cfg, err := mvit.ByName(arch)
			if err != nil {
				return err
			}
			src, err := weights.Load(args[0])
			if err != nil {
				return err
			}
			opt := mvit.ResolveOptions{BugCompatible: bugCompatible}
			if init != "" {
				if opt.Init, err = weights.Load(init); err != nil {
					return err
				}
			}
			r, err := mvit.Resolve(cfg, src, opt)
			if err != nil {
				return err
			}
			merged := r.Merged()
			merged.Metadata[weights.MetaSource] = filepath.Base(args[0])
			if err := weights.SaveCheckpoint(out, cfg.Name, merged); err != nil {
				return err
			}
			a.log.Info("converted", "from", args[0], "layout", r.Layout, "to", out, "arch", cfg.Name,
				"encoder_parameters", r.Encoder.NumParameters(), "projection_tensors", len(r.Projection.Tensors),
				"notes", strings.Join(r.Notes, "; "))
			return nil
		},
	}
	cmd.Flags().StringVar(&arch, "arch", mvit.ArchMViTB16x4, "architecture: "+mvit.ArchMViTB16x4+", "+mvit.ArchMViTB16x4Torchvision+bertArchsHelp())
	cmd.Flags().StringVar(&out, "out", "", "output cmrfm checkpoint (.safetensors)")
	cmd.Flags().StringVar(&init, "init", "", "initial encoder weights (Kinetics-400) under the authors' checkpoint")
	cmd.Flags().BoolVar(&bugCompatible, "authors-bug-compatible", false, "reproduce the authors' loader: keep pos_embed_spatial/temporal from --init")
	return cmd
}

func newWeightsExtractCmd(a *app) *cobra.Command {
	var prefixes []string
	var arch string
	cmd := &cobra.Command{
		Use:   "extract --prefix P… [--arch NAME] IN OUT",
		Short: "Write the tensors of a checkpoint whose names start with a prefix as a checked cmrfm weights file",
		Long: `extract keeps the tensors of IN (any format cmrfm reads) whose names start with
one of the --prefix values, under their own names, and writes them to OUT as
a cmrfm weights file (safetensors with the SHA-256 of the tensor data, which
every loader verifies). Use it to ship the part of a training checkpoint
that others start from — e.g. the video tower and projection of a
pretraining run, without its text tower and optimiser state:

  cmrfm weights extract --prefix /model/video_encoder/ --prefix /model/video_proj/ \
      runs/pretrain/checkpoints/last.safetensors video.safetensors

cmrfm finetune --init accepts the result.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(prefixes) == 0 {
				return fmt.Errorf("weights extract: give at least one --prefix")
			}
			s, err := weights.Load(args[0])
			if err != nil {
				return err
			}
			k := s.Keep(prefixes...)
			if len(k.Tensors) == 0 {
				return fmt.Errorf("weights extract: %s has no tensor under %s", args[0], strings.Join(prefixes, ", "))
			}
			k.Metadata = map[string]string{weights.MetaSource: filepath.Base(args[0])}
			for _, key := range []string{"cmrfm.train.kind", "cmrfm.train.config"} {
				if v, ok := s.Metadata[key]; ok {
					k.Metadata["source."+strings.TrimPrefix(key, "cmrfm.train.")] = v
				}
			}
			if err := weights.SaveCheckpoint(args[1], arch, k); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "wrote %s: %d tensors, %d parameters\n", args[1], len(k.Tensors), k.NumParameters())
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&prefixes, "prefix", nil, "keep tensors whose names start with this (repeatable)")
	cmd.Flags().StringVar(&arch, "arch", "", "architecture recorded in the file's metadata")
	return cmd
}
