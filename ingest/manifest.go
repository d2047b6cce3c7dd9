package ingest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/cmrfm/cmrfm/store"
)

// StatusUnitDone marks the journal line written after every study of a unit.
const StatusUnitDone = "unit_done"

// JournalDir holds, inside the store, the append-only journal of every
// attempt: one line per study as each unit finishes, then a unit_done line,
// with timings. Resume reads it. The manifest beside it is derived from it
// at the end of each run: the latest line of every study, sorted, without
// timings — so an interrupted and resumed ingest ends with the manifest of
// an uninterrupted one, byte for byte.
const JournalDir = ".cmrfm-journal"

// journalPath is the journal of the manifest at path.
func journalPath(manifest string) string {
	return filepath.Join(filepath.Dir(manifest), JournalDir, filepath.Base(manifest))
}

// writeManifest writes the manifest atomically: entries (latest per study)
// sorted by unit and study, without timings.
func writeManifest(path string, entries []*Entry) error {
	es := make([]Entry, 0, len(entries))
	for _, e := range entries {
		c := *e
		c.Seconds, c.Time = 0, ""
		es = append(es, c)
	}
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].Unit != es[j].Unit {
			return es[i].Unit < es[j].Unit
		}
		return es[i].StudyID < es[j].StudyID
	})
	return writeAtomicLines(path, func(w io.Writer) error {
		for i := range es {
			b, err := json.Marshal(&es[i])
			if err != nil {
				return err
			}
			if _, err := w.Write(append(b, '\n')); err != nil {
				return err
			}
		}
		return nil
	})
}

func appendManifest(f *os.File, e *Entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		return err
	}
	return f.Sync()
}

// readManifests reads every journal of the store (a line cut short by a
// crash is ignored), each entry tagged with its journal. A store written
// before journals existed is read from its manifests, which were journals.
func readManifests(out string) ([]*Entry, error) {
	paths, _ := filepath.Glob(filepath.Join(out, JournalDir, "manifest*.jsonl"))
	if len(paths) == 0 {
		paths, _ = filepath.Glob(filepath.Join(out, "manifest*.jsonl"))
	}
	sort.Strings(paths)
	var all []*Entry
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("ingest: %w", err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<26)
		for sc.Scan() {
			var e Entry
			if json.Unmarshal(sc.Bytes(), &e) == nil && e.Unit != "" {
				e.journal = filepath.Base(p)
				all = append(all, &e)
			}
		}
		f.Close()
	}
	return all, nil
}

// completedUnits returns the units whose last run finished and whose
// written studies are intact (file checksum as recorded); any other unit is
// done again.
func (r *runner) completedUnits(entries []*Entry) map[string]bool {
	byUnit := map[string][]*Entry{}
	finished := map[string]bool{}
	for _, e := range entries {
		if e.Status == StatusUnitDone {
			finished[e.Unit] = true
			continue
		}
		byUnit[e.Unit] = append(byUnit[e.Unit], e)
	}
	done := map[string]bool{}
	for u := range finished {
		ok := true
		for _, e := range latestEntries(byUnit[u]) {
			if e.Status != StatusOK {
				continue
			}
			sum, err := store.FileChecksum(filepath.Join(r.cfg.Out, e.Output))
			if err != nil || sum != e.FileChecksum {
				r.log.Warn("redoing unit: an output is missing or changed", "unit", u, "output", e.Output)
				ok = false
				break
			}
		}
		done[u] = ok
	}
	return done
}

// latestEntries keeps the last entry of every (unit, study), dropping
// unit-completion lines.
func latestEntries(entries []*Entry) []*Entry {
	idx := map[string]int{}
	var out []*Entry
	for _, e := range entries {
		if e.Status == StatusUnitDone {
			continue
		}
		k := e.Unit + "\x00" + e.StudyID
		if i, ok := idx[k]; ok {
			out[i] = e
			continue
		}
		idx[k] = len(out)
		out = append(out, e)
	}
	return out
}
