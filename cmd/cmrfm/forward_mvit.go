package main

import (
	"context"
	"fmt"

	"github.com/gomlx/compute"

	"github.com/cmrfm/cmrfm/model/mvit"
	"github.com/cmrfm/cmrfm/model/weights"
)

func runForwardMViT(a *app, o forwardOptions, backend compute.Backend) error {
	if o.input == "" {
		return usagef("--arch %s needs --input (clips .npy [N, 3, 16, 224, 224])", o.arch)
	}
	cfg, err := mvit.ByName(o.arch)
	if err != nil {
		return err
	}
	src, err := weights.Load(o.weights)
	if err != nil {
		return err
	}
	opt := mvit.ResolveOptions{BugCompatible: o.authorsBugCompatible}
	if o.init != "" {
		if opt.Init, err = weights.Load(o.init); err != nil {
			return err
		}
	}
	r, err := mvit.Resolve(cfg, src, opt)
	if err != nil {
		return err
	}
	// The encoder copies the weights into its variables; src and r are not
	// used after this, so the file's bytes can be collected before the
	// forward pass needs the memory.
	layout, notes := r.Layout, r.Notes
	enc, err := mvit.NewEncoder(backend, cfg, r.Encoder)
	if err != nil {
		return err
	}
	a.log.Info("encoder ready", "arch", cfg.Name, "weights", o.weights, "layout", layout, "backend", backend.Description())
	for _, n := range notes {
		a.log.Warn(n)
	}
	attn := mvit.AttentionOutput{Dir: o.attentionOut, Format: o.attentionFormat}
	if err := enc.EncodeFile(context.Background(), o.input, o.output, attn, a.log); err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, o.output)
	return nil
}
