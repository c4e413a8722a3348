package anthropic_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	sdk "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/packages/ssestream"
	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/anthropic"
)

// sdkMessage is what a client reading a message with the official SDK gets.
type sdkMessage struct {
	ID, Type, Role, Model string
	Content               []sdkBlock
	StopReason            string
	Input, Output         int64
}

type sdkBlock struct {
	Type, Text, ID, Name, Input string
}

func viewOf(m *sdk.Message) sdkMessage {
	v := sdkMessage{ID: m.ID, Type: string(m.Type), Role: string(m.Role), Model: string(m.Model), StopReason: string(m.StopReason),
		Input: m.Usage.InputTokens, Output: m.Usage.OutputTokens}
	for _, b := range m.Content {
		v.Content = append(v.Content, sdkBlock{Type: b.Type, Text: b.Text, ID: b.ID, Name: b.Name, Input: string(b.Input)})
	}
	return v
}

func TestEncodeMessage(t *testing.T) {
	usage := &lyumen.Usage{PromptTokens: 10, CompletionTokens: 4, TotalTokens: 14}
	tests := []struct {
		name string
		resp lyumen.Response
		want sdkMessage
	}{
		{
			name: "text",
			resp: lyumen.Response{ID: "chatcmpl-1", Model: "gpt-x", Usage: usage,
				Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant", Content: "hi"}, FinishReason: "stop"}}},
			want: sdkMessage{ID: "msg_chatcmpl-1", Type: "message", Role: "assistant", Model: "gpt-x", StopReason: "end_turn", Input: 10, Output: 4,
				Content: []sdkBlock{{Type: "text", Text: "hi"}}},
		},
		{
			name: "text and tool calls, broken arguments become {}",
			resp: lyumen.Response{ID: "msg_1", Choices: []lyumen.Choice{{FinishReason: "tool_calls", Message: lyumen.Message{Content: "calling",
				ToolCalls: []lyumen.ToolCall{{ID: "c1", Name: "f", Arguments: `{"a": 1}`}, {ID: "c2", Name: "g", Arguments: `{oops`}}}}}},
			want: sdkMessage{ID: "msg_1", Type: "message", Role: "assistant", Model: "public", StopReason: "tool_use",
				Content: []sdkBlock{{Type: "text", Text: "calling"}, {Type: "tool_use", ID: "c1", Name: "f", Input: `{"a":1}`}, {Type: "tool_use", ID: "c2", Name: "g", Input: `{}`}}},
		},
		{
			name: "a forced tool call that ended with stop is tool_use",
			resp: lyumen.Response{ID: "x", Choices: []lyumen.Choice{{FinishReason: "stop", Message: lyumen.Message{
				ToolCalls: []lyumen.ToolCall{{ID: "c1", Name: "f", Arguments: `{}`}}}}}},
			want: sdkMessage{ID: "msg_x", Type: "message", Role: "assistant", Model: "public", StopReason: "tool_use",
				Content: []sdkBlock{{Type: "tool_use", ID: "c1", Name: "f", Input: `{}`}}},
		},
		{
			name: "length",
			resp: lyumen.Response{ID: "x", Choices: []lyumen.Choice{{Message: lyumen.Message{Content: "cut"}, FinishReason: "length"}}},
			want: sdkMessage{ID: "msg_x", Type: "message", Role: "assistant", Model: "public", StopReason: "max_tokens", Content: []sdkBlock{{Type: "text", Text: "cut"}}},
		},
		{
			name: "content filter is a refusal",
			resp: lyumen.Response{ID: "x", Choices: []lyumen.Choice{{FinishReason: "content_filter"}}},
			want: sdkMessage{ID: "msg_x", Type: "message", Role: "assistant", Model: "public", StopReason: "refusal"},
		},
		{
			// An OpenAI model's refusal (structured outputs) ends with
			// "stop", its text in refusal, not content.
			name: "a refusal in place of an answer is a refusal",
			resp: lyumen.Response{ID: "x", Choices: []lyumen.Choice{{FinishReason: "stop", Message: lyumen.Message{Refusal: "I can't help with that."}}}},
			want: sdkMessage{ID: "msg_x", Type: "message", Role: "assistant", Model: "public", StopReason: "refusal"},
		},
		{
			name: "no choices at all",
			resp: lyumen.Response{ID: "x"},
			want: sdkMessage{ID: "msg_x", Type: "message", Role: "assistant", Model: "public", StopReason: "end_turn"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := anthropic.EncodeMessage(&tc.resp, "public")
			var m sdk.Message
			if err := json.Unmarshal(body, &m); err != nil {
				t.Fatalf("%v\n%s", err, body)
			}
			if diff := cmp.Diff(tc.want, viewOf(&m)); diff != "" {
				t.Errorf("(-want +got):\n%s\n%s", diff, body)
			}
		})
	}
	t.Run("raw passes through", func(t *testing.T) {
		raw := []byte(`{"id":"msg_up"}`)
		if got := anthropic.EncodeMessage(&lyumen.Response{Raw: raw}, "m"); !bytes.Equal(got, raw) {
			t.Errorf("got %s", got)
		}
	})
}

// readStream reads an encoded stream with the official SDK, as a client
// does, and accumulates it.
func readStream(tb testing.TB, body []byte) (sdk.Message, []string, error) {
	tb.Helper()
	hreq, _ := http.NewRequest(http.MethodPost, "http://gateway.test/v1/messages", nil)
	res := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: io.NopCloser(bytes.NewReader(body)), Request: hreq}
	s := ssestream.NewStream[sdk.MessageStreamEventUnion](ssestream.NewDecoder(res), nil)
	var m sdk.Message
	var types []string
	for s.Next() {
		ev := s.Current()
		types = append(types, ev.Type)
		if err := m.Accumulate(ev); err != nil {
			tb.Fatalf("SDK refuses the event sequence: %v\n%s", err, body)
		}
	}
	return m, types, s.Err()
}

