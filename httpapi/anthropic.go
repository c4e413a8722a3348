package httpapi

import (
	"net/http"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/anthropic"
)

// anthropicMessages is the /v1/messages surface. The x-api-key and
// anthropic-version headers Anthropic's SDKs send are accepted and ignored
// like every other header: providers build their upstream requests afresh,
// with the operator's key and the version they speak. anthropic-beta alone
// goes on, to Anthropic upstreams (Request.AnthropicBeta).
type anthropicMessages struct{}

func (anthropicMessages) surface() lyumen.Surface { return lyumen.SurfaceAnthropicMessages }

func (anthropicMessages) decode(body []byte) (*lyumen.Request, error) {
	return anthropic.DecodeMessages(body)
}

func (anthropicMessages) response(resp *lyumen.Response, req *lyumen.Request, _ time.Time) []byte {
	return anthropic.EncodeMessage(resp, req.Model)
}

func (anthropicMessages) stream(req *lyumen.Request, _ time.Time) streamEncoder {
	return anthropicStream{anthropic.NewStreamEncoder(req.Model)}
}

func (anthropicMessages) error(err error) (int, []byte) { return anthropic.Error(err) }

type anthropicStream struct{ enc *anthropic.StreamEncoder }

func (s anthropicStream) event(dst []byte, ev *lyumen.Event) []byte { return s.enc.Event(dst, ev) }

// end writes message_stop: an Anthropic upstream's own ends its stream
// (io.EOF) and is not passed on, so a client sees the end of a stream only
// once it is recorded.
func (s anthropicStream) end(dst []byte, resp *lyumen.Response) []byte { return s.enc.End(dst, resp) }

func (s anthropicStream) fail(dst []byte, err error) []byte { return s.enc.Fail(dst, err) }

// handleCountTokens answers /v1/messages/count_tokens with an offline
// estimate (see anthropic.CountTokens). Nothing is recorded: no model runs.
// It is a request like any other to the client's rate limit (its work
// grows with a body of up to max_body_bytes), charged no tokens, and to
// its concurrency, with places of its own.
func (s *server) handleCountTokens() http.Handler {
	c := anthropicMessages{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		adm, ok := s.admitClient(w, r, c, true)
		if !ok {
			return
		}
		defer adm.release()
		body, err := readBody(w, r, s.MaxBodyBytes)
		if err != nil {
			s.refuse(w, c, err, "body")
			return
		}
		req, err := anthropic.DecodeCountTokens(body)
		if err != nil {
			s.refuse(w, c, err, "invalid")
			return
		}
		if _, ok := s.Catalog.Lookup(req.Model); !ok {
			s.refuse(w, c, lyumen.Errorf(lyumen.KindNotFound, "the model '%s' does not exist or you do not have access to it", lyumen.Clip(req.Model)), "unknown_model")
			return
		}
		if s.Limiter != nil && !s.charge(w, r, c, adm.client, req.Model, 0) {
			return
		}
		writeJSON(w, http.StatusOK, anthropic.EncodeCountTokens(anthropic.CountTokens(req)))
	})
}
