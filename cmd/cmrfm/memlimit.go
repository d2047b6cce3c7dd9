package main

import (
	"log/slog"
	"os"
	"runtime/debug"
)

// inferenceMemoryLimit sets the Go runtime's soft memory limit for
// cmrfm forward to the size of its weight files plus 600 MiB, unless
// GOMEMLIMIT is set. The Go backend keeps freed buffers in pools that count as live
// memory until the next garbage collections, so without a limit the heap
// of an MViT-B forward grows to about twice its working set (1.1 GB peak RSS
// instead of 0.75 GB; docs/benchmarks.md, "Memory"). The limit makes the
// collector run when the heap nears it; a model that needs more than the
// limit still runs, with more frequent collections — up to half the CPU,
// which is why predict, whose working set also holds the studies being
// loaded, does not set one.
func inferenceMemoryLimit(log *slog.Logger, weightFiles ...string) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	var total int64 = 600 << 20
	for _, f := range weightFiles {
		if st, err := os.Stat(f); err == nil {
			total += st.Size()
		}
	}
	debug.SetMemoryLimit(total)
	log.Debug("soft memory limit (set GOMEMLIMIT to override)", "bytes", total)
}
