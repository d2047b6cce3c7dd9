package pull

import (
	"log/slog"
	"net/url"
	"time"

	"github.com/cmrfm/cmrfm/dicomweb"
	"github.com/cmrfm/cmrfm/ingest"
)

// Options configures Run. The zero value of each field is its documented
// default; Server.URL, Out and at least one of Studies, Accessions and Query
// are required.
type Options struct {
	// Server is the DICOMweb server and how to reach it.
	Server dicomweb.Options
	// Out is the pull directory (created with mode 0700): the journal, the
	// studies being downloaded (.partial/), the finished ones (dicom/) and
	// studies.csv. It must not be readable by others. Default with Ingest:
	// <store>.pull beside (not inside) the store.
	Out string

	// Studies are StudyInstanceUIDs to pull.
	Studies []string
	// Accessions are AccessionNumbers to pull (every study found for each).
	Accessions []string
	// Query holds QIDO-RS study matching keys, e.g. ModalitiesInStudy=MR and
	// StudyDate=20240101-20241231; every study found is pulled.
	Query url.Values

	// AllSeries downloads every series of a study. By default only the
	// series ingest would use are downloaded (ingest.ChooseSeries on the
	// series' WADO-RS metadata): no localizers, late enhancement, mapping or
	// other non-cine series, and one series per view.
	AllSeries bool
	// SeriesMap decides views as ingest does (default: Ingest's series map,
	// else ingest's built-in map).
	SeriesMap *ingest.SeriesMap

	// Transfers is the number of concurrent HTTP requests (default 4).
	Transfers int

	// Ingest, when set, ingests every study as soon as it is complete, with
	// this ingest configuration (Out is the store; Inputs is set by Run to
	// the pull directory's dicom/ folder), and then deletes its DICOM files
	// unless Keep is set.
	Ingest *ingest.Config
	// Keep keeps the DICOM files of ingested studies.
	Keep bool

	// Log receives progress messages; studies are named by their folder
	// (study-0001), never by an identifier. nil discards.
	Log *slog.Logger
	// Events, when set, is called (never concurrently) as the pull
	// progresses: after the search, and after each instance, study and
	// ingest batch.
	Events func(Event)
}

// EventKind says what happened.
type EventKind string

// Event kinds.
const (
	EventSearched     EventKind = "searched"      // the studies to pull are known
	EventPlanned      EventKind = "planned"       // a study's instances to fetch are known
	EventInstance     EventKind = "instance"      // an instance was written
	EventStudyDone    EventKind = "study_done"    // a study is complete on disk
	EventStudyFailed  EventKind = "study_failed"  // a study could not be completed in this run
	EventIngested     EventKind = "ingested"      // ingest has read some complete studies
	EventStudyChanged EventKind = "study_changed" // a study changed on the server; it is planned again
)

// Event is one step of a pull, with the totals so far.
type Event struct {
	Kind EventKind
	// Study is the study's folder name (study-0001), when the event is about one.
	Study    string
	Progress Progress
}

// Progress counts a pull's work so far.
type Progress struct {
	// Studies found, and how many are complete (this run or earlier) or failed.
	Studies, StudiesDone, StudiesFailed int
	// Instances planned so far, and how many of them are on disk.
	Instances, InstancesDone int
	// Bytes received from the server in this run (metadata included).
	Bytes   int64
	Elapsed time.Duration
}

// Summary is what a pull did.
type Summary struct {
	// Requested counts the study UIDs and accession numbers asked for;
	// NotFound how many of them matched no study.
	Requested, NotFound int
	// Studies found; Complete of them are on disk (or ingested) at the end,
	// AlreadyDone were complete before this run, Failed could not be
	// completed (see Failures and studies.csv; a rerun continues them).
	Studies, Complete, AlreadyDone, Failed int
	// Ingested studies (this run); IngestRuns is the number of ingest
	// batches.
	Ingested, IngestRuns int
	// Changed counts studies that changed on the server during the pull
	// and were planned again.
	Changed int
	// SeriesUsed and SeriesSkipped count the series downloaded and those
	// ingest would not use (not downloaded).
	SeriesUsed, SeriesSkipped int
	// Instances planned; Downloaded in this run; Resumed were on disk from
	// an earlier run (verified); Refetched were in the journal but failed
	// verification and were downloaded again; Dropped were removed because
	// the server no longer has them.
	Instances, Downloaded, Resumed, Refetched, Dropped int
	// Bytes received (DICOM and metadata) and the wall time.
	Bytes   int64
	Elapsed time.Duration
	// Failures lists every study that failed, by folder name, with why.
	Failures []Failure
	// Report is <out>/studies.csv; DICOM is <out>/dicom.
	Report, DICOM string
	// Ingest is the last ingest run's summary (nil without Ingest).
	Ingest *ingest.Summary
}

// Failure is a study that failed, named by its folder (studies.csv maps it
// to its UID and accession number).
type Failure struct {
	Study string
	Err   string
}
