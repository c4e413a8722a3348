package openai

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
	"unsafe"

	"github.com/tidwall/gjson"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/jsontext"
)

// chatCompletion is the non-streamed response body.
type chatCompletion struct {
	ID      string          `json:"id"`
	Object  string          `json:"object"`
	Created int64           `json:"created"`
	Model   string          `json:"model"`
	Choices []wireChoice    `json:"choices"`
	Usage   *wireUsage      `json:"usage,omitempty"`
	Error   json.RawMessage `json:"error,omitempty"`
}

type wireChoice struct {
	Index        int             `json:"index"`
	Message      *wireMessage    `json:"message,omitempty"`
	Delta        *wireMessage    `json:"delta,omitempty"`
	Logprobs     nullField       `json:"logprobs,omitempty"`
	FinishReason *string         `json:"finish_reason"`
	Error        json.RawMessage `json:"error,omitempty"` // OpenRouter's, with finish_reason "error"
	Text         string          `json:"text,omitempty"`  // a legacy completion's answer, read only
}

type wireMessage struct {
	Role      string         `json:"role,omitempty"`
	Content   *string        `json:"content"`
	ToolCalls []wireToolCall `json:"tool_calls,omitempty"`
	// Read from upstreams, never written: a JSON string each, or anything
	// else, which is not read (a server's "reasoning" may be an object).
	ReasoningContent json.RawMessage `json:"reasoning_content,omitempty"` // DeepSeek, vLLM
	Reasoning        json.RawMessage `json:"reasoning,omitempty"`         // OpenRouter, vLLM
	Refusal          json.RawMessage `json:"refusal,omitempty"`
}

// aside returns the field of key, one of reasoning_content, reasoning and
// refusal.
func (m *wireMessage) aside(key string) *json.RawMessage {
	switch key {
	case "reasoning_content":
		return &m.ReasoningContent
	case "reasoning":
		return &m.Reasoning
	}
	return &m.Refusal
}

// text returns v's string, or "" when v is not a JSON string.
func text(v json.RawMessage) string {
	if len(v) == 0 || v[0] != '"' {
		return "" // before any decoding: its variable would go to the heap on every answer
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return ""
	}
	return s
}

// chatChunk is one streamed event.
type chatChunk struct {
	ID      string          `json:"id"`
	Object  string          `json:"object"`
	Created int64           `json:"created"`
	Model   string          `json:"model"`
	Choices []wireChoice    `json:"choices"`
	Usage   *wireUsage      `json:"usage,omitempty"`
	Error   json.RawMessage `json:"error,omitempty"`
}

