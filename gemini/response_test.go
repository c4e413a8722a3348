package gemini_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/gemini"
)

// roundTripFunc serves requests in process, for tests of what the client
// makes of a body.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// stubClient is a client whose upstream answers every request with status
// and body.
func stubClient(status int, body string) *gemini.Client {
	return newStub(roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
	}))
}

func newStub(rt http.RoundTripper) *gemini.Client {
	return gemini.NewClient("https://gemini.invalid/v1beta", "test-key", nil, rt)
}

// sseBody frames chunks as Google does: one data line each, CRLF endings.
func sseBody(chunks ...string) string {
	var b strings.Builder
	for _, c := range chunks {
		b.WriteString("data: " + c + "\r\n\r\n")
	}
	return b.String()
}

var chatRequest = &lyumen.Request{Model: "gemini-2.5-flash", Messages: []lyumen.Message{{Role: "user", Content: "Hi"}}}

// readAll drains a stream.
func readAll(tb testing.TB, s lyumen.Stream) ([]lyumen.Event, error) {
	tb.Helper()
	defer s.Close()
	var evs []lyumen.Event
	for {
		ev, err := s.Next()
		if errors.Is(err, io.EOF) {
			return evs, nil
		}
		if err != nil {
			return evs, err
		}
		if !ev.Empty() { // a pause with nothing to send, as serveStream skips it
			evs = append(evs, ev)
		}
	}
}

func marshal(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

var responseCases = []struct {
	name string
	body string
}{
	{
		name: "text",
		body: `{"candidates":[{"content":{"parts":[{"text":"Hello"},{"text":" there."}],"role":"model"},"finishReason":"STOP","index":0}],
			"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":3,"totalTokenCount":7},"modelVersion":"gemini-2.5-flash","responseId":"resp-1"}`,
	},
	{
		name: "function_calls",
		body: `{"candidates":[{"content":{"parts":[
				{"text":"Checking."},
				{"functionCall":{"name":"get_weather","args":{"city": "Paris", "units": {"temp": "c"}}},"thoughtSignature":"c2ln"},
				{"functionCall":{"name":"get_time"}}],"role":"model"},"finishReason":"STOP"}],
			"usageMetadata":{"promptTokenCount":20,"candidatesTokenCount":12,"totalTokenCount":32},"modelVersion":"gemini-2.5-flash","responseId":"resp-2"}`,
	},
	{
		// Thought summaries are not the answer; their tokens are output.
		name: "thoughts",
		body: `{"candidates":[{"content":{"parts":[{"text":"Let me think...","thought":true},{"text":"42"}],"role":"model"},"finishReason":"STOP","index":0}],
			"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":1,"thoughtsTokenCount":30,"totalTokenCount":36},"modelVersion":"gemini-2.5-pro"}`,
	},
	{
		// Cached content is part of the prompt's count; thoughts are
		// counted apart from the candidates, and are the reasoning tokens.
		name: "cached_and_thoughts",
		body: `{"candidates":[{"content":{"parts":[{"text":"42"}],"role":"model"},"finishReason":"STOP","index":0}],
			"usageMetadata":{"promptTokenCount":2100,"candidatesTokenCount":1,"totalTokenCount":2131,"cachedContentTokenCount":2048,
			"promptTokensDetails":[{"modality":"TEXT","tokenCount":2100}],"cacheTokensDetails":[{"modality":"TEXT","tokenCount":2048}],
			"thoughtsTokenCount":30},"modelVersion":"gemini-2.5-flash","responseId":"resp-3"}`,
	},
	{
		name: "max_tokens",
		body: `{"candidates":[{"content":{"parts":[{"text":"Once upon a"}],"role":"model"},"finishReason":"MAX_TOKENS","index":0}],
			"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":3,"totalTokenCount":7}}`,
	},
	{
		// A filtered answer has a finish reason and no content.
		name: "safety",
		body: `{"candidates":[{"finishReason":"SAFETY","index":0,"safetyRatings":[{"category":"HARM_CATEGORY_DANGEROUS_CONTENT","probability":"HIGH","blocked":true}]}],
			"usageMetadata":{"promptTokenCount":9,"totalTokenCount":9}}`,
	},
}

func TestClient_Chat_Translation(t *testing.T) {
	for _, tc := range responseCases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := stubClient(http.StatusOK, tc.body).Chat(t.Context(), chatRequest)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, "response_"+tc.name, marshal(t, resp))
		})
	}
}

