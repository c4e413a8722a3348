package openai

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/sse"
)

// The legacy completions API (/v1/completions) is served by translation,
// not as a raw completion: the prompt becomes the one user message of a
// chat conversation, any chat model answers it, and the answer's text is
// rendered as a text_completion. A chat model does not continue the prompt
// the way a base model does; clients that need raw continuation need an
// upstream that serves /v1/completions itself. What only a raw completion
// can do is refused with a 400: several prompts, prompts as token arrays,
// echo, suffix, logprobs, best_of, logit_bias and n above 1. Tools, which
// this API never had, are refused rather than dropped.

// defaultCompletionTokens is max_tokens when the client sets none: the
// official API's default, which clients of this API expect.
const defaultCompletionTokens = 16

// completionsRequest holds the fields the gateway reads.
type completionsRequest struct {
	Model         *string
	Prompt        json.RawMessage
	Stream        *bool
	StreamOptions map[string]json.RawMessage
	IncludeUsage  *bool
	N             *int
	MaxTokens     *int
	Temperature   *float64
	TopP          *float64
	Stop          json.RawMessage
	Echo          *bool
	Suffix        *string
	Logprobs      *int
	BestOf        *int
	LogitBias     map[string]json.RawMessage
	Seed          *int64
}

// DecodeCompletions parses and validates a /v1/completions body. Errors
// are *lyumen.Error of kind KindInvalid with OpenAI-style messages.
func DecodeCompletions(body []byte) (*lyumen.Request, error) {
	fields, err := decodeObject(body)
	if err != nil {
		return nil, err
	}
	if k := duplicateKey(body, "model", "prompt", "stream", "stream_options", "n", "max_tokens"); k != "" {
		return nil, invalid(k, "duplicate key '%s' in the request body", k)
	}
	var cr completionsRequest
	if err := readFields(fields,
		field{"model", &cr.Model}, field{"prompt", &cr.Prompt}, field{"stream", &cr.Stream},
		field{"stream_options", &cr.StreamOptions}, field{"n", &cr.N}, field{"max_tokens", &cr.MaxTokens},
		field{"temperature", &cr.Temperature}, field{"top_p", &cr.TopP}, field{"stop", &cr.Stop},
		field{"echo", &cr.Echo}, field{"suffix", &cr.Suffix}, field{"logprobs", &cr.Logprobs},
		field{"best_of", &cr.BestOf}, field{"logit_bias", &cr.LogitBias}, field{"seed", &cr.Seed},
	); err != nil {
		return nil, err
	}
	// The completions API has no tools. Dropping them would answer in text
	// a client that waits for a call, so they are refused.
	for _, k := range []string{"tools", "tool_choice", "functions", "function_call"} {
		if !isNull(fields[k]) {
			return nil, untranslatable(k, "'%s' cannot be translated: the completions API has no tool calls; send tools to /v1/chat/completions or /v1/responses", k)
		}
	}
	if raw, ok := cr.StreamOptions["include_usage"]; ok {
		if err := json.Unmarshal(raw, &cr.IncludeUsage); err != nil {
			return nil, decodeError(err, "stream_options.include_usage")
		}
	}
	switch {
	case cr.Model == nil || *cr.Model == "":
		return nil, invalid("model", "you must provide a model parameter")
	case cr.N != nil && (*cr.N < 1 || *cr.N > 128):
		return nil, invalid("n", "'n' must be between 1 and 128")
	case cr.N != nil && *cr.N > 1:
		return nil, untranslatable("n", "'n' above 1 cannot be translated: completions are answered by chat models here, one completion per request")
	case cr.MaxTokens != nil && *cr.MaxTokens < 1:
		// 0 scores an echoed prompt at OpenAI; here, with no echo, it
		// would be read as no limit at all.
		return nil, invalid("max_tokens", "'max_tokens' must be at least 1")
	case cr.Echo != nil && *cr.Echo:
		return nil, untranslatable("echo", "'echo' cannot be translated: completions are answered by chat models here, which do not echo the prompt")
	case cr.Suffix != nil && *cr.Suffix != "":
		return nil, untranslatable("suffix", "'suffix' (insertion) cannot be translated: completions are answered by chat models here")
	case cr.Logprobs != nil:
		return nil, untranslatable("logprobs", "'logprobs' cannot be translated: completions are answered by chat models here")
	case cr.BestOf != nil && *cr.BestOf > 1:
		return nil, untranslatable("best_of", "'best_of' cannot be translated: completions are answered by chat models here, one completion per request")
	case len(cr.LogitBias) > 0:
		return nil, untranslatable("logit_bias", "'logit_bias' cannot be translated: token ids differ between the models that may answer")
	}
	prompt, err := completionPrompt(cr.Prompt)
	if err != nil {
		return nil, err
	}
	req := &lyumen.Request{
		Surface:      lyumen.SurfaceOpenAICompletions,
		Model:        *cr.Model,
		Stream:       cr.Stream != nil && *cr.Stream,
		IncludeUsage: cr.IncludeUsage != nil && *cr.IncludeUsage,
		Body:         body,
		Messages:     []lyumen.Message{{Role: "user", Content: prompt}},
		MaxTokens:    defaultCompletionTokens,
		Temperature:  cr.Temperature,
		TopP:         cr.TopP,
		Seed:         cr.Seed,
	}
	if cr.MaxTokens != nil {
		req.MaxTokens = *cr.MaxTokens
	}
	if req.Stop, err = stopSequences(cr.Stop); err != nil {
		return nil, err
	}
	return req, nil
}

