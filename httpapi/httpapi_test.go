package httpapi_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/httpapi"
	oai "github.com/lyumen/lyumen/openai"
	"github.com/lyumen/lyumen/providertest"
	"github.com/lyumen/lyumen/upstream"
)

const (
	clientKey   = "sk-client-secret-4d1f"
	operatorKey = "sk-operator-key-9a7c"
	publicModel = "gpt-test"
	remoteModel = "upstream-model-1"
)

// records is a Recorder that keeps what it is given.
type records struct {
	mu   sync.Mutex
	recs []*lyumen.Record
	err  error // returned by Record when set
}

func (r *records) Record(ctx context.Context, rec *lyumen.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.recs = append(r.recs, rec)
	return nil
}

func (r *records) all() []*lyumen.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*lyumen.Record(nil), r.recs...)
}

// wait returns the n-th record once it exists: records of abandoned streams
// arrive after the client has gone.
func (r *records) wait(tb testing.TB, n int) *lyumen.Record {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if all := r.all(); len(all) >= n {
			return all[n-1]
		}
		time.Sleep(5 * time.Millisecond)
	}
	tb.Fatalf("got %d records, want at least %d", len(r.all()), n)
	return nil
}

type gateway struct {
	up      *providertest.OpenAI
	srv     *httptest.Server
	recs    *records
	client  openai.Client
	mu      sync.Mutex // guards logs and refused, written by handlers
	logs    *bytes.Buffer
	refused []string
}

func (g *gateway) logText() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.logs.String()
}

// newGateway starts the gateway in front of a fake OpenAI-compatible
// upstream; setup, when given, configures its client.
func newGateway(t *testing.T, setup ...func(*oai.Client)) *gateway {
	t.Helper()
	g := &gateway{up: providertest.NewOpenAI(t), recs: &records{}, logs: &bytes.Buffer{}}
	catalog := lyumen.NewCatalog([]lyumen.Model{{Name: publicModel, Targets: []lyumen.Target{{Provider: "fake", Model: remoteModel}}}})
	rt := &http.Transport{ResponseHeaderTimeout: time.Second} // short of the slow upstream's 2 s; room for 16 streams under -race on a loaded machine
	client := oai.NewClient(g.up.BaseURL(), operatorKey, map[string]string{"X-Title": "lyumen-test"}, rt)
	for _, f := range setup {
		f(client)
	}
	providers := map[string]lyumen.Provider{"fake": client}
	logger := slog.New(slog.NewJSONHandler(lockedWriter{&g.mu, g.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := httpapi.NewServer(httpapi.Options{
		Logger:         logger,
		Provider:       upstream.New(catalog, providers, logger),
		Catalog:        catalog,
		Recorder:       g.recs,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		MaxBodyBytes:   64 << 10,
		Site: httpapi.Site{Upstreams: []httpapi.Upstream{{Name: "fake", Host: "fake.example"},
			{Name: "claude", Host: "api.anthropic.example", Betas: []string{"context-1m-2025-08-07", "files-api-2025-04-14"}}}, ScrubSecrets: true},
		OnRefused: func(s lyumen.Surface, reason string) {
			g.mu.Lock()
			g.refused = append(g.refused, reason)
			g.mu.Unlock()
		},
	})
	g.srv = httptest.NewServer(h)
	t.Cleanup(g.srv.Close)
	g.client = openai.NewClient(option.WithBaseURL(g.srv.URL+"/v1/"), option.WithAPIKey(clientKey), option.WithMaxRetries(0))
	return g
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func chatParams(text string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:    publicModel,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Be brief."), openai.UserMessage(text)},
	}
}

func weatherTool() []openai.ChatCompletionToolUnionParam {
	return []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
		Name:       "get_weather",
		Parameters: shared.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}},
	})}
}

