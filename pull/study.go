package pull

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/cmrfm/cmrfm/cine"
	"github.com/cmrfm/cmrfm/dicom"
	"github.com/cmrfm/cmrfm/dicomweb"
	"github.com/cmrfm/cmrfm/ingest"
)

// maxRounds bounds how often a study that changes on the server during its
// retrieval is planned again before the run gives up on it.
const maxRounds = 3

// Report statuses of a study.
const (
	statusComplete = "complete" // on disk in dicom/
	statusIngested = "ingested" // read by ingest (DICOM deleted unless --keep)
	statusFailed   = "failed"   // not completed in this run; a rerun continues it
	statusNotFound = "not_found"
)

// studyState is one study of the pull.
type studyState struct {
	uid, accession, request, dir string

	mu            sync.Mutex
	status, err   string
	seriesUsed    int
	seriesSkipped int
	instances     int
	changed       bool
	// written holds the SOP Instance UIDs written (or verified) in this run.
	written map[string]bool
}

func (st *studyState) setStatus(s, err string) {
	st.mu.Lock()
	st.status, st.err = s, err
	st.mu.Unlock()
}

// instPlan is one instance to have on disk.
type instPlan struct {
	sop    string
	number int
	path   string // relative to the study folder
}

// seriesPlan is one series to download.
type seriesPlan struct {
	uid, dir  string
	instances []*instPlan
}

// studyPlan is what a study needs on disk.
type studyPlan struct {
	series   []*seriesPlan
	bySOP    map[string]*instPlan
	seriesOf map[string]string // SOP → series UID
	skipped  int
}

// runStudy brings one study to completion (or records why it could not).
func (p *puller) runStudy(ctx context.Context, st *studyState) {
	st.written = map[string]bool{}
	_, complete, ingested := p.j.status(st.uid)
	if complete && !ingested && !p.placeComplete(st) {
		// Complete in the journal, but its folder is gone (removed by
		// hand) and it was never ingested: pull it again.
		p.log.Warn("pull: a complete study's folder is missing; pulling it again", "study", st.dir)
		if err := p.j.reopen(st.uid); err != nil {
			p.fatal(err)
			return
		}
		complete = false
	}
	if complete {
		p.count(func(s *Summary) { s.AlreadyDone++; s.Complete++ })
		switch {
		case ingested:
			st.setStatus(statusIngested, "")
			if !p.opts.Keep {
				os.RemoveAll(filepath.Join(p.done, st.dir))
			}
		case p.ing != nil:
			st.setStatus(statusComplete, "")
			p.ing.add(st)
		default:
			st.setStatus(statusComplete, "")
		}
		p.event(Event{Kind: EventStudyDone, Study: st.dir}, func(pr *Progress) { pr.StudiesDone++ })
		return
	}
	err := p.pullStudy(ctx, st)
	if err == nil {
		return
	}
	if ctx.Err() != nil {
		st.setStatus(statusFailed, "interrupted")
		return
	}
	if isFatal(err) {
		p.fatal(err)
	}
	msg := dicomweb.Scrub(err.Error())
	st.setStatus(statusFailed, msg)
	p.log.Warn("pull: study failed (a rerun continues it)", "study", st.dir, "err", msg)
	p.count(func(s *Summary) {
		s.Failed++
		s.Failures = append(s.Failures, Failure{Study: st.dir, Err: msg})
	})
	p.event(Event{Kind: EventStudyFailed, Study: st.dir}, func(pr *Progress) { pr.StudiesFailed++ })
}

// placeComplete makes sure a complete study's folder is in dicom/ (a crash
// between journaling it complete and moving it leaves it in .partial/) and
// reports whether it is there.
func (p *puller) placeComplete(st *studyState) bool {
	part, done := filepath.Join(p.partial, st.dir), filepath.Join(p.done, st.dir)
	if _, err := os.Stat(done); err == nil {
		os.RemoveAll(part)
		return true
	}
	if _, err := os.Stat(part); err == nil {
		return os.Rename(part, done) == nil
	}
	return false
}

