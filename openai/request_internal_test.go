package openai

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/jsontext"
)

// TestAppendChatBody checks the fast rendering of a translated chat
// request against encoding/json's, and that it leaves the shapes it does
// not render to encoding/json.
func TestAppendChatBody(t *testing.T) {
	temp, topP, seed, freq, pres := 0.2, 1e-7, int64(-3), -2.0, 0.65
	for _, s := range jsontext.Strings {
		for _, req := range []lyumen.Request{
			{Model: "m" + s, Messages: []lyumen.Message{{Role: "system", Content: s}, {Role: "user", Content: "q" + s, Name: s}}},
			{Model: "m", Stream: true, MaxTokens: 256, Temperature: &temp, TopP: &topP, FrequencyPenalty: &freq, PresencePenalty: &pres,
				Seed: &seed, N: 3, Stop: []string{s, "\n"},
				Messages: []lyumen.Message{{Role: "assistant"}, {Role: "tool", Content: s, ToolCallID: "call_" + s}}},
			{Model: "m"},
		} {
			b := chatBody{Model: req.Model, Stream: req.Stream, MaxTokens: req.MaxTokens, Temperature: req.Temperature,
				TopP: req.TopP, FrequencyPenalty: req.FrequencyPenalty, PresencePenalty: req.PresencePenalty, Stop: req.Stop, Seed: req.Seed, N: req.N}
			if req.Stream {
				b.StreamOptions = &streamOptions{IncludeUsage: true}
			}
			for _, m := range req.Messages {
				out := outMessage{Role: m.Role, Name: m.Name, ToolCallID: m.ToolCallID}
				if m.Content != "" {
					out.Content = m.Content
				}
				b.Messages = append(b.Messages, out)
			}
			want, err := json.Marshal(b)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := appendChatBody(nil, &b)
			if !ok {
				t.Fatalf("%+v: not taken by the fast path", b)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("(-json +fast):\n%s", diff)
			}
			enc, err := EncodeChatRequest(&req)
			if err != nil || !json.Valid(enc) {
				t.Errorf("EncodeChatRequest: %s, %v", enc, err)
			}
		}
	}
	for _, b := range []chatBody{
		{Tools: []wireTool{{Type: "function"}}},
		{ToolChoice: json.RawMessage(`"auto"`)},
		{Format: &wireFormat{Type: "json_object"}},
		{Messages: []outMessage{{Role: "user", Content: []contentPart{{Type: "text", Text: "a"}}}}},
		{Messages: []outMessage{{Role: "assistant", ToolCalls: []wireToolCall{{ID: "c"}}}}},
	} {
		if _, ok := appendChatBody(nil, &b); ok {
			t.Errorf("%+v taken by the fast path", b)
		}
	}
}

// TestAppendCompletion checks the fast rendering of a translated answer
// against encoding/json's, and that it leaves other shapes to it.
func TestAppendCompletion(t *testing.T) {
	for _, s := range jsontext.Strings {
		text, stop := s, "stop"
		for _, c := range []chatCompletion{
			{ID: "chatcmpl-" + s, Object: "chat.completion", Created: 1700000000, Model: s,
				Choices: []wireChoice{{Message: &wireMessage{Role: "assistant", Content: &text}, FinishReason: &stop},
					{Index: 1, Message: &wireMessage{}}},
				Usage: &wireUsage{PromptTokens: 1, CompletionTokens: 2, TotalTokens: 3}},
			{Choices: []wireChoice{}},
			{},
		} {
			want, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := appendCompletion(nil, &c)
			if !ok {
				t.Fatalf("%+v: not taken by the fast path", c)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("(-json +fast):\n%s", diff)
			}
		}
	}
	for _, c := range []chatCompletion{
		{Error: json.RawMessage(`{}`)},
		{Choices: []wireChoice{{}}},
		{Choices: []wireChoice{{Message: &wireMessage{}, Delta: &wireMessage{}}}},
		{Choices: []wireChoice{{Message: &wireMessage{ToolCalls: []wireToolCall{{ID: "c"}}}}}},
	} {
		if _, ok := appendCompletion(nil, &c); ok {
			t.Errorf("%+v taken by the fast path", c)
		}
	}
}

// TestAppendChunk checks the fast rendering of a translated stream's
// chunks against encoding/json's, and that it leaves tool calls to it.
func TestAppendChunk(t *testing.T) {
	for _, s := range jsontext.Strings {
		text, empty, stop := s, "", "stop"
		for _, c := range []chatChunk{
			{ID: "chatcmpl-" + s, Object: "chat.completion.chunk", Created: 1700000000, Model: s,
				Choices: []wireChoice{{Delta: &wireMessage{Role: "assistant", Content: &empty}}}},
			{ID: "c", Choices: []wireChoice{{Index: 1, Delta: &wireMessage{Content: &text}, FinishReason: &stop}, {Delta: &wireMessage{}}}},
			{ID: "c", Choices: []wireChoice{}, Usage: &wireUsage{PromptTokens: 1, CompletionTokens: 2, TotalTokens: 3}},
			{},
		} {
			want, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := appendChunk(nil, &c)
			if !ok {
				t.Fatalf("%+v: not taken by the fast path", c)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("(-json +fast):\n%s", diff)
			}
		}
	}
	for _, c := range []chatChunk{
		{Error: json.RawMessage(`{}`)},
		{Choices: []wireChoice{{}}},
		{Choices: []wireChoice{{Delta: &wireMessage{}, Message: &wireMessage{}}}},
		{Choices: []wireChoice{{Delta: &wireMessage{ToolCalls: []wireToolCall{{ID: "c"}}}}}},
	} {
		if _, ok := appendChunk(nil, &c); ok {
			t.Errorf("%+v taken by the fast path", c)
		}
	}
}

// TestEncodeChatRequest_ToolChoiceWithoutTools: OpenAI refuses a
// tool_choice without tools, which an Anthropic or Responses client may
// send; "auto" and "none" mean nothing more there and are left out.
func TestEncodeChatRequest_ToolChoiceWithoutTools(t *testing.T) {
	tools := []lyumen.Tool{{Name: "w", Parameters: json.RawMessage(`{"type":"object"}`)}}
	for _, tc := range []struct {
		name   string
		choice lyumen.ToolChoice
		tools  []lyumen.Tool
		want   string // tool_choice as sent, "" for none
	}{
		{"auto, no tools", lyumen.ToolChoice{Mode: "auto"}, nil, ""},
		{"none, no tools", lyumen.ToolChoice{Mode: "none"}, nil, ""},
		{"required, no tools", lyumen.ToolChoice{Mode: "required"}, nil, `"required"`},
		{"auto, tools", lyumen.ToolChoice{Mode: "auto"}, tools, `"auto"`},
		{"none, tools", lyumen.ToolChoice{Mode: "none"}, tools, `"none"`},
		{"named, tools", lyumen.ToolChoice{Mode: "tool", Name: "w"}, tools, `{"function":{"name":"w"},"type":"function"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			choice := tc.choice
			req := lyumen.Request{Model: "m", Messages: []lyumen.Message{{Role: "user", Content: "Hi"}}, Tools: tc.tools, ToolChoice: &choice}
			body, err := EncodeChatRequest(&req)
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				ToolChoice json.RawMessage `json:"tool_choice"`
			}
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			if string(got.ToolChoice) != tc.want {
				t.Errorf("tool_choice %s, want %q; body %s", got.ToolChoice, tc.want, body)
			}
		})
	}
}
