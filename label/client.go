package label

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Message is one chat message.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// ResponseFormat says how a request asks for structured output.
type ResponseFormat string

// The structured-output modes, from strongest to weakest: a JSON schema the
// server enforces (OpenAI "json_schema", which vLLM, llama.cpp's server,
// Ollama and LM Studio accept), JSON mode ("json_object": any JSON object),
// or none (the prompt alone asks for JSON). Auto starts with json_schema
// and steps down when the server rejects a mode (HTTP 400 naming it).
const (
	FormatAuto       ResponseFormat = "auto"
	FormatJSONSchema ResponseFormat = "json_schema"
	FormatJSONObject ResponseFormat = "json_object"
	FormatNone       ResponseFormat = "none"
)

// ParseResponseFormat checks a --response-format value.
func ParseResponseFormat(s string) (ResponseFormat, error) {
	switch f := ResponseFormat(s); f {
	case FormatAuto, FormatJSONSchema, FormatJSONObject, FormatNone:
		return f, nil
	case "":
		return FormatAuto, nil
	}
	return "", fmt.Errorf("label: response format %q: want auto, json_schema, json_object or none", s)
}

// answerSchema is the JSON schema of an answer.
var answerSchema = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"answer":   map[string]any{"type": "string", "enum": []string{string(Present), string(Absent), string(Uncertain)}},
		"evidence": map[string]any{"type": "string"},
	},
	"required":             []string{"answer", "evidence"},
	"additionalProperties": false,
}

// chatRequest is the body of POST /v1/chat/completions.
type chatRequest struct {
	Model          string         `json:"model"`
	Messages       []Message      `json:"messages"`
	Temperature    float64        `json:"temperature"`
	Seed           *int           `json:"seed,omitempty"`
	MaxTokens      int            `json:"max_tokens,omitempty"`
	Stream         bool           `json:"stream,omitempty"`
	StreamOptions  map[string]any `json:"stream_options,omitempty"`
	ResponseFormat map[string]any `json:"response_format,omitempty"`
}

func responseFormatBody(f ResponseFormat) map[string]any {
	switch f {
	case FormatJSONSchema:
		return map[string]any{"type": "json_schema", "json_schema": map[string]any{"name": "label_answer", "strict": true, "schema": answerSchema}}
	case FormatJSONObject:
		return map[string]any{"type": "json_object"}
	}
	return nil
}

// Usage is the token count a server reports for one completion.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

// completion is what the client keeps of a response.
type completion struct {
	Content      string
	FinishReason string
	Model        string
	Usage        Usage
}

// httpError is a non-2xx answer.
type httpError struct {
	Status     int
	Body       string
	RetryAfter time.Duration // from the Retry-After header; 0 if none
}

func (e *httpError) Error() string {
	b := strings.TrimSpace(e.Body)
	if len(b) > 300 {
		b = b[:300] + "…"
	}
	return fmt.Sprintf("HTTP %d: %s", e.Status, b)
}

// retryable: rate limits, server errors and timeouts are worth another try.
func (e *httpError) retryable() bool {
	return e.Status == http.StatusTooManyRequests || e.Status == http.StatusRequestTimeout || e.Status >= 500
}

// rejectsFormat: a 400 that names the structured-output parameter.
func (e *httpError) rejectsFormat() bool {
	if e.Status != http.StatusBadRequest && e.Status != http.StatusUnprocessableEntity {
		return false
	}
	b := strings.ToLower(e.Body)
	return strings.Contains(b, "response_format") || strings.Contains(b, "json_schema") || strings.Contains(b, "json schema") ||
		strings.Contains(b, "json_object")
}

// errIncomplete is a response cut short (a closed stream, a body that ends
// early): retried like a transport error.
var errIncomplete = errors.New("incomplete response")

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func parseRetryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(h, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(h); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// client talks to one server.
type client struct {
	base   string // e.g. http://127.0.0.1:8080 (without /v1)
	apiKey string
	http   *http.Client
}

func newClient(server, apiKey string, timeout time.Duration) *client {
	base := strings.TrimRight(server, "/")
	base = strings.TrimSuffix(base, "/v1")
	return &client{base: base, apiKey: apiKey, http: &http.Client{Timeout: timeout}}
}

func (c *client) newRequest(ctx context.Context, method, path string, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	return req, nil
}

// models lists the models the server serves (GET /v1/models); ok is false
// when the server has no such endpoint.
func (c *client) models(ctx context.Context) (ids []string, ok bool, err error) {
	req, err := c.newRequest(ctx, http.MethodGet, "/v1/models", nil)
	if err != nil {
		return nil, false, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, false, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed:
		return nil, false, nil
	case resp.StatusCode/100 != 2:
		return nil, false, &httpError{Status: resp.StatusCode, Body: string(b)}
	}
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, false, fmt.Errorf("GET /v1/models: not a model list: %w", err)
	}
	for _, m := range list.Data {
		ids = append(ids, m.ID)
	}
	return ids, true, nil
}

// chat sends one chat completion request.
func (c *client) chat(ctx context.Context, r chatRequest) (*completion, error) {
	if r.Stream {
		r.StreamOptions = map[string]any{"include_usage": true}
	}
	body, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	req, err := c.newRequest(ctx, http.MethodPost, "/v1/chat/completions", body)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return nil, &httpError{Status: resp.StatusCode, Body: string(b), RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	}
	if r.Stream {
		return readStream(resp.Body)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errIncomplete, err)
	}
	var out struct {
		Model   string `json:"model"`
		Choices []struct {
			Message struct {
				Content *string `json:"content"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage Usage `json:"usage"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("%w: response body is not a chat completion: %v", errIncomplete, err)
	}
	if len(out.Choices) == 0 || out.Choices[0].Message.Content == nil {
		return nil, fmt.Errorf("%w: chat completion without a message", errIncomplete)
	}
	return &completion{Content: *out.Choices[0].Message.Content, FinishReason: out.Choices[0].FinishReason, Model: out.Model, Usage: out.Usage}, nil
}

// readStream reads a server-sent-event stream of chat.completion.chunk
// objects up to "data: [DONE]".
func readStream(r io.Reader) (*completion, error) {
	var c completion
	var content strings.Builder
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	done := false
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		data, ok := strings.CutPrefix(line, "data:")
		if !ok {
			continue // comments, event: lines, blank separators
		}
		data = strings.TrimSpace(data)
		if data == "[DONE]" {
			done = true
			break
		}
		var ch struct {
			Model   string `json:"model"`
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
			Usage *Usage `json:"usage"`
		}
		if err := json.Unmarshal([]byte(data), &ch); err != nil {
			return nil, fmt.Errorf("%w: stream chunk is not JSON: %v", errIncomplete, err)
		}
		if ch.Model != "" {
			c.Model = ch.Model
		}
		for _, x := range ch.Choices {
			content.WriteString(x.Delta.Content)
			if x.FinishReason != nil && *x.FinishReason != "" {
				c.FinishReason = *x.FinishReason
			}
		}
		if ch.Usage != nil {
			c.Usage = *ch.Usage
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", errIncomplete, err)
	}
	if !done {
		return nil, fmt.Errorf("%w: stream ended before [DONE]", errIncomplete)
	}
	c.Content = content.String()
	return &c, nil
}
