package openai_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/openai"
)

// validChats are bodies DecodeChat accepts, with the request it must make of
// each. Body is filled in by the test: it is always the input, unchanged.
var validChats = []struct {
	name string
	body string
	want lyumen.Request
}{
	{
		name: "string content",
		body: `{"model":"gpt-4o","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}]}`,
		want: lyumen.Request{Model: "gpt-4o", Messages: []lyumen.Message{
			{Role: "system", Content: "Be brief."},
			{Role: "user", Content: "Hi"},
		}},
	},
	{
		name: "text parts are joined and not kept as parts",
		body: `{"model":"gpt-4o","messages":[{"role":"user","content":[{"type":"text","text":"Hello, "},{"type":"text","text":"world"}]}]}`,
		want: lyumen.Request{Model: "gpt-4o", Messages: []lyumen.Message{
			{Role: "user", Content: "Hello, world"},
		}},
	},
	{
		name: "image part keeps the parts as sent",
		body: `{"model":"gpt-4o","messages":[{"role":"user","content": [ {"type":"text","text":"What is this?"}, {"type":"image_url","image_url":{"url":"https://example.com/cat.png","detail":"low"}} ] }]}`,
		want: lyumen.Request{Model: "gpt-4o", Messages: []lyumen.Message{{
			Role:  "user",
			Parts: []lyumen.Part{{Type: "text", Text: "What is this?"}, {Type: "image", URL: "https://example.com/cat.png"}},
		}}},
	},
	{
		name: "image only",
		body: `{"model":"gpt-4o","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}]}`,
		want: lyumen.Request{Model: "gpt-4o", Messages: []lyumen.Message{{
			Role:  "user",
			Parts: []lyumen.Part{{Type: "image", MediaType: "image/png", Data: "iVBORw0KGgo="}},
		}}},
	},
	{
		name: "assistant tool calls and tool results",
		body: `{"model":"gpt-4o","messages":[
			{"role":"user","content":"Weather and time in Paris?"},
			{"role":"assistant","content":null,"tool_calls":[
				{"id":"call_a","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
				{"id":"call_b","type":"function","function":{"name":"get_time","arguments":"{}"}}]},
			{"role":"tool","tool_call_id":"call_a","content":"18C, clear"},
			{"role":"tool","tool_call_id":"call_b","content":[{"type":"text","text":"14:05"}]}]}`,
		want: lyumen.Request{Model: "gpt-4o", Messages: []lyumen.Message{
			{Role: "user", Content: "Weather and time in Paris?"},
			{Role: "assistant", ToolCalls: []lyumen.ToolCall{
				{Index: 0, ID: "call_a", Type: "function", Name: "get_weather", Arguments: `{"city":"Paris"}`},
				{Index: 1, ID: "call_b", Type: "function", Name: "get_time", Arguments: "{}"},
			}},
			{Role: "tool", ToolCallID: "call_a", Content: "18C, clear"},
			{Role: "tool", ToolCallID: "call_b", Content: "14:05"},
		}},
	},
	{
		name: "developer role, name, empty and missing content",
		body: `{"model":"o3","messages":[{"role":"developer","content":"Rules."},{"role":"user","name":"alice","content":""},{"role":"assistant"}]}`,
		want: lyumen.Request{Model: "o3", Messages: []lyumen.Message{
			{Role: "system", Content: "Rules."},
			{Role: "user", Name: "alice"},
			{Role: "assistant"},
		}},
	},
	{
		name: "stream without options",
		body: `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"Hi"}]}`,
		want: lyumen.Request{Model: "gpt-4o", Stream: true, Messages: []lyumen.Message{{Role: "user", Content: "Hi"}}},
	},
	{
		name: "stream with include_usage",
		body: `{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Hi"}]}`,
		want: lyumen.Request{Model: "gpt-4o", Stream: true, IncludeUsage: true, Messages: []lyumen.Message{{Role: "user", Content: "Hi"}}},
	},
	{
		name: "stream with include_usage false",
		body: `{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":false},"messages":[{"role":"user","content":"Hi"}]}`,
		want: lyumen.Request{Model: "gpt-4o", Stream: true, Messages: []lyumen.Message{{Role: "user", Content: "Hi"}}},
	},
	{
		name: "null stream and stream_options",
		body: `{"model":"gpt-4o","stream":null,"stream_options":null,"messages":[{"role":"user","content":"Hi"}]}`,
		want: lyumen.Request{Model: "gpt-4o", Messages: []lyumen.Message{{Role: "user", Content: "Hi"}}},
	},
	{
		name: "unknown fields and n at the bounds pass",
		body: `{"model":"gpt-4o","n":128,"temperature":0.2,"tools":[{"type":"function","function":{"name":"f"}}],"response_format":{"type":"json_object"},"messages":[{"role":"user","content":"Hi"}]}`,
		want: lyumen.Request{Model: "gpt-4o", Messages: []lyumen.Message{{Role: "user", Content: "Hi"}},
			Tools: []lyumen.Tool{{Name: "f"}}, Temperature: ptr(0.2), N: 128, Format: &lyumen.Format{Type: "json_object"}},
	},
	{
		name: "structured output",
		body: `{"model":"gpt-4o","seed":42,"response_format":{"type":"json_schema","json_schema":{"name":"answer","strict":true,"schema":{"type":"object","properties":{"a":{"type":"string"}}}}},"messages":[{"role":"user","content":"Hi"}]}`,
		want: lyumen.Request{Model: "gpt-4o", Messages: []lyumen.Message{{Role: "user", Content: "Hi"}},
			Seed:   ptr(int64(42)),
			Format: &lyumen.Format{Type: "json_schema", Name: "answer", Strict: ptr(true), Schema: json.RawMessage(`{"type":"object","properties":{"a":{"type":"string"}}}`)}},
	},
	{
		name: "penalties",
		body: `{"model":"gpt-4o","frequency_penalty":0.5,"presence_penalty":-0.25,"messages":[{"role":"user","content":"Hi"}]}`,
		want: lyumen.Request{Model: "gpt-4o", Messages: []lyumen.Message{{Role: "user", Content: "Hi"}},
			FrequencyPenalty: ptr(0.5), PresencePenalty: ptr(-0.25)},
	},
	{
		name: "penalties, with tools (not the fast path)",
		body: `{"model":"gpt-4o","frequency_penalty":2,"presence_penalty":0,"tools":[{"type":"function","function":{"name":"f"}}],"messages":[{"role":"user","content":"Hi"}]}`,
		want: lyumen.Request{Model: "gpt-4o", Messages: []lyumen.Message{{Role: "user", Content: "Hi"}}, Tools: []lyumen.Tool{{Name: "f"}},
			FrequencyPenalty: ptr(2.0), PresencePenalty: ptr(0.0)},
	},
	{
		name: "plain text format",
		body: `{"model":"gpt-4o","response_format":{"type":"text"},"messages":[{"role":"user","content":"Hi"}]}`,
		want: lyumen.Request{Model: "gpt-4o", Messages: []lyumen.Message{{Role: "user", Content: "Hi"}}},
	},
	{
		name: "translatable parameters",
		body: `{"model":"gpt-4o","max_completion_tokens":50,"max_tokens":9,"top_p":0.5,"stop":"END","tool_choice":{"type":"function","function":{"name":"f"}},` +
			`"tools":[{"type":"function","function":{"name":"f","description":"does f","parameters":{"type":"object"}}}],"messages":[{"role":"user","content":"Hi"}]}`,
		want: lyumen.Request{Model: "gpt-4o", Messages: []lyumen.Message{{Role: "user", Content: "Hi"}}, MaxTokens: 50, TopP: ptr(0.5),
			Stop: []string{"END"}, ToolChoice: &lyumen.ToolChoice{Mode: "tool", Name: "f"},
			Tools: []lyumen.Tool{{Name: "f", Description: "does f", Parameters: json.RawMessage(`{"type":"object"}`)}}},
	},
	{
		name: "stop as an array, tool choice as a mode",
		body: `{"model":"gpt-4o","stop":["a","b"],"tool_choice":"required","messages":[{"role":"user","content":"Hi"}]}`,
		want: lyumen.Request{Model: "gpt-4o", Messages: []lyumen.Message{{Role: "user", Content: "Hi"}},
			Stop: []string{"a", "b"}, ToolChoice: &lyumen.ToolChoice{Mode: "required"}},
	},
	{
		name: "parallel tool calls off; on is the default",
		body: `{"model":"gpt-4o","parallel_tool_calls":false,"messages":[{"role":"user","content":"Hi"}]}`,
		want: lyumen.Request{Model: "gpt-4o", Messages: []lyumen.Message{{Role: "user", Content: "Hi"}}, NoParallelToolCalls: true},
	},
	{
		name: "parallel tool calls on",
		body: `{"model":"gpt-4o","parallel_tool_calls":true,"messages":[{"role":"user","content":"Hi"}]}`,
		want: lyumen.Request{Model: "gpt-4o", Messages: []lyumen.Message{{Role: "user", Content: "Hi"}}},
	},
	{
		// Passed through as written to an OpenAI-compatible upstream, and
		// translated for the others (Gemini's thinking).
		name: "reasoning effort",
		body: `{"model":"o3","reasoning_effort":"high","messages":[{"role":"user","content":"Hi"}]}`,
		want: lyumen.Request{Model: "o3", Messages: []lyumen.Message{{Role: "user", Content: "Hi"}}, ReasoningEffort: "high"},
	},
	{
		name: "null reasoning effort",
		body: `{"model":"o3","reasoning_effort":null,"messages":[{"role":"user","content":"Hi"}]}`,
		want: lyumen.Request{Model: "o3", Messages: []lyumen.Message{{Role: "user", Content: "Hi"}}},
	},
	{
		name: "n one",
		body: `{"model":"gpt-4o","n":1,"messages":[{"role":"user","content":"Hi"}]}`,
		want: lyumen.Request{Model: "gpt-4o", Messages: []lyumen.Message{{Role: "user", Content: "Hi"}}, N: 1},
	},
	{
		name: "escaped unicode",
		body: `{"model":"gpt-4o","messages":[{"role":"user","content":"caf\u00e9 \ud83d\ude00"}]}`,
		want: lyumen.Request{Model: "gpt-4o", Messages: []lyumen.Message{{Role: "user", Content: "café 😀"}}},
	},
}

