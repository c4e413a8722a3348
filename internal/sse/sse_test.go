package sse_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lyumen/lyumen/internal/sse"
)

// readAll reads events until Next fails and returns them with that error.
// Data is copied because it is only valid until the next call to Next.
func readAll(tb testing.TB, src io.Reader) ([]sse.Event, error) {
	tb.Helper()
	r := sse.NewReader(src)
	var events []sse.Event
	for {
		ev, err := r.Next()
		if err != nil {
			return events, err
		}
		ev.Data = bytes.Clone(ev.Data)
		events = append(events, ev)
	}
}

// chunkings feed the same input in different read sizes: whole, one byte
// per Read (splits every CRLF), and with io.EOF on the last data read.
var chunkings = []struct {
	name string
	wrap func(io.Reader) io.Reader
}{
	{"whole", func(r io.Reader) io.Reader { return r }},
	{"one byte", iotest.OneByteReader},
	{"eof with data", iotest.DataErrReader},
}

func TestReader_Next(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []sse.Event
	}{
		{
			name: "empty stream",
			in:   "",
		},
		{
			name: "LF line endings",
			in:   "data: a\n\ndata: b\n\n",
			want: []sse.Event{{Data: []byte("a")}, {Data: []byte("b")}},
		},
		{
			name: "CRLF line endings",
			in:   "data: a\r\n\r\ndata: b\r\n\r\n",
			want: []sse.Event{{Data: []byte("a")}, {Data: []byte("b")}},
		},
		{
			name: "CR line endings",
			in:   "data: a\r\rdata: b\r\r",
			want: []sse.Event{{Data: []byte("a")}, {Data: []byte("b")}},
		},
		{
			name: "mixed line endings",
			in:   "data: a\rdata: b\r\ndata: c\n\r\ndata: d\n\r",
			want: []sse.Event{{Data: []byte("a\nb\nc")}, {Data: []byte("d")}},
		},
		{
			name: "LF CR is two line ends",
			in:   "data: a\n\rdata: b\n\n",
			want: []sse.Event{{Data: []byte("a")}, {Data: []byte("b")}},
		},
		{
			name: "no space after colon",
			in:   "data:a\n\n",
			want: []sse.Event{{Data: []byte("a")}},
		},
		{
			name: "only one leading space is removed",
			in:   "data:  a \n\n",
			want: []sse.Event{{Data: []byte(" a ")}},
		},
		{
			name: "leading tab is kept",
			in:   "data:\ta\n\n",
			want: []sse.Event{{Data: []byte("\ta")}},
		},
		{
			name: "colon inside value",
			in:   "data: a: b:c\n\n",
			want: []sse.Event{{Data: []byte("a: b:c")}},
		},
		{
			name: "data lines joined with LF",
			in:   "data: a\ndata: b\ndata:\ndata: c\n\n",
			want: []sse.Event{{Data: []byte("a\nb\n\nc")}},
		},
		{
			name: "empty data is dispatched",
			in:   "data:\n\n",
			want: []sse.Event{{Data: []byte("")}},
		},
		{
			name: "two empty data lines are one LF",
			in:   "data\ndata\n\n",
			want: []sse.Event{{Data: []byte("\n")}},
		},
		{
			name: "field without colon has empty value",
			in:   "data\n\nevent\ndata: x\n\n",
			want: []sse.Event{{Data: []byte("")}, {Data: []byte("x")}},
		},
		{
			name: "comments are skipped",
			in: ": this is a comment\n:\ndata: a\n: between lines\ndata: b\n\n" +
				": OPENROUTER PROCESSING\n\n",
			want: []sse.Event{{Data: []byte("a\nb")}},
		},
		{
			name: "comment-only stream",
			in:   ":ok\n\n: keep-alive\n\n",
		},
		{
			name: "event type",
			in:   "event: add\ndata: 1\n\ndata: 2\n\n",
			want: []sse.Event{{Type: "add", Data: []byte("1")}, {Data: []byte("2")}},
		},
		{
			name: "last event field wins",
			in:   "event: a\nevent: b\ndata: x\n\n",
			want: []sse.Event{{Type: "b", Data: []byte("x")}},
		},
		{
			name: "event type reset by blank line without data",
			in:   "event: lost\n\ndata: x\n\n",
			want: []sse.Event{{Data: []byte("x")}},
		},
		{
			name: "event without data is not dispatched",
			in:   "event: ping\n\nevent: ping\nid: 3\n\n",
		},
		{
			name: "id persists across events",
			in:   "id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\n",
			want: []sse.Event{
				{ID: "1", Data: []byte("a")},
				{ID: "1", Data: []byte("b")},
				{ID: "2", Data: []byte("c")},
			},
		},
		{
			name: "id set by an event without data",
			in:   "id: 7\n\ndata: a\n\n",
			want: []sse.Event{{ID: "7", Data: []byte("a")}},
		},
		{
			name: "id without value resets it",
			in:   "id: 1\ndata: a\n\nid\ndata: b\n\n",
			want: []sse.Event{{ID: "1", Data: []byte("a")}, {Data: []byte("b")}},
		},
		{
			name: "id containing NUL is ignored",
			in:   "id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n",
			want: []sse.Event{{ID: "1", Data: []byte("a")}, {ID: "1", Data: []byte("b")}},
		},
		{
			name: "unknown fields and retry are ignored",
			in:   "retry: 1000\nfoo: bar\nbaz\ndata: x\n\n",
			want: []sse.Event{{Data: []byte("x")}},
		},
		{
			name: "field names are case sensitive",
			in:   "Data: x\nEVENT: y\ndata: z\n\n",
			want: []sse.Event{{Data: []byte("z")}},
		},
		{
			name: "space before colon makes another field",
			in:   "data : x\ndata: y\n\n",
			want: []sse.Event{{Data: []byte("y")}},
		},
		{
			name: "event cut off at EOF is not dispatched",
			in:   "data: a\n\ndata: b",
			want: []sse.Event{{Data: []byte("a")}},
		},
		{
			name: "event without blank line at EOF is not dispatched",
			in:   "data: a\n\ndata: b\n",
			want: []sse.Event{{Data: []byte("a")}},
		},
		{
			name: "event ending in CR at EOF is not dispatched",
			in:   "data: a\r",
		},
		{
			name: "BOM at start is skipped",
			in:   "\ufeffdata: a\n\n",
			want: []sse.Event{{Data: []byte("a")}},
		},
		{
			name: "BOM before a comment",
			in:   "\ufeff: hi\n\ndata: a\n\n",
			want: []sse.Event{{Data: []byte("a")}},
		},
		{
			name: "only one BOM is skipped",
			in:   "\ufeff\ufeffdata: a\n\ndata: b\n\n",
			want: []sse.Event{{Data: []byte("b")}},
		},
		{
			name: "BOM after start is part of the line",
			in:   "data: a\n\n\ufeffdata: b\n\ndata: \ufeffc\n\n",
			want: []sse.Event{{Data: []byte("a")}, {Data: []byte("\ufeffc")}},
		},
		{
			name: "partial BOM is not skipped",
			in:   "\xef\xbbdata: a\n\ndata: b\n\n",
			want: []sse.Event{{Data: []byte("b")}},
		},
		{
			name: "binary and invalid UTF-8 pass through",
			in:   "data: \x00\xff\xfe\n\n",
			want: []sse.Event{{Data: []byte("\x00\xff\xfe")}},
		},
		{
			name: "OpenAI chat completions",
			in: `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}` + "\n\n" +
				`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hi"}}]}` + "\n\n" +
				`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n" +
				"data: [DONE]\n\n",
			want: []sse.Event{
				{Data: []byte(`{"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}`)},
				{Data: []byte(`{"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hi"}}]}`)},
				{Data: []byte(`{"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`)},
				{Data: []byte("[DONE]")},
			},
		},
		{
			name: "Anthropic messages",
			in: "event: message_start\n" +
				`data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","usage":{"input_tokens":25,"output_tokens":1}}}` + "\n\n" +
				"event: content_block_start\n" +
				`data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}` + "\n\n" +
				"event: ping\n" +
				`data: {"type": "ping"}` + "\n\n" +
				"event: content_block_delta\n" +
				`data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}` + "\n\n" +
				"event: content_block_stop\n" +
				`data: {"type":"content_block_stop","index":0}` + "\n\n" +
				"event: message_delta\n" +
				`data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}` + "\n\n" +
				"event: message_stop\n" +
				`data: {"type":"message_stop"}` + "\n\n",
			want: []sse.Event{
				{Type: "message_start", Data: []byte(`{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","usage":{"input_tokens":25,"output_tokens":1}}}`)},
				{Type: "content_block_start", Data: []byte(`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)},
				{Type: "ping", Data: []byte(`{"type": "ping"}`)},
				{Type: "content_block_delta", Data: []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}`)},
				{Type: "content_block_stop", Data: []byte(`{"type":"content_block_stop","index":0}`)},
				{Type: "message_delta", Data: []byte(`{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}`)},
				{Type: "message_stop", Data: []byte(`{"type":"message_stop"}`)},
			},
		},
		{
			name: "Gemini streamGenerateContent",
			in: `data: {"candidates": [{"content": {"parts": [{"text": "Hel"}],"role": "model"},"index": 0}],"modelVersion": "gemini-2.5-flash"}` + "\r\n\r\n" +
				`data: {"candidates": [{"content": {"parts": [{"text": "lo"}],"role": "model"},"finishReason": "STOP","index": 0}],"usageMetadata": {"promptTokenCount": 3,"candidatesTokenCount": 2,"totalTokenCount": 5}}` + "\r\n\r\n",
			want: []sse.Event{
				{Data: []byte(`{"candidates": [{"content": {"parts": [{"text": "Hel"}],"role": "model"},"index": 0}],"modelVersion": "gemini-2.5-flash"}`)},
				{Data: []byte(`{"candidates": [{"content": {"parts": [{"text": "lo"}],"role": "model"},"finishReason": "STOP","index": 0}],"usageMetadata": {"promptTokenCount": 3,"candidatesTokenCount": 2,"totalTokenCount": 5}}`)},
			},
		},
	}
	for _, tc := range tests {
		for _, c := range chunkings {
			t.Run(tc.name+"/"+c.name, func(t *testing.T) {
				got, err := readAll(t, c.wrap(strings.NewReader(tc.in)))
				if !errors.Is(err, io.EOF) {
					t.Fatalf("Next() error = %v, want io.EOF", err)
				}
				if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("events mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestReader_NextEOFIsSticky(t *testing.T) {
	r := sse.NewReader(strings.NewReader("data: a\n\ndata: cut"))
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := r.Next(); !errors.Is(err, io.EOF) {
			t.Fatalf("Next() error = %v, want io.EOF", err)
		}
	}
}

func TestReader_NextTooLarge(t *testing.T) {
	big := strings.Repeat("x", sse.MaxEventSize)
	half := strings.Repeat("y", sse.MaxEventSize/2)
	tests := []struct {
		name string
		in   string
		want []sse.Event // before the error
	}{
		{
			name: "one line over the limit",
			in:   "data: a\n\ndata: " + big + "x\n\ndata: after\n\n",
			want: []sse.Event{{Data: []byte("a")}},
		},
		{
			name: "data lines adding up over the limit",
			in:   "data: " + half + "\ndata: " + half + "\n\ndata: after\n\n",
		},
		{
			name: "comment line over the limit",
			in:   ":" + big + big + "\n\ndata: after\n\n",
		},
		{
			name: "oversize line cut off at EOF",
			in:   "data: " + big + "x",
		},
		{
			// The tail of an oversize line must not be read as a new line:
			// it is upstream-controlled and could forge an event.
			name: "tail of oversize line is not parsed",
			in:   "data: " + big[:sse.MaxEventSize-5] + "\ndata: " + big + "\ndata: forged\n\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sse.NewReader(strings.NewReader(tc.in))
			var got []sse.Event
			var err error
			for {
				var ev sse.Event
				ev, err = r.Next()
				if err != nil {
					break
				}
				ev.Data = bytes.Clone(ev.Data)
				got = append(got, ev)
			}
			if !errors.Is(err, sse.ErrTooLarge) {
				t.Fatalf("Next() error = %v, want ErrTooLarge", err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("events before the error mismatch (-want +got):\n%s", diff)
			}
			// The reader stops: it must not resume in the middle of the event.
			for range 3 {
				if ev, err := r.Next(); !errors.Is(err, sse.ErrTooLarge) {
					t.Fatalf("Next() after ErrTooLarge = %.20q, %v; want ErrTooLarge again", ev.Data, err)
				}
			}
		})
	}
}

func TestReader_NextAtLimit(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"one line", "data: " + strings.Repeat("x", sse.MaxEventSize) + "\n\n"},
		{"two lines", "data: " + strings.Repeat("x", sse.MaxEventSize/2) + "\ndata: " + strings.Repeat("x", sse.MaxEventSize/2-1) + "\n\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sse.NewReader(strings.NewReader(tc.in + "data: next\n\n"))
			ev, err := r.Next()
			if err != nil {
				t.Fatalf("Next() error = %v, want an event of MaxEventSize bytes", err)
			}
			if len(ev.Data) != sse.MaxEventSize {
				t.Errorf("len(Data) = %d, want %d", len(ev.Data), sse.MaxEventSize)
			}
			ev, err = r.Next()
			if err != nil || string(ev.Data) != "next" {
				t.Errorf("Next() = %q, %v; want \"next\", nil", ev.Data, err)
			}
		})
	}
}

