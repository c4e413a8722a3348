package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/anthropic"
	"github.com/lyumen/lyumen/gemini"
	"github.com/lyumen/lyumen/httpapi"
	"github.com/lyumen/lyumen/openai"
	"github.com/lyumen/lyumen/upstream"
)

// Surface is how a client calls one API: where it sends the request, the
// request (the same conversation in every surface: RequestBody's), and how
// it knows a streamed answer is complete.
type Surface struct {
	Name string
	path [2]string // non-streamed, streamed
	body [2][]byte
	// ended reports whether a streamed answer ends as a complete stream
	// of this surface does.
	ended func(b []byte) bool
}

// The wire formats, as client surfaces and as upstreams.
const (
	WireOpenAI    = "openai"
	WireAnthropic = "anthropic"
	WireGemini    = "gemini"
	WireResponses = "responses" // OpenAI's /v1/responses: a client surface only
)

const (
	benchSystem = "You are a concise assistant. Answer in one sentence."
	benchUser   = "What does a reverse proxy do, in one sentence?"
)

// SurfaceOpenAI is /v1/chat/completions, as Load sends it.
var SurfaceOpenAI = Surface{
	Name:  WireOpenAI,
	path:  [2]string{"/v1/chat/completions", "/v1/chat/completions"},
	body:  [2][]byte{RequestBody(false), RequestBody(true)},
	ended: func(b []byte) bool { return bytes.HasSuffix(b, streamEnd) },
}

// SurfaceAnthropic is /v1/messages.
var SurfaceAnthropic = Surface{
	Name: WireAnthropic,
	path: [2]string{"/v1/messages", "/v1/messages"},
	body: [2][]byte{anthropicBody(false), anthropicBody(true)},
	ended: func(b []byte) bool {
		return bytes.HasSuffix(b, []byte("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"))
	},
}

// SurfaceResponses is /v1/responses.
var SurfaceResponses = Surface{
	Name:  WireResponses,
	path:  [2]string{"/v1/responses", "/v1/responses"},
	body:  [2][]byte{responsesBody(false), responsesBody(true)},
	ended: func(b []byte) bool { return lastEventIs(b, "response.completed") },
}

// surfaceGemini calls the Gemini mock directly: no gateway serves Gemini.
var surfaceGemini = Surface{
	Name: WireGemini,
	path: [2]string{"/v1beta/models/" + mockModel + ":generateContent", "/v1beta/models/" + mockModel + ":streamGenerateContent?alt=sse"},
	body: [2][]byte{geminiBody(), geminiBody()},
	ended: func(b []byte) bool {
		i := bytes.LastIndex(b, []byte("\r\n\r\ndata: "))
		return i >= 0 && bytes.Contains(b[i:], []byte(`"finishReason":"STOP"`)) && bytes.HasSuffix(b, []byte("\r\n\r\n"))
	},
}

func anthropicBody(stream bool) []byte {
	b := fmt.Appendf(nil, `{"model":"bench-model","max_tokens":256,"system":%q,`+
		`"messages":[{"role":"user","content":%q}],"temperature":0.2,"metadata":{"user_id":"bench"}`, benchSystem, benchUser)
	if stream {
		b = append(b, `,"stream":true`...)
	}
	return append(b, '}')
}

func responsesBody(stream bool) []byte {
	b := fmt.Appendf(nil, `{"model":"bench-model","instructions":%q,`+
		`"input":[{"role":"user","content":%q}],"temperature":0.2,"max_output_tokens":256,"user":"bench"`, benchSystem, benchUser)
	if stream {
		b = append(b, `,"stream":true`...)
	}
	return append(b, '}')
}

func geminiBody() []byte {
	return fmt.Appendf(nil, `{"contents":[{"role":"user","parts":[{"text":%q}]}],`+
		`"systemInstruction":{"parts":[{"text":%q}]},"generationConfig":{"maxOutputTokens":256,"temperature":0.2}}`, benchUser, benchSystem)
}

// lastEventIs reports whether the last event of an SSE stream is named
// name.
func lastEventIs(b []byte, name string) bool {
	i := bytes.LastIndex(b, []byte("event: "))
	return i >= 0 && (i == 0 || b[i-1] == '\n') && bytes.HasPrefix(b[i+len("event: "):], []byte(name+"\n")) &&
		bytes.HasSuffix(b, []byte("\n\n"))
}

