package httpapi

import (
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/openai"
)

// openaiResponses is the /v1/responses surface. Its answers are always
// rendered from the canonical form: upstreams are asked in chat format.
type openaiResponses struct{}

func (openaiResponses) surface() lyumen.Surface { return lyumen.SurfaceOpenAIResponses }

func (openaiResponses) decode(body []byte) (*lyumen.Request, error) {
	return openai.DecodeResponses(body)
}

func (openaiResponses) response(resp *lyumen.Response, req *lyumen.Request, now time.Time) []byte {
	return openai.EncodeResponse(resp, req, now)
}

func (openaiResponses) stream(req *lyumen.Request, now time.Time) streamEncoder {
	return responsesStream{adaptStream{openai.NewResponsesStream(req, now)}}
}

// responsesStream is a Responses stream: it shows reasoning and refusals,
// which events set aside.
type responsesStream struct{ adaptStream }

func (responsesStream) showsAside() {}

func (openaiResponses) error(err error) (int, []byte) { return openai.Error(err) }

// adaptStream makes an exported stream encoder (openai.ResponsesStream,
// openai.CompletionsStream) a streamEncoder.
type adaptStream struct {
	s interface {
		Event(dst []byte, ev *lyumen.Event) []byte
		End(dst []byte, resp *lyumen.Response) []byte
		Fail(dst []byte, err error) []byte
	}
}

func (a adaptStream) event(dst []byte, ev *lyumen.Event) []byte { return a.s.Event(dst, ev) }

func (a adaptStream) end(dst []byte, resp *lyumen.Response) []byte { return a.s.End(dst, resp) }

func (a adaptStream) fail(dst []byte, err error) []byte { return a.s.Fail(dst, err) }
