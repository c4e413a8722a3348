package httpapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/anthropics/anthropic-sdk-go/v2"
	sdkoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/google/go-cmp/cmp"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/anthropic"
	"github.com/lyumen/lyumen/httpapi"
	oai "github.com/lyumen/lyumen/openai"
	"github.com/lyumen/lyumen/providertest"
	"github.com/lyumen/lyumen/upstream"
)

const (
	claudeModel  = "claude-test"       // served by the Anthropic fake
	claudeRemote = "claude-upstream-1" // its name upstream
	// onePixel is a 1×1 PNG.
	onePixel = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)

// claudeGateway is the gateway in front of both fake upstreams: claudeModel
// goes to the Anthropic fake, publicModel to the OpenAI fake. Its clients
// are the official SDKs.
type claudeGateway struct {
	anth    *providertest.Anthropic
	oai     *providertest.OpenAI
	srv     *httptest.Server
	recs    *records
	client  sdk.Client    // Anthropic's SDK
	oclient openai.Client // OpenAI's SDK
	mu      sync.Mutex
	logs    *bytes.Buffer
}

func newClaudeGateway(t *testing.T) *claudeGateway {
	t.Helper()
	g := &claudeGateway{anth: providertest.NewAnthropic(t), oai: providertest.NewOpenAI(t), recs: &records{}, logs: &bytes.Buffer{}}
	catalog := lyumen.NewCatalog([]lyumen.Model{
		{Name: claudeModel, Targets: []lyumen.Target{{Provider: "anth", Model: claudeRemote}}},
		{Name: publicModel, Targets: []lyumen.Target{{Provider: "fake", Model: remoteModel}}},
	})
	rt := &http.Transport{ResponseHeaderTimeout: 500 * time.Millisecond}
	t.Cleanup(rt.CloseIdleConnections)
	anth := anthropic.NewClient(g.anth.BaseURL(), operatorKey, map[string]string{"anthropic-beta": "operator-beta"}, rt)
	anth.AllowBetas([]string{"client-beta", "context-1m-2025-08-07"})
	providers := map[string]lyumen.Provider{
		"anth": anth,
		"fake": oai.NewClient(g.oai.BaseURL(), operatorKey, nil, rt),
	}
	logger := slog.New(slog.NewJSONHandler(lockedWriter{&g.mu, g.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	g.srv = httptest.NewServer(httpapi.NewServer(httpapi.Options{
		Logger: logger,
		// No retries: an upstream failure reaches the client at once.
		Provider:       upstream.NewWithOptions(catalog, providers, upstream.Options{Logger: logger, Retries: -1}),
		Catalog:        catalog,
		Recorder:       g.recs,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		MaxBodyBytes:   64 << 10,
	}))
	t.Cleanup(g.srv.Close)
	g.client = sdk.NewClient(sdkoption.WithBaseURL(g.srv.URL+"/"), sdkoption.WithAPIKey(clientKey), sdkoption.WithMaxRetries(0))
	g.oclient = openai.NewClient(option.WithBaseURL(g.srv.URL+"/v1/"), option.WithAPIKey(clientKey), option.WithMaxRetries(0))
	return g
}

func (g *claudeGateway) logText() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.logs.String()
}

// messageParams asks model about an image, offering the weather tool.
func messageParams(model, text string, tools bool) sdk.MessageNewParams {
	p := sdk.MessageNewParams{
		Model:     sdk.Model(model),
		MaxTokens: 256,
		System:    []sdk.TextBlockParam{{Text: "Be brief."}},
		Messages: []sdk.MessageParam{sdk.NewUserMessage(
			sdk.NewTextBlock(text),
			sdk.NewImageBlockBase64("image/png", onePixel),
		)},
		StopSequences: []string{"STOP"},
	}
	if tools {
		p.Tools = []sdk.ToolUnionParam{{OfTool: &sdk.ToolParam{Name: "get_weather",
			InputSchema: sdk.ToolInputSchemaParam{Properties: map[string]any{"city": map[string]any{"type": "string"}}}}}}
		p.ToolChoice = sdk.ToolChoiceUnionParam{OfAuto: &sdk.ToolChoiceAutoParam{}}
	}
	return p
}

// send sends p, streamed or not, and returns the message the SDK assembled.
func (g *claudeGateway) send(t *testing.T, p sdk.MessageNewParams, stream bool) (*sdk.Message, []string) {
	t.Helper()
	if !stream {
		m, err := g.client.Messages.New(t.Context(), p)
		if err != nil {
			t.Fatal(err)
		}
		return m, nil
	}
	s := g.client.Messages.NewStreaming(t.Context(), p)
	var m sdk.Message
	var types []string
	for s.Next() {
		ev := s.Current()
		types = append(types, ev.Type)
		if err := m.Accumulate(ev); err != nil {
			t.Fatalf("the SDK refuses the event sequence: %v", err)
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return &m, types
}

// wantConversation is the canonical form of messageParams.
func wantConversation(text string, tools bool) *lyumen.Conversation {
	c := &lyumen.Conversation{MaxTokens: 256, Stop: []string{"STOP"}, Messages: []lyumen.Message{
		{Role: "system", Content: "Be brief."},
		{Role: "user", Parts: []lyumen.Part{{Type: "text", Text: text}, {Type: "image", MediaType: "image/png", Data: onePixel}}},
	}}
	if tools {
		c.Tools = []lyumen.Tool{{Name: "get_weather", Parameters: json.RawMessage(`{"properties":{"city":{"type":"string"}},"type":"object"}`)}}
		c.ToolChoice = &lyumen.ToolChoice{Mode: "auto"}
	}
	return c
}

// checkClaudeRecord compares what every record of a successful exchange on
// the Anthropic surface holds.
func checkClaudeRecord(t *testing.T, rec *lyumen.Record, model, served, provider string, stream bool, conv *lyumen.Conversation, usage lyumen.Usage) {
	t.Helper()
	got := struct {
		Surface                      lyumen.Surface
		Model, ServedModel, Provider string
		Stream                       bool
		Status                       int
		Completeness                 lyumen.Completeness
		Error                        string
		UAFromSDK                    bool
		Usage                        lyumen.Usage
	}{rec.Surface, rec.Model, rec.ServedModel, rec.Provider, rec.Stream, rec.Status, rec.Completeness, rec.Error,
		strings.Contains(rec.UserAgent, "Anthropic/Go"), rec.Usage}
	want := got
	want.Surface, want.Model, want.ServedModel, want.Provider = lyumen.SurfaceAnthropicMessages, model, served, provider
	want.Stream, want.Status, want.Completeness, want.Error, want.UAFromSDK, want.Usage = stream, 200, lyumen.Complete, "", true, usage
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("record (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(conv, rec.Conversation); diff != "" {
		t.Errorf("recorded conversation (-want +got):\n%s", diff)
	}
	for _, secret := range []string{clientKey} {
		if bytes.Contains(rec.Request, []byte(secret)) {
			t.Errorf("the record holds %q", secret)
		}
	}
}

// blocks is the content of an SDK message: "text:…" or "tool_use:id:name:input".
func blocks(m *sdk.Message) []string {
	var out []string
	for _, b := range m.Content {
		switch b.Type {
		case "text":
			out = append(out, "text:"+b.Text)
		case "tool_use":
			var in any
			json.Unmarshal(b.Input, &in)
			canon, _ := json.Marshal(in)
			out = append(out, "tool_use:"+b.ID+":"+b.Name+":"+string(canon))
		default:
			out = append(out, b.Type)
		}
	}
	return out
}

var streamEvents = []string{"message_start", "content_block_start", "content_block_delta"}

func TestMessages_AnthropicUpstream(t *testing.T) {
	for _, tc := range []struct {
		name          string
		stream, tools bool
		want          []string
		stop          sdk.StopReason
		output        int
	}{
		{name: "text", want: []string{"text:" + providertest.EchoText("what is this?")}, stop: "end_turn", output: 4},
		{name: "text streamed", stream: true, want: []string{"text:" + providertest.EchoText("what is this?")}, stop: "end_turn", output: 4},
		{name: "tool call", tools: true, want: []string{"text:Let me check.", `tool_use:toolu_1:get_weather:{"city":"Paris"}`}, stop: "tool_use", output: 12},
		{name: "tool call streamed", stream: true, tools: true, want: []string{"text:Let me check.", `tool_use:toolu_1:get_weather:{"city":"Paris"}`}, stop: "tool_use", output: 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newClaudeGateway(t)
			g.anth.Set(providertest.Behaviour{ToolCall: tc.tools})
			p := messageParams(claudeModel, "what is this?", tc.tools)
			m, types := g.send(t, p, tc.stream)
			if diff := cmp.Diff(tc.want, blocks(m)); diff != "" {
				t.Errorf("content (-want +got):\n%s", diff)
			}
			if m.StopReason != tc.stop || m.Usage.InputTokens != providertest.AnthropicInputTokens ||
				m.Usage.CacheReadInputTokens != providertest.AnthropicCacheReadTokens || m.Usage.OutputTokens != int64(tc.output) {
				t.Errorf("stop %q usage %+v", m.StopReason, m.Usage)
			}
			if tc.stream && (len(types) < 5 || !slicesHasPrefix(types, streamEvents) || types[len(types)-1] != "message_stop") {
				t.Errorf("events %v", types)
			}
			// Passed through: the upstream got the client's body with only
			// the model changed.
			seen := g.anth.Seen()[0]
			sent := seen.Body
			sent["model"] = claudeModel
			var clientBody map[string]any
			rec := g.recs.wait(t, 1)
			json.Unmarshal(rec.Request, &clientBody)
			if diff := cmp.Diff(clientBody, sent); diff != "" {
				t.Errorf("upstream body (-client +upstream):\n%s", diff)
			}
			usage := lyumen.Usage{PromptTokens: 7, CompletionTokens: tc.output, TotalTokens: 7 + tc.output, CachedTokens: providertest.AnthropicCacheReadTokens}
			checkClaudeRecord(t, rec, claudeModel, claudeRemote, "anth", tc.stream, wantConversation("what is this?", tc.tools), usage)
			wantResp := lyumen.Message{Role: "assistant", Content: providertest.EchoText("what is this?")}
			if tc.tools {
				wantResp = lyumen.Message{Role: "assistant", Content: "Let me check.",
					ToolCalls: []lyumen.ToolCall{{ID: "toolu_1", Type: "function", Name: "get_weather", Arguments: `{"city":"Paris"}`}}}
				if tc.stream {
					wantResp.ToolCalls[0].Arguments = `{"city": "Paris"}` // as the fragments came
				}
			}
			if diff := cmp.Diff(wantResp, rec.Response.Choices[0].Message); diff != "" {
				t.Errorf("recorded answer (-want +got):\n%s", diff)
			}
			if tc.tools {
				g.toolResultTurn(t, m, p, tc.stream, func() (any, bool) {
					msgs := g.anth.Seen()[1].Body["messages"].([]any)
					last := msgs[len(msgs)-1].(map[string]any)
					content, _ := last["content"].([]any)
					if len(content) != 1 {
						return last, false
					}
					b := content[0].(map[string]any)
					want := []any{map[string]any{"type": "text", "text": "18°C, cloudy"}} // as the SDK sent it
					return last, b["type"] == "tool_result" && b["tool_use_id"] == "toolu_1" && cmp.Equal(b["content"], want)
				})
			}
		})
	}
}

// toolResultTurn answers the tool call of m and checks the upstream got the
// result (seen) and the record holds it as a tool message.
func (g *claudeGateway) toolResultTurn(t *testing.T, m *sdk.Message, p sdk.MessageNewParams, stream bool, seen func() (any, bool)) {
	t.Helper()
	var id string
	for _, b := range m.Content {
		if b.Type == "tool_use" {
			id = b.ID
		}
	}
	p.Messages = append(p.Messages, m.ToParam(), sdk.NewUserMessage(sdk.NewToolResultBlock(id, "18°C, cloudy", false)))
	g.send(t, p, stream)
	if got, ok := seen(); !ok {
		t.Errorf("upstream did not get the tool result: %v", got)
	}
	msgs := g.recs.wait(t, 2).Conversation.Messages
	if diff := cmp.Diff(lyumen.Message{Role: "tool", ToolCallID: id, Content: "18°C, cloudy"}, msgs[len(msgs)-1]); diff != "" {
		t.Errorf("recorded tool result (-want +got):\n%s", diff)
	}
	if call := msgs[len(msgs)-2].ToolCalls; len(call) != 1 || call[0].ID != id || call[0].Arguments != `{"city":"Paris"}` {
		t.Errorf("recorded tool call %+v", msgs[len(msgs)-2])
	}
}

func slicesHasPrefix(s, prefix []string) bool {
	return len(s) >= len(prefix) && cmp.Equal(s[:len(prefix)], prefix)
}

func TestMessages_OpenAIUpstream(t *testing.T) {
	for _, tc := range []struct {
		name          string
		stream, tools bool
		want          []string
		stop          sdk.StopReason
		output        int
	}{
		{name: "text", want: []string{"text:" + providertest.EchoText("what is this?")}, stop: "end_turn", output: 4},
		{name: "text streamed", stream: true, want: []string{"text:" + providertest.EchoText("what is this?")}, stop: "end_turn", output: 4},
		{name: "tool call", tools: true, want: []string{`tool_use:call_1:get_weather:{"city":"Paris"}`}, stop: "tool_use", output: 4},
		{name: "tool call streamed", stream: true, tools: true, want: []string{`tool_use:call_1:get_weather:{"city":"Paris"}`}, stop: "tool_use", output: 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newClaudeGateway(t)
			g.oai.Set(providertest.Behaviour{ToolCall: tc.tools})
			p := messageParams(publicModel, "what is this?", tc.tools)
			m, types := g.send(t, p, tc.stream)
			if diff := cmp.Diff(tc.want, blocks(m)); diff != "" {
				t.Errorf("content (-want +got):\n%s", diff)
			}
			if m.StopReason != tc.stop || m.Usage.InputTokens != 7 || m.Usage.OutputTokens != int64(tc.output) || !strings.HasPrefix(m.ID, "msg_") {
				t.Errorf("id %q stop %q usage %+v", m.ID, m.StopReason, m.Usage)
			}
			if tc.stream && (!slicesHasPrefix(types, []string{"message_start"}) || types[len(types)-1] != "message_stop") {
				t.Errorf("events %v", types)
			}
			// Translated: the OpenAI upstream got a chat body.
			seen := g.oai.Seen()[0]
			msgs := seen.Body["messages"].([]any)
			wantMsgs := []any{
				map[string]any{"role": "system", "content": "Be brief."},
				map[string]any{"role": "user", "content": []any{
					map[string]any{"type": "text", "text": "what is this?"},
					map[string]any{"type": "image_url", "image_url": map[string]any{"url": "data:image/png;base64," + onePixel}},
				}},
			}
			if diff := cmp.Diff(wantMsgs, msgs); diff != "" {
				t.Errorf("upstream messages (-want +got):\n%s", diff)
			}
			if seen.Body["stop"] == nil || seen.Body["max_tokens"] != 256.0 || (tc.tools != (seen.Body["tools"] != nil)) {
				t.Errorf("upstream body %v", seen.Body)
			}
			rec := g.recs.wait(t, 1)
			usage := lyumen.Usage{PromptTokens: 7, CompletionTokens: tc.output, TotalTokens: 7 + tc.output}
			if tc.tools {
				usage = lyumen.Usage{PromptTokens: 7, CompletionTokens: 4, TotalTokens: 11}
			}
			checkClaudeRecord(t, rec, publicModel, remoteModel, "fake", tc.stream, wantConversation("what is this?", tc.tools), usage)
			if tc.tools {
				g.toolResultTurn(t, m, p, tc.stream, func() (any, bool) {
					msgs := g.oai.Seen()[1].Body["messages"].([]any)
					asst, tool := msgs[len(msgs)-2].(map[string]any), msgs[len(msgs)-1].(map[string]any)
					calls, _ := asst["tool_calls"].([]any)
					return msgs[len(msgs)-2:], len(calls) == 1 && tool["role"] == "tool" && tool["tool_call_id"] == "call_1" && tool["content"] == "18°C, cloudy"
				})
			}
		})
	}
}

// TestMessages_OpenAIClientOnAnthropicUpstream is the other way round: the
// OpenAI SDK on the chat surface, an Anthropic upstream.
func TestMessages_OpenAIClientOnAnthropicUpstream(t *testing.T) {
	params := func(tools bool) openai.ChatCompletionNewParams {
		p := openai.ChatCompletionNewParams{Model: claudeModel, Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage("Be brief."),
			openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
				openai.TextContentPart("what is this?"),
				openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: "data:image/png;base64," + onePixel}),
			}),
		}}
		if tools {
			p.Tools = weatherTool()
		}
		return p
	}
	wantCall := lyumen.ToolCall{ID: "toolu_1", Type: "function", Name: "get_weather", Arguments: `{"city":"Paris"}`}
	for _, tc := range []struct {
		name          string
		stream, tools bool
	}{{"text", false, false}, {"text streamed", true, false}, {"tool call", false, true}, {"tool call streamed", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			g := newClaudeGateway(t)
			g.anth.Set(providertest.Behaviour{ToolCall: tc.tools})
			var msg openai.ChatCompletionMessage
			var finish string
			if tc.stream {
				s := g.oclient.Chat.Completions.NewStreaming(t.Context(), params(tc.tools))
				var acc openai.ChatCompletionAccumulator
				for s.Next() {
					acc.AddChunk(s.Current())
				}
				if err := s.Err(); err != nil {
					t.Fatal(err)
				}
				msg, finish = acc.Choices[0].Message, acc.Choices[0].FinishReason
			} else {
				resp, err := g.oclient.Chat.Completions.New(t.Context(), params(tc.tools))
				if err != nil {
					t.Fatal(err)
				}
				msg, finish = resp.Choices[0].Message, resp.Choices[0].FinishReason
			}
			wantText, wantFinish := providertest.EchoText("what is this?"), "stop"
			if tc.tools {
				wantText, wantFinish = "Let me check.", "tool_calls"
			}
			if msg.Content != wantText || finish != wantFinish {
				t.Errorf("content %q finish %q, want %q %q", msg.Content, finish, wantText, wantFinish)
			}
			if tc.tools {
				args := map[string]any{}
				if len(msg.ToolCalls) == 1 {
					json.Unmarshal([]byte(msg.ToolCalls[0].Function.Arguments), &args)
				}
				if len(msg.ToolCalls) != 1 || msg.ToolCalls[0].ID != "toolu_1" || args["city"] != "Paris" {
					t.Errorf("tool calls %+v", msg.ToolCalls)
				}
			}
			// Translated: the Anthropic upstream got a messages body.
			seen := g.anth.Seen()[0]
			wantBody := map[string]any{"model": claudeRemote, "max_tokens": 4096.0, "system": "Be brief.",
				"messages": []any{map[string]any{"role": "user", "content": []any{
					map[string]any{"type": "text", "text": "what is this?"},
					map[string]any{"type": "image", "source": map[string]any{"type": "base64", "media_type": "image/png", "data": onePixel}},
				}}}}
			if tc.stream {
				wantBody["stream"] = true
			}
			if tc.tools {
				wantBody["tools"] = []any{map[string]any{"name": "get_weather",
					"input_schema": map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}}}
			}
			if diff := cmp.Diff(wantBody, seen.Body); diff != "" {
				t.Errorf("upstream body (-want +got):\n%s", diff)
			}
			if seen.Header.Get("X-Api-Key") != operatorKey || seen.Header.Get("Authorization") != "" {
				t.Errorf("upstream credentials: x-api-key %q authorization %q", seen.Header.Get("X-Api-Key"), seen.Header.Get("Authorization"))
			}
			rec := g.recs.wait(t, 1)
			if rec.Surface != lyumen.SurfaceOpenAIChat || rec.Provider != "anth" || rec.ServedModel != claudeRemote || rec.Completeness != lyumen.Complete {
				t.Errorf("record %s %s %s %s", rec.Surface, rec.Provider, rec.ServedModel, rec.Completeness)
			}
			output := 4
			want := lyumen.Message{Role: "assistant", Content: wantText}
			if tc.tools {
				output, want.ToolCalls = 12, []lyumen.ToolCall{wantCall}
				if tc.stream {
					want.ToolCalls[0].Arguments = `{"city": "Paris"}`
				}
			}
			if diff := cmp.Diff(want, rec.Response.Choices[0].Message); diff != "" {
				t.Errorf("recorded answer (-want +got):\n%s", diff)
			}
			wantUsage := lyumen.Usage{PromptTokens: 7, CompletionTokens: output, TotalTokens: 7 + output, CachedTokens: providertest.AnthropicCacheReadTokens}
			if diff := cmp.Diff(wantUsage, rec.Usage); diff != "" {
				t.Errorf("recorded usage (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMessages_Credentials: the client's x-api-key and anthropic-version
// never reach an upstream; its anthropic-beta reaches Anthropic upstreams
// only, with the operator's. None of them reaches the record or the logs.
func TestMessages_Credentials(t *testing.T) {
	for _, model := range []string{claudeModel, publicModel} {
		t.Run(model, func(t *testing.T) {
			g := newClaudeGateway(t)
			for _, stream := range []bool{false, true} {
				body := `{"model":"` + model + `","max_tokens":9,"stream":` + map[bool]string{true: "true", false: "false"}[stream] +
					`,"messages":[{"role":"user","content":"hi"}]}`
				req, _ := http.NewRequest(http.MethodPost, g.srv.URL+"/v1/messages", strings.NewReader(body))
				req.Header.Set("X-Api-Key", clientKey)
				req.Header.Set("Anthropic-Version", "2099-12-31")
				req.Header.Set("Anthropic-Beta", "client-beta")
				req.Header.Set("Authorization", "Bearer "+clientKey)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("status %d", resp.StatusCode)
				}
			}
			var seen []providertest.Seen
			if model == claudeModel {
				seen = g.anth.Seen()
			} else {
				seen = g.oai.Seen()
			}
			for _, s := range seen {
				for k, vs := range s.Header {
					for _, v := range vs {
						if strings.Contains(v, clientKey) || v == "2099-12-31" || (model != claudeModel && strings.Contains(v, "client-beta")) {
							t.Errorf("upstream header %s: %q came from the client", k, v)
						}
					}
				}
				if model == claudeModel {
					got := []string{s.Header.Get("X-Api-Key"), s.Header.Get("Anthropic-Version"), s.Header.Get("Anthropic-Beta")}
					if diff := cmp.Diff([]string{operatorKey, "2023-06-01", "operator-beta,client-beta"}, got); diff != "" {
						t.Errorf("upstream headers (-want +got):\n%s", diff)
					}
				} else if got := s.Header.Get("Authorization"); got != "Bearer "+operatorKey {
					t.Errorf("Authorization %q", got)
				}
			}
			for _, rec := range []*lyumen.Record{g.recs.wait(t, 1), g.recs.wait(t, 2)} {
				all, err := json.Marshal(rec)
				if err != nil {
					t.Fatal(err)
				}
				for _, v := range []string{clientKey, "2099-12-31", "client-beta"} {
					if bytes.Contains(all, []byte(v)) {
						t.Errorf("the record holds the client's header value %q", v)
					}
				}
			}
			if logs := g.logText(); strings.Contains(logs, clientKey) || strings.Contains(logs, operatorKey) || strings.Contains(logs, "client-beta") {
				t.Error("the logs hold a key or the client's anthropic-beta")
			}
		})
	}
}

// TestMessages_BetaFromTheSDK: the beta flags the SDK's Beta.Messages sends
// reach an Anthropic upstream that allows them, whole and streamed.
func TestMessages_BetaFromTheSDK(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			g := newClaudeGateway(t)
			p := sdk.BetaMessageNewParams{Model: claudeModel, MaxTokens: 9,
				Messages: []sdk.BetaMessageParam{sdk.NewBetaUserMessage(sdk.NewBetaTextBlock("hi"))},
				Betas:    []sdk.AnthropicBeta{"context-1m-2025-08-07", "operator-beta"}}
			if stream {
				s := g.client.Beta.Messages.NewStreaming(t.Context(), p)
				for s.Next() {
				}
				if err := s.Err(); err != nil {
					t.Fatal(err)
				}
			} else if _, err := g.client.Beta.Messages.New(t.Context(), p); err != nil {
				t.Fatal(err)
			}
			if got := g.anth.Seen()[0].Header.Values("Anthropic-Beta"); !slices.Equal(got, []string{"operator-beta,context-1m-2025-08-07"}) {
				t.Errorf("upstream anthropic-beta %q, want the operator's and the client's, each once", got)
			}
		})
	}
}