func TestReader_NextReadError(t *testing.T) {
	errBroken := errors.New("connection reset")
	tests := []struct {
		name string
		src  io.Reader
		want []sse.Event
	}{
		{
			name: "error before any data",
			src:  iotest.ErrReader(errBroken),
		},
		{
			name: "error after one event",
			src:  io.MultiReader(strings.NewReader("data: a\n\n"), iotest.ErrReader(errBroken)),
			want: []sse.Event{{Data: []byte("a")}},
		},
		{
			name: "error in the middle of an event",
			src:  io.MultiReader(strings.NewReader("data: a\n\ndata: b\ndata: c"), iotest.ErrReader(errBroken)),
			want: []sse.Event{{Data: []byte("a")}},
		},
		{
			name: "error after two bytes",
			src:  io.MultiReader(strings.NewReader("da"), iotest.ErrReader(errBroken)),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sse.NewReader(tc.src)
			var got []sse.Event
			var err error
			for {
				var ev sse.Event
				ev, err = r.Next()
				if err != nil {
					break
				}
				ev.Data = bytes.Clone(ev.Data)
				got = append(got, ev)
			}
			if !errors.Is(err, errBroken) {
				t.Fatalf("Next() error = %v, want %v", err, errBroken)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("events mismatch (-want +got):\n%s", diff)
			}
			if _, err := r.Next(); !errors.Is(err, errBroken) {
				t.Errorf("second Next() error = %v, want %v again", err, errBroken)
			}
		})
	}
}

