package httpapi_test

import (
	"net/http/httptest"
	"testing"

	sdk "github.com/anthropics/anthropic-sdk-go/v2"
	sdkoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/google/go-cmp/cmp"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"

	"github.com/lyumen/lyumen"
)

// The same answer from each upstream: a 2,062-token prompt of which 2,048
// were read from the cache, 60 completion tokens of which 54 went to
// reasoning, in each upstream's own words.
var usageReplies = map[string]struct{ whole, stream string }{
	"openai": {
		whole: `{"id":"chatcmpl-u1","object":"chat.completion","created":1700000000,"model":"o4-mini-2025-04-16","choices":[{"index":0,"message":{"role":"assistant","content":"391.","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],` +
			`"usage":{"prompt_tokens":2062,"completion_tokens":60,"total_tokens":2122,"prompt_tokens_details":{"cached_tokens":2048,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":54,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":null}`,
		stream: "data: " + `{"id":"chatcmpl-u2","object":"chat.completion.chunk","created":1700000000,"model":"o4-mini-2025-04-16","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"finish_reason":null}],"usage":null}` + "\n\n" +
			"data: " + `{"id":"chatcmpl-u2","object":"chat.completion.chunk","created":1700000000,"model":"o4-mini-2025-04-16","choices":[{"index":0,"delta":{"content":"391."},"finish_reason":null}],"usage":null}` + "\n\n" +
			"data: " + `{"id":"chatcmpl-u2","object":"chat.completion.chunk","created":1700000000,"model":"o4-mini-2025-04-16","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}` + "\n\n" +
			"data: " + `{"id":"chatcmpl-u2","object":"chat.completion.chunk","created":1700000000,"model":"o4-mini-2025-04-16","choices":[],"usage":{"prompt_tokens":2062,"completion_tokens":60,"total_tokens":2122,"prompt_tokens_details":{"cached_tokens":2048,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":54,"audio_tokens":0}}}` + "\n\n" +
			"data: [DONE]\n\n",
	},
	"anthropic": {
		whole: `{"id":"msg_u1","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"thinking","thinking":"17 times 23: 391.","signature":"c2ln"},{"type":"text","text":"391."}],"stop_reason":"end_turn","stop_sequence":null,` +
			`"usage":{"input_tokens":14,"cache_creation_input_tokens":0,"cache_read_input_tokens":2048,"output_tokens":60,"output_tokens_details":{"thinking_tokens":54},"service_tier":"standard"}}`,
		stream: "event: message_start\ndata: " + `{"type":"message_start","message":{"id":"msg_u2","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":14,"cache_creation_input_tokens":0,"cache_read_input_tokens":2048,"output_tokens":1}}}` + "\n\n" +
			"event: content_block_start\ndata: " + `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}` + "\n\n" +
			"event: content_block_delta\ndata: " + `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"391."}}` + "\n\n" +
			"event: content_block_stop\ndata: " + `{"type":"content_block_stop","index":0}` + "\n\n" +
			"event: message_delta\ndata: " + `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":14,"cache_creation_input_tokens":0,"cache_read_input_tokens":2048,"output_tokens":60,"output_tokens_details":{"thinking_tokens":54}}}` + "\n\n" +
			"event: message_stop\ndata: " + `{"type":"message_stop"}` + "\n\n",
	},
	"gemini": {
		whole: `{"candidates":[{"content":{"parts":[{"text":"391."}],"role":"model"},"finishReason":"STOP","index":0}],` +
			`"usageMetadata":{"promptTokenCount":2062,"candidatesTokenCount":6,"totalTokenCount":2122,"cachedContentTokenCount":2048,"cacheTokensDetails":[{"modality":"TEXT","tokenCount":2048}],"thoughtsTokenCount":54},"modelVersion":"gemini-2.5-flash","responseId":"r1"}`,
		stream: "data: " + `{"candidates":[{"content":{"parts":[{"text":"391."}],"role":"model"},"index":0}],"modelVersion":"gemini-2.5-flash","responseId":"r2"}` + "\r\n\r\n" +
			"data: " + `{"candidates":[{"content":{"parts":[{"text":""}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":2062,"candidatesTokenCount":6,"totalTokenCount":2122,"cachedContentTokenCount":2048,"thoughtsTokenCount":54},"modelVersion":"gemini-2.5-flash","responseId":"r2"}` + "\r\n\r\n",
	},
}

// usageCounts is what a client of any surface should be told, and what is
// recorded.
var usageCounts = lyumen.Usage{PromptTokens: 2062, CompletionTokens: 60, TotalTokens: 2122, CachedTokens: 2048, ReasoningTokens: 54}