// decodeCompletion reads a whole answer the fast path did not take. Token
// counts and created are read as any JSON number: servers that send 12.0
// (or a fractional created) otherwise failed an answer that was good, and
// the router asked another target for it again.
func decodeCompletion(raw []byte) (chatCompletion, error) {
	var in struct {
		chatCompletion
		Created float64     `json:"created"` // these two shadow the embedded ones
		Usage   *wireCounts `json:"usage"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return chatCompletion{}, err
	}
	cc := in.chatCompletion
	cc.Created = int64(in.Created)
	cc.Usage = in.Usage.usage()
	return cc, nil
}

// wireCounts is a usage object as read: its counts as any JSON number, the
// cached and reasoning ones from their details objects.
type wireCounts struct {
	PromptTokens            float64      `json:"prompt_tokens"`
	CompletionTokens        float64      `json:"completion_tokens"`
	TotalTokens             float64      `json:"total_tokens"`
	PromptTokensDetails     usageDetails `json:"prompt_tokens_details"`
	CompletionTokensDetails usageDetails `json:"completion_tokens_details"`
}

func (u *wireCounts) usage() *wireUsage {
	if u == nil {
		return nil
	}
	return &wireUsage{PromptTokens: int(u.PromptTokens), CompletionTokens: int(u.CompletionTokens), TotalTokens: int(u.TotalTokens),
		CachedTokens: u.PromptTokensDetails.cached, ReasoningTokens: u.CompletionTokensDetails.reasoning}
}

// usageDetails is a usage details object's cached and reasoning counts,
// read as usageDetail reads them. Anything else fails nothing: a count the
// answer does not hinge on, in objects OpenAI-compatible servers fill as
// they like.
type usageDetails struct{ cached, reasoning int }

func (d *usageDetails) UnmarshalJSON(b []byte) error {
	v := gjson.Parse(unsafe.String(unsafe.SliceData(b), len(b))) // read here, not kept
	d.cached, d.reasoning = usageDetail(v, "cached_tokens"), usageDetail(v, "reasoning_tokens")
	return nil
}

// usageDetail reads a count from a usage details object as every general
// path does, with gjson: the first of a repeated key, case sensitive, 0
// when absent or when details is not an object (null included).
func usageDetail(details gjson.Result, key string) int {
	if !details.IsObject() {
		return 0
	}
	return int(details.Get(key).Int())
}

// wireUsage is OpenAI's usage object (CompletionUsage), the same in chat
// and legacy completions, as the encoders render it (appendUsage); it is
// read as a wireCounts.
type wireUsage lyumen.Usage

// MarshalJSON renders u as appendUsage does.
func (u *wireUsage) MarshalJSON() ([]byte, error) {
	return appendUsage(make([]byte, 0, 160), (*lyumen.Usage)(u)), nil
}

// failure returns the error an upstream put in a 200 answer, or nil.
// OpenRouter sends its status before the model runs and reports a failure
// after it in the body: whole ({"error":…}), or as each choice's finish
// ("finish_reason":"error", with the choice's "error").
func (c *chatCompletion) failure() *lyumen.Error {
	if isSet(c.Error) {
		return bodyError(c.Error)
	}
	for _, ch := range c.Choices {
		if ch.FinishReason == nil || *ch.FinishReason != "error" {
			return nil
		}
	}
	if len(c.Choices) == 0 {
		return nil
	}
	if e := c.Choices[0].Error; isSet(e) {
		return bodyError(e)
	}
	return &lyumen.Error{Kind: lyumen.KindUpstream, Status: http.StatusBadGateway, Message: "upstream: the answer ended in an error"}
}

func isSet(v json.RawMessage) bool { return len(v) > 0 && string(v) != "null" }

// bodyError is an upstream's error object found in a 200 body, with the
// status its code names (OpenRouter's are HTTP statuses), or 502.
func bodyError(e json.RawMessage) *lyumen.Error {
	status := http.StatusBadGateway
	var c struct {
		Code any `json:"code"`
	}
	if json.Unmarshal(e, &c) == nil {
		if n, ok := c.Code.(float64); ok && n >= 400 && n <= 599 {
			status = int(n)
		}
	}
	return upstreamError(status, append(append([]byte(`{"error":`), e...), '}'))
}

func (c *chatCompletion) canonical() *lyumen.Response {
	resp := &lyumen.Response{ID: c.ID, Model: c.Model, Usage: (*lyumen.Usage)(c.Usage), Choices: make([]lyumen.Choice, len(c.Choices))}
	for i, ch := range c.Choices {
		out := lyumen.Choice{Index: ch.Index}
		if ch.FinishReason != nil {
			out.FinishReason = *ch.FinishReason
		}
		if c.Object == "text_completion" { // a legacy completion, passed through
			out.Message = lyumen.Message{Role: "assistant", Content: ch.Text}
		}
		if m := ch.Message; m != nil {
			out.Message.Role = m.Role
			if m.Content != nil {
				out.Message.Content = *m.Content
			}
			if out.Message.Reasoning = text(m.ReasoningContent); out.Message.Reasoning == "" {
				out.Message.Reasoning = text(m.Reasoning)
			}
			out.Message.Refusal = text(m.Refusal)
			for j, tc := range m.ToolCalls {
				out.Message.ToolCalls = append(out.Message.ToolCalls, lyumen.ToolCall{
					Index: j, ID: tc.ID, Type: tc.Type, Name: tc.Function.Name, Arguments: tc.Function.Arguments,
				})
			}
		}
		resp.Choices[i] = out
	}
	return resp
}

func wireToolCalls(calls []lyumen.ToolCall, withIndex bool) []wireToolCall {
	if len(calls) == 0 {
		return nil
	}
	out := make([]wireToolCall, len(calls))
	for i, tc := range calls {
		w := wireToolCall{ID: tc.ID, Type: tc.Type}
		if withIndex {
			idx := tc.Index
			w.Index = &idx
		}
		w.Function.Name, w.Function.Arguments = tc.Name, tc.Arguments
		out[i] = w
	}
	return out
}

func completionID(id string, now time.Time) string {
	if id == "" {
		return "chatcmpl-" + strconv.FormatInt(now.UnixNano(), 36)
	}
	return id
}

// jsonNull is a field written as null.
var jsonNull = json.RawMessage("null")

// nullField is a field written as null when set, and never read: a
// choice's logprobs, which the gateway does not carry from other
// upstreams but a chat.completion must have.
type nullField bool

func (nullField) MarshalJSON() ([]byte, error) { return jsonNull, nil }

func (*nullField) UnmarshalJSON([]byte) error { return nil }

// EncodeChat renders a canonical response as a chat.completion body,
// for providers that do not speak this wire format.
func EncodeChat(resp *lyumen.Response, model string, now time.Time) []byte {
	if resp.Raw != nil {
		return resp.Raw
	}
	c := chatCompletion{ID: completionID(resp.ID, now), Object: "chat.completion", Created: now.Unix(), Model: model, Usage: (*wireUsage)(resp.Usage)}
	if resp.Model != "" {
		c.Model = resp.Model
	}
	c.Choices = make([]wireChoice, len(resp.Choices))
	for i, ch := range resp.Choices {
		content := ch.Message.Content
		m := &wireMessage{Role: "assistant", ToolCalls: wireToolCalls(ch.Message.ToolCalls, false)}
		if content != "" || len(m.ToolCalls) == 0 {
			m.Content = &content
		}
		m.Refusal = jsonNull // required, as logprobs: null where there is none
		fr := ch.FinishReason
		c.Choices[i] = wireChoice{Index: ch.Index, Message: m, Logprobs: true, FinishReason: &fr}
	}
	if b, ok := appendCompletion(make([]byte, 0, 512), &c); ok {
		return b
	}
	b, _ := json.Marshal(c) // cannot fail: plain types only
	return b
}

// appendCompletion appends c as json.Marshal renders it when its choices
// are text messages, the commonest translated answer, without reflection;
// ok is false for anything else (tool calls, an error).
func appendCompletion(dst []byte, c *chatCompletion) ([]byte, bool) {
	return appendChatObject(dst, (*chatChunk)(c), false)
}

// appendUsage appends u as OpenAI renders a usage object: the three
// counts, then prompt_tokens_details with the cached tokens and
// completion_tokens_details with the reasoning tokens, each only when
// known (not zero). OpenAI's own API always sends both, with audio and
// prediction counts no other upstream has; the SDKs read either object as
// optional, as answers from other OpenAI-compatible servers need.
func appendUsage(dst []byte, u *lyumen.Usage) []byte {
	dst = append(dst, `{"prompt_tokens":`...)
	dst = strconv.AppendInt(dst, int64(u.PromptTokens), 10)
	dst = append(dst, `,"completion_tokens":`...)
	dst = strconv.AppendInt(dst, int64(u.CompletionTokens), 10)
	dst = append(dst, `,"total_tokens":`...)
	dst = strconv.AppendInt(dst, int64(u.TotalTokens), 10)
	if u.CachedTokens != 0 {
		dst = append(dst, `,"prompt_tokens_details":{"cached_tokens":`...)
		dst = append(strconv.AppendInt(dst, int64(u.CachedTokens), 10), '}')
	}
	if u.ReasoningTokens != 0 {
		dst = append(dst, `,"completion_tokens_details":{"reasoning_tokens":`...)
		dst = append(strconv.AppendInt(dst, int64(u.ReasoningTokens), 10), '}')
	}
	return append(dst, '}')
}

// EncodeChunk renders a canonical event as a chat.completion.chunk payload.
func EncodeChunk(ev *lyumen.Event, model string, now time.Time) []byte {
	if ev.Raw != nil {
		return ev.Raw
	}
	if d, ok := textOnly(ev); ok { // most events: the fast path renders the same bytes
		m := model
		if ev.Model != "" {
			m = ev.Model
		}
		id := completionID(ev.ID, now)
		return appendTextChunk(make([]byte, 0, 150+len(id)+len(m)+len(d.Content)), id, m, now.Unix(), d)
	}
	return encodeChunk(ev, model, now)
}

// encodeChunk renders any event: by appending when no choice carries tool
// calls, with encoding/json otherwise.
func encodeChunk(ev *lyumen.Event, model string, now time.Time) []byte {
	c := chunkOf(ev, model, now)
	if b, ok := appendChunk(make([]byte, 0, 256), &c); ok {
		return b
	}
	b, _ := json.Marshal(c)
	return b
}

// chunkOf is the chat.completion.chunk of ev.
func chunkOf(ev *lyumen.Event, model string, now time.Time) chatChunk {
	c := chatChunk{ID: completionID(ev.ID, now), Object: "chat.completion.chunk", Created: now.Unix(), Model: model, Usage: (*wireUsage)(ev.Usage)}
	if ev.Model != "" {
		c.Model = ev.Model
	}
	c.Choices = make([]wireChoice, len(ev.Choices))
	for i, d := range ev.Choices {
		m := &wireMessage{Role: d.Role, ToolCalls: wireToolCalls(d.ToolCalls, true)}
		if d.Content != "" || d.Role != "" {
			content := d.Content
			m.Content = &content
		}
		var fr *string
		if d.FinishReason != "" {
			fr = &d.FinishReason
		}
		c.Choices[i] = wireChoice{Index: d.Index, Delta: m, FinishReason: fr}
	}
	return c
}

// appendChunk appends c as json.Marshal renders it when no choice carries
// tool calls: the first and last chunks of a translated stream (a role, a
// finish reason, usage), without reflection. ok is false otherwise.
func appendChunk(dst []byte, c *chatChunk) ([]byte, bool) {
	return appendChatObject(dst, c, true)
}

// appendChatObject appends a chat.completion (choices with a message) or a
// chat.completion.chunk (choices with a delta): the two differ only there.
// ok is false when a choice has tool calls, the other of message and
// delta, or the object an error.
func appendChatObject(dst []byte, c *chatChunk, delta bool) ([]byte, bool) {
	if len(c.Error) > 0 {
		return nil, false
	}
	dst = append(dst, `{"id":`...)
	dst = jsontext.AppendString(dst, c.ID)
	dst = append(dst, `,"object":`...)
	dst = jsontext.AppendString(dst, c.Object)
	dst = append(dst, `,"created":`...)
	dst = strconv.AppendInt(dst, c.Created, 10)
	dst = append(dst, `,"model":`...)
	dst = jsontext.AppendString(dst, c.Model)
	dst = append(dst, `,"choices":`...)
	if c.Choices == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i := range c.Choices {
			ch := &c.Choices[i]
			m, other, key := ch.Message, ch.Delta, `,"message":{`
			if delta {
				m, other, key = ch.Delta, ch.Message, `,"delta":{`
			}
			if other != nil || m == nil || len(m.ToolCalls) > 0 || m.Refusal != nil && string(m.Refusal) != "null" {
				return nil, false
			}
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"index":`...)
			dst = strconv.AppendInt(dst, int64(ch.Index), 10)
			dst = append(dst, key...)
			if m.Role != "" {
				dst = append(dst, `"role":`...)
				dst = jsontext.AppendString(dst, m.Role)
				dst = append(dst, ',')
			}
			dst = append(dst, `"content":`...)
			dst = appendStringPtr(dst, m.Content)
			if m.Refusal != nil {
				dst = append(dst, `,"refusal":null`...)
			}
			dst = append(dst, '}')
			if ch.Logprobs {
				dst = append(dst, `,"logprobs":null`...)
			}
			dst = append(dst, `,"finish_reason":`...)
			dst = appendStringPtr(dst, ch.FinishReason)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	if c.Usage != nil {
		dst = appendUsage(append(dst, `,"usage":`...), (*lyumen.Usage)(c.Usage))
	}
	return append(dst, '}'), true
}
