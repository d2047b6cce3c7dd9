package label

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// chatDouble is a test double of an OpenAI-compatible chat server (the
// protocol of vLLM, llama.cpp's llama-server, Ollama and LM Studio):
// GET /v1/models and POST /v1/chat/completions, streamed (server-sent
// events, chat.completion.chunk, "data: [DONE]", usage in the last chunk
// when stream_options.include_usage) or not. It is a stand-in for a real
// server because no real instruct model can be installed on this machine
// (docs/labels.md says what was tried). It checks every request the way a
// strict server does, answers from a scripted oracle, and can misbehave on
// cue: HTTP 429 with Retry-After, 500, 401, slow answers, truncated or
// wrong-schema JSON, a stream cut before [DONE], no json_schema support.
type chatDouble struct {
	t      *testing.T
	srv    *httptest.Server
	models []string
	// oracle answers a question about a report.
	oracle func(label, report string) (Answer, string)
	// misbehave, if set, is asked first for every chat request (n counts
	// requests from 1); a non-nil action replaces the normal answer.
	misbehave func(n int, label string) *action
	// noSchema rejects response_format json_schema with HTTP 400, as
	// servers without structured-output support do.
	noSchema bool

	mu       sync.Mutex
	n        int
	requests []openAIRequest
	times    []time.Time
}

// action is one scripted misbehaviour.
type action struct {
	status     int           // reply with this HTTP status and an error body
	retryAfter string        // Retry-After header
	delay      time.Duration // sleep before answering
	content    *string       // answer content instead of the oracle's
	finish     string        // finish_reason (default stop)
	cutStream  bool          // end the stream before [DONE]
	raw        string        // reply 200 with this body (not a chat completion)
}

func newChatDouble(t *testing.T, oracle func(label, report string) (Answer, string)) *chatDouble {
	d := &chatDouble{t: t, models: []string{"test-model"}, oracle: oracle}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/models", d.handleModels)
	mux.HandleFunc("POST /v1/chat/completions", d.handleChat)
	d.srv = httptest.NewServer(mux)
	t.Cleanup(d.srv.Close)
	return d
}

func (d *chatDouble) URL() string { return d.srv.URL }

func (d *chatDouble) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n
}

func (d *chatDouble) handleModels(w http.ResponseWriter, r *http.Request) {
	var data []map[string]any
	for _, m := range d.models {
		data = append(data, map[string]any{"id": m, "object": "model", "owned_by": "test"})
	}
	writeJSON(w, 200, map[string]any{"object": "list", "data": data})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"message": msg, "type": "invalid_request_error", "code": status}})
}

// labelOf recovers the label from the question in the user message (the
// phantom prompt file's questions name their finding).
func labelOf(user string) string {
	q := user[strings.Index(user, "QUESTION:"):]
	for _, x := range []struct{ key, label string }{{"normal heart", "normal"}, {"dilated cardiomyopathy", "dcm"}, {"hypertrophic cardiomyopathy", "hcm"},
		{"myocardial infarction", "infarct"}, {"pericardial effusion (of any size)", "effusion"}} {
		if strings.Contains(q, x.key) {
			return x.label
		}
	}
	return ""
}

