package openai

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/sse"
)

// The legacy completions API (/v1/completions) is answered by translation
// by default: the prompt becomes the one user message of a chat
// conversation and the answer's text is rendered as a text_completion,
// which every upstream can serve. An OpenAI-compatible upstream set to
// native completions (Client.SetNativeCompletions; vLLM's or llama.cpp's
// base models) gets the request as the client wrote it: a base model
// continues the prompt, and echo, suffix, logprobs, best_of, n,
// logit_bias, several prompts and prompts as tokens all reach it. What
// only a raw completion can do is refused elsewhere with a 400
// (Request.Untranslated), and the router passes over the targets that
// cannot take it. Tools, which this API never had, are refused.

// defaultCompletionTokens is max_tokens when the client sets none: the
// official API's default, which clients of this API expect.
const defaultCompletionTokens = 16

// completionsRequest holds the fields the gateway reads.
type completionsRequest struct {
	Model            *string
	Prompt           json.RawMessage
	Stream           *bool
	StreamOptions    map[string]json.RawMessage
	IncludeUsage     *bool
	N                *int
	MaxTokens        *int
	Temperature      *float64
	TopP             *float64
	FrequencyPenalty *float64
	PresencePenalty  *float64
	Stop             json.RawMessage
	Echo             *bool
	Suffix           *string
	Logprobs         *int
	BestOf           *int
	LogitBias        map[string]json.RawMessage
	Seed             *int64
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
		field{"frequency_penalty", &cr.FrequencyPenalty}, field{"presence_penalty", &cr.PresencePenalty},
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
	echo := cr.Echo != nil && *cr.Echo
	switch {
	case cr.Model == nil || *cr.Model == "":
		return nil, invalid("model", "you must provide a model parameter")
	case cr.N != nil && (*cr.N < 1 || *cr.N > 128):
		return nil, invalid("n", "'n' must be between 1 and 128")
	case cr.MaxTokens != nil && *cr.MaxTokens < 0:
		return nil, invalid("max_tokens", "'max_tokens' must not be negative")
	case cr.MaxTokens != nil && *cr.MaxTokens == 0 && !echo:
		// 0 scores an echoed prompt; without echo, a translation would
		// read it as no limit at all.
		return nil, invalid("max_tokens", "'max_tokens' must be at least 1 without 'echo'")
	}
	prompt, prompts, untranslated, err := completionPrompt(cr.Prompt)
	if err != nil {
		return nil, err
	}
	n := 1
	if cr.N != nil {
		n = *cr.N
	}
	if prompts*n > lyumen.MaxChoices { // an answer per prompt and n
		return nil, invalid("n", "%d prompts with n %d ask for %d completions; the most is %d", prompts, n, prompts*n, lyumen.MaxChoices)
	}
	const raw = "completions are answered by chat models on this model's provider"
	for _, u := range []struct {
		set   bool
		param string
		msg   string
	}{
		{cr.N != nil && *cr.N > 1, "n", "'n' above 1 cannot be translated: " + raw + ", one completion per request"},
		{echo, "echo", "'echo' cannot be translated: " + raw + ", which do not echo the prompt"},
		{cr.Suffix != nil && *cr.Suffix != "", "suffix", "'suffix' (insertion) cannot be translated: " + raw},
		{cr.Logprobs != nil, "logprobs", "'logprobs' cannot be translated: " + raw},
		{cr.BestOf != nil && *cr.BestOf > 1, "best_of", "'best_of' cannot be translated: " + raw + ", one completion per request"},
		{len(cr.LogitBias) > 0, "logit_bias", "'logit_bias' cannot be translated: token ids differ between the models that may answer"},
	} {
		if u.set && untranslated == nil {
			untranslated = untranslatable(u.param, "%s", u.msg)
		}
	}
	req := &lyumen.Request{
		Untranslated: untranslated,
		Surface:      lyumen.SurfaceOpenAICompletions,
		Model:        *cr.Model,
		Stream:       cr.Stream != nil && *cr.Stream,
		IncludeUsage: cr.IncludeUsage != nil && *cr.IncludeUsage,
		Body:         body,
		N:            prompts * n,
		ScoreOnly:    echo && cr.MaxTokens != nil && *cr.MaxTokens == 0,
		MaxTokens:    defaultCompletionTokens,
		Temperature:  cr.Temperature,
		TopP:         cr.TopP,
		Seed:         cr.Seed,

		FrequencyPenalty: cr.FrequencyPenalty,
		PresencePenalty:  cr.PresencePenalty,
	}
	if cr.MaxTokens != nil {
		req.MaxTokens = *cr.MaxTokens
	}
	// The record's conversation is what a dataset may take for a prompt
	// and its answer: several prompts, an echo or a suffix would pair it
	// with the wrong text. Those are recorded in their body only.
	if untranslated == nil {
		req.Messages = []lyumen.Message{{Role: "user", Content: prompt}}
	}
	if req.Stop, err = stopSequences(cr.Stop); err != nil {
		return nil, err
	}
	return req, nil
}

