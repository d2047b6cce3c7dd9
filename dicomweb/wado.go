package dicomweb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"strings"
	"time"
)

// acceptDICOM asks for Part 10 files in the transfer syntax the server
// stores them in (transfer-syntax=*: no transcoding).
const acceptDICOM = `multipart/related; type="application/dicom"; transfer-syntax=*`

// Part is one DICOM object of a WADO-RS answer, read as it arrives.
type Part struct {
	io.Reader
	// TransferSyntax is the part's transfer-syntax parameter, when the
	// server sends one.
	TransferSyntax string
}

// ErrPartStream wraps a failure while reading a multipart answer (the
// connection dropped, the stream ended early, a part could not be read):
// the parts already handed over are complete, the rest is not.
var ErrPartStream = errors.New("dicomweb: the multipart answer broke off")

// RetrieveSeries downloads every instance of a series (WADO-RS) and calls
// fn for each, in the order the server sends them. fn must consume the part
// before returning; an error from fn stops the transfer and is returned.
// The request is retried only before the first part arrives: after that a
// failure is returned (wrapping ErrPartStream), and the caller fetches what
// is missing instance by instance.
func (c *Client) RetrieveSeries(ctx context.Context, study, series string, fn func(Part) error) error {
	return c.retrieve(ctx, request{op: "WADO-RS series",
		path: "/studies/" + url.PathEscape(study) + "/series/" + url.PathEscape(series)}, fn)
}

// RetrieveInstance downloads one instance (WADO-RS) and calls fn with it.
// A transfer that breaks off is tried again like a refused connection (fn
// may then be called again, and must not have kept anything of the broken
// attempt).
func (c *Client) RetrieveInstance(ctx context.Context, study, series, sop string, fn func(Part) error) error {
	r := request{op: "WADO-RS instance",
		path: "/studies/" + url.PathEscape(study) + "/series/" + url.PathEscape(series) + "/instances/" + url.PathEscape(sop)}
	for attempt := 0; ; attempt++ {
		err := c.retrieve(ctx, r, fn)
		if err == nil || !errors.Is(err, ErrPartStream) || attempt >= c.opts.Retries || ctx.Err() != nil {
			return err
		}
		wait := c.backoff(attempt+1, err)
		c.log.Warn("dicomweb: retrying", "request", r.op, "attempt", attempt+2, "wait", wait.Round(time.Millisecond), "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

func (c *Client) retrieve(ctx context.Context, r request, fn func(Part) error) error {
	r.accept = acceptDICOM
	resp, body, err := c.do(ctx, r)
	if err != nil {
		return err
	}
	defer body.Close()
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil {
		return fmt.Errorf("dicomweb: %s: answer has no valid Content-Type: %w", r.op, err)
	}
	switch {
	case mt == "application/dicom":
		rd := &errTrap{r: body}
		err := fn(Part{Reader: rd, TransferSyntax: params["transfer-syntax"]})
		if rd.err != nil {
			return fmt.Errorf("%w: %s: %v", ErrPartStream, r.op, streamErr(rd.err))
		}
		return err
	case mt != "multipart/related":
		return fmt.Errorf("dicomweb: %s: answer is %s, want multipart/related application/dicom", r.op, mt)
	case params["boundary"] == "":
		return fmt.Errorf("dicomweb: %s: multipart answer without a boundary", r.op)
	}
	mr := multipart.NewReader(body, params["boundary"])
	for n := 0; ; n++ {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %s after %d parts: %v", ErrPartStream, r.op, n, streamErr(err))
		}
		pt, pp, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if pt != "" && pt != "application/dicom" {
			p.Close()
			return fmt.Errorf("dicomweb: %s: part %d is %s, want application/dicom", r.op, n+1, pt)
		}
		rd := &errTrap{r: p}
		err = fn(Part{Reader: rd, TransferSyntax: pp["transfer-syntax"]})
		p.Close()
		if rd.err != nil {
			return fmt.Errorf("%w: %s in part %d: %v", ErrPartStream, r.op, n+1, streamErr(rd.err))
		}
		if err != nil {
			return err
		}
	}
}

// errTrap remembers a read error, so a failure of the stream is told apart
// from an error of the caller's.
type errTrap struct {
	r   io.Reader
	err error
}

func (t *errTrap) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF {
		t.err = err
	}
	return n, err
}

func streamErr(err error) error {
	if errors.Is(err, ErrStalled) {
		return ErrStalled
	}
	if strings.Contains(err.Error(), "multipart: NextPart: EOF") || errors.Is(err, io.ErrUnexpectedEOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