// checkRecord compares the fields every record of a successful exchange has.
func checkRecord(t *testing.T, rec *lyumen.Record, stream bool, prompt string) {
	t.Helper()
	if _, err := uuid.Parse(rec.ID); err != nil || uuid.MustParse(rec.ID).Version() != 7 {
		t.Errorf("id %q is not a UUIDv7", rec.ID)
	}
	got := struct {
		Surface                             lyumen.Surface
		Model, ServedModel, Provider        string
		Stream                              bool
		Status                              int
		Completeness                        lyumen.Completeness
		Error                               string
		HasPrompt, UAFromSDK, ReceivedToday bool
		Attempts                            int
	}{
		rec.Surface, rec.Model, rec.ServedModel, rec.Provider, rec.Stream, rec.Status, rec.Completeness, rec.Error,
		bytes.Contains(rec.Request, []byte(prompt)), strings.Contains(rec.UserAgent, "OpenAI/Go"),
		time.Since(rec.ReceivedAt) < time.Minute, len(rec.Attempts),
	}
	want := got
	want.Surface, want.Model, want.ServedModel, want.Provider = lyumen.SurfaceOpenAIChat, publicModel, remoteModel, "fake"
	want.Stream, want.Status, want.Completeness, want.Error = stream, 200, lyumen.Complete, ""
	want.HasPrompt, want.UAFromSDK, want.ReceivedToday, want.Attempts = true, true, true, 1
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("record (-want +got):\n%s", diff)
	}
	if rec.Duration <= 0 || rec.TTFT <= 0 || rec.TTFT > rec.Duration {
		t.Errorf("duration %v, ttft %v: want 0 < ttft <= duration", rec.Duration, rec.TTFT)
	}
}

func TestChat_NonStreamed(t *testing.T) {
	g := newGateway(t)
	resp, err := g.client.Chat.Completions.New(t.Context(), chatParams("hello there"))
	if err != nil {
		t.Fatal(err)
	}
	want := providertest.EchoText("hello there")
	if got := resp.Choices[0].Message.Content; got != want {
		t.Errorf("content = %q, want %q", got, want)
	}
	if resp.Usage.TotalTokens == 0 {
		t.Error("no usage in the response")
	}
	rec := g.recs.wait(t, 1)
	checkRecord(t, rec, false, "hello there")
	if got := rec.Response.Choices[0].Message.Content; got != want {
		t.Errorf("recorded completion = %q, want %q", got, want)
	}
	if diff := cmp.Diff(lyumen.Usage{PromptTokens: 7, CompletionTokens: 3, TotalTokens: 10}, rec.Usage); diff != "" {
		t.Errorf("recorded usage (-want +got):\n%s", diff)
	}
	if rec.Response.Choices[0].FinishReason != "stop" {
		t.Errorf("finish reason = %q", rec.Response.Choices[0].FinishReason)
	}
}

func TestChat_Streamed(t *testing.T) {
	for _, includeUsage := range []bool{true, false} {
		t.Run(map[bool]string{true: "with usage", false: "without usage"}[includeUsage], func(t *testing.T) {
			g := newGateway(t)
			p := chatParams("stream me a reply")
			if includeUsage {
				p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			}
			s := g.client.Chat.Completions.NewStreaming(t.Context(), p)
			var acc openai.ChatCompletionAccumulator
			chunks, usageChunks := 0, 0
			for s.Next() {
				c := s.Current()
				acc.AddChunk(c)
				chunks++
				if len(c.Choices) == 0 {
					usageChunks++
				}
			}
			if err := s.Err(); err != nil {
				t.Fatal(err)
			}
			want := providertest.EchoText("stream me a reply")
			if got := acc.Choices[0].Message.Content; got != want {
				t.Errorf("streamed content = %q, want %q", got, want)
			}
			if wantUsage := map[bool]int{true: 1, false: 0}[includeUsage]; usageChunks != wantUsage {
				t.Errorf("client got %d usage chunks, want %d", usageChunks, wantUsage)
			}
			if chunks < 4 {
				t.Errorf("got %d chunks: the stream was not passed on event by event", chunks)
			}
			rec := g.recs.wait(t, 1)
			checkRecord(t, rec, true, "stream me a reply")
			if got := rec.Response.Choices[0].Message.Content; got != want {
				t.Errorf("recorded completion = %q, want %q", got, want)
			}
			if rec.Usage.TotalTokens == 0 {
				t.Error("stream recorded without usage: the gateway must ask the upstream for it")
			}
			seen := g.up.Seen()
			opts, _ := seen[0].Body["stream_options"].(map[string]any)
			if opts["include_usage"] != true {
				t.Errorf("upstream was not asked for usage: stream_options = %v", seen[0].Body["stream_options"])
			}
		})
	}
}