func TestAppendData(t *testing.T) {
	tests := []struct {
		name  string
		event string
		data  string
		want  string
	}{
		{"plain", "", "hello", "data: hello\n\n"},
		{"with event", "message_start", `{"type":"message_start"}`, "event: message_start\ndata: {\"type\":\"message_start\"}\n\n"},
		{"empty data", "", "", "data: \n\n"},
		{"LF split", "", "a\nb", "data: a\ndata: b\n\n"},
		{"CRLF split", "", "a\r\nb", "data: a\ndata: b\n\n"},
		{"CR split", "", "a\rb", "data: a\ndata: b\n\n"},
		{"LF CR is two lines", "", "a\n\rb", "data: a\ndata: \ndata: b\n\n"},
		{"trailing LF", "", "a\n", "data: a\ndata: \n\n"},
		{"leading space kept", "", " a", "data:  a\n\n"},
		{"line break in event name cut", "evil\ndata: forged", "x", "event: evil\ndata: x\n\n"},
		{"CR in event name cut", "evil\r", "x", "event: evil\ndata: x\n\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := sse.AppendData([]byte("prefix:"), tc.event, []byte(tc.data))
			if diff := cmp.Diff("prefix:"+tc.want, string(got)); diff != "" {
				t.Errorf("AppendData mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// normalize turns CRLF and lone CR into LF, as a reader sees line ends.
func normalize(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

// eventName is what a reader gets back for an event name given to AppendData.
func eventName(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}

func TestAppendData_RoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		event string
		data  string
	}{
		{"empty", "", ""},
		{"json", "", `{"choices":[{"delta":{"content":"hi"}}]}`},
		{"done", "", "[DONE]"},
		{"LF", "", "a\nb"},
		{"CRLF", "", "a\r\nb"},
		{"CR", "", "a\rb"},
		{"only line breaks", "", "\r\n\n\r\r"},
		{"trailing newline", "", "text\n"},
		{"leading newline", "", "\ntext"},
		{"leading spaces", "", "  two"},
		{"looks like fields", "", "event: x\nid: 1\n: comment\n\ndata: y"},
		{"NUL and invalid UTF-8", "", "\x00\xff"},
		{"BOM", "", "\ufeffx"},
		{"unicode", "", "héllo, 世界 🌍"},
		{"anthropic event", "content_block_delta", `{"type":"content_block_delta"}`},
		{"event with space", " spaced ", "x"},
		{"event with line break", "a\nevent: b", "x"},
	}
	for _, tc := range tests {
		for _, c := range chunkings {
			t.Run(tc.name+"/"+c.name, func(t *testing.T) {
				// Surround the event with others so framing damage shows.
				var stream []byte
				stream = sse.AppendData(stream, "before", []byte("1"))
				stream = sse.AppendData(stream, tc.event, []byte(tc.data))
				stream = sse.AppendData(stream, "", []byte("2"))
				got, err := readAll(t, c.wrap(bytes.NewReader(stream)))
				if !errors.Is(err, io.EOF) {
					t.Fatalf("Next() error = %v, want io.EOF", err)
				}
				want := []sse.Event{
					{Type: "before", Data: []byte("1")},
					{Type: eventName(tc.event), Data: []byte(normalize(tc.data))},
					{Data: []byte("2")},
				}
				if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("round trip of %q mismatch (-want +got):\n%s", stream, diff)
				}
			})
		}
	}
}

// equal is a cheap comparison for fuzz targets; cmp.Diff explains a failure.
func equal(a, b sse.Event) bool {
	return a.Type == b.Type && a.ID == b.ID && bytes.Equal(a.Data, b.Data)
}

func FuzzReader(f *testing.F) {
	for _, s := range []string{
		"",
		"data: a\n\n",
		"data: a\r\n\r\ndata: b\r\rdata:c\n\r",
		"\ufeffdata: a\n\n",
		"\ufeff\ufeff:x\n\n",
		"event: ping\ndata: {}\n\nid: 1\x00\ndata\n\n",
		"id: 7\n\nretry: 10\ndata:\ndata:\n\n",
		": comment\n\ndata: cut",
		"data: [DONE]\n\n",
		"\r\r\r\n\n\n\r",
		"data",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		whole, errWhole := readAll(t, bytes.NewReader(in))
		for _, ev := range whole {
			if len(ev.Data) > sse.MaxEventSize {
				t.Fatalf("event of %d bytes exceeds MaxEventSize", len(ev.Data))
			}
			if bytes.IndexByte(ev.Data, '\r') >= 0 {
				t.Fatalf("data %q contains CR", ev.Data)
			}
			if strings.ContainsAny(ev.Type, "\r\n") || strings.ContainsAny(ev.ID, "\r\n\x00") {
				t.Fatalf("event %+v has a line break or NUL in its type or id", ev)
			}
		}
		// Each event takes at least "data\n\n": a reader that loops would
		// return more.
		if max := len(in)/6 + 1; len(whole) > max {
			t.Fatalf("%d events from %d bytes", len(whole), len(in))
		}
		if !errors.Is(errWhole, io.EOF) {
			t.Fatalf("Next() error = %v, want io.EOF", errWhole)
		}
		// How the bytes arrive must not change what is read.
		bytewise, err := readAll(t, iotest.OneByteReader(bytes.NewReader(in)))
		if !errors.Is(err, io.EOF) {
			t.Fatalf("one byte at a time: Next() error = %v, want io.EOF", err)
		}
		if !slices.EqualFunc(whole, bytewise, equal) {
			t.Fatalf("one byte at a time reads differently (-whole +bytewise):\n%s", cmp.Diff(whole, bytewise))
		}
	})
}

func FuzzRoundTrip(f *testing.F) {
	f.Add("", []byte(""))
	f.Add("", []byte(`{"choices":[]}`))
	f.Add("message_start", []byte("a\r\nb\rc\nd"))
	f.Add("x\ny", []byte("\n\n"))
	f.Add(" ", []byte(" data: x\r"))
	f.Add("\ufeff", []byte("\ufeff"))
	f.Fuzz(func(t *testing.T, event string, data []byte) {
		var stream []byte
		stream = sse.AppendData(stream, event, data)
		stream = sse.AppendData(stream, "", []byte("end"))
		r := sse.NewReader(bytes.NewReader(stream))
		ev, err := r.Next()
		if err != nil {
			t.Fatalf("Next() error = %v on %q", err, stream)
		}
		want := sse.Event{Type: eventName(event), Data: []byte(normalize(string(data)))}
		if !equal(want, ev) {
			t.Fatalf("round trip of %q mismatch (-want +got):\n%s", stream, cmp.Diff(want, ev))
		}
		ev, err = r.Next()
		if err != nil || ev.Type != "" || string(ev.Data) != "end" {
			t.Fatalf("second Next() = %+v, %v; want the \"end\" event", ev, err)
		}
		if _, err := r.Next(); !errors.Is(err, io.EOF) {
			t.Fatalf("third Next() error = %v, want io.EOF", err)
		}
	})
}

// openAIStream is a realistic chat completion stream of n chunks.
func openAIStream(n int) []byte {
	var b []byte
	b = append(b, `data: {"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_eb9dce56a8","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}`+"\n\n"...)
	for i := range n - 2 {
		b = fmt.Appendf(b, `data: {"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_eb9dce56a8","choices":[{"index":0,"delta":{"content":" token%d"},"logprobs":null,"finish_reason":null}],"usage":null}`+"\n\n", i)
	}
	b = append(b, `data: {"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_eb9dce56a8","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":19,"completion_tokens":198,"total_tokens":217}}`+"\n\n"...)
	return append(b, "data: [DONE]\n\n"...)
}

// anthropicStream is a realistic Messages stream with n deltas.
func anthropicStream(n int) []byte {
	var b []byte
	b = append(b, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01XFDUDYJgAACzvnptvVoYEL\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-5\",\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n"...)
	b = append(b, "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"...)
	b = append(b, "event: ping\ndata: {\"type\": \"ping\"}\n\n"...)
	for i := range n {
		b = fmt.Appendf(b, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" token%d\"}}\n\n", i)
	}
	b = append(b, "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"...)
	b = append(b, "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":15}}\n\n"...)
	return append(b, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"...)
}

func BenchmarkReader(b *testing.B) {
	benchmarks := []struct {
		name   string
		stream []byte
		events int
	}{
		{"openai 200 chunks", openAIStream(200), 201},
		{"anthropic 200 deltas", anthropicStream(200), 206},
	}
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			b.SetBytes(int64(len(bm.stream)))
			b.ReportAllocs()
			src := bytes.NewReader(bm.stream)
			for b.Loop() {
				src.Reset(bm.stream)
				r := sse.NewReader(src)
				n := 0
				for {
					_, err := r.Next()
					if err != nil {
						if !errors.Is(err, io.EOF) {
							b.Fatal(err)
						}
						break
					}
					n++
				}
				if n != bm.events {
					b.Fatalf("read %d events, want %d", n, bm.events)
				}
			}
		})
	}
}

