package progress

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/cmrfm/cmrfm/train"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Bar counts finished items of a known total.
type Bar struct{ pb *progressbar.ProgressBar }

// New returns a bar for total items described by desc, drawn on w when w is
// a terminal; otherwise the bar does nothing.
func New(w io.Writer, total int, desc, unit string) *Bar {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) || total <= 0 {
		return &Bar{}
	}
	return &Bar{pb: progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString(unit),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetWidth(30),
	)}
}

// Add records n finished items.
func (b *Bar) Add(n int) {
	if b.pb != nil {
		b.pb.Add(n)
	}
}

// Describe changes the text shown before the bar (e.g. the current loss).
func (b *Bar) Describe(s string) {
	if b.pb != nil {
		b.pb.Describe(s)
	}
}

// Finish completes and clears the bar.
func (b *Bar) Finish() {
	if b.pb != nil {
		b.pb.Finish()
	}
}

// Counter returns a callback drawing done-of-total counts of unit as a bar
// titled desc on w (created at the first call, when the total is known),
// and a function that finishes the bar: the renderer of the libraries'
// func(done, total int) progress callbacks.
func Counter(w io.Writer, desc, unit string) (report func(done, total int), finish func()) {
	var bar *Bar
	last := 0
	report = func(done, total int) {
		if bar == nil {
			bar = New(w, total, desc, unit)
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

// Train returns hooks that draw a training run's progress on w: updates
// done of the total, with the epoch and the newest value of the first
// training column.
func Train(w io.Writer) train.Hooks {
	var bar *Bar
	last := 0
	return train.Hooks{Progress: func(p train.Progress) {
		if bar == nil {
			bar = New(w, p.Total, p.Kind, " updates")
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
