package openai

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/jsontext"
	"github.com/lyumen/lyumen/internal/sse"
)

// TestEncodeChunk_TextFastPath checks that a text-only event renders the
// same bytes on the fast path as through encoding/json.
func TestEncodeChunk_TextFastPath(t *testing.T) {
	now := time.Unix(1741569952, 0)
	for _, s := range jsontext.Strings[1:] {
		for _, ev := range []lyumen.Event{
			{ID: "chatcmpl-1", Model: "served-model", Choices: []lyumen.ChoiceDelta{{Content: s}}},
			{ID: "msg_<1>", Choices: []lyumen.ChoiceDelta{{Index: 2, Content: s}}},
		} {
			if _, ok := textOnly(&ev); !ok {
				t.Fatalf("%+v is not text-only", ev)
			}
			want, _ := json.Marshal(chunkOf(&ev, "asked-model", now))
			if diff := cmp.Diff(string(want), string(EncodeChunk(&ev, "asked-model", now))); diff != "" {
				t.Errorf("EncodeChunk(%+v): fast path differs from encoding/json (-json +fast):\n%s", ev, diff)
			}
		}
	}
	for _, ev := range []lyumen.Event{
		{Choices: []lyumen.ChoiceDelta{{Role: "assistant", Content: "a"}}},
		{Choices: []lyumen.ChoiceDelta{{Content: "a", FinishReason: "stop"}}},
		{Choices: []lyumen.ChoiceDelta{{Content: "a"}}, Usage: &lyumen.Usage{}},
		{Choices: []lyumen.ChoiceDelta{{Content: "a"}, {Index: 1, Content: "b"}}},
		{Choices: []lyumen.ChoiceDelta{{ToolCalls: []lyumen.ToolCall{{Arguments: "{"}}}}},
		{Choices: []lyumen.ChoiceDelta{{}}},
	} {
		if _, ok := textOnly(&ev); ok {
			t.Errorf("%+v taken as text-only", ev)
		}
	}
}

func TestAppendTextDelta(t *testing.T) {
	for _, s := range jsontext.Strings {
		h := evHead{Type: "response.output_text.delta", Seq: 12}
		want, _ := json.Marshal(evTextDelta{h, "msg_<1>", 3, 0, s, []struct{}{}})
		if diff := cmp.Diff(string(want), string(appendTextDelta(nil, h, "msg_<1>", 3, s))); diff != "" {
			t.Errorf("delta %q (-json +fast):\n%s", s, diff)
		}
	}
}

// BenchmarkEncodeChunk compares the fast path for a text-only event with
// encoding/json on the same event.
func BenchmarkEncodeChunk(b *testing.B) {
	ev := lyumen.Event{ID: "msg_01XFDUDYJgAACzvnptvVoYEL", Model: "mock-model", Choices: []lyumen.ChoiceDelta{{Content: " reverse"}}}
	now := time.Unix(1741569952, 0)
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			EncodeChunk(&ev, "bench-model", now)
		}
	})
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c := chunkOf(&ev, "bench-model", now)
			json.Marshal(c)
		}
	})
}

// BenchmarkTextDelta compares the fast path for response.output_text.delta
// with encoding/json.
func BenchmarkTextDelta(b *testing.B) {
	h := evHead{Type: "response.output_text.delta", Seq: 12}
	id := "msg_3b709bdc77d0da066d899d4b54b693012bff9176cbc72b94"
	dst := make([]byte, 0, 1024)
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf = appendTextDelta(buf[:0], h, id, 0, " reverse")
			dst = sse.AppendData(dst[:0], h.Type, buf)
		}
	})
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			dst = appendEvent(dst[:0], evTextDelta{h, id, 0, 0, " reverse", []struct{}{}})
		}
	})
}

// TestAppendResponseEvent checks that a response event encoded from the
// object's bytes is what encoding/json makes of the whole event.
func TestAppendResponseEvent(t *testing.T) {
	s := NewResponsesStream(&lyumen.Request{Model: "m <&>", Body: []byte(`{"model":"m <&>","input":"x","instructions":"a \"b\" <c>"}`)},
		time.Unix(1700000000, 0))
	s.start(nil, "chatcmpl-1", "up")
	o := s.object("in_progress")
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []evHead{{"response.created", 0}, {"response.in_progress", 1}} {
		want := appendEvent(nil, evResponse{h, o})
		if got := appendResponseEvent(nil, h, b); string(got) != string(want) {
			t.Errorf("(-json +fast):\n%s\n%s", want, got)
		}
	}
}

