package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/anthropic"
	"github.com/lyumen/lyumen/httpapi"
	oai "github.com/lyumen/lyumen/openai"
	"github.com/lyumen/lyumen/providertest"
	"github.com/lyumen/lyumen/upstream"
)

// The models of the JavaScript SDK gateway besides publicModel and
// claudeModel: each has an upstream of its own.
const (
	jsToolModel       = "gpt-tools"    // an OpenAI fake that calls get_weather
	jsClaudeToolModel = "claude-tools" // an Anthropic fake that calls get_weather
	jsEmbeddingModel  = "embed-test"   // the OpenAI fake, as an embedding model
	jsEmbeddingRemote = "upstream-embed-1"
	jsKey             = "sk-js-sdk-key-3c8e" // the key the SDKs are given
)

// sdkJS returns node and the directory holding the official JavaScript
// SDKs, or skips: .ci/run installs them with
// httpapi/testdata/sdkjs/install.sh (npm ci).
func sdkJS(t *testing.T) (node, dir string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not found: the JavaScript SDK conformance test needs it")
	}
	dir, err = filepath.Abs(filepath.Join("testdata", "sdkjs"))
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range []string{"openai", "@anthropic-ai/sdk"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json")); err != nil {
			t.Skipf("%s not installed: run npm ci in httpapi/testdata/sdkjs (or its install.sh)", pkg)
		}
	}
	return node, dir
}

// jsGateway is the gateway in front of four fake upstreams, one per kind of
// answer the SDKs are asked for.
type jsGateway struct {
	oai, oaiTools   *providertest.OpenAI
	anth, anthTools *providertest.Anthropic
	srv             *httptest.Server
	recs            *records
	mu              sync.Mutex
	logs            *bytes.Buffer
}

