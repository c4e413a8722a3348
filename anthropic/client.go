package anthropic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/tidwall/sjson"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/sse"
	"github.com/lyumen/lyumen/internal/upstreamhttp"
)

// Client is a Provider for the Anthropic Messages API.
type Client struct {
	url     string // of the messages endpoint
	header  http.Header
	http    http.RoundTripper // see upstreamhttp.Transport
	betas   map[string]bool   // the anthropic-beta flags a request may add (AllowBetas)
	opBetas []string          // the operator's own flags, from its headers
}

var _ lyumen.Provider = (*Client)(nil)

// NewClient returns a client for the API at baseURL ("" is DefaultBaseURL;
// the path /v1/messages is appended). apiKey is sent as x-api-key. headers
// are sent with every request (e.g. anthropic-beta, to which the client
// betas a request may turn on are added: see AllowBetas); one of them may
// set anthropic-version, which is otherwise Version. Requests go through rt
// (see upstreamhttp.Transport).
func NewClient(baseURL, apiKey string, headers map[string]string, rt http.RoundTripper) *Client {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	h := upstreamhttp.Header(headers, "X-Api-Key", apiKey)
	if h.Get("Anthropic-Version") == "" {
		h.Set("Anthropic-Version", Version)
	}
	return &Client{url: strings.TrimRight(baseURL, "/") + "/v1/messages", header: h, http: upstreamhttp.Transport(rt)}
}

// Chat sends a non-streamed message.
func (c *Client) Chat(ctx context.Context, req *lyumen.Request) (*lyumen.Response, error) {
	body, err := c.body(req)
	if err != nil {
		return nil, err
	}
	header := c.headerFor(req)
	raw, err := upstreamhttp.PostWhole(ctx, c.http, c.url, header, body, upstreamError)
	if err != nil {
		return nil, err
	}
	var m wireMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		// No status: a broken answer is the upstream's fault, and another
		// target may do better.
		return nil, &lyumen.Error{Kind: lyumen.KindUpstream, Message: "upstream sent an invalid response", Err: err}
	}
	if m.Type == "error" {
		return nil, upstreamhttp.Clean(upstreamError(http.StatusBadGateway, raw), header) // an error envelope sent with 200
	}
	out := m.canonical()
	if req.Surface == lyumen.SurfaceAnthropicMessages {
		out.Raw = raw
	}
	return out, nil
}

// ChatStream sends a streamed message and returns once the upstream has
// accepted it. It does not wait for the first event, so that a slow first
// token leaves the client its headers (httpapi's HeaderWait); an error
// event that comes first (overloaded_error) fails the stream's first Next.
func (c *Client) ChatStream(ctx context.Context, req *lyumen.Request) (lyumen.Stream, error) {
	body, err := c.body(req)
	if err != nil {
		return nil, err
	}
	header := c.headerFor(req)
	resp, err := upstreamhttp.Post(ctx, c.http, c.url, header, body, true, upstreamError)
	if err != nil {
		return nil, err
	}
	s := newStream(ctx, resp.Body, req.Surface == lyumen.SurfaceAnthropicMessages)
	s.header = header
	return s, nil
}

// body builds the upstream body. A client on the Anthropic surface has its
// body forwarded as it wrote it, with only the model rewritten (and
// max_tokens, when the router capped it): every field Anthropic understands
// passes through. Any other surface is translated from the canonical form.
func (c *Client) body(req *lyumen.Request) ([]byte, error) {
	if req.Surface != lyumen.SurfaceAnthropicMessages {
		return EncodeRequest(req)
	}
	// sjson copies; req.Body, which is recorded, is left alone.
	body, err := sjson.SetBytes(req.Body, "model", req.Model)
	if err != nil {
		return nil, fmt.Errorf("set upstream model: %w", err)
	}
	if req.CappedMaxTokens {
		if body, err = sjson.SetBytes(body, "max_tokens", req.MaxTokens); err != nil {
			return nil, fmt.Errorf("cap max tokens: %w", err)
		}
	}
	return body, nil
}

// AllowBetas lets a request turn on these beta flags (anthropic-beta) of
// the operator's account; a client's other flags are dropped. Betas change
// what the operator pays for and what the upstream may do on its behalf
// (files, MCP connectors, code execution), so none is allowed unless
// named. It must be called before c is used.
func (c *Client) AllowBetas(flags []string) {
	c.betas = make(map[string]bool, len(flags))
	for _, f := range flags {
		c.betas[f] = true
	}
	c.opBetas = splitBetas(nil, c.header.Values("Anthropic-Beta"))
}

// splitBetas appends the flags of anthropic-beta header values to dst.
func splitBetas(dst, values []string) []string {
	for _, v := range values {
		for f := range strings.SplitSeq(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				dst = append(dst, f)
			}
		}
	}
	return dst
}

// headerFor returns the headers of req's upstream request: the client's
// allowed anthropic-beta flags join the operator's, since a beta feature
// in the body fails without its flag. Only the operator's words go on:
// an upstream's error quoting a flag quotes nothing the client wrote.
func (c *Client) headerFor(req *lyumen.Request) http.Header {
	if len(c.betas) == 0 || len(req.AnthropicBeta) == 0 {
		return c.header
	}
	flags := slices.Clip(c.opBetas)
	n := len(flags)
	for _, f := range splitBetas(nil, req.AnthropicBeta) {
		if c.betas[f] && !slices.Contains(flags, f) { // at most len(c.betas) added
			flags = append(flags, f)
		}
	}
	if len(flags) == n {
		return c.header
	}
	h := c.header.Clone()
	h.Set("Anthropic-Beta", strings.Join(flags, ","))
	return h
}

type stream struct {
	ctx  context.Context
	body io.ReadCloser
	r    *sse.Reader
	p    parser
	done bool
	// pending is an event parsed but not yet returned: a translated
	// message_delta yields its finish reason and then, apart, its usage.
	pending *lyumen.Event
	header  http.Header // the operator's, cut out of the upstream's errors
}

func newStream(ctx context.Context, body io.ReadCloser, raw bool) *stream {
	return &stream{ctx: ctx, body: body, r: sse.NewReader(body), p: parser{raw: raw}}
}

func (s *stream) Next() (lyumen.Event, error) {
	if s.pending != nil {
		ev := *s.pending
		s.pending = nil
		return ev, nil
	}
	for !s.done {
		sev, err := s.r.Next()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				// Ended without message_stop (or amid a chunk): the upstream
				// died mid-stream.
				if s.ctx.Err() == nil {
					return lyumen.Event{}, &lyumen.Error{Kind: lyumen.KindUpstream, Message: "the upstream stream ended early", Err: io.ErrUnexpectedEOF}
				}
			}
			return lyumen.Event{}, lyumen.TransportError(s.ctx, err)
		}
		ev, next, err := s.p.parse(sev.Type, sev.Data)
		switch {
		case err != nil:
			return lyumen.Event{}, upstreamhttp.Clean(err, s.header)
		case next == stop:
			s.done = true
		case next == emit:
			return ev, nil
		case next == emitTwo:
			usage := lyumen.Event{ID: ev.ID, Model: ev.Model, Usage: ev.Usage}
			ev.Usage = nil
			s.pending = &usage
			return ev, nil
		case !s.r.Ready():
			return lyumen.Event{}, nil // skipped, and the next is not here yet
		}
	}
	return lyumen.Event{}, io.EOF
}

func (s *stream) Close() error { return s.body.Close() }

// Ready reports that the next event is already buffered, so the surface can
// flush once for several events that arrived together.
func (s *stream) Ready() bool { return s.pending != nil || s.r.Ready() }