var streamCases = []struct {
	name   string
	chunks []string
}{
	{
		name: "text",
		chunks: []string{
			`{"candidates":[{"content":{"parts":[{"text":"Hel"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":1,"totalTokenCount":5},"modelVersion":"gemini-2.5-flash","responseId":"resp-1"}`,
			`{"candidates":[{"content":{"parts":[{"text":"lo there."}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":2,"totalTokenCount":6},"modelVersion":"gemini-2.5-flash","responseId":"resp-1"}`,
			`{"candidates":[{"content":{"parts":[{"text":""}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":3,"totalTokenCount":7},"modelVersion":"gemini-2.5-flash","responseId":"resp-1"}`,
		},
	},
	{
		// Each call comes whole; numbering runs on across chunks, and STOP
		// after calls is "tool_calls".
		name: "function_calls",
		chunks: []string{
			`{"candidates":[{"content":{"parts":[{"text":"Checking."}],"role":"model"},"index":0}],"modelVersion":"gemini-2.5-flash","responseId":"resp-2"}`,
			`{"candidates":[{"content":{"parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"c2ln"}],"role":"model"},"index":0}],"modelVersion":"gemini-2.5-flash","responseId":"resp-2"}`,
			`{"candidates":[{"content":{"parts":[{"functionCall":{"name":"get_time","args":{}}}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":20,"candidatesTokenCount":12,"totalTokenCount":32},"modelVersion":"gemini-2.5-flash","responseId":"resp-2"}`,
		},
	},
	{
		// A chunk of thoughts only says nothing; a trailing usage-only
		// chunk updates the usage passed on at the end.
		name: "thoughts_and_trailing_usage",
		chunks: []string{
			`{"candidates":[{"content":{"parts":[{"text":"Hmm.","thought":true}],"role":"model"},"index":0}],"modelVersion":"gemini-2.5-pro"}`,
			`{"candidates":[{"content":{"parts":[{"text":"Hmm more.","thought":true}],"role":"model"},"index":0}],"modelVersion":"gemini-2.5-pro"}`,
			`{"candidates":[{"content":{"parts":[{"text":"42"}],"role":"model"},"finishReason":"MAX_TOKENS","index":0}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":1,"totalTokenCount":6},"modelVersion":"gemini-2.5-pro"}`,
			`{"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":1,"thoughtsTokenCount":30,"totalTokenCount":36},"modelVersion":"gemini-2.5-pro"}`,
		},
	},
	{
		name: "cached_and_thoughts",
		chunks: []string{
			`{"candidates":[{"content":{"parts":[{"text":"4"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":2100,"candidatesTokenCount":1,"totalTokenCount":2131,"cachedContentTokenCount":2048,"thoughtsTokenCount":30},"modelVersion":"gemini-2.5-flash","responseId":"resp-3"}`,
			`{"candidates":[{"content":{"parts":[{"text":"2"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":2100,"candidatesTokenCount":2,"totalTokenCount":2132,"cachedContentTokenCount":2048,"promptTokensDetails":[{"modality":"TEXT","tokenCount":2100}],"cacheTokensDetails":[{"modality":"TEXT","tokenCount":2048}],"thoughtsTokenCount":30},"modelVersion":"gemini-2.5-flash","responseId":"resp-3"}`,
		},
	},
	{
		name: "recitation",
		chunks: []string{
			`{"candidates":[{"content":{"parts":[{"text":"It was the best of times,"}],"role":"model"},"index":0}]}`,
			`{"candidates":[{"content":{"parts":[],"role":"model"},"finishReason":"RECITATION","index":0}],"usageMetadata":{"promptTokenCount":6,"candidatesTokenCount":7,"totalTokenCount":13}}`,
		},
	},
}

func TestClient_ChatStream_Translation(t *testing.T) {
	for _, tc := range streamCases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := stubClient(http.StatusOK, sseBody(tc.chunks...)).ChatStream(t.Context(), chatRequest)
			if err != nil {
				t.Fatal(err)
			}
			evs, err := readAll(t, s)
			if err != nil {
				t.Fatal(err)
			}
			var a lyumen.Assembler
			for i := range evs {
				a.Add(&evs[i])
			}
			checkGolden(t, "stream_"+tc.name, marshal(t, struct {
				Events   []lyumen.Event
				Response *lyumen.Response
			}{evs, a.Response()}))
		})
	}
}

