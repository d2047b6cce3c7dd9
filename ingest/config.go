package ingest

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cmrfm/cmrfm/cine"
	"github.com/cmrfm/cmrfm/internal/yamlconf"
	"github.com/cmrfm/cmrfm/text"
)

// Config is everything an ingest run needs. Fields carry yaml tags for the
// --config file; the zero value of each field is its documented default.
type Config struct {
	// Inputs are folders, archives (.tar, .tgz, .tar.gz, .zip), NIfTI
	// folders, or list files (.txt/.lst: one input per line).
	Inputs []string `yaml:"inputs"`
	// Out is the store root.
	Out string `yaml:"out"`
	// Site prefixes every patient folder (<site>_<patient-hash>); default "site".
	Site string `yaml:"site"`

	// SaltFile holds the hex de-identification salt; created with a random
	// salt when absent. Default: <out>.salt beside (not inside) the store.
	// Keep it private and keep it: the same salt gives the same pseudonyms.
	SaltFile string `yaml:"salt_file"`
	// Salt, when set (hex), is used instead of SaltFile.
	Salt string `yaml:"salt"`
	// Crosswalk, when set, is a CSV written with pseudonyms next to the
	// identifiers they replace. Only written when asked for.
	Crosswalk string `yaml:"crosswalk"`

	// SeriesMap is a user CSV (series_description,view) whose rules come
	// before the built-in reference maps; view "exclude" drops a series.
	SeriesMap string `yaml:"series_map"`
	// NoDefaultSeriesMap disables the built-in maps (geometry only).
	NoDefaultSeriesMap bool `yaml:"no_default_series_map"`

	// Frames is the spatial pre-processing: "reference" (default: nearest
	// resize of the short side to 480, centre crop 360 — the paper-era
	// toolkit), "model" (bilinear 264, crop 224 — the model's input) or
	// "original" (no resize).
	Frames string `yaml:"frames"`
	// Intensity is "window" (default: per-series percentile window to uint8,
	// the store format) or "raw" (stored values as float32, as the reference
	// toolkit keeps them).
	Intensity string `yaml:"intensity"`
	// WindowPercentiles are the lower and upper percentiles of the window
	// (default 0.5 and 99.5).
	WindowPercentiles [2]float64 `yaml:"window_percentiles"`
	// Channels is 3 (default, reference compatible) or 1.
	Channels int `yaml:"channels"`
	// MaxFramesPerSeries caps the frames of a series (default 2500, the
	// toolkit's limit); larger series are excluded with a message.
	MaxFramesPerSeries int `yaml:"max_frames_per_series"`
	// MaxSAXSlices, when > 0, keeps only the first slices of a stack (the
	// paper-era toolkit kept 10).
	MaxSAXSlices int `yaml:"max_sax_slices"`

	// Workers is the number of units processed at once (default: CPUs).
	Workers int `yaml:"workers"`
	// Shard "i/n" processes only the units whose key hashes to i modulo n.
	Shard string `yaml:"shard"`

	// Reports (JSONL or CSV) and Labels (CSV), keyed by AccessionNumber, are
	// written de-identified as <out>/reports.jsonl and <out>/index.csv.
	Reports string `yaml:"reports"`
	Labels  string `yaml:"labels"`
	// ReportKey, ReportText, LabelKey name the key and text columns
	// (defaults study_key, text, study_key).
	ReportKey  string `yaml:"report_key"`
	ReportText string `yaml:"report_text"`
	LabelKey   string `yaml:"label_key"`
	// NoReportDeid turns off the de-identification of report text (on by
	// default: names — the study's own DICOM names and pattern-found ones —
	// dates, MRNs, accession and phone numbers, e-mail and street addresses
	// become [NAME], [DATE], …; see text.Deidentify). Off, only the row's
	// own identifiers are removed.
	NoReportDeid bool `yaml:"no_report_deid"`
	// ReportDates is "remove" (default: [DATE]) or "shift": every date
	// moves by the patient's offset, 1 to ReportDateShiftDays (default 365)
	// days back, derived from the salt, so intervals between a patient's
	// reports survive.
	ReportDates         string `yaml:"report_dates"`
	ReportDateShiftDays int    `yaml:"report_date_shift_days"`
	// SplitFractions for index.csv when the labels carry no split column
	// (default 0.5, 0.25, 0.25 by patient) and the seed of that assignment.
	SplitFractions [3]float64 `yaml:"split_fractions"`
	SplitSeed      uint64     `yaml:"split_seed"`

	// PlainPaths logs and records input paths as they are; by default
	// folder names above the series folder are replaced by the unit's
	// pseudonym, since archive folders are often named by MRN or accession.
	PlainPaths bool `yaml:"plain_paths"`
}

