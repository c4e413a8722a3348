package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/httpapi"
	"github.com/lyumen/lyumen/limittest"
	"github.com/lyumen/lyumen/ratelimit"
)

// fakeProvider answers every request itself, with no upstream.
type fakeProvider struct {
	usage   lyumen.Usage
	events  int           // content events of a stream; -1: endless
	gap     time.Duration // between stream events
	size    int           // bytes of content per event; 0: one word
	hold    chan struct{} // when set, streams wait until it is closed before they open
	entered chan struct{} // when set, told of every stream that starts to wait
	panics  string        // "chat", "stream" (before the first event) or "midstream"
}

func (p *fakeProvider) wait(ctx context.Context) error {
	if p.hold == nil {
		return nil
	}
	if p.entered != nil {
		p.entered <- struct{}{}
	}
	select {
	case <-p.hold:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *fakeProvider) Chat(ctx context.Context, req *lyumen.Request) (*lyumen.Response, error) {
	if p.panics == "chat" {
		panic("provider bug")
	}
	u := p.usage
	return &lyumen.Response{ID: "chatcmpl-1", Model: "served", Usage: &u,
		Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant", Content: "hello"}, FinishReason: "stop"}}}, nil
}

func (p *fakeProvider) ChatStream(ctx context.Context, req *lyumen.Request) (lyumen.Stream, error) {
	if p.panics == "stream" {
		panic("provider bug")
	}
	start := time.Now()
	err := p.wait(ctx)
	if req.OnAttempt != nil { // as upstream.Pool reports it
		a := lyumen.Attempt{Provider: "fake", Model: req.Model, Duration: max(time.Since(start), 1)}
		if err != nil {
			a.Error = err.Error()
		}
		req.OnAttempt(a)
	}
	if err != nil {
		return nil, err
	}
	return &fakeStream{p: p, ctx: ctx}, nil
}

type fakeStream struct {
	p    *fakeProvider
	ctx  context.Context
	n    int
	done bool
}

func (s *fakeStream) Next() (lyumen.Event, error) {
	if s.done {
		return lyumen.Event{}, io.EOF
	}
	if s.n > 0 && s.p.gap > 0 {
		t := time.NewTimer(s.p.gap)
		defer t.Stop()
		select {
		case <-t.C:
		case <-s.ctx.Done():
			return lyumen.Event{}, fmt.Errorf("read upstream stream: %w", s.ctx.Err())
		}
	}
	if err := s.ctx.Err(); err != nil {
		return lyumen.Event{}, fmt.Errorf("read upstream stream: %w", err)
	}
	if s.p.panics == "midstream" && s.n == 2 {
		panic("provider bug")
	}
	if s.p.events >= 0 && s.n >= s.p.events {
		s.done = true
		u := s.p.usage
		return lyumen.Event{ID: "chatcmpl-1", Model: "served", Usage: &u}, nil
	}
	s.n++
	text := "word "
	if s.p.size > 0 {
		text = strings.Repeat("x", s.p.size)
	}
	return lyumen.Event{ID: "chatcmpl-1", Model: "served", Choices: []lyumen.ChoiceDelta{{Content: text}}}, nil
}

func (s *fakeStream) Close() error { return nil }

// kept is a Recorder that keeps what it is given.
type kept struct {
	mu   sync.Mutex
	recs []*lyumen.Record
}

func (k *kept) Record(ctx context.Context, rec *lyumen.Record) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.recs = append(k.recs, rec)
	return nil
}

func (k *kept) all() []*lyumen.Record {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]*lyumen.Record(nil), k.recs...)
}

func (k *kept) wait(tb testing.TB, n int) []*lyumen.Record {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if all := k.all(); len(all) >= n {
			return all
		}
		time.Sleep(5 * time.Millisecond)
	}
	tb.Fatalf("%d records, want %d", len(k.all()), n)
	return nil
}

// spyLimiter records what the handler asks of its Limiter.
type spyLimiter struct {
	mu      sync.Mutex
	admits  []admitCall
	settles []admitCall
	// When Admit was called, and the admission times Settle was given.
	admittedAt, settledFor []time.Time
	err                    error // Admit's answer
	settleErr              error // Settle's
}

type admitCall struct {
	Client, Model string
	Tokens        int64
}

func (l *spyLimiter) Admit(ctx context.Context, client, model string, tokens int64) (lyumen.Allowance, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.admits = append(l.admits, admitCall{client, model, tokens})
	l.admittedAt = append(l.admittedAt, time.Now())
	return lyumen.Allowance{}, l.err
}

func (l *spyLimiter) Settle(ctx context.Context, client, model string, admitted time.Time, delta int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.settles = append(l.settles, admitCall{client, model, delta})
	l.settledFor = append(l.settledFor, admitted)
	return l.settleErr
}

func (l *spyLimiter) calls() (admits, settles []admitCall) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]admitCall(nil), l.admits...), append([]admitCall(nil), l.settles...)
}

// limited is a gateway in front of a fake provider.
type limited struct {
	srv  *httptest.Server
	recs *kept
	logs *syncBuf

	mu      sync.Mutex
	refused []string
}

type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const limitedModel = "gpt-test"

// newLimited serves o in front of p. o.Catalog, Recorder, Provider,
// Logger and OnRefused are filled in; setup may change the server's
// timeouts before it starts.
func newLimited(t *testing.T, o httpapi.Options, p lyumen.Provider, setup ...func(*http.Server)) *limited {
	t.Helper()
	g := &limited{recs: &kept{}, logs: &syncBuf{}}
	o.Logger = slog.New(slog.NewJSONHandler(g.logs, nil))
	o.Provider = p
	o.Recorder = g.recs
	o.Catalog = lyumen.NewCatalog([]lyumen.Model{
		{Name: limitedModel, Targets: []lyumen.Target{{Provider: "fake", Model: "m"}}},
		{Name: "other", Targets: []lyumen.Target{{Provider: "fake", Model: "m"}}},
	})
	o.OnRefused = func(_ lyumen.Surface, reason string) {
		g.mu.Lock()
		g.refused = append(g.refused, reason)
		g.mu.Unlock()
	}
	g.srv = httptest.NewUnstartedServer(httpapi.NewServer(o))
	for _, f := range setup {
		f(g.srv.Config)
	}
	g.srv.Start()
	t.Cleanup(g.srv.Close)
	return g
}

