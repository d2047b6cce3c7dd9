package pull

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/cmrfm/cmrfm/ingest"
)

// ingester hands complete studies to ingest, in batches: each batch is one
// ingest.Run over the pull directory's dicom/ folder, which reads the
// studies not yet in the store's manifest (exactly what `cmrfm ingest
// --input <out>/dicom` would read) and skips the rest. After a batch, its
// studies are journaled as ingested and their DICOM files deleted (unless
// Keep).
type ingester struct {
	p   *puller
	cfg ingest.Config

	mu      sync.Mutex
	cond    *sync.Cond
	pending []*studyState
	closed  bool
	done    chan struct{}
	err     error
	once    sync.Once
}

// startIngest validates the ingest configuration with a first run (which
// also ingests studies an earlier pull completed but did not ingest) and
// starts the ingest loop.
func (p *puller) startIngest(ctx context.Context) (*ingester, error) {
	cfg := *p.opts.Ingest
	cfg.Inputs = []string{p.done}
	g := &ingester{p: p, cfg: cfg, done: make(chan struct{})}
	g.cond = sync.NewCond(&g.mu)
	// Studies an earlier pull completed but did not ingest (their folder
	// put back in dicom/ first if a crash left it in .partial/).
	var earlier []*studyState
	for _, s := range p.j.completeNotIngested() {
		st := &studyState{uid: s.UID, dir: s.Dir}
		p.placeComplete(st)
		if _, err := os.Stat(filepath.Join(p.done, st.dir)); err == nil {
			earlier = append(earlier, st)
		}
	}
	if err := g.runBatch(ctx, earlier); err != nil {
		return nil, err
	}
	go g.loop(ctx)
	return g, nil
}

// add queues a complete study.
func (g *ingester) add(st *studyState) {
	g.mu.Lock()
	g.pending = append(g.pending, st)
	g.mu.Unlock()
	g.cond.Signal()
}

// stop ingests what is queued and waits for the loop to end (once; later
// calls return the same error).
func (g *ingester) stop() error {
	g.once.Do(func() {
		g.mu.Lock()
		g.closed = true
		g.mu.Unlock()
		g.cond.Signal()
		<-g.done
	})
	return g.err
}

func (g *ingester) loop(ctx context.Context) {
	defer close(g.done)
	for {
		g.mu.Lock()
		for len(g.pending) == 0 && !g.closed {
			g.cond.Wait()
		}
		batch := g.pending
		g.pending = nil
		closed := g.closed
		g.mu.Unlock()
		if len(batch) > 0 {
			if err := g.runBatch(ctx, batch); err != nil {
				g.err = err
				g.p.fatal(err)
				return
			}
		}
		if closed && len(batch) == 0 {
			return
		}
	}
}

// runBatch runs ingest once and marks the batch's studies ingested.
func (g *ingester) runBatch(ctx context.Context, batch []*studyState) error {
	p := g.p
	if ctx.Err() != nil {
		return nil // interrupted: the next pull ingests them
	}
	sum, err := ingest.Run(ctx, g.cfg, p.log.With("stage", "ingest"), nil)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("pull: ingest: %w", err)
	}
	for _, st := range batch {
		if err := p.j.append(record{Op: opIngested, Study: st.uid}); err != nil {
			return err
		}
		st.setStatus(statusIngested, "")
		if !p.opts.Keep {
			if err := os.RemoveAll(filepath.Join(p.done, st.dir)); err != nil {
				return fmt.Errorf("pull: %w", err)
			}
		}
	}
	p.count(func(s *Summary) {
		s.Ingested += len(batch)
		s.IngestRuns++
		s.Ingest = sum
	})
	if len(batch) > 0 {
		p.log.Info("pull: ingested", "studies", len(batch), "store", g.cfg.Out)
		p.event(Event{Kind: EventIngested}, nil)
	}
	return nil
}
