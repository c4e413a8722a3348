package providertest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// GeminiSeen is one request the Gemini fake received.
type GeminiSeen struct {
	Seen
	Query url.Values // alt=sse, and a key= that must never be there
}

// GeminiBehaviour says how the Gemini fake answers. The zero value answers
// normally. Status answers with Google's error envelope.
type GeminiBehaviour struct {
	Behaviour
	FinishReason string // the last candidate's finishReason; "" is STOP
	BlockReason  string // refuse the prompt: promptFeedback.blockReason and no candidates
	// ErrorStatus is the error envelope's status name ("FAILED_PRECONDITION");
	// "" is the one Google names the HTTP status by.
	ErrorStatus string
}

// Gemini is a fake Gemini API serving POST /v1beta/models/{model}:generateContent
// and :streamGenerateContent (SSE with alt=sse, a JSON array without, as the
// real one). Its text answer is EchoText of the last user turn's text,
// streamed word by word; in tool-call mode it calls get_weather for Paris.
// Requests without an API key are refused as Google refuses them.
type Gemini struct {
	*httptest.Server
	mu   sync.Mutex
	seen []GeminiSeen
	b    GeminiBehaviour
}

// NewGemini starts a fake Gemini upstream, closed when the test ends.
func NewGemini(tb testing.TB) *Gemini {
	tb.Helper()
	f := &Gemini{}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	tb.Cleanup(f.Close)
	return f
}

// Set changes how the fake answers from now on.
func (f *Gemini) Set(b GeminiBehaviour) {
	f.mu.Lock()
	f.b = b
	f.mu.Unlock()
}

// Seen returns the requests received so far.
func (f *Gemini) Seen() []GeminiSeen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]GeminiSeen(nil), f.seen...)
}

// BaseURL is the base URL a client is configured with.
func (f *Gemini) BaseURL() string { return f.Server.URL + "/v1beta" }

