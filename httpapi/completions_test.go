package httpapi_test

import (
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/providertest"
)

func completionParams(prompt string) openai.CompletionNewParams {
	return openai.CompletionNewParams{
		Model:     publicModel,
		Prompt:    openai.CompletionNewParamsPromptUnion{OfString: openai.String(prompt)},
		MaxTokens: openai.Int(50),
	}
}

func TestCompletions_NonStreamed(t *testing.T) {
	g := newGateway(t)
	resp, err := g.client.Completions.New(t.Context(), completionParams("once upon a time"))
	if err != nil {
		t.Fatal(err)
	}
	want := providertest.EchoText("once upon a time")
	if resp.Object != "text_completion" || len(resp.Choices) != 1 || resp.Choices[0].Text != want ||
		resp.Choices[0].FinishReason != "stop" || !strings.HasPrefix(resp.ID, "cmpl-") || resp.Usage.TotalTokens == 0 {
		t.Errorf("completion %s", resp.RawJSON())
	}
	rec := g.recs.wait(t, 1)
	checkSurfaceRecord(t, rec, lyumen.SurfaceOpenAICompletions, false, []lyumen.Message{{Role: "user", Content: "once upon a time"}})
	if rec.Conversation.MaxTokens != 50 || rec.Response.Choices[0].Message.Content != want {
		t.Errorf("recorded max tokens %d, answer %q", rec.Conversation.MaxTokens, rec.Response.Choices[0].Message.Content)
	}
	// The prompt reached the chat upstream as the one user message.
	seen := g.up.Seen()[0]
	msgs, _ := seen.Body["messages"].([]any)
	if seen.Path != "/v1/chat/completions" || len(msgs) != 1 || seen.Body["max_tokens"] != 50.0 {
		t.Errorf("upstream got %s %v", seen.Path, seen.Body)
	}
}

func TestCompletions_Streamed(t *testing.T) {
	for _, includeUsage := range []bool{true, false} {
		t.Run(map[bool]string{true: "with usage", false: "without usage"}[includeUsage], func(t *testing.T) {
			g := newGateway(t)
			p := completionParams("stream me a reply")
			if includeUsage {
				p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			}
			s := g.client.Completions.NewStreaming(t.Context(), p)
			var text strings.Builder
			chunks, usageChunks, finish := 0, 0, ""
			for s.Next() {
				c := s.Current()
				chunks++
				if c.Object != "text_completion" {
					t.Errorf("chunk object %q", c.Object)
				}
				if len(c.Choices) == 0 && c.Usage.TotalTokens > 0 {
					usageChunks++
				}
				for _, ch := range c.Choices {
					text.WriteString(ch.Text)
					if ch.FinishReason != "" {
						finish = string(ch.FinishReason)
					}
				}
			}
			if err := s.Err(); err != nil {
				t.Fatal(err)
			}
			want := providertest.EchoText("stream me a reply")
			if text.String() != want || finish != "stop" || chunks < 4 {
				t.Errorf("streamed %q in %d chunks, finish %q; want %q", text.String(), chunks, finish, want)
			}
			if wantUsage := map[bool]int{true: 1, false: 0}[includeUsage]; usageChunks != wantUsage {
				t.Errorf("client got %d usage chunks, want %d", usageChunks, wantUsage)
			}
			rec := g.recs.wait(t, 1)
			checkSurfaceRecord(t, rec, lyumen.SurfaceOpenAICompletions, true, []lyumen.Message{{Role: "user", Content: "stream me a reply"}})
			if got := rec.Response.Choices[0].Message.Content; got != want {
				t.Errorf("recorded %q, want %q", got, want)
			}
		})
	}
}

func TestCompletions_BadInput(t *testing.T) {
	tests := []struct {
		name string
		body string
		want apiError
		msg  string
	}{
		{name: "missing prompt", body: `{"model": "gpt-test"}`, want: apiError{400, "invalid_request_error", "prompt", ""}},
		{name: "unknown model", body: `{"model": "gpt-nope", "prompt": "x"}`, want: apiError{404, "invalid_request_error", "", "model_not_found"}},
		{name: "several prompts", body: `{"model": "gpt-test", "prompt": ["a", "b"]}`,
			want: apiError{400, "invalid_request_error", "prompt", "unsupported_parameter"}, msg: "cannot be translated"},
		{name: "token prompt", body: `{"model": "gpt-test", "prompt": [1, 2, 3]}`,
			want: apiError{400, "invalid_request_error", "prompt", "unsupported_parameter"}, msg: "tokens cannot be translated"},
		{name: "echo", body: `{"model": "gpt-test", "prompt": "x", "echo": true}`,
			want: apiError{400, "invalid_request_error", "echo", "unsupported_parameter"}, msg: "cannot be translated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newGateway(t)
			checkAPIError(t, g.client.Post(t.Context(), "completions", []byte(tc.body), nil), tc.want, tc.msg)
			checkRecorded(t, g, "", 0)
		})
	}
}
