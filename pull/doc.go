// Package pull fetches cardiac MRI studies from a hospital's PACS over
// DICOMweb (package dicomweb) into a private pull directory, and optionally
// hands each study to ingest as soon as it is complete.
//
// A pull searches (QIDO-RS) by StudyInstanceUID, AccessionNumber or any
// study matching keys; lists each study's series and reads their metadata
// (WADO-RS); keeps only the series ingest would use (ingest.ChooseSeries:
// the same series map, keywords and geometry, so localizers and late
// enhancement are not downloaded); and retrieves them (WADO-RS,
// multipart/related application/dicom in the stored transfer syntax) over
// N concurrent transfers — a whole series per request when none of it is
// on disk, else instance by instance.
//
// Every instance is checked (it must parse as DICOM and be one the plan
// wants), written through a temporary file and a rename, and recorded in an
// append-only journal. A killed pull, run again, verifies the journaled
// files by size and SOP Instance UID and fetches only what is missing. A
// study is planned again when the server changes it during its retrieval
// (instances deleted or added), until two listings agree.
//
// Layout of the pull directory (mode 0700, files 0600):
//
//	journal.jsonl        progress; holds UIDs
//	.partial/<folder>/   studies being downloaded
//	dicom/<folder>/      complete studies: <NNNN_Series>/<NNNN>.dcm
//	studies.csv          folder ↔ UIDs, status and error of every study
//
// Study folders are named <pull-id>-NNNN; logs and errors name studies by
// folder only, never by an identifier. With Ingest set, ingest.Run reads
// dicom/ after each batch of completed studies — the same as `cmrfm ingest
// --input <out>/dicom` — and the DICOM files are deleted once read.
package pull
