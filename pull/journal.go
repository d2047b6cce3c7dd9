package pull

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// JournalName is the journal's file name inside the pull directory.
const JournalName = "journal.jsonl"

// Journal operations, one JSON line each.
const (
	opPull     = "pull"     // the pull directory's id (first line)
	opStudy    = "study"    // a study got its folder name
	opSeries   = "series"   // a series of a study got its folder name
	opFile     = "file"     // an instance was written (path, size)
	opDrop     = "drop"     // a written instance was removed (gone from the server, or failed verification)
	opComplete = "complete" // every planned instance is on disk; the study moved to dicom/
	opIngested = "ingested" // ingest has read the study (its DICOM may be deleted)
)

// record is one journal line.
type record struct {
	Op     string `json:"op"`
	Study  string `json:"study"`
	Dir    string `json:"dir,omitempty"`
	Series string `json:"series,omitempty"`
	SOP    string `json:"sop,omitempty"`
	Path   string `json:"path,omitempty"` // relative to the study folder
	Size   int64  `json:"size,omitempty"`
	Time   string `json:"time,omitempty"`
}

// jStudy is what the journal knows of one study.
type jStudy struct {
	UID, Dir string
	Series   map[string]string // SeriesInstanceUID → folder name
	Files    map[string]*jFile // SOPInstanceUID → file
	Complete bool
	Ingested bool
}

// jFile is one written instance.
type jFile struct {
	Series, SOP, Path string
	Size              int64
}

// journal is the pull directory's append-only record of progress. Lines
// are appended as work finishes and synced at most every syncEvery (and at
// once for study-level events): a crash loses at most the last moments'
// lines, and their files are then simply fetched again; a line whose file
// did not survive (power loss) fails verification by size and SOP Instance
// UID on resume and is fetched again too.
type journal struct {
	// id names this pull directory; study folders are <id>-NNNN, so that
	// studies of different pull directories never share a folder name (ingest
	// resumes by folder).
	id       string
	mu       sync.Mutex
	f        *os.File
	studies  map[string]*jStudy
	order    []string // study UIDs in journal order
	dirty    bool
	lastSync time.Time
	err      error
}

const syncEvery = 500 * time.Millisecond

// openJournal replays dir/journal.jsonl (a line cut short by a crash is
// ignored) and opens it for appending.
func openJournal(dir string) (*journal, error) {
	p := filepath.Join(dir, JournalName)
	j := &journal{studies: map[string]*jStudy{}}
	if f, err := os.Open(p); err == nil {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var r record
			if json.Unmarshal(sc.Bytes(), &r) != nil {
				continue
			}
			if r.Op == opPull && j.id == "" {
				j.id = r.Dir
				continue
			}
			if r.Study != "" {
				j.apply(r)
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("pull: journal %s: %w", p, err)
		}
	} else if !os.IsNotExist(err) {
		return nil, fmt.Errorf("pull: journal: %w", err)
	}
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("pull: journal: %w", err)
	}
	j.f = f
	// A line torn by a crash has no newline: end it, so that the next line
	// starts on its own (the torn one stays ignored).
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, st.Size()-1); err == nil && last[0] != '\n' {
			if _, err := f.Write([]byte{'\n'}); err != nil {
				f.Close()
				return nil, fmt.Errorf("pull: journal: %w", err)
			}
		}
	}
	if j.id == "" {
		var b [4]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("pull: journal: %w", err)
		}
		j.id = "st-" + hex.EncodeToString(b[:])
		if err := j.append(record{Op: opPull, Dir: j.id}); err != nil {
			f.Close()
			return nil, err
		}
	}
	return j, nil
}