func BenchmarkAppendData(b *testing.B) {
	chunk := []byte(`{"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_eb9dce56a8","choices":[{"index":0,"delta":{"content":" token"},"logprobs":null,"finish_reason":null}],"usage":null}`)
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	buf := make([]byte, 0, 1024)
	for b.Loop() {
		buf = sse.AppendData(buf[:0], "", chunk)
	}
}

func TestReader_Ready(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  bool // after reading the first event
	}{
		{"nothing more", "data: a\n\n", false},
		{"a whole event more", "data: a\n\ndata: b\n\n", true},
		{"half an event more", "data: a\n\ndata: b\n", false},
		{"CRLF", "data: a\r\n\r\ndata: b\r\n\r\n", true},
		{"CR line ends: not known", "data: a\r\rdata: b\r\r", false},
		{"a comment alone more", "data: a\n\n: OPENROUTER PROCESSING\n\n", false},
		{"an event after a comment", "data: a\n\n: OPENROUTER PROCESSING\n\ndata: b\n\n", true},
		{"an event without data more", "data: a\n\nevent: x\n\n", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sse.NewReader(strings.NewReader(tc.input))
			if _, err := r.Next(); err != nil {
				t.Fatal(err)
			}
			if got := r.Ready(); got != tc.want {
				t.Errorf("Ready() = %v, want %v", got, tc.want)
			}
		})
	}
}
