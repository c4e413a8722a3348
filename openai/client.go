package openai

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/sse"
	"github.com/lyumen/lyumen/internal/upstreamhttp"
)

// Client is a Provider for any OpenAI-compatible upstream.
type Client struct {
	baseURL string // without the trailing slash
	header  http.Header
	http    http.RoundTripper // see upstreamhttp.Transport
	limit   LimitField
	// nativeCompletions: legacy completions go to /completions as written.
	nativeCompletions bool
}

// LimitField names the field of a chat request that an upstream reads the
// answer's limit from.
type LimitField string

// OpenAI's API reads max_completion_tokens, and its reasoning models
// refuse max_tokens; other OpenAI-compatible servers read max_tokens, some
// (Ollama) only it.
const (
	MaxTokens           LimitField = "max_tokens"
	MaxCompletionTokens LimitField = "max_completion_tokens"
)

// DefaultLimitField is the field an upstream at baseURL reads:
// max_completion_tokens for OpenAI's API (api.openai.com, Azure OpenAI's
// hosts),
// max_tokens for every other server.
func DefaultLimitField(baseURL string) LimitField {
	u, err := url.Parse(baseURL)
	if err != nil {
		return MaxTokens
	}
	h := strings.ToLower(u.Hostname())
	if h == "api.openai.com" || strings.HasSuffix(h, ".openai.azure.com") || strings.HasSuffix(h, ".cognitiveservices.azure.com") {
		return MaxCompletionTokens
	}
	return MaxTokens
}

// SetLimitField has c send the answer's limit in f, in place of
// DefaultLimitField's choice. It must be called before c is used.
func (c *Client) SetLimitField(f LimitField) { c.limit = f }

var _ lyumen.Provider = (*Client)(nil)

// NewClient returns a client for the API at baseURL (e.g.
// "https://api.openai.com/v1"). apiKey may be empty (Ollama, llama.cpp).
// headers are sent with every request (e.g. OpenRouter's HTTP-Referer).
// Requests go through rt (see upstreamhttp.Transport).
func NewClient(baseURL, apiKey string, headers map[string]string, rt http.RoundTripper) *Client {
	var auth string
	if apiKey != "" {
		auth = "Bearer " + apiKey
	}
	return &Client{baseURL: strings.TrimRight(baseURL, "/"), header: upstreamhttp.Header(headers, "Authorization", auth),
		http: upstreamhttp.Transport(rt), limit: DefaultLimitField(baseURL)}
}

// SetNativeCompletions has legacy completions go to the upstream's own
// /completions as the client wrote them (a base model continues the
// prompt), where by default they are translated to chat, which every
// OpenAI-compatible server has and chat-only APIs insist on.
func (c *Client) SetNativeCompletions(on bool) { c.nativeCompletions = on }

// native reports that req goes to /completions as written.
func (c *Client) native(req *lyumen.Request) bool {
	return c.nativeCompletions && req.Surface == lyumen.SurfaceOpenAICompletions
}

// Chat sends a non-streamed chat completion; a legacy completion goes to
// /completions as the client wrote it when the upstream takes them.
func (c *Client) Chat(ctx context.Context, req *lyumen.Request) (*lyumen.Response, error) {
	body, err := c.body(req)
	if err != nil {
		return nil, err
	}
	raw, err := upstreamhttp.PostWhole(ctx, c.http, c.baseURL+c.endpoint(req), c.header, body, upstreamError)
	if err != nil {
		return nil, err
	}
	cc, ok := fastCompletion(raw) // a legacy completion's text goes the general way

	if !ok {
		cc, err = decodeCompletion(raw)
	}
	if err != nil {
		// No status: a broken answer is the upstream's fault, and another
		// target may do better.
		return nil, &lyumen.Error{Kind: lyumen.KindUpstream, Message: "upstream sent an invalid response", Err: err}
	}
	if e := cc.failure(); e != nil {
		return nil, upstreamhttp.Clean(e, c.header)
	}
	out := cc.canonical()
	if req.Surface == lyumen.SurfaceOpenAIChat || c.native(req) {
		out.Raw = raw
	}
	return out, nil
}

