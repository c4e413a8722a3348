package httpapi_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/providertest"
)

// TestGemini_BlockedPromptStreamed: Gemini refuses a prompt inside its
// 200 stream; the client gets the refusal's own status, not a 200 stream
// that ends in an error.
func TestGemini_BlockedPromptStreamed(t *testing.T) {
	g := newGeminiGateway(t)
	g.up.Set(providertest.GeminiBehaviour{BlockReason: "SAFETY"})
	s := g.client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{
		Model:    publicModel,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	for s.Next() {
	}
	apiErr, ok := errors.AsType[*openai.Error](s.Err())
	if !ok || apiErr.StatusCode != http.StatusBadRequest {
		t.Fatalf("err %v, want a 400", s.Err())
	}
	if rec := g.recs.wait(t, 1); rec.Status != http.StatusBadRequest || rec.Completeness != lyumen.UpstreamRefused {
		t.Errorf("record: status %d, completeness %q", rec.Status, rec.Completeness)
	}
}
