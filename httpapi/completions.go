package httpapi

import (
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/openai"
)

// openaiCompletions is the legacy /v1/completions surface, sent as written
// to an upstream that serves it or translated to chat: see
// openai.DecodeCompletions.
type openaiCompletions struct{}

func (openaiCompletions) surface() lyumen.Surface { return lyumen.SurfaceOpenAICompletions }

func (openaiCompletions) decode(body []byte) (*lyumen.Request, error) {
	return openai.DecodeCompletions(body)
}

func (openaiCompletions) response(resp *lyumen.Response, req *lyumen.Request, now time.Time) []byte {
	return openai.EncodeCompletion(resp, req.Model, now)
}

func (openaiCompletions) stream(req *lyumen.Request, now time.Time) streamEncoder {
	return adaptStream{openai.NewCompletionsStream(req, now)}
}

func (openaiCompletions) error(err error) (int, []byte) { return openai.Error(err) }
