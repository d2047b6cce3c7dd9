package ingest

import "fmt"

// processNIfTI reads an ACDC-style folder (4-D image + Info.cfg).
func (r *runner) processNIfTI(u Unit, id string) []*Entry {
	e := &Entry{Unit: id, Status: StatusFailed, Time: now(),
		Error: fmt.Sprintf("NIfTI folder: reading NIfTI is not available in this build (%s)", "pending the cine NIfTI reader")}
	return []*Entry{e}
}