func newJSGateway(t *testing.T) *jsGateway {
	t.Helper()
	g := &jsGateway{
		oai: providertest.NewOpenAI(t), oaiTools: providertest.NewOpenAI(t),
		anth: providertest.NewAnthropic(t), anthTools: providertest.NewAnthropic(t),
		recs: &records{}, logs: &bytes.Buffer{},
	}
	g.oaiTools.Set(providertest.Behaviour{ToolCall: true})
	g.anthTools.Set(providertest.Behaviour{ToolCall: true})
	catalog := lyumen.NewCatalog([]lyumen.Model{
		{Name: publicModel, Targets: []lyumen.Target{{Provider: "fake", Model: remoteModel}}},
		{Name: jsToolModel, Targets: []lyumen.Target{{Provider: "tools", Model: remoteModel}}},
		{Name: claudeModel, Targets: []lyumen.Target{{Provider: "anth", Model: claudeRemote}}},
		{Name: jsClaudeToolModel, Targets: []lyumen.Target{{Provider: "anth-tools", Model: claudeRemote}}},
		{Name: jsEmbeddingModel, Targets: []lyumen.Target{{Provider: "fake", Model: jsEmbeddingRemote}}},
	})
	rt := &http.Transport{ResponseHeaderTimeout: 5 * time.Second}
	t.Cleanup(rt.CloseIdleConnections)
	providers := map[string]lyumen.Provider{
		"fake":       oai.NewClient(g.oai.BaseURL(), operatorKey, nil, rt),
		"tools":      oai.NewClient(g.oaiTools.BaseURL(), operatorKey, nil, rt),
		"anth":       anthropic.NewClient(g.anth.BaseURL(), operatorKey, nil, rt),
		"anth-tools": anthropic.NewClient(g.anthTools.BaseURL(), operatorKey, nil, rt),
	}
	logger := slog.New(slog.NewJSONHandler(lockedWriter{&g.mu, g.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	g.srv = httptest.NewServer(httpapi.NewServer(httpapi.Options{
		Logger:         logger,
		Provider:       upstream.NewWithOptions(catalog, providers, upstream.Options{Logger: logger, Retries: -1}),
		Catalog:        catalog,
		Recorder:       g.recs,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		MaxBodyBytes:   64 << 10,
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *jsGateway) logText() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.logs.String()
}

// TestSDKJS runs the official JavaScript SDKs, openai and
// @anthropic-ai/sdk, against the gateway with nothing changed but the base
// URL and the key (testdata/sdkjs/conformance.mjs). They are generated as
// the Python SDKs are, with the same wire handling (request building, SSE
// parsing, the stream assemblers, error classes), so this covers what most
// users run; the Go SDKs the other tests use have a runtime of their own.
func TestSDKJS(t *testing.T) {
	node, dir := sdkJS(t)
	g := newJSGateway(t)

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, node, filepath.Join(dir, "conformance.mjs"), g.srv.URL,
		"--model", publicModel, "--tool-model", jsToolModel, "--claude-model", claudeModel,
		"--claude-tool-model", jsClaudeToolModel, "--embedding-model", jsEmbeddingModel, "--api-key", jsKey)
	cmd.Dir = dir
	// Nothing from the environment: the SDKs read OPENAI_BASE_URL,
	// ANTHROPIC_AUTH_TOKEN and the like.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node conformance.mjs: %v\n%s", err, stderr.String())
	}
	t.Logf("the SDKs took %v", time.Since(start).Round(time.Millisecond))
	var results map[string]json.RawMessage
	if err := json.Unmarshal(out, &results); err != nil {
		t.Fatalf("the script's output is not one JSON object: %v\n%s", err, out)
	}

	type usage struct {
		Prompt     int `json:"prompt_tokens"`
		Completion int `json:"completion_tokens"`
		Total      int `json:"total_tokens"`
	}
	// chatUsage is what the OpenAI fake counts for its answer text.
	chatUsage := func(text string) *usage {
		n := len(strings.Fields(text))
		return &usage{7, n, 7 + n}
	}
	type chat struct {
		Text   string `json:"text"`
		Finish string `json:"finish_reason"`
		Usage  *usage `json:"usage"`
	}
	echo := providertest.EchoText
	checkResult(t, results, "chat", chat{echo("hello from javascript"), "stop", chatUsage(echo("hello from javascript"))})
	checkResult(t, results, "chat_stream", chat{echo("stream from javascript"), "stop", chatUsage(echo("stream from javascript"))})

	type toolCall struct {
		Finish    string         `json:"finish_reason"`
		ID        string         `json:"id"`
		Name      string         `json:"name"`
		Arguments map[string]any `json:"arguments"`
		Answer    string         `json:"answer"`
	}
	paris := map[string]any{"city": "Paris"}
	checkResult(t, results, "tool_call", toolCall{"tool_calls", "call_1", "get_weather", paris, echo("Thanks, and in one word?")})
	checkResult(t, results, "tool_call_stream", toolCall{"tool_calls", "call_1", "get_weather", paris, ""})

	type respUsage struct {
		Input  int `json:"input_tokens"`
		Output int `json:"output_tokens"`
		Total  int `json:"total_tokens"`
	}
	respUsageOf := func(text string) respUsage {
		u := chatUsage(text)
		return respUsage{u.Prompt, u.Completion, u.Total}
	}
	type response struct {
		Object string    `json:"object,omitempty"`
		Status string    `json:"status"`
		Text   string    `json:"output_text"`
		Deltas string    `json:"deltas,omitempty"`
		First  string    `json:"first,omitempty"`
		Last   string    `json:"last,omitempty"`
		Usage  respUsage `json:"usage"`
	}
	want := echo("respond from javascript")
	checkResult(t, results, "responses", response{Object: "response", Status: "completed", Text: want, Usage: respUsageOf(want)})
	want = echo("stream a response from javascript")
	checkResult(t, results, "responses_stream", response{Status: "completed", Text: want, Deltas: want,
		First: "response.created", Last: "response.completed", Usage: respUsageOf(want)})

	want = echo("complete from javascript")
	checkResult(t, results, "completions", struct {
		Object string `json:"object"`
		Text   string `json:"text"`
		Finish string `json:"finish_reason"`
		Usage  *usage `json:"usage"`
	}{"text_completion", want, "stop", chatUsage(want)})

	type embeddings struct {
		Vectors [][]float64 `json:"vectors"`
		Usage   *usage      `json:"usage"`
	}
	wantEmb := embeddings{
		Vectors: [][]float64{providertest.Embedding("the quick brown fox", providertest.EmbeddingDims), providertest.Embedding("jumps", providertest.EmbeddingDims)},
		Usage:   &usage{Prompt: 5, Total: 5},
	}
	checkResult(t, results, "embeddings_float", wantEmb)
	checkResult(t, results, "embeddings_default", wantEmb)

	type models struct {
		IDs       []string `json:"ids"`
		Retrieved string   `json:"retrieved"`
		Object    string   `json:"object,omitempty"`
		Type      string   `json:"type,omitempty"`
	}
	all := []string{publicModel, jsToolModel, claudeModel, jsClaudeToolModel, jsEmbeddingModel}
	checkResult(t, results, "models", models{IDs: all, Retrieved: publicModel, Object: "model"})
	checkResult(t, results, "claude_models", models{IDs: all, Retrieved: claudeModel, Type: "model"})

	type refused struct {
		Class    string `json:"class"`
		Status   int    `json:"status"`
		NotFound bool   `json:"not_found"`
	}
	checkResult(t, results, "unknown_model", refused{"NotFoundError", http.StatusNotFound, true})
	checkResult(t, results, "claude_unknown_model", refused{"NotFoundError", http.StatusNotFound, true})

	type claudeUsage struct {
		Input     int `json:"input_tokens"`
		CacheRead int `json:"cache_read_input_tokens"`
		Output    int `json:"output_tokens"`
	}
	type message struct {
		Text   string      `json:"text"`
		Deltas string      `json:"deltas,omitempty"`
		Stop   string      `json:"stop_reason"`
		Usage  claudeUsage `json:"usage"`
	}
	claudeUsageOf := func(text string) claudeUsage {
		return claudeUsage{providertest.AnthropicInputTokens, providertest.AnthropicCacheReadTokens, len(strings.Fields(text))}
	}
	want = echo("hello claude from javascript")
	checkResult(t, results, "messages", message{Text: want, Stop: "end_turn", Usage: claudeUsageOf(want)})
	want = echo("stream claude from javascript")
	checkResult(t, results, "messages_stream", message{Text: want, Deltas: want, Stop: "end_turn", Usage: claudeUsageOf(want)})
	checkResult(t, results, "messages_tool_stream", struct {
		Stop  string         `json:"stop_reason"`
		ID    string         `json:"id"`
		Name  string         `json:"name"`
		Input map[string]any `json:"input"`
	}{"tool_use", "toolu_1", "get_weather", paris})

	// An OpenAI upstream's usage, in Anthropic's shape.
	want = echo("translate claude from javascript")
	u := chatUsage(want)
	checkResult(t, results, "messages_stream_translated", message{Text: want, Stop: "end_turn", Usage: claudeUsage{Input: u.Prompt, Output: u.Completion}})
	checkResult(t, results, "tool_call_stream_translated", struct {
		Finish    string         `json:"finish_reason"`
		Text      string         `json:"text"`
		ID        string         `json:"id"`
		Name      string         `json:"name"`
		Arguments map[string]any `json:"arguments"`
	}{"tool_calls", "Let me check.", "toolu_1", "get_weather", paris})

	var counted struct {
		InputTokens int `json:"input_tokens"`
	}
	if checkResult(t, results, "count_tokens", struct{}{}) {
		json.Unmarshal(results["count_tokens"], &counted)
		if counted.InputTokens <= 0 {
			t.Errorf("count_tokens: %s", results["count_tokens"])
		}
	}

	// The tool's result reached the upstream as the conversation the SDK
	// built: the assistant's call as it came back, then the result.
	var second map[string]any
	for _, s := range g.oai.Seen() {
		if msgs, _ := s.Body["messages"].([]any); len(msgs) == 4 {
			second = s.Body
		}
	}
	msgs, _ := second["messages"].([]any)
	if len(msgs) != 4 {
		t.Fatalf("no upstream request with the tool's result: %v", g.oai.Seen())
	}
	call, _ := msgs[1].(map[string]any)
	result, _ := msgs[2].(map[string]any)
	calls, _ := call["tool_calls"].([]any)
	if call["role"] != "assistant" || len(calls) != 1 || result["role"] != "tool" || result["tool_call_id"] != "call_1" || result["content"] != "Sunny, 21 °C." {
		t.Errorf("upstream got the tool round trip as %v", msgs)
	}

	// One record per exchange, in the order the script made them, each
	// with the SDK's user agent; none holds the key the SDKs were given.
	type summary struct {
		Surface      lyumen.Surface
		Model        string
		Stream       bool
		Status       int
		Completeness lyumen.Completeness
		SDK          string
	}
	oaiSurface := func(s lyumen.Surface, model string, stream bool) summary {
		return summary{s, model, stream, http.StatusOK, lyumen.Complete, "OpenAI/JS"}
	}
	msgSurface := func(model string, stream bool) summary {
		return summary{lyumen.SurfaceAnthropicMessages, model, stream, http.StatusOK, lyumen.Complete, "Anthropic/JS"}
	}
	wantRecs := []summary{
		oaiSurface(lyumen.SurfaceOpenAIChat, publicModel, false),        // chat
		oaiSurface(lyumen.SurfaceOpenAIChat, publicModel, true),         // chat_stream
		oaiSurface(lyumen.SurfaceOpenAIChat, jsToolModel, false),        // tool_call
		oaiSurface(lyumen.SurfaceOpenAIChat, publicModel, false),        // its result
		oaiSurface(lyumen.SurfaceOpenAIChat, jsToolModel, true),         // tool_call_stream
		oaiSurface(lyumen.SurfaceOpenAIResponses, publicModel, false),   // responses
		oaiSurface(lyumen.SurfaceOpenAIResponses, publicModel, true),    // responses_stream
		oaiSurface(lyumen.SurfaceOpenAICompletions, publicModel, false), // completions
		oaiSurface(lyumen.SurfaceOpenAIEmbeddings, jsEmbeddingModel, false),
		oaiSurface(lyumen.SurfaceOpenAIEmbeddings, jsEmbeddingModel, false),
		msgSurface(claudeModel, false),      // messages
		msgSurface(claudeModel, true),       // messages_stream
		msgSurface(jsClaudeToolModel, true), // messages_tool_stream
		msgSurface(publicModel, true),       // messages_stream_translated
		oaiSurface(lyumen.SurfaceOpenAIChat, jsClaudeToolModel, true),
	}
	g.recs.wait(t, len(wantRecs))
	var gotRecs []summary
	for _, rec := range g.recs.all() {
		sdk, _, _ := strings.Cut(rec.UserAgent, " ")
		gotRecs = append(gotRecs, summary{rec.Surface, rec.Model, rec.Stream, rec.Status, rec.Completeness, sdk})
		all, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(all, []byte(jsKey)) || bytes.Contains(rec.Request, []byte(jsKey)) {
			t.Errorf("the record of %s %s holds the client's key", rec.Surface, rec.Model)
		}
		if rec.Usage.TotalTokens == 0 {
			t.Errorf("the record of %s %s has no usage", rec.Surface, rec.Model)
		}
	}
	if diff := cmp.Diff(wantRecs, gotRecs); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	// Each SDK shows the record's id as the request's (_request_id), the id
	// a user quotes to have the record deleted.
	for name, surface := range map[string]lyumen.Surface{"chat": lyumen.SurfaceOpenAIChat, "messages": lyumen.SurfaceAnthropicMessages} {
		var r struct {
			RequestID string `json:"request_id"`
		}
		json.Unmarshal(results[name], &r)
		if !slices.ContainsFunc(g.recs.all(), func(rec *lyumen.Record) bool { return rec.ID == r.RequestID && rec.Surface == surface }) {
			t.Errorf("%s: the SDK's _request_id %q is no %s record's id", name, r.RequestID, surface)
		}
	}
	if strings.Contains(g.logText(), jsKey) {
		t.Error("the logs hold the client's key")
	}
	for _, seen := range [][]providertest.Seen{g.oai.Seen(), g.oaiTools.Seen(), g.anth.Seen(), g.anthTools.Seen()} {
		for _, s := range seen {
			for name, vs := range s.Header {
				if strings.Contains(strings.Join(vs, " "), jsKey) {
					t.Errorf("the client's key went upstream in %s", name)
				}
			}
		}
	}
}

// checkResult compares the script's result name with want, field by field
// of want's type, and reports whether the call succeeded.
func checkResult[T any](t *testing.T, results map[string]json.RawMessage, name string, want T) bool {
	t.Helper()
	raw, ok := results[name]
	if !ok {
		t.Errorf("%s: no result", name)
		return false
	}
	var failed struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(raw, &failed) == nil && failed.Error != nil {
		t.Errorf("%s failed: %s", name, failed.Error)
		return false
	}
	var got T
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Errorf("%s: %v in %s", name, err, raw)
		return false
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", name, diff)
		return false
	}
	return true
}
