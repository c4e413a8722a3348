package anthropic

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/jsontext"
)

// TestAppendMessagesBody checks the fast rendering of a translated request
// against encoding/json's, and that it leaves other shapes to it.
func TestAppendMessagesBody(t *testing.T) {
	temp, topP := 0.2, 1e-7
	for _, s := range jsontext.Strings {
		for _, b := range []messagesBody{
			{Model: "m" + s, MaxTokens: 4096, System: s, Messages: []outMessage{{Role: "user", Content: s}, {Role: "assistant", Content: ""}}},
			{Model: "m", MaxTokens: 1, System: []textBlock{{Type: "text", Text: s}, {Type: "text", Text: "b"}}, Stream: true,
				StopSequences: []string{s, "\n"}, Temperature: &temp, TopP: &topP, Messages: []outMessage{}},
			{Model: "m", System: ""},
		} {
			want, err := json.Marshal(b)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := appendMessagesBody(nil, &b)
			if !ok {
				t.Fatalf("%+v: not taken by the fast path", b)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("(-json +fast):\n%s", diff)
			}
		}
	}
	for _, b := range []messagesBody{
		{Tools: []outTool{{Name: "f"}}},
		{ToolChoice: &outToolChoice{Type: "auto"}},
		{OutputConfig: &outputConfig{}},
		{System: 3},
		{Messages: []outMessage{{Role: "user", Content: []any{textBlock{Type: "text", Text: "a"}}}}},
	} {
		if _, ok := appendMessagesBody(nil, &b); ok {
			t.Errorf("%+v taken by the fast path", b)
		}
	}
}

// TestAppendMessage checks the fast rendering of a translated answer
// against encoding/json's, and that it leaves tool_use blocks to it.
func TestAppendMessage(t *testing.T) {
	for _, s := range jsontext.Strings {
		stop := "end_turn"
		for _, m := range []outMessageResponse{
			{ID: "msg_" + s, Type: "message", Role: "assistant", Model: s, Content: []any{textBlock{Type: "text", Text: s}, textBlock{Type: "text"}},
				StopReason: &stop, Usage: &outUsage{InputTokens: 3, OutputTokens: 4}},
			{Content: []any{}, Usage: usageOf(&lyumen.Usage{PromptTokens: 2100, CompletionTokens: 60, CachedTokens: 2048, ReasoningTokens: 54})},
			{Content: []any{}, Usage: usageOf(&lyumen.Usage{PromptTokens: 9, CachedTokens: 9})},
			{Content: []any{}, Usage: usageOf(&lyumen.Usage{CompletionTokens: 9, ReasoningTokens: 9})},
			{Content: []any{}, StopSequence: &s},
			{},
		} {
			want, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := appendMessage(nil, &m)
			if !ok {
				t.Fatalf("%+v: not taken by the fast path", m)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("(-json +fast):\n%s", diff)
			}
		}
	}
	if _, ok := appendMessage(nil, &outMessageResponse{Content: []any{toolUseBlock{Type: "tool_use"}}}); ok {
		t.Error("a tool_use block taken by the fast path")
	}
}
