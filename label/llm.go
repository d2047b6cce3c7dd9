package label

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
)

// LLMOptions configures an LLM labelling run. The zero value of each
// field is its documented default.
type LLMOptions struct {
	// Server is the base URL of an OpenAI-compatible server
	// (http://127.0.0.1:8080 or …/v1); Model the model name it serves.
	Server, Model string
	// APIKey is sent as a bearer token when set. The command reads it from
	// an environment variable; it is never logged.
	APIKey string
	// Concurrency is the number of requests in flight (0: 4).
	Concurrency int
	// Format is the structured-output mode (default auto).
	Format ResponseFormat
	// Stream asks for server-sent-event streaming responses.
	Stream bool
	// Timeout bounds one request (0: 120 s).
	Timeout time.Duration
	// MaxAttempts bounds the tries of one request on 429/5xx/timeouts/
	// broken connections (0: 6); MaxInvalid the extra tries for an answer
	// that fails validation (0: 2; negative: none).
	MaxAttempts, MaxInvalid int
	// BaseBackoff is the first retry delay, doubled per attempt with
	// jitter, capped at MaxBackoff (0: 1 s and 60 s). A Retry-After header
	// is honoured (also capped at MaxBackoff).
	BaseBackoff, MaxBackoff time.Duration
	// MaxTokens caps an answer's length (0: 512).
	MaxTokens int
	// Cache, if set, is read before asking and written after every
	// validated answer.
	Cache *Cache
	// SkipModelCheck skips the GET /v1/models check before the run.
	SkipModelCheck bool
	// Log receives warnings (retries, format fallback); nil discards.
	Log *slog.Logger
	// Progress, if set, is called after each answered or failed request
	// (calls are serialised).
	Progress func(LLMProgress)
}

// LLMProgress is the state of a run for a progress display.
type LLMProgress struct {
	Done, Total      int // requests (report × label), cached ones included
	Cached, Failed   int
	PromptTokens     int
	CompletionTokens int // generated tokens of requests sent in this run
	Elapsed          time.Duration
}

// LLMSummary is the outcome of a run.
type LLMSummary struct {
	Requests, Cached, Answered, Failed int
	Retries, Invalid                   int
	PromptTokens, CompletionTokens     int
	Format                             ResponseFormat // the mode in force at the end
	ServerModel                        string         // the model name the server reported
}