// Path is one way through the gateway, from a client surface to an
// upstream wire format, or one of the mock upstreams called directly.
type Path struct {
	Name     string // surface-upstream, e.g. "anthropic-openai"; "mock-<wire>" for a mock
	Surface  Surface
	Upstream string // the upstream's wire format
	// Baseline names the pass-through path this one is compared with:
	// the one with the same upstream mock where there is one, so the mock's
	// own cost (in the same process) cancels out. Empty for the baselines
	// and the mocks.
	Baseline string
	URL      string // base URL
}

// Translated reports whether the gateway translates between formats on p.
func (p Path) Translated() bool { return p.Baseline != "" }

// The paths' names, as reported and as their pprof label.
const (
	PathOpenAIOpenAI       = "openai-openai"
	PathAnthropicAnthropic = "anthropic-anthropic"
	PathAnthropicOpenAI    = "anthropic-openai"
	PathResponsesOpenAI    = "responses-openai"
	PathOpenAIAnthropic    = "openai-anthropic"
	PathOpenAIGemini       = "openai-gemini"
	PathMockOpenAI         = "mock-openai"
	PathMockAnthropic      = "mock-anthropic"
	PathMockGemini         = "mock-gemini"
)

// Translation is the gateway's paths measured for issue 4, each a gateway
// of its own (recording off, as lyumen-norec) on loopback, in front of
// three mock upstreams, one per wire format, with the same answer:
//   - openai-openai and anthropic-anthropic pass a surface's format
//     through to an upstream speaking it, the baselines;
//   - anthropic-openai and responses-openai translate a surface to an
//     OpenAI upstream, compared with openai-openai;
//   - openai-anthropic translates to an Anthropic upstream, compared with
//     anthropic-anthropic;
//   - openai-gemini translates to Gemini, which no surface speaks, so it
//     is compared with openai-openai: the same client, another mock.
//
// The mocks are reachable directly too (mock-openai, …), so their own cost
// can be told from the gateway's. As Targets' servers, each carries the
// pprof label target=<path name>.
type Translation struct {
	Paths []Path // baselines first, then the translated paths
	Mocks []Path

	servers []*httptest.Server
}

// StartTranslation starts the mocks and a gateway per path.
func StartTranslation(oai *Mock, ant *AnthropicMock, gem *GeminiMock) *Translation {
	t := &Translation{}
	start := func(name string, h http.Handler) string {
		s := startServer(name, h)
		t.servers = append(t.servers, s)
		return s.URL
	}
	mocks := map[string]string{
		WireOpenAI:    start(PathMockOpenAI, oai),
		WireAnthropic: start(PathMockAnthropic, ant),
		WireGemini:    start(PathMockGemini, gem),
	}
	t.Mocks = []Path{
		{Name: PathMockOpenAI, Surface: SurfaceOpenAI, Upstream: WireOpenAI, URL: mocks[WireOpenAI]},
		{Name: PathMockAnthropic, Surface: SurfaceAnthropic, Upstream: WireAnthropic, URL: mocks[WireAnthropic]},
		{Name: PathMockGemini, Surface: surfaceGemini, Upstream: WireGemini, URL: mocks[WireGemini]},
	}
	for _, p := range []Path{
		{Name: PathOpenAIOpenAI, Surface: SurfaceOpenAI, Upstream: WireOpenAI},
		{Name: PathAnthropicAnthropic, Surface: SurfaceAnthropic, Upstream: WireAnthropic},
		{Name: PathAnthropicOpenAI, Surface: SurfaceAnthropic, Upstream: WireOpenAI, Baseline: PathOpenAIOpenAI},
		{Name: PathResponsesOpenAI, Surface: SurfaceResponses, Upstream: WireOpenAI, Baseline: PathOpenAIOpenAI},
		{Name: PathOpenAIAnthropic, Surface: SurfaceOpenAI, Upstream: WireAnthropic, Baseline: PathAnthropicAnthropic},
		{Name: PathOpenAIGemini, Surface: SurfaceOpenAI, Upstream: WireGemini, Baseline: PathOpenAIOpenAI},
	} {
		p.URL = start(p.Name, newGateway(p.Upstream, mocks[p.Upstream]))
		t.Paths = append(t.Paths, p)
	}
	return t
}