// pullStudy plans, downloads and completes a study, planning again while
// the server changes it.
func (p *puller) pullStudy(ctx context.Context, st *studyState) error {
	part, done := filepath.Join(p.partial, st.dir), filepath.Join(p.done, st.dir)
	if _, err := os.Stat(done); err == nil {
		// Moved to dicom/ but not journaled complete (a crash in between):
		// back to .partial, to be verified like any partial study.
		os.RemoveAll(part)
		if err := os.Rename(done, part); err != nil {
			return fmt.Errorf("pull: %w", err)
		}
	}
	if err := os.MkdirAll(part, 0o700); err != nil {
		return fmt.Errorf("pull: %w", err)
	}
	before, err := p.fingerprint(ctx, st)
	if err != nil {
		return err
	}
	for round := 1; round <= maxRounds; round++ {
		pl, err := p.plan(ctx, st, before)
		if err != nil {
			return err
		}
		if err := p.reconcile(st, pl, round == 1); err != nil {
			return err
		}
		p.event(Event{Kind: EventPlanned, Study: st.dir}, func(pr *Progress) {
			pr.Instances += len(pl.bySOP)
			pr.InstancesDone += len(st.written)
		})
		changed, err := p.download(ctx, st, pl)
		if err != nil {
			return err
		}
		after, err := p.fingerprint(ctx, st)
		if err != nil {
			return err
		}
		if !changed && sameSet(before, after) {
			return p.complete(st, pl)
		}
		if !st.changed {
			st.changed = true
			p.count(func(s *Summary) { s.Changed++ })
		}
		p.log.Warn("pull: the study changed on the server during its retrieval; planning it again", "study", st.dir, "round", round)
		p.event(Event{Kind: EventStudyChanged, Study: st.dir}, func(pr *Progress) {
			pr.Instances -= len(pl.bySOP)
			pr.InstancesDone -= len(st.written)
		})
		before = after
	}
	return fmt.Errorf("pull: the study kept changing on the server over %d attempts; run pull again later", maxRounds)
}

// fingerprint lists every instance of the study on the server (SOP
// Instance UID → series), to tell whether it changed during the retrieval.
func (p *puller) fingerprint(ctx context.Context, st *studyState) (map[string]string, error) {
	var out map[string]string
	err := p.acquire(ctx, func() error {
		dss, err := p.client.SearchInstances(ctx, st.uid)
		if err != nil && !dicomweb.IsStatus(err, http.StatusNotFound) {
			return err
		}
		out = make(map[string]string, len(dss))
		for _, ds := range dss {
			if sop := ds.String(dicom.TagSOPInstanceUID); sop != "" {
				out[sop] = ds.String(dicom.TagSeriesInstanceUID)
			}
		}
		return nil
	})
	if err == nil && len(out) == 0 {
		err = errors.New("pull: the server lists no instances for this study (deleted since the search?)")
	}
	return out, err
}