// TestAppendTextDone checks that the events closing a message item are
// what encoding/json makes of them.
func TestAppendTextDone(t *testing.T) {
	for _, text := range jsontext.Strings {
		for _, status := range []string{"completed", "incomplete"} {
			it := outputItem{id: "msg_1 <x>", text: []byte(text), status: status}
			h := []evHead{{"response.output_text.done", 7}, {"response.content_part.done", 8}, {"response.output_item.done", 9}}
			want := appendEvent(nil, evTextDone{h[0], it.id, 2, 0, text, []struct{}{}})
			want = appendEvent(want, evPart{h[1], it.id, 2, 0, newOutputText(text)})
			want = appendEvent(want, evItem{h[2], 2, it.render(status)})
			got := appendTextDone(nil, h[0], h[1], h[2], it.id, 2, status, jsontext.AppendString(nil, text))
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("text %q, %s (-json +fast):\n%s", text, status, diff)
			}
		}
	}
}

// TestAppendObject checks that response objects and the events that carry
// items are rendered as encoding/json renders them, with the echo of
// requests whose values need compacting and escaping.
func TestAppendObject(t *testing.T) {
	temp, topP, maxTokens := 0.7, 1e-7, 256
	bodies := []string{
		`{"model":"m","input":"x"}`,
		`{"model":"m <&>", "input":"x", "instructions": "a \"b\" <c> \u2028",
		  "text": {"format": {"type": "json_schema", "name": "n", "schema": {"type": "object"}}},
		  "tool_choice": { "type": "function", "name": "f" }, "parallel_tool_calls": false,
		  "tools": [ {"type": "function", "name": "f", "parameters": {"type":"object", "properties": {}}} ],
		  "metadata": {"k": "<v>"}, "user": "u&1"}`,
		`{"model":"m","input":"x","instructions":null,"tools":null,"user":null,"metadata":{}}`,
	}
	for _, body := range bodies {
		for _, s := range jsontext.Strings {
			req := &lyumen.Request{Model: "m" + s, Body: []byte(body), Temperature: &temp, TopP: &topP, MaxTokens: maxTokens}
			e := echoOf(req)
			items := []outputItem{
				{id: "msg_" + s, text: []byte(s)},
				{kind: itemFunction, id: "fc_1", callID: "call_" + s, name: []byte("f" + s), text: []byte(`{"a":"` + s + `"}`)},
			}
			for _, status := range []string{"in_progress", "completed", "incomplete"} {
				output := []any{}
				for i := range items {
					output = append(output, items[i].render(status))
				}
				for _, o := range []responseObject{
					e.object("resp_"+s, 1700000000, "", status, nil, nil),
					e.object("resp_1", 1700000000, s, status, output, &lyumen.Usage{PromptTokens: 3, CompletionTokens: 4, TotalTokens: 7}),
					{Error: &responseError{Code: "c" + s, Message: s}, IncompleteDetails: &incompleteDetails{Reason: s}, Reasoning: reasoningEcho{Effort: &s, Summary: &s}, PreviousResponseID: &s},
				} {
					want, err := json.Marshal(o)
					if err != nil {
						t.Fatal(err)
					}
					if diff := cmp.Diff(string(want), string(appendObject(nil, &o))); diff != "" {
						t.Errorf("body %s, string %q, %s (-json +fast):\n%s", body, s, status, diff)
					}
				}
				for i, item := range output {
					h := evHead{"response.output_item.done", 9}
					want := appendEvent(nil, evItem{h, i, item})
					if diff := cmp.Diff(string(want), string(appendItemEvent(nil, h, i, item))); diff != "" {
						t.Errorf("item %d, string %q (-json +fast):\n%s", i, s, diff)
					}
				}
			}
			h := evHead{"response.content_part.added", 4}
			want := appendEvent(nil, evPart{h, "msg_" + s, 2, 0, newOutputText("")})
			if diff := cmp.Diff(string(want), string(appendPartAdded(nil, h, "msg_"+s, 2))); diff != "" {
				t.Errorf("content_part.added, string %q (-json +fast):\n%s", s, diff)
			}
		}
	}
}

// TestResponsesStream_TextFraming checks that a text delta framed in place
// is what sse.AppendData makes of the event's data.
func TestResponsesStream_TextFraming(t *testing.T) {
	for _, text := range jsontext.Strings {
		s := NewResponsesStream(&lyumen.Request{Model: "m", Body: []byte(`{"model":"m","input":"x"}`)}, time.Unix(1700000000, 0))
		s.start(nil, "chatcmpl-1", "m")
		s.add(nil, newItem(s.seed, 0, itemText, nil))
		for range 2 { // the first delta of the item, and one after it
			seq := s.seq
			got := s.text([]byte("x"), text)
			data := appendTextDelta(nil, evHead{"response.output_text.delta", seq}, s.items[0].id, 0, text)
			if want := sse.AppendData([]byte("x"), "response.output_text.delta", data); string(got) != string(want) {
				t.Errorf("text %q:\n got %q\nwant %q", text, got, want)
			}
		}
	}
}