func TestDecodeChat(t *testing.T) {
	for _, tc := range validChats {
		t.Run(tc.name, func(t *testing.T) {
			got, err := openai.DecodeChat([]byte(tc.body))
			if err != nil {
				t.Fatalf("DecodeChat: %v", err)
			}
			want := tc.want
			want.Surface = lyumen.SurfaceOpenAIChat
			want.Body = []byte(tc.body)
			if diff := cmp.Diff(&want, got); diff != "" {
				t.Errorf("DecodeChat mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// invalidChats are bodies DecodeChat refuses, with the Param the error must name.
var invalidChats = []struct {
	name      string
	body      string
	wantParam string
}{
	{name: "empty body", body: ``},
	{name: "not JSON", body: `{"model":`},
	{name: "trailing garbage", body: `{"model":"m","messages":[{"role":"user","content":"x"}]} x`},
	{name: "array body", body: `[]`},
	{name: "unknown response format", body: `{"model":"m","response_format":{"type":"yaml"},"messages":[{"role":"user","content":"x"}]}`, wantParam: "response_format.type"},
	{name: "response format not an object", body: `{"model":"m","response_format":"json","messages":[{"role":"user","content":"x"}]}`, wantParam: "response_format"},
	{name: "json_schema missing", body: `{"model":"m","response_format":{"type":"json_schema"},"messages":[{"role":"user","content":"x"}]}`, wantParam: "response_format.json_schema"},
	{name: "json_schema without name", body: `{"model":"m","response_format":{"type":"json_schema","json_schema":{"schema":{}}},"messages":[{"role":"user","content":"x"}]}`, wantParam: "response_format.json_schema.name"},
	{name: "string body", body: `"hello"`},
	{name: "null body", body: `null`},
	{name: "missing model", body: `{"messages":[{"role":"user","content":"x"}]}`, wantParam: "model"},
	{name: "empty model", body: `{"model":"","messages":[{"role":"user","content":"x"}]}`, wantParam: "model"},
	{name: "null model", body: `{"model":null,"messages":[{"role":"user","content":"x"}]}`, wantParam: "model"},
	{name: "model not a string", body: `{"model":4,"messages":[{"role":"user","content":"x"}]}`, wantParam: "model"},
	{name: "missing messages", body: `{"model":"m"}`, wantParam: "messages"},
	{name: "null messages", body: `{"model":"m","messages":null}`, wantParam: "messages"},
	{name: "empty messages", body: `{"model":"m","messages":[]}`, wantParam: "messages"},
	{name: "messages not an array", body: `{"model":"m","messages":{"role":"user"}}`, wantParam: "messages"},
	{name: "n zero", body: `{"model":"m","n":0,"messages":[{"role":"user","content":"x"}]}`, wantParam: "n"},
	{name: "n negative", body: `{"model":"m","n":-1,"messages":[{"role":"user","content":"x"}]}`, wantParam: "n"},
	{name: "n above 128", body: `{"model":"m","n":129,"messages":[{"role":"user","content":"x"}]}`, wantParam: "n"},
	{name: "n fractional", body: `{"model":"m","n":1.5,"messages":[{"role":"user","content":"x"}]}`, wantParam: "n"},
	{name: "n a string", body: `{"model":"m","n":"2","messages":[{"role":"user","content":"x"}]}`, wantParam: "n"},
	{name: "stream not a bool", body: `{"model":"m","stream":"yes","messages":[{"role":"user","content":"x"}]}`, wantParam: "stream"},
	{name: "reasoning_effort not a string", body: `{"model":"m","reasoning_effort":3,"messages":[{"role":"user","content":"x"}]}`, wantParam: "reasoning_effort"},
	{name: "frequency_penalty a string", body: `{"model":"m","frequency_penalty":"1","messages":[{"role":"user","content":"x"}]}`, wantParam: "frequency_penalty"},
	{name: "presence_penalty an object", body: `{"model":"m","presence_penalty":{},"messages":[{"role":"user","content":"x"}]}`, wantParam: "presence_penalty"},
	{name: "parallel_tool_calls not a bool", body: `{"model":"m","parallel_tool_calls":"no","messages":[{"role":"user","content":"x"}]}`, wantParam: "parallel_tool_calls"},
	{name: "stream_options not an object", body: `{"model":"m","stream":true,"stream_options":true,"messages":[{"role":"user","content":"x"}]}`, wantParam: "stream_options"},
	{name: "include_usage not a bool", body: `{"model":"m","stream":true,"stream_options":{"include_usage":1},"messages":[{"role":"user","content":"x"}]}`, wantParam: "stream_options.include_usage"},
	{name: "unknown role", body: `{"model":"m","messages":[{"role":"user","content":"x"},{"role":"robot","content":"y"}]}`, wantParam: "messages[1].role"},
	{name: "missing role", body: `{"model":"m","messages":[{"content":"x"}]}`, wantParam: "messages[0].role"},
	{name: "null message", body: `{"model":"m","messages":[null]}`, wantParam: "messages[0].role"},
	// The JSON decoder names the field without the index.
	{name: "role not a string", body: `{"model":"m","messages":[{"role":7,"content":"x"}]}`, wantParam: "messages.role"},
	{name: "tool_calls not an array", body: `{"model":"m","messages":[{"role":"assistant","tool_calls":{}}]}`, wantParam: "messages.tool_calls"},
	{name: "content a number", body: `{"model":"m","messages":[{"role":"user","content":42}]}`, wantParam: "messages[0].content"},
	{name: "content a bool", body: `{"model":"m","messages":[{"role":"user","content":"ok"},{"role":"user","content":true}]}`, wantParam: "messages[1].content"},
	{name: "content an object", body: `{"model":"m","messages":[{"role":"user","content":{"type":"text","text":"x"}}]}`, wantParam: "messages[0].content"},
	{name: "content parts not objects", body: `{"model":"m","messages":[{"role":"user","content":["x"]}]}`, wantParam: "messages[0].content"},
	{name: "content part text not a string", body: `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":5}]}]}`, wantParam: "messages[0].content"},
}

func TestDecodeChat_Invalid(t *testing.T) {
	type summary struct {
		Kind  lyumen.Kind
		Param string
	}
	for _, tc := range invalidChats {
		t.Run(tc.name, func(t *testing.T) {
			got, err := openai.DecodeChat([]byte(tc.body))
			if err == nil {
				t.Fatalf("DecodeChat = %+v, want an error", got)
			}
			e, ok := errors.AsType[*lyumen.Error](err)
			if !ok {
				t.Fatalf("DecodeChat error %T (%v), want *lyumen.Error", err, err)
			}
			want := summary{Kind: lyumen.KindInvalid, Param: tc.wantParam}
			if diff := cmp.Diff(want, summary{Kind: e.Kind, Param: e.Param}); diff != "" {
				t.Errorf("error %q mismatch (-want +got):\n%s", e.Message, diff)
			}
			checkClientMessage(t, e.Message)
		})
	}
}

// checkClientMessage fails when a message meant for the client is empty or
// shows Go internals.
func checkClientMessage(tb testing.TB, msg string) {
	tb.Helper()
	if msg == "" {
		tb.Error("empty client message")
	}
	// "struct {", not "struct": that is in "instructions".
	for _, leak := range []string{"openai.", "lyumen.", "json:", "struct {", "struct{", "*"} {
		if strings.Contains(msg, leak) {
			tb.Errorf("client message %q contains %q", msg, leak)
		}
	}
}

// TestDecodeChat_FieldNamesAreCaseSensitive checks that the gateway reads a
// body as the upstream will. encoding/json matches keys case-insensitively
// (and the last of two matching keys wins), but OpenAI and the compatible
// servers match them exactly, and the Client forwards the body with the
// client's keys untouched. A decoder that takes "Stream" for "stream" decides
// on a stream the upstream was never asked for. Refusing such a body is fine;
// reading it differently from the upstream is not.
func TestDecodeChat_FieldNamesAreCaseSensitive(t *testing.T) {
	const msgs = `"messages":[{"role":"user","content":"Hi"}]`
	tests := []struct {
		name string
		body string
		// What the upstream does with the body.
		wantStream       bool
		wantIncludeUsage bool
		wantRefused      bool // the upstream sees an invalid request
	}{
		{
			// The upstream answers with JSON; ChatStream fails reading it as SSE.
			name: "Stream is not stream",
			body: `{"model":"gpt-4o","Stream":true,` + msgs + `}`,
		},
		{
			// The upstream streams; Chat fails reading SSE as JSON.
			name:       "STREAM does not override stream",
			body:       `{"model":"gpt-4o","stream":true,"STREAM":false,` + msgs + `}`,
			wantStream: true,
		},
		{
			// IncludeUsage true stops the Client adding include_usage, so the
			// upstream sends no usage and the stream is recorded without it.
			name:       "Include_Usage is not include_usage",
			body:       `{"model":"gpt-4o","stream":true,"stream_options":{"Include_Usage":true},` + msgs + `}`,
			wantStream: true,
		},
		{
			// The gateway checks N=1; the upstream is asked for 1000 choices.
			name:        "N does not hide an out-of-range n",
			body:        `{"model":"gpt-4o","n":1000,"N":1,` + msgs + `}`,
			wantRefused: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := openai.DecodeChat([]byte(tc.body))
			if err != nil {
				if e, ok := errors.AsType[*lyumen.Error](err); !ok || e.Kind != lyumen.KindInvalid {
					t.Fatalf("DecodeChat error %v, want KindInvalid", err)
				}
				return // refusing an ambiguous body is fine
			}
			if tc.wantRefused {
				t.Fatalf("DecodeChat accepted %s", tc.body)
			}
			if req.Stream != tc.wantStream || req.IncludeUsage != tc.wantIncludeUsage {
				t.Errorf("Stream, IncludeUsage = %v, %v; the upstream sees %v, %v",
					req.Stream, req.IncludeUsage, tc.wantStream, tc.wantIncludeUsage)
			}
		})
	}
}

func FuzzDecodeChat(f *testing.F) {
	for _, tc := range validChats {
		f.Add([]byte(tc.body))
	}
	for _, tc := range invalidChats {
		f.Add([]byte(tc.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := openai.DecodeChat(body)
		if err != nil {
			if req != nil {
				t.Errorf("DecodeChat returned a request with error %v", err)
			}
			e, ok := errors.AsType[*lyumen.Error](err)
			if !ok || e.Kind != lyumen.KindInvalid {
				t.Fatalf("DecodeChat error %T %v, want *lyumen.Error of KindInvalid", err, err)
			}
			if e.Message == "" {
				t.Error("error without a client message")
			}
			return
		}
		if req.Model == "" || len(req.Messages) == 0 {
			t.Fatalf("DecodeChat accepted a request without model or messages: %+v", req)
		}
		if req.Surface != lyumen.SurfaceOpenAIChat {
			t.Errorf("Surface = %q", req.Surface)
		}
		if string(req.Body) != string(body) {
			t.Error("Body is not the input")
		}
		if !json.Valid(body) {
			t.Error("accepted a body that is not valid JSON")
		}
		for i, m := range req.Messages {
			switch m.Role {
			case "system", "user", "assistant", "tool":
			default:
				t.Errorf("messages[%d].Role = %q is not canonical", i, m.Role)
			}
		}
	})
}

func ptr[T any](v T) *T { return &v }
