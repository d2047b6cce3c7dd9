package ingest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/cmrfm/cmrfm/store"
)

// StatusUnitDone marks the manifest line written after every study of a unit.
const StatusUnitDone = "unit_done"

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

// readManifests reads every manifest*.jsonl in the store; a line cut short
// by a crash is ignored.
func readManifests(out string) ([]*Entry, error) {
	paths, _ := filepath.Glob(filepath.Join(out, "manifest*.jsonl"))
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