func TestStreamEncoder(t *testing.T) {
	text := func(s string) lyumen.Event { return lyumen.Event{ID: "c", Choices: []lyumen.ChoiceDelta{{Content: s}}} }
	call := func(i int, id, name, args string) lyumen.Event {
		return lyumen.Event{ID: "c", Choices: []lyumen.ChoiceDelta{{ToolCalls: []lyumen.ToolCall{{Index: i, ID: id, Name: name, Arguments: args}}}}}
	}
	role := lyumen.Event{ID: "c", Model: "up", Choices: []lyumen.ChoiceDelta{{Role: "assistant"}}}
	finish := func(r string) lyumen.Event {
		return lyumen.Event{ID: "c", Choices: []lyumen.ChoiceDelta{{FinishReason: r}}}
	}
	usage := lyumen.Event{ID: "c", Usage: &lyumen.Usage{PromptTokens: 9, CompletionTokens: 3, TotalTokens: 12}}
	tests := []struct {
		name   string
		events []lyumen.Event
		types  []string
		want   sdkMessage
	}{
		{
			name:   "text",
			events: []lyumen.Event{role, text("Hel"), text("lo"), finish("stop"), usage},
			types:  []string{"message_start", "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"},
			want: sdkMessage{ID: "msg_c", Type: "message", Role: "assistant", Model: "up", StopReason: "end_turn", Input: 9, Output: 3,
				Content: []sdkBlock{{Type: "text", Text: "Hello"}}},
		},
		{
			name: "text, then two tool calls in fragments",
			events: []lyumen.Event{role, text("Let me check."), call(0, "c1", "f", ""), call(0, "", "", `{"a":`), call(0, "", "", `1}`),
				call(1, "c2", "g", `{}`), finish("tool_calls"), usage},
			types: []string{"message_start", "content_block_start", "content_block_delta", "content_block_stop",
				"content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
				"content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop"},
			want: sdkMessage{ID: "msg_c", Type: "message", Role: "assistant", Model: "up", StopReason: "tool_use", Input: 9, Output: 3,
				Content: []sdkBlock{{Type: "text", Text: "Let me check."}, {Type: "tool_use", ID: "c1", Name: "f", Input: `{"a":1}`}, {Type: "tool_use", ID: "c2", Name: "g", Input: `{}`}}},
		},
		{
			name:   "a forced tool call that ended with stop is tool_use",
			events: []lyumen.Event{role, call(0, "c1", "f", `{"a":1}`), finish("stop"), usage},
			types: []string{"message_start", "content_block_start", "content_block_delta", "content_block_stop",
				"message_delta", "message_stop"},
			want: sdkMessage{ID: "msg_c", Type: "message", Role: "assistant", Model: "up", StopReason: "tool_use", Input: 9, Output: 3,
				Content: []sdkBlock{{Type: "tool_use", ID: "c1", Name: "f", Input: `{"a":1}`}}},
		},
		{
			name:   "text after a tool call opens a new block",
			events: []lyumen.Event{call(0, "c1", "f", `{}`), text("and"), finish("length")},
			types: []string{"message_start", "content_block_start", "content_block_delta", "content_block_stop",
				"content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop"},
			want: sdkMessage{ID: "msg_c", Type: "message", Role: "assistant", Model: "public", StopReason: "max_tokens",
				Content: []sdkBlock{{Type: "tool_use", ID: "c1", Name: "f", Input: `{}`}, {Type: "text", Text: "and"}}},
		},
		{
			name: "a refusal in place of an answer is a refusal",
			events: []lyumen.Event{role, {ID: "c", Choices: []lyumen.ChoiceDelta{{Refusal: "I can't"}}},
				{ID: "c", Choices: []lyumen.ChoiceDelta{{Refusal: " help."}}}, finish("stop"), usage},
			types: []string{"message_start", "message_delta", "message_stop"},
			want:  sdkMessage{ID: "msg_c", Type: "message", Role: "assistant", Model: "up", StopReason: "refusal", Input: 9, Output: 3},
		},
		{
			name:   "no events at all",
			types:  []string{"message_start", "message_delta", "message_stop"},
			want:   sdkMessage{Type: "message", Role: "assistant", Model: "public", StopReason: "end_turn"},
			events: nil,
		},
		{
			name:   "choices other than the first are left out",
			events: []lyumen.Event{{ID: "c", Choices: []lyumen.ChoiceDelta{{Index: 1, Content: "other"}, {Index: 0, Content: "first"}}}},
			types:  []string{"message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop"},
			want: sdkMessage{ID: "msg_c", Type: "message", Role: "assistant", Model: "public", StopReason: "end_turn",
				Content: []sdkBlock{{Type: "text", Text: "first"}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			enc := anthropic.NewStreamEncoder("public")
			var out []byte
			var asm lyumen.Assembler
			for i := range tc.events {
				asm.Add(&tc.events[i])
				out = enc.Event(out, &tc.events[i])
			}
			out = enc.End(out, asm.Response())
			m, types, err := readStream(t, out)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.types, types); diff != "" {
				t.Errorf("event sequence (-want +got):\n%s", diff)
			}
			got := viewOf(&m)
			if len(tc.events) == 0 {
				got.ID = "" // generated
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("accumulated message (-want +got):\n%s\n%s", diff, out)
			}
			for _, line := range strings.Split(string(out), "\n") {
				if name, ok := strings.CutPrefix(line, "event: "); ok && name == "" {
					t.Errorf("an event without a name: %q", line)
				}
			}
		})
	}
}

func TestStreamEncoder_Fail(t *testing.T) {
	enc := anthropic.NewStreamEncoder("public")
	out := enc.Event(nil, &lyumen.Event{ID: "c", Choices: []lyumen.ChoiceDelta{{Content: "partial"}}})
	out = enc.Fail(out, &lyumen.Error{Kind: lyumen.KindUpstream, Status: 529, Message: "upstream: Overloaded"})
	_, _, err := readStream(t, out)
	apiErr, ok := errors.AsType[*sdk.Error](err)
	if !ok {
		t.Fatalf("err = %v, want an *anthropic.Error from the error event", err)
	}
	if apiErr.Type() != "overloaded_error" || apiErr.Message != "upstream: Overloaded" {
		t.Errorf("error type %q message %q", apiErr.Type(), apiErr.Message)
	}
	if !strings.HasSuffix(string(out), "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"upstream: Overloaded\"}}\n\n") {
		t.Errorf("stream ends with\n%s", out)
	}
}
