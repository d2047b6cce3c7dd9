package pull

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cmrfm/cmrfm/dicomweb"
	"github.com/cmrfm/cmrfm/ingest"
)

// Folders inside the pull directory.
const (
	DICOMDir   = "dicom"    // complete studies, one folder each
	PartialDir = ".partial" // studies being downloaded (ingest skips dot folders)
	ReportName = "studies.csv"
)

// puller is one Run's state.
type puller struct {
	opts    Options
	client  *dicomweb.Client
	j       *journal
	log     *slog.Logger
	smap    *ingest.SeriesMap
	partial string // <out>/.partial
	done    string // <out>/dicom
	slots   chan struct{}
	t0      time.Time
	cancel  context.CancelCauseFunc
	ing     *ingester

	mu   sync.Mutex // guards prog, sum and event delivery
	prog Progress
	sum  Summary
}

// Run pulls the requested studies into opts.Out (and ingests them when
// opts.Ingest is set). A study that cannot be completed is recorded in the
// summary and studies.csv and the others go on; a rerun continues where the
// last run stopped. Run returns an error only when nothing can proceed: bad
// options, a pull directory that cannot be written, a search the server
// refuses, rejected credentials, or a failing ingest configuration.
func Run(ctx context.Context, opts Options) (*Summary, error) {
	p := &puller{opts: opts, t0: time.Now(), log: opts.Log}
	if p.log == nil {
		p.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := p.setup(); err != nil {
		return nil, err
	}
	defer p.j.close()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	p.cancel = cancel

	if opts.Ingest != nil {
		ing, err := p.startIngest(ctx)
		if err != nil {
			return nil, err
		}
		p.ing = ing
		defer ing.stop() // on early returns; a no-op after the stop below
	}
	studies, notFound, err := p.search(ctx)
	if err != nil {
		return nil, err
	}
	for _, st := range studies {
		if st.dir, err = p.j.assignDir(st.uid); err != nil {
			return nil, err
		}
	}
	p.sum.Requested = len(opts.Studies) + len(opts.Accessions)
	p.sum.NotFound = len(notFound)
	p.sum.Studies = len(studies)
	p.event(Event{Kind: EventSearched}, func(pr *Progress) { pr.Studies = len(studies) })
	p.log.Info("pull: search done", "studies", len(studies), "not found", len(notFound), "transfers", cap(p.slots))

	// Studies in parallel (each waits for transfer slots for its requests);
	// one more than the slots, so the next study's planning overlaps.
	jobs := make(chan *studyState)
	var wg sync.WaitGroup
	for w := 0; w < min(len(studies), cap(p.slots)+1); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for st := range jobs {
				p.runStudy(ctx, st)
			}
		}()
	}
	for _, st := range studies {
		select {
		case jobs <- st:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(jobs)
	wg.Wait()
	var ingErr error
	if p.ing != nil {
		ingErr = p.ing.stop()
	}
	report, rerr := p.writeReport(studies, notFound)
	p.sum.Report = report
	p.sum.DICOM = p.done
	p.sum.Bytes = p.client.BytesReceived()
	p.sum.Elapsed = time.Since(p.t0)
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return &p.sum, cause
	}
	if err := ctx.Err(); err != nil {
		return &p.sum, err
	}
	if ingErr != nil {
		return &p.sum, ingErr
	}
	return &p.sum, rerr
}

// setup validates the options and opens the pull directory and journal.
func (p *puller) setup() error {
	o := &p.opts
	if o.Out == "" && o.Ingest != nil && o.Ingest.Out != "" {
		o.Out = filepath.Clean(o.Ingest.Out) + ".pull" // beside the store, like its salt
	}
	if o.Out == "" {
		return errors.New("pull: no pull directory (--out)")
	}
	if len(o.Studies) == 0 && len(o.Accessions) == 0 && len(o.Query) == 0 {
		return errNoRequest
	}
	if o.Transfers <= 0 {
		o.Transfers = 4
	}
	if st, err := os.Stat(o.Out); err == nil {
		if !st.IsDir() {
			return fmt.Errorf("pull: --out %s is not a directory", o.Out)
		}
		if st.Mode().Perm()&0o077 != 0 {
			return fmt.Errorf("pull: --out %s is accessible by others (mode %04o); the DICOM files it will hold identify patients: chmod 700 it or choose a new folder", o.Out, st.Mode().Perm())
		}
		if entries, _ := os.ReadDir(o.Out); len(entries) > 0 {
			if _, err := os.Stat(filepath.Join(o.Out, JournalName)); err != nil {
				return fmt.Errorf("pull: --out %s holds files but no %s: not a pull directory", o.Out, JournalName)
			}
		}
	} else if err := os.MkdirAll(o.Out, 0o700); err != nil {
		return fmt.Errorf("pull: %w", err)
	}
	p.partial = filepath.Join(o.Out, PartialDir)
	p.done = filepath.Join(o.Out, DICOMDir)
	for _, d := range []string{p.partial, p.done} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("pull: %w", err)
		}
	}
	if o.Ingest != nil {
		if o.Ingest.Out == "" {
			return errors.New("pull: --ingest needs a store folder")
		}
		abs, _ := filepath.Abs(o.Ingest.Out)
		out, _ := filepath.Abs(o.Out)
		if rel, err := filepath.Rel(out, abs); err == nil && !filepath.IsAbs(rel) && rel != ".." && !startsWithDotDot(rel) {
			return fmt.Errorf("pull: the store %s must not be inside the pull directory %s", o.Ingest.Out, o.Out)
		}
	}
	p.smap = o.SeriesMap
	if p.smap == nil {
		if o.Ingest != nil {
			m, err := o.Ingest.LoadSeriesMap()
			if err != nil {
				return err
			}
			p.smap = m
		} else {
			p.smap = ingest.DefaultSeriesMap()
		}
	}
	srv := o.Server
	srv.Connections = o.Transfers
	if srv.Log == nil {
		srv.Log = p.log
	}
	c, err := dicomweb.New(srv)
	if err != nil {
		return err
	}
	p.client = c
	p.slots = make(chan struct{}, o.Transfers)
	j, err := openJournal(o.Out)
	if err != nil {
		return err
	}
	p.j = j
	return nil
}

func startsWithDotDot(rel string) bool {
	return len(rel) >= 3 && rel[:3] == ".."+string(filepath.Separator)
}

// acquire runs fn holding one transfer slot.
func (p *puller) acquire(ctx context.Context, fn func() error) error {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	defer func() { <-p.slots }()
	return fn()
}

// fatal stops the whole pull: an error no study can get past (rejected
// credentials, a failing ingest).
func (p *puller) fatal(err error) {
	p.log.Error("pull: stopping", "err", err)
	p.cancel(err)
}

// isFatal reports errors that stop the whole pull rather than one study:
// rejected credentials, and a server that cannot be reached at all.
func isFatal(err error) bool {
	return dicomweb.IsStatus(err, http.StatusUnauthorized) || dicomweb.IsStatus(err, http.StatusForbidden) ||
		errors.Is(err, dicomweb.ErrUnreachable)
}

// event updates the progress under the lock and delivers an event.
func (p *puller) event(e Event, update func(*Progress)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if update != nil {
		update(&p.prog)
	}
	if p.opts.Events == nil {
		return
	}
	e.Progress = p.prog
	e.Progress.Bytes = p.client.BytesReceived()
	e.Progress.Elapsed = time.Since(p.t0)
	p.opts.Events(e)
}

// count updates the summary under the lock.
func (p *puller) count(f func(*Summary)) {
	p.mu.Lock()
	f(&p.sum)
	p.mu.Unlock()
}