// completionPrompt reads the prompt: a string, or an array holding one.
func completionPrompt(raw json.RawMessage) (string, error) {
	if isNull(raw) {
		return "", invalid("prompt", "missing required parameter: 'prompt'")
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one, nil
	}
	var many []json.RawMessage
	if json.Unmarshal(raw, &many) != nil {
		return "", invalid("prompt", "invalid type for 'prompt': expected a string or an array of strings")
	}
	if len(many) == 0 {
		return "", invalid("prompt", "'prompt' must not be an empty array")
	}
	for _, p := range many {
		switch {
		case isNull(p): // decodes into anything without an error
			return "", invalid("prompt", "invalid type for 'prompt': expected a string or an array of strings")
		case json.Unmarshal(p, &one) == nil:
		case json.Unmarshal(p, new(json.Number)) == nil, json.Unmarshal(p, new([]json.Number)) == nil:
			return "", untranslatable("prompt",
				"prompts given as tokens cannot be translated: the models here read text; send the prompt as a string")
		default:
			return "", invalid("prompt", "invalid type for 'prompt': expected a string or an array of strings")
		}
	}
	if len(many) > 1 {
		return "", untranslatable("prompt",
			"an array of %d prompts cannot be translated: completions are answered by chat models here; send one prompt per request", len(many))
	}
	return one, nil
}

// textCompletion is a completion body and each streamed chunk: the legacy
// API uses one shape for both.
type textCompletion struct {
	ID      string             `json:"id"`
	Object  string             `json:"object"`
	Created int64              `json:"created"`
	Model   string             `json:"model"`
	Choices []completionChoice `json:"choices"`
	Usage   *lyumen.Usage      `json:"usage,omitempty"`
}

type completionChoice struct {
	Text         string    `json:"text"`
	Index        int       `json:"index"`
	Logprobs     *struct{} `json:"logprobs"`
	FinishReason *string   `json:"finish_reason"`
}

// textCompletionID turns a chat completion's id into a completion's.
func textCompletionID(id string, now time.Time) string {
	if rest, ok := strings.CutPrefix(id, "chatcmpl-"); ok {
		return "cmpl-" + rest
	}
	if id == "" {
		return "cmpl-" + strconv.FormatInt(now.UnixNano(), 36)
	}
	return id
}

// EncodeCompletion renders a canonical answer as a text_completion body.
func EncodeCompletion(resp *lyumen.Response, model string, now time.Time) []byte {
	c := textCompletion{ID: textCompletionID(resp.ID, now), Object: "text_completion", Created: now.Unix(), Model: model, Usage: resp.Usage}
	if resp.Model != "" {
		c.Model = resp.Model
	}
	c.Choices = make([]completionChoice, len(resp.Choices))
	for i, ch := range resp.Choices {
		fr := ch.FinishReason
		c.Choices[i] = completionChoice{Text: ch.Message.Text(), Index: ch.Index, FinishReason: &fr}
	}
	b, _ := json.Marshal(c) // cannot fail: plain types only
	return b
}

// EncodeCompletionChunk renders a canonical event as a streamed
// text_completion, or returns nil when the event carries nothing a
// completion client reads (a chat stream's opening role).
func EncodeCompletionChunk(ev *lyumen.Event, model string, now time.Time) []byte {
	c := textCompletion{ID: textCompletionID(ev.ID, now), Object: "text_completion", Created: now.Unix(), Model: model, Usage: ev.Usage}
	if ev.Model != "" {
		c.Model = ev.Model
	}
	c.Choices = make([]completionChoice, 0, len(ev.Choices))
	for _, d := range ev.Choices {
		if d.Content == "" && d.FinishReason == "" {
			continue
		}
		ch := completionChoice{Text: d.Content, Index: d.Index}
		if d.FinishReason != "" {
			ch.FinishReason = &d.FinishReason
		}
		c.Choices = append(c.Choices, ch)
	}
	if len(c.Choices) == 0 && ev.Usage == nil {
		return nil
	}
	b, _ := json.Marshal(c)
	return b
}

// CompletionsStream renders a canonical stream as streamed text_completion
// chunks, ended by [DONE] as the official API ends them.
type CompletionsStream struct {
	req *lyumen.Request
	now time.Time
}

// NewCompletionsStream starts the encoding of the answer to req, created at now.
func NewCompletionsStream(req *lyumen.Request, now time.Time) *CompletionsStream {
	return &CompletionsStream{req: req, now: now}
}

// Event appends the chunk that carries ev, if it carries anything the
// client reads.
func (s *CompletionsStream) Event(dst []byte, ev *lyumen.Event) []byte {
	if ev.Usage != nil && !s.req.IncludeUsage {
		e := *ev
		e.Usage = nil // the gateway asked for it on its own behalf
		ev = &e
	}
	chunk := EncodeCompletionChunk(ev, s.req.Model, s.now)
	if chunk == nil {
		return dst
	}
	return sse.AppendData(dst, "", chunk)
}

// End appends [DONE].
func (s *CompletionsStream) End(dst []byte, _ *lyumen.Response) []byte {
	return append(dst, "data: [DONE]\n\n"...)
}

// Fail appends the error in the OpenAI envelope, as the official API ends
// a failed stream.
func (s *CompletionsStream) Fail(dst []byte, err error) []byte {
	_, body := Error(err)
	return sse.AppendData(dst, "", body)
}
