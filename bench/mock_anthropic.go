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

// AnthropicMock is an upstream speaking the Anthropic Messages API: POST
// /v1/messages answered with a fixed message, whole (JSON) or streamed
// (message_start, content_block_start, ping, one content_block_delta per
// word, content_block_stop, message_delta, message_stop). Its answer is
// the OpenAI Mock's, word for word and in as many chunks, so paths through
// either are comparable. Like Mock it decodes each request and does no
// other work; its answers are rendered once.
type AnthropicMock struct {
	// Delay is slept before the answer and between streamed events.
	Delay time.Duration

	whole  []byte   // the message body
	events [][]byte // the SSE events of a stream, framed
}

const (
	anthropicMockID    = "msg_01XFDUDYJgAACzvnptvVoYEL"
	anthropicMockUsage = `"input_tokens":32,"cache_creation_input_tokens":0,"cache_read_input_tokens":0`
)

// NewAnthropicMock returns an Anthropic upstream with its answers rendered
// once.
func NewAnthropicMock() *AnthropicMock {
	content, _ := json.Marshal(strings.Join(mockWords, " "))
	m := &AnthropicMock{}
	m.whole = fmt.Appendf(nil, `{"id":%q,"type":"message","role":"assistant","model":%q,`+
		`"content":[{"type":"text","text":%s}],"stop_reason":"end_turn","stop_sequence":null,`+
		`"usage":{%s,"output_tokens":60,"service_tier":"standard"}}`,
		anthropicMockID, mockModel, content, anthropicMockUsage)

	event := func(name, data string) []byte { return []byte("event: " + name + "\ndata: " + data + "\n\n") }
	m.events = append(m.events,
		event("message_start", fmt.Sprintf(`{"type":"message_start","message":{"id":%q,"type":"message","role":"assistant","model":%q,`+
			`"content":[],"stop_reason":null,"stop_sequence":null,"usage":{%s,"output_tokens":1,"service_tier":"standard"}}}`,
			anthropicMockID, mockModel, anthropicMockUsage)),
		event("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`),
		event("ping", `{"type": "ping"}`),
	)
	for i, w := range mockWords {
		if i > 0 {
			w = " " + w
		}
		text, _ := json.Marshal(w)
		m.events = append(m.events, event("content_block_delta",
			fmt.Sprintf(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":%s}}`, text)))
	}
	m.events = append(m.events,
		event("content_block_stop", `{"type":"content_block_stop","index":0}`),
		event("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":60}}`),
		event("message_stop", `{"type":"message_stop"}`),
	)
	return m
}

// anthropicMockRequest is what the mock reads from a request.
type anthropicMockRequest struct {
	Model     string          `json:"model"`
	MaxTokens int             `json:"max_tokens"`
	System    json.RawMessage `json:"system"`
	Messages  []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Stream bool `json:"stream"`
}

// ServeHTTP answers one Messages request.
func (m *AnthropicMock) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/messages" {
		anthropicMockError(w, http.StatusNotFound, "not_found_error", "Not Found")
		return
	}
	if r.Header.Get("X-Api-Key") == "" || r.Header.Get("Anthropic-Version") == "" {
		anthropicMockError(w, http.StatusUnauthorized, "authentication_error", "x-api-key and anthropic-version headers are required")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		anthropicMockError(w, http.StatusBadRequest, "invalid_request_error", "unreadable body")
		return
	}
	var req anthropicMockRequest
	if err := json.Unmarshal(body, &req); err != nil {
		anthropicMockError(w, http.StatusBadRequest, "invalid_request_error", "There was an error parsing the body of your request")
		return
	}
	if req.Model == "" || req.MaxTokens == 0 || len(req.Messages) == 0 {
		anthropicMockError(w, http.StatusBadRequest, "invalid_request_error", "model, max_tokens and messages are required")
		return
	}
	sleepFor(r, m.Delay)
	if !req.Stream {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(m.whole)))
		w.Write(m.whole)
		return
	}
	streamEvents(w, r, m.Delay, m.events)
}

func anthropicMockError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"type":"error","error":{"type":%q,"message":%q}}`, typ, msg)
}

// streamEvents sends framed SSE events one by one, each flushed, with
// delay between them.
func streamEvents(w http.ResponseWriter, r *http.Request, delay time.Duration, events [][]byte) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	for i, ev := range events {
		if i > 0 {
			sleepFor(r, delay)
		}
		if _, err := w.Write(ev); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
	}
}

// sleepFor sleeps d, or until the request is canceled.
func sleepFor(r *http.Request, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}