// TestModels_Anthropic: a client that sends anthropic-version, as
// Anthropic's SDKs always do, gets the catalogue in Anthropic's shape and
// errors in its envelope; OpenAI's SDK on the same routes keeps OpenAI's.
func TestModels_Anthropic(t *testing.T) {
	g := newClaudeGateway(t)
	checkModel := func(m sdk.ModelInfo) {
		t.Helper()
		if m.Type != "model" || m.DisplayName != m.ID || time.Since(m.CreatedAt) > time.Minute || !m.JSON.CreatedAt.Valid() {
			t.Errorf("model %s: type %q display name %q created at %v", m.ID, m.Type, m.DisplayName, m.CreatedAt)
		}
	}
	page, err := g.client.Models.List(t.Context(), sdk.ModelListParams{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page.Data {
		checkModel(m)
		ids = append(ids, m.ID)
	}
	want := []string{claudeModel, publicModel}
	if diff := cmp.Diff(want, ids); diff != "" || page.HasMore || page.FirstID != claudeModel || page.LastID != publicModel {
		t.Errorf("page has_more %v first %q last %q, ids (-want +got):\n%s", page.HasMore, page.FirstID, page.LastID, diff)
	}
	ids = nil
	for it := g.client.Models.ListAutoPaging(t.Context(), sdk.ModelListParams{}); it.Next(); {
		ids = append(ids, it.Current().ID)
	}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("auto-paging (-want +got):\n%s", diff)
	}

	m, err := g.client.Models.Get(t.Context(), claudeModel, sdk.ModelGetParams{})
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != claudeModel {
		t.Errorf("got model %q", m.ID)
	}
	checkModel(*m)
	_, err = g.client.Models.Get(t.Context(), "nope", sdk.ModelGetParams{})
	if apiErr, ok := errors.AsType[*sdk.Error](err); !ok || apiErr.StatusCode != 404 || apiErr.Type() != "not_found_error" ||
		apiErr.Message != "the model 'nope' does not exist" {
		t.Errorf("unknown model: %v", err)
	}

	opage, err := g.oclient.Models.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(opage.Data) != 2 || opage.Data[0].ID != claudeModel || opage.Data[0].Object != "model" {
		t.Errorf("OpenAI's list %+v", opage.Data)
	}
}

func TestMessages_BadInput(t *testing.T) {
	const ok = `"messages":[{"role":"user","content":"a b c"}]`
	tests := []struct {
		name     string
		body     string
		anth     providertest.Behaviour
		oai      providertest.Behaviour
		status   int
		typ      string
		msg      string // "" when any message will do
		recorded bool
	}{
		{name: "malformed JSON", body: `{"model":`, status: 400, typ: "invalid_request_error", msg: "the request body is not valid JSON"},
		{name: "missing max_tokens", body: `{"model":"claude-test",` + ok + `}`, status: 400, typ: "invalid_request_error", msg: "max_tokens: Field required"},
		{name: "system role", body: `{"model":"claude-test","max_tokens":5,"messages":[{"role":"system","content":"x"}]}`, status: 400, typ: "invalid_request_error",
			msg: `messages: Unexpected role "system". The Messages API accepts a top-level ` + "`system`" + ` parameter, not "system" as an input message role.`},
		{name: "unknown model", body: `{"model":"claude-nope","max_tokens":5,` + ok + `}`, status: 404, typ: "not_found_error",
			msg: "the model 'claude-nope' does not exist or you do not have access to it"},
		{name: "too large", body: `{"model":"claude-test","max_tokens":5,"messages":[{"role":"user","content":"` + strings.Repeat("a", 70<<10) + `"}]}`,
			status: 413, typ: "request_too_large"},
		{name: "upstream refuses the request", body: `{"model":"claude-test","max_tokens":5,` + ok + `}`, anth: providertest.Behaviour{Status: 400, ErrorText: "temperature: too hot"},
			status: 400, typ: "invalid_request_error", msg: "upstream: temperature: too hot", recorded: true},
		{name: "upstream rate limit", body: `{"model":"claude-test","max_tokens":5,` + ok + `}`, anth: providertest.Behaviour{Status: 429},
			status: 429, typ: "rate_limit_error", recorded: true},
		{name: "upstream overloaded", body: `{"model":"claude-test","max_tokens":5,"stream":true,` + ok + `}`, anth: providertest.Behaviour{Status: 529, ErrorText: "Overloaded"},
			status: 529, typ: "overloaded_error", msg: "upstream: Overloaded", recorded: true},
		{name: "upstream 500", body: `{"model":"claude-test","max_tokens":5,` + ok + `}`, anth: providertest.Behaviour{Status: 500},
			status: 502, typ: "api_error", recorded: true},
		{name: "OpenAI upstream 500", body: `{"model":"gpt-test","max_tokens":5,` + ok + `}`, oai: providertest.Behaviour{Status: 500},
			status: 502, typ: "api_error", recorded: true},
		{name: "upstream timeout", body: `{"model":"claude-test","max_tokens":5,` + ok + `}`, anth: providertest.Behaviour{Delay: 2 * time.Second},
			status: 504, typ: "timeout_error", msg: "the upstream did not answer in time", recorded: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newClaudeGateway(t)
			g.anth.Set(tc.anth)
			g.oai.Set(tc.oai)
			err := g.client.Post(t.Context(), "v1/messages", []byte(tc.body), nil)
			apiErr, isAPI := errors.AsType[*sdk.Error](err)
			if !isAPI {
				t.Fatalf("SDK error = %v, want an *anthropic.Error", err)
			}
			got := []any{apiErr.StatusCode, string(apiErr.Type())}
			if diff := cmp.Diff([]any{tc.status, tc.typ}, got); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if apiErr.Message == "" || (tc.msg != "" && apiErr.Message != tc.msg) {
				t.Errorf("message %q, want %q", apiErr.Message, tc.msg)
			}
			if tc.recorded {
				rec := g.recs.wait(t, 1)
				if rec.Status != tc.status || rec.Completeness != lyumen.UpstreamRefused || rec.Error == "" {
					t.Errorf("record: status %d completeness %q error %q", rec.Status, rec.Completeness, rec.Error)
				}
			} else if n := len(g.recs.all()); n != 0 {
				t.Errorf("%d records of a refused request", n)
			}
		})
	}
}