// TestUsageDetails_SDKs: whichever upstream answered, a client reads the
// cached and the reasoning tokens where its official SDK looks for them,
// streamed or not, on every surface (on a translated path the gateway
// writes them; passed through they are the upstream's own), and the
// record holds them.
func TestUsageDetails_SDKs(t *testing.T) {
	// counts reads one answer's usage through a surface's SDK, as the
	// canonical counts it stands for.
	surfaces := map[string]func(t *testing.T, base string, stream bool) lyumen.Usage{
		"openai chat": func(t *testing.T, base string, stream bool) lyumen.Usage {
			c := openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithAPIKey("anything"), option.WithMaxRetries(0))
			p := openai.ChatCompletionNewParams{Model: "gpt-public", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is 17 times 23?")}}
			var u openai.CompletionUsage
			if stream {
				p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
				s := c.Chat.Completions.NewStreaming(t.Context(), p)
				var acc openai.ChatCompletionAccumulator
				for s.Next() {
					acc.AddChunk(s.Current())
				}
				if err := s.Err(); err != nil {
					t.Fatal(err)
				}
				u = acc.Usage
			} else {
				resp, err := c.Chat.Completions.New(t.Context(), p)
				if err != nil {
					t.Fatal(err)
				}
				u = resp.Usage
			}
			return lyumen.Usage{PromptTokens: int(u.PromptTokens), CompletionTokens: int(u.CompletionTokens), TotalTokens: int(u.TotalTokens),
				CachedTokens: int(u.PromptTokensDetails.CachedTokens), ReasoningTokens: int(u.CompletionTokensDetails.ReasoningTokens)}
		},
		"openai completions": func(t *testing.T, base string, stream bool) lyumen.Usage {
			c := openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithAPIKey("anything"), option.WithMaxRetries(0))
			p := openai.CompletionNewParams{Model: "gpt-public", Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("17 times 23 is")}, MaxTokens: openai.Int(100)}
			var u openai.CompletionUsage
			if stream {
				p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
				s := c.Completions.NewStreaming(t.Context(), p)
				for s.Next() {
					if cur := s.Current(); cur.JSON.Usage.Valid() {
						u = cur.Usage
					}
				}
				if err := s.Err(); err != nil {
					t.Fatal(err)
				}
			} else {
				resp, err := c.Completions.New(t.Context(), p)
				if err != nil {
					t.Fatal(err)
				}
				u = resp.Usage
			}
			return lyumen.Usage{PromptTokens: int(u.PromptTokens), CompletionTokens: int(u.CompletionTokens), TotalTokens: int(u.TotalTokens),
				CachedTokens: int(u.PromptTokensDetails.CachedTokens), ReasoningTokens: int(u.CompletionTokensDetails.ReasoningTokens)}
		},
		"openai responses": func(t *testing.T, base string, stream bool) lyumen.Usage {
			c := openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithAPIKey("anything"), option.WithMaxRetries(0))
			p := responses.ResponseNewParams{Model: "gpt-public", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("What is 17 times 23?")}}
			var u responses.ResponseUsage
			if stream {
				s := c.Responses.NewStreaming(t.Context(), p)
				for s.Next() {
					if ev := s.Current(); ev.Type == "response.completed" {
						u = ev.Response.Usage
					}
				}
				if err := s.Err(); err != nil {
					t.Fatal(err)
				}
			} else {
				resp, err := c.Responses.New(t.Context(), p)
				if err != nil {
					t.Fatal(err)
				}
				u = resp.Usage
			}
			return lyumen.Usage{PromptTokens: int(u.InputTokens), CompletionTokens: int(u.OutputTokens), TotalTokens: int(u.TotalTokens),
				CachedTokens: int(u.InputTokensDetails.CachedTokens), ReasoningTokens: int(u.OutputTokensDetails.ReasoningTokens)}
		},
		"anthropic": func(t *testing.T, base string, stream bool) lyumen.Usage {
			c := sdk.NewClient(sdkoption.WithBaseURL(base+"/"), sdkoption.WithAPIKey("anything"), sdkoption.WithMaxRetries(0))
			p := sdk.MessageNewParams{Model: "claude-public", MaxTokens: 1024, Messages: []sdk.MessageParam{sdk.NewUserMessage(sdk.NewTextBlock("What is 17 times 23?"))}}
			var m sdk.Message
			if stream {
				s := c.Messages.NewStreaming(t.Context(), p)
				for s.Next() {
					if err := m.Accumulate(s.Current()); err != nil {
						t.Fatalf("the SDK refuses the event sequence: %v", err)
					}
				}
				if err := s.Err(); err != nil {
					t.Fatal(err)
				}
			} else {
				resp, err := c.Messages.New(t.Context(), p)
				if err != nil {
					t.Fatal(err)
				}
				m = *resp
			}
			u := m.Usage
			// Anthropic's input_tokens leave out what the cache served or
			// took in.
			prompt := int(u.InputTokens + u.CacheReadInputTokens + u.CacheCreationInputTokens)
			return lyumen.Usage{PromptTokens: prompt, CompletionTokens: int(u.OutputTokens), TotalTokens: prompt + int(u.OutputTokens),
				CachedTokens: int(u.CacheReadInputTokens), ReasoningTokens: int(u.OutputTokensDetails.ThinkingTokens)}
		},
	}
	for sname, read := range surfaces {
		for uname, reply := range usageReplies {
			up := translationUpstreams[uname]
			for _, stream := range []bool{false, true} {
				name := sname + " from " + uname
				if stream {
					name += ", streamed"
				}
				t.Run(name, func(t *testing.T) {
					body := reply.whole
					if stream {
						body = reply.stream
					}
					fake := httptest.NewServer(&cannedUpstream{reply: []byte(body)})
					t.Cleanup(fake.Close)
					recs := &records{}
					gw := httptest.NewServer(translationGateway(up.client(fake.URL, fake.Client().Transport), recs))
					t.Cleanup(gw.Close)

					if diff := cmp.Diff(usageCounts, read(t, gw.URL, stream)); diff != "" {
						t.Errorf("usage as the SDK reads it (-want +got):\n%s", diff)
					}
					if diff := cmp.Diff(usageCounts, recs.wait(t, 1).Usage); diff != "" {
						t.Errorf("recorded usage (-want +got):\n%s", diff)
					}
				})
			}
		}
	}
}
