package main

import (
	"fmt"

	"github.com/gomlx/compute"

	"github.com/cmrfm/cmrfm/model/bert"
)

func runForwardBert(a *app, o forwardOptions, backend compute.Backend) error {
	cfg, err := bert.ByName(o.arch)
	if err != nil {
		return err
	}
	if o.inputIDs == "" {
		return usagef("--arch %s needs --input-ids", o.arch)
	}
	req := bert.ForwardRequest{Config: cfg, Weights: o.weights, IDs: o.inputIDs, Mask: o.attentionMask,
		TokenTypes: o.tokenTypeIDs, Output: o.output, Hidden: o.hiddenStates}
	if o.pooling != "" {
		if req.Pooling, err = bert.ParsePooling(o.pooling); err != nil {
			return err
		}
	}
	written, err := bert.ForwardFiles(backend, req)
	for _, p := range written {
		fmt.Fprintln(a.stdout, p)
	}
	if err != nil {
		return err
	}
	a.log.Info("forward done", "arch", o.arch, "backend", backend.Name(), "files", len(written))
	return nil
}
