package main

import (
	"fmt"
	"io"

	"github.com/cmrfm/cmrfm/internal/progress"
	"github.com/cmrfm/cmrfm/train"
)

// The libraries report progress through callbacks; the command renders
// them here, as progress bars on a terminal (nothing otherwise).

// countBar returns a callback drawing done-of-total counts of unit as a
// bar titled desc, and a function that finishes the bar.
func countBar(w io.Writer, desc, unit string) (report func(done, total int), finish func()) {
	var bar *progress.Bar
	last := 0
	report = func(done, total int) {
		if bar == nil {
			bar = progress.New(w, total, desc, unit)
		}
		bar.Add(done - last)
		last = done
	}
	finish = func() {
		if bar != nil {
			bar.Finish()
		}
	}
	return report, finish
}

// trainHooks renders a training run's progress (updates, with the epoch
// and the newest value of the first training column) as a bar on w.
func trainHooks(w io.Writer) train.Hooks {
	var bar *progress.Bar
	last := 0
	return train.Hooks{Progress: func(p train.Progress) {
		if bar == nil {
			bar = progress.New(w, p.Total, p.Kind, " updates")
		}
		if p.Done {
			bar.Finish()
			return
		}
		bar.Add(p.Updates - last)
		last = p.Updates
		if p.HasValue {
			bar.Describe(fmt.Sprintf("epoch %d %s %.4g", p.Epoch, p.Column, p.Value))
		}
	}}
}
