package phantom

import "math/rand/v2"

// makeReport writes a free-text CMR report for a study.
func makeReport(r *rand.Rand, st *StudyTruth, s *Subject, a *acquisition) string {
	return "CLINICAL INDICATION: TODO."
}
