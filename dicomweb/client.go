package dicomweb

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configures a Client. The zero value of each field is its default.
type Options struct {
	// URL is the DICOMweb root, e.g. http://pacs:8042/dicom-web (Orthanc),
	// https://pacs/dcm4chee-arc/aets/DCM4CHEE/rs (dcm4chee).
	URL string
	// Auth is sent with every request.
	Auth Auth
	// CABundle is a PEM file of certificate authorities to trust besides the
	// system's (a hospital's own CA).
	CABundle string
	// Retries is how many times a failed request is tried again (default 4;
	// negative: never).
	Retries int
	// RetryWait is the wait before the first retry (default 1 s); it doubles
	// at each attempt up to 30 s, with ±20 % jitter, or follows the server's
	// Retry-After.
	RetryWait time.Duration
	// StallTimeout aborts a request when no byte arrives for this long
	// (default 60 s): a server that hangs is treated as failed.
	StallTimeout time.Duration
	// Connections bounds the connections kept open to the server (default 8).
	Connections int
	// Log receives retries (nil: discard).
	Log *slog.Logger
}

// Client talks to one DICOMweb server. It is safe for concurrent use.
type Client struct {
	base  *url.URL
	auth  Auth
	http  *http.Client
	opts  Options
	log   *slog.Logger
	mu    sync.Mutex
	bytes int64 // payload bytes received
}

// New returns a client for the server at o.URL.
func New(o Options) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(o.URL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("dicomweb: server URL %q: want http(s)://host[:port]/path-to-dicomweb-root", o.URL)
	}
	if o.Retries == 0 {
		o.Retries = 4
	}
	if o.Retries < 0 {
		o.Retries = 0
	}
	if o.RetryWait <= 0 {
		o.RetryWait = time.Second
	}
	if o.StallTimeout <= 0 {
		o.StallTimeout = 60 * time.Second
	}
	if o.Connections <= 0 {
		o.Connections = 8
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Auth.Kind != "" && u.Scheme == "http" && !isLoopback(u.Hostname()) {
		o.Log.Warn("dicomweb: credentials are sent over plain HTTP", "host", u.Host)
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.CABundle != "" {
		pem, err := os.ReadFile(o.CABundle)
		if err != nil {
			return nil, fmt.Errorf("dicomweb: CA bundle: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("dicomweb: CA bundle %s holds no PEM certificate", o.CABundle)
		}
		tlsCfg.RootCAs = pool
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   30 * time.Second,
		ResponseHeaderTimeout: o.StallTimeout,
		MaxIdleConnsPerHost:   o.Connections,
		MaxConnsPerHost:       o.Connections,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &Client{base: u, auth: o.Auth, http: &http.Client{Transport: tr}, opts: o, log: o.Log}, nil
}

// BytesReceived returns the payload bytes received so far (for rates).
func (c *Client) BytesReceived() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

func (c *Client) count(n int) {
	c.mu.Lock()
	c.bytes += int64(n)
	c.mu.Unlock()
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// StatusError is an HTTP answer other than success.
type StatusError struct {
	// Op names the request without identifiers ("WADO-RS series").
	Op     string
	Status int
	// Message is the start of the server's answer, with UIDs replaced.
	Message string
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("dicomweb: %s: the server answered %d %s", e.Op, e.Status, http.StatusText(e.Status))
	switch e.Status {
	case http.StatusUnauthorized:
		s += " (check --auth and the credentials)"
	case http.StatusForbidden:
		s += " (the credentials are not allowed this request)"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// IsStatus reports whether err is a StatusError with the given status.
func IsStatus(err error, status int) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Status == status
}

// Retryable reports whether a request that failed with err may succeed when
// tried again: a connection that failed or broke off, a stall, or a server
// error (5xx), 408 or 429. A certificate the client does not trust, an
// answer the client cannot use, or any other 4xx is not retried.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status >= 500 || se.Status == http.StatusRequestTimeout || se.Status == http.StatusTooManyRequests
	}
	var te *transportError
	if errors.As(err, &te) {
		var ue x509.UnknownAuthorityError
		var he x509.HostnameError
		var ce *tls.CertificateVerificationError
		return !errors.As(err, &ue) && !errors.As(err, &he) && !errors.As(err, &ce)
	}
	return errors.Is(err, ErrStalled) || errors.Is(err, ErrPartStream)
}

// ErrUnreachable marks a request that failed at the connection level on
// every attempt: the server is down or unreachable, not merely failing one
// request.
var ErrUnreachable = errors.New("dicomweb: the server cannot be reached")

// transportError is a failure of the HTTP exchange itself (no answer).
type transportError struct{ err error }

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// uidPattern matches DICOM UIDs: three or more dot-separated numbers.
var uidPattern = regexp.MustCompile(`\b\d+(\.\d+){2,}\b`)

// ipv4 matches what uidPattern would take for an IPv4 address.
var ipv4 = regexp.MustCompile(`^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$`)

// Scrub replaces UIDs in a message by "<uid>" (IPv4 addresses stay).
func Scrub(s string) string {
	return uidPattern.ReplaceAllStringFunc(s, func(m string) string {
		if ipv4.MatchString(m) {
			return m
		}
		return "<uid>"
	})
}

// netError turns a transport error into one that names no URL (url.Error
// carries the request URL, which holds UIDs) and explains certificate
// problems.
func netError(op string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	err = &transportError{err}
	var ua x509.UnknownAuthorityError
	var ce *tls.CertificateVerificationError
	if errors.As(err, &ua) || errors.As(err, &ce) {
		return fmt.Errorf("dicomweb: %s: %w (give the server's certificate authority with --ca-bundle)", op, err)
	}
	return fmt.Errorf("dicomweb: %s: %w", op, err)
}

// request is one GET: path relative to the root, query, Accept header.
type request struct {
	op     string
	path   string
	query  url.Values
	accept string
}

// do sends r, retrying transient failures before the answer's body is
// handed over; the caller reads and closes the body (a stall-guarded
// reader) and must call the returned cancel.
func (c *Client) do(ctx context.Context, r request) (*http.Response, io.ReadCloser, error) {
	var lastErr error
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			wait := c.backoff(attempt, lastErr)
			c.log.Warn("dicomweb: retrying", "request", r.op, "attempt", attempt+1, "of", c.opts.Retries+1, "wait", wait.Round(time.Millisecond), "err", lastErr)
			select {
			case <-ctx.Done():
				return nil, nil, ctx.Err()
			case <-time.After(wait):
			}
		}
		resp, body, err := c.once(ctx, r)
		if err == nil {
			return resp, body, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		if !Retryable(err) || attempt >= c.opts.Retries {
			var te *transportError
			if errors.As(err, &te) && Retryable(err) {
				err = fmt.Errorf("%w: %w", ErrUnreachable, err)
			}
			if attempt > 0 {
				return nil, nil, fmt.Errorf("%w (after %d attempts)", err, attempt+1)
			}
			return nil, nil, err
		}
	}
}

// retryAfter is a server's Retry-After, carried from once to backoff.
type retryAfter struct {
	error
	wait time.Duration
}

func (e retryAfter) Unwrap() error { return e.error }

func (c *Client) backoff(attempt int, err error) time.Duration {
	var ra retryAfter
	if errors.As(err, &ra) && ra.wait > 0 {
		return min(ra.wait, 2*time.Minute)
	}
	d := c.opts.RetryWait << (attempt - 1)
	if d > 30*time.Second || d <= 0 {
		d = 30 * time.Second
	}
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

func (c *Client) once(ctx context.Context, r request) (*http.Response, io.ReadCloser, error) {
	u := *c.base
	u.Path = c.base.Path + r.path
	u.RawQuery = r.query.Encode()
	rctx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u.String(), nil)
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("dicomweb: %s: %w", r.op, err)
	}
	req.Header.Set("Accept", r.accept)
	req.Header.Set("User-Agent", "cmrfm-pull")
	switch c.auth.Kind {
	case "basic":
		req.SetBasicAuth(c.auth.User, c.auth.Password)
	case "bearer":
		req.Header.Set("Authorization", "Bearer "+c.auth.Token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		cancel()
		return nil, nil, netError(r.op, err)
	}
	body := newStallReader(resp.Body, cancel, c.opts.StallTimeout, c.count)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, body, nil
	}
	msg, _ := io.ReadAll(io.LimitReader(body, 2048))
	body.Close()
	se := &StatusError{Op: r.op, Status: resp.StatusCode, Message: summarize(msg)}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			return nil, nil, retryAfter{se, time.Duration(n) * time.Second}
		}
	}
	return nil, nil, se
}