// TestChat_ConcurrentStreams runs streams side by side: each client gets
// its own answer whole, and each record holds its own completion. Streams
// encode their events in pooled buffers; one shared or reused too early
// would mix them.
func TestChat_ConcurrentStreams(t *testing.T) {
	const n = 16
	g := newGateway(t)
	prompt := func(i int) string { return fmt.Sprintf("stream %d: %s", i, strings.Repeat(fmt.Sprint(i), 50*i)) }
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			for range 5 {
				s := g.client.Chat.Completions.NewStreaming(t.Context(), chatParams(prompt(i)))
				var acc openai.ChatCompletionAccumulator
				for s.Next() {
					acc.AddChunk(s.Current())
				}
				if err := s.Err(); err != nil {
					t.Error(err)
					return
				}
				if got, want := acc.Choices[0].Message.Content, providertest.EchoText(prompt(i)); got != want {
					t.Errorf("stream %d got %q, want %q", i, got, want)
				}
			}
		})
	}
	wg.Wait()
	g.recs.wait(t, 5*n)
	for _, rec := range g.recs.all() {
		msgs := rec.Conversation.Messages
		if got, want := rec.Response.Choices[0].Message.Content, providertest.EchoText(msgs[len(msgs)-1].Content); got != want {
			t.Errorf("record %s holds %q, want %q", rec.ID, got, want)
		}
	}
}