// LoadConfig reads a YAML config file; unknown keys are an error.
func LoadConfig(path string) (Config, error) {
	c, err := yamlconf.Load(path, Config{})
	if err != nil {
		return c, fmt.Errorf("ingest %w", err)
	}
	return c, nil
}

// CheckConfig reports what is wrong with a configuration (nil if nothing).
func CheckConfig(c Config) error {
	_, err := c.withDefaults()
	return err
}

// withDefaults fills defaults and validates.
func (c Config) withDefaults() (Config, error) {
	if c.Out == "" {
		return c, fmt.Errorf("ingest: no output folder (--out)")
	}
	if len(c.Inputs) == 0 {
		return c, fmt.Errorf("ingest: no inputs (--input)")
	}
	if c.Site == "" {
		c.Site = "site"
	}
	if strings.ContainsAny(c.Site, `-_/\ `) {
		return c, fmt.Errorf("ingest: site %q must not contain '-', '_', '/', '\\' or spaces", c.Site)
	}
	if c.SaltFile == "" {
		c.SaltFile = filepath.Clean(c.Out) + ".salt"
	}
	switch c.Frames {
	case "":
		c.Frames = "reference"
	case "reference", "model", "original":
	default:
		return c, fmt.Errorf("ingest: frames %q: want reference, model or original", c.Frames)
	}
	switch c.Intensity {
	case "":
		c.Intensity = "window"
	case "window", "raw":
	default:
		return c, fmt.Errorf("ingest: intensity %q: want window or raw", c.Intensity)
	}
	if c.WindowPercentiles == [2]float64{} {
		c.WindowPercentiles = [2]float64{0.5, 99.5}
	}
	if p := c.WindowPercentiles; p[0] < 0 || p[1] > 100 || p[0] >= p[1] {
		return c, fmt.Errorf("ingest: window percentiles %v: want 0 ≤ low < high ≤ 100", p)
	}
	if c.Channels == 0 {
		c.Channels = 3
	}
	if c.Channels != 1 && c.Channels != 3 {
		return c, fmt.Errorf("ingest: channels %d: want 1 or 3", c.Channels)
	}
	if c.MaxFramesPerSeries == 0 {
		c.MaxFramesPerSeries = 2500
	}
	if c.ReportKey == "" {
		c.ReportKey = "study_key"
	}
	if c.ReportText == "" {
		c.ReportText = "text"
	}
	if c.LabelKey == "" {
		c.LabelKey = "study_key"
	}
	if _, err := text.ParseDateMode(c.ReportDates); err != nil {
		return c, fmt.Errorf("ingest: report_dates: %w", err)
	}
	if c.ReportDateShiftDays < 0 {
		return c, fmt.Errorf("ingest: report_date_shift_days %d: want ≥ 0", c.ReportDateShiftDays)
	}
	if c.SplitFractions == [3]float64{} {
		c.SplitFractions = [3]float64{0.5, 0.25, 0.25}
	}
	if _, _, err := ParseShard(c.Shard); err != nil {
		return c, err
	}
	return c, nil
}

// preprocess returns the spatial pre-processing of c.Frames.
func (c Config) preprocess() cine.Preprocess {
	switch c.Frames {
	case "model":
		return cine.ModelFrames
	case "original":
		return cine.Preprocess{}
	}
	return cine.ReferenceFrames
}

// ParseShard parses "i/n" (0 ≤ i < n); "" means the whole input (0/1).
func ParseShard(s string) (i, n int, err error) {
	if s == "" {
		return 0, 1, nil
	}
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return 0, 1, fmt.Errorf("ingest: shard %q: want i/n with 0 ≤ i < n, e.g. 3/16", s)
	}
	return i, n, nil
}