// completionPrompt reads the prompt: a string, or an array of strings or
// of tokens. Only one string can be translated; for anything else it says
// why not. It returns the string, and how many prompts there are.
func completionPrompt(raw json.RawMessage) (string, int, *lyumen.Error, error) {
	if isNull(raw) {
		return "", 0, nil, invalid("prompt", "missing required parameter: 'prompt'")
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one, 1, nil, nil
	}
	tokens := untranslatable("prompt", "prompts given as tokens cannot be translated: the models of this model's provider read text; send the prompt as a string")
	var many []json.RawMessage
	if json.Unmarshal(raw, &many) != nil {
		return "", 0, nil, invalid("prompt", "invalid type for 'prompt': expected a string or an array of strings")
	}
	if len(many) == 0 {
		return "", 0, nil, invalid("prompt", "'prompt' must not be an empty array")
	}
	for _, p := range many {
		if isNull(p) { // decodes into anything without an error
			return "", 0, nil, invalid("prompt", "invalid type for 'prompt': expected a string or an array of strings")
		}
	}
	if isTokens(raw) { // one prompt, as tokens
		return "", 1, tokens, nil
	}
	var untranslated *lyumen.Error
	for _, p := range many {
		switch {
		case json.Unmarshal(p, &one) == nil:
		case isTokens(p):
			untranslated = tokens
		default:
			return "", 0, nil, invalid("prompt", "invalid type for 'prompt': expected a string or an array of strings")
		}
	}
	if len(many) > 1 && untranslated == nil {
		untranslated = untranslatable("prompt",
			"an array of %d prompts cannot be translated: completions are answered by chat models on this model's provider; send one prompt per request", len(many))
	}
	return one, len(many), untranslated, nil
}

// parseTextChunk reads one streamed legacy completion chunk.
func parseTextChunk(data []byte) (lyumen.Event, error) {
	root, err := eventObject(data)
	if err != nil {
		return lyumen.Event{}, err
	}
	for _, key := range [...]string{"error", "object"} {
		if err := eventError(key, root.Get(key), root); err != nil {
			return lyumen.Event{}, err
		}
	}
	ev := lyumen.Event{ID: root.Get("id").String(), Model: root.Get("model").String(), Usage: usageOf(root.Get("usage"))}
	choices := root.Get("choices")
	if choices.Exists() && choices.Type != gjson.Null && !choices.IsArray() {
		return lyumen.Event{}, errInvalidEvent
	}
	ok := true
	choices.ForEach(func(_, c gjson.Result) bool {
		index := c.Get("index")
		d := lyumen.ChoiceDelta{Index: int(index.Int()), Content: c.Get("text").String(), FinishReason: c.Get("finish_reason").String()}
		if !c.IsObject() || index.Exists() && (index.Type != gjson.Number || d.Index < 0 || d.Index >= lyumen.MaxChoices) {
			ok = false
			return false
		}
		ev.Choices = append(ev.Choices, d)
		return true
	})
	if !ok {
		return lyumen.Event{}, errInvalidEvent
	}
	return ev, nil
}

// isTokens reports that raw is a non-empty array of numbers: a prompt as
// tokens. (json.Number would also take the string "42", a prompt's text.)
func isTokens(raw json.RawMessage) bool {
	var xs []json.RawMessage
	if json.Unmarshal(raw, &xs) != nil || len(xs) == 0 {
		return false
	}
	for _, x := range xs {
		if c := bytes.TrimSpace(x); len(c) == 0 || c[0] != '-' && (c[0] < '0' || c[0] > '9') {
			return false
		}
	}
	return true
}

// textCompletion is a completion body and each streamed chunk: the legacy
// API uses one shape for both.
type textCompletion struct {
	ID      string             `json:"id"`
	Object  string             `json:"object"`
	Created int64              `json:"created"`
	Model   string             `json:"model"`
	Choices []completionChoice `json:"choices"`
	Usage   *wireUsage         `json:"usage,omitempty"`
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

// EncodeCompletion renders a canonical answer as a text_completion body;
// an upstream's own (Raw) goes as it came.
func EncodeCompletion(resp *lyumen.Response, model string, now time.Time) []byte {
	if resp.Raw != nil {
		return resp.Raw
	}
	c := textCompletion{ID: textCompletionID(resp.ID, now), Object: "text_completion", Created: now.Unix(), Model: model, Usage: (*wireUsage)(resp.Usage)}
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
	c := textCompletion{ID: textCompletionID(ev.ID, now), Object: "text_completion", Created: now.Unix(), Model: model, Usage: (*wireUsage)(ev.Usage)}
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
// client reads; an upstream's own chunk (Raw) goes as it came.
func (s *CompletionsStream) Event(dst []byte, ev *lyumen.Event) []byte {
	if ev.Raw != nil {
		if len(ev.Choices) == 0 && ev.Usage != nil && !s.req.IncludeUsage {
			return dst // the usage chunk the gateway asked for on its own behalf
		}
		return sse.AppendData(dst, "", ev.Raw)
	}
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
