package anthropic_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/anthropic"
)

func TestEncodeRequest(t *testing.T) {
	tests := []struct {
		name string
		req  lyumen.Request
		want string
	}{
		{
			name: "text only, default max_tokens",
			req:  lyumen.Request{Model: "m", Messages: []lyumen.Message{{Role: "user", Content: "hi"}}},
			want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":"hi"}]}`,
		},
		{
			name: "system messages anywhere are hoisted to the system prompt",
			req: lyumen.Request{Model: "m", MaxTokens: 10, Messages: []lyumen.Message{
				{Role: "system", Content: "A"}, {Role: "user", Content: "q"}, {Role: "system", Parts: []lyumen.Part{{Type: "text", Text: "B"}}},
			}},
			want: `{"model":"m","max_tokens":10,"system":[{"type":"text","text":"A"},{"type":"text","text":"B"}],"messages":[{"role":"user","content":"q"}]}`,
		},
		{
			name: "tool calls and consecutive results",
			req: lyumen.Request{Model: "m", MaxTokens: 10, Messages: []lyumen.Message{
				{Role: "user", Content: "q"},
				{Role: "assistant", ToolCalls: []lyumen.ToolCall{{ID: "c1", Name: "f", Arguments: `{"a":1}`}, {ID: "c2", Name: "g"}}},
				{Role: "tool", ToolCallID: "c1", Content: "r1"},
				{Role: "tool", ToolCallID: "c2", Parts: []lyumen.Part{{Type: "text", Text: "r2"}, {Type: "image", URL: "https://x/i.png"}}},
				{Role: "user", Content: "next"},
				{Role: "tool", ToolCallID: "c3"},
			}},
			want: `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"q"},` +
				`{"role":"assistant","content":[{"type":"tool_use","id":"c1","name":"f","input":{"a":1}},{"type":"tool_use","id":"c2","name":"g","input":{}}]},` +
				`{"role":"user","content":[{"type":"tool_result","tool_use_id":"c1","content":"r1"},` +
				`{"type":"tool_result","tool_use_id":"c2","content":[{"type":"text","text":"r2"},{"type":"image","source":{"type":"url","url":"https://x/i.png"}}]}]},` +
				`{"role":"user","content":"next"},{"role":"user","content":[{"type":"tool_result","tool_use_id":"c3"}]}]}`,
		},
		{
			name: "assistant text with a tool call",
			req: lyumen.Request{Model: "m", MaxTokens: 10, Messages: []lyumen.Message{
				{Role: "assistant", Content: "let me see", ToolCalls: []lyumen.ToolCall{{ID: "c1", Name: "f", Arguments: ` {"a": 1} `}}},
			}},
			want: `{"model":"m","max_tokens":10,"messages":[{"role":"assistant","content":[{"type":"text","text":"let me see"},{"type":"tool_use","id":"c1","name":"f","input":{"a":1}}]}]}`,
		},
		{
			name: "images inline and by URL",
			req: lyumen.Request{Model: "m", MaxTokens: 10, Messages: []lyumen.Message{{Role: "user", Parts: []lyumen.Part{
				{Type: "image", MediaType: "image/jpeg", Data: "/9j/"}, {Type: "image", URL: "https://x/y.png"}, {Type: "text", Text: "?"},
			}}}},
			want: `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"/9j/"}},` +
				`{"type":"image","source":{"type":"url","url":"https://x/y.png"}},{"type":"text","text":"?"}]}]}`,
		},
		{
			name: "tools, tool choice, sampling, stop, stream",
			req: lyumen.Request{Model: "m", MaxTokens: 10, Stream: true, TopP: ptr(1.0), Stop: []string{"END"},
				Messages:   []lyumen.Message{{Role: "user", Content: "q"}},
				Tools:      []lyumen.Tool{{Name: "f", Description: "d", Parameters: json.RawMessage(`{"type":"object","properties":{}}`), Strict: ptr(true)}, {Name: "g"}}, // strict stays here
				ToolChoice: &lyumen.ToolChoice{Mode: "tool", Name: "f"}},
			want: `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"q"}],"stream":true,"stop_sequences":["END"],"top_p":1,` +
				`"tools":[{"name":"f","description":"d","input_schema":{"type":"object","properties":{}}},{"name":"g","input_schema":{"type":"object"}}],` +
				`"tool_choice":{"type":"tool","name":"f"}}`,
		},
		{
			// OpenAI's clients may send a temperature up to 2, top_p with it,
			// and whitespace stop sequences; Anthropic refuses all three.
			name: "sampling fitted to Anthropic's ranges",
			req: lyumen.Request{Model: "m", MaxTokens: 10, Temperature: ptr(1.5), TopP: ptr(0.9), Stop: []string{"\n", "END", " ", "\n\nHuman:"},
				Messages: []lyumen.Message{{Role: "user", Content: "q"}}},
			want: `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"q"}],"stop_sequences":["END","\n\nHuman:"],"temperature":1}`,
		},
		{
			name: "only whitespace stop sequences",
			req: lyumen.Request{Model: "m", MaxTokens: 10, Temperature: ptr(0.0), Stop: []string{"\n\n"},
				Messages: []lyumen.Message{{Role: "user", Content: "q"}}},
			want: `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"q"}],"temperature":0}`,
		},
		{
			name: "structured output",
			req: lyumen.Request{Model: "m", MaxTokens: 1, Messages: []lyumen.Message{{Role: "user", Content: "q"}}, N: 1,
				Format: &lyumen.Format{Type: "json_schema", Name: "answer", Strict: ptr(true), Schema: json.RawMessage(`{"type":"object"}`)}},
			want: `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"q"}],"output_config":{"format":{"type":"json_schema","schema":{"type":"object"}}}}`,
		},
		{
			name: "no parallel tool calls without a tool choice sends auto",
			req: lyumen.Request{Model: "m", MaxTokens: 1, Messages: []lyumen.Message{{Role: "user", Content: "q"}},
				Tools: []lyumen.Tool{{Name: "f"}}, NoParallelToolCalls: true},
			want: `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"q"}],"tools":[{"name":"f","input_schema":{"type":"object"}}],` +
				`"tool_choice":{"type":"auto","disable_parallel_tool_use":true}}`,
		},
		{
			name: "no parallel tool calls with a named tool",
			req: lyumen.Request{Model: "m", MaxTokens: 1, Messages: []lyumen.Message{{Role: "user", Content: "q"}},
				Tools: []lyumen.Tool{{Name: "f"}}, ToolChoice: &lyumen.ToolChoice{Mode: "tool", Name: "f"}, NoParallelToolCalls: true},
			want: `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"q"}],"tools":[{"name":"f","input_schema":{"type":"object"}}],` +
				`"tool_choice":{"type":"tool","name":"f","disable_parallel_tool_use":true}}`,
		},
		{
			name: "no parallel tool calls with tool choice none: none has no such field",
			req: lyumen.Request{Model: "m", MaxTokens: 1, Messages: []lyumen.Message{{Role: "user", Content: "q"}},
				Tools: []lyumen.Tool{{Name: "f"}}, ToolChoice: &lyumen.ToolChoice{Mode: "none"}, NoParallelToolCalls: true},
			want: `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"q"}],"tools":[{"name":"f","input_schema":{"type":"object"}}],` +
				`"tool_choice":{"type":"none"}}`,
		},
		{
			name: "no parallel tool calls without tools: tool_choice needs tools",
			req:  lyumen.Request{Model: "m", MaxTokens: 1, Messages: []lyumen.Message{{Role: "user", Content: "q"}}, NoParallelToolCalls: true},
			want: `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"q"}]}`,
		},
		{
			name: "tool choice required is any",
			req:  lyumen.Request{Model: "m", MaxTokens: 1, Messages: []lyumen.Message{{Role: "user", Content: "q"}}, ToolChoice: &lyumen.ToolChoice{Mode: "required"}},
			want: `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"q"}],"tool_choice":{"type":"any"}}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := anthropic.EncodeRequest(&tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestEncodeRequest_Refused(t *testing.T) {
	user := lyumen.Message{Role: "user", Content: "q"}
	tests := []struct {
		name string
		req  lyumen.Request
		want string
	}{
		{"unknown part", lyumen.Request{Messages: []lyumen.Message{{Role: "user", Parts: []lyumen.Part{{Type: "input_audio"}}}}},
			"content of type 'input_audio' cannot be sent to this model's provider"},
		{"arguments not an object", lyumen.Request{Messages: []lyumen.Message{{Role: "assistant", ToolCalls: []lyumen.ToolCall{{Name: "f", Arguments: "[1]"}}}}},
			"the arguments of the call to tool 'f' are not a JSON object, which this model's provider requires"},
		{"system image", lyumen.Request{Messages: []lyumen.Message{{Role: "system", Parts: []lyumen.Part{{Type: "image", URL: "u"}}}, user}},
			"a system message with images cannot be sent to this model's provider: Anthropic's system prompt is text only"},
		{"another provider's built-in tool", lyumen.Request{Messages: []lyumen.Message{user}, Tools: []lyumen.Tool{{Name: "openai:web_search"}}},
			"the built-in tool 'openai:web_search' cannot be sent to this model's provider"},
		{"unknown role", lyumen.Request{Messages: []lyumen.Message{{Role: "critic", Content: "x"}}},
			"messages of role 'critic' cannot be sent to this model's provider"},
		{"unknown tool choice", lyumen.Request{Messages: []lyumen.Message{user}, ToolChoice: &lyumen.ToolChoice{Mode: "maybe"}},
			"tool choice 'maybe' cannot be sent to this model's provider"},
		{"several answers", lyumen.Request{Messages: []lyumen.Message{user}, N: 3},
			"3 answers per request cannot be asked of this model's provider, which gives one: send 3 requests"},
		{"JSON mode without a schema", lyumen.Request{Messages: []lyumen.Message{user}, Format: &lyumen.Format{Type: "json_object"}},
			"JSON mode without a schema cannot be asked of this model's provider, whose structured outputs follow a JSON Schema: send a response format of type json_schema"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := anthropic.EncodeRequest(&tc.req)
			e, ok := errors.AsType[*lyumen.Error](err)
			if !ok || e.Kind != lyumen.KindInvalid || e.Message != tc.want {
				t.Errorf("err = %v, want KindInvalid %q", err, tc.want)
			}
		})
	}
}

// TestEncodeRequest_RoundTrip decodes what it encoded: the canonical form
// survives a trip through the Anthropic format.
func TestEncodeRequest_RoundTrip(t *testing.T) {
	req := lyumen.Request{Model: "m", MaxTokens: 50, Temperature: ptr(0.2), Stop: []string{"x"},
		Messages: []lyumen.Message{
			{Role: "system", Content: "s"},
			{Role: "user", Parts: []lyumen.Part{{Type: "text", Text: "look"}, {Type: "image", MediaType: "image/png", Data: "AAAA"}}},
			{Role: "assistant", Content: "calling", ToolCalls: []lyumen.ToolCall{{Index: 0, ID: "c1", Type: "function", Name: "f", Arguments: `{"a":1}`}}},
			{Role: "tool", ToolCallID: "c1", Content: "done"},
			{Role: "user", Content: "thanks"},
		},
		Tools:      []lyumen.Tool{{Name: "f", Parameters: json.RawMessage(`{"type":"object"}`)}},
		ToolChoice: &lyumen.ToolChoice{Mode: "auto"},
	}
	body, err := anthropic.EncodeRequest(&req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := anthropic.DecodeMessages(body)
	if err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	if diff := cmp.Diff(req.Conversation(), got.Conversation()); diff != "" {
		t.Errorf("round trip (-sent +decoded):\n%s", diff)
	}
}