func TestChat_ToolCalls(t *testing.T) {
	wantCall := lyumen.ToolCall{ID: "call_1", Type: "function", Name: "get_weather", Arguments: `{"city":"Paris"}`}
	t.Run("non-streamed", func(t *testing.T) {
		g := newGateway(t)
		g.up.Set(providertest.Behaviour{ToolCall: true})
		p := chatParams("weather in Paris?")
		p.Tools = weatherTool()
		resp, err := g.client.Chat.Completions.New(t.Context(), p)
		if err != nil {
			t.Fatal(err)
		}
		tc := resp.Choices[0].Message.ToolCalls
		if len(tc) != 1 || tc[0].Function.Name != "get_weather" || tc[0].Function.Arguments != wantCall.Arguments {
			t.Fatalf("tool calls = %+v", tc)
		}
		rec := g.recs.wait(t, 1)
		if diff := cmp.Diff([]lyumen.ToolCall{wantCall}, rec.Response.Choices[0].Message.ToolCalls); diff != "" {
			t.Errorf("recorded tool calls (-want +got):\n%s", diff)
		}
		if got := g.up.Seen()[0].Body["tools"]; got == nil {
			t.Error("tools were not passed through to the upstream")
		}
	})
	t.Run("streamed", func(t *testing.T) {
		g := newGateway(t)
		g.up.Set(providertest.Behaviour{ToolCall: true})
		p := chatParams("weather in Paris?")
		p.Tools = weatherTool()
		s := g.client.Chat.Completions.NewStreaming(t.Context(), p)
		var acc openai.ChatCompletionAccumulator
		for s.Next() {
			acc.AddChunk(s.Current())
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		tc := acc.Choices[0].Message.ToolCalls
		if len(tc) != 1 || tc[0].Function.Arguments != wantCall.Arguments {
			t.Fatalf("accumulated tool calls = %+v", tc)
		}
		rec := g.recs.wait(t, 1)
		if diff := cmp.Diff([]lyumen.ToolCall{wantCall}, rec.Response.Choices[0].Message.ToolCalls); diff != "" {
			t.Errorf("recorded tool calls (-want +got):\n%s", diff)
		}
		if got := rec.Response.Choices[0].FinishReason; got != "tool_calls" {
			t.Errorf("finish reason = %q, want tool_calls", got)
		}
	})
}

func TestChat_PassesFieldsThrough(t *testing.T) {
	g := newGateway(t)
	body := `{"model":"gpt-test","messages":[{"role":"user","content":"hi"}],"temperature":0.2,"seed":42,"n":1,` +
		`"response_format":{"type":"json_object"},"tool_choice":"auto","vendor_extension":{"x":1}}`
	resp, err := http.Post(g.srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	got := g.up.Seen()[0].Body
	want := map[string]any{
		"model": remoteModel, "messages": []any{map[string]any{"role": "user", "content": "hi"}},
		"temperature": 0.2, "seed": 42.0, "n": 1.0, "response_format": map[string]any{"type": "json_object"},
		"tool_choice": "auto", "vendor_extension": map[string]any{"x": 1.0},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("upstream body (-want +got):\n%s", diff)
	}
}

func TestChat_Credentials(t *testing.T) {
	g := newGateway(t)
	req, _ := http.NewRequest(http.MethodPost, g.srv.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"gpt-test","messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+clientKey)
	req.Header.Set("X-Api-Key", clientKey)
	req.Header.Set("Cookie", "session=cookie-value-77")
	req.Header.Set("OpenAI-Organization", "org-client")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	h := g.up.Seen()[0].Header
	if got := h.Get("Authorization"); got != "Bearer "+operatorKey {
		t.Errorf("upstream Authorization = %q, want the operator's key", got)
	}
	if got := h.Get("X-Title"); got != "lyumen-test" {
		t.Errorf("operator's extra header X-Title = %q", got)
	}
	for _, name := range []string{"X-Api-Key", "Cookie", "OpenAI-Organization", "X-Forwarded-For"} {
		if v := h.Get(name); v != "" {
			t.Errorf("client header %s reached the upstream: %q", name, v)
		}
	}
	for k, vs := range h {
		for _, v := range vs {
			if strings.Contains(v, clientKey) || strings.Contains(v, "cookie-value-77") {
				t.Errorf("upstream header %s carries the client's credential", k)
			}
		}
	}
}

type apiError struct {
	status int
	typ    string
	param  string
	code   string
}

func TestChat_BadInput(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		upstream providertest.Behaviour
		want     apiError
		recorded lyumen.Completeness // "" when the request must not be recorded
		refused  string
	}{
		{name: "malformed JSON", body: `{"model": "gpt-test", "messages": [`, want: apiError{400, "invalid_request_error", "", ""}, refused: "invalid"},
		{name: "not an object", body: `[1,2]`, want: apiError{400, "invalid_request_error", "", ""}, refused: "invalid"},
		{name: "model of wrong type", body: `{"model": 5, "messages": [{"role":"user","content":"x"}]}`, want: apiError{400, "invalid_request_error", "model", ""}, refused: "invalid"},
		{name: "stream of wrong type", body: `{"model": "gpt-test", "stream": "yes", "messages": [{"role":"user","content":"x"}]}`, want: apiError{400, "invalid_request_error", "stream", ""}, refused: "invalid"},
		{name: "messages of wrong type", body: `{"model": "gpt-test", "messages": "hello"}`, want: apiError{400, "invalid_request_error", "messages", ""}, refused: "invalid"},
		{name: "content of wrong type", body: `{"model": "gpt-test", "messages": [{"role":"user","content":42}]}`, want: apiError{400, "invalid_request_error", "messages[0].content", ""}, refused: "invalid"},
		{name: "unknown role", body: `{"model": "gpt-test", "messages": [{"role":"wizard","content":"x"}]}`, want: apiError{400, "invalid_request_error", "messages[0].role", ""}, refused: "invalid"},
		{name: "missing messages", body: `{"model": "gpt-test"}`, want: apiError{400, "invalid_request_error", "messages", ""}, refused: "invalid"},
		{name: "empty messages", body: `{"model": "gpt-test", "messages": []}`, want: apiError{400, "invalid_request_error", "messages", ""}, refused: "invalid"},
		{name: "missing model", body: `{"messages": [{"role":"user","content":"x"}]}`, want: apiError{400, "invalid_request_error", "model", ""}, refused: "invalid"},
		{name: "unknown model", body: `{"model": "gpt-nope", "messages": [{"role":"user","content":"x"}]}`, want: apiError{404, "invalid_request_error", "", "model_not_found"}, refused: "unknown_model"},
		{name: "oversized body", body: `{"model": "gpt-test", "messages": [{"role":"user","content":"` + strings.Repeat("a", 70<<10) + `"}]}`, want: apiError{413, "invalid_request_error", "", "request_too_large"}, refused: "too_large"},
		{name: "upstream 500", body: `{"model": "gpt-test", "messages": [{"role":"user","content":"x"}]}`, upstream: providertest.Behaviour{Status: 500}, want: apiError{502, "upstream_error", "", "upstream_error"}, recorded: lyumen.UpstreamRefused},
		{name: "upstream 500 stream", body: `{"model": "gpt-test", "stream": true, "messages": [{"role":"user","content":"x"}]}`, upstream: providertest.Behaviour{Status: 500}, want: apiError{502, "upstream_error", "", "upstream_error"}, recorded: lyumen.UpstreamRefused},
		{name: "upstream rejects the request", body: `{"model": "gpt-test", "messages": [{"role":"user","content":"x"}], "temperature": 9}`, upstream: providertest.Behaviour{Status: 400, ErrorText: "temperature too high"}, want: apiError{400, "invalid_request_error", "", ""}, recorded: lyumen.UpstreamRefused},
		{name: "upstream bad key", body: `{"model": "gpt-test", "messages": [{"role":"user","content":"x"}]}`, upstream: providertest.Behaviour{Status: 401}, want: apiError{502, "upstream_error", "", "upstream_error"}, recorded: lyumen.UpstreamRefused},
		{name: "upstream timeout", body: `{"model": "gpt-test", "messages": [{"role":"user","content":"x"}]}`, upstream: providertest.Behaviour{Delay: 2 * time.Second}, want: apiError{504, "upstream_error", "", "upstream_timeout"}, recorded: lyumen.UpstreamRefused},
		{name: "upstream timeout stream", body: `{"model": "gpt-test", "stream": true, "messages": [{"role":"user","content":"x"}]}`, upstream: providertest.Behaviour{Delay: 2 * time.Second}, want: apiError{504, "upstream_error", "", "upstream_timeout"}, recorded: lyumen.UpstreamRefused},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newGateway(t)
			g.up.Set(tc.upstream)
			// The official SDK sees the right error...
			err := g.client.Post(t.Context(), "chat/completions", []byte(tc.body), nil)
			apiErr, ok := errors.AsType[*openai.Error](err)
			if !ok {
				t.Fatalf("SDK error = %v, want an *openai.Error", err)
			}
			got := apiError{apiErr.StatusCode, apiErr.Type, apiErr.Param, apiErr.Code}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(apiError{})); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if apiErr.Message == "" {
				t.Error("error without a message")
			}
			// ...the record is there exactly when it should be...
			if tc.recorded == "" {
				if n := len(g.recs.all()); n != 0 {
					t.Errorf("%d records for a refused request, want none", n)
				}
				g.mu.Lock()
				refused := append([]string(nil), g.refused...)
				g.mu.Unlock()
				if diff := cmp.Diff([]string{tc.refused}, refused); diff != "" {
					t.Errorf("refusal metric (-want +got):\n%s", diff)
				}
			} else {
				rec := g.recs.wait(t, 1)
				if rec.Completeness != tc.recorded || rec.Status != tc.want.status || rec.Error == "" {
					t.Errorf("record: completeness %q status %d error %q; want %q %d and an error",
						rec.Completeness, rec.Status, rec.Error, tc.recorded, tc.want.status)
				}
			}
			// ...and the server stays up.
			if _, err := g.client.Chat.Completions.New(t.Context(), chatParams("still there?")); err != nil && tc.upstream == (providertest.Behaviour{}) {
				t.Errorf("after the bad request: %v", err)
			}
		})
	}
}