// summarize shortens a server's error answer to one scrubbed line.
func summarize(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return Scrub(s)
}

// stallReader cancels its request when no byte arrives for a while, and
// counts bytes.
type stallReader struct {
	rc     io.ReadCloser
	cancel context.CancelFunc
	timer  *time.Timer
	d      time.Duration
	count  func(int)
	mu     sync.Mutex
	stall  bool
}

func newStallReader(rc io.ReadCloser, cancel context.CancelFunc, d time.Duration, count func(int)) *stallReader {
	s := &stallReader{rc: rc, cancel: cancel, d: d, count: count}
	s.timer = time.AfterFunc(d, func() {
		s.mu.Lock()
		s.stall = true
		s.mu.Unlock()
		cancel()
	})
	return s
}

// ErrStalled is returned when a transfer receives nothing for StallTimeout.
var ErrStalled = errors.New("dicomweb: the transfer stalled (no data within the stall timeout)")

func (s *stallReader) Read(p []byte) (int, error) {
	n, err := s.rc.Read(p)
	if n > 0 {
		s.timer.Reset(s.d)
		s.count(n)
	}
	if err != nil && err != io.EOF {
		s.mu.Lock()
		stalled := s.stall
		s.mu.Unlock()
		if stalled {
			return n, ErrStalled
		}
	}
	return n, err
}

func (s *stallReader) Close() error {
	s.timer.Stop()
	err := s.rc.Close()
	s.cancel()
	return err
}
