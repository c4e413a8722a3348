package gemini_test

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/gemini"
	"github.com/lyumen/lyumen/internal/golden"
)

// checkGolden compares got, which must be JSON, with testdata/name.golden.
func checkGolden(tb testing.TB, name string, got []byte) {
	tb.Helper()
	if !json.Valid(got) {
		tb.Fatalf("invalid JSON %s", got)
	}
	golden.Check(tb, filepath.Join("testdata", name+".golden"), got)
}

func ptr[T any](v T) *T { return &v }

var weatherSchema = json.RawMessage(`{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object",` +
	`"properties":{"city":{"type":"string","description":"City name"},"unit":{"type":"string","enum":["c","f"]}},` +
	`"required":["city"],"additionalProperties":false}`)

var encodeCases = []struct {
	name string
	req  lyumen.Request
}{
	{
		name: "text",
		req:  lyumen.Request{Model: "gemini-2.5-flash", Messages: []lyumen.Message{{Role: "user", Content: "Hello"}}},
	},
	{
		name: "structured_output_several_candidates",
		req: lyumen.Request{Model: "gemini-2.5-flash", N: 2, Seed: ptr(int64(3000000042)), Messages: []lyumen.Message{{Role: "user", Content: "Name a colour."}},
			Format: &lyumen.Format{Type: "json_schema", Name: "colour", Schema: json.RawMessage(`{"type":"object","properties":{"name":{"type":"string"}},"required":["name"],"additionalProperties":false}`)}},
	},
	{
		// A reasoning effort is a thinking budget for Gemini 2.5, with
		// thought summaries asked for, so the reasoning is shown.
		name: "reasoning_effort_budget",
		req: lyumen.Request{Model: "gemini-2.5-flash", ReasoningEffort: "medium", MaxTokens: 16384,
			Messages: []lyumen.Message{{Role: "user", Content: "Is 1009 prime?"}}},
	},
	{
		// and a thinking level for Gemini 3.
		name: "reasoning_effort_level",
		req: lyumen.Request{Model: "gemini-3-flash-preview", ReasoningEffort: "low",
			Messages: []lyumen.Message{{Role: "user", Content: "Is 1009 prime?"}}},
	},
	{
		// Anthropic's budget_tokens is a thinking budget for Gemini 2.5,
		name: "thinking_budget",
		req: lyumen.Request{Model: "gemini-2.5-pro", ReasoningBudget: ptr(10000), MaxTokens: 16000,
			Messages: []lyumen.Message{{Role: "user", Content: "Is 1009 prime?"}}},
	},
	{
		// and its adaptive thinking leaves Gemini 3 its default level,
		// only asking to see the thoughts.
		name: "thinking_adaptive",
		req: lyumen.Request{Model: "gemini-3-pro-preview", ReasoningBudget: ptr(-1), MaxTokens: 16000,
			Messages: []lyumen.Message{{Role: "user", Content: "Is 1009 prime?"}}},
	},
	{
		// OpenAI's penalties reach the models that take them (Gemini 2.0),
		name: "penalties",
		req: lyumen.Request{Model: "gemini-2.0-flash", Temperature: ptr(0.7), FrequencyPenalty: ptr(0.5), PresencePenalty: ptr(-0.25),
			Messages: []lyumen.Message{{Role: "user", Content: "Write a poem."}}},
	},
	{
		// and are left out for those that refuse them.
		name: "penalties_refused",
		req: lyumen.Request{Model: "gemini-2.5-flash", Temperature: ptr(0.7), FrequencyPenalty: ptr(0.5), PresencePenalty: ptr(-0.25),
			Messages: []lyumen.Message{{Role: "user", Content: "Write a poem."}}},
	},
	{
		name: "json_mode",
		req: lyumen.Request{Model: "gemini-2.5-flash", Messages: []lyumen.Message{{Role: "user", Content: "Name a colour."}},
			Format: &lyumen.Format{Type: "json_object"}},
	},
	{
		name: "system",
		req: lyumen.Request{Model: "gemini-2.5-flash", MaxTokens: 256, Temperature: ptr(0.2), TopP: ptr(0.9), TopK: ptr(40),
			Stop: []string{"END", "\n\n"}, Messages: []lyumen.Message{
				{Role: "system", Content: "Be brief."},
				{Role: "system", Parts: []lyumen.Part{{Type: lyumen.PartText, Text: "Answer in French."}}},
				{Role: "user", Content: "Hello"},
			}},
	},
	{
		// Consecutive turns of one role are merged, a system message in the
		// middle joins the system instruction, empty messages vanish, and
		// so does the thinking an Anthropic client sends back.
		name: "multi_turn",
		req: lyumen.Request{Model: "gemini-2.5-flash", Messages: []lyumen.Message{
			{Role: "system", Content: "Be brief."},
			{Role: "user", Content: "Hi"},
			{Role: "assistant", Content: "Hello! How can I help?"},
			{Role: "user", Content: "Tell me a joke."},
			{Role: "user", Content: "About cats."},
			{Role: "system", Content: "No puns."},
			{Role: "assistant", Content: ""},
			{Role: "assistant", Parts: []lyumen.Part{{Type: "anthropic:thinking", Text: "A classic."}, {Type: lyumen.PartText, Text: "A cat walks into a bar..."}}},
			{Role: "user", Parts: []lyumen.Part{{Type: lyumen.PartText, Text: "Another"}, {Type: lyumen.PartText, Text: ""}, {Type: lyumen.PartText, Text: ", please."}}},
		}},
	},
	{
		name: "tool_calls_and_results",
		req: lyumen.Request{Model: "gemini-2.5-flash",
			Tools: []lyumen.Tool{
				{Name: "get_weather", Description: "Current weather", Parameters: weatherSchema},
				{Name: "get_time", Parameters: json.RawMessage(`{"type":"object","properties":{}}`)},
			},
			ToolChoice: &lyumen.ToolChoice{Mode: "required"},
			Messages: []lyumen.Message{
				{Role: "user", Content: "Weather and time in Paris?"},
				{Role: "assistant", Content: "Let me check.", ToolCalls: []lyumen.ToolCall{
					{Index: 0, ID: "call_a", Type: "function", Name: "get_weather", Arguments: `{ "city": "Paris" }`},
					{Index: 1, ID: "call_b", Type: "function", Name: "get_time", Arguments: ""},
				}},
				{Role: "tool", ToolCallID: "call_a", Content: `{"temp_c": 18, "sky": "clear"}`},
				{Role: "tool", ToolCallID: "call_b", Content: "14:05"},
				{Role: "assistant", Content: "It is 18C and clear, 14:05."},
				{Role: "user", Content: "And tomorrow?"},
				{Role: "assistant", ToolCalls: []lyumen.ToolCall{{ID: "call_a", Name: "get_weather", Arguments: `{"city":"Paris","day":1}`}}},
				{Role: "tool", ToolCallID: "call_a", Parts: []lyumen.Part{{Type: lyumen.PartText, Text: "[17, 19]"}}},
				{Role: "tool", Name: "get_time", ToolCallID: "get_time", Content: `"09:00"`},
			}},
	},
	{
		name: "tool_choice_named",
		req: lyumen.Request{Model: "gemini-2.5-flash",
			Tools:      []lyumen.Tool{{Name: "get_weather", Parameters: weatherSchema}},
			ToolChoice: &lyumen.ToolChoice{Mode: "tool", Name: "get_weather"},
			Messages:   []lyumen.Message{{Role: "user", Content: "Weather in Paris?"}}},
	},
	{
		name: "tool_choice_none",
		req: lyumen.Request{Model: "gemini-2.5-flash",
			Tools:      []lyumen.Tool{{Name: "get_weather", Parameters: weatherSchema}},
			ToolChoice: &lyumen.ToolChoice{Mode: "none"},
			Messages:   []lyumen.Message{{Role: "user", Content: "Weather in Paris?"}}},
	},
	{
		name: "inline_image",
		req: lyumen.Request{Model: "gemini-2.5-flash", Messages: []lyumen.Message{{Role: "user", Parts: []lyumen.Part{
			{Type: lyumen.PartText, Text: "What is in these?"},
			{Type: lyumen.PartImage, MediaType: "image/png", Data: "iVBORw0KGgo="},
			{Type: lyumen.PartImage, URL: "gs://bucket/photos/cat.JPG"},
		}}}},
	},
	{
		name: "schema_rewrites",
		req: lyumen.Request{Model: "gemini-2.5-flash", Tools: []lyumen.Tool{{Name: "book", Parameters: json.RawMessage(`{
			"$schema": "http://json-schema.org/draft-07/schema#",
			"title": "Booking", "type": "object",
			"properties": {
				"guest": {"$ref": "#/$defs/Person", "description": "who stays"},
				"nights": {"type": ["integer", "null"], "minimum": 1, "exclusiveMaximum": 30, "format": "int32"},
				"room": {"oneOf": [{"const": "single"}, {"const": "double"}]},
				"floor": {"enum": [1, 2, 3]},
				"when": {"type": "string", "format": "date-time"},
				"email": {"type": "string", "format": "email", "pattern": "^.+@.+$"},
				"tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": true, "maxItems": 5},
				"extra": {"allOf": [{"$ref": "#/definitions/Extra"}]},
				"id": {"type": ["string", "integer"]}
			},
			"required": ["guest"],
			"additionalProperties": false,
			"$defs": {"Person": {"type": "object", "properties": {"name": {"type": "string"}}, "additionalProperties": false}},
			"definitions": {"Extra": {"type": "object", "properties": {"note": {"type": "string", "examples": ["late"]}}}}
		}`)}}, Messages: []lyumen.Message{{Role: "user", Content: "Book"}}},
	},
	{
		// A free-form map below the top, as MCP tools declare them: Gemini's
		// Schema refuses an OBJECT without properties anywhere, so the tool
		// goes as JSON Schema, as written, in parametersJsonSchema; the other
		// keeps its Schema in parameters.
		name: "free_form_map",
		req: lyumen.Request{Model: "gemini-2.5-flash", Tools: []lyumen.Tool{
			{Name: "search", Parameters: json.RawMessage(`{"type":"object","properties":{"q":{"type":"string"},` +
				`"filters":{"type":"object","additionalProperties":{"type":"string"}}},"required":["q"]}`)},
			{Name: "get_weather", Parameters: weatherSchema},
		}, Messages: []lyumen.Message{{Role: "user", Content: "Find it"}}},
	},
	{
		// Gemini refuses a request without contents; OpenAI answers one of
		// system messages alone.
		name: "system_only",
		req: lyumen.Request{Model: "gemini-2.5-flash", Messages: []lyumen.Message{
			{Role: "system", Content: "Write a haiku about the sea."}, {Role: "system", Content: "In English."}}},
	},
	{
		// Gemini's Schema refuses an ARRAY without items ("items: missing
		// field"), which a list of anything is, and a tuple once its items
		// are dropped; and a required name its properties do not declare
		// ("property is not defined"). JSON Schema says all three: those
		// tools go as written, in parametersJsonSchema. Keys and items
		// declared through $ref and allOf are declared: that tool keeps its
		// Schema.
		name: "no_schema_for_gemini",
		req: lyumen.Request{Model: "gemini-2.5-flash", Tools: []lyumen.Tool{
			{Name: "tag", Parameters: json.RawMessage(`{"type":"object","properties":{"ids":{"type":"array","description":"anything"}},"required":["ids"]}`)},
			{Name: "move", Parameters: json.RawMessage(`{"type":"object","properties":{"to":{"type":"array","items":[{"type":"number"},{"type":"number"}]}}}`)},
			{Name: "click", Parameters: json.RawMessage(`{"type":"object","properties":{"text":{"type":"string"}},"required":["ref","text"]}`)},
			{Name: "visit", Parameters: json.RawMessage(`{"allOf":[{"$ref":"#/$defs/Trip"}],"required":["stops"],"$defs":{"Trip":{"type":"object",` +
				`"properties":{"stops":{"type":"array","items":{"$ref":"#/$defs/Stop"}}}},"Stop":{"type":"string"}}}`)},
			{Name: "get_weather", Parameters: weatherSchema},
		}, Messages: []lyumen.Message{{Role: "user", Content: "Go"}}},
	},
}

