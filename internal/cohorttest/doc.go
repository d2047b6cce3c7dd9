// Package cohorttest builds the small phantom cohorts that tests of the
// later pipeline stages run on, the way a user would: phantom DICOM →
// cmrfm ingest → report index.
package cohorttest
