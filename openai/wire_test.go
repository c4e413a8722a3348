package openai_test

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	sdk "github.com/openai/openai-go/v3"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/golden"
	"github.com/lyumen/lyumen/openai"
)

var now = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// checkGolden compares got with testdata/<name>.golden.
func checkGolden(tb testing.TB, name string, got []byte) {
	tb.Helper()
	if !json.Valid(got) {
		tb.Fatalf("encoded body is not JSON:\n%s", got)
	}
	golden.Check(tb, filepath.Join("testdata", name+".golden"), got)
}

// sdkView holds what a client reading a body with the official SDK gets.
type sdkView struct {
	ID      string
	Object  string
	Created int64
	Model   string
	Choices []sdkChoice
	Usage   sdkUsage
}

type sdkChoice struct {
	Index        int64
	Role         string
	Content      string
	ContentNull  bool
	FinishReason string
	ToolCalls    []sdkToolCall
}

type sdkToolCall struct {
	Index     int64
	ID        string
	Type      string
	Name      string
	Arguments string
}

type sdkUsage struct {
	Prompt, Completion, Total int64
}

func viewCompletion(c *sdk.ChatCompletion) sdkView {
	v := sdkView{ID: c.ID, Object: string(c.Object), Created: c.Created, Model: c.Model,
		Usage: sdkUsage{c.Usage.PromptTokens, c.Usage.CompletionTokens, c.Usage.TotalTokens}}
	for _, ch := range c.Choices {
		sc := sdkChoice{Index: ch.Index, Role: string(ch.Message.Role), Content: ch.Message.Content,
			ContentNull: ch.Message.JSON.Content.Raw() == "null", FinishReason: ch.FinishReason}
		for _, tc := range ch.Message.ToolCalls {
			sc.ToolCalls = append(sc.ToolCalls, sdkToolCall{ID: tc.ID, Type: tc.Type, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
		}
		v.Choices = append(v.Choices, sc)
	}
	return v
}

func viewChunk(c *sdk.ChatCompletionChunk) sdkView {
	v := sdkView{ID: c.ID, Object: string(c.Object), Created: c.Created, Model: c.Model,
		Usage: sdkUsage{c.Usage.PromptTokens, c.Usage.CompletionTokens, c.Usage.TotalTokens}}
	for _, ch := range c.Choices {
		sc := sdkChoice{Index: ch.Index, Role: ch.Delta.Role, Content: ch.Delta.Content,
			ContentNull: ch.Delta.JSON.Content.Raw() == "null", FinishReason: ch.FinishReason}
		for _, tc := range ch.Delta.ToolCalls {
			sc.ToolCalls = append(sc.ToolCalls, sdkToolCall{Index: tc.Index, ID: tc.ID, Type: tc.Type, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
		}
		v.Choices = append(v.Choices, sc)
	}
	return v
}

func TestEncodeChat(t *testing.T) {
	tests := []struct {
		name  string
		resp  lyumen.Response
		model string
		want  sdkView // as the SDK reads the body
	}{
		{
			name: "text",
			resp: lyumen.Response{
				ID: "chatcmpl-abc", Model: "gpt-4o-2024-08-06",
				Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant", Content: "Hello! <b>&</b> \"quoted\""}, FinishReason: "stop"}},
				Usage:   &lyumen.Usage{PromptTokens: 9, CompletionTokens: 3, TotalTokens: 12},
			},
			model: "gpt-4o",
			want: sdkView{ID: "chatcmpl-abc", Object: "chat.completion", Created: now.Unix(), Model: "gpt-4o-2024-08-06",
				Choices: []sdkChoice{{Role: "assistant", Content: `Hello! <b>&</b> "quoted"`, FinishReason: "stop"}},
				Usage:   sdkUsage{9, 3, 12}},
		},
		{
			name: "no usage and no upstream model",
			resp: lyumen.Response{
				ID:      "chatcmpl-def",
				Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant", Content: "Hi"}, FinishReason: "length"}},
			},
			model: "lyumen-demo",
			want: sdkView{ID: "chatcmpl-def", Object: "chat.completion", Created: now.Unix(), Model: "lyumen-demo",
				Choices: []sdkChoice{{Role: "assistant", Content: "Hi", FinishReason: "length"}}},
		},
		{
			name: "tool calls",
			resp: lyumen.Response{
				ID: "chatcmpl-tools", Model: "gpt-4o",
				Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant", ToolCalls: []lyumen.ToolCall{
					{Index: 0, ID: "call_a", Type: "function", Name: "get_weather", Arguments: `{"city":"Paris"}`},
					{Index: 1, ID: "call_b", Type: "function", Name: "get_time", Arguments: `{}`},
				}}, FinishReason: "tool_calls"}},
				Usage: &lyumen.Usage{PromptTokens: 20, CompletionTokens: 30, TotalTokens: 50},
			},
			model: "gpt-4o",
			want: sdkView{ID: "chatcmpl-tools", Object: "chat.completion", Created: now.Unix(), Model: "gpt-4o",
				Choices: []sdkChoice{{Role: "assistant", ContentNull: true, FinishReason: "tool_calls", ToolCalls: []sdkToolCall{
					{ID: "call_a", Type: "function", Name: "get_weather", Arguments: `{"city":"Paris"}`},
					{ID: "call_b", Type: "function", Name: "get_time", Arguments: `{}`},
				}}},
				Usage: sdkUsage{20, 30, 50}},
		},
		{
			name: "tool call with text",
			resp: lyumen.Response{
				ID: "chatcmpl-both", Model: "gpt-4o",
				Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant", Content: "Let me check.", ToolCalls: []lyumen.ToolCall{
					{ID: "call_a", Type: "function", Name: "get_weather", Arguments: `{"city":"Oslo"}`},
				}}, FinishReason: "tool_calls"}},
			},
			model: "gpt-4o",
			want: sdkView{ID: "chatcmpl-both", Object: "chat.completion", Created: now.Unix(), Model: "gpt-4o",
				Choices: []sdkChoice{{Role: "assistant", Content: "Let me check.", FinishReason: "tool_calls", ToolCalls: []sdkToolCall{
					{ID: "call_a", Type: "function", Name: "get_weather", Arguments: `{"city":"Oslo"}`},
				}}}},
		},
		{
			name: "multiple choices",
			resp: lyumen.Response{
				ID: "chatcmpl-n2", Model: "gpt-4o",
				Choices: []lyumen.Choice{
					{Index: 0, Message: lyumen.Message{Role: "assistant", Content: "Heads"}, FinishReason: "stop"},
					{Index: 1, Message: lyumen.Message{Role: "assistant", Content: "Tails"}, FinishReason: "stop"},
				},
				Usage: &lyumen.Usage{PromptTokens: 5, CompletionTokens: 2, TotalTokens: 7},
			},
			model: "gpt-4o",
			want: sdkView{ID: "chatcmpl-n2", Object: "chat.completion", Created: now.Unix(), Model: "gpt-4o",
				Choices: []sdkChoice{
					{Index: 0, Role: "assistant", Content: "Heads", FinishReason: "stop"},
					{Index: 1, Role: "assistant", Content: "Tails", FinishReason: "stop"},
				},
				Usage: sdkUsage{5, 2, 7}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := openai.EncodeChat(&tc.resp, tc.model, now)
			checkGolden(t, "encode_chat_"+strings.ReplaceAll(tc.name, " ", "_"), got)

			var c sdk.ChatCompletion
			if err := json.Unmarshal(got, &c); err != nil {
				t.Fatalf("SDK cannot read the body: %v", err)
			}
			if diff := cmp.Diff(tc.want, viewCompletion(&c)); diff != "" {
				t.Errorf("SDK view mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEncodeChunk(t *testing.T) {
	tests := []struct {
		name  string
		ev    lyumen.Event
		model string
		want  sdkView
	}{
		{
			name:  "role",
			ev:    lyumen.Event{ID: "chatcmpl-s", Model: "gpt-4o-2024-08-06", Choices: []lyumen.ChoiceDelta{{Role: "assistant"}}},
			model: "gpt-4o",
			want: sdkView{ID: "chatcmpl-s", Object: "chat.completion.chunk", Created: now.Unix(), Model: "gpt-4o-2024-08-06",
				Choices: []sdkChoice{{Role: "assistant"}}},
		},
		{
			name:  "text",
			ev:    lyumen.Event{ID: "chatcmpl-s", Choices: []lyumen.ChoiceDelta{{Content: "Hel"}}},
			model: "gpt-4o",
			want: sdkView{ID: "chatcmpl-s", Object: "chat.completion.chunk", Created: now.Unix(), Model: "gpt-4o",
				Choices: []sdkChoice{{Content: "Hel"}}},
		},
		{
			name: "tool call start",
			ev: lyumen.Event{ID: "chatcmpl-s", Model: "gpt-4o", Choices: []lyumen.ChoiceDelta{{Role: "assistant", ToolCalls: []lyumen.ToolCall{
				{Index: 0, ID: "call_a", Type: "function", Name: "get_weather", Arguments: ""},
			}}}},
			model: "gpt-4o",
			want: sdkView{ID: "chatcmpl-s", Object: "chat.completion.chunk", Created: now.Unix(), Model: "gpt-4o",
				Choices: []sdkChoice{{Role: "assistant", ToolCalls: []sdkToolCall{
					{Index: 0, ID: "call_a", Type: "function", Name: "get_weather"},
				}}}},
		},
		{
			name: "tool call fragments",
			ev: lyumen.Event{ID: "chatcmpl-s", Model: "gpt-4o", Choices: []lyumen.ChoiceDelta{{ToolCalls: []lyumen.ToolCall{
				{Index: 1, Arguments: `{"city":`},
				{Index: 2, ID: "call_c", Type: "function", Name: "get_time", Arguments: `{}`},
			}}}},
			model: "gpt-4o",
			want: sdkView{ID: "chatcmpl-s", Object: "chat.completion.chunk", Created: now.Unix(), Model: "gpt-4o",
				Choices: []sdkChoice{{ContentNull: true, ToolCalls: []sdkToolCall{
					{Index: 1, Arguments: `{"city":`},
					{Index: 2, ID: "call_c", Type: "function", Name: "get_time", Arguments: `{}`},
				}}}},
		},
		{
			name:  "finish",
			ev:    lyumen.Event{ID: "chatcmpl-s", Model: "gpt-4o", Choices: []lyumen.ChoiceDelta{{FinishReason: "stop"}}},
			model: "gpt-4o",
			want: sdkView{ID: "chatcmpl-s", Object: "chat.completion.chunk", Created: now.Unix(), Model: "gpt-4o",
				Choices: []sdkChoice{{ContentNull: true, FinishReason: "stop"}}},
		},
		{
			name:  "usage",
			ev:    lyumen.Event{ID: "chatcmpl-s", Model: "gpt-4o", Usage: &lyumen.Usage{PromptTokens: 9, CompletionTokens: 12, TotalTokens: 21}},
			model: "gpt-4o",
			want: sdkView{ID: "chatcmpl-s", Object: "chat.completion.chunk", Created: now.Unix(), Model: "gpt-4o",
				Usage: sdkUsage{9, 12, 21}},
		},
		{
			name: "multiple choices",
			ev: lyumen.Event{ID: "chatcmpl-s", Model: "gpt-4o", Choices: []lyumen.ChoiceDelta{
				{Index: 0, Content: "Heads"},
				{Index: 1, Content: "Tails", FinishReason: "stop"},
			}},
			model: "gpt-4o",
			want: sdkView{ID: "chatcmpl-s", Object: "chat.completion.chunk", Created: now.Unix(), Model: "gpt-4o",
				Choices: []sdkChoice{
					{Index: 0, Content: "Heads"},
					{Index: 1, Content: "Tails", FinishReason: "stop"},
				}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := openai.EncodeChunk(&tc.ev, tc.model, now)
			checkGolden(t, "encode_chunk_"+strings.ReplaceAll(tc.name, " ", "_"), got)

			var c sdk.ChatCompletionChunk
			if err := json.Unmarshal(got, &c); err != nil {
				t.Fatalf("SDK cannot read the body: %v", err)
			}
			if diff := cmp.Diff(tc.want, viewChunk(&c)); diff != "" {
				t.Errorf("SDK view mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEncodeChat_Raw(t *testing.T) {
	raw := []byte(`{"id":"chatcmpl-up","object":"chat.completion","choices":[],"system_fingerprint":"fp_1"}`)
	resp := &lyumen.Response{ID: "ignored", Choices: []lyumen.Choice{{Message: lyumen.Message{Content: "ignored"}}}, Raw: raw}
	if got := openai.EncodeChat(resp, "m", now); !bytes.Equal(got, raw) {
		t.Errorf("EncodeChat = %s, want the Raw body unchanged", got)
	}
	ev := &lyumen.Event{ID: "ignored", Raw: []byte(`{"id":"chatcmpl-up","choices":[{"index":0,"delta":{"content":"x"}}]}`)}
	if got := openai.EncodeChunk(ev, "m", now); !bytes.Equal(got, ev.Raw) {
		t.Errorf("EncodeChunk = %s, want the Raw payload unchanged", got)
	}
}

func TestEncode_GeneratesID(t *testing.T) {
	resp := &lyumen.Response{Choices: []lyumen.Choice{{Message: lyumen.Message{Content: "x"}, FinishReason: "stop"}}}
	ev := &lyumen.Event{Choices: []lyumen.ChoiceDelta{{Content: "x"}}}
	for name, body := range map[string][]byte{
		"chat":  openai.EncodeChat(resp, "m", now),
		"chunk": openai.EncodeChunk(ev, "m", now),
	} {
		var v struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !strings.HasPrefix(v.ID, "chatcmpl-") || len(v.ID) == len("chatcmpl-") {
			t.Errorf("%s id = %q, want a generated chatcmpl- id", name, v.ID)
		}
	}
}
