package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/anthropic"
	"github.com/lyumen/lyumen/internal/sse"
	"github.com/lyumen/lyumen/openai"
)

// openaiChat is the /v1/chat/completions surface.
type openaiChat struct{}

func (openaiChat) surface() lyumen.Surface { return lyumen.SurfaceOpenAIChat }

func (openaiChat) decode(body []byte) (*lyumen.Request, error) { return openai.DecodeChat(body) }

func (openaiChat) response(resp *lyumen.Response, req *lyumen.Request, now time.Time) []byte {
	return openai.EncodeChat(resp, req.Model, now)
}

func (openaiChat) stream(req *lyumen.Request, now time.Time) streamEncoder {
	return openaiChatStream{req: req, now: now}
}

type openaiChatStream struct {
	req *lyumen.Request
	now time.Time
}

func (s openaiChatStream) event(dst []byte, ev *lyumen.Event) []byte {
	if len(ev.Choices) == 0 && ev.Usage != nil && !s.req.IncludeUsage {
		return dst // the usage chunk the gateway asked for on its own behalf
	}
	return sse.AppendData(dst, "", openai.EncodeChunk(ev, s.req.Model, s.now))
}

func (openaiChatStream) end(dst []byte, _ *lyumen.Response) []byte {
	return append(dst, "data: [DONE]\n\n"...)
}

func (openaiChatStream) fail(dst []byte, err error) []byte {
	_, body := openai.Error(err)
	return sse.AppendData(dst, "", body)
}

func (openaiChat) error(err error) (int, []byte) { return openai.Error(err) }

// openaiError writes err in the OpenAI envelope, for routes outside the
// exchange (models, unknown paths).
func openaiError(w http.ResponseWriter, err error) {
	status, body := openai.Error(err)
	writeJSON(w, status, body)
}

// anthropicClient reports that r comes from an Anthropic client: its SDKs
// send anthropic-version with every request, OpenAI's never do. The models
// routes are the same path in both APIs, so this header alone tells which
// shape to answer in.
func anthropicClient(w http.ResponseWriter, r *http.Request) bool {
	w.Header().Add("Vary", "Anthropic-Version") // a cache must not answer one with the other's list
	return r.Header.Get("Anthropic-Version") != ""
}

func (s *server) handleModels() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if anthropicClient(w, r) {
			writeJSON(w, http.StatusOK, anthropic.EncodeModels(s.Catalog.Models(), s.started))
			return
		}
		writeJSON(w, http.StatusOK, openai.EncodeModels(s.Catalog.Models(), s.started.Unix()))
	})
}

func (s *server) handleModel() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		m, ok := s.Catalog.Lookup(id)
		if anthropicClient(w, r) {
			if !ok {
				status, body := anthropic.Error(lyumen.Errorf(lyumen.KindNotFound, "the model '%s' does not exist", lyumen.Clip(id)))
				writeJSON(w, status, body)
				return
			}
			writeJSON(w, http.StatusOK, anthropic.EncodeModel(m, s.started))
			return
		}
		if !ok {
			openaiError(w, lyumen.Errorf(lyumen.KindNotFound, "the model '%s' does not exist", lyumen.Clip(id)))
			return
		}
		writeJSON(w, http.StatusOK, openai.EncodeModel(m, s.started.Unix()))
	})
}

// handleUnknownAPI answers a path under /v1/ that no route takes, or a
// route's path with another method, in the envelope of the API the path
// belongs to.
func (s *server) handleUnknownAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e := lyumen.Errorf(lyumen.KindNotFound, "invalid URL (%s %s)", lyumen.Clip(r.Method), lyumen.Clip(r.URL.Path))
		e.Code = "unknown_url" // OpenAI's; Anthropic's envelope keeps only its own codes
		apiError(w, r.URL.Path, e)
	})
}

// apiError writes err, outside an exchange, in the envelope of the API
// path belongs to: Anthropic's under /v1/messages, OpenAI's elsewhere.
func apiError(w http.ResponseWriter, path string, err error) {
	if path == "/v1/messages" || strings.HasPrefix(path, "/v1/messages/") {
		status, body := anthropic.Error(err)
		writeJSON(w, status, body)
		return
	}
	openaiError(w, err)
}