func TestClient_FinishReasons(t *testing.T) {
	tests := []struct {
		reason string
		call   bool
		want   string
	}{
		{"STOP", false, "stop"},
		{"STOP", true, "tool_calls"},
		{"MAX_TOKENS", false, "length"},
		{"SAFETY", false, "content_filter"},
		{"RECITATION", false, "content_filter"},
		{"PROHIBITED_CONTENT", false, "content_filter"},
		{"BLOCKLIST", false, "content_filter"},
		{"SPII", false, "content_filter"},
		{"IMAGE_SAFETY", false, "content_filter"},
		{"IMAGE_PROHIBITED_CONTENT", false, "content_filter"},
		{"IMAGE_RECITATION", false, "content_filter"},
		{"OTHER", false, "stop"},
		{"LANGUAGE", false, "stop"},
		{"FINISH_REASON_UNSPECIFIED", false, "stop"},
		{"SOMETHING_NEW", false, "stop"},
	}
	for _, tc := range tests {
		name := tc.reason
		if tc.call {
			name += " after a function call"
		}
		t.Run(name, func(t *testing.T) {
			part := `{"text":"x"}`
			if tc.call {
				part = `{"functionCall":{"name":"f","args":{}}}`
			}
			chunk := `{"candidates":[{"content":{"parts":[` + part + `],"role":"model"},"finishReason":"` + tc.reason + `","index":0}]}`
			resp, err := stubClient(http.StatusOK, chunk).Chat(t.Context(), chatRequest)
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.Choices[0].FinishReason; got != tc.want {
				t.Errorf("Chat: finish reason %q, want %q", got, tc.want)
			}
			s, err := stubClient(http.StatusOK, sseBody(chunk)).ChatStream(t.Context(), chatRequest)
			if err != nil {
				t.Fatal(err)
			}
			evs, err := readAll(t, s)
			if err != nil {
				t.Fatal(err)
			}
			if got := evs[len(evs)-1].Choices[0].FinishReason; got != tc.want {
				t.Errorf("ChatStream: finish reason %q, want %q", got, tc.want)
			}
		})
	}
}

// wantError checks err is a *lyumen.Error of kind k, status and message.
func wantError(tb testing.TB, err error, k lyumen.Kind, status int, msg string) {
	tb.Helper()
	e, ok := errors.AsType[*lyumen.Error](err)
	if !ok {
		tb.Fatalf("error %v (%T) is not a *lyumen.Error", err, err)
	}
	got := struct {
		Kind    lyumen.Kind
		Status  int
		Message string
	}{e.Kind, e.Status, e.Message}
	want := got
	want.Kind, want.Status, want.Message = k, status, msg
	if diff := cmp.Diff(want, got); diff != "" {
		tb.Errorf("error (-want +got):\n%s", diff)
	}
}

const blocked = `{"promptFeedback":{"blockReason":"PROHIBITED_CONTENT"},"usageMetadata":{"promptTokenCount":8,"totalTokenCount":8},"modelVersion":"gemini-2.5-flash"}`

func TestClient_Chat_Errors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		kind   lyumen.Kind
		code   int
		msg    string
	}{
		{"blocked prompt", 200, blocked, lyumen.KindUpstream, 400, "upstream: the provider blocked the prompt (blockReason PROHIBITED_CONTENT)"},
		{"not JSON", 200, `<html>`, lyumen.KindUpstream, 0, "upstream sent an invalid response"},
		{"candidates not a list", 200, `{"candidates":{}}`, lyumen.KindUpstream, 0, "upstream sent an invalid response"},
		{"arguments not an object", 200, `{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":"x"}}]}}]}`,
			lyumen.KindUpstream, 0, "upstream sent an invalid response"},
		{"no candidates", 200, `{"usageMetadata":{"promptTokenCount":8}}`, lyumen.KindUpstream, 0, "upstream sent a response without candidates"},
		{"error envelope", 400, `{"error":{"code":400,"message":"* GenerateContentRequest.contents: contents is not specified","status":"INVALID_ARGUMENT"}}`,
			lyumen.KindUpstream, 400, "upstream: * GenerateContentRequest.contents: contents is not specified"},
		{"error envelope in an array", 429, `[{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}]`,
			lyumen.KindUpstream, 429, "upstream: Resource has been exhausted (e.g. check quota)."},
		{"bad key is the operator's", 400, `{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT",
			"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}`,
			lyumen.KindUpstream, 401, "upstream: the upstream refused the gateway's credentials"},
		// Google's FAILED_PRECONDITION is the operator's account, not the
		// request: no free tier in the gateway's country, billing off, a
		// location the API does not serve. Another key or target may serve.
		{"free tier unavailable is the operator's", 400, `{"error":{"code":400,"message":"Gemini API free tier is not available in your country. Please enable billing on your project in Google AI Studio.","status":"FAILED_PRECONDITION"}}`,
			lyumen.KindUpstream, 403, "upstream: Gemini API free tier is not available in your country. Please enable billing on your project in Google AI Studio."},
		{"unsupported location is the operator's", 400, `{"error":{"code":400,"message":"User location is not supported for the API use.","status":"FAILED_PRECONDITION"}}`,
			lyumen.KindUpstream, 403, "upstream: User location is not supported for the API use."},
		{"not an envelope", 503, `upstream connect error`, lyumen.KindUpstream, 503, "upstream: Service Unavailable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := stubClient(tc.status, tc.body).Chat(t.Context(), chatRequest)
			wantError(t, err, tc.kind, tc.code, tc.msg)
		})
	}
}