// ChatStream sends a streamed chat completion and returns once the upstream
// has accepted it. It does not wait for the first event, so that a slow
// first token leaves the client its headers (httpapi's HeaderWait); an
// error event that comes first fails the stream's first Next.
func (c *Client) ChatStream(ctx context.Context, req *lyumen.Request) (lyumen.Stream, error) {
	body, err := c.body(req)
	if err != nil {
		return nil, err
	}
	resp, err := c.post(ctx, c.endpoint(req), body, true)
	if err != nil {
		return nil, err
	}
	text := c.native(req)
	s := &stream{ctx: ctx, body: resp.Body, r: sse.NewReader(resp.Body), n: max(req.N, 1), text: text,
		raw: text || req.Surface == lyumen.SurfaceOpenAIChat, header: c.header}
	s.choices = s.first[:0]
	return s, nil
}

// endpoint is the path req goes to: the legacy completions API's own, or
// chat's.
func (c *Client) endpoint(req *lyumen.Request) string {
	if c.native(req) {
		return "/completions"
	}
	return "/chat/completions"
}

// body builds the upstream body from the client's, rewriting only what it
// must: the model name, and for streams a request for the usage chunk so
// every stream is recorded with its token counts.
func (c *Client) body(req *lyumen.Request) ([]byte, error) {
	if req.Surface != lyumen.SurfaceOpenAIChat && !c.native(req) {
		return encodeChat(req, c.limit) // translated from the canonical form
	}
	// Edited in place (sjson) rather than decoded and re-encoded: the body
	// passes through as the client wrote it, and this is on every request's
	// path. sjson copies; req.Body, which is recorded, is left alone.
	body, err := sjson.SetBytes(req.Body, "model", req.Model)
	if err != nil {
		return nil, fmt.Errorf("set upstream model: %w", err)
	}
	// A request that set no limit, and was not capped, has nothing to agree:
	// the body is not scanned for it.
	if req.MaxTokens > 0 || req.CappedMaxTokens {
		var plain, completion bool
		if c.native(req) {
			// The legacy API has max_tokens only, and its default, 16, is
			// OpenAI's alone: without one Ollama and llama.cpp write until
			// the context ends, past the model's cap. The limit the
			// gateway counted on (16 unless the client set one) is sent.
			plain = req.CappedMaxTokens || gjson.GetBytes(body, "max_tokens").Type != gjson.Number
		} else {
			plain, completion = c.limitFields(body, req.CappedMaxTokens)
		}
		for _, f := range [...]struct {
			key string
			set bool
		}{{"max_tokens", plain}, {"max_completion_tokens", completion}} {
			if f.set {
				if body, err = sjson.SetBytes(body, f.key, req.MaxTokens); err != nil {
					return nil, fmt.Errorf("set %s: %w", f.key, err)
				}
			}
		}
	}
	if req.Stream && !req.IncludeUsage {
		if opts := gjson.GetBytes(body, "stream_options"); opts.Exists() && !opts.IsObject() {
			if body, err = sjson.DeleteBytes(body, "stream_options"); err != nil {
				return nil, fmt.Errorf("ask upstream for usage: %w", err)
			}
		}
		if body, err = sjson.SetBytes(body, "stream_options.include_usage", true); err != nil {
			return nil, fmt.Errorf("ask upstream for usage: %w", err)
		}
	}
	return body, nil
}

// limitFields says which of a passed-through body's fields get the limit
// the gateway read, which a model's cap applies to, so that every field the
// upstream may obey says it: with max_completion_tokens set, it wins (as at
// OpenAI) and max_tokens carries the same where the client set it or the
// upstream reads nothing else (Ollama); a cap goes in the field the client
// used, or, with none, in the upstream's.
func (c *Client) limitFields(body []byte, capped bool) (plain, completion bool) {
	has := func(key string) bool { return gjson.GetBytes(body, key).Type == gjson.Number }
	switch {
	case has("max_completion_tokens"):
		return c.limit == MaxTokens || has("max_tokens"), capped
	case capped && has("max_tokens"):
		return true, false
	case capped:
		return c.limit == MaxTokens, c.limit == MaxCompletionTokens
	}
	return false, false // max_tokens alone, as the client set it
}

func (c *Client) post(ctx context.Context, path string, body []byte, stream bool) (*http.Response, error) {
	return upstreamhttp.Post(ctx, c.http, c.baseURL+path, c.header, body, stream, upstreamError)
}

