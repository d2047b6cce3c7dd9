package ingest

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/cmrfm/cmrfm/cine"
)

// LoadSeriesMap returns the series map a run with this configuration uses:
// the built-in reference maps (unless NoDefaultSeriesMap), preceded by the
// rules of the SeriesMap file when one is set.
func (c Config) LoadSeriesMap() (*SeriesMap, error) {
	m := DefaultSeriesMap()
	if c.NoDefaultSeriesMap {
		m = &SeriesMap{byDesc: map[string]int{}}
	}
	if c.SeriesMap == "" {
		return m, nil
	}
	f, err := os.Open(c.SeriesMap)
	if err != nil {
		return nil, fmt.Errorf("ingest: series map: %w", err)
	}
	defer f.Close()
	m, err = m.WithUser(f, filepath.Base(c.SeriesMap))
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	return m, nil
}

// ChooseSeries decides which series of one study ingest would use, from the
// descriptions of the study's images alone (no pixels: e.g. built from
// DICOMweb metadata by dicom.ReadJSON and File.Images). It applies the
// assembly and view rules ingest applies to files — the series map, the
// keywords that exclude localizers, late enhancement and other non-cine
// series, static (one frame per slice) series, then geometry — and returns
// one decision per assembled series; a decision with a View is a series
// ingest would read. Assembly never groups images of different
// SeriesInstanceUIDs, and excluded series never influence the choice among
// the others, so the series chosen here are exactly those ingest chooses
// from the study's files, whether or not the excluded series are present.
func ChooseSeries(images []cine.Image, m *SeriesMap) []*Decision {
	_, decisions := assignViews(cine.Assemble(images, cine.AssembleOptions{}), m)
	return decisions
}
