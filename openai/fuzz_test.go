package openai_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/openai"
)

// sseReply answers every request with a 200 SSE body.
type sseReply []byte

func (b sseReply) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		r.Body.Close()
	}
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"text/event-stream"}},
		Body: io.NopCloser(bytes.NewReader(b)), Request: r}, nil
}

// FuzzStream feeds arbitrary upstream SSE to the OpenAI-compatible client,
// for a chat client (chunks pass through), a Responses client (chunks are
// parsed and translated) and a legacy completions client (its own chunks
// pass through). It must not panic or loop; every
// failure is the upstream's; what it yields re-encodes to valid JSON on
// both surfaces.
func FuzzStream(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*_openai/*stream.upstream")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"data: {\"choices\":[{\"index\":-1,\"delta\":{\"content\":\"x\"}}]}\n\ndata: [DONE]\n\n",
		"data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":-3,\"id\":\"c\",\"function\":{\"name\":\"f\",\"arguments\":\"{\"}}]}}]}\n\n",
		"data: {\"choices\":[{\"index\":99999999999,\"delta\":{}}]}\n\n",
		"data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n",
		"data: {\"usage\":{\"prompt_tokens\":\"x\"},\"choices\":[]}\n\ndata: [DONE]\n\n",
		"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":null},\"finish_reason\":7}]}\n\n",
		"data: [DONE]\n\n", ": keep-alive\n\n", "data: not json\n\n", "",
	} {
		f.Add([]byte(s))
	}
	now := time.Unix(1700000000, 0)
	f.Fuzz(func(t *testing.T, stream []byte) {
		for _, surface := range []lyumen.Surface{lyumen.SurfaceOpenAIChat, lyumen.SurfaceOpenAIResponses, lyumen.SurfaceOpenAICompletions} {
			c := openai.NewClient("http://up.test/v1", "k", nil, sseReply(stream))
			c.SetNativeCompletions(true) // its chunks are the legacy API's own
			req := &lyumen.Request{Surface: surface, Model: "m", Stream: true, Body: []byte(`{"model":"m","stream":true,"messages":[]}`),
				Messages: []lyumen.Message{{Role: "user", Content: "q"}}}
			st, err := c.ChatStream(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			enc := openai.NewResponsesStream(req, now)
			var out []byte
			for range len(stream) + 2 { // at most one event per byte, and the end
				ev, err := st.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					if lyumen.KindOf(err) != lyumen.KindUpstream {
						t.Fatalf("Next: %v, want a KindUpstream error", err)
					}
					break
				}
				for _, d := range ev.Choices {
					if d.Index < 0 {
						t.Fatalf("choice index %d", d.Index)
					}
					for _, tc := range d.ToolCalls {
						if tc.Index < 0 {
							t.Fatalf("tool call index %d", tc.Index)
						}
					}
				}
				if chunk := openai.EncodeChunk(&ev, "public", now); !json.Valid(chunk) {
					t.Fatalf("EncodeChunk made invalid JSON: %s", chunk)
				}
				out = enc.Event(out, &ev)
			}
			st.Close()
			for _, line := range strings.Split(string(out), "\n") {
				if data, ok := strings.CutPrefix(line, "data: "); ok && !json.Valid([]byte(data)) {
					t.Fatalf("the Responses stream carries invalid JSON: %s", data)
				}
			}
		}
	})
}