func (j *journal) apply(r record) {
	if (r.Op == opStudy || r.Op == opSeries) && !filepath.IsLocal(r.Dir) {
		return // never a folder outside the pull directory
	}
	s := j.studies[r.Study]
	if s == nil {
		if r.Op != opStudy {
			return
		}
		s = &jStudy{UID: r.Study, Series: map[string]string{}, Files: map[string]*jFile{}}
		j.studies[r.Study] = s
		j.order = append(j.order, r.Study)
	}
	switch r.Op {
	case opStudy:
		s.Dir = r.Dir
	case opSeries:
		s.Series[r.Series] = r.Dir
	case opFile:
		if !filepath.IsLocal(r.Path) {
			return // never a path outside the study folder
		}
		s.Files[r.SOP] = &jFile{Series: r.Series, SOP: r.SOP, Path: r.Path, Size: r.Size}
	case opDrop:
		delete(s.Files, r.SOP)
		s.Complete, s.Ingested = false, false
	case opComplete:
		s.Complete = true
	case opIngested:
		s.Ingested = true
	}
}

// append writes r (and applies it); study-level records are synced at once.
func (j *journal) append(r record) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.appendLocked(r)
}

func (j *journal) appendLocked(r record) error {
	r.Time = time.Now().UTC().Format(time.RFC3339)
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if j.err != nil {
		return j.err
	}
	j.apply(r)
	if _, err := j.f.Write(append(b, '\n')); err != nil {
		j.err = fmt.Errorf("pull: journal: %w", err)
		return j.err
	}
	j.dirty = true
	if r.Op != opFile || time.Since(j.lastSync) > syncEvery {
		return j.syncLocked()
	}
	return nil
}

func (j *journal) syncLocked() error {
	if !j.dirty {
		return nil
	}
	if err := j.f.Sync(); err != nil {
		j.err = fmt.Errorf("pull: journal: %w", err)
		return j.err
	}
	j.dirty, j.lastSync = false, time.Now()
	return nil
}

// close syncs and closes the journal.
func (j *journal) close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	err := j.syncLocked()
	if cerr := j.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// study returns a copy-safe view of a study's journal state (nil when the
// journal has never seen it). Callers treat the maps as read-only.
func (j *journal) study(uid string) *jStudy {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.studies[uid]
}

// files returns a snapshot of a study's written files.
func (j *journal) files(uid string) []*jFile {
	j.mu.Lock()
	defer j.mu.Unlock()
	s := j.studies[uid]
	if s == nil {
		return nil
	}
	out := make([]*jFile, 0, len(s.Files))
	for _, f := range s.Files {
		c := *f
		out = append(out, &c)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Path < out[b].Path })
	return out
}

// seriesDirs returns a snapshot of a study's series folders.
func (j *journal) seriesDirs(uid string) map[string]string {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := map[string]string{}
	if s := j.studies[uid]; s != nil {
		for k, v := range s.Series {
			out[k] = v
		}
	}
	return out
}

// status returns a study's completion flags.
func (j *journal) status(uid string) (known, complete, ingested bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	s := j.studies[uid]
	if s == nil {
		return false, false, false
	}
	return true, s.Complete, s.Ingested
}

// assignDir returns the study's folder name, giving a new study the next
// number (<id>-0001, <id>-0002, …) in journal order.
func (j *journal) assignDir(uid string) (string, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if s := j.studies[uid]; s != nil {
		return s.Dir, nil
	}
	dir := fmt.Sprintf("%s-%04d", j.id, len(j.order)+1)
	return dir, j.appendLocked(record{Op: opStudy, Study: uid, Dir: dir})
}

// completeNotIngested lists the studies that are complete but not ingested,
// in journal order.
func (j *journal) completeNotIngested() []jStudy {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []jStudy
	for _, uid := range j.order {
		if s := j.studies[uid]; s.Complete && !s.Ingested {
			out = append(out, jStudy{UID: s.UID, Dir: s.Dir})
		}
	}
	return out
}

// reopen marks a complete study's files as gone, so it is pulled again.
func (j *journal) reopen(uid string) error {
	for _, f := range j.files(uid) {
		if err := j.append(record{Op: opDrop, Study: uid, SOP: f.SOP}); err != nil {
			return err
		}
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if s := j.studies[uid]; s != nil {
		s.Complete, s.Ingested = false, false
	}
	return nil
}