func (o *LLMOptions) defaults() {
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.Format == "" {
		o.Format = FormatAuto
	}
	if o.Timeout <= 0 {
		o.Timeout = 120 * time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 6
	}
	if o.MaxInvalid == 0 {
		o.MaxInvalid = 2
	} else if o.MaxInvalid < 0 {
		o.MaxInvalid = 0
	}
	if o.BaseBackoff <= 0 {
		o.BaseBackoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 60 * time.Second
	}
	if o.MaxTokens <= 0 {
		o.MaxTokens = 512
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// ErrServer is wrapped by errors that stop a run because no request can
// succeed (server unreachable, authentication refused, model not served).
var ErrServer = errors.New("label: server")

// RenderRequest returns the JSON body of the request for one label and
// report, as the run would send it in format f (--dry-run).
func RenderRequest(p *Prompts, label, model, report string, f ResponseFormat, stream bool) ([]byte, error) {
	if f == FormatAuto || f == "" {
		f = FormatJSONSchema
	}
	r := request(p, label, model, report, f, 512, stream)
	if stream {
		r.StreamOptions = map[string]any{"include_usage": true}
	}
	return json.MarshalIndent(r, "", "  ")
}

func request(p *Prompts, label, model, report string, f ResponseFormat, maxTokens int, stream bool) chatRequest {
	seed := 0
	return chatRequest{Model: model, Messages: p.Messages(label, report), Temperature: 0, Seed: &seed, MaxTokens: maxTokens,
		Stream: stream, ResponseFormat: responseFormatBody(f)}
}

// LabelLLM labels every report with one request per label. Reports with a
// Problem become failed rows without a request. A request that fails
// after its retries, or whose answer never validates, leaves that label
// empty with the reason in the row's error. The run stops early (with
// ErrServer) only when the server cannot serve any request.
func LabelLLM(ctx context.Context, reports []Report, p *Prompts, o LLMOptions) ([]Result, *LLMSummary, error) {
	o.defaults()
	if o.Server == "" || o.Model == "" {
		return nil, nil, errors.New("label: llm: a server URL and a model name are required")
	}
	cl := newClient(o.Server, o.APIKey, o.Timeout)
	r := &llmRun{o: o, p: p, cl: cl, sum: &LLMSummary{}, start: time.Now()}
	r.format.Store(string(o.Format))
	if !o.SkipModelCheck {
		if err := r.checkModel(ctx); err != nil {
			return nil, nil, err
		}
	}
	labels := p.Labels()
	results := make([]Result, len(reports))
	type task struct{ ri, li int }
	var tasks []task
	for i, rep := range reports {
		results[i] = Result{Key: rep.Key, Labels: map[string]Finding{}}
		if rep.Problem != "" {
			results[i].Err = fmt.Sprintf("line %d: %s", rep.Line, rep.Problem)
			continue
		}
		for li := range labels {
			tasks = append(tasks, task{i, li})
		}
	}
	r.total = len(tasks)
	// Cached answers first: they cost nothing and count in the progress.
	var todo []task
	for _, t := range tasks {
		rep, l := reports[t.ri], labels[t.li]
		if o.Cache != nil {
			if e, ok := o.Cache.get(r.key(l, rep)); ok {
				results[t.ri].Labels[l] = Finding{Answer: e.Answer, Evidence: e.Evidence}
				r.sum.Cached++
				r.done(false, Usage{})
				continue
			}
		}
		todo = append(todo, t)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var mu sync.Mutex
	ch := make(chan task)
	var wg sync.WaitGroup
	for w := 0; w < o.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range ch {
				rep, l := reports[t.ri], labels[t.li]
				f, u, err := r.ask(ctx, l, rep)
				if errors.Is(err, ErrServer) {
					cancel(err)
				}
				if err != nil {
					f = Finding{Err: err.Error()}
				}
				mu.Lock()
				results[t.ri].Labels[l] = f
				mu.Unlock()
				r.done(err != nil, u)
			}
		}()
	}
feed:
	for _, t := range todo {
		select {
		case ch <- t:
		case <-ctx.Done():
			break feed
		}
	}
	close(ch)
	wg.Wait()
	r.sum.Format = ResponseFormat(r.format.Load().(string))
	if err := context.Cause(ctx); err != nil {
		for _, t := range todo {
			l := labels[t.li]
			if _, ok := results[t.ri].Labels[l]; !ok {
				results[t.ri].Labels[l] = Finding{Err: "not asked: the run stopped: " + err.Error()}
			}
		}
		return results, r.sum, err
	}
	return results, r.sum, nil
}

type llmRun struct {
	o      LLMOptions
	p      *Prompts
	cl     *client
	format atomic.Value // ResponseFormat as string
	start  time.Time

	mu    sync.Mutex
	sum   *LLMSummary
	total int
	n     int
}

func (r *llmRun) key(label string, rep Report) string {
	return cacheKey(r.o.Model, r.p.Version(label), r.p.TextHash(label), rep.Hash())
}

func (r *llmRun) done(failed bool, u Usage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
	r.sum.Requests = r.n
	if failed {
		r.sum.Failed++
	}
	r.sum.PromptTokens += u.PromptTokens
	r.sum.CompletionTokens += u.CompletionTokens
	if r.o.Progress != nil {
		r.o.Progress(LLMProgress{Done: r.n, Total: r.total, Cached: r.sum.Cached, Failed: r.sum.Failed,
			PromptTokens: r.sum.PromptTokens, CompletionTokens: r.sum.CompletionTokens, Elapsed: time.Since(r.start)})
	}
}

func (r *llmRun) count(f func(s *LLMSummary)) {
	r.mu.Lock()
	f(r.sum)
	r.mu.Unlock()
}

// checkModel asks the server which models it serves: an unreachable server
// or a model it does not list stops the run before any report is read.
func (r *llmRun) checkModel(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.o.Timeout)
	defer cancel()
	ids, ok, err := r.cl.models(ctx)
	if err != nil {
		return fmt.Errorf("%w %s: not reachable or not an OpenAI-compatible server: %v", ErrServer, r.o.Server, err)
	}
	if !ok || len(ids) == 0 {
		return nil
	}
	for _, id := range ids {
		if id == r.o.Model {
			return nil
		}
	}
	return fmt.Errorf("%w %s does not serve model %q (it serves %s)", ErrServer, r.o.Server, r.o.Model, strings.Join(ids, ", "))
}