func TestEncodeRequest(t *testing.T) {
	for _, tc := range encodeCases {
		t.Run(tc.name, func(t *testing.T) {
			body, err := gemini.EncodeRequest(&tc.req)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, "request_"+tc.name, body)
		})
	}
}

func TestEncodeRequest_Errors(t *testing.T) {
	user := func(parts ...lyumen.Part) []lyumen.Message {
		return []lyumen.Message{{Role: "user", Parts: parts}}
	}
	call := func(args string) []lyumen.Message {
		return []lyumen.Message{
			{Role: "user", Content: "Weather?"},
			{Role: "assistant", ToolCalls: []lyumen.ToolCall{{ID: "call_1", Name: "get_weather", Arguments: args}}},
		}
	}
	tool := func(schema string) []lyumen.Tool {
		return []lyumen.Tool{{Name: "t", Parameters: json.RawMessage(schema)}}
	}
	tests := []struct {
		name string
		req  lyumen.Request
		want string
	}{
		{
			name: "more answers than Gemini gives",
			req:  lyumen.Request{N: 9, Messages: []lyumen.Message{{Role: "user", Content: "q"}}},
			want: "9 answers per request cannot be asked of this model's provider, which gives at most 8",
		},
		{
			name: "image URL",
			req:  lyumen.Request{Messages: user(lyumen.Part{Type: lyumen.PartImage, URL: "https://example.com/cat.png"})},
			want: "image URLs cannot be sent to this model's provider, which does not fetch them: send the image inline as base64 (a data: URL); only gs:// URIs are passed by reference",
		},
		{
			name: "inline image without a media type",
			req:  lyumen.Request{Messages: user(lyumen.Part{Type: lyumen.PartImage, Data: "iVBORw0KGgo="})},
			want: "an inline image needs its media type (data:image/png;base64,…) for this model's provider",
		},
		{
			name: "gs URI of unknown type",
			req:  lyumen.Request{Messages: user(lyumen.Part{Type: lyumen.PartImage, URL: "gs://bucket/cat"})},
			want: "the type of a gs:// image is read from its extension, and this one is not .png, .jpg, .jpeg, .webp, .heic or .heif",
		},
		{
			name: "unsupported part",
			req:  lyumen.Request{Messages: user(lyumen.Part{Type: "input_audio"})},
			want: "content of type 'input_audio' cannot be sent to this model's provider",
		},
		{
			name: "image in a system message",
			req: lyumen.Request{Messages: []lyumen.Message{{Role: "system", Parts: []lyumen.Part{
				{Type: lyumen.PartImage, MediaType: "image/png", Data: "iVBORw0KGgo="}}}}},
			want: "images in system messages cannot be sent to this model's provider: its system instruction takes text only",
		},
		{
			name: "image in a tool result",
			req: lyumen.Request{Messages: append(call("{}"), lyumen.Message{Role: "tool", ToolCallID: "call_1", Parts: []lyumen.Part{
				{Type: lyumen.PartImage, MediaType: "image/png", Data: "iVBORw0KGgo="}}})},
			want: "images in tool results cannot be sent to this model's provider: a function response holds JSON only",
		},
		{
			name: "tool arguments not JSON",
			req:  lyumen.Request{Messages: call(`{"city":`)},
			want: "the arguments of the tool call 'call_1' are not a JSON object, which this model's provider needs",
		},
		{
			name: "tool arguments not an object",
			req:  lyumen.Request{Messages: call(`["Paris"]`)},
			want: "the arguments of the tool call 'call_1' are not a JSON object, which this model's provider needs",
		},
		{
			name: "tool result for an unknown call",
			req:  lyumen.Request{Messages: append(call("{}"), lyumen.Message{Role: "tool", ToolCallID: "call_9", Content: "18C"})},
			want: "the tool result for 'call_9' answers no earlier tool call, and this model's provider needs the name of the function it answers",
		},
		{
			name: "tool result before its call",
			req: lyumen.Request{Messages: []lyumen.Message{
				{Role: "tool", ToolCallID: "call_1", Content: "18C"},
				{Role: "assistant", ToolCalls: []lyumen.ToolCall{{ID: "call_1", Name: "get_weather", Arguments: "{}"}}},
			}},
			want: "the tool result for 'call_1' answers no earlier tool call, and this model's provider needs the name of the function it answers",
		},
		{
			name: "built-in tool",
			req:  lyumen.Request{Tools: []lyumen.Tool{{Name: "anthropic:web_search_20250305"}}},
			want: "the built-in tool 'anthropic:web_search_20250305' cannot be sent to this model's provider",
		},
		{
			name: "unknown reasoning effort",
			req:  lyumen.Request{Model: "gemini-2.5-flash", ReasoningEffort: "extreme", Messages: []lyumen.Message{{Role: "user", Content: "q"}}},
			want: "the reasoning effort 'extreme' cannot be sent to this model's provider",
		},
		{
			name: "unknown role",
			req:  lyumen.Request{Messages: []lyumen.Message{{Role: "critic", Content: "hm"}}},
			want: "messages with the role 'critic' cannot be sent to this model's provider",
		},
		{
			name: "unknown tool choice",
			req: lyumen.Request{Tools: tool(`{"type":"object","properties":{"a":{"type":"string"}}}`),
				ToolChoice: &lyumen.ToolChoice{Mode: "sometimes"}, Messages: user(lyumen.Part{Type: lyumen.PartText, Text: "hi"})},
			want: "the tool choice 'sometimes' cannot be sent to this model's provider",
		},
		{
			name: "parameters not an object",
			req:  lyumen.Request{Tools: tool(`["a"]`)},
			want: "the parameters of the tool 't' are not a JSON Schema object",
		},
		{
			name: "parameters not JSON",
			req:  lyumen.Request{Tools: tool(`{"type":`)},
			want: "the parameters of the tool 't' are not valid JSON",
		},
		{
			name: "recursive $ref",
			req: lyumen.Request{Tools: tool(`{"type":"object","properties":{"root":{"$ref":"#/$defs/Node"}},
				"$defs":{"Node":{"type":"object","properties":{"child":{"$ref":"#/$defs/Node"}}}}}`)},
			want: "the parameters of the tool 't' refer to themselves ($ref), which this model's provider cannot take",
		},
		{
			name: "remote $ref",
			req:  lyumen.Request{Tools: tool(`{"type":"object","properties":{"a":{"$ref":"https://example.com/a.json"}}}`)},
			want: "the parameters of the tool 't' refer to 'https://example.com/a.json', which is not among their $defs: this model's provider needs every schema inline",
		},
		{
			name: "$refs that multiply",
			req:  lyumen.Request{Tools: tool(multiplyingRefs(12))},
			want: "the parameters of the tool 't' grow too large when their $refs are expanded, as this model's provider needs",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, err := gemini.EncodeRequest(&tc.req)
			if err == nil {
				t.Fatalf("no error; body %s", body)
			}
			e, ok := errors.AsType[*lyumen.Error](err)
			if !ok || e.Kind != lyumen.KindInvalid {
				t.Fatalf("error %v is not a KindInvalid *lyumen.Error", err)
			}
			if e.Message != tc.want {
				t.Errorf("message\n got %q\nwant %q", e.Message, tc.want)
			}
		})
	}
}

// multiplyingRefs is a schema of n definitions, each referring to the next
// four times: 4^n copies when expanded.
func multiplyingRefs(n int) string {
	var b strings.Builder
	b.WriteString(`{"type":"object","properties":{"a":{"$ref":"#/$defs/d0"}},"$defs":{`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		next := `{"type":"string","description":"leaf"}`
		if i < n-1 {
			r := `{"$ref":"#/$defs/d` + string(rune('a'+i+1)) + `"}`
			next = `{"type":"object","properties":{"w":` + r + `,"x":` + r + `,"y":` + r + `,"z":` + r + `}}`
		}
		b.WriteString(`"d` + string(rune('a'+i)) + `":` + next)
	}
	b.WriteString(`}}`)
	return strings.Replace(b.String(), `#/$defs/d0"`, `#/$defs/da"`, 1)
}