// newGateway is Lyumen as cmd/lyumen serve wires it, with recording off
// (as lyumen-norec), in front of one upstream of the given wire format at
// baseURL, serving "bench-model" from its "mock-model".
func newGateway(wire, baseURL string) http.Handler {
	rt := gatewayTransport()
	var p lyumen.Provider
	switch wire {
	case WireOpenAI:
		p = openai.NewClient(baseURL+"/v1", "sk-bench", nil, rt)
	case WireAnthropic:
		p = anthropic.NewClient(baseURL, "sk-ant-bench", nil, rt)
	case WireGemini:
		p = gemini.NewClient(baseURL+"/v1beta", "bench-key", nil, rt)
	default:
		panic("bench: unknown wire format " + wire)
	}
	catalog := lyumen.NewCatalog([]lyumen.Model{{
		Name:    "bench-model",
		OwnedBy: "bench",
		Targets: []lyumen.Target{{Provider: "mock", Model: mockModel}},
	}})
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	return httpapi.NewServer(httpapi.Options{
		Logger:   logger,
		Provider: upstream.New(catalog, map[string]lyumen.Provider{"mock": p}, logger),
		Catalog:  catalog,
		Recorder: discard{},
	})
}

// Path returns the path or mock named name.
func (t *Translation) Path(name string) (Path, bool) {
	for _, p := range slices.Concat(t.Paths, t.Mocks) {
		if p.Name == name {
			return p, true
		}
	}
	return Path{}, false
}

// Close shuts the servers down.
func (t *Translation) Close() {
	for _, s := range slices.Backward(t.servers) {
		s.Close()
	}
}

// RunPath applies the closed load l (its Rate must be zero; its URL is
// ignored) to p, a client of p's surface sending its request, and returns
// what it measured, as Run does. An answer counts as an error unless it has
// status 200, the mock's whole answer (its last word) and, streamed, the
// surface's end of stream.
func RunPath(ctx context.Context, hc *http.Client, p Path, l Load) Result {
	if l.Rate != 0 {
		panic("bench: RunPath measures closed loads only")
	}
	i := 0
	if l.Stream {
		i = 1
	}
	url, body := p.URL+p.Surface.path[i], p.Surface.body[i]
	deadline := time.Now().Add(l.Duration)
	results := make([]Result, l.Clients)
	var wg sync.WaitGroup
	var started atomic.Int64
	start, cpu := time.Now(), ProcessCPU()
	for c := range results {
		wg.Go(func() {
			var buf bytes.Buffer
			res := &results[c]
			for ctx.Err() == nil && time.Now().Before(deadline) && started.Add(1) <= int64(l.Requests) {
				t0 := time.Now()
				err := sendPath(ctx, hc, url, body, l.Stream, p.Surface.ended, &buf)
				d := time.Since(t0)
				res.Requests++
				if err != nil {
					res.Errors++
					if res.Err == nil {
						res.Err = err
					}
					continue
				}
				res.Latencies = append(res.Latencies, d)
			}
		})
	}
	wg.Wait()
	total := Result{Elapsed: time.Since(start), CPU: ProcessCPU() - cpu}
	for _, r := range results {
		total.Requests += r.Requests
		total.Errors += r.Errors
		if total.Err == nil {
			total.Err = r.Err
		}
		total.Latencies = append(total.Latencies, r.Latencies...)
	}
	slices.Sort(total.Latencies)
	return total
}

// lastWord is the end of every answer, in every format.
var lastWord = []byte(mockWords[len(mockWords)-1])

// clientHeaders are what the official SDKs add: the mocks want a key, and
// the gateway ignores it.
var clientHeaders = map[string]string{"X-Api-Key": "sk-client", "X-Goog-Api-Key": "client", "Anthropic-Version": "2023-06-01"}

// sendPath is send for any surface.
func sendPath(ctx context.Context, hc *http.Client, url string, body []byte, stream bool, ended func([]byte) bool, buf *bytes.Buffer) error {
	err := post(ctx, hc, url, body, clientHeaders, buf)
	switch {
	case err != nil:
		return err
	case stream && !ended(buf.Bytes()):
		return fmt.Errorf("stream ended early after %d bytes: %.200q", buf.Len(), buf.Bytes()[max(buf.Len()-200, 0):])
	case !bytes.Contains(buf.Bytes(), lastWord):
		return fmt.Errorf("answer lacks the mock's last word %q: %.300s", lastWord, buf.Bytes())
	}
	return nil
}
