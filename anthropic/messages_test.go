package anthropic_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/anthropic"
)

func ptr[T any](v T) *T { return &v }

func TestDecodeMessages(t *testing.T) {
	tests := []struct {
		name string
		body string
		want lyumen.Request
	}{
		{
			name: "string content and system prompt",
			body: `{"model":"claude","max_tokens":100,"system":"Be brief.","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"},{"role":"user","content":"bye"}]}`,
			want: lyumen.Request{Model: "claude", MaxTokens: 100, Messages: []lyumen.Message{
				{Role: "system", Content: "Be brief."}, {Role: "user", Content: "hi"}, {Role: "assistant", Content: "hello"}, {Role: "user", Content: "bye"},
			}},
		},
		{
			name: "system as text blocks: one message each",
			body: `{"model":"claude","max_tokens":1,"system":[{"type":"text","text":"A"},{"type":"text","text":"B","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":"q"}]}`,
			want: lyumen.Request{Model: "claude", MaxTokens: 1, Messages: []lyumen.Message{
				{Role: "system", Content: "A"}, {Role: "system", Content: "B"}, {Role: "user", Content: "q"},
			}},
		},
		{
			name: "structured output",
			body: `{"model":"claude","max_tokens":1,"messages":[{"role":"user","content":"q"}],"output_config":{"effort":"low","format":{"type":"json_schema","schema":{"type":"object"}}}}`,
			want: lyumen.Request{Model: "claude", MaxTokens: 1, Messages: []lyumen.Message{{Role: "user", Content: "q"}},
				Format: &lyumen.Format{Type: "json_schema", Schema: json.RawMessage(`{"type":"object"}`)}},
		},
		{
			name: "structured output, beta",
			body: `{"model":"claude","max_tokens":1,"messages":[{"role":"user","content":"q"}],"output_format":{"type":"json_schema","schema":{"type":"object"}}}`,
			want: lyumen.Request{Model: "claude", MaxTokens: 1, Messages: []lyumen.Message{{Role: "user", Content: "q"}},
				Format: &lyumen.Format{Type: "json_schema", Schema: json.RawMessage(`{"type":"object"}`)}},
		},
		{
			name: "empty system is none",
			body: `{"model":"claude","max_tokens":1,"system":"","messages":[{"role":"user","content":"q"}]}`,
			want: lyumen.Request{Model: "claude", MaxTokens: 1, Messages: []lyumen.Message{{Role: "user", Content: "q"}}},
		},
		{
			name: "one text block is plain content, several keep their parts",
			body: `{"model":"claude","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text","text":"one"}]},{"role":"assistant","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]}`,
			want: lyumen.Request{Model: "claude", MaxTokens: 1, Messages: []lyumen.Message{
				{Role: "user", Content: "one"},
				{Role: "assistant", Parts: []lyumen.Part{{Type: "text", Text: "a"}, {Type: "text", Text: "b"}}},
			}},
		},
		{
			name: "images, base64 and by URL",
			body: `{"model":"claude","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text","text":"look"},` +
				`{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}},{"type":"image","source":{"type":"url","url":"https://x/y.png"}}]}]}`,
			want: lyumen.Request{Model: "claude", MaxTokens: 1, Messages: []lyumen.Message{{Role: "user", Parts: []lyumen.Part{
				{Type: "text", Text: "look"}, {Type: "image", MediaType: "image/png", Data: "AAAA"}, {Type: "image", URL: "https://x/y.png"},
			}}}},
		},
		{
			name: "tool use and results: results split from the user's text, in order",
			body: `{"model":"claude","max_tokens":1,"messages":[` +
				`{"role":"assistant","content":[{"type":"text","text":"checking"},{"type":"tool_use","id":"t1","name":"f","input":{"a": 1}},{"type":"tool_use","id":"t2","name":"g","input":{}}]},` +
				`{"role":"user","content":[{"type":"text","text":"before"},{"type":"tool_result","tool_use_id":"t1","content":"r1"},` +
				`{"type":"tool_result","tool_use_id":"t2","content":[{"type":"text","text":"r2"},{"type":"image","source":{"type":"url","url":"https://x/i.png"}}],"is_error":true},` +
				`{"type":"text","text":"after"},{"type":"tool_result","tool_use_id":"t3"}]}]}`,
			want: lyumen.Request{Model: "claude", MaxTokens: 1, Messages: []lyumen.Message{
				{Role: "assistant", Content: "checking", ToolCalls: []lyumen.ToolCall{
					{Index: 0, ID: "t1", Type: "function", Name: "f", Arguments: `{"a":1}`},
					{Index: 1, ID: "t2", Type: "function", Name: "g", Arguments: `{}`},
				}},
				{Role: "user", Content: "before"},
				{Role: "tool", ToolCallID: "t1", Content: "r1"},
				{Role: "tool", ToolCallID: "t2", Parts: []lyumen.Part{{Type: "text", Text: "r2"}, {Type: "image", URL: "https://x/i.png"}}},
				{Role: "user", Content: "after"},
				{Role: "tool", ToolCallID: "t3"},
			}},
		},
		{
			name: "blocks without a canonical form are kept by type",
			body: `{"model":"claude","max_tokens":1,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBE"}},` +
				`{"type":"image","source":{"type":"file","file_id":"file_1"}},{"type":"search_result","source":"s","title":"t","content":[{"type":"text","text":"found"}]},` +
				`{"type":"document","source":{"type":"content","content":[{"type":"text","text":"one"},{"type":"image","source":{"type":"url","url":"u"}},{"type":"text","text":"two"}]}}]},` +
				`{"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":"s"},{"type":"redacted_thinking","data":"xx"},{"type":"text","text":"ok"}]}]}`,
			want: lyumen.Request{Model: "claude", MaxTokens: 1, Messages: []lyumen.Message{
				{Role: "user", Parts: []lyumen.Part{{Type: "anthropic:document"}, {Type: "anthropic:image_file"},
					{Type: "anthropic:search_result", Text: "t\ns\nfound"}, {Type: "anthropic:document", Text: "one\ntwo"}}},
				{Role: "assistant", Parts: []lyumen.Part{{Type: "anthropic:thinking", Text: "hmm"}, {Type: "anthropic:redacted_thinking"}, {Type: "text", Text: "ok"}}},
			}},
		},
		{
			name: "empty content list",
			body: `{"model":"claude","max_tokens":1,"messages":[{"role":"user","content":[]}]}`,
			want: lyumen.Request{Model: "claude", MaxTokens: 1, Messages: []lyumen.Message{{Role: "user"}}},
		},
		{
			name: "tools, server tools and tool choice any",
			body: `{"model":"claude","max_tokens":1,"messages":[{"role":"user","content":"q"}],"tools":[` +
				`{"name":"f","description":"does f","input_schema":{"type":"object"}},{"type":"custom","name":"g","input_schema":{"type":"object"}},` +
				`{"type":"web_search_20250305","name":"web_search"}],"tool_choice":{"type":"any","disable_parallel_tool_use":true}}`,
			want: lyumen.Request{Model: "claude", MaxTokens: 1, Messages: []lyumen.Message{{Role: "user", Content: "q"}},
				Tools: []lyumen.Tool{
					{Name: "f", Description: "does f", Parameters: json.RawMessage(`{"type":"object"}`)},
					{Name: "g", Parameters: json.RawMessage(`{"type":"object"}`)},
					{Name: "anthropic:web_search_20250305"},
				},
				ToolChoice: &lyumen.ToolChoice{Mode: "required"}, NoParallelToolCalls: true},
		},
		{
			name: "tool choice of one tool",
			body: `{"model":"claude","max_tokens":1,"messages":[{"role":"user","content":"q"}],"tool_choice":{"type":"tool","name":"f"}}`,
			want: lyumen.Request{Model: "claude", MaxTokens: 1, Messages: []lyumen.Message{{Role: "user", Content: "q"}},
				ToolChoice: &lyumen.ToolChoice{Mode: "tool", Name: "f"}},
		},
		{
			name: "tool choice none",
			body: `{"model":"claude","max_tokens":1,"messages":[{"role":"user","content":"q"}],"tool_choice":{"type":"none"}}`,
			want: lyumen.Request{Model: "claude", MaxTokens: 1, Messages: []lyumen.Message{{Role: "user", Content: "q"}},
				ToolChoice: &lyumen.ToolChoice{Mode: "none"}},
		},
		{
			name: "sampling, stop sequences, stream",
			body: `{"model":"claude","max_tokens":5,"stream":true,"temperature":0.5,"top_p":0.8,"top_k":3,"stop_sequences":["x","y"],"messages":[{"role":"user","content":"q"}]}`,
			want: lyumen.Request{Model: "claude", MaxTokens: 5, Stream: true, Temperature: ptr(0.5), TopP: ptr(0.8), TopK: ptr(3), Stop: []string{"x", "y"},
				Messages: []lyumen.Message{{Role: "user", Content: "q"}}},
		},
		{
			name: "thinking enabled: its budget",
			body: `{"model":"claude","max_tokens":16000,"thinking":{"type":"enabled","budget_tokens":10000},"messages":[{"role":"user","content":"q"}]}`,
			want: lyumen.Request{Model: "claude", MaxTokens: 16000, ReasoningBudget: ptr(10000), Messages: []lyumen.Message{{Role: "user", Content: "q"}}},
		},
		{
			name: "thinking disabled: a budget of 0",
			body: `{"model":"claude","max_tokens":1,"thinking":{"type":"disabled"},"messages":[{"role":"user","content":"q"}]}`,
			want: lyumen.Request{Model: "claude", MaxTokens: 1, ReasoningBudget: ptr(0), Messages: []lyumen.Message{{Role: "user", Content: "q"}}},
		},
		{
			name: "adaptive thinking: a budget of -1, the model decides",
			body: `{"model":"claude","max_tokens":1,"thinking":{"type":"adaptive"},"messages":[{"role":"user","content":"q"}]}`,
			want: lyumen.Request{Model: "claude", MaxTokens: 1, ReasoningBudget: ptr(-1), Messages: []lyumen.Message{{Role: "user", Content: "q"}}},
		},
		{
			// Anthropic refuses a budget below 1024, and an Anthropic
			// upstream gets it as written to say so; it is still a budget,
			// not a budget of 0 (disabled) or -1 (adaptive).
			name: "thinking budget below Anthropic's least",
			body: `{"model":"claude","max_tokens":1,"thinking":{"type":"enabled","budget_tokens":-1},"messages":[{"role":"user","content":"q"}]}`,
			want: lyumen.Request{Model: "claude", MaxTokens: 1, ReasoningBudget: ptr(1), Messages: []lyumen.Message{{Role: "user", Content: "q"}}},
		},
		{
			// A newer API's: an Anthropic upstream gets it as written.
			name: "thinking of an unknown type is left unread",
			body: `{"model":"claude","max_tokens":1,"thinking":{"type":"pondering"},"messages":[{"role":"user","content":"q"}]}`,
			want: lyumen.Request{Model: "claude", MaxTokens: 1, Messages: []lyumen.Message{{Role: "user", Content: "q"}}},
		},
		{
			name: "keys are matched exactly, as the upstream matches them",
			body: `{"Model":"other","model":"claude","MAX_TOKENS":1,"max_tokens":7,"Stream":true,"messages":[{"Role":"assistant","role":"user","content":"q"}]}`,
			want: lyumen.Request{Model: "claude", MaxTokens: 7, Messages: []lyumen.Message{{Role: "user", Content: "q"}}},
		},
		{
			name: "nulls are absent",
			body: `{"model":"claude","max_tokens":1,"system":null,"stream":null,"temperature":null,"tools":null,"tool_choice":null,"thinking":null,"messages":[{"role":"user","content":"q"}]}`,
			want: lyumen.Request{Model: "claude", MaxTokens: 1, Messages: []lyumen.Message{{Role: "user", Content: "q"}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := anthropic.DecodeMessages([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			tc.want.Surface = lyumen.SurfaceAnthropicMessages
			tc.want.Body = []byte(tc.body)
			if diff := cmp.Diff(&tc.want, got, cmpopts.IgnoreFields(lyumen.Request{}, "OnAttempt")); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeMessages_Errors(t *testing.T) {
	const msgs = `"messages":[{"role":"user","content":"q"}]`
	tests := []struct {
		name, body, param, msg string
	}{
		{"not JSON", `{"model":`, "", "the request body is not valid JSON"},
		{"not an object", `[1]`, "", "the request body must be a JSON object"},
		{"null", `null`, "", "the request body must be a JSON object"},
		{"missing model", `{"max_tokens":1,` + msgs + `}`, "model", "model: Field required"},
		{"empty model", `{"model":"","max_tokens":1,` + msgs + `}`, "model", "model: String should have at least 1 character"},
		{"model of wrong type", `{"model":5,"max_tokens":1,` + msgs + `}`, "model", "model: Input should be a valid string"},
		{"missing max_tokens", `{"model":"m",` + msgs + `}`, "max_tokens", "max_tokens: Field required"},
		{"max_tokens zero", `{"model":"m","max_tokens":0,` + msgs + `}`, "max_tokens", "max_tokens: Input should be greater than or equal to 1"},
		{"max_tokens of wrong type", `{"model":"m","max_tokens":"9",` + msgs + `}`, "max_tokens", "max_tokens: Input should be a valid integer"},
		{"stream of wrong type", `{"model":"m","max_tokens":1,"stream":"yes",` + msgs + `}`, "stream", "stream: Input should be a valid boolean"},
		{"temperature of wrong type", `{"model":"m","max_tokens":1,"temperature":"hot",` + msgs + `}`, "temperature", "temperature: Input should be a valid number"},
		{"top_k of wrong type", `{"model":"m","max_tokens":1,"top_k":0.5,` + msgs + `}`, "top_k", "top_k: Input should be a valid integer"},
		{"stop_sequences of wrong type", `{"model":"m","max_tokens":1,"stop_sequences":"x",` + msgs + `}`, "stop_sequences", "stop_sequences: Input should be a valid list of strings"},
		{"missing messages", `{"model":"m","max_tokens":1}`, "messages", "messages: Field required"},
		{"output format of unknown type", `{"model":"m","max_tokens":1,"output_config":{"format":{"type":"yaml"}},` + msgs + `}`, "output_config.format.type", "output_config.format.type: Input should be 'json_schema'"},
		{"output format without schema", `{"model":"m","max_tokens":1,"output_format":{"type":"json_schema"},` + msgs + `}`, "output_format.schema", "output_format.schema: Field required"},
		{"output config not an object", `{"model":"m","max_tokens":1,"output_config":[],` + msgs + `}`, "output_config", "output_config: Input should be a valid dictionary"},
		{"thinking not an object", `{"model":"m","max_tokens":1,"thinking":true,` + msgs + `}`, "thinking", "thinking: Input should be a valid dictionary"},
		{"thinking without type", `{"model":"m","max_tokens":1,"thinking":{"budget_tokens":2048},` + msgs + `}`, "thinking.type", "thinking.type: Field required"},
		{"thinking enabled without budget", `{"model":"m","max_tokens":1,"thinking":{"type":"enabled"},` + msgs + `}`, "thinking.budget_tokens", "thinking.budget_tokens: Field required"},
		{"thinking budget of wrong type", `{"model":"m","max_tokens":1,"thinking":{"type":"enabled","budget_tokens":"2048"},` + msgs + `}`, "thinking.budget_tokens",
			"thinking.budget_tokens: Input should be a valid integer"},
		{"empty messages", `{"model":"m","max_tokens":1,"messages":[]}`, "messages", "messages: at least one message is required"},
		{"messages of wrong type", `{"model":"m","max_tokens":1,"messages":"hi"}`, "messages", "messages: Input should be a valid list"},
		{"message not an object", `{"model":"m","max_tokens":1,"messages":["hi"]}`, "messages.0", "messages.0: Input should be a valid dictionary"},
		{"system role", `{"model":"m","max_tokens":1,"messages":[{"role":"system","content":"x"}]}`, "messages.0.role",
			`messages: Unexpected role "system". The Messages API accepts a top-level ` + "`system`" + ` parameter, not "system" as an input message role.`},
		{"unknown role", `{"model":"m","max_tokens":1,"messages":[{"role":"tool","content":"x"}]}`, "messages.0.role", "messages.0.role: Input should be 'user' or 'assistant'"},
		{"missing content", `{"model":"m","max_tokens":1,"messages":[{"role":"user"}]}`, "messages.0.content", "messages.0.content: Field required"},
		{"content of wrong type", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":5}]}`, "messages.0.content",
			"messages.0.content: Input should be a valid string or a list of content blocks"},
		{"block without type", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"text":"x"}]}]}`, "messages.0.content.0.type",
			"messages.0.content.0.type: Field required"},
		{"text block without text", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text"}]}]}`, "messages.0.content.0.text",
			"messages.0.content.0.text: Field required"},
		{"image without source", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image"}]}]}`, "messages.0.content.0.source",
			"messages.0.content.0.source: Field required"},
		{"base64 image without data", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png"}}]}]}`,
			"messages.0.content.0.source.data", "messages.0.content.0.source.data: Field required"},
		{"tool_use input not an object", `{"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":"x"}]}]}`,
			"messages.0.content.0.input", "messages.0.content.0.input: Input should be a valid dictionary"},
		{"tool_use without id", `{"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"tool_use","name":"f","input":{}}]}]}`,
			"messages.0.content.0.id", "messages.0.content.0.id: Field required"},
		{"tool_result without tool_use_id", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result","content":"x"}]}]}`,
			"messages.0.content.0.tool_use_id", "messages.0.content.0.tool_use_id: Field required"},
		{"system of wrong type", `{"model":"m","max_tokens":1,"system":5,` + msgs + `}`, "system", "system: Input should be a valid string or a list of text blocks"},
		{"system block not text", `{"model":"m","max_tokens":1,"system":[{"type":"image"}],` + msgs + `}`, "system.0.type", "system.0.type: Input should be 'text'"},
		{"tool without name", `{"model":"m","max_tokens":1,"tools":[{"input_schema":{}}],` + msgs + `}`, "tools.0.name", "tools.0.name: Field required"},
		{"tool schema not an object", `{"model":"m","max_tokens":1,"tools":[{"name":"f","input_schema":[]}],` + msgs + `}`, "tools.0.input_schema",
			"tools.0.input_schema: Input should be a valid dictionary"},
		{"tool choice of unknown type", `{"model":"m","max_tokens":1,"tool_choice":{"type":"some"},` + msgs + `}`, "tool_choice.type",
			"tool_choice.type: Input tag 'some' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'"},
		{"tool choice of a tool without its name", `{"model":"m","max_tokens":1,"tool_choice":{"type":"tool"},` + msgs + `}`, "tool_choice.name",
			"tool_choice.name: Field required"},
		{"disable_parallel_tool_use not a boolean", `{"model":"m","max_tokens":1,"tool_choice":{"type":"auto","disable_parallel_tool_use":"yes"},` + msgs + `}`,
			"tool_choice.disable_parallel_tool_use", "tool_choice.disable_parallel_tool_use: Input should be a valid boolean"},
		{"duplicate model", `{"model":"m","model":"n","max_tokens":1,` + msgs + `}`, "model", "model: duplicate key in the request body"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := anthropic.DecodeMessages([]byte(tc.body))
			e, ok := errors.AsType[*lyumen.Error](err)
			if !ok {
				t.Fatalf("err = %v, want a *lyumen.Error", err)
			}
			got := struct {
				Kind       lyumen.Kind
				Param, Msg string
			}{e.Kind, e.Param, e.Message}
			want := got
			want.Kind, want.Param, want.Msg = lyumen.KindInvalid, tc.param, tc.msg
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeCountTokens(t *testing.T) {
	body := `{"model":"claude","system":"s","messages":[{"role":"user","content":"hello"}],"tools":[{"name":"f","input_schema":{"type":"object"}}]}`
	req, err := anthropic.DecodeCountTokens([]byte(body))
	if err != nil {
		t.Fatalf("count_tokens needs no max_tokens: %v", err)
	}
	if len(req.Messages) != 2 || len(req.Tools) != 1 {
		t.Errorf("decoded %+v", req)
	}
	if _, err := anthropic.DecodeMessages([]byte(body)); err == nil || !strings.Contains(err.Error(), "max_tokens") {
		t.Errorf("messages without max_tokens: %v", err)
	}
}