func TestMessages_MidStreamFailure(t *testing.T) {
	for _, tc := range []struct {
		name  string
		set   func(*claudeGateway)
		model string
		typ   string
	}{
		{"Anthropic upstream dies", func(g *claudeGateway) { g.anth.Set(providertest.Behaviour{DieAfter: 4}) }, claudeModel, "api_error"},
		{"Anthropic upstream error event", func(g *claudeGateway) { g.anth.FailAfter(4) }, claudeModel, "overloaded_error"},
		{"OpenAI upstream dies", func(g *claudeGateway) { g.oai.Set(providertest.Behaviour{DieAfter: 3}) }, publicModel, "api_error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newClaudeGateway(t)
			tc.set(g)
			s := g.client.Messages.NewStreaming(t.Context(), messageParams(tc.model, "one two three four five", false))
			var m sdk.Message
			for s.Next() {
				m.Accumulate(s.Current())
			}
			apiErr, ok := errors.AsType[*sdk.Error](s.Err())
			if !ok || string(apiErr.Type()) != tc.typ {
				t.Fatalf("stream error %v, want an error event of type %s", s.Err(), tc.typ)
			}
			rec := g.recs.wait(t, 1)
			if rec.Completeness != lyumen.UpstreamFailed || rec.Error == "" {
				t.Errorf("record completeness %q error %q", rec.Completeness, rec.Error)
			}
			if got, want := rec.Response.Choices[0].Message.Content, blocks(&m); len(want) == 0 || "text:"+got != want[0] {
				t.Errorf("recorded %q, client saw %v", got, want)
			}
		})
	}
}