func (d *chatDouble) handleChat(w http.ResponseWriter, r *http.Request) {
	var req openAIRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		apiError(w, 400, "invalid request body: "+err.Error())
		return
	}
	d.mu.Lock()
	d.n++
	n := d.n
	d.requests = append(d.requests, req)
	d.times = append(d.times, time.Now())
	d.mu.Unlock()
	switch {
	case !contains(d.models, req.Model):
		apiError(w, 404, fmt.Sprintf("model %q not found", req.Model))
		return
	case req.Temperature == nil:
		apiError(w, 400, "test double: the client must send temperature explicitly")
		return
	case len(req.Messages) == 0 || req.Messages[len(req.Messages)-1].Role != "user":
		apiError(w, 400, "messages must end with a user message")
		return
	}
	if rf := req.ResponseFormat; rf != nil {
		switch rf["type"] {
		case "json_schema":
			if d.noSchema {
				apiError(w, 400, "response_format type json_schema is not supported by this server")
				return
			}
			js, _ := rf["json_schema"].(map[string]any)
			if js == nil || js["schema"] == nil || js["name"] == nil {
				apiError(w, 400, "response_format.json_schema needs a name and a schema")
				return
			}
		case "json_object":
		default:
			apiError(w, 400, fmt.Sprintf("response_format type %v unknown", rf["type"]))
			return
		}
	}
	user := req.Messages[len(req.Messages)-1].Content
	rep := user[strings.Index(user, `"""`)+4 : strings.LastIndex(user, `"""`)-1]
	label := labelOf(user)
	var act *action
	if d.misbehave != nil {
		act = d.misbehave(n, label)
	}
	if act == nil {
		act = &action{}
	}
	if act.delay > 0 {
		select {
		case <-time.After(act.delay):
		case <-r.Context().Done():
			return
		}
	}
	if act.status != 0 {
		if act.retryAfter != "" {
			w.Header().Set("Retry-After", act.retryAfter)
		}
		apiError(w, act.status, http.StatusText(act.status))
		return
	}
	if act.raw != "" {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, act.raw)
		return
	}
	var content string
	if act.content != nil {
		content = *act.content
	} else {
		a, ev := d.oracle(label, rep)
		b, _ := json.Marshal(map[string]string{"answer": string(a), "evidence": ev})
		content = string(b)
	}
	finish := act.finish
	if finish == "" {
		finish = "stop"
	}
	usage := Usage{PromptTokens: len(strings.Fields(user)), CompletionTokens: len(strings.Fields(content)) + 1}
	id := fmt.Sprintf("chatcmpl-%d", n)
	if !req.Stream {
		writeJSON(w, 200, map[string]any{"id": id, "object": "chat.completion", "created": 1700000000, "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": content}, "finish_reason": finish}},
			"usage":   usage})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	fl := w.(http.Flusher)
	chunk := func(delta map[string]any, fin any, u *Usage) {
		m := map[string]any{"id": id, "object": "chat.completion.chunk", "created": 1700000000, "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": fin}}}
		if u != nil {
			m["choices"] = []any{}
			m["usage"] = u
		}
		b, _ := json.Marshal(m)
		fmt.Fprintf(w, "data: %s\n\n", b)
		fl.Flush()
	}
	fmt.Fprint(w, ": keep-alive comment\n\n")
	chunk(map[string]any{"role": "assistant", "content": ""}, nil, nil)
	for i := 0; i < len(content); i += 7 {
		chunk(map[string]any{"content": content[i:min(i+7, len(content))]}, nil, nil)
		if act.cutStream && i > len(content)/2 {
			return // connection closes mid-answer
		}
	}
	chunk(map[string]any{}, finish, nil)
	if so, _ := req.StreamOptions["include_usage"].(bool); so {
		chunk(nil, nil, &usage)
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	fl.Flush()
}

// openAIRequest is the request body of the OpenAI chat completions API
// (the fields these servers accept; anything else is rejected, as a strict
// server does).
type openAIRequest struct {
	Model            string         `json:"model"`
	Messages         []Message      `json:"messages"`
	Temperature      *float64       `json:"temperature"`
	TopP             *float64       `json:"top_p"`
	N                *int           `json:"n"`
	Seed             *int           `json:"seed"`
	MaxTokens        *int           `json:"max_tokens"`
	Stop             any            `json:"stop"`
	Stream           bool           `json:"stream"`
	StreamOptions    map[string]any `json:"stream_options"`
	ResponseFormat   map[string]any `json:"response_format"`
	PresencePenalty  *float64       `json:"presence_penalty"`
	FrequencyPenalty *float64       `json:"frequency_penalty"`
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}
