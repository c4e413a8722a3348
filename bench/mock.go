// Package bench measures what the gateway costs: a mock upstream speaking
// the OpenAI chat completions wire format, a load generator (closed loop
// for throughput, open loop at a fixed rate for latency), and the four
// targets measured against the same mock (the mock itself, a bare
// httputil.ReverseProxy, Lyumen with recording off, and Lyumen recording
// through its spool into SQLite). The benchmarks in bench_test.go and the
// runner in cmd/gatewaybench share this code.
package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Mock is an OpenAI-compatible upstream answering POST
// /v1/chat/completions with a fixed completion, whole or streamed. It
// decodes each request, as a real upstream would, but does no other work,
// so what is measured in front of it is the proxy's overhead.
type Mock struct {
	// Delay is slept before the answer and between streamed events; zero
	// by default.
	Delay time.Duration

	whole  []byte   // the chat.completion body
	events [][]byte // the SSE events of a stream, without the usage chunk
	usage  []byte   // the usage event, sent when the client asked for it
}

// MockChunks is the number of content chunks in a streamed answer.
const MockChunks = 20

const (
	mockID      = "chatcmpl-B9MHDbslfCsZ8sRkEJmHQmkA3VuXj"
	mockCreated = 1741569952
	mockModel   = "mock-model"
	mockFP      = "fp_44709d6fcb"
	mockUsage   = `{"prompt_tokens":32,"completion_tokens":60,"total_tokens":92,` +
		`"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},` +
		`"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`
)

// mockWords is the answer, one word per content chunk.
var mockWords = strings.Fields(`A reverse proxy sits between its clients and an upstream
server, forwarding each request and relaying the answer back unchanged.`)

// NewMock returns a mock upstream with its answers rendered once.
func NewMock() *Mock {
	words := mockWords
	if len(words) != MockChunks {
		panic("bench: the mock answer must have MockChunks words")
	}
	content, _ := json.Marshal(strings.Join(words, " "))
	m := &Mock{}
	m.whole = fmt.Appendf(nil, `{"id":%q,"object":"chat.completion","created":%d,"model":%q,`+
		`"choices":[{"index":0,"message":{"role":"assistant","content":%s,"refusal":null},"logprobs":null,"finish_reason":"stop"}],`+
		`"usage":%s,"system_fingerprint":%q}`,
		mockID, mockCreated, mockModel, content, mockUsage, mockFP)

	// Each chunk ends in padding that differs from chunk to chunk, as
	// OpenAI's random padding does by default
	// (stream_options.include_obfuscation); rendered once here.
	const padChars = "qZ3xVb7NmKp0RtYw"
	chunk := func(choices, usage string) []byte {
		n := len(m.events)
		pad := (padChars + padChars)[n%len(padChars):][:4+n%7]
		data := fmt.Sprintf(`{"id":%q,"object":"chat.completion.chunk","created":%d,"model":%q,"system_fingerprint":%q,"choices":%s%s,"obfuscation":%q}`,
			mockID, mockCreated, mockModel, mockFP, choices, usage, pad)
		return []byte("data: " + data + "\n\n")
	}
	for i, w := range words {
		if i > 0 {
			w = " " + w
		}
		text, _ := json.Marshal(w)
		role := ""
		if i == 0 {
			role = `"role":"assistant",`
		}
		m.events = append(m.events, chunk(fmt.Sprintf(`[{"index":0,"delta":{%s"content":%s},"logprobs":null,"finish_reason":null}]`, role, text), ""))
	}
	m.events = append(m.events, chunk(`[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]`, ""))
	m.usage = chunk(`[]`, `,"usage":`+mockUsage)
	return m
}

// mockRequest is what the mock reads from a request.
type mockRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Stream        bool `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

// ServeHTTP answers one chat completion request.
func (m *Mock) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		mockError(w, http.StatusNotFound, "unknown URL")
		return
	}
	// Read to the end before answering, as an upstream that parses the
	// whole request does.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		mockError(w, http.StatusBadRequest, "unreadable body")
		return
	}
	var req mockRequest
	if err := json.Unmarshal(body, &req); err != nil {
		mockError(w, http.StatusBadRequest, "invalid JSON body")
		return
	}
	if req.Model == "" || len(req.Messages) == 0 {
		mockError(w, http.StatusBadRequest, "model and messages are required")
		return
	}
	m.sleep(r)
	if !req.Stream {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(m.whole)))
		w.Write(m.whole)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	send := func(ev []byte) bool {
		if _, err := w.Write(ev); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	for i, ev := range m.events {
		if i > 0 {
			m.sleep(r)
		}
		if !send(ev) {
			return
		}
	}
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage && !send(m.usage) {
		return
	}
	send([]byte("data: [DONE]\n\n"))
}

func (m *Mock) sleep(r *http.Request) {
	if m.Delay <= 0 {
		return
	}
	t := time.NewTimer(m.Delay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}

func mockError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"message":%q,"type":"invalid_request_error","param":null,"code":null}}`, msg)
}
