package lyumen_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen"
)

// TestMessage_WithoutThinking: a turn without its thinking is the turn as
// the client would have written it with thinking off: one text block is
// plain content, as the decoders make it (some OpenAI-compatible servers
// take an assistant's content as a string only), and thinking alone leaves
// no content.
func TestMessage_WithoutThinking(t *testing.T) {
	thinking := lyumen.Part{Type: "anthropic:thinking", Text: "hmm"}
	redacted := lyumen.Part{Type: "anthropic:redacted_thinking"}
	text := lyumen.Part{Type: lyumen.PartText, Text: "Blue."}
	image := lyumen.Part{Type: lyumen.PartImage, URL: "https://example.org/a.png"}
	calls := []lyumen.ToolCall{{ID: "t1", Name: "f", Arguments: "{}"}}
	for _, tc := range []struct {
		name    string
		in, out lyumen.Message
	}{
		{"no thinking", lyumen.Message{Role: "assistant", Parts: []lyumen.Part{text, text}}, lyumen.Message{Role: "assistant", Parts: []lyumen.Part{text, text}}},
		{"thinking and one text", lyumen.Message{Role: "assistant", Parts: []lyumen.Part{thinking, text}}, lyumen.Message{Role: "assistant", Content: "Blue."}},
		{"thinking and two parts", lyumen.Message{Role: "assistant", Parts: []lyumen.Part{thinking, text, image}}, lyumen.Message{Role: "assistant", Parts: []lyumen.Part{text, image}}},
		{"thinking and calls", lyumen.Message{Role: "assistant", Parts: []lyumen.Part{thinking, redacted}, ToolCalls: calls}, lyumen.Message{Role: "assistant", ToolCalls: calls}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			if diff := cmp.Diff(tc.out, *in.WithoutThinking()); diff != "" {
				t.Errorf("WithoutThinking (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.in, in); diff != "" {
				t.Errorf("the message itself changed (-before +after):\n%s", diff)
			}
		})
	}
}
