package httpapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/gemini"
	"github.com/lyumen/lyumen/httpapi"
	"github.com/lyumen/lyumen/providertest"
	"github.com/lyumen/lyumen/upstream"
)

// geminiGateway is the gateway in front of a fake Gemini upstream: the
// OpenAI SDK → httpapi → upstream.Pool → gemini.Client → the fake.
type geminiGateway struct {
	up     *providertest.Gemini
	recs   *records
	client openai.Client
	url    string // the gateway's
}

func newGeminiGateway(t *testing.T) *geminiGateway {
	t.Helper()
	g := &geminiGateway{up: providertest.NewGemini(t), recs: &records{}}
	catalog := lyumen.NewCatalog([]lyumen.Model{{Name: publicModel, Targets: []lyumen.Target{{Provider: "fake", Model: remoteModel}}}})
	rt := &http.Transport{ResponseHeaderTimeout: 500 * time.Millisecond}
	t.Cleanup(rt.CloseIdleConnections)
	providers := map[string]lyumen.Provider{"fake": gemini.NewClient(g.up.BaseURL(), operatorKey, nil, rt)}
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(lockedWriter{&mu, &bytes.Buffer{}}, nil))
	srv := httptest.NewServer(httpapi.NewServer(httpapi.Options{
		Logger:         logger,
		Provider:       upstream.New(catalog, providers, logger),
		Catalog:        catalog,
		Recorder:       g.recs,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		MaxBodyBytes:   64 << 10,
		Site:           httpapi.Site{Upstreams: []httpapi.Upstream{{Name: "fake", Host: "fake.example"}}},
	}))
	t.Cleanup(srv.Close)
	g.url = srv.URL
	g.client = openai.NewClient(option.WithBaseURL(srv.URL+"/v1/"), option.WithAPIKey(clientKey), option.WithMaxRetries(0))
	return g
}

// TestGemini_Credentials: a Gemini upstream gets the operator's key and
// nothing of the client's headers, from either API, streamed or not.
func TestGemini_Credentials(t *testing.T) {
	g := newGeminiGateway(t)
	for _, path := range []string{"/v1/chat/completions", "/v1/messages"} {
		for _, stream := range []string{"false", "true"} {
			body := `{"model":"` + publicModel + `","max_tokens":9,"stream":` + stream + `,"messages":[{"role":"user","content":"hi"}]}`
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, g.url+path, strings.NewReader(body))
			for k, v := range planted {
				req.Header.Set(k, v)
			}
			req.Header.Set("Anthropic-Version", "2099-12-31")
			req.Header.Set("Anthropic-Beta", "client-beta")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s stream %s: status %d", path, stream, resp.StatusCode)
			}
		}
	}
	seen := g.up.Seen()
	if len(seen) != 4 {
		t.Fatalf("the upstream was asked %d times, want 4", len(seen))
	}
	for _, s := range seen {
		if got := s.Header.Get("X-Goog-Api-Key"); got != operatorKey {
			t.Errorf("x-goog-api-key %q, want the operator's", got)
		}
		var all []string
		for k, vs := range s.Header {
			all = append(all, k+": "+strings.Join(vs, ","))
		}
		checkNothingPlanted(t, "the upstream's headers", strings.Join(all, "\n")+s.Query.Encode())
		for _, v := range []string{"2099-12-31", "client-beta"} {
			if strings.Contains(strings.Join(all, "\n"), v) {
				t.Errorf("the upstream's headers hold the client's %q", v)
			}
		}
	}
}

// checkGeminiSeen checks the upstream got the operator's key in its header
// and nothing of the client's credentials, at the model's path.
func checkGeminiSeen(t *testing.T, seen providertest.GeminiSeen, stream bool) {
	t.Helper()
	got := struct{ Path, Key, Authorization, QueryKey, Alt string }{
		seen.Path, seen.Header.Get("X-Goog-Api-Key"), seen.Header.Get("Authorization"), seen.Query.Get("key"), seen.Query.Get("alt"),
	}
	want := struct{ Path, Key, Authorization, QueryKey, Alt string }{
		"/v1beta/models/" + remoteModel + ":generateContent", operatorKey, "", "", "",
	}
	if stream {
		want.Path, want.Alt = "/v1beta/models/"+remoteModel+":streamGenerateContent", "sse"
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("upstream saw (-want +got):\n%s", diff)
	}
	sys, _ := seen.Body["systemInstruction"].(map[string]any)
	if diff := cmp.Diff(map[string]any{"parts": []any{map[string]any{"text": "Be brief."}}}, sys); diff != "" {
		t.Errorf("system instruction (-want +got):\n%s", diff)
	}
}