func (g *limited) refusals() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.refused...)
}

func chatBody(stream bool, text string) string {
	return fmt.Sprintf(`{"model":%q,"stream":%t,"messages":[{"role":"user","content":%q}]}`, limitedModel, stream, text)
}

// post sends body to path with extra headers and returns the response with
// its body read.
func (g *limited) post(t *testing.T, path, body string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, g.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := g.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// openaiErr is the OpenAI error envelope.
type openaiErr struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

func decodeOpenAIErr(t *testing.T, body string) (typ, code string) {
	t.Helper()
	var e openaiErr
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Message == "" {
		t.Fatalf("not an OpenAI error envelope: %s", body)
	}
	if e.Error.Code != nil {
		code = *e.Error.Code
	}
	return e.Error.Type, code
}

// anthropicErrType returns the error type of an Anthropic error envelope,
// or "" when body is not one (or has no message).
func anthropicErrType(body []byte) string {
	var e struct {
		Type  string `json:"type"`
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || e.Type != "error" || e.Error.Message == "" {
		return ""
	}
	return e.Error.Type
}

func rateHeaders(h http.Header) map[string]string {
	out := map[string]string{}
	for k := range h {
		lk := strings.ToLower(k)
		if strings.Contains(lk, "ratelimit") || strings.HasPrefix(lk, "retry-after") {
			out[lk] = h.Get(k)
		}
	}
	return out
}

// TestLimits_RequestsPerMinute: a client's requests beyond its limit get a
// 429 in the OpenAI envelope with the headers OpenAI's clients read, and
// are neither sent upstream nor recorded.
func TestLimits_RequestsPerMinute(t *testing.T) {
	clock := limittest.NewClock()
	lim := ratelimit.New(ratelimit.Options{RequestsPerMinute: 2, TokensPerMinute: 6000, Now: clock.Now})
	g := newLimited(t, httpapi.Options{Limiter: lim}, &fakeProvider{usage: lyumen.Usage{PromptTokens: 10, CompletionTokens: 5, TotalTokens: 15}})
	body := chatBody(false, "hi")
	est := int64(len(body)+3) / 4

	resp, _ := g.post(t, "/v1/chat/completions", body, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("first request: %s", resp.Status)
	}
	want := map[string]string{
		"x-ratelimit-limit-requests": "2", "x-ratelimit-remaining-requests": "1", "x-ratelimit-reset-requests": "30s",
		"x-ratelimit-limit-tokens": "6000", "x-ratelimit-remaining-tokens": fmt.Sprint(6000 - est),
		"x-ratelimit-reset-tokens": (time.Duration(est) * 10 * time.Millisecond).String(),
	}
	if diff := cmp.Diff(want, rateHeaders(resp.Header)); diff != "" {
		t.Errorf("headers of an admitted request (-want +got):\n%s", diff)
	}

	// The second request is charged the first one's actual usage: 15
	// tokens, not the estimate.
	resp, _ = g.post(t, "/v1/chat/completions", body, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("second request: %s", resp.Status)
	}
	if got, want := resp.Header.Get("x-ratelimit-remaining-tokens"), fmt.Sprint(6000-15-est); got != want {
		t.Errorf("remaining tokens %s after a settled request, want %s", got, want)
	}

	resp, got := g.post(t, "/v1/chat/completions", body, nil)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third request: %s, want 429", resp.Status)
	}
	typ, code := decodeOpenAIErr(t, got)
	if typ != "rate_limit_error" || code != "rate_limit_exceeded" {
		t.Errorf("type %q code %q, want rate_limit_error, rate_limit_exceeded", typ, code)
	}
	h := rateHeaders(resp.Header)
	for k, v := range map[string]string{"retry-after": "30", "retry-after-ms": "30000", "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1m0s"} {
		if h[k] != v {
			t.Errorf("%s: %q, want %q", k, h[k], v)
		}
	}
	if n := len(g.recs.all()); n != 2 {
		t.Errorf("%d records, want 2: a refused request is not recorded", n)
	}
	if diff := cmp.Diff([]string{"rate_limited"}, g.refusals()); diff != "" {
		t.Errorf("refusals (-want +got):\n%s", diff)
	}

	clock.Advance(30 * time.Second)
	if resp, _ := g.post(t, "/v1/chat/completions", body, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("after Retry-After: %s", resp.Status)
	}
}

// TestLimits_OpenAISDK: the official SDK sees the 429 as a rate limit
// error, with the headers on its response.
func TestLimits_OpenAISDK(t *testing.T) {
	lim := ratelimit.New(ratelimit.Options{RequestsPerMinute: 1})
	g := newLimited(t, httpapi.Options{Limiter: lim}, &fakeProvider{})
	client := openai.NewClient(option.WithBaseURL(g.srv.URL+"/v1/"), option.WithAPIKey("x"), option.WithMaxRetries(0))
	params := openai.ChatCompletionNewParams{Model: limitedModel, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}
	var resp *http.Response
	if _, err := client.Chat.Completions.New(t.Context(), params, option.WithResponseInto(&resp)); err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("x-ratelimit-remaining-requests") != "0" {
		t.Errorf("x-ratelimit-remaining-requests %q, want 0", resp.Header.Get("x-ratelimit-remaining-requests"))
	}
	stream := client.Chat.Completions.NewStreaming(t.Context(), params)
	for stream.Next() {
	}
	apiErr, ok := errors.AsType[*openai.Error](stream.Err())
	if !ok || apiErr.StatusCode != http.StatusTooManyRequests || apiErr.Type != "rate_limit_error" {
		t.Fatalf("stream error %v, want a 429 rate_limit_error", stream.Err())
	}
	if apiErr.Response.Header.Get("Retry-After") != "60" {
		t.Errorf("Retry-After %q, want 60", apiErr.Response.Header.Get("Retry-After"))
	}
}

// TestLimits_ResponseShapes: every refusal, on each surface, in that
// surface's envelope with its status and headers.
func TestLimits_ResponseShapes(t *testing.T) {
	anthropicBody := `{"model":"gpt-test","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`
	manyMessages := `{"model":"gpt-test","messages":[` + strings.TrimSuffix(strings.Repeat(`{"role":"user","content":"x"},`, 5), ",") + `]}`
	huge := chatBody(false, strings.Repeat("y", 4000))
	cases := []struct {
		name       string
		o          httpapi.Options
		path, body string
		prime      int // admitted requests before the one checked
		status     int
		envelope   string // "openai" or "anthropic"
		errType    string
		code       string // OpenAI only
		headers    map[string]string
		reason     string
	}{
		{name: "openai: requests per minute", o: httpapi.Options{Limiter: ratelimit.New(ratelimit.Options{RequestsPerMinute: 1})},
			path: "/v1/chat/completions", body: chatBody(false, "a"), prime: 1,
			status: 429, envelope: "openai", errType: "rate_limit_error", code: "rate_limit_exceeded",
			headers: map[string]string{"retry-after": "60", "x-ratelimit-limit-requests": "1", "x-ratelimit-remaining-requests": "0"}, reason: "rate_limited"},
		{name: "openai: tokens per minute", o: httpapi.Options{Limiter: ratelimit.New(ratelimit.Options{TokensPerMinute: 50})},
			path: "/v1/chat/completions", body: chatBody(false, "a"), prime: 1, // estimated 20, used 40
			status: 429, envelope: "openai", errType: "rate_limit_error", code: "rate_limit_exceeded",
			headers: map[string]string{"x-ratelimit-limit-tokens": "50", "x-ratelimit-remaining-tokens": "10"}, reason: "rate_limited"},
		{name: "openai: larger than a minute of tokens", o: httpapi.Options{Limiter: ratelimit.New(ratelimit.Options{TokensPerMinute: 500})},
			path: "/v1/chat/completions", body: huge,
			status: 413, envelope: "openai", errType: "invalid_request_error", code: "tokens_exceeded", reason: "too_large"},
		{name: "openai: daily budget spent", o: httpapi.Options{Limiter: ratelimit.New(ratelimit.Options{DailyTokens: map[string]int64{limitedModel: 10}})},
			path: "/v1/chat/completions", body: chatBody(false, "a"),
			status: 503, envelope: "openai", errType: "server_error", code: "budget_exhausted", reason: "budget_spent"},
		{name: "openai: too many messages", o: httpapi.Options{Limits: httpapi.Limits{MaxMessages: 4}},
			path: "/v1/chat/completions", body: manyMessages,
			status: 413, envelope: "openai", errType: "invalid_request_error", code: "request_too_large", reason: "too_large"},
		{name: "openai: limiter failed", o: httpapi.Options{Limiter: &spyLimiter{err: errors.New("redis: connection refused")}},
			path: "/v1/chat/completions", body: chatBody(true, "a"),
			status: 503, envelope: "openai", errType: "server_error", code: "service_unavailable",
			headers: map[string]string{"retry-after": "1"}, reason: "limiter_failed"},
		{name: "anthropic: requests per minute", o: httpapi.Options{Limiter: ratelimit.New(ratelimit.Options{RequestsPerMinute: 1})},
			path: "/v1/messages", body: anthropicBody, prime: 1,
			status: 429, envelope: "anthropic", errType: "rate_limit_error",
			headers: map[string]string{"retry-after": "60", "anthropic-ratelimit-requests-limit": "1", "anthropic-ratelimit-requests-remaining": "0"}, reason: "rate_limited"},
		{name: "anthropic: count_tokens per minute", o: httpapi.Options{Limiter: ratelimit.New(ratelimit.Options{RequestsPerMinute: 1})},
			path: "/v1/messages/count_tokens", body: `{"model":"` + limitedModel + `","messages":[{"role":"user","content":"hi"}]}`, prime: 1,
			status: 429, envelope: "anthropic", errType: "rate_limit_error",
			headers: map[string]string{"retry-after": "60", "anthropic-ratelimit-requests-limit": "1", "anthropic-ratelimit-requests-remaining": "0"}, reason: "rate_limited"},
		{name: "anthropic: daily budget spent", o: httpapi.Options{Limiter: ratelimit.New(ratelimit.Options{DailyTokens: map[string]int64{limitedModel: 10}})},
			path: "/v1/messages", body: anthropicBody,
			status: 529, envelope: "anthropic", errType: "overloaded_error", reason: "budget_spent"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newLimited(t, tc.o, &fakeProvider{usage: lyumen.Usage{TotalTokens: 40}})
			for i := range tc.prime {
				if resp, body := g.post(t, tc.path, tc.body, nil); resp.StatusCode != http.StatusOK {
					t.Fatalf("request %d: %s %s", i+1, resp.Status, body)
				}
			}
			resp, body := g.post(t, tc.path, tc.body, nil)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %s, want %d: %s", resp.Status, tc.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			switch tc.envelope {
			case "openai":
				typ, code := decodeOpenAIErr(t, body)
				if typ != tc.errType || code != tc.code {
					t.Errorf("type %q code %q, want %q %q", typ, code, tc.errType, tc.code)
				}
			case "anthropic":
				var e struct {
					Type  string `json:"type"`
					Error struct{ Type, Message string }
				}
				if err := json.Unmarshal([]byte(body), &e); err != nil || e.Type != "error" || e.Error.Message == "" {
					t.Fatalf("not an Anthropic error envelope: %s", body)
				}
				if e.Error.Type != tc.errType {
					t.Errorf("error type %q, want %q", e.Error.Type, tc.errType)
				}
			}
			got := rateHeaders(resp.Header)
			for k, v := range tc.headers {
				if got[k] != v {
					t.Errorf("header %s: %q, want %q (all: %v)", k, got[k], v, got)
				}
			}
			if tc.status == 503 || tc.status == 429 || tc.status == 529 {
				if got["retry-after"] == "" {
					t.Error("no Retry-After")
				}
			}
			if diff := cmp.Diff([]string{tc.reason}, g.refusals()); diff != "" {
				t.Errorf("refusals (-want +got):\n%s", diff)
			}
			want := tc.prime
			if strings.HasSuffix(tc.path, "/count_tokens") {
				want = 0 // no model runs: nothing is recorded
			}
			if n := len(g.recs.all()); n != want {
				t.Errorf("%d records, want %d", n, want)
			}
			if strings.Contains(g.logs.String(), "127.0.0.1") {
				t.Error("the logs hold the client's address")
			}
		})
	}
}

