package openai_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/openai/openai-go/v3/packages/ssestream"
	"github.com/openai/openai-go/v3/responses"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/openai"
)

// validResponses are bodies DecodeResponses accepts, with the request it
// must make of each (Surface and Body are filled in by the test).
var validResponses = []struct {
	name string
	body string
	want lyumen.Request
}{
	{
		name: "string input",
		body: `{"model":"gpt-4o","input":"Hi"}`,
		want: lyumen.Request{Model: "gpt-4o", Messages: []lyumen.Message{{Role: "user", Content: "Hi"}}},
	},
	{
		name: "instructions lead as a system message; sampling and limits",
		body: `{"model":"gpt-4o","instructions":"Be brief.","input":"Hi","stream":true,"max_output_tokens":50,"temperature":0.2,"top_p":0.9,"store":true,"metadata":{"a":"b"},"reasoning":{"effort":"low"},"user":"u","truncation":"auto","include":["message.output_text.logprobs"],"previous_response_id":null,"text":{"format":{"type":"text"},"verbosity":"low"}}`,
		want: lyumen.Request{Model: "gpt-4o", Stream: true, MaxTokens: 50, Temperature: ptr(0.2), TopP: ptr(0.9), ReasoningEffort: "low",
			Messages: []lyumen.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Hi"}}},
	},
	{
		name: "structured output",
		body: `{"model":"gpt-4o","input":"Hi","text":{"format":{"type":"json_schema","name":"answer","description":"d","strict":true,"schema":{"type":"object"}}}}`,
		want: lyumen.Request{Model: "gpt-4o", Messages: []lyumen.Message{{Role: "user", Content: "Hi"}},
			Format: &lyumen.Format{Type: "json_schema", Name: "answer", Description: "d", Strict: ptr(true), Schema: json.RawMessage(`{"type":"object"}`)}},
	},
	{
		name: "JSON mode",
		body: `{"model":"gpt-4o","input":"Hi","text":{"format":{"type":"json_object"}}}`,
		want: lyumen.Request{Model: "gpt-4o", Messages: []lyumen.Message{{Role: "user", Content: "Hi"}}, Format: &lyumen.Format{Type: "json_object"}},
	},
	{
		name: "messages of every role, easy and typed",
		body: `{"model":"gpt-4o","input":[
			{"role":"system","content":"S"},
			{"role":"developer","content":[{"type":"input_text","text":"D"}]},
			{"type":"message","role":"user","content":[{"type":"input_text","text":"Hello, "},{"type":"input_text","text":"world"}]},
			{"type":"message","role":"assistant","id":"msg_1","status":"completed","content":[{"type":"output_text","text":"Hi!","annotations":[]}]},
			{"role":"assistant","content":[{"type":"refusal","refusal":"I can't."}]},
			{"role":"user","content":null}]}`,
		want: lyumen.Request{Model: "gpt-4o", Messages: []lyumen.Message{
			{Role: "system", Content: "S"},
			{Role: "system", Content: "D"},
			{Role: "user", Content: "Hello, world"},
			{Role: "assistant", Content: "Hi!"},
			{Role: "assistant", Content: "I can't."},
			{Role: "user"},
		}},
	},
	{
		name: "images by address and inline",
		body: `{"model":"gpt-4o","input":[{"role":"user","content":[{"type":"input_text","text":"What is this?"},{"type":"input_image","image_url":"https://example.com/cat.png","detail":"low"},{"type":"input_image","image_url":"data:image/png;base64,iVBORw0KGgo=","detail":"auto"}]}]}`,
		want: lyumen.Request{Model: "gpt-4o", Messages: []lyumen.Message{{Role: "user", Parts: []lyumen.Part{
			{Type: "text", Text: "What is this?"},
			{Type: "image", URL: "https://example.com/cat.png"},
			{Type: "image", MediaType: "image/png", Data: "iVBORw0KGgo="},
		}}}},
	},
	{
		name: "function calls join the assistant turn before them; outputs become tool messages",
		body: `{"model":"gpt-4o","input":[
			{"role":"user","content":"Weather and time?"},
			{"role":"assistant","content":"Checking."},
			{"type":"function_call","call_id":"call_a","name":"get_weather","arguments":"{\"city\":\"Paris\"}","id":"fc_1","status":"completed"},
			{"type":"function_call","call_id":"call_b","name":"get_time","arguments":"{}"},
			{"type":"function_call_output","call_id":"call_a","output":"18C"},
			{"type":"function_call_output","call_id":"call_b","output":[{"type":"input_text","text":"14:05"}]},
			{"type":"function_call","call_id":"call_c","name":"get_time","arguments":"{}"}]}`,
		want: lyumen.Request{Model: "gpt-4o", Messages: []lyumen.Message{
			{Role: "user", Content: "Weather and time?"},
			{Role: "assistant", Content: "Checking.", ToolCalls: []lyumen.ToolCall{
				{Index: 0, ID: "call_a", Type: "function", Name: "get_weather", Arguments: `{"city":"Paris"}`},
				{Index: 1, ID: "call_b", Type: "function", Name: "get_time", Arguments: "{}"},
			}},
			{Role: "tool", ToolCallID: "call_a", Content: "18C"},
			{Role: "tool", ToolCallID: "call_b", Content: "14:05"},
			{Role: "assistant", ToolCalls: []lyumen.ToolCall{{Index: 0, ID: "call_c", Type: "function", Name: "get_time", Arguments: "{}"}}},
		}},
	},
	{
		name: "reasoning items, sent back with a response's output, join the assistant turn after them",
		body: `{"model":"gpt-4o","input":[
			{"role":"user","content":"Hi"},
			{"type":"reasoning","id":"rs_1","summary":[],"content":[{"type":"reasoning_text","text":"A greeting."}],"status":"completed"},
			{"type":"message","id":"msg_1","role":"assistant","status":"completed","content":[{"type":"output_text","text":"Hello!","annotations":[],"logprobs":[]}]},
			{"role":"user","content":"Weather?"},
			{"type":"reasoning","id":"rs_2","summary":[{"type":"summary_text","text":"Needs a tool."}],"encrypted_content":"gAAA"},
			{"type":"function_call","call_id":"call_a","name":"get_weather","arguments":"{}"},
			{"type":"reasoning","id":"rs_3","summary":[]}]}`,
		want: lyumen.Request{Model: "gpt-4o", Messages: []lyumen.Message{
			{Role: "user", Content: "Hi"},
			{Role: "assistant", Content: "Hello!", Reasoning: "A greeting."},
			{Role: "user", Content: "Weather?"},
			{Role: "assistant", Reasoning: "Needs a tool.", ToolCalls: []lyumen.ToolCall{
				{Index: 0, ID: "call_a", Type: "function", Name: "get_weather", Arguments: "{}"},
			}},
		}},
	},
	{
		// A response cut short while it reasoned has a reasoning item and
		// no message: sent back, its reasoning belongs to no later turn.
		name: "a reasoning item without a turn after it is not given to a later turn",
		body: `{"model":"gpt-4o","input":[
			{"role":"user","content":"Hi"},
			{"type":"reasoning","id":"rs_1","summary":[],"content":[{"type":"reasoning_text","text":"Cut short."}]},
			{"role":"user","content":"Go on"},
			{"type":"message","role":"assistant","content":[{"type":"output_text","text":"Hello!"}]},
			{"role":"user","content":"Weather?"}]}`,
		want: lyumen.Request{Model: "gpt-4o", Messages: []lyumen.Message{
			{Role: "user", Content: "Hi"},
			{Role: "user", Content: "Go on"},
			{Role: "assistant", Content: "Hello!"},
			{Role: "user", Content: "Weather?"},
		}},
	},
	{
		name: "function tools are flat; tool_choice names one",
		body: `{"model":"gpt-4o","input":"Weather?","tools":[{"type":"function","name":"get_weather","description":"Weather now","parameters":{"type":"object"},"strict":true}],"tool_choice":{"type":"function","name":"get_weather"}}`,
		want: lyumen.Request{Model: "gpt-4o", Messages: []lyumen.Message{{Role: "user", Content: "Weather?"}},
			Tools:      []lyumen.Tool{{Name: "get_weather", Description: "Weather now", Parameters: json.RawMessage(`{"type":"object"}`), Strict: ptr(true)}},
			ToolChoice: &lyumen.ToolChoice{Mode: "tool", Name: "get_weather"}},
	},
	{
		name: "tool_choice modes",
		body: `{"model":"gpt-4o","input":"x","tool_choice":"required","background":false,"top_logprobs":0}`,
		want: lyumen.Request{Model: "gpt-4o", Messages: []lyumen.Message{{Role: "user", Content: "x"}},
			ToolChoice: &lyumen.ToolChoice{Mode: "required"}},
	},
	{
		name: "parallel tool calls off",
		body: `{"model":"gpt-4o","input":"x","parallel_tool_calls":false}`,
		want: lyumen.Request{Model: "gpt-4o", Messages: []lyumen.Message{{Role: "user", Content: "x"}}, NoParallelToolCalls: true},
	},
}

func TestDecodeResponses(t *testing.T) {
	for _, tc := range validResponses {
		t.Run(tc.name, func(t *testing.T) {
			got, err := openai.DecodeResponses([]byte(tc.body))
			if err != nil {
				t.Fatalf("DecodeResponses: %v", err)
			}
			want := tc.want
			want.Surface = lyumen.SurfaceOpenAIResponses
			want.Body = []byte(tc.body)
			if diff := cmp.Diff(&want, got); diff != "" {
				t.Errorf("DecodeResponses mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// invalidResponses are bodies DecodeResponses refuses, with the Param the
// error must name and, for what cannot be translated, words the message
// must hold so the client knows why.
var invalidResponses = []struct {
	name      string
	body      string
	wantParam string
	wantMsg   string
}{
	{name: "empty body", body: ``},
	{name: "not JSON", body: `{"model":`},
	{name: "array body", body: `[]`},
	{name: "null body", body: `null`},
	{name: "missing model", body: `{"input":"x"}`, wantParam: "model"},
	{name: "model not a string", body: `{"model":1,"input":"x"}`, wantParam: "model"},
	{name: "missing input", body: `{"model":"m"}`, wantParam: "input"},
	{name: "null input", body: `{"model":"m","input":null}`, wantParam: "input"},
	{name: "empty input", body: `{"model":"m","input":[]}`, wantParam: "input"},
	{name: "input a number", body: `{"model":"m","input":5}`, wantParam: "input"},
	{name: "input item not an object", body: `{"model":"m","input":["x"]}`, wantParam: "input[0]"},
	{name: "input item null", body: `{"model":"m","input":[null]}`, wantParam: "input[0].role"},
	{name: "unknown role", body: `{"model":"m","input":[{"role":"tool","content":"x"}]}`, wantParam: "input[0].role"},
	{name: "content a number", body: `{"model":"m","input":[{"role":"user","content":4}]}`, wantParam: "input[0].content"},
	{name: "chat-style image", body: `{"model":"m","input":[{"role":"user","content":[{"type":"input_image","image_url":{"url":"https://x"}}]}]}`, wantParam: "input[0].content.image_url"},
	{name: "image without address", body: `{"model":"m","input":[{"role":"user","content":[{"type":"input_image"}]}]}`, wantParam: "input[0].content[0].image_url"},
	{name: "function_call without call_id", body: `{"model":"m","input":[{"type":"function_call","name":"f","arguments":"{}"}]}`, wantParam: "input[0].call_id"},
	{name: "function_call without name", body: `{"model":"m","input":[{"type":"function_call","call_id":"c","arguments":"{}"}]}`, wantParam: "input[0].name"},
	{name: "function_call_output without call_id", body: `{"model":"m","input":[{"type":"function_call_output","output":"x"}]}`, wantParam: "input[0].call_id"},
	{name: "negative max_output_tokens", body: `{"model":"m","input":"x","max_output_tokens":-1}`, wantParam: "max_output_tokens"},
	{name: "temperature a string", body: `{"model":"m","input":"x","temperature":"hot"}`, wantParam: "temperature"},
	{name: "parallel_tool_calls not a bool", body: `{"model":"m","input":"x","parallel_tool_calls":0}`, wantParam: "parallel_tool_calls"},
	{name: "instructions an array", body: `{"model":"m","input":"x","instructions":["a"]}`, wantParam: "instructions"},
	{name: "unknown tool_choice", body: `{"model":"m","input":"x","tool_choice":"any"}`, wantParam: "tool_choice"},
	{name: "tool_choice function without name", body: `{"model":"m","input":"x","tool_choice":{"type":"function"}}`, wantParam: "tool_choice.name"},
	{name: "duplicate input", body: `{"model":"m","input":"x","input":"y"}`, wantParam: "input"},
	{name: "chat-style tool", body: `{"model":"m","input":"x","tools":[{"type":"function","function":{"name":"f"}}]}`, wantParam: "tools[0].name", wantMsg: "flat"},
	{name: "tool without name", body: `{"model":"m","input":"x","tools":[{"type":"function"}]}`, wantParam: "tools[0].name"},
	{name: "unknown text format", body: `{"model":"m","input":"x","text":{"format":{"type":"yaml"}}}`, wantParam: "text.format.type", wantMsg: "Supported values are"},
	{name: "json_schema without name", body: `{"model":"m","input":"x","text":{"format":{"type":"json_schema","schema":{}}}}`, wantParam: "text.format.name", wantMsg: "Missing required parameter"},

	// Features the canonical form cannot carry.
	{name: "built-in tool", body: `{"model":"m","input":"x","tools":[{"type":"web_search"}]}`, wantParam: "tools[0].type", wantMsg: "tools of type 'web_search' cannot be translated: only function tools are supported"},
	{name: "built-in tool_choice", body: `{"model":"m","input":"x","tool_choice":{"type":"file_search"}}`, wantParam: "tool_choice.type", wantMsg: "cannot be translated"},
	{name: "allowed_tools", body: `{"model":"m","input":"x","tool_choice":{"type":"allowed_tools","mode":"auto","tools":[]}}`, wantParam: "tool_choice.type", wantMsg: "cannot be translated"},
	{name: "previous_response_id", body: `{"model":"m","input":"x","previous_response_id":"resp_1"}`, wantParam: "previous_response_id", wantMsg: "stores no responses"},
	{name: "conversation", body: `{"model":"m","input":"x","conversation":"conv_1"}`, wantParam: "conversation", wantMsg: "stores no conversations"},
	{name: "stored prompt", body: `{"model":"m","input":"x","prompt":{"id":"pmpt_1"}}`, wantParam: "prompt", wantMsg: "not supported"},
	{name: "background", body: `{"model":"m","input":"x","background":true}`, wantParam: "background", wantMsg: "not supported"},
	{name: "top_logprobs", body: `{"model":"m","input":"x","top_logprobs":3}`, wantParam: "top_logprobs", wantMsg: "cannot be translated"},
	{name: "reasoning content not an array", body: `{"model":"m","input":[{"type":"reasoning","id":"rs_1","summary":[],"content":"x"}]}`, wantParam: "input[0].content"},
	{name: "item reference", body: `{"model":"m","input":[{"type":"item_reference","id":"msg_1"}]}`, wantParam: "input[0].type", wantMsg: "stores none"},
	{name: "file input", body: `{"model":"m","input":[{"role":"user","content":[{"type":"input_file","file_id":"file_1"}]}]}`, wantParam: "input[0].content[0].type", wantMsg: "content of type 'input_file' cannot be translated"},
	{name: "image by file id", body: `{"model":"m","input":[{"role":"user","content":[{"type":"input_image","file_id":"file_1"}]}]}`, wantParam: "input[0].content[0].file_id", wantMsg: "stores no files"},
}

func TestDecodeResponses_Invalid(t *testing.T) {
	for _, tc := range invalidResponses {
		t.Run(tc.name, func(t *testing.T) {
			got, err := openai.DecodeResponses([]byte(tc.body))
			checkInvalid(t, got, err, tc.wantParam, tc.wantMsg)
		})
	}
}

// checkInvalid checks that a decoder refused its input with a client
// error naming param, whose message holds msg.
func checkInvalid[T any](tb testing.TB, got *T, err error, param, msg string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("decoded %+v, want an error", got)
	}
	e, ok := errors.AsType[*lyumen.Error](err)
	if !ok {
		tb.Fatalf("error %T (%v), want *lyumen.Error", err, err)
	}
	if e.Kind != lyumen.KindInvalid || e.Param != param {
		tb.Errorf("error %q: kind %v param %q, want KindInvalid and %q", e.Message, e.Kind, e.Param, param)
	}
	if !strings.Contains(e.Message, msg) {
		tb.Errorf("message %q does not say %q", e.Message, msg)
	}
	checkClientMessage(tb, e.Message)
	// The client sees a 400 in the OpenAI envelope.
	if status, _ := openai.Error(err); status != http.StatusBadRequest {
		tb.Errorf("status %d, want 400", status)
	}
}

func FuzzDecodeResponses(f *testing.F) {
	for _, tc := range validResponses {
		f.Add([]byte(tc.body))
	}
	for _, tc := range invalidResponses {
		f.Add([]byte(tc.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := openai.DecodeResponses(body)
		if err != nil {
			checkFuzzError(t, req, err)
			return
		}
		if req.Model == "" || len(req.Messages) == 0 || req.Surface != lyumen.SurfaceOpenAIResponses || !bytes.Equal(req.Body, body) {
			t.Fatalf("accepted a request without model or messages, or mislabelled: %+v", req)
		}
		checkCanonical(t, req)
		// Whatever was accepted can be rendered back.
		resp := &lyumen.Response{ID: "x", Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant", Content: "a"}, FinishReason: "stop"}}}
		if b := openai.EncodeResponse(resp, req, now); !json.Valid(b) {
			t.Fatalf("EncodeResponse made invalid JSON: %s", b)
		}
	})
}

// checkFuzzError checks a refusal is a client error with a message.
func checkFuzzError[T any](t *testing.T, got *T, err error) {
	t.Helper()
	if got != nil {
		t.Errorf("returned a request with error %v", err)
	}
	e, ok := errors.AsType[*lyumen.Error](err)
	if !ok || e.Kind != lyumen.KindInvalid || e.Message == "" {
		t.Fatalf("error %T %v, want *lyumen.Error of KindInvalid with a message", err, err)
	}
}

// checkCanonical checks an accepted request is in canonical form and can
// be sent to a chat upstream, or is refused there by name.
func checkCanonical(t *testing.T, req *lyumen.Request) {
	t.Helper()
	for i, m := range req.Messages {
		switch m.Role {
		case "system", "user", "assistant", "tool":
		default:
			t.Errorf("messages[%d].Role = %q is not canonical", i, m.Role)
		}
	}
	b, err := openai.EncodeChatRequest(req)
	if err != nil {
		if lyumen.KindOf(err) != lyumen.KindInvalid {
			t.Fatalf("EncodeChatRequest: %v", err)
		}
		return
	}
	if !json.Valid(b) {
		t.Fatalf("EncodeChatRequest made invalid JSON: %s", b)
	}
}

// sdkEvents reads an SSE body with the official SDK's decoder.
func sdkEvents(tb testing.TB, body []byte) ([]responses.ResponseStreamEventUnion, []string) {
	tb.Helper()
	res := &http.Response{Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: io.NopCloser(bytes.NewReader(body))}
	s := ssestream.NewStream[responses.ResponseStreamEventUnion](ssestream.NewDecoder(res), nil)
	var evs []responses.ResponseStreamEventUnion
	for s.Next() {
		evs = append(evs, s.Current())
	}
	if err := s.Err(); err != nil {
		tb.Fatalf("SDK stream: %v", err)
	}
	var names []string
	for _, line := range strings.Split(string(body), "\n") {
		if name, ok := strings.CutPrefix(line, "event: "); ok {
			names = append(names, name)
		}
	}
	return evs, names
}

func TestResponsesStream_SDK(t *testing.T) {
	req, err := openai.DecodeResponses([]byte(`{"model":"gpt-test","input":"Hi","stream":true,"tools":[{"type":"function","name":"f"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	enc := openai.NewResponsesStream(req, now)
	events := []lyumen.Event{
		{ID: "chatcmpl-1", Model: "m-1", Choices: []lyumen.ChoiceDelta{{Role: "assistant"}}},
		{Choices: []lyumen.ChoiceDelta{{Content: "Hel"}}},
		{Choices: []lyumen.ChoiceDelta{{Content: "lo"}}},
		{Choices: []lyumen.ChoiceDelta{{ToolCalls: []lyumen.ToolCall{{Index: 0, ID: "call_1", Name: "f", Arguments: `{"a":`}}}}},
		{Choices: []lyumen.ChoiceDelta{{ToolCalls: []lyumen.ToolCall{{Index: 0, Arguments: `1}`}}}}},
		{Choices: []lyumen.ChoiceDelta{{FinishReason: "tool_calls"}}},
		{Usage: &lyumen.Usage{PromptTokens: 3, CompletionTokens: 4, TotalTokens: 7}},
	}
	var asm lyumen.Assembler
	var out []byte
	for i := range events {
		asm.Add(&events[i])
		out = enc.Event(out, &events[i])
	}
	out = enc.End(out, asm.Response())

	evs, names := sdkEvents(t, out)
	var text, args strings.Builder
	var types []string
	for i, ev := range evs {
		types = append(types, ev.Type)
		if ev.SequenceNumber != int64(i) {
			t.Errorf("event %d (%s) has sequence_number %d", i, ev.Type, ev.SequenceNumber)
		}
		switch ev.Type {
		case "response.output_text.delta":
			text.WriteString(ev.Delta)
		case "response.function_call_arguments.delta":
			args.WriteString(ev.Delta)
		}
	}
	if diff := cmp.Diff(types, names); diff != "" {
		t.Errorf("SSE event names differ from the types (-types +names):\n%s", diff)
	}
	want := []string{
		"response.created", "response.in_progress",
		"response.output_item.added", "response.content_part.added",
		"response.output_text.delta", "response.output_text.delta",
		"response.output_text.done", "response.content_part.done", "response.output_item.done",
		"response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.delta",
		"response.function_call_arguments.done", "response.output_item.done",
		"response.completed",
	}
	if diff := cmp.Diff(want, types); diff != "" {
		t.Errorf("event sequence (-want +got):\n%s", diff)
	}
	if text.String() != "Hello" || args.String() != `{"a":1}` {
		t.Errorf("deltas: text %q, arguments %q", text.String(), args.String())
	}
	final := evs[len(evs)-1].AsResponseCompleted().Response
	got := struct {
		Status, Text, Model        string
		Calls                      []string
		Input, OutputTok, TotalTok int64
	}{Status: string(final.Status), Text: final.OutputText(), Model: final.Model,
		Input: final.Usage.InputTokens, OutputTok: final.Usage.OutputTokens, TotalTok: final.Usage.TotalTokens}
	for _, item := range final.Output {
		if item.Type == "function_call" {
			fc := item.AsFunctionCall()
			got.Calls = append(got.Calls, fc.CallID+" "+fc.Name+" "+fc.Arguments)
		}
	}
	wantFinal := got
	wantFinal.Status, wantFinal.Text, wantFinal.Model = "completed", "Hello", "m-1"
	wantFinal.Calls = []string{`call_1 f {"a":1}`}
	wantFinal.Input, wantFinal.OutputTok, wantFinal.TotalTok = 3, 4, 7
	if diff := cmp.Diff(wantFinal, got); diff != "" {
		t.Errorf("response.completed (-want +got):\n%s", diff)
	}
	if evs[0].Response.ID != final.ID || !strings.HasPrefix(final.ID, "resp_") {
		t.Errorf("response ids %q and %q", evs[0].Response.ID, final.ID)
	}
}

// TestResponses_CutFunctionCall: a function call that max_output_tokens
// cut short has cut arguments; it is marked incomplete, as a cut message
// is, so that a client does not run it. It was marked completed.
func TestResponses_CutFunctionCall(t *testing.T) {
	req, err := openai.DecodeResponses([]byte(`{"model":"gpt-test","input":"Hi","max_output_tokens":9,"tools":[{"type":"function","name":"f"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	events := []lyumen.Event{
		{ID: "chatcmpl-1", Model: "m-1", Choices: []lyumen.ChoiceDelta{{Role: "assistant", Content: "Let me see."}}},
		{Choices: []lyumen.ChoiceDelta{{ToolCalls: []lyumen.ToolCall{{Index: 0, ID: "call_1", Name: "f", Arguments: `{"city":"Par`}}}}},
		{Choices: []lyumen.ChoiceDelta{{FinishReason: "length"}}},
	}
	var asm lyumen.Assembler
	enc := openai.NewResponsesStream(req, now)
	var out []byte
	for i := range events {
		asm.Add(&events[i])
		out = enc.Event(out, &events[i])
	}
	out = enc.End(out, asm.Response())
	evs, _ := sdkEvents(t, out)
	streamed := evs[len(evs)-1].AsResponseIncomplete().Response

	var whole responses.Response
	if err := json.Unmarshal(openai.EncodeResponse(asm.Response(), req, now), &whole); err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]responses.Response{"streamed": streamed, "whole": whole} {
		var statuses []string
		for _, item := range r.Output {
			statuses = append(statuses, item.Type+" "+string(item.Status))
		}
		want := []string{"message completed", "function_call incomplete"}
		if diff := cmp.Diff(want, statuses); diff != "" || r.Status != "incomplete" {
			t.Errorf("%s: status %q, items (-want +got):\n%s", name, r.Status, diff)
		}
	}
}

func TestResponsesStream_Fail(t *testing.T) {
	req, _ := openai.DecodeResponses([]byte(`{"model":"gpt-test","input":"Hi","stream":true}`))
	enc := openai.NewResponsesStream(req, now)
	out := enc.Event(nil, &lyumen.Event{ID: "chatcmpl-2", Choices: []lyumen.ChoiceDelta{{Content: "Par"}}})
	out = enc.Fail(out, &lyumen.Error{Kind: lyumen.KindUpstream, Message: "the upstream stream ended early"})
	evs, _ := sdkEvents(t, out)
	n := len(evs)
	if n < 2 || evs[n-2].Type != "error" || evs[n-1].Type != "response.failed" {
		t.Fatalf("stream does not end with error, response.failed: %s", out)
	}
	e := evs[n-2].AsError()
	if e.Message != "the upstream stream ended early" || e.Code != "upstream_error" {
		t.Errorf("error event: code %q message %q", e.Code, e.Message)
	}
	failed := evs[n-1].AsResponseFailed().Response
	if failed.Status != "failed" || failed.Error.Code != "server_error" || failed.OutputText() != "Par" {
		t.Errorf("response.failed: status %q error %+v text %q", failed.Status, failed.Error, failed.OutputText())
	}
}

func TestEncodeResponse_SDK(t *testing.T) {
	req, err := openai.DecodeResponses([]byte(`{"model":"gpt-test","input":"Hi","instructions":"Be brief.","max_output_tokens":5,"temperature":0.3,"tool_choice":"none"}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                     string
		resp                     lyumen.Response
		status, text, incomplete string
		calls                    int
	}{
		{
			name: "text",
			resp: lyumen.Response{ID: "chatcmpl-a", Model: "m-1", Usage: &lyumen.Usage{PromptTokens: 1, CompletionTokens: 2, TotalTokens: 3},
				Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant", Content: "Hello"}, FinishReason: "stop"}}},
			status: "completed", text: "Hello",
		},
		{
			name:   "cut short",
			resp:   lyumen.Response{ID: "chatcmpl-b", Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant", Content: "Hel"}, FinishReason: "length"}}},
			status: "incomplete", text: "Hel", incomplete: "max_output_tokens",
		},
		{
			name: "tool calls",
			resp: lyumen.Response{ID: "chatcmpl-c", Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant", ToolCalls: []lyumen.ToolCall{
				{Index: 0, ID: "call_1", Name: "f", Arguments: "{}"}, {Index: 1, Name: "g", Arguments: `{"x":1}`},
			}}, FinishReason: "tool_calls"}}},
			status: "completed", calls: 2,
		},
		{name: "no choices", resp: lyumen.Response{}, status: "completed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r responses.Response
			if err := json.Unmarshal(openai.EncodeResponse(&tc.resp, req, now), &r); err != nil {
				t.Fatal(err)
			}
			if string(r.Status) != tc.status || r.OutputText() != tc.text || r.IncompleteDetails.Reason != tc.incomplete {
				t.Errorf("status %q text %q incomplete %q; want %q %q %q", r.Status, r.OutputText(), r.IncompleteDetails.Reason, tc.status, tc.text, tc.incomplete)
			}
			calls := 0
			for _, item := range r.Output {
				if item.Type == "function_call" {
					calls++
					if fc := item.AsFunctionCall(); fc.CallID == "" || !strings.HasPrefix(fc.ID, "fc_") {
						t.Errorf("function call without ids: %+v", fc)
					}
				}
			}
			if calls != tc.calls {
				t.Errorf("%d function calls, want %d", calls, tc.calls)
			}
			if r.Object != "response" || r.CreatedAt != float64(now.Unix()) || r.Instructions.OfString != "Be brief." ||
				r.MaxOutputTokens != 5 || r.Temperature != 0.3 || r.ToolChoice.OfToolChoiceMode != "none" {
				t.Errorf("echoed request fields: %s", r.RawJSON())
			}
		})
	}
}

// TestResponses_EffortAndStrict: a Responses client's reasoning.effort and
// a function's strict reach a chat upstream (reasoning_effort, and the
// function's strict), and the response echoes the effort asked for; they
// were dropped, the echo saying effort null and strict true.
func TestResponses_EffortAndStrict(t *testing.T) {
	req, err := openai.DecodeResponses([]byte(`{"model":"o3","input":"Weather?","reasoning":{"effort":"high","summary":"auto"},` +
		`"tools":[{"type":"function","name":"w","parameters":{"type":"object","properties":{},"additionalProperties":false},"strict":true},` +
		`{"type":"function","name":"v","parameters":{"type":"object"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	body, err := openai.EncodeChatRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	var up struct {
		ReasoningEffort string `json:"reasoning_effort"`
		Tools           []struct {
			Function map[string]any `json:"function"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(body, &up); err != nil {
		t.Fatal(err)
	}
	if up.ReasoningEffort != "high" || len(up.Tools) != 2 || up.Tools[0].Function["strict"] != true || up.Tools[1].Function["strict"] != nil {
		t.Errorf("upstream body %s: want reasoning_effort high, strict on the first function only", body)
	}
	resp := &lyumen.Response{ID: "c", Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant", Content: "Sunny"}, FinishReason: "stop"}}}
	if out := openai.EncodeResponse(resp, req, time.Unix(1, 0)); !bytes.Contains(out, []byte(`"reasoning":{"effort":"high"`)) {
		t.Errorf("response %s: want the effort echoed", out)
	}
	// Without tools or an effort, the commonest translated request keeps
	// its fast encoding and says neither.
	req, _ = openai.DecodeResponses([]byte(`{"model":"m","input":"Hi"}`))
	if body, _ := openai.EncodeChatRequest(req); bytes.Contains(body, []byte("reasoning_effort")) || bytes.Contains(body, []byte("strict")) {
		t.Errorf("upstream body %s", body)
	}
}