// ask gets one validated answer: transport retries inside, validation
// retries around them.
func (r *llmRun) ask(ctx context.Context, label string, rep Report) (Finding, Usage, error) {
	var total Usage
	var lastInvalid error
	for try := 0; try <= r.o.MaxInvalid; try++ {
		c, err := r.send(ctx, label, rep)
		if err != nil {
			return Finding{}, total, err
		}
		total.PromptTokens += c.Usage.PromptTokens
		total.CompletionTokens += c.Usage.CompletionTokens
		if c.Model != "" {
			r.count(func(s *LLMSummary) { s.ServerModel = c.Model })
		}
		f, err := parseAnswer(c, rep.Text)
		if err == nil {
			if r.o.Cache != nil {
				e := cacheEntry{Key: r.key(label, rep), Model: r.o.Model, PromptVersion: r.p.Version(label), PromptSHA: r.p.TextHash(label),
					ReportSHA: rep.Hash(), Answer: f.Answer, Evidence: f.Evidence, Usage: c.Usage}
				if err := r.o.Cache.put(e); err != nil {
					return f, total, err
				}
			}
			r.count(func(s *LLMSummary) { s.Answered++ })
			return f, total, nil
		}
		lastInvalid = err
		r.count(func(s *LLMSummary) { s.Invalid++ })
		r.o.Log.Warn("invalid answer", "study_key", rep.Key, "label", label, "try", try+1, "reason", err)
	}
	return Finding{}, total, fmt.Errorf("no valid answer after %d tries: %w", r.o.MaxInvalid+1, lastInvalid)
}

// send posts one request, retrying with exponential backoff on 429, 5xx,
// timeouts and broken connections (honouring Retry-After), and stepping
// the response format down when the server rejects it.
func (r *llmRun) send(ctx context.Context, label string, rep Report) (*completion, error) {
	var last error
	for attempt := 0; attempt < r.o.MaxAttempts; attempt++ {
		f := ResponseFormat(r.format.Load().(string))
		sent := f
		if f == FormatAuto {
			sent = FormatJSONSchema
		}
		c, err := r.cl.chat(ctx, request(r.p, label, r.o.Model, rep.Text, sent, r.o.MaxTokens, r.o.Stream))
		if err == nil {
			return c, nil
		}
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		var he *httpError
		if errors.As(err, &he) {
			if he.rejectsFormat() && r.o.Format == FormatAuto && sent != FormatNone {
				next := FormatJSONObject
				if sent == FormatJSONObject {
					next = FormatNone
				}
				if r.format.CompareAndSwap(string(f), string(next)) {
					r.o.Log.Warn("server rejected the response format; stepping down", "from", sent, "to", next, "reason", he.Error())
				}
				attempt-- // not the server's fault: try again at once
				continue
			}
			switch {
			case he.Status == http.StatusUnauthorized || he.Status == http.StatusForbidden:
				return nil, fmt.Errorf("%w %s refused the request (check the API key variable): %v", ErrServer, r.o.Server, he)
			case he.Status == http.StatusNotFound:
				return nil, fmt.Errorf("%w %s: %v (is the model %q served?)", ErrServer, r.o.Server, he, r.o.Model)
			case !he.retryable():
				return nil, fmt.Errorf("request refused: %v", he)
			}
		}
		last = err
		if attempt+1 == r.o.MaxAttempts {
			break
		}
		wait := r.backoff(attempt)
		if he != nil && he.RetryAfter > 0 {
			wait = min(he.RetryAfter, r.o.MaxBackoff)
		}
		r.count(func(s *LLMSummary) { s.Retries++ })
		r.o.Log.Warn("request failed; retrying", "study_key", rep.Key, "label", label, "attempt", attempt+1, "wait", wait, "reason", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, context.Cause(ctx)
		case <-t.C:
		}
	}
	var op *net.OpError
	if errors.As(last, &op) && op.Op == "dial" {
		return nil, fmt.Errorf("%w %s went down: gave up after %d attempts: %v", ErrServer, r.o.Server, r.o.MaxAttempts, last)
	}
	return nil, fmt.Errorf("gave up after %d attempts: %w", r.o.MaxAttempts, last)
}