// TestLimits_Settle: the Limiter is charged the estimate before the call
// and the difference to the upstream's usage after it; an exchange that
// produced nothing is refunded.
func TestLimits_Settle(t *testing.T) {
	cases := []struct {
		name   string
		p      *fakeProvider
		stream bool
		used   func(est int64) int64
	}{
		{"whole, usage reported", &fakeProvider{usage: lyumen.Usage{TotalTokens: 321}}, false, func(int64) int64 { return 321 }},
		{"stream, usage reported", &fakeProvider{events: 3, usage: lyumen.Usage{TotalTokens: 99}}, true, func(int64) int64 { return 99 }},
		{"stream, no usage: estimate plus the answer", &fakeProvider{events: 4}, true, func(est int64) int64 { return est + 5 }}, // "word " ×4: 20 bytes
		// The upstream had the prompt: it is paid for, or one client could
		// send its token limit many times a minute by leaving at once.
		{"client left before an answer: its prompt", &fakeProvider{hold: closedLater()}, true, func(est int64) int64 { return est }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spy := &spyLimiter{}
			g := newLimited(t, httpapi.Options{Limiter: spy, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, tc.p)
			body := chatBody(tc.stream, "count me")
			ctx := t.Context()
			if tc.p.hold != nil {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, 100*time.Millisecond) // the client gives up
				defer cancel()
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, g.srv.URL+"/v1/chat/completions", strings.NewReader(body))
			if resp, err := g.srv.Client().Do(req); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			g.recs.wait(t, 1)
			est := int64(len(body)+3) / 4
			deadline := time.Now().Add(2 * time.Second)
			for {
				admits, settles := spy.calls()
				if len(settles) > 0 || time.Now().After(deadline) {
					if diff := cmp.Diff([]admitCall{{"127.0.0.1", limitedModel, est}}, admits); diff != "" {
						t.Errorf("admits (-want +got):\n%s", diff)
					}
					var want []admitCall // none when the admission's charge was right
					if d := tc.used(est) - est; d != 0 {
						want = []admitCall{{"127.0.0.1", limitedModel, d}}
					}
					if diff := cmp.Diff(want, settles); diff != "" {
						t.Errorf("settles (-want +got):\n%s", diff)
					}
					if want == nil {
						return
					}
					spy.mu.Lock()
					defer spy.mu.Unlock()
					// The day charged is the admission's, however long the exchange took.
					if at, for_ := spy.admittedAt, spy.settledFor; len(at) != 1 || len(for_) != 1 || for_[0].After(at[0]) || at[0].Sub(for_[0]) > time.Second {
						t.Errorf("admitted at %v, settled for %v: want the time of admission", at, for_)
					}
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
}

// closedLater is a hold that is never released: the exchange ends when the
// client gives up.
func closedLater() chan struct{} { return make(chan struct{}) }

// TestLimits_Spoofing: the address a client is limited by, and the country
// recorded, come from headers only when the TCP peer is a trusted proxy.
func TestLimits_Spoofing(t *testing.T) {
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	elsewhere := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	cases := []struct {
		name        string
		trusted     []netip.Prefix
		header      map[string]string
		wantClient  string
		wantCountry string
	}{
		{"untrusted peer: CF-Connecting-IP ignored", elsewhere, map[string]string{"CF-Connecting-IP": "203.0.113.5"}, "127.0.0.1", ""},
		{"untrusted peer: X-Forwarded-For ignored", elsewhere, map[string]string{"X-Forwarded-For": "203.0.113.5"}, "127.0.0.1", ""},
		{"untrusted peer: CF-IPCountry ignored", elsewhere, map[string]string{"CF-IPCountry": "NL"}, "127.0.0.1", ""},
		{"untrusted peer: all of them ignored", elsewhere, map[string]string{"CF-Connecting-IP": "203.0.113.5", "X-Forwarded-For": "198.51.100.1, 203.0.113.5", "CF-IPCountry": "NL"}, "127.0.0.1", ""},
		{"trusted peer: CF-Connecting-IP believed", loopback, map[string]string{"CF-Connecting-IP": "203.0.113.5", "CF-IPCountry": "nl"}, "203.0.113.5", "NL"},
		{"trusted peer: the last untrusted hop of X-Forwarded-For", loopback, map[string]string{"X-Forwarded-For": "198.51.100.1, 203.0.113.5, 127.0.0.3"}, "203.0.113.5", ""},
		// A local proxy appends what it saw to X-Forwarded-For and passes a
		// client's CF-Connecting-IP on (clientaddr_internal_test.go has the
		// public peer, Cloudflare's edge, where it is the other way round).
		{"trusted local peer: X-Forwarded-For before CF-Connecting-IP", loopback, map[string]string{"X-Forwarded-For": "203.0.113.5", "CF-Connecting-IP": "198.51.100.1"}, "203.0.113.5", ""},
		{"trusted peer: garbage in X-Forwarded-For", loopback, map[string]string{"X-Forwarded-For": "not-an-ip, 127.0.0.9"}, "127.0.0.1", ""},
		{"trusted peer: garbage in CF-Connecting-IP", loopback, map[string]string{"CF-Connecting-IP": "203.0.113.5; drop table"}, "127.0.0.1", ""},
		{"trusted peer: IPv6 client limited by its /64", loopback, map[string]string{"CF-Connecting-IP": "2001:db8:1:2:aaaa::9"}, "2001:db8:1:2::/64", ""},
		{"trusted peer: IPv4-mapped IPv6", loopback, map[string]string{"X-Forwarded-For": "[::ffff:203.0.113.5]:4711"}, "203.0.113.5", ""},
		{"trusted peer, no headers", loopback, nil, "127.0.0.1", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spy := &spyLimiter{}
			g := newLimited(t, httpapi.Options{Limiter: spy, TrustedProxies: tc.trusted}, &fakeProvider{})
			if resp, body := g.post(t, "/v1/chat/completions", chatBody(false, "hi"), tc.header); resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: %s", resp.Status, body)
			}
			admits, _ := spy.calls()
			if len(admits) != 1 || admits[0].Client != tc.wantClient {
				t.Errorf("limited as %v, want %q", admits, tc.wantClient)
			}
			if recs := g.recs.wait(t, 1); recs[0].Country != tc.wantCountry {
				t.Errorf("country %q, want %q", recs[0].Country, tc.wantCountry)
			}
		})
	}
}

// TestLimits_Concurrency: a model's concurrency cap answers 503 at
// capacity, a client's cap 429, and both free their slots when exchanges
// end.
func TestLimits_Concurrency(t *testing.T) {
	cases := []struct {
		name   string
		limits httpapi.Limits
		status int
		code   string
		reason string
	}{
		{"model at capacity", httpapi.Limits{Models: map[string]httpapi.ModelLimits{limitedModel: {Concurrency: 2}}}, 503, "model_at_capacity", "at_capacity"},
		{"client at its limit", httpapi.Limits{ClientConcurrency: 2}, 429, "rate_limit_exceeded", "client_concurrency"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hold, entered := make(chan struct{}), make(chan struct{}, 2)
			g := newLimited(t, httpapi.Options{Limits: tc.limits}, &fakeProvider{events: 2, hold: hold, entered: entered})
			results := make(chan int, 2)
			for range 2 {
				go func() {
					req, _ := http.NewRequest(http.MethodPost, g.srv.URL+"/v1/chat/completions", strings.NewReader(chatBody(true, "slow")))
					resp, err := g.srv.Client().Do(req)
					if err != nil {
						results <- 0
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					results <- resp.StatusCode
				}()
			}
			<-entered // both are in flight, holding their slots
			<-entered
			resp, body := g.post(t, "/v1/chat/completions", chatBody(false, "third"), nil)
			if resp.StatusCode != tc.status {
				close(hold)
				t.Fatalf("third request: %s, want %d", resp.Status, tc.status)
			}
			if _, code := decodeOpenAIErr(t, body); code != tc.code {
				t.Errorf("code %q, want %q", code, tc.code)
			}
			if resp.Header.Get("Retry-After") != "1" {
				t.Errorf("Retry-After %q, want 1", resp.Header.Get("Retry-After"))
			}
			if tc.limits.Models != nil {
				if resp, _ := g.post(t, "/v1/chat/completions", strings.Replace(chatBody(false, "x"), limitedModel, "other", 1), nil); resp.StatusCode != http.StatusOK {
					t.Errorf("another model: %s; the cap is per model", resp.Status)
				}
			}
			close(hold)
			for range 2 {
				if st := <-results; st != http.StatusOK {
					t.Errorf("held request: %d", st)
				}
			}
			if resp, _ := g.post(t, "/v1/chat/completions", chatBody(false, "after"), nil); resp.StatusCode != http.StatusOK {
				t.Errorf("after the held requests ended: %s; their slots were not freed", resp.Status)
			}
			if r := g.refusals(); len(r) == 0 || r[0] != tc.reason {
				t.Errorf("refusals %v, want %q", r, tc.reason)
			}
		})
	}
}

// spyBody is a request body that notes whether the handler read it.
type spyBody struct {
	io.Reader
	read bool
}

func (b *spyBody) Read(p []byte) (int, error) {
	b.read = true
	return b.Reader.Read(p)
}

func (b *spyBody) Close() error { return nil }

// TestLimits_ClientConcurrencyBeforeBody: a client at its concurrency
// limit is refused, on every surface that runs a model, before its body is
// read or decoded (else one client could have the gateway hold many bodies
// of up to max_body_bytes at once), with the same 429 it got before; and
// a refusal once its place was taken (a malformed body) gives it back.
func TestLimits_ClientConcurrencyBeforeBody(t *testing.T) {
	hold, entered := make(chan struct{}), make(chan struct{}, 1)
	g := newLimited(t, httpapi.Options{Limits: httpapi.Limits{ClientConcurrency: 1}},
		embedFake{fakeProvider: &fakeProvider{events: 2, hold: hold, entered: entered}})
	held := make(chan int, 1)
	go func() {
		resp, err := g.srv.Client().Post(g.srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(chatBody(true, "held")))
		if err != nil {
			held <- 0
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		held <- resp.StatusCode
	}()
	<-entered // in flight from 127.0.0.1: the client's one place is taken

	// Straight to the handler, from the same address as the held exchange,
	// so that the test sees whether the body was read.
	const malformed = `{"model":"gpt-test","messages":[`
	send := func(path string) (*httptest.ResponseRecorder, bool) {
		body := &spyBody{Reader: strings.NewReader(malformed)}
		r := httptest.NewRequest(http.MethodPost, path, body)
		r.RemoteAddr = "127.0.0.1:40000"
		r.ContentLength = int64(len(malformed))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		g.srv.Config.Handler.ServeHTTP(w, r)
		return w, body.read
	}
	paths := []string{"/v1/chat/completions", "/v1/responses", "/v1/completions", "/v1/messages", "/v1/embeddings"}
	for _, path := range paths {
		w, read := send(path)
		if w.Code != http.StatusTooManyRequests {
			t.Errorf("%s at the client's limit: %d %s, want 429", path, w.Code, w.Body)
			continue
		}
		if read {
			t.Errorf("%s at the client's limit: the body was read", path)
		}
		if w.Header().Get("Retry-After") != "1" {
			t.Errorf("%s: Retry-After %q, want 1", path, w.Header().Get("Retry-After"))
		}
		if strings.HasPrefix(path, "/v1/messages") {
			if typ := anthropicErrType(w.Body.Bytes()); typ != "rate_limit_error" {
				t.Errorf("%s: %q, want an Anthropic rate_limit_error: %s", path, typ, w.Body)
			}
		} else if _, code := decodeOpenAIErr(t, w.Body.String()); code != "rate_limit_exceeded" {
			t.Errorf("%s: code %q, want rate_limit_exceeded", path, code)
		}
	}
	close(hold)
	if st := <-held; st != http.StatusOK {
		t.Fatalf("held exchange: %d", st)
	}

	// With the place free, the body is read and found malformed, and each
	// refusal gives the place back for the next request.
	for _, path := range paths {
		if w, read := send(path); w.Code != http.StatusBadRequest || !read {
			t.Errorf("%s after the held exchange: %d (body read: %t), want 400: %s", path, w.Code, read, w.Body)
		}
	}
	if resp, body := g.post(t, "/v1/chat/completions", chatBody(false, "after"), nil); resp.StatusCode != http.StatusOK {
		t.Errorf("after the refusals: %s, want 200; a place was not given back: %s", resp.Status, body)
	}
	want := append(slices.Repeat([]string{"client_concurrency"}, len(paths)), slices.Repeat([]string{"invalid"}, len(paths))...)
	if diff := cmp.Diff(want, g.refusals()); diff != "" {
		t.Errorf("refusals (-want +got):\n%s", diff)
	}
}

// TestLimits_MaxStreamDuration: an endless stream is ended at the maximum
// duration with an error event the client can read, and recorded as such.
func TestLimits_MaxStreamDuration(t *testing.T) {
	g := newLimited(t, httpapi.Options{Limits: httpapi.Limits{MaxStreamDuration: 300 * time.Millisecond, WriteTimeout: time.Second}},
		&fakeProvider{events: -1, gap: 10 * time.Millisecond})
	start := time.Now()
	resp, body := g.post(t, "/v1/chat/completions", chatBody(true, "forever"), nil)
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("the stream ran %v", d)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s", resp.Status)
	}
	if !strings.Contains(body, "maximum duration") || strings.Contains(body, "[DONE]") {
		t.Errorf("the stream did not end with an error event about its duration:\n%s", tail(body))
	}
	rec := g.recs.wait(t, 1)[0]
	if rec.Completeness != lyumen.UpstreamFailed || !strings.Contains(rec.Error, "maximum duration") {
		t.Errorf("recorded %s %q", rec.Completeness, rec.Error)
	}
}

// TestLimits_MaxAnswer: an upstream that streams without end is cut once
// its answer passes lyumen.MaxAnswer, with an error event, and what the
// client received is recorded: memory is bounded by the answer's limit,
// not by max_stream_duration.
func TestLimits_MaxAnswer(t *testing.T) {
	g := newLimited(t, httpapi.Options{}, &fakeProvider{events: -1, size: 1 << 20})
	resp, body := g.post(t, "/v1/chat/completions", chatBody(true, "forever"), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s", resp.Status)
	}
	if !strings.Contains(body, "longer than 64 MiB") || strings.Contains(body, "[DONE]") {
		t.Errorf("the stream did not end with an error event about its length:\n%s", tail(body))
	}
	if len(body) < lyumen.MaxAnswer-(2<<20) || len(body) > lyumen.MaxAnswer+(4<<20) {
		t.Errorf("the client received %d bytes", len(body))
	}
	rec := g.recs.wait(t, 1)[0]
	if rec.Completeness != lyumen.UpstreamFailed || !strings.Contains(rec.Error, "longer than") {
		t.Errorf("recorded %s %q", rec.Completeness, rec.Error)
	}
	if n := len(rec.Response.Choices[0].Message.Content); n < lyumen.MaxAnswer || n > lyumen.MaxAnswer+(1<<20) {
		t.Errorf("recorded %d bytes of content", n)
	}
}

func tail(s string) string {
	if len(s) > 400 {
		return "…" + s[len(s)-400:]
	}
	return s
}

// TestLimits_StreamOutlastsServerTimeouts: a stream that keeps moving runs
// past the server's ReadTimeout and WriteTimeout: the read deadline ends
// with the body and the write deadline moves with every event.
func TestLimits_StreamOutlastsServerTimeouts(t *testing.T) {
	g := newLimited(t, httpapi.Options{Limits: httpapi.Limits{WriteTimeout: 300 * time.Millisecond, MaxStreamDuration: time.Minute}},
		&fakeProvider{events: 20, gap: 50 * time.Millisecond}, func(s *http.Server) {
			s.ReadTimeout, s.WriteTimeout = 300*time.Millisecond, 300*time.Millisecond
		})
	start := time.Now()
	resp, body := g.post(t, "/v1/chat/completions", chatBody(true, "long"), nil)
	if resp.StatusCode != http.StatusOK || !strings.HasSuffix(body, "data: [DONE]\n\n") {
		t.Fatalf("a 1 s stream behind 300 ms server timeouts was cut after %v: %s\n%s", time.Since(start), resp.Status, tail(body))
	}
	if rec := g.recs.wait(t, 1)[0]; rec.Completeness != lyumen.Complete {
		t.Errorf("recorded %s %q", rec.Completeness, rec.Error)
	}
}

// TestLimits_ClientStopsReading: a client that stops reading a stream is
// cut once a write has waited WriteTimeout, and the gateway lets go. The
// record says why without the write's error text, which names the
// client's address.
func TestLimits_ClientStopsReading(t *testing.T) {
	g := newLimited(t, httpapi.Options{Limits: httpapi.Limits{WriteTimeout: 200 * time.Millisecond, MaxStreamDuration: time.Minute}},
		&fakeProvider{events: -1, size: 64 << 10})
	conn, err := net.Dial("tcp", g.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := chatBody(true, "never read")
	fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	start := time.Now()
	rec := g.recs.wait(t, 1)[0] // the stream ends while the client reads nothing
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("cut after %v", d)
	}
	if rec.Completeness != lyumen.ClientDisconnected {
		t.Errorf("recorded %s %q, want client_disconnected", rec.Completeness, rec.Error)
	}
	host, port, _ := net.SplitHostPort(conn.LocalAddr().String()) // the address the gateway saw
	if strings.Contains(rec.Error, ":"+port) || !strings.Contains(rec.Error, "stopped reading") {
		t.Errorf("recorded error %q: want why, without the client's address %s:%s", rec.Error, host, port)
	}
}

// TestLimits_Panics: a panic in a handler is a 500 in the surface's
// envelope before the response began, a cut connection after, and is
// logged without the client's address. The exchange, admitted, is
// recorded all the same, with what the client saw: its request is as
// much a well-formed request to a served model as any other. Kills a
// panic losing the record (it did: nothing was recorded).
func TestLimits_Panics(t *testing.T) {
	for _, tc := range []struct {
		name, where  string
		stream       bool
		status       int
		completeness lyumen.Completeness
	}{
		{"whole", "chat", false, 500, lyumen.UpstreamRefused},
		{"before a stream", "stream", true, 500, lyumen.UpstreamRefused},
		{"mid-stream", "midstream", true, 200, lyumen.UpstreamFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newLimited(t, httpapi.Options{}, &fakeProvider{events: 5, panics: tc.where})
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, g.srv.URL+"/v1/chat/completions", strings.NewReader(chatBody(tc.stream, "boom")))
			for k, v := range planted {
				req.Header.Set(k, v)
			}
			resp, err := g.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, readErr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if tc.where == "midstream" {
				if resp.StatusCode != http.StatusOK || readErr == nil {
					t.Errorf("a stream that panicked midway: %s, read error %v; want the connection cut", resp.Status, readErr)
				}
			} else {
				if resp.StatusCode != http.StatusInternalServerError {
					t.Fatalf("status %s, want 500", resp.Status)
				}
				if typ, _ := decodeOpenAIErr(t, string(body)); typ != "server_error" {
					t.Errorf("type %q", typ)
				}
			}
			logs := g.logs.String()
			if !strings.Contains(logs, "panic serving request") {
				t.Errorf("the panic was not logged:\n%s", logs)
			}
			checkNothingPlanted(t, "the log of the panic", logs)
			// Recorded before the client got its answer or its cut.
			recs := g.recs.all()
			if len(recs) != 1 {
				t.Fatalf("%d records of an exchange that panicked, want 1", len(recs))
			}
			rec := recs[0]
			if rec.Status != tc.status || rec.Completeness != tc.completeness || !strings.Contains(rec.Error, "internal error") {
				t.Errorf("recorded status %d, %s, error %q; want %d, %s, an internal error", rec.Status, rec.Completeness, rec.Error, tc.status, tc.completeness)
			}
			if !strings.Contains(string(rec.Request), "boom") || rec.Duration <= 0 {
				t.Errorf("the record lacks the request or its duration: %q, %v", rec.Request, rec.Duration)
			}
			// The server still serves.
			g2 := &http.Client{}
			r, err := g2.Get(g.srv.URL + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			r.Body.Close()
		})
	}
}

// TestLimits_SecurityHeaders: every response says nosniff, no referrer, no
// framing; pages have their strict Content-Security-Policy, the API one
// that allows nothing.
func TestLimits_SecurityHeaders(t *testing.T) {
	g := newLimited(t, httpapi.Options{}, &fakeProvider{})
	for _, tc := range []struct {
		path, csp string
	}{
		{"/", "default-src 'none'; style-src 'self'"},
		{"/privacy", "default-src 'none'; style-src 'self'"},
		{"/nope", "default-src 'none'; style-src 'self'"},
		{"/v1/models", "default-src 'none'; frame-ancestors 'none'"},
		{"/healthz", "default-src 'none'; frame-ancestors 'none'"},
	} {
		resp, err := g.srv.Client().Get(g.srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		if !strings.HasPrefix(h.Get("Content-Security-Policy"), tc.csp) {
			t.Errorf("%s: Content-Security-Policy %q, want %q…", tc.path, h.Get("Content-Security-Policy"), tc.csp)
		}
		for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"} {
			if h.Get(k) != v {
				t.Errorf("%s: %s %q, want %q", tc.path, k, h.Get(k), v)
			}
		}
	}
	resp, body := g.post(t, "/v1/chat/completions", chatBody(true, "h"), nil)
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(body, "[DONE]") {
		t.Errorf("a stream lacks the headers or its end")
	}
}

// TestLimits_NoLimitsByDefault: with no Limiter and no Limits, nothing is
// refused and no rate limit header is sent.
func TestLimits_NoLimitsByDefault(t *testing.T) {
	g := newLimited(t, httpapi.Options{}, &fakeProvider{})
	for i := range 50 {
		resp, _ := g.post(t, "/v1/chat/completions", chatBody(i%2 == 0, "x"), nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: %s", i, resp.Status)
		}
		if h := rateHeaders(resp.Header); len(h) > 0 {
			t.Fatalf("rate limit headers without a limiter: %v", h)
		}
	}
}

// FuzzExchange_Decode sends arbitrary bodies through the whole exchange
// handler, limits included: nothing panics, and every answer is a success
// or a refusal in the OpenAI envelope.
func FuzzExchange_Decode(f *testing.F) {
	for _, s := range []string{
		chatBody(false, "hi"), chatBody(true, "hi"), `{}`, `[]`, `null`, `{"model":"gpt-test","messages":[]}`,
		`{"model":"gpt-test","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]}`,
		`{"model":"gpt-test","max_tokens":-1,"messages":[{"role":"user","content":"x"}]}`,
		`{"model":"gpt-test","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"tool","content":"x","tool_call_id":"1"}]}`,
		`{"model":"gpt-test","model":"other","messages":[{"role":"user","content":"x"}]}`,
		"{\"model\":\"gpt-test\",\"messages\":[{\"role\":\"user\",\"content\":\"\xff\"}]}",
	} {
		f.Add([]byte(s))
	}
	lim := ratelimit.New(ratelimit.Options{RequestsPerMinute: 1 << 40, TokensPerMinute: 1 << 40})
	h := httpapi.NewServer(httpapi.Options{
		Provider: &fakeProvider{events: 2}, Recorder: &kept{}, Limiter: lim, MaxBodyBytes: 1 << 16,
		Catalog: lyumen.NewCatalog([]lyumen.Model{{Name: limitedModel, Targets: []lyumen.Target{{Provider: "fake", Model: "m"}}}}),
		Limits:  httpapi.Limits{MaxMessages: 8, ClientConcurrency: 4, WriteTimeout: time.Second, MaxStreamDuration: time.Minute},
	})
	f.Fuzz(func(t *testing.T, body []byte) {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(string(body)))
		h.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK:
			return
		case http.StatusBadRequest, http.StatusNotFound, http.StatusRequestEntityTooLarge:
			decodeOpenAIErr(t, w.Body.String())
		default:
			t.Fatalf("status %d for %q: %s", w.Code, body, w.Body)
		}
	})
}

