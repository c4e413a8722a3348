package httpapi_test

import (
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/lyumen/lyumen"
	oai "github.com/lyumen/lyumen/openai"
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
	// By default the prompt reached the chat upstream as the one user
	// message: every OpenAI-compatible server has chat, not all have
	// completions.
	seen := g.up.Seen()[0]
	msgs, _ := seen.Body["messages"].([]any)
	if seen.Path != "/v1/chat/completions" || len(msgs) != 1 || seen.Body["max_tokens"] != 50.0 {
		t.Errorf("upstream got %s %v", seen.Path, seen.Body)
	}
}

// TestCompletions_PassedThrough: with native completions, what only a raw
// completion can do (echo, suffix, several prompts, tokens, n) reaches an
// OpenAI-compatible upstream's /completions, and its answers are
// recorded, one choice each.
func TestCompletions_PassedThrough(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(map[bool]string{false: "whole", true: "streamed"}[stream], func(t *testing.T) {
			g := newGateway(t, func(c *oai.Client) { c.SetNativeCompletions(true) })
			body := `{"model":"` + publicModel + `","prompt":["def fib(n):","x"],"suffix":"\n","echo":true,"n":2,"logprobs":1,"stream":` + map[bool]string{false: "false", true: "true"}[stream] + `}`
			var got strings.Builder
			if stream {
				s := g.client.Completions.NewStreaming(t.Context(), openai.CompletionNewParams{}, option.WithRequestBody("application/json", []byte(body)))
				for s.Next() {
					for _, ch := range s.Current().Choices {
						got.WriteString(ch.Text)
					}
				}
				if err := s.Err(); err != nil {
					t.Fatal(err)
				}
			} else {
				resp, err := g.client.Completions.New(t.Context(), openai.CompletionNewParams{}, option.WithRequestBody("application/json", []byte(body)))
				if err != nil {
					t.Fatal(err)
				}
				for _, ch := range resp.Choices {
					got.WriteString(ch.Text)
				}
			}
			want := "def fib(n):" + providertest.EchoText("def fib(n):")
			second := "x" + providertest.EchoText("x")
			if got.String() != want+want+second+second {
				t.Errorf("client got %q, want %q twice and %q twice", got.String(), want, second)
			}
			seen := g.up.Seen()[0]
			if seen.Path != "/v1/completions" || seen.Body["suffix"] != "\n" || seen.Body["echo"] != true || seen.Body["n"] != 2.0 {
				t.Errorf("upstream got %s %v", seen.Path, seen.Body)
			}
			rec := g.recs.wait(t, 1)
			if rec.Completeness != lyumen.Complete || rec.Response == nil || len(rec.Response.Choices) != 4 ||
				rec.Response.Choices[1].Message.Content != want || rec.Response.Choices[3].Message.Content != second ||
				rec.Response.Choices[3].FinishReason != "stop" {
				t.Errorf("recorded %s %+v", rec.Completeness, rec.Response)
			}
			// Two prompts, an echo and a suffix: no pair a dataset could
			// take for a prompt and its answer.
			if len(rec.Conversation.Messages) != 0 {
				t.Errorf("recorded conversation %+v, want none", rec.Conversation.Messages)
			}
		})
	}
}

// TestCompletions_TokenPrompt: with native completions, a prompt of
// tokens is one prompt, answered once, as at OpenAI; an array of token
// arrays is one prompt per array.
func TestCompletions_TokenPrompt(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prompt  openai.CompletionNewParamsPromptUnion
		choices int
	}{
		{name: "tokens", prompt: openai.CompletionNewParamsPromptUnion{OfArrayOfTokens: []int64{1, 2, 3}}, choices: 1},
		{name: "token arrays", prompt: openai.CompletionNewParamsPromptUnion{OfArrayOfTokenArrays: [][]int64{{1, 2}, {3}}}, choices: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGateway(t, func(c *oai.Client) { c.SetNativeCompletions(true) })
			resp, err := g.client.Completions.New(t.Context(), openai.CompletionNewParams{Model: publicModel, Prompt: tc.prompt})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Choices) != tc.choices {
				t.Errorf("got %d choices, want %d: %s", len(resp.Choices), tc.choices, resp.RawJSON())
			}
			rec := g.recs.wait(t, 1)
			if got := len(rec.Response.Choices); got != tc.choices {
				t.Errorf("recorded %d choices, want %d", got, tc.choices)
			}
		})
	}
}

// TestCompletions_CutStreamOfSeveralPrompts: a native stream cut after
// the first prompt's answer finished, before the second's, is recorded as
// cut, not whole: each prompt's answer counts.
func TestCompletions_CutStreamOfSeveralPrompts(t *testing.T) {
	g := newGateway(t, func(c *oai.Client) { c.SetNativeCompletions(true) })
	g.up.Set(providertest.Behaviour{DieAfter: 4}) // the first answer's 3 chunks, then one of the second's
	s := g.client.Completions.NewStreaming(t.Context(), openai.CompletionNewParams{},
		option.WithRequestBody("application/json", []byte(`{"model":"`+publicModel+`","prompt":["x","y"],"stream":true}`)))
	for s.Next() {
	}
	if s.Err() == nil {
		t.Error("the client saw a whole stream")
	}
	if rec := g.recs.wait(t, 1); rec.Completeness != lyumen.UpstreamFailed {
		t.Errorf("recorded %s, want %s", rec.Completeness, lyumen.UpstreamFailed)
	}
}

// TestCompletions_UntranslatableElsewhere: the same requests to a model
// served by translation get a 400 naming what cannot be translated.
func TestCompletions_UntranslatableElsewhere(t *testing.T) {
	for _, tc := range []struct{ name, body, param, msg string }{
		{"several prompts", `{"model":"` + claudeModel + `","prompt":["a","b"]}`, "prompt", "cannot be translated"},
		{"token prompt", `{"model":"` + claudeModel + `","prompt":[1,2,3]}`, "prompt", "tokens cannot be translated"},
		{"echo", `{"model":"` + claudeModel + `","prompt":"x","echo":true}`, "echo", "cannot be translated"},
		{"suffix", `{"model":"` + claudeModel + `","prompt":"x","suffix":"y"}`, "suffix", "cannot be translated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newClaudeGateway(t)
			checkAPIError(t, g.oclient.Post(t.Context(), "completions", []byte(tc.body), nil),
				apiError{400, "invalid_request_error", tc.param, "unsupported_parameter"}, tc.msg)
			if n := len(g.anth.Seen()); n != 0 {
				t.Errorf("the Anthropic upstream was asked %d times", n)
			}
		})
		// An OpenAI-compatible provider that translates (the default)
		// refuses it the same way, before asking its upstream.
		t.Run(tc.name+", translated to chat", func(t *testing.T) {
			g := newGateway(t)
			body := strings.Replace(tc.body, claudeModel, publicModel, 1)
			checkAPIError(t, g.client.Post(t.Context(), "completions", []byte(body), nil),
				apiError{400, "invalid_request_error", tc.param, "unsupported_parameter"}, tc.msg)
			if n := len(g.up.Seen()); n != 0 {
				t.Errorf("the upstream was asked %d times", n)
			}
		})
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
		{name: "max_tokens 0 without echo", body: `{"model": "gpt-test", "prompt": "x", "max_tokens": 0}`,
			want: apiError{400, "invalid_request_error", "max_tokens", ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newGateway(t)
			checkAPIError(t, g.client.Post(t.Context(), "completions", []byte(tc.body), nil), tc.want, tc.msg)
			checkRecorded(t, g, "", 0)
		})
	}
}