func TestGemini_Chat(t *testing.T) {
	g := newGeminiGateway(t)
	resp, err := g.client.Chat.Completions.New(t.Context(), chatParams("hello there"))
	if err != nil {
		t.Fatal(err)
	}
	want := providertest.EchoText("hello there")
	if got := resp.Choices[0].Message.Content; got != want {
		t.Errorf("content = %q, want %q", got, want)
	}
	if resp.Usage.TotalTokens != 10 {
		t.Errorf("usage %+v, want 10 tokens in all", resp.Usage)
	}
	checkGeminiSeen(t, g.up.Seen()[0], false)
	rec := g.recs.wait(t, 1)
	checkRecord(t, rec, false, "hello there")
	wantConv := []lyumen.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "hello there"}}
	if diff := cmp.Diff(wantConv, rec.Conversation.Messages); diff != "" {
		t.Errorf("recorded conversation (-want +got):\n%s", diff)
	}
	wantResp := []lyumen.Choice{{Message: lyumen.Message{Role: "assistant", Content: want}, FinishReason: "stop"}}
	if diff := cmp.Diff(wantResp, rec.Response.Choices); diff != "" {
		t.Errorf("recorded answer (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(lyumen.Usage{PromptTokens: 7, CompletionTokens: 3, TotalTokens: 10}, rec.Usage); diff != "" {
		t.Errorf("recorded usage (-want +got):\n%s", diff)
	}
}