// TestMessages_EndFollowsTheRecord: message_stop goes out only once the
// exchange is recorded, so a client that saw it has a record.
func TestMessages_EndFollowsTheRecord(t *testing.T) {
	for _, model := range []string{claudeModel, publicModel} {
		t.Run(model, func(t *testing.T) {
			g := newClaudeGateway(t)
			g.recs.err = errors.New("store down")
			_, err := g.client.Messages.New(t.Context(), messageParams(model, "hi", false))
			if apiErr, ok := errors.AsType[*sdk.Error](err); !ok || apiErr.StatusCode != 529 || apiErr.Type() != "overloaded_error" {
				t.Errorf("err = %v, want 529 overloaded_error", err)
			}
			resp, err := http.Post(g.srv.URL+"/v1/messages", "application/json",
				strings.NewReader(`{"model":"`+model+`","max_tokens":9,"stream":true,"messages":[{"role":"user","content":"hi"}]}`))
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if bytes.Contains(raw, []byte("message_stop")) || !bytes.Contains(raw, []byte("content_block_delta")) {
				t.Errorf("stream without a record:\n%s", raw)
			}
			g.recs.err = nil
			resp, err = http.Post(g.srv.URL+"/v1/messages", "application/json",
				strings.NewReader(`{"model":"`+model+`","max_tokens":9,"stream":true,"messages":[{"role":"user","content":"hi"}]}`))
			if err != nil {
				t.Fatal(err)
			}
			raw, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if n := bytes.Count(raw, []byte("event: message_stop\n")); n != 1 || !bytes.HasSuffix(raw, []byte("data: {\"type\":\"message_stop\"}\n\n")) {
				t.Errorf("%d message_stop events; stream:\n%s", n, raw)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

func TestMessages_CountTokens(t *testing.T) {
	g := newClaudeGateway(t)
	count, err := g.client.Messages.CountTokens(t.Context(), sdk.MessageCountTokensParams{
		Model:    claudeModel,
		Messages: []sdk.MessageParam{sdk.NewUserMessage(sdk.NewTextBlock("How many tokens is this?"))},
	})
	if err != nil {
		t.Fatal(err)
	}
	if count.InputTokens < 5 || count.InputTokens > 20 {
		t.Errorf("input_tokens = %d", count.InputTokens)
	}
	_, err = g.client.Messages.CountTokens(t.Context(), sdk.MessageCountTokensParams{
		Model:    "claude-nope",
		Messages: []sdk.MessageParam{sdk.NewUserMessage(sdk.NewTextBlock("x"))},
	})
	if apiErr, ok := errors.AsType[*sdk.Error](err); !ok || apiErr.StatusCode != 404 || apiErr.Type() != "not_found_error" {
		t.Errorf("unknown model: %v", err)
	}
	err = g.client.Post(t.Context(), "v1/messages/count_tokens", []byte(`{"model":"claude-test"}`), nil)
	if apiErr, ok := errors.AsType[*sdk.Error](err); !ok || apiErr.StatusCode != 400 || apiErr.Message != "messages: Field required" {
		t.Errorf("no messages: %v", err)
	}
	// A body over max_body_bytes (64 KiB here): 413, in Anthropic's envelope.
	big := `{"model":"claude-test","messages":[{"role":"user","content":"` + strings.Repeat("a", 70<<10) + `"}]}`
	err = g.client.Post(t.Context(), "v1/messages/count_tokens", []byte(big), nil)
	if apiErr, ok := errors.AsType[*sdk.Error](err); !ok || apiErr.StatusCode != 413 || apiErr.Type() != "request_too_large" || apiErr.Message == "" {
		t.Errorf("too large: %v, want a 413 request_too_large", err)
	}
	if n := len(g.recs.all()); n != 0 || len(g.anth.Seen()) != 0 {
		t.Errorf("%d records, %d upstream calls: counting runs no model", n, len(g.anth.Seen()))
	}
}

// TestStream_UnrecordedEndsInError: a stream's text has gone out by the
// time it is recorded, so when recording fails the stream ends in its
// surface's error event. The SDKs take a stream that merely stops, without
// its end marker, for a whole answer; they report the error (the Responses
// API's in its events).
func TestStream_UnrecordedEndsInError(t *testing.T) {
	streams := map[string]func(g *claudeGateway) (next func() bool, err func() error){
		"chat": func(g *claudeGateway) (func() bool, func() error) {
			s := g.oclient.Chat.Completions.NewStreaming(t.Context(), chatParams("one two three"))
			return s.Next, s.Err
		},
		"completions": func(g *claudeGateway) (func() bool, func() error) {
			s := g.oclient.Completions.NewStreaming(t.Context(), completionParams("one two three"))
			return s.Next, s.Err
		},
		// The Responses API reports a failure in events, as OpenAI's does.
		"responses": func(g *claudeGateway) (func() bool, func() error) {
			s := g.oclient.Responses.NewStreaming(t.Context(), responsesParams("one two three"))
			var failed, completed bool
			next := func() bool {
				ok := s.Next()
				failed = failed || ok && s.Current().Type == "response.failed"
				completed = completed || ok && s.Current().Type == "response.completed"
				return ok
			}
			return next, func() error {
				if failed && !completed {
					return errors.New("response.failed")
				}
				return s.Err()
			}
		},
		"messages, passed through": func(g *claudeGateway) (func() bool, func() error) {
			s := g.client.Messages.NewStreaming(t.Context(), messageParams(claudeModel, "one two three", false))
			return s.Next, s.Err
		},
		"messages, translated": func(g *claudeGateway) (func() bool, func() error) {
			s := g.client.Messages.NewStreaming(t.Context(), messageParams(publicModel, "one two three", false))
			return s.Next, s.Err
		},
	}
	for name, open := range streams {
		t.Run(name, func(t *testing.T) {
			g := newClaudeGateway(t)
			g.recs.err = errors.New("store down")
			next, errOf := open(g)
			events := 0
			for next() {
				events++
			}
			if err := errOf(); err == nil || events == 0 {
				t.Errorf("%d events, then err = %v; want the text, then the recording's failure", events, err)
			}
		})
	}
}

// TestUnknownAPI_Envelope: a path under /v1/ that no route takes, or a
// route's path with another method, is a 404 in the envelope of the API
// the path belongs to.
func TestUnknownAPI_Envelope(t *testing.T) {
	g := newClaudeGateway(t)
	for _, tc := range []struct {
		method, path string
		want         string // a JSON fragment of the envelope
	}{
		{"GET", "/v1/messages", `{"type":"error","error":{"type":"not_found_error","message":"invalid URL (GET /v1/messages)"}}`},
		{"POST", "/v1/messages/", `"type":"not_found_error"`},
		{"GET", "/v1/messages/count_tokens", `"type":"not_found_error"`},
		{"GET", "/v1/chat/completions", `"code":"unknown_url"`},
		{"POST", "/v1/nothing", `"code":"unknown_url"`},
	} {
		req, _ := http.NewRequest(tc.method, g.srv.URL+tc.path, strings.NewReader(`{}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || !bytes.Contains(b, []byte(tc.want)) {
			t.Errorf("%s %s: %d %s, want 404 with %s", tc.method, tc.path, resp.StatusCode, b, tc.want)
		}
	}
}

// TestMessages_RequestID: the record's id comes back in Anthropic's own
// request-id header too, where its SDKs read a request's id, and it is
// the id of the record.
func TestMessages_RequestID(t *testing.T) {
	g := newClaudeGateway(t)
	resp, err := http.Post(g.srv.URL+"/v1/messages", "application/json",
		strings.NewReader(`{"model":"`+claudeModel+`","max_tokens":9,"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	rec := g.recs.wait(t, 1)
	if got := resp.Header.Get("Request-Id"); got == "" || got != rec.ID || resp.Header.Get("X-Request-Id") != rec.ID {
		t.Errorf("request-id %q, x-request-id %q; want both the record's id %q", got, resp.Header.Get("X-Request-Id"), rec.ID)
	}
}
