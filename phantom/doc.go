// Package phantom generates cmrfm's built-in synthetic cardiac cine cohort:
// DICOM studies, free-text reports and labels whose ground truth is known
// exactly, because every image is a planar cut through one analytic 3-D +
// time heart per subject.
//
// Generate writes a cohort (dicom/, reports.jsonl, labels.csv, truth.json;
// the layout and every format are specified in docs/phantom.md). NewSubject
// samples one subject of a phenotype — normal, dilated or hypertrophic
// cardiomyopathy, prior infarction, pericardial effusion — whose Truth is
// integrated from the model (LV EDV, ESV, LVEF, wall thickness, mass, RV
// volumes); PlanSAX and PlanLAX give the planes a scanner would acquire,
// Render cuts the model by any plane at any time, and CineStudy renders the
// four cine views in memory as a cine.Study.
//
// The DICOM files are MR Image Storage (PS3.3 A.4) or Enhanced MR Image
// Storage (PS3.3 A.36.2) in Explicit VR Little Endian (PS3.5 §7.1.2),
// written by internal/dcmenc; the view vocabulary follows the reference's
// series-description maps (docs/reference.md §1.8). Every run with one seed
// writes byte-identical files.
package phantom
