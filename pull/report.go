package pull

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/cmrfm/cmrfm/internal/fsutil"
)

// writeReport writes <out>/studies.csv (mode 0600): one row per study of
// this run — its folder, the request that found it, its UIDs, status,
// series and instance counts and error — and one per requested key that
// matched nothing. It maps the folder names used in logs back to the
// studies, so it holds identifiers and stays in the private pull
// directory.
func (p *puller) writeReport(studies []*studyState, notFound []missing) (string, error) {
	path := filepath.Join(p.opts.Out, ReportName)
	rows := make([][]string, 0, len(studies)+len(notFound))
	for _, st := range studies {
		st.mu.Lock()
		status := st.status
		if status == "" {
			status = statusFailed
			if st.err == "" {
				st.err = "not attempted (the pull stopped first)"
			}
		}
		rows = append(rows, []string{st.dir, st.request, st.uid, st.accession, status,
			strconv.Itoa(st.seriesUsed), strconv.Itoa(st.seriesSkipped), strconv.Itoa(st.instances),
			strconv.FormatBool(st.changed), st.err})
		st.mu.Unlock()
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i][0] < rows[j][0] })
	for _, m := range notFound {
		rows = append(rows, []string{"", m.kind + ":" + m.key, "", "", statusNotFound, "0", "0", "0", "false",
			"no study on the server matches this " + m.kind})
	}
	err := fsutil.WriteFileAtomic(path, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		cw.Write([]string{"folder", "request", "study_instance_uid", "accession_number", "status",
			"series_used", "series_skipped", "instances", "changed_on_server", "error"})
		cw.WriteAll(rows)
		return cw.Error()
	})
	if err != nil {
		return "", fmt.Errorf("pull: %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return "", fmt.Errorf("pull: %w", err)
	}
	return path, nil
}
