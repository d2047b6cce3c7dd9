package dicomweb

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/cmrfm/cmrfm/dicom"
)

const acceptJSON = "application/dicom+json, application/json"

// pageSize is how many results a QIDO-RS search asks for at a time.
const pageSize = 500

// getJSON fetches a DICOM JSON answer, retrying failures of the whole
// exchange (a body cut short is retried like a refused connection).
func (c *Client) getJSON(ctx context.Context, r request) ([]*dicom.DataSet, error) {
	r.accept = acceptJSON
	var lastErr error
	for attempt := 0; attempt <= c.opts.Retries; attempt++ {
		if attempt > 0 {
			wait := c.backoff(attempt, lastErr)
			c.log.Warn("dicomweb: retrying", "request", r.op, "attempt", attempt+1, "wait", wait, "err", lastErr)
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(wait):
			}
		}
		resp, body, err := c.do(ctx, r)
		if err != nil {
			return nil, err // do has retried already
		}
		b, err := io.ReadAll(body)
		body.Close()
		if err != nil {
			lastErr = fmt.Errorf("dicomweb: %s: reading the answer: %w", r.op, err)
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			continue
		}
		if resp.StatusCode == http.StatusNoContent || len(b) == 0 {
			return nil, nil // no match
		}
		ds, err := dicom.ReadJSON(b)
		if err != nil {
			return nil, fmt.Errorf("dicomweb: %s: %s", r.op, Scrub(err.Error()))
		}
		return ds, nil
	}
	return nil, fmt.Errorf("%w (after %d attempts)", lastErr, c.opts.Retries+1)
}

// SearchStudies runs a QIDO-RS study search with the given matching keys
// (e.g. AccessionNumber=…, StudyDate=20240101-20241231,
// ModalitiesInStudy=MR) and returns every match, fetching pages of results
// (limit/offset) until the server has no more.
func (c *Client) SearchStudies(ctx context.Context, q url.Values) ([]*dicom.DataSet, error) {
	var out []*dicom.DataSet
	seen := map[string]bool{}
	for offset := 0; ; {
		qq := url.Values{}
		for k, v := range q {
			qq[k] = v
		}
		qq.Set("limit", strconv.Itoa(pageSize))
		if offset > 0 {
			qq.Set("offset", strconv.Itoa(offset))
		}
		for _, f := range []string{"00080050", "00080020", "00080061", "00201208"} {
			qq.Add("includefield", f)
		}
		page, err := c.getJSON(ctx, request{op: "QIDO-RS search for studies", path: "/studies", query: qq})
		if err != nil {
			return nil, err
		}
		added := 0
		for _, ds := range page {
			uid := ds.String(dicom.TagStudyInstanceUID)
			if uid == "" || seen[uid] {
				continue
			}
			seen[uid] = true
			out = append(out, ds)
			added++
		}
		// A server that ignores limit answers everything at once; one that
		// ignores offset repeats the page: both end here.
		if len(page) < pageSize || added == 0 {
			return out, nil
		}
		offset += len(page)
	}
}

// SearchSeries lists the series of a study (QIDO-RS).
func (c *Client) SearchSeries(ctx context.Context, study string) ([]*dicom.DataSet, error) {
	q := url.Values{"includefield": {"0008103E", "00200011", "00080060", "00201209"}}
	return c.getJSON(ctx, request{op: "QIDO-RS series of a study", path: "/studies/" + url.PathEscape(study) + "/series", query: q})
}

// SearchInstances lists every instance of a study (QIDO-RS), with its
// series and SOP Instance UIDs.
func (c *Client) SearchInstances(ctx context.Context, study string) ([]*dicom.DataSet, error) {
	q := url.Values{"includefield": {"0020000E", "00200013"}}
	return c.getJSON(ctx, request{op: "QIDO-RS instances of a study", path: "/studies/" + url.PathEscape(study) + "/instances", query: q})
}

// SeriesMetadata returns the metadata of every instance of a series
// (WADO-RS, DICOM JSON, bulk data such as pixels left out).
func (c *Client) SeriesMetadata(ctx context.Context, study, series string) ([]*dicom.DataSet, error) {
	return c.getJSON(ctx, request{op: "WADO-RS metadata of a series",
		path: "/studies/" + url.PathEscape(study) + "/series/" + url.PathEscape(series) + "/metadata"})
}