func sameSet(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// seriesInfo is what planning learns of one series.
type seriesInfo struct {
	uid, number, desc string
	instances         []*instPlan
	images            []cine.Image
}

// plan decides which series and instances the study needs: by default the
// series ingest would use (ingest.ChooseSeries on their metadata).
func (p *puller) plan(ctx context.Context, st *studyState, fp map[string]string) (*studyPlan, error) {
	var list []*dicom.DataSet
	err := p.acquire(ctx, func() (err error) {
		list, err = p.client.SearchSeries(ctx, st.uid)
		return err
	})
	if err != nil {
		return nil, err
	}
	infos := make([]*seriesInfo, 0, len(list))
	for _, ds := range list {
		uid := ds.String(dicom.TagSeriesInstanceUID)
		if uid == "" {
			continue
		}
		infos = append(infos, &seriesInfo{uid: uid, number: ds.String(dicom.TagSeriesNumber), desc: ds.String(dicom.TagSeriesDescription)})
	}
	if p.opts.AllSeries {
		bySeries := map[string]*seriesInfo{}
		for _, si := range infos {
			bySeries[si.uid] = si
		}
		for sop, se := range fp {
			if si := bySeries[se]; si != nil {
				si.instances = append(si.instances, &instPlan{sop: sop})
			}
		}
	} else if err := p.metadata(ctx, st, infos); err != nil {
		return nil, err
	}
	chosen := map[string]bool{}
	if p.opts.AllSeries {
		for _, si := range infos {
			chosen[si.uid] = len(si.instances) > 0
		}
	} else {
		var images []cine.Image
		for _, si := range infos {
			images = append(images, si.images...)
		}
		for _, d := range ingest.ChooseSeries(images, p.smap) {
			if d.View != "" {
				chosen[d.Series.SeriesUID] = true
			}
		}
	}
	pl := &studyPlan{bySOP: map[string]*instPlan{}, seriesOf: map[string]string{}}
	dirs := p.j.seriesDirs(st.uid)
	used := map[string]bool{}
	for _, d := range dirs {
		used[d] = true
	}
	taken := map[string]string{} // path → SOP, from the journal
	known := map[string]string{} // SOP → path
	for _, f := range p.j.files(st.uid) {
		taken[f.Path] = f.SOP
		known[f.SOP] = f.Path
	}
	sort.Slice(infos, func(a, b int) bool { return seriesBefore(infos[a], infos[b]) })
	for _, si := range infos {
		if !chosen[si.uid] {
			pl.skipped++
			continue
		}
		dir, ok := dirs[si.uid]
		if !ok {
			dir = seriesDirName(si.number, si.desc, used)
			used[dir] = true
			if err := p.j.append(record{Op: opSeries, Study: st.uid, Series: si.uid, Dir: dir}); err != nil {
				return nil, err
			}
		}
		sp := &seriesPlan{uid: si.uid, dir: dir, instances: si.instances}
		sort.Slice(sp.instances, func(a, b int) bool {
			x, y := sp.instances[a], sp.instances[b]
			if x.number != y.number {
				return x.number < y.number
			}
			return x.sop < y.sop
		})
		next := 1
		for _, in := range sp.instances {
			if path, ok := known[in.sop]; ok {
				in.path = path
			} else {
				for {
					cand := filepath.ToSlash(filepath.Join(dir, fmt.Sprintf("%04d.dcm", next)))
					next++
					if _, clash := taken[cand]; !clash {
						in.path = cand
						taken[cand] = in.sop
						break
					}
				}
			}
			pl.bySOP[in.sop] = in
			pl.seriesOf[in.sop] = si.uid
		}
		pl.series = append(pl.series, sp)
	}
	st.mu.Lock()
	st.seriesUsed, st.seriesSkipped, st.instances = len(pl.series), pl.skipped, len(pl.bySOP)
	st.mu.Unlock()
	if len(pl.series) == 0 {
		return nil, fmt.Errorf("pull: no series of this study is one ingest would use (%d series, none a cine view); --all-series downloads them anyway", len(infos))
	}
	return pl, nil
}

// metadata fetches every series' WADO-RS metadata, concurrently.
func (p *puller) metadata(ctx context.Context, st *studyState, infos []*seriesInfo) error {
	var wg sync.WaitGroup
	errs := make([]error, len(infos))
	for i, si := range infos {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = p.acquire(ctx, func() error {
				dss, err := p.client.SeriesMetadata(ctx, st.uid, si.uid)
				if err != nil {
					return fmt.Errorf("%w (series %s of %s)", err, si.number, st.dir)
				}
				for _, ds := range dss {
					sop := ds.String(dicom.TagSOPInstanceUID)
					if sop == "" {
						continue
					}
					n, _ := ds.Int(dicom.TagInstanceNumber)
					si.instances = append(si.instances, &instPlan{sop: sop, number: n})
					if imgs, err := (&dicom.File{DataSet: ds}).Images(); err == nil {
						si.images = append(si.images, imgs...)
					}
				}
				return nil
			})
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func seriesBefore(a, b *seriesInfo) bool {
	x, errA := strconv.Atoi(a.number)
	y, errB := strconv.Atoi(b.number)
	if errA == nil && errB == nil && x != y {
		return x < y
	}
	return a.uid < b.uid
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// seriesDirName names a series folder NNNN_Description (made safe and
// unique within the study).
func seriesDirName(number, desc string, used map[string]bool) string {
	n, err := strconv.Atoi(number)
	if err != nil {
		n = 0
	}
	d := strings.Trim(unsafeName.ReplaceAllString(desc, "_"), "_")
	if len(d) > 40 {
		d = d[:40]
	}
	base := fmt.Sprintf("%04d", n)
	if d != "" {
		base += "_" + d
	}
	name := base
	for k := 2; used[name]; k++ {
		name = fmt.Sprintf("%s_%d", base, k)
	}
	return name
}

// reconcile compares the files on disk with the plan: a journaled file the
// plan no longer wants is removed; one that fails verification (size, SOP
// Instance UID) is removed to be fetched again; the rest count as done.
func (p *puller) reconcile(st *studyState, pl *studyPlan, first bool) error {
	part := filepath.Join(p.partial, st.dir)
	for _, f := range p.j.files(st.uid) {
		full := filepath.Join(part, filepath.FromSlash(f.Path))
		in := pl.bySOP[f.SOP]
		if st.written[f.SOP] && in != nil {
			continue
		}
		why := ""
		switch {
		case in == nil:
			why = "no longer on the server or no longer needed"
			p.count(func(s *Summary) { s.Dropped++ })
		case verifyFile(full, f.SOP, f.Size) != nil:
			why = "failed verification (size or SOP Instance UID); fetching it again"
			p.count(func(s *Summary) { s.Refetched++ })
		}
		if why != "" {
			p.log.Debug("pull: removing a file", "study", st.dir, "file", f.Path, "why", why)
			if err := os.Remove(full); err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("pull: %w", err)
			}
			if err := p.j.append(record{Op: opDrop, Study: st.uid, SOP: f.SOP}); err != nil {
				return err
			}
			continue
		}
		st.written[f.SOP] = true
		if first {
			p.count(func(s *Summary) { s.Resumed++ })
		}
	}
	return nil
}

// download fetches every planned instance not yet on disk: a whole series
// in one request when none of it is, else instance by instance. It
// reports whether the server showed that the study changed (an instance
// gone, or one that was not planned).
func (p *puller) download(ctx context.Context, st *studyState, pl *studyPlan) (bool, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		mu      sync.Mutex
		changed bool
		wg      sync.WaitGroup
	)
	fail := func(err error) { cancel(err) }
	need := func(in *instPlan) bool {
		st.mu.Lock()
		defer st.mu.Unlock()
		return !st.written[in.sop]
	}
	fetchOne := func(sp *seriesPlan, in *instPlan) {
		defer wg.Done()
		err := p.acquire(ctx, func() error {
			return p.client.RetrieveInstance(ctx, st.uid, sp.uid, in.sop, func(part dicomweb.Part) error {
				return p.save(st, pl, sp, part, &mu, &changed)
			})
		})
		switch {
		case err == nil:
			if need(in) { // the answer held another instance
				mu.Lock()
				changed = true
				mu.Unlock()
			}
		case dicomweb.IsStatus(err, http.StatusNotFound):
			mu.Lock()
			changed = true // deleted on the server since planning
			mu.Unlock()
		default:
			fail(fmt.Errorf("%w (an instance of series %s)", err, sp.dir))
		}
	}
	for _, sp := range pl.series {
		var missing []*instPlan
		for _, in := range sp.instances {
			if need(in) {
				missing = append(missing, in)
			}
		}
		switch {
		case len(missing) == 0:
		case len(missing) == len(sp.instances) && len(missing) > 1:
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := p.acquire(ctx, func() error {
					return p.client.RetrieveSeries(ctx, st.uid, sp.uid, func(part dicomweb.Part) error {
						return p.save(st, pl, sp, part, &mu, &changed)
					})
				})
				switch {
				case err == nil || errors.Is(err, dicomweb.ErrPartStream):
					if err != nil {
						p.log.Warn("pull: a series transfer broke off; fetching the rest instance by instance", "study", st.dir, "series", sp.dir, "err", err)
					}
				case dicomweb.IsStatus(err, http.StatusNotFound):
					mu.Lock()
					changed = true
					mu.Unlock()
					return
				default:
					fail(fmt.Errorf("%w (series %s)", err, sp.dir))
					return
				}
				// Whatever the series answer lacked, instance by instance.
				for _, in := range sp.instances {
					if need(in) && ctx.Err() == nil {
						wg.Add(1)
						go fetchOne(sp, in)
					}
				}
			}()
		default:
			for _, in := range missing {
				wg.Add(1)
				go fetchOne(sp, in)
			}
		}
	}
	wg.Wait()
	if cause := context.Cause(ctx); cause != nil {
		return false, cause
	}
	return changed, nil
}

// save writes one received instance after checking it: it must parse as
// DICOM and be one the plan wants. An instance the plan does not know
// means the study changed.
func (p *puller) save(st *studyState, pl *studyPlan, sp *seriesPlan, part dicomweb.Part, mu *sync.Mutex, changed *bool) error {
	b, err := io.ReadAll(part)
	if err != nil {
		return err // a broken stream: the caller sees dicomweb.ErrPartStream
	}
	f, err := dicom.Parse("", b)
	if err != nil {
		return fmt.Errorf("pull: the server sent an unreadable DICOM object in series %s: %s", sp.dir, dicomweb.Scrub(err.Error()))
	}
	sop := f.DataSet.String(dicom.TagSOPInstanceUID)
	in := pl.bySOP[sop]
	if in == nil || pl.seriesOf[sop] != sp.uid || f.DataSet.String(dicom.TagStudyInstanceUID) != st.uid {
		mu.Lock()
		*changed = true
		mu.Unlock()
		return nil
	}
	st.mu.Lock()
	dup := st.written[sop]
	st.mu.Unlock()
	if dup {
		return nil
	}
	full := filepath.Join(p.partial, st.dir, filepath.FromSlash(in.path))
	if err := writeFile(full, b); err != nil {
		return err
	}
	if err := p.j.append(record{Op: opFile, Study: st.uid, Series: sp.uid, SOP: sop, Path: in.path, Size: int64(len(b))}); err != nil {
		return err
	}
	st.mu.Lock()
	st.written[sop] = true
	st.mu.Unlock()
	p.count(func(s *Summary) { s.Downloaded++ })
	p.event(Event{Kind: EventInstance, Study: st.dir}, func(pr *Progress) { pr.InstancesDone++ })
	return nil
}

// writeFile writes b to path through a temporary file and a rename, so a
// file under its final name is always whole.
func writeFile(path string, b []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("pull: %w", err)
	}
	f, err := os.CreateTemp(dir, ".part-*")
	if err != nil {
		return fmt.Errorf("pull: %w", err)
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("pull: %w", err)
	}
	return nil
}

