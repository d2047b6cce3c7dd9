package ingest

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/cmrfm/cmrfm/internal/fsutil"
	"github.com/cmrfm/cmrfm/store"
)

// testHookUnitLogged, when set by a test, runs after each unit's manifest
// lines are on disk (the resume test uses it to kill the process there).
var testHookUnitLogged func()

// Summary is what a run did.
type Summary struct {
	Units, UnitsResumed, UnitsOutOfShard int
	Studies, OK, NoViews, Failed         int
	// DuplicateStudies counts studies delivered again by another unit.
	DuplicateStudies int
	Views            int
	// Duplicates lists groups of study keys whose pixels are identical.
	Duplicates [][]string
	Manifest   string
	Index      string // <out>/index.csv
	Reports    string // <out>/reports.jsonl, when reports were given
	Crosswalk  string
	SaltFile   string
	SaltNew    bool
	Elapsed    time.Duration
}

type runner struct {
	cfg    Config
	log    *slog.Logger
	pseudo *Pseudonymizer
	smap   *SeriesMap
	// reports de-identifies each written study's report (nil: no reports).
	reports *reportDeid

	mu     sync.Mutex
	claims map[string]string // study key → unit that wrote it
}

// claim reserves a study key for a unit; it returns the unit that already
// holds it, or "" when the claim succeeds.
func (r *runner) claim(key, unit string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if u, ok := r.claims[key]; ok && u != unit {
		return u
	}
	r.claims[key] = unit
	return ""
}