func TestChat_UpstreamDiesMidStream(t *testing.T) {
	g := newGateway(t)
	g.up.Set(providertest.Behaviour{DieAfter: 3})
	s := g.client.Chat.Completions.NewStreaming(t.Context(), chatParams("one two three four five"))
	var acc openai.ChatCompletionAccumulator
	for s.Next() {
		acc.AddChunk(s.Current())
	}
	if s.Err() == nil {
		t.Fatal("the stream ended without an error: the client cannot tell it was cut")
	}
	// The error event in OpenAI's envelope, as the SDK reads it.
	if !strings.Contains(s.Err().Error(), `"type":"upstream_error"`) {
		t.Errorf("the client's error %q is not the upstream error event", s.Err())
	}
	rec := g.recs.wait(t, 1)
	if rec.Completeness != lyumen.UpstreamFailed || rec.Error == "" {
		t.Errorf("record completeness %q error %q, want upstream_failed with an error", rec.Completeness, rec.Error)
	}
	if got, want := rec.Response.Choices[0].Message.Content, acc.Choices[0].Message.Content; got != want || got == "" {
		t.Errorf("recorded %q, but the client received %q", got, want)
	}
	g.up.Set(providertest.Behaviour{})
	if _, err := g.client.Chat.Completions.New(t.Context(), chatParams("still there?")); err != nil {
		t.Errorf("after the broken stream: %v", err)
	}
}