func TestGemini_ChatStream(t *testing.T) {
	for _, includeUsage := range []bool{true, false} {
		t.Run(map[bool]string{true: "with usage", false: "without usage"}[includeUsage], func(t *testing.T) {
			g := newGeminiGateway(t)
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
			if got := acc.Choices[0].FinishReason; got != "stop" {
				t.Errorf("finish reason = %q, want stop", got)
			}
			if wantUsage := map[bool]int{true: 1, false: 0}[includeUsage]; usageChunks != wantUsage {
				t.Errorf("client got %d usage chunks, want %d", usageChunks, wantUsage)
			}
			if chunks < 5 { // one per word
				t.Errorf("got %d chunks: the stream was not passed on event by event", chunks)
			}
			checkGeminiSeen(t, g.up.Seen()[0], true)
			rec := g.recs.wait(t, 1)
			checkRecord(t, rec, true, "stream me a reply")
			if got := rec.Response.Choices[0].Message.Content; got != want {
				t.Errorf("recorded completion = %q, want %q", got, want)
			}
			if diff := cmp.Diff(lyumen.Usage{PromptTokens: 7, CompletionTokens: 5, TotalTokens: 12}, rec.Usage); diff != "" {
				t.Errorf("recorded usage (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGemini_ToolCalls(t *testing.T) {
	wantCall := []lyumen.ToolCall{{ID: "call_fake-response-1_0", Type: "function", Name: "get_weather", Arguments: `{"city":"Paris"}`}}
	check := func(t *testing.T, g *geminiGateway, calls []openai.ChatCompletionMessageToolCallUnion, finish string) {
		t.Helper()
		if len(calls) != 1 || calls[0].ID != "call_fake-response-1_0" || calls[0].Function.Name != "get_weather" || calls[0].Function.Arguments != `{"city":"Paris"}` {
			t.Errorf("tool calls = %+v", calls)
		}
		if finish != "tool_calls" {
			t.Errorf("finish reason %q, want tool_calls", finish)
		}
		decls, _ := g.up.Seen()[0].Body["tools"].([]any)
		if len(decls) != 1 {
			t.Errorf("tools sent to the upstream = %v", g.up.Seen()[0].Body["tools"])
		}
		rec := g.recs.wait(t, 1)
		if diff := cmp.Diff(wantCall, rec.Response.Choices[0].Message.ToolCalls); diff != "" {
			t.Errorf("recorded tool calls (-want +got):\n%s", diff)
		}
		if got := rec.Response.Choices[0].FinishReason; got != "tool_calls" {
			t.Errorf("recorded finish reason = %q, want tool_calls", got)
		}
		if len(rec.Conversation.Tools) != 1 || rec.Conversation.Tools[0].Name != "get_weather" {
			t.Errorf("recorded tools = %+v", rec.Conversation.Tools)
		}
	}
	t.Run("non-streamed", func(t *testing.T) {
		g := newGeminiGateway(t)
		g.up.Set(providertest.GeminiBehaviour{Behaviour: providertest.Behaviour{ToolCall: true}})
		p := chatParams("weather in Paris?")
		p.Tools = weatherTool()
		resp, err := g.client.Chat.Completions.New(t.Context(), p)
		if err != nil {
			t.Fatal(err)
		}
		check(t, g, resp.Choices[0].Message.ToolCalls, resp.Choices[0].FinishReason)
	})
	t.Run("streamed", func(t *testing.T) {
		g := newGeminiGateway(t)
		g.up.Set(providertest.GeminiBehaviour{Behaviour: providertest.Behaviour{ToolCall: true}})
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
		calls := make([]openai.ChatCompletionMessageToolCallUnion, len(acc.Choices[0].Message.ToolCalls))
		for i, c := range acc.Choices[0].Message.ToolCalls {
			calls[i] = openai.ChatCompletionMessageToolCallUnion{ID: c.ID, Function: openai.ChatCompletionMessageFunctionToolCallFunction{
				Name: c.Function.Name, Arguments: c.Function.Arguments}}
		}
		check(t, g, calls, acc.Choices[0].FinishReason)
	})
}

// TestGemini_ToolResult sends the call's result back: the upstream gets it
// as a functionResponse named after the call it answers.
func TestGemini_ToolResult(t *testing.T) {
	g := newGeminiGateway(t)
	p := chatParams("weather in Paris?")
	p.Tools = weatherTool()
	p.Messages = append(p.Messages,
		openai.ChatCompletionMessageParamUnion{OfAssistant: &openai.ChatCompletionAssistantMessageParam{
			ToolCalls: []openai.ChatCompletionMessageToolCallUnionParam{{OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{
				ID: "call_0", Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: "get_weather", Arguments: `{"city":"Paris"}`},
			}}},
		}},
		openai.ToolMessage("18C, clear", "call_0"),
	)
	resp, err := g.client.Chat.Completions.New(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	if want := providertest.EchoText(`{"content":"18C, clear"}`); resp.Choices[0].Message.Content != want {
		t.Errorf("content = %q, want %q", resp.Choices[0].Message.Content, want)
	}
	contents, _ := g.up.Seen()[0].Body["contents"].([]any)
	want := []any{
		map[string]any{"role": "user", "parts": []any{map[string]any{"text": "weather in Paris?"}}},
		map[string]any{"role": "model", "parts": []any{map[string]any{
			"functionCall":     map[string]any{"name": "get_weather", "args": map[string]any{"city": "Paris"}},
			"thoughtSignature": "skip_thought_signature_validator",
		}}},
		map[string]any{"role": "user", "parts": []any{map[string]any{
			"functionResponse": map[string]any{"name": "get_weather", "response": map[string]any{"content": "18C, clear"}},
		}}},
	}
	if diff := cmp.Diff(want, contents); diff != "" {
		t.Errorf("upstream contents (-want +got):\n%s", diff)
	}
	rec := g.recs.wait(t, 1)
	if got := rec.Conversation.Messages[3]; got.Role != "tool" || got.ToolCallID != "call_0" || got.Content != "18C, clear" {
		t.Errorf("recorded tool result = %+v", got)
	}
}

// TestGemini_ImageURLRefused: Gemini fetches no URLs, and the client is told
// so with a 400 before anything reaches the upstream.
func TestGemini_ImageURLRefused(t *testing.T) {
	g := newGeminiGateway(t)
	p := chatParams("")
	p.Messages = []openai.ChatCompletionMessageParamUnion{openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
		openai.TextContentPart("What is this?"),
		openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: "https://example.com/cat.png"}),
	})}
	_, err := g.client.Chat.Completions.New(t.Context(), p)
	apiErr, ok := errors.AsType[*openai.Error](err)
	if !ok {
		t.Fatalf("error %v is not an API error", err)
	}
	want := "image URLs cannot be sent to this model's provider, which does not fetch them: send the image inline as base64 (a data: URL); only gs:// URIs are passed by reference"
	if apiErr.StatusCode != http.StatusBadRequest || apiErr.Message != want {
		t.Errorf("status %d, message %q; want 400, %q", apiErr.StatusCode, apiErr.Message, want)
	}
	if n := len(g.up.Seen()); n != 0 {
		t.Errorf("the upstream got %d requests, want none", n)
	}
}

// TestGemini_InlineImage: a base64 image goes to Gemini as inlineData.
func TestGemini_InlineImage(t *testing.T) {
	g := newGeminiGateway(t)
	p := chatParams("")
	p.Messages = []openai.ChatCompletionMessageParamUnion{openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
		openai.TextContentPart("What is this?"),
		openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: "data:image/png;base64,iVBORw0KGgo="}),
	})}
	if _, err := g.client.Chat.Completions.New(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	contents, _ := g.up.Seen()[0].Body["contents"].([]any)
	want := []any{map[string]any{"role": "user", "parts": []any{
		map[string]any{"text": "What is this?"},
		map[string]any{"inlineData": map[string]any{"mimeType": "image/png", "data": "iVBORw0KGgo="}},
	}}}
	if diff := cmp.Diff(want, contents); diff != "" {
		t.Errorf("upstream contents (-want +got):\n%s", diff)
	}
}