func TestClient_ChatStream_Errors(t *testing.T) {
	text := `{"candidates":[{"content":{"parts":[{"text":"Hel"}],"role":"model"},"index":0}]}`
	tests := []struct {
		name  string
		body  string
		first bool // the first Next fails: fallback is still possible (upstream.Pool)
		code  int
		msg   string
	}{
		{"blocked prompt", sseBody(blocked), true, 400, "upstream: the provider blocked the prompt (blockReason PROHIBITED_CONTENT)"},
		{"empty stream", "", true, 0, "the upstream stream ended early"},
		{"no finish reason", sseBody(text), false, 0, "the upstream stream ended early"},
		{"error chunk", sseBody(text, `{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}`),
			false, 503, "upstream: The model is overloaded. Please try again later."},
		{"invalid chunk", sseBody(text, `{"candidates":[{"content":"x"}]}`), false, 0, "upstream sent an invalid event"},
		{"not JSON", sseBody(text, `[DONE]`), false, 0, "upstream sent an invalid event"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := stubClient(http.StatusOK, tc.body).ChatStream(t.Context(), chatRequest)
			if err != nil {
				t.Fatal(err)
			}
			evs, err := readAll(t, s)
			if tc.first && len(evs) != 0 {
				t.Errorf("events before the failure = %+v, want none", evs)
			}
			if !tc.first && (len(evs) != 1 || evs[0].Choices[0].Content != "Hel") {
				t.Errorf("events before the failure = %+v, want the first text", evs)
			}
			wantError(t, err, lyumen.KindUpstream, tc.code, tc.msg)
			if _, again := s.Next(); !errors.Is(again, err) {
				t.Errorf("Next after the failure = %v, want the same error again", again)
			}
		})
	}
}

// Gemini names no calls, and every response numbers its own from zero: the
// ids carry the response's id, so that the calls of two turns differ (an
// Anthropic upstream refuses a conversation whose tool_use ids repeat), in
// the characters Anthropic allows.
func TestClient_CallIDsDifferAcrossTurns(t *testing.T) {
	tests := []struct{ responseID, want string }{
		{"7bAAaP-sJqS_nvgPk9ihmAo", "call_7bAAaP-sJqS_nvgPk9ihmAo_0"},
		{"a/b+c=", "call_abc_0"},
		{"", "call_0"},
	}
	for _, tc := range tests {
		body := `{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":{}}}],"role":"model"},"finishReason":"STOP"}],"responseId":"` + tc.responseID + `"}`
		resp, err := stubClient(http.StatusOK, body).Chat(t.Context(), chatRequest)
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Choices[0].Message.ToolCalls[0].ID; got != tc.want {
			t.Errorf("responseId %q: call id %q, want %q", tc.responseID, got, tc.want)
		}
	}
}

// TestClient_ChatStreamAfterAUsageChunk: Gemini may send a chunk with no
// candidates (usage only), which gives the caller no event. When nothing
// follows it yet, Next returns an empty event rather than wait on the
// network for the next chunk, so that the caller flushes what it wrote
// before (see lyumen.Stream); and Ready tells a caller that the next chunk
// has come, so that it flushes once for both.
func TestClient_ChatStreamAfterAUsageChunk(t *testing.T) {
	synctest.Test(t, func(t *testing.T) { // the upstream is a pipe: a read that waits blocks durably
		body, upstream := io.Pipe()
		defer upstream.Close()
		c := gemini.NewClient("https://gemini.invalid/v1beta", "key", nil, roundTripFunc(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: body, Request: r}, nil
		}))
		s, err := c.ChatStream(t.Context(), chatRequest)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		go io.WriteString(upstream, sseBody(`{"candidates":[{"content":{"parts":[{"text":"Hel"}],"role":"model"},"index":0}]}`,
			`{"usageMetadata":{"promptTokenCount":4,"totalTokenCount":4}}`))
		if ev, err := s.Next(); err != nil || len(ev.Choices) != 1 {
			t.Fatalf("first event %+v, %v; want the text", ev, err)
		}
		if ready := s.(interface{ Ready() bool }); !ready.Ready() {
			t.Error("Ready = false with the usage chunk come, want true")
		}
		next := make(chan lyumen.Event, 1)
		go func() {
			ev, _ := s.Next()
			next <- ev
		}()
		synctest.Wait()
		select {
		case ev := <-next:
			if !ev.Empty() {
				t.Errorf("after the usage chunk: %+v, want an empty event", ev)
			}
		default:
			t.Error("Next waits on the upstream after a usage chunk; want an empty event first")
		}
		upstream.Close()
	})
}