func TestChat_ClientDisconnectsMidStream(t *testing.T) {
	g := newGateway(t)
	g.up.Set(providertest.Behaviour{ChunkGap: 30 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	s := g.client.Chat.Completions.NewStreaming(ctx, chatParams("a b c d e f g h i j k l m n o p"))
	var got strings.Builder
	for i := 0; i < 3 && s.Next(); i++ {
		got.WriteString(s.Current().Choices[0].Delta.Content)
	}
	cancel()
	s.Close()
	rec := g.recs.wait(t, 1)
	if rec.Completeness != lyumen.ClientDisconnected {
		t.Errorf("completeness = %q, want client_disconnected", rec.Completeness)
	}
	recorded := rec.Response.Choices[0].Message.Content
	if !strings.HasPrefix(recorded, got.String()) || recorded == "" {
		t.Errorf("recorded %q, want at least what the client saw, %q", recorded, got.String())
	}
	if strings.HasSuffix(recorded, "p") {
		t.Errorf("recorded the whole answer %q: the upstream request was not cancelled", recorded)
	}
	if _, err := g.client.Chat.Completions.New(t.Context(), chatParams("still there?")); err != nil {
		t.Errorf("after the disconnect: %v", err)
	}
}

func TestChat_RecorderUnavailable(t *testing.T) {
	g := newGateway(t)
	g.recs.err = errors.New("store down")
	_, err := g.client.Chat.Completions.New(t.Context(), chatParams("hi"))
	apiErr, ok := errors.AsType[*openai.Error](err)
	if !ok || apiErr.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("err = %v, want 503: free inference is served only when it can be recorded", err)
	}
	// A stream's text has gone out by the time it is recorded: when that
	// fails, the stream ends in an error the SDK reports, not in [DONE], nor
	// merely stopping, which the SDK would take for a whole answer.
	s := g.client.Chat.Completions.NewStreaming(t.Context(), chatParams("hi"))
	for s.Next() {
	}
	if apiErr := s.Err(); apiErr == nil || !strings.Contains(apiErr.Error(), "cannot record") {
		t.Errorf("stream err = %v, want the recording's failure", apiErr)
	}
	resp, err := http.Post(g.srv.URL+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"gpt-test","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if bytes.Contains(raw, []byte("[DONE]")) {
		t.Error("stream ended with [DONE] although its record was not taken")
	}
}

func TestModels(t *testing.T) {
	g := newGateway(t)
	page, err := g.client.Models.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 1 || page.Data[0].ID != publicModel || page.Data[0].Object != "model" {
		t.Errorf("models = %+v", page.Data)
	}
	m, err := g.client.Models.Get(t.Context(), publicModel)
	if err != nil || m.ID != publicModel {
		t.Errorf("get model = %+v, %v", m, err)
	}
	_, err = g.client.Models.Get(t.Context(), "nope")
	if apiErr, ok := errors.AsType[*openai.Error](err); !ok || apiErr.StatusCode != 404 || apiErr.Type != "invalid_request_error" {
		t.Errorf("unknown model: %v", err)
	}
	err = g.client.Post(t.Context(), "no/such/route", nil, nil)
	if apiErr, ok := errors.AsType[*openai.Error](err); !ok || apiErr.StatusCode != 404 {
		t.Errorf("unknown route: %v", err)
	}
}

func TestCountry(t *testing.T) {
	tests := []struct {
		name, peer, header, want string
	}{
		{"trusted proxy", "127.0.0.1:5000", "DE", "DE"},
		{"trusted proxy, lower case", "127.0.0.1:5000", "fr", "FR"},
		{"trusted proxy, unknown", "127.0.0.1:5000", "XX", ""},
		{"trusted proxy, Tor", "127.0.0.1:5000", "T1", "T1"},
		{"trusted proxy, garbage", "127.0.0.1:5000", "D3", ""},
		{"trusted proxy, too long", "127.0.0.1:5000", "DEU", ""},
		{"trusted proxy, no header", "127.0.0.1:5000", "", ""},
		{"untrusted peer spoofing", "203.0.113.9:5000", "US", ""},
		{"trusted IPv4-mapped IPv6", "[::ffff:127.0.0.1]:5000", "JP", "JP"},
		{"untrusted IPv6", "[2001:db8::1]:5000", "US", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newGateway(t)
			h := g.srv.Config.Handler
			r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions",
				strings.NewReader(`{"model":"gpt-test","messages":[{"role":"user","content":"hi"}]}`))
			r.RemoteAddr = tc.peer
			if tc.header != "" {
				r.Header.Set("CF-IPCountry", tc.header)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if got := g.recs.wait(t, 1).Country; got != tc.want {
				t.Errorf("country = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPages(t *testing.T) {
	g := newGateway(t)
	get := func(path string) string {
		resp, err := http.Get(g.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		return string(b)
	}
	landing := get("/")
	for _, want := range []string{g.srv.URL + "/v1", "gpt-test", "/privacy", "recorded", "POST /v1/messages", "base URL <code>" + g.srv.URL + "</code>"} {
		if !strings.Contains(landing, want) {
			t.Errorf("landing page lacks %q", want)
		}
	}
	privacy := get("/privacy")
	for _, want := range []string{"fake.example", "User-Agent", "CF-IPCountry", "IP address", "Indefinitely", "No cookies", "replaced by placeholders", "recorded as you wrote it", "or nothing when it is not known",
		"api.anthropic.example), with these <code>anthropic-beta</code> flags of yours: <code>context-1m-2025-08-07</code>, <code>files-api-2025-04-14</code>"} {
		if !strings.Contains(privacy, want) {
			t.Errorf("privacy page lacks %q", want)
		}
	}
}

// TestLogs_NoSecrets plants a prompt and a key and checks neither reaches
// the logs: content goes to the store only.
func TestLogs_NoSecrets(t *testing.T) {
	g := newGateway(t)
	const prompt = "planted-prompt-5e1b"
	if _, err := g.client.Chat.Completions.New(t.Context(), chatParams(prompt)); err != nil {
		t.Fatal(err)
	}
	s := g.client.Chat.Completions.NewStreaming(t.Context(), chatParams(prompt))
	for s.Next() {
	}
	g.recs.wait(t, 2)
	// The exchange line is written after the response: wait for both.
	logs := g.logText()
	for deadline := time.Now().Add(5 * time.Second); strings.Count(logs, `"msg":"exchange"`) < 2 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
		logs = g.logText()
	}
	if !strings.Contains(logs, `"msg":"exchange"`) {
		t.Fatalf("no exchange log line: %s", logs)
	}
	for _, secret := range []string{prompt, clientKey, "127.0.0.1", operatorKey} {
		if strings.Contains(logs, secret) {
			t.Errorf("the logs contain %q", secret)
		}
	}
}

func TestChat_RequestIDNamesTheRecord(t *testing.T) {
	g := newGateway(t)
	for _, stream := range []bool{false, true} {
		body := fmt.Sprintf(`{"model":"gpt-test","stream":%t,"messages":[{"role":"user","content":"hi"}]}`, stream)
		resp, err := http.Post(g.srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		recs := g.recs.all()
		if got, want := resp.Header.Get("X-Request-Id"), recs[len(recs)-1].ID; got != want {
			t.Errorf("stream=%t: X-Request-Id %q, record id %q", stream, got, want)
		}
	}
}

// TestChat_ModelCapOnEveryField: a model's cap on max tokens reaches the
// limit the upstream obeys, and never raises a smaller one. A repeated
// field is refused (the gateway reads the last copy and rewrites the
// first; upstreams differ in which they keep), and with both max_tokens
// and max_completion_tokens the latter wins, as at OpenAI, in both fields,
// since some upstreams read max_tokens alone.
func TestChat_ModelCapOnEveryField(t *testing.T) {
	up := providertest.NewOpenAI(t)
	catalog := lyumen.NewCatalog([]lyumen.Model{{Name: publicModel, MaxTokens: 100, Targets: []lyumen.Target{{Provider: "fake", Model: remoteModel}}}})
	providers := map[string]lyumen.Provider{"fake": oai.NewClient(up.BaseURL(), operatorKey, nil, up.Client().Transport)}
	recs := &records{}
	srv := httptest.NewServer(httpapi.NewServer(httpapi.Options{Provider: upstream.New(catalog, providers, nil), Catalog: catalog, Recorder: recs}))
	defer srv.Close()
	const msgs = `"model":"gpt-test","messages":[{"role":"user","content":"hi"}]`
	for _, tc := range []struct {
		body string
		want map[string]any // the limits the upstream got; nil: refused, 400
	}{
		{`{` + msgs + `,"max_tokens":100000}`, map[string]any{"max_tokens": 100.0}},
		{`{` + msgs + `,"max_tokens":40}`, map[string]any{"max_tokens": 40.0}},
		{`{` + msgs + `,"max_completion_tokens":100000}`, map[string]any{"max_completion_tokens": 100.0, "max_tokens": 100.0}}, // a local server reads max_tokens
		{`{` + msgs + `}`, map[string]any{"max_tokens": 100.0}},
		{`{` + msgs + `,"max_tokens":100000,"max_completion_tokens":null}`, map[string]any{"max_tokens": 100.0, "max_completion_tokens": nil}},
		{`{` + msgs + `,"max_tokens":100000,"max_completion_tokens":50}`, map[string]any{"max_tokens": 50.0, "max_completion_tokens": 50.0}},
		{`{` + msgs + `,"max_tokens":50,"max_completion_tokens":100000}`, map[string]any{"max_tokens": 100.0, "max_completion_tokens": 100.0}},
		{`{` + msgs + `,"max_tokens":10,"max_completion_tokens":60}`, map[string]any{"max_tokens": 60.0, "max_completion_tokens": 60.0}},
		{`{` + msgs + `,"max_tokens":100000,"max_tokens":100000}`, nil},
		{`{` + msgs + `,"max_completion_tokens":100000,"max_completion_tokens":100000}`, nil},
		{`{` + msgs + `,"max_tokens":100000,"max_tok\u0065ns":100000}`, nil},
		{`{` + msgs + `,"max_completion_tokens":5,"max_tokens":-5}`, nil},
	} {
		before := len(up.Seen())
		resp, err := http.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := map[bool]int{true: 200, false: 400}[tc.want != nil]; resp.StatusCode != want {
			t.Errorf("%s: status %d, want %d: %s", tc.body, resp.StatusCode, want, b)
			continue
		}
		seen := up.Seen()
		if tc.want == nil {
			if len(seen) != before {
				t.Errorf("%s: refused, but sent upstream", tc.body)
			}
			continue
		}
		got := map[string]any{}
		for _, k := range []string{"max_tokens", "max_completion_tokens"} {
			if v, ok := seen[len(seen)-1].Body[k]; ok { // decoded as Go does: the last copy wins
				got[k] = v
			}
		}
		if !maps.Equal(got, tc.want) {
			t.Errorf("%s: upstream got %v, want %v", tc.body, got, tc.want)
		}
	}
}

// TestUpstreamRetryAfter: when the upstream throttles the operator and
// asks to wait longer than the router waits, the client is told how long,
// as OpenAI and Anthropic tell theirs, so that its SDK backs off rather
// than retry at once into the same limit.
func TestUpstreamRetryAfter(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"error":{"message":"Rate limit reached","type":"rate_limit_error"}}`)
	}))
	t.Cleanup(up.Close)
	catalog := lyumen.NewCatalog([]lyumen.Model{{Name: publicModel, Targets: []lyumen.Target{{Provider: "fake", Model: remoteModel}}}})
	providers := map[string]lyumen.Provider{"fake": oai.NewClient(up.URL, operatorKey, nil, up.Client().Transport)}
	srv := httptest.NewServer(httpapi.NewServer(httpapi.Options{Provider: upstream.New(catalog, providers, nil), Catalog: catalog, Recorder: &records{}}))
	t.Cleanup(srv.Close)
	for _, tc := range []struct{ name, path, body string }{
		{"chat", "/v1/chat/completions", `{"model":"gpt-test","messages":[{"role":"user","content":"x"}]}`},
		{"chat stream", "/v1/chat/completions", `{"model":"gpt-test","stream":true,"messages":[{"role":"user","content":"x"}]}`},
		{"messages", "/v1/messages", `{"model":"gpt-test","max_tokens":9,"messages":[{"role":"user","content":"x"}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := srv.Client().Post(srv.URL+tc.path, "application/json", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := []any{resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header.Get("Retry-After-Ms")}
			if diff := cmp.Diff([]any{429, "30", "30000"}, got); diff != "" {
				t.Errorf("status, Retry-After, retry-after-ms (-want +got):\n%s", diff)
			}
		})
	}
}
