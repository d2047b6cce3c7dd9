package progress

import (
	"io"
	"os"
	"time"

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