func (f *Gemini) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		writeGoogleError(w, http.StatusBadRequest, "Invalid JSON payload received.")
		return
	}
	f.mu.Lock()
	f.seen = append(f.seen, GeminiSeen{Seen: Seen{Path: r.URL.Path, Header: r.Header.Clone(), Body: body}, Query: r.URL.Query()})
	b := f.b
	f.mu.Unlock()

	model, method, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v1beta/models/"), ":")
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/v1beta/models/") || !ok ||
		(method != "generateContent" && method != "streamGenerateContent") {
		writeGoogleError(w, http.StatusNotFound, "The requested URL "+r.URL.Path+" was not found on this server.")
		return
	}
	if r.Header.Get("X-Goog-Api-Key") == "" && r.URL.Query().Get("key") == "" {
		writeGoogleError(w, http.StatusForbidden, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.")
		return
	}
	if b.Delay > 0 {
		select {
		case <-time.After(b.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if b.Status != 0 && b.Status != http.StatusOK {
		msg := b.ErrorText
		if msg == "" {
			msg = http.StatusText(b.Status)
		}
		writeGoogleStatus(w, b.Status, b.ErrorStatus, msg)
		return
	}
	chunks := geminiAnswer(b, model, lastGeminiUser(body))
	switch {
	case method == "generateContent":
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		json.NewEncoder(w).Encode(mergeChunks(chunks))
	case r.URL.Query().Get("alt") != "sse":
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		json.NewEncoder(w).Encode(chunks)
	default:
		f.stream(w, r, b, chunks)
	}
}

// geminiAnswer is the answer as the chunks of a stream; a whole answer is
// the same merged.
func geminiAnswer(b GeminiBehaviour, model, prompt string) []map[string]any {
	const promptTokens = 7
	response := func(cands []any, outputTokens int) map[string]any {
		r := map[string]any{
			"usageMetadata": map[string]any{"promptTokenCount": promptTokens, "candidatesTokenCount": outputTokens,
				"totalTokenCount": promptTokens + outputTokens},
			"modelVersion": model, "responseId": "fake-response-1",
		}
		if cands != nil {
			r["candidates"] = cands
		}
		return r
	}
	if b.BlockReason != "" {
		r := response(nil, 0)
		r["promptFeedback"] = map[string]any{"blockReason": b.BlockReason}
		return []map[string]any{r}
	}
	finish := b.FinishReason
	if finish == "" {
		finish = "STOP"
	}
	candidate := func(parts []any, last bool) []any {
		c := map[string]any{"content": map[string]any{"parts": parts, "role": "model"}, "index": 0}
		if last {
			c["finishReason"] = finish
		}
		return []any{c}
	}
	if b.ToolCall {
		call := map[string]any{"functionCall": map[string]any{"name": "get_weather", "args": map[string]any{"city": "Paris"}},
			"thoughtSignature": "c2lnbmF0dXJl"}
		return []map[string]any{response(candidate([]any{call}, true), 5)}
	}
	words := strings.SplitAfter(EchoText(prompt), " ")
	out := make([]map[string]any, len(words))
	for i, word := range words {
		out[i] = response(candidate([]any{map[string]any{"text": word}}, i == len(words)-1), i+1)
	}
	return out
}

// mergeChunks joins a stream's chunks into the one response generateContent
// sends: the text of each candidate joined, the last usage.
func mergeChunks(chunks []map[string]any) map[string]any {
	out := chunks[len(chunks)-1]
	cands, _ := out["candidates"].([]any)
	if len(cands) == 0 || len(chunks) == 1 {
		return out
	}
	var text strings.Builder
	for _, c := range chunks {
		cs, _ := c["candidates"].([]any)
		cand, _ := cs[0].(map[string]any)
		content, _ := cand["content"].(map[string]any)
		parts, _ := content["parts"].([]any)
		for _, p := range parts {
			pm, _ := p.(map[string]any)
			s, _ := pm["text"].(string)
			text.WriteString(s)
		}
	}
	last, _ := cands[0].(map[string]any)
	merged := map[string]any{"content": map[string]any{"parts": []any{map[string]any{"text": text.String()}}, "role": "model"},
		"finishReason": last["finishReason"], "index": 0}
	out["candidates"] = []any{merged}
	return out
}

func (f *Gemini) stream(w http.ResponseWriter, r *http.Request, b GeminiBehaviour, chunks []map[string]any) {
	w.Header().Set("Content-Type", "text/event-stream")
	rc := http.NewResponseController(w)
	for sent, c := range chunks {
		if b.DieAfter > 0 && sent == b.DieAfter {
			// Cut the connection without ending the chunked body, as a
			// crashing upstream does.
			if conn, _, err := rc.Hijack(); err == nil {
				conn.Close()
			}
			return
		}
		if b.ChunkGap > 0 && sent > 0 {
			select {
			case <-time.After(b.ChunkGap):
			case <-r.Context().Done():
				return
			}
		}
		data, _ := json.Marshal(c)
		// Google ends its SSE lines with CRLF.
		if _, err := fmt.Fprintf(w, "data: %s\r\n\r\n", data); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
	}
	// No terminator: the stream ends when the connection's body does.
}

// lastGeminiUser is the text of the last user turn, with the function
// responses in it as JSON.
func lastGeminiUser(body map[string]any) string {
	contents, _ := body["contents"].([]any)
	for i := len(contents) - 1; i >= 0; i-- {
		c, _ := contents[i].(map[string]any)
		if c["role"] != "user" {
			continue
		}
		parts, _ := c["parts"].([]any)
		var sb strings.Builder
		for _, p := range parts {
			pm, _ := p.(map[string]any)
			if fr, ok := pm["functionResponse"].(map[string]any); ok {
				b, _ := json.Marshal(fr["response"]) // a tool's result is echoed as JSON
				sb.Write(b)
			}
			s, _ := pm["text"].(string)
			sb.WriteString(s)
		}
		return sb.String()
	}
	return ""
}

// googleStatus is the canonical status Google names an HTTP status by.
var googleStatus = map[int]string{
	400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
	409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 499: "CANCELLED", 500: "INTERNAL", 501: "NOT_IMPLEMENTED",
	503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
}

func writeGoogleError(w http.ResponseWriter, status int, msg string) {
	writeGoogleStatus(w, status, "", msg)
}

// writeGoogleStatus writes Google's error envelope with the status name s,
// or, when s is "", the one Google names status by.
func writeGoogleStatus(w http.ResponseWriter, status int, s, msg string) {
	if s == "" {
		var ok bool
		if s, ok = googleStatus[status]; !ok {
			s = "UNKNOWN"
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": status, "message": msg, "status": s}})
}