// verifyFile checks a written instance: its size and SOP Instance UID.
func verifyFile(path, sop string, size int64) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if int64(len(b)) != size {
		return fmt.Errorf("%d bytes, journal says %d", len(b), size)
	}
	f, err := dicom.Parse("", b)
	if err != nil {
		return err
	}
	if got := f.DataSet.String(dicom.TagSOPInstanceUID); got != sop {
		return errors.New("SOP Instance UID differs from the journal's")
	}
	return nil
}

// complete moves a study whose planned instances are all on disk to
// dicom/: stray files (temporaries of a killed run, files never journaled)
// are removed first, so the folder holds exactly the journaled instances.
func (p *puller) complete(st *studyState, pl *studyPlan) error {
	part := filepath.Join(p.partial, st.dir)
	keep := map[string]bool{}
	for _, in := range pl.bySOP {
		keep[filepath.Join(part, filepath.FromSlash(in.path))] = true
	}
	err := filepath.WalkDir(part, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !keep[path] {
			return os.Remove(path)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pull: %w", err)
	}
	if err := p.j.append(record{Op: opComplete, Study: st.uid}); err != nil {
		return err
	}
	if err := os.Rename(part, filepath.Join(p.done, st.dir)); err != nil {
		return fmt.Errorf("pull: %w", err)
	}
	p.count(func(s *Summary) {
		s.Complete++
		s.Instances += len(pl.bySOP)
		s.SeriesUsed += len(pl.series)
		s.SeriesSkipped += pl.skipped
	})
	p.log.Info("pull: study complete", "study", st.dir, "series", len(pl.series), "skipped series", pl.skipped, "instances", len(pl.bySOP))
	st.setStatus(statusComplete, "")
	p.event(Event{Kind: EventStudyDone, Study: st.dir}, func(pr *Progress) { pr.StudiesDone++ })
	if p.ing != nil {
		p.ing.add(st)
	}
	return nil
}