// Run ingests cfg.Inputs into the store at cfg.Out. progress, if set, is
// called after each unit with the units done and to do (the command
// renders it). Bad studies never stop the run; only configuration and I/O
// errors on the store itself do.
func Run(ctx context.Context, cfg Config, log *slog.Logger, progress func(done, total int)) (*Summary, error) {
	t0 := time.Now()
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	sum := &Summary{SaltFile: cfg.SaltFile}
	var salt []byte
	if cfg.Salt != "" {
		if salt, err = hex.DecodeString(cfg.Salt); err != nil {
			return nil, fmt.Errorf("ingest: salt is not hex: %w", err)
		}
		sum.SaltFile = ""
	} else if salt, sum.SaltNew, err = LoadOrCreateSalt(cfg.SaltFile); err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	pseudo, err := NewPseudonymizer(salt)
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	smap, err := cfg.LoadSeriesMap()
	if err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, log: log, pseudo: pseudo, smap: smap, claims: map[string]string{}}
	if r.reports, err = newReportDeid(cfg, pseudo, salt); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	removeStaleTemps(cfg.Out)

	shard, nShards, _ := ParseShard(cfg.Shard)
	sum.Manifest = filepath.Join(cfg.Out, "manifest.jsonl")
	if nShards > 1 {
		sum.Manifest = filepath.Join(cfg.Out, fmt.Sprintf("manifest-%d-of-%d.jsonl", shard, nShards))
	}
	previous, err := readManifests(cfg.Out)
	if err != nil {
		return nil, err
	}
	done := r.completedUnits(previous)
	for _, e := range latestEntries(previous) {
		if e.Status == StatusOK && done[e.Unit] {
			r.claims[e.Key] = e.Unit
		}
	}

	units, err := Discover(cfg.Inputs)
	if err != nil {
		return nil, err
	}
	var todo []Unit
	for _, u := range units {
		switch {
		case !u.inShard(shard, nShards):
			sum.UnitsOutOfShard++
		case done[r.unitID(u)]:
			sum.UnitsResumed++
		default:
			todo = append(todo, u)
		}
	}
	sum.Units = len(units) - sum.UnitsOutOfShard
	log.Info("ingest", "units", sum.Units, "resumed", sum.UnitsResumed, "to do", len(todo), "workers", cfg.Workers, "shard", fmt.Sprintf("%d/%d", shard, nShards))

	journal := journalPath(sum.Manifest)
	if err := os.MkdirAll(filepath.Dir(journal), 0o755); err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	mf, err := os.OpenFile(journal, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("ingest: manifest journal: %w", err)
	}
	defer mf.Close()
	workers := cfg.Workers
	if workers <= 0 {
		workers = 1
	}
	jobs := make(chan Unit)
	results := make(chan []*Entry)
	var wg sync.WaitGroup
	for w := 0; w < min(workers, max(len(todo), 1)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range jobs {
				results <- r.processUnit(ctx, u)
			}
		}()
	}
	go func() {
		defer close(jobs)
		for _, u := range todo {
			select {
			case jobs <- u:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()

	var fresh []*Entry
	finished := 0
	var writeErr error
	for res := range results {
		for _, e := range res {
			if writeErr == nil {
				writeErr = appendManifest(mf, e)
			}
			if e.Status != StatusUnitDone {
				fresh = append(fresh, e)
				r.logEntry(e)
			}
		}
		finished++
		if progress != nil {
			progress(finished, len(todo))
		}
		if testHookUnitLogged != nil {
			testHookUnitLogged()
		}
	}
	if writeErr != nil {
		return nil, fmt.Errorf("ingest: manifest journal %s: %w", journal, writeErr)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// Whole-store outputs from every run's entries (latest entry per study).
	all := latestEntries(append(previous, fresh...))
	for _, e := range all {
		sum.Studies++
		switch e.Status {
		case StatusOK:
			sum.OK++
			sum.Views += len(e.Views)
		case StatusNoViews:
			sum.NoViews++
		case StatusDuplicate:
			sum.DuplicateStudies++
		default:
			sum.Failed++
		}
	}
	sum.Duplicates = duplicates(all)
	for _, g := range sum.Duplicates {
		log.Warn("studies with identical pixels (train/test leakage risk)", "studies", strings.Join(g, ", "))
	}
	var own []*Entry
	for _, e := range all {
		if e.journal == "" || e.journal == filepath.Base(journal) {
			own = append(own, e)
		}
	}
	if err := writeManifest(sum.Manifest, own); err != nil {
		return nil, fmt.Errorf("ingest: manifest: %w", err)
	}
	if sum.Index, err = r.writeIndex(all); err != nil {
		return nil, err
	}
	if cfg.Reports != "" {
		if sum.Reports, err = r.writeReports(all); err != nil {
			return nil, err
		}
	}
	if cfg.Crosswalk != "" {
		if err := r.writeCrosswalk(fresh); err != nil {
			return nil, err
		}
		sum.Crosswalk = cfg.Crosswalk
	}
	sum.Elapsed = time.Since(t0)
	return sum, nil
}

func (r *runner) unitID(u Unit) string {
	if r.cfg.PlainPaths {
		return u.Key()
	}
	return "u" + r.pseudo.Pseudonym("unit", u.Key())[:15]
}

// processUnit reads one unit and writes its studies; it never fails the run.
func (r *runner) processUnit(ctx context.Context, u Unit) []*Entry {
	id := r.unitID(u)
	var entries []*Entry
	fail := func(err error) []*Entry {
		// Every error reaching here is built without the unit's paths
		// (archive errors name entries by ordinal; file-system errors
		// lose their path).
		e := &Entry{Unit: id, Status: StatusFailed, Error: withoutPath(err).Error(), Time: now()}
		return []*Entry{e, {Unit: id, Status: StatusUnitDone, Time: now()}}
	}
	if ctx.Err() != nil {
		return nil
	}
	switch u.Kind {
	case UnitArchive:
		tmp := filepath.Join(r.cfg.Out, ".cmrfm-tmp", id)
		os.RemoveAll(tmp)
		if err := extractArchive(u.Path, tmp, defaultArchiveLimits); err != nil {
			os.RemoveAll(tmp)
			return fail(err)
		}
		defer os.RemoveAll(tmp)
		files, skipped, err := unitFiles(Unit{Kind: UnitFolder, Path: tmp, Root: tmp})
		if err != nil {
			return fail(err)
		}
		entries = r.processFiles(u, id, tmp, files, skipped)
	case UnitNIfTI:
		entries = r.processNIfTI(u, id)
	case UnitFile:
		entries = r.processFiles(u, id, filepath.Dir(u.Path), []string{u.Path}, 0)
	default:
		files, skipped, err := unitFiles(u)
		if err != nil {
			return fail(err)
		}
		if len(files) == 0 {
			return []*Entry{{Unit: id, Status: StatusUnitDone, Time: now()}}
		}
		entries = r.processFiles(u, id, u.Path, files, skipped)
	}
	for _, e := range entries {
		if e.Status != StatusOK {
			continue
		}
		if other := r.claim(e.Key, id); other != "" {
			e.Status, e.study = StatusDuplicate, nil
			e.Error = fmt.Sprintf("the same study (AccessionNumber, else StudyInstanceUID) was written from unit %s; not written twice", other)
			continue
		}
		sum, err := store.WriteSum(filepath.Join(r.cfg.Out, e.Output), e.study, store.WriteOptions{Channels: r.cfg.Channels})
		e.study = nil
		if err != nil {
			e.Status, e.Error = StatusFailed, err.Error()
			continue
		}
		e.FileChecksum = sum
	}
	return append(entries, &Entry{Unit: id, Status: StatusUnitDone, Time: now(), unitDone: &unitCompletion{Key: u.Key(), Studies: len(entries)}})
}

func (r *runner) logEntry(e *Entry) {
	switch e.Status {
	case StatusOK:
		views := make([]string, len(e.Views))
		for i, v := range e.Views {
			views[i] = string(v.View)
		}
		r.log.Debug("study written", "unit", e.Unit, "key", e.Key, "views", strings.Join(views, ","), "seconds", e.Seconds)
	case StatusNoViews:
		r.log.Warn("study has no usable cine series", "unit", e.Unit, "study", e.StudyID)
	case StatusDuplicate:
		r.log.Warn("study delivered twice", "unit", e.Unit, "study", e.StudyID, "err", e.Error)
	default:
		r.log.Warn("study failed", "unit", e.Unit, "study", e.StudyID, "err", e.Error)
	}
	for _, b := range e.BadFiles {
		r.log.Warn("unreadable file", "file", b.File, "err", b.Error)
	}
}

// removeStaleTemps deletes temporary files a killed run left behind.
func removeStaleTemps(out string) {
	os.RemoveAll(filepath.Join(out, ".cmrfm-tmp"))
	filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasPrefix(d.Name(), ".") && strings.Contains(d.Name(), ".tmp-") {
			os.Remove(p)
		}
		return nil
	})
}

// writeAtomicLines writes lines to path atomically.
func writeAtomicLines(path string, write func(w io.Writer) error) error {
	return fsutil.WriteFileAtomic(path, write)
}
