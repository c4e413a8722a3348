package gemini_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/gemini"
	"github.com/lyumen/lyumen/internal/sse"
)

var fuzzChunks = []string{
	`{"candidates":[{"content":{"parts":[{"text":"Hi"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":1,"candidatesTokenCount":1,"totalTokenCount":2},"modelVersion":"m","responseId":"r"}`,
	`{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":{"a":[1,{"b":null}]}}},{"text":"x","thought":true}]},"index":3}]}`,
	`{"candidates":[{"finishReason":"SAFETY"}],"promptFeedback":{"blockReason":"OTHER"}}`,
	`{"promptFeedback":{"blockReason":"SAFETY"}}`,
	`{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}`,
	`{"candidates":null,"usageMetadata":null}`,
	`{"candidates":[{"content":{"parts":[{"functionCall":{"name":1,"args":"x"}}]}}]}`,
	`[]`, `null`, `{`, ``,
}

// streamClient answers every request with body as an SSE stream.
func streamClient(body []byte) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"text/event-stream"}},
			Body: io.NopCloser(bytes.NewReader(body)), Request: r}, nil
	})
}

// drain reads a stream to its end and checks what every caller relies on:
// failures are *lyumen.Error, events fold into a response, and a finished
// stream stays finished.
func drain(t *testing.T, body []byte) {
	c := newStub(streamClient(body))
	s, err := c.ChatStream(context.Background(), chatRequest)
	if err != nil {
		if _, ok := errors.AsType[*lyumen.Error](err); !ok {
			t.Fatalf("ChatStream error %v (%T) is not a *lyumen.Error", err, err)
		}
		return
	}
	defer s.Close()
	var a lyumen.Assembler
	for range 1 << 16 {
		ev, err := s.Next()
		if errors.Is(err, io.EOF) {
			if _, again := s.Next(); !errors.Is(again, io.EOF) {
				t.Fatalf("Next after io.EOF = %v", again)
			}
			a.Response()
			return
		}
		if err != nil {
			if _, ok := errors.AsType[*lyumen.Error](err); !ok {
				t.Fatalf("Next error %v (%T) is not a *lyumen.Error", err, err)
			}
			return
		}
		if !ev.Empty() && len(ev.Choices) == 0 && ev.Usage == nil {
			t.Fatalf("empty event %+v", ev)
		}
		a.Add(&ev)
	}
	t.Fatal("the stream does not end")
}

// FuzzStreamChunk feeds arbitrary bytes as one chunk's data (after a valid
// first chunk, so that it reaches Next) and as a whole non-streamed answer.
func FuzzStreamChunk(f *testing.F) {
	for _, c := range fuzzChunks {
		f.Add([]byte(c))
	}
	first := `{"candidates":[{"content":{"parts":[{"text":"a"}]}}]}`
	f.Fuzz(func(t *testing.T, chunk []byte) {
		drain(t, sse.AppendData(sse.AppendData(nil, "", []byte(first)), "", chunk))
		drain(t, sse.AppendData(nil, "", chunk))

		c := newStub(roundTripFunc(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(bytes.NewReader(chunk)), Request: r}, nil
		}))
		resp, err := c.Chat(context.Background(), chatRequest)
		if err != nil {
			if _, ok := errors.AsType[*lyumen.Error](err); !ok {
				t.Fatalf("Chat error %v (%T) is not a *lyumen.Error", err, err)
			}
			return
		}
		if len(resp.Choices) == 0 {
			t.Fatal("a response without choices")
		}
	})
}

// FuzzReadStream feeds arbitrary bytes as the whole SSE body.
func FuzzReadStream(f *testing.F) {
	for _, c := range fuzzChunks {
		f.Add([]byte("data: " + c + "\r\n\r\n"))
	}
	f.Add([]byte("data: " + fuzzChunks[1] + "\n\ndata: " + fuzzChunks[0] + "\n\n"))
	f.Add([]byte(": comment\r\nevent: x\r\ndata: {\"candidates\":\r\ndata: []}\r\n\r\n"))
	f.Add([]byte("\ufeffdata: " + fuzzChunks[0] + "\r\rdata: trailing"))
	f.Fuzz(func(t *testing.T, body []byte) {
		drain(t, body)
	})
}

// FuzzEncodeRequest feeds arbitrary bytes as what a client controls and the
// translation reads: a tool's schema, a call's arguments and a tool's
// result. It must refuse with KindInvalid or produce bounded, valid JSON.
func FuzzEncodeRequest(f *testing.F) {
	f.Add([]byte(`{"type":"object","properties":{"a":{"$ref":"#/$defs/A"}},"$defs":{"A":{"type":["string","null"],"const":"x"}}}`))
	f.Add([]byte(`{"type":"object","properties":{"n":{"oneOf":[{"enum":[1,2.5]},{"allOf":[{"$ref":"#/definitions/B"}]}]}},"definitions":{"B":{"$ref":"#/definitions/B"}}}`))
	f.Add([]byte(multiplyingRefs(6)))
	f.Add([]byte(`[1, "two", {"three": 3}]`))
	f.Fuzz(func(t *testing.T, in []byte) {
		req := &lyumen.Request{
			Tools: []lyumen.Tool{{Name: "t", Parameters: in}},
			Messages: []lyumen.Message{
				{Role: "user", Content: "go"},
				{Role: "assistant", ToolCalls: []lyumen.ToolCall{{ID: "c", Name: "t", Arguments: string(in)}}},
				{Role: "tool", ToolCallID: "c", Content: string(in)},
			},
		}
		body, err := gemini.EncodeRequest(req)
		if err != nil {
			if k := lyumen.KindOf(err); k != lyumen.KindInvalid {
				t.Fatalf("error %v of kind %v, want KindInvalid", err, k)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("invalid JSON body %s", body)
		}
		if len(body) > 16*len(in)+1<<20 {
			t.Fatalf("a %d-byte input made a %d-byte body", len(in), len(body))
		}
	})
}