// TestLimits_StreamFraming: a stream through the limits and the deadline
// writer keeps its headers and its framing.
func TestLimits_StreamFraming(t *testing.T) {
	g := newLimited(t, httpapi.Options{Limiter: ratelimit.New(ratelimit.Options{RequestsPerMinute: 10}),
		Limits: httpapi.Limits{WriteTimeout: time.Second, MaxStreamDuration: time.Minute}}, &fakeProvider{events: 3})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, g.srv.URL+"/v1/chat/completions", strings.NewReader(chatBody(true, "x")))
	resp, err := g.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("x-ratelimit-remaining-requests") != "9" || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Errorf("headers %v", resp.Header)
	}
	sc := bufio.NewScanner(resp.Body)
	var data []string
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			data = append(data, d)
		}
	}
	if len(data) != 4 || data[3] != "[DONE]" { // three words, [DONE]
		t.Errorf("events %q", data)
	}
}

// TestLimits_EstimateChargesTheAnswer: a request's max tokens, times its
// choices, are charged with its prompt before the call (and refunded by
// Settle for what was not written): small prompts asking for long answers
// cannot start many of them on one minute's budget.
func TestLimits_EstimateChargesTheAnswer(t *testing.T) {
	for _, tc := range []struct {
		name, extra string
		answer      int64
	}{
		{"no limit set: the prompt only", ``, 0},
		{"max_tokens", `,"max_tokens":8000`, 8000},
		{"max_completion_tokens, two choices", `,"max_completion_tokens":5000,"n":2`, 10000},
		// A model's whole output is not refused as too large, and a
		// limit near MaxInt64 neither overflows nor goes free.
		{"max_tokens past the charge's bound", `,"max_tokens":128000`, 16 << 10},
		{"max_tokens at MaxInt64, 128 choices", `,"max_tokens":9223372036854775807,"n":128`, 16 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spy := &spyLimiter{}
			g := newLimited(t, httpapi.Options{Limiter: spy}, &fakeProvider{usage: lyumen.Usage{TotalTokens: 10}})
			body := fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"write at length"}]%s}`, limitedModel, tc.extra)
			resp, _ := g.post(t, "/v1/chat/completions", body, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			want := int64(len(body)+3)/4 + tc.answer
			if admits, _ := spy.calls(); len(admits) != 1 || admits[0].Tokens != want {
				t.Errorf("admitted %+v, want an estimate of %d tokens", admits, want)
			}
			g.recs.wait(t, 1)
			if _, settles := waitSettles(t, spy); len(settles) != 1 || settles[0].Tokens != 10-want { // the usage: 10
				t.Errorf("settled %+v, want %d", settles, 10-want)
			}
		})
	}
	// Without usage (a stream the client stopped, say), what was written is
	// counted on the prompt's estimate, not on the answer's limit as well.
	spy := &spyLimiter{}
	g := newLimited(t, httpapi.Options{Limiter: spy}, &fakeProvider{events: 4}) // "word " ×4: 20 bytes
	body := fmt.Sprintf(`{"model":%q,"stream":true,"max_tokens":8000,"messages":[{"role":"user","content":"write"}]}`, limitedModel)
	resp, _ := g.post(t, "/v1/chat/completions", body, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	g.recs.wait(t, 1)
	prompt := int64(len(body)+3) / 4
	if _, settles := waitSettles(t, spy); len(settles) != 1 || settles[0].Tokens != (prompt+5)-(prompt+8000) {
		t.Errorf("settled %+v, want %d: the answer's unused limit refunded", settles, (prompt+5)-(prompt+8000))
	}
}

// waitSettles waits for the spy's first Settle, which follows the record.
func waitSettles(t *testing.T, spy *spyLimiter) (admits, settles []admitCall) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(time.Millisecond) {
		admits, settles = spy.calls()
		if len(settles) > 0 || time.Now().After(deadline) {
			return admits, settles
		}
	}
}

// TestLimits_SettleFailureLogsNoAddress: a Limiter that cannot settle is
// logged, without the client's address it was asked about.
func TestLimits_SettleFailureLogsNoAddress(t *testing.T) {
	spy := &spyLimiter{settleErr: errors.New("redis: i/o timeout")}
	g := newLimited(t, httpapi.Options{Limiter: spy, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
		&fakeProvider{usage: lyumen.Usage{TotalTokens: 500}})
	if status := sendPlanted(t, g.srv.URL, "/v1/chat/completions", chatBody(false, "settle me"), "test-agent/1"); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	if _, settles := waitSettles(t, spy); len(settles) != 1 || settles[0].Client != planted["X-Forwarded-For"] {
		t.Fatalf("settled %+v, want once, for the forwarded address", settles)
	}
	logs := g.logs.String()
	for deadline := time.Now().Add(2 * time.Second); !strings.Contains(logs, "rate limiter settle failed") && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond) // logged after Settle returns
		logs = g.logs.String()
	}
	if !strings.Contains(logs, "rate limiter settle failed") {
		t.Fatalf("the failed settle was not logged:\n%s", logs)
	}
	checkNothingPlanted(t, "the logs", logs)
}

// blockingBody gives its reader's bytes once release is closed, and says
// when it is first read.
type blockingBody struct {
	io.Reader
	reading chan struct{} // closed at the first Read
	release chan struct{}
	once    sync.Once
}

func (b *blockingBody) Read(p []byte) (int, error) {
	b.once.Do(func() { close(b.reading) })
	<-b.release
	return b.Reader.Read(p)
}

// TestLimits_CountTokensPlaces: token counting takes a place in flight
// before its body is read, as exchanges do, but from places of its own: a
// client whose counting is at the limit is refused without its body read,
// while its exchanges still go through. Kills counting bodies read without
// bound, and counting sharing the exchanges' places.
func TestLimits_CountTokensPlaces(t *testing.T) {
	g := newLimited(t, httpapi.Options{Limits: httpapi.Limits{ClientConcurrency: 1}}, &fakeProvider{events: 1})
	const count = `{"model":"gpt-test","messages":[{"role":"user","content":"hi"}]}`
	request := func(body io.Reader) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/v1/messages/count_tokens", body)
		r.RemoteAddr = "127.0.0.1:40000" // the address g.post's requests come from
		r.ContentLength = int64(len(count))
		return r
	}
	held := &blockingBody{Reader: strings.NewReader(count), reading: make(chan struct{}), release: make(chan struct{})}
	heldW := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.srv.Config.Handler.ServeHTTP(heldW, request(held))
	}()
	<-held.reading // its body is being read: the client's one counting place is taken

	spy := &spyBody{Reader: strings.NewReader(count)}
	w := httptest.NewRecorder()
	g.srv.Config.Handler.ServeHTTP(w, request(spy))
	if w.Code != http.StatusTooManyRequests || spy.read {
		t.Errorf("a second count at the client's limit: %d (body read: %t), want 429 unread: %s", w.Code, spy.read, w.Body)
	}
	if resp, body := g.post(t, "/v1/messages", `{"model":"gpt-test","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("an exchange while counting is at its limit: %s, want 200: %s", resp.Status, body)
	}
	close(held.release)
	<-done
	if heldW.Code != http.StatusOK || !strings.Contains(heldW.Body.String(), "input_tokens") {
		t.Errorf("the held count: %d %s", heldW.Code, heldW.Body)
	}
	w = httptest.NewRecorder()
	g.srv.Config.Handler.ServeHTTP(w, request(strings.NewReader(count)))
	if w.Code != http.StatusOK {
		t.Errorf("a count once the place is free: %d, want 200: %s", w.Code, w.Body)
	}
}
