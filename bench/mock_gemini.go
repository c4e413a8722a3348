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

// GeminiMock is an upstream speaking the Gemini API: POST
// /v1beta/models/{model}:generateContent answered with a fixed
// GenerateContentResponse, and :streamGenerateContent?alt=sse with the same
// answer as one chunk per word, the running usage in each and the
// finishReason in the last, lines ended with CRLF and no terminator, as
// Google sends them. Its answer is the OpenAI Mock's, word for word and in
// as many chunks. Like Mock it decodes each request and does no other
// work; its answers are rendered once.
type GeminiMock struct {
	// Delay is slept before the answer and between streamed chunks.
	Delay time.Duration

	whole  []byte
	chunks [][]byte // framed SSE events
}

const geminiMockID = "mKkVaJ2vN6SfkdUPgqTQ0QU"

// NewGeminiMock returns a Gemini upstream with its answers rendered once.
func NewGeminiMock() *GeminiMock {
	response := func(text string, finish bool, output int) []byte {
		t, _ := json.Marshal(text)
		fin := ""
		if finish {
			fin = `,"finishReason":"STOP"`
		}
		return fmt.Appendf(nil, `{"candidates":[{"content":{"parts":[{"text":%s}],"role":"model"}%s,"index":0}],`+
			`"usageMetadata":{"promptTokenCount":32,"candidatesTokenCount":%d,"totalTokenCount":%d,`+
			`"promptTokensDetails":[{"modality":"TEXT","tokenCount":32}]},"modelVersion":%q,"responseId":%q}`,
			t, fin, output, 32+output, mockModel, geminiMockID)
	}
	m := &GeminiMock{whole: response(strings.Join(mockWords, " "), true, 60)}
	for i, w := range mockWords {
		if i > 0 {
			w = " " + w
		}
		last := i == len(mockWords)-1
		output := 3 * (i + 1)
		if last {
			output = 60
		}
		ev := append([]byte("data: "), response(w, last, output)...)
		m.chunks = append(m.chunks, append(ev, "\r\n\r\n"...))
	}
	return m
}

// geminiMockRequest is what the mock reads from a request.
type geminiMockRequest struct {
	Contents []struct {
		Role  string            `json:"role"`
		Parts []json.RawMessage `json:"parts"`
	} `json:"contents"`
	SystemInstruction json.RawMessage `json:"systemInstruction"`
	GenerationConfig  json.RawMessage `json:"generationConfig"`
}

// ServeHTTP answers one generateContent or streamGenerateContent request.
func (m *GeminiMock) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	model, method, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v1beta/models/"), ":")
	stream := method == "streamGenerateContent"
	if r.Method != http.MethodPost || !ok || model == "" || (method != "generateContent" && !stream) {
		geminiMockError(w, http.StatusNotFound, "NOT_FOUND", "The requested URL was not found on this server.")
		return
	}
	if stream && r.URL.Query().Get("alt") != "sse" {
		geminiMockError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "this mock streams only with alt=sse")
		return
	}
	if r.Header.Get("X-Goog-Api-Key") == "" {
		geminiMockError(w, http.StatusForbidden, "PERMISSION_DENIED", "Method doesn't allow unregistered callers.")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		geminiMockError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "unreadable body")
		return
	}
	var req geminiMockRequest
	if err := json.Unmarshal(body, &req); err != nil {
		geminiMockError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received.")
		return
	}
	if len(req.Contents) == 0 {
		geminiMockError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "* GenerateContentRequest.contents: contents is not specified")
		return
	}
	sleepFor(r, m.Delay)
	if !stream {
		h := w.Header()
		h.Set("Content-Type", "application/json; charset=UTF-8")
		h.Set("Content-Length", strconv.Itoa(len(m.whole)))
		w.Write(m.whole)
		return
	}
	streamEvents(w, r, m.Delay, m.chunks)
}

func geminiMockError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"code":%d,"message":%q,"status":%q}}`, status, msg, code)
}