// backoff is BaseBackoff·2^attempt with ±25 % jitter, at most MaxBackoff.
func (r *llmRun) backoff(attempt int) time.Duration {
	d := r.o.BaseBackoff << min(attempt, 20)
	if d <= 0 || d > r.o.MaxBackoff {
		d = r.o.MaxBackoff
	}
	j := 0.75 + 0.5*rand.Float64()
	return min(time.Duration(float64(d)*j), r.o.MaxBackoff)
}

// parseAnswer validates a completion: not truncated, one JSON object (a
// ```json fence is tolerated) with exactly "answer" (present, absent or
// uncertain) and "evidence" (a string); evidence, when given, must occur
// in the report (compared case-insensitively, ignoring white space and
// quote style), and present/uncertain answers must quote some.
func parseAnswer(c *completion, reportText string) (Finding, error) {
	if c.FinishReason == "length" {
		return Finding{}, errors.New("answer truncated (finish_reason length)")
	}
	s := strings.TrimSpace(c.Content)
	if t, ok := strings.CutPrefix(s, "```"); ok {
		t = strings.TrimPrefix(t, "json")
		t = strings.TrimPrefix(t, "JSON")
		if i := strings.LastIndex(t, "```"); i >= 0 {
			t = t[:i]
		}
		s = strings.TrimSpace(t)
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	var a struct {
		Answer   *string `json:"answer"`
		Evidence *string `json:"evidence"`
	}
	if err := dec.Decode(&a); err != nil {
		return Finding{}, fmt.Errorf("answer is not the JSON object asked for: %v (got %q)", err, clip(c.Content, 120))
	}
	if dec.More() {
		return Finding{}, fmt.Errorf("answer has text after the JSON object (got %q)", clip(c.Content, 120))
	}
	if a.Answer == nil || a.Evidence == nil {
		return Finding{}, fmt.Errorf("answer lacks \"answer\" or \"evidence\" (got %q)", clip(c.Content, 120))
	}
	ans := Answer(strings.ToLower(strings.TrimSpace(*a.Answer)))
	switch ans {
	case Present, Absent, Uncertain:
	default:
		return Finding{}, fmt.Errorf("answer %q is not present, absent or uncertain", *a.Answer)
	}
	ev := strings.TrimSpace(*a.Evidence)
	if ev == "" && ans != Absent {
		return Finding{}, fmt.Errorf("answer %s without an evidence quote", ans)
	}
	if ev != "" && !strings.Contains(squash(reportText), squash(ev)) {
		return Finding{}, fmt.Errorf("evidence %q is not in the report", clip(ev, 120))
	}
	return Finding{Answer: ans, Evidence: ev}, nil
}

// squash lower-cases s, unifies quotes and dashes, and drops white space
// and the commas that stand for line breaks in some exports.
func squash(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case unicode.IsSpace(r) || r == ',':
		case r == '’' || r == '‘':
			b.WriteRune('\'')
		case r == '“' || r == '”':
			b.WriteRune('"')
		case r == '–' || r == '—':
			b.WriteRune('-')
		default:
			b.WriteRune(r)
		}
	}
	return strings.TrimRight(b.String(), ".")
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