// TestGemini_AccountRefusal: Google refuses the operator's account with a
// 400 FAILED_PRECONDITION (no free tier in the gateway's country, billing
// off). The client's request is not at fault, so it is not told it was:
// it gets the 502 of an upstream failure, and the router may try another
// key or target, as for any refusal of the operator's credentials.
func TestGemini_AccountRefusal(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(map[bool]string{false: "non-streamed", true: "streamed"}[stream], func(t *testing.T) {
			g := newGeminiGateway(t)
			g.up.Set(providertest.GeminiBehaviour{Behaviour: providertest.Behaviour{Status: http.StatusBadRequest,
				ErrorText: "Gemini API free tier is not available in your country. Please enable billing on your project in Google AI Studio."},
				ErrorStatus: "FAILED_PRECONDITION"})
			var err error
			if stream {
				s := g.client.Chat.Completions.NewStreaming(t.Context(), chatParams("hi"))
				for s.Next() {
				}
				err = s.Err()
			} else {
				_, err = g.client.Chat.Completions.New(t.Context(), chatParams("hi"))
			}
			apiErr, ok := errors.AsType[*openai.Error](err)
			if !ok {
				t.Fatalf("error %v is not an API error", err)
			}
			if apiErr.StatusCode != http.StatusBadGateway || apiErr.Type != "upstream_error" {
				t.Errorf("status %d, type %q; want 502, upstream_error", apiErr.StatusCode, apiErr.Type)
			}
		})
	}
}

// TestGemini_Penalties: an OpenAI client's frequency_penalty and
// presence_penalty, from chat (on the decoder's fast path and off it) and
// from legacy completions, reach the Gemini models that take them, and are
// left out for those that refuse any (Gemini 2.5 and later answer 400
// "Penalty is not enabled"), which then serve the request without them.
func TestGemini_Penalties(t *testing.T) {
	bodies := map[string]string{
		"chat":              `{"model":"` + publicModel + `","messages":[{"role":"user","content":"hi"}],"frequency_penalty":0.5,"presence_penalty":-0.25}`,
		"chat, parts":       `{"model":"` + publicModel + `","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"frequency_penalty":0.5,"presence_penalty":-0.25}`,
		"completions":       `{"model":"` + publicModel + `","prompt":"hi","frequency_penalty":0.5,"presence_penalty":-0.25}`,
		"chat, no penalty":  `{"model":"` + publicModel + `","messages":[{"role":"user","content":"hi"}]}`,
		"chat, null values": `{"model":"` + publicModel + `","messages":[{"role":"user","content":"hi"}],"frequency_penalty":null,"presence_penalty":null}`,
	}
	type penalties struct {
		FrequencyPenalty *float64 `json:"frequencyPenalty"`
		PresencePenalty  *float64 `json:"presencePenalty"`
	}
	for _, m := range []struct {
		model string
		takes bool
	}{
		{"gemini-2.0-flash", true}, {"models/gemini-1.5-pro", true},
		{"gemini-2.5-flash", false}, {"gemini-3-pro-preview", false},
		{"gemini-flash-latest", false}, {"gemma-3-27b-it", false}, // not known to take them
	} {
		for name, body := range bodies {
			model := m.model
			t.Run(model+"/"+name, func(t *testing.T) {
				fake := &cannedUpstream{reply: mustReadFile(t, "testdata/openai_gemini/text.reply.in")}
				srv := httptest.NewServer(fake)
				t.Cleanup(srv.Close)
				catalog := lyumen.NewCatalog([]lyumen.Model{{Name: publicModel, Targets: []lyumen.Target{{Provider: "up", Model: model}}}})
				logger := slog.New(slog.DiscardHandler)
				providers := map[string]lyumen.Provider{"up": gemini.NewClient(srv.URL+"/v1beta", operatorKey, nil, srv.Client().Transport)}
				h := httpapi.NewServer(httpapi.Options{Logger: logger, Provider: upstream.New(catalog, providers, logger), Catalog: catalog, Recorder: &records{}})

				path := "/v1/chat/completions"
				if name == "completions" {
					path = "/v1/completions"
				}
				req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, path, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					t.Fatalf("status %d: %s", w.Code, w.Body)
				}
				_, sent := fake.seen()
				var got struct {
					GenerationConfig penalties `json:"generationConfig"`
				}
				if err := json.Unmarshal(sent, &got); err != nil {
					t.Fatalf("%v: %s", err, sent)
				}
				var want penalties
				if m.takes && strings.Contains(body, "0.5") {
					want = penalties{FrequencyPenalty: new(0.5), PresencePenalty: new(-0.25)}
				}
				if diff := cmp.Diff(want, got.GenerationConfig); diff != "" {
					t.Errorf("generationConfig's penalties (-want +got):\n%s\nsent %s", diff, sent)
				}
			})
		}
	}
}