type stream struct {
	ctx     context.Context
	body    io.ReadCloser
	r       *sse.Reader
	chunks  chunkMemo
	choices []choiceState  // each choice seen, in order
	first   [1]choiceState // choices' room for the usual one
	n       int            // the choices asked for
	text    bool           // legacy completion chunks, not chat's
	raw     bool
	done    bool
	header  http.Header // the operator's, cut out of the upstream's errors
}

// choiceState is what a stream keeps of one choice: whether it finished,
// and its tool calls, numbered as a client expects.
type choiceState struct {
	index    int
	finished bool
	calls    []callState // by the number the stream gives the call
}

// callState is a tool call as the upstream named it: the index it gave
// (-1 for none) and its id.
type callState struct {
	index int
	id    string
}

func (s *stream) Next() (lyumen.Event, error) {
	if s.done {
		return lyumen.Event{}, io.EOF
	}
	ev, err := s.r.Next()
	if err != nil {
		if errors.Is(err, io.EOF) {
			if s.finished() {
				// Servers without [DONE] (llama.cpp before late 2024,
				// llama-box): every choice said why it stopped.
				s.done = true
				return lyumen.Event{}, io.EOF
			}
			// Ended without [DONE]: the upstream died mid-stream.
			return lyumen.Event{}, &lyumen.Error{Kind: lyumen.KindUpstream, Message: "the upstream stream ended early", Err: io.ErrUnexpectedEOF}
		}
		return lyumen.Event{}, lyumen.TransportError(s.ctx, err)
	}
	if string(ev.Data) == "[DONE]" {
		s.done = true
		return lyumen.Event{}, io.EOF
	}
	var out lyumen.Event
	if s.text {
		out, err = parseTextChunk(ev.Data)
	} else {
		out, err = s.chunks.parse(ev.Data)
	}
	if err != nil {
		return lyumen.Event{}, upstreamhttp.Clean(err, s.header)
	}
	for i := range out.Choices {
		if err := s.track(&out.Choices[i]); err != nil {
			return lyumen.Event{}, err
		}
	}
	if s.raw {
		out.Raw = ev.Data // valid until the next call, which is all a surface needs
	}
	return out, nil
}

// finished reports that as many choices as the client asked for have
// finished.
func (s *stream) finished() bool {
	n := 0
	for i := range s.choices {
		if s.choices[i].finished {
			n++
		}
	}
	return n > 0 && n >= s.n
}

// track notes a choice's delta: its finish, and the numbers of its tool
// call fragments. Upstreams number calls in three ways: by index, as
// OpenAI does; not at all (Mistral, Gemini's OpenAI endpoint), where a
// fragment with a new id opens the next call and one without continues
// the last; or each call index 0 (Ollama), where a new id at an index
// opens a new call too. The stream gives calls the numbers OpenAI would,
// 0, 1, 2 in the order they open, so that they do not merge into one.
func (s *stream) track(d *lyumen.ChoiceDelta) error {
	var c *choiceState
	for i := range s.choices {
		if s.choices[i].index == d.Index {
			c = &s.choices[i]
			break
		}
	}
	if c == nil {
		s.choices = append(s.choices, choiceState{index: d.Index})
		c = &s.choices[len(s.choices)-1]
	}
	if d.FinishReason != "" {
		c.finished = true
	}
	for j := range d.ToolCalls {
		tc := &d.ToolCalls[j]
		n := -1 // a second unnumbered fragment in one event is another call
		if j == 0 || tc.Index >= 0 || tc.ID != "" {
			n = c.number(tc.Index, tc.ID)
		}
		if n < 0 {
			if len(c.calls) == lyumen.MaxToolCalls {
				return errInvalidEvent
			}
			c.calls = append(c.calls, callState{index: tc.Index, id: tc.ID})
			n = len(c.calls) - 1
		}
		tc.Index = n
	}
	return nil
}

// number returns the number of the call a fragment continues, or -1 when
// the fragment opens a new call.
func (c *choiceState) number(index int, id string) int {
	n := len(c.calls) - 1 // the last call: the one an unnumbered fragment continues
	if index >= 0 {
		for n >= 0 && c.calls[n].index != index {
			n--
		}
	}
	if n < 0 || id != "" && c.calls[n].id != "" && id != c.calls[n].id {
		return -1
	}
	if id != "" {
		c.calls[n].id = id
	}
	return n
}

func (s *stream) Close() error { return s.body.Close() }

// Ready reports that the next event is already buffered, so the surface can
// flush once for several events that arrived together.
func (s *stream) Ready() bool { return s.r.Ready() }
