package demo_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/demo"
)

const prefix = "This is the Lyumen demo model, not a real language model: the operator has not configured an upstream provider yet. You said: "

func TestReply(t *testing.T) {
	long := strings.Repeat("é", 250)
	tests := []struct {
		name string
		msgs []lyumen.Message
		want string
	}{
		{
			name: "echoes the last user message",
			msgs: []lyumen.Message{
				{Role: "system", Content: "Be brief."},
				{Role: "user", Content: "first"},
				{Role: "assistant", Content: "ok"},
				{Role: "user", Content: "second"},
				{Role: "assistant", Content: "after"},
			},
			want: prefix + "second",
		},
		{
			name: "collapses whitespace",
			msgs: []lyumen.Message{{Role: "user", Content: "  hello\n\n\tthere   world \n"}},
			want: prefix + "hello there world",
		},
		{
			name: "cuts at 200 runes",
			msgs: []lyumen.Message{{Role: "user", Content: long}},
			want: prefix + strings.Repeat("é", 200) + "…",
		},
		{
			name: "exactly 200 runes is not cut",
			msgs: []lyumen.Message{{Role: "user", Content: strings.Repeat("a", 200)}},
			want: prefix + strings.Repeat("a", 200),
		},
		{
			name: "no user message",
			msgs: []lyumen.Message{{Role: "system", Content: "Be brief."}},
			want: prefix + "(nothing)",
		},
		{
			name: "empty user message",
			msgs: []lyumen.Message{{Role: "user", Content: " \n "}},
			want: prefix + "(nothing)",
		},
		{
			name: "no messages",
			want: prefix + "(nothing)",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := demo.Reply(tc.msgs)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Reply mismatch (-want +got):\n%s", diff)
			}
			if again := demo.Reply(tc.msgs); again != got {
				t.Errorf("Reply is not deterministic: %q then %q", got, again)
			}
		})
	}
}

func request() *lyumen.Request {
	return &lyumen.Request{
		Surface: lyumen.SurfaceOpenAIChat,
		Model:   demo.ModelName,
		Stream:  true,
		Messages: []lyumen.Message{
			{Role: "system", Content: "Be brief."},
			{Role: "user", Content: "What is the  capital of France?"},
		},
	}
}

func TestProvider_Chat(t *testing.T) {
	resp, err := demo.Provider{}.Chat(t.Context(), request())
	if err != nil {
		t.Fatalf("Chat: %v", err)
	}
	want := []lyumen.Choice{{
		Message:      lyumen.Message{Role: "assistant", Content: prefix + "What is the capital of France?"},
		FinishReason: "stop",
	}}
	if diff := cmp.Diff(want, resp.Choices); diff != "" {
		t.Errorf("choices mismatch (-want +got):\n%s", diff)
	}
	if resp.Model != demo.ModelName || !strings.HasPrefix(resp.ID, "chatcmpl-") {
		t.Errorf("ID, Model = %q, %q", resp.ID, resp.Model)
	}
	u := resp.Usage
	if u == nil || u.PromptTokens <= 0 || u.CompletionTokens <= 0 || u.TotalTokens != u.PromptTokens+u.CompletionTokens {
		t.Errorf("usage = %+v, want positive counts that add up", u)
	}
}

// TestProvider_ChatStream checks the stream gives the same answer as Chat,
// event by event: content deltas, a finish event, a usage event, io.EOF.
func TestProvider_ChatStream(t *testing.T) {
	p := demo.Provider{}
	whole, err := p.Chat(t.Context(), request())
	if err != nil {
		t.Fatalf("Chat: %v", err)
	}
	s, err := p.ChatStream(t.Context(), request())
	if err != nil {
		t.Fatalf("ChatStream: %v", err)
	}
	defer s.Close()

	var events []lyumen.Event
	for {
		ev, err := s.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		events = append(events, ev)
		if len(events) > 1000 {
			t.Fatal("stream does not end")
		}
	}
	if _, err := s.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("Next after the end = %v, want io.EOF", err)
	}
	if len(events) < 3 {
		t.Fatalf("got %d events, want content, finish and usage", len(events))
	}

	n := len(events)
	content, finish, usage := events[:n-2], events[n-2], events[n-1]
	if diff := cmp.Diff([]lyumen.ChoiceDelta{{FinishReason: "stop"}}, finish.Choices); diff != "" {
		t.Errorf("finish event mismatch (-want +got):\n%s", diff)
	}
	if usage.Choices != nil || usage.Usage == nil {
		t.Errorf("last event = %+v, want usage only", usage)
	}
	var text strings.Builder
	for i, ev := range content {
		if len(ev.Choices) != 1 || ev.Choices[0].FinishReason != "" || ev.Usage != nil {
			t.Errorf("content event %d = %+v", i, ev)
			continue
		}
		wantRole := ""
		if i == 0 {
			wantRole = "assistant"
		}
		if ev.Choices[0].Role != wantRole {
			t.Errorf("event %d role = %q, want %q", i, ev.Choices[0].Role, wantRole)
		}
		text.WriteString(ev.Choices[0].Content)
	}
	if got, want := text.String(), whole.Choices[0].Message.Content; got != want {
		t.Errorf("streamed text = %q, Chat gave %q", got, want)
	}
	if diff := cmp.Diff(whole.Usage, usage.Usage); diff != "" {
		t.Errorf("stream usage differs from Chat's (-chat +stream):\n%s", diff)
	}
	for i, ev := range events {
		if ev.ID != events[0].ID || ev.Model != demo.ModelName {
			t.Errorf("event %d ID, Model = %q, %q; want %q, %q", i, ev.ID, ev.Model, events[0].ID, demo.ModelName)
		}
	}

	var a lyumen.Assembler
	for i := range events {
		a.Add(&events[i])
	}
	got := a.Response()
	if diff := cmp.Diff(whole.Choices, got.Choices); diff != "" {
		t.Errorf("assembled stream differs from Chat (-chat +stream):\n%s", diff)
	}
}

func TestProvider_ChatStreamCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	s, err := demo.Provider{}.ChatStream(ctx, request())
	if err != nil {
		t.Fatalf("ChatStream: %v", err)
	}
	defer s.Close()
	if _, err := s.Next(); err != nil {
		t.Fatalf("first Next: %v", err)
	}
	cancel()
	for range 3 {
		if _, err := s.Next(); !errors.Is(err, context.Canceled) {
			t.Fatalf("Next after cancel = %v, want context.Canceled", err)
		}
	}
}

// TestProvider_Untranslated: the demo is a chat model; a request only a raw
// completions upstream can take is refused with its reason, not answered.
func TestProvider_Untranslated(t *testing.T) {
	req := request()
	req.Untranslated = lyumen.Errorf(lyumen.KindInvalid, "'echo' cannot be translated")
	if _, err := (demo.Provider{}).Chat(t.Context(), req); !errors.Is(err, req.Untranslated) {
		t.Errorf("Chat: %v, want the refusal", err)
	}
	if _, err := (demo.Provider{}).ChatStream(t.Context(), req); !errors.Is(err, req.Untranslated) {
		t.Errorf("ChatStream: %v, want the refusal", err)
	}
}
