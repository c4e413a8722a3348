// Package gemini speaks Google's Gemini API (generateContent and
// streamGenerateContent): its Client is a Provider that translates the
// canonical request into a Gemini body and Gemini's answers back into
// canonical responses and events. No client surface speaks Gemini, so every
// request is translated; nothing passes through.
package gemini

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/sse"
	"github.com/lyumen/lyumen/internal/upstreamhttp"
)

// DefaultBaseURL is the Gemini API's address, used when none is configured.
const DefaultBaseURL = "https://generativelanguage.googleapis.com/v1beta"

// Client is a Provider for the Gemini API.
type Client struct {
	baseURL string // without the trailing slash
	header  http.Header
	http    http.RoundTripper // see upstreamhttp.Transport
}

var _ lyumen.Provider = (*Client)(nil)

// NewClient returns a client for the API at baseURL (DefaultBaseURL when
// empty). The key goes in the x-goog-api-key header, never in the URL, so it
// cannot leak into access logs. headers are sent with every request.
// Requests go through rt (see upstreamhttp.Transport).
func NewClient(baseURL, apiKey string, headers map[string]string, rt http.RoundTripper) *Client {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	return &Client{baseURL: strings.TrimRight(baseURL, "/"), header: upstreamhttp.Header(headers, "X-Goog-Api-Key", apiKey), http: upstreamhttp.Transport(rt)}
}

// Chat sends a generateContent request.
func (c *Client) Chat(ctx context.Context, req *lyumen.Request) (*lyumen.Response, error) {
	body, err := EncodeRequest(req)
	if err != nil {
		return nil, err
	}
	raw, err := upstreamhttp.PostWhole(ctx, c.http, c.modelPath(req.Model)+":generateContent", c.header, body, upstreamError)
	if err != nil {
		return nil, err
	}
	resp, err := decodeResponse(raw)
	if err != nil {
		return nil, upstreamhttp.Clean(err, c.header)
	}
	return resp, nil
}

// ChatStream sends a streamGenerateContent request and returns once its
// headers came. A refusal that Gemini sends inside the 200 stream (a
// blocked prompt), or a stream that dies at once, fails at the first Next:
// the router can still try another target there (upstream.Pool holds what
// comes before the answer), and the client still gets a proper status
// until its headers go out (httpapi's HeaderWait), which a model that
// thinks long before its first chunk does not hold.
func (c *Client) ChatStream(ctx context.Context, req *lyumen.Request) (lyumen.Stream, error) {
	body, err := EncodeRequest(req)
	if err != nil {
		return nil, err
	}
	resp, err := c.post(ctx, c.modelPath(req.Model)+":streamGenerateContent?alt=sse", body, true)
	if err != nil {
		return nil, err
	}
	return &stream{ctx: ctx, body: resp.Body, r: sse.NewReader(resp.Body), header: c.header}, nil
}

// modelPath is the resource path of a model: "models/gemini-2.5-flash" for
// a bare name, or the name itself when it already is a resource name
// ("models/…", "tunedModels/…").
func (c *Client) modelPath(model string) string {
	if !strings.Contains(model, "/") {
		return c.baseURL + "/models/" + url.PathEscape(model)
	}
	segs := strings.Split(model, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return c.baseURL + "/" + strings.Join(segs, "/")
}

func (c *Client) post(ctx context.Context, u string, body []byte, stream bool) (*http.Response, error) {
	return upstreamhttp.Post(ctx, c.http, u, c.header, body, stream, upstreamError)
}

// errEarlyEnd is a stream that ended before any candidate finished: Gemini
// sends no [DONE], so a finishReason is the only sign the answer is whole.
var errEarlyEnd = &lyumen.Error{Kind: lyumen.KindUpstream, Message: "the upstream stream ended early", Err: io.ErrUnexpectedEOF}

type stream struct {
	ctx  context.Context
	body io.ReadCloser
	r    *sse.Reader
	p    parser
	err  error // sticky
	done bool
	// header is the operator's, cut out of the upstream's errors.
	header http.Header
}

func (s *stream) Next() (lyumen.Event, error) {
	if s.err != nil {
		return lyumen.Event{}, s.err
	}
	ev, err := s.next()
	if err != nil {
		err = upstreamhttp.Clean(err, s.header)
		s.err = err
	}
	return ev, err
}

func (s *stream) next() (lyumen.Event, error) {
	for !s.done {
		ev, err := s.r.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				return lyumen.Event{}, lyumen.TransportError(s.ctx, err)
			}
			if !s.p.finished {
				return lyumen.Event{}, errEarlyEnd
			}
			// Gemini repeats the running usage in every chunk; it is passed
			// on once, at the end, as a usage-only event.
			s.done = true
			if u := s.p.lastUsage(); u != nil {
				return lyumen.Event{ID: s.p.id, Model: s.p.model, Usage: u}, nil
			}
			break
		}
		out, err := s.p.parse(ev.Data)
		if err != nil {
			return lyumen.Event{}, err
		}
		if len(out.Choices) > 0 {
			return out, nil
		}
		// A chunk with no candidates (usage only) has nothing to pass on.
		if !s.r.Ready() {
			return lyumen.Event{}, nil
		}
	}
	return lyumen.Event{}, io.EOF
}

func (s *stream) Close() error { return s.body.Close() }

// Ready reports that the next event is already buffered, so the surface can
// flush once for several events that arrived together.
func (s *stream) Ready() bool { return s.r.Ready() }
