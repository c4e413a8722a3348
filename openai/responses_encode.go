package openai

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/jsonscan"
	"github.com/lyumen/lyumen/internal/jsontext"
)

// responseObject is the Responses API's response, in the order of the
// official API's fields.
type responseObject struct {
	ID                 string             `json:"id"`
	Object             string             `json:"object"`
	CreatedAt          int64              `json:"created_at"`
	Status             string             `json:"status"`
	Background         bool               `json:"background"`
	Error              *responseError     `json:"error"`
	IncompleteDetails  *incompleteDetails `json:"incomplete_details"`
	Instructions       json.RawMessage    `json:"instructions"`
	MaxOutputTokens    *int               `json:"max_output_tokens"`
	Model              string             `json:"model"`
	Output             []any              `json:"output"` // reasoningItem, messageItem and functionCallItem
	ParallelToolCalls  bool               `json:"parallel_tool_calls"`
	PreviousResponseID *string            `json:"previous_response_id"`
	Reasoning          reasoningEcho      `json:"reasoning"`
	Store              bool               `json:"store"`
	Temperature        float64            `json:"temperature"`
	Text               json.RawMessage    `json:"text"`
	ToolChoice         json.RawMessage    `json:"tool_choice"`
	Tools              json.RawMessage    `json:"tools"`
	TopP               float64            `json:"top_p"`
	Truncation         string             `json:"truncation"`
	Usage              *responseUsage     `json:"usage"`
	User               *string            `json:"user"`
	Metadata           json.RawMessage    `json:"metadata"`
}

type responseError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type incompleteDetails struct {
	Reason string `json:"reason"`
}

type reasoningEcho struct {
	Effort  *string `json:"effort"`
	Summary *string `json:"summary"`
}

type responseUsage struct {
	InputTokens        int `json:"input_tokens"`
	InputTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	OutputTokens        int `json:"output_tokens"`
	OutputTokensDetails struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
	TotalTokens int `json:"total_tokens"`
}

type messageItem struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Status  string `json:"status"`
	Content []any  `json:"content"` // outputText or outputRefusal
	Role    string `json:"role"`
}

// reasoningItem is what a reasoning model thought before its answer. The
// official API shows its own models' thinking only as summaries it writes;
// upstreams here send the thinking itself, which the API shows as
// reasoning_text content (as it does for open-weight models).
type reasoningItem struct {
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Summary []struct{}      `json:"summary"`
	Content []reasoningText `json:"content"`
	Status  string          `json:"status"`
}

type reasoningText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

func newReasoningText(text string) reasoningText {
	return reasoningText{Type: "reasoning_text", Text: text}
}

type functionCallItem struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Status    string `json:"status"`
	Arguments string `json:"arguments"`
	CallID    string `json:"call_id"`
	Name      string `json:"name"`
}

type outputText struct {
	Type        string     `json:"type"`
	Annotations []struct{} `json:"annotations"`
	Logprobs    []struct{} `json:"logprobs"`
	Text        string     `json:"text"`
}

func newOutputText(text string) outputText {
	return outputText{Type: "output_text", Annotations: []struct{}{}, Logprobs: []struct{}{}, Text: text}
}

// outputRefusal is a message's refusal: the official API's content part
// for a model that declined to answer, in place of output_text.
type outputRefusal struct {
	Type    string `json:"type"`
	Refusal string `json:"refusal"`
}

func newOutputRefusal(text string) outputRefusal {
	return outputRefusal{Type: "refusal", Refusal: text}
}

// responseEcho is what a response repeats of its request, as the official
// API does: the client's own values, or the defaults the upstream applied.
type responseEcho struct {
	model             string
	instructions      json.RawMessage
	maxOutputTokens   *int
	parallelToolCalls bool
	temperature, topP float64
	text              json.RawMessage
	toolChoice        json.RawMessage
	tools             json.RawMessage
	metadata          json.RawMessage
	user              *string
	effort            *string // reasoning.effort, as asked
}

func echoOf(req *lyumen.Request) responseEcho {
	e := responseEcho{
		model: req.Model, instructions: json.RawMessage("null"), parallelToolCalls: true, temperature: 1, topP: 1,
		text: json.RawMessage(`{"format":{"type":"text"}}`), toolChoice: json.RawMessage(`"auto"`),
		tools: json.RawMessage("[]"), metadata: json.RawMessage("{}"),
	}
	if req.Temperature != nil {
		e.temperature = *req.Temperature
	}
	if req.TopP != nil {
		e.topP = *req.TopP
	}
	if req.MaxTokens > 0 {
		n := req.MaxTokens
		e.maxOutputTokens = &n
	}
	if req.ReasoningEffort != "" {
		effort := req.ReasoningEffort
		e.effort = &effort
	}
	// The request passed DecodeResponses, so these hold the values it
	// validated; they are echoed as the client wrote them, compacted and
	// escaped once here as json.Marshal would, so that appendObject can
	// copy them into every response object of the answer.
	if f := e; echoFast(&f, req.Body) {
		return f
	}
	echoGeneral(&e, req.Body)
	return e
}

// raw returns where the echoed value of key goes, or nil when it is not
// one of those echoed as written.
func (e *responseEcho) raw(key string) *json.RawMessage {
	switch key {
	case "instructions":
		return &e.instructions
	case "text":
		return &e.text
	case "tool_choice":
		return &e.toolChoice
	case "tools":
		return &e.tools
	case "metadata":
		return &e.metadata
	}
	return nil
}

// echoGeneral reads the echoed values from body with gjson: one walk of
// its top level.
func echoGeneral(e *responseEcho, body []byte) {
	gjson.ParseBytes(body).ForEach(func(k, v gjson.Result) bool {
		dst := e.raw(k.Str)
		switch k.Str {
		case "parallel_tool_calls":
			if v.IsBool() {
				e.parallelToolCalls = v.Bool()
			}
		case "user":
			if v.Type == gjson.String {
				e.user = &v.Str
			}
		}
		if dst != nil && v.Type != gjson.Null {
			if b, err := json.Marshal(json.RawMessage(v.Raw)); err == nil {
				*dst = b
			}
		}
		return true
	})
}

// echoFast is echoGeneral in one pass of jsonscan, which costs less than
// gjson's walk, and without json.Marshal for values that are plain strings
// (the instructions, nearly always), which it would leave as they are. It
// reports false, with e half filled, on anything it does not take (an
// escaped key or user), for echoGeneral. FuzzEcho checks them against each
// other.
func echoFast(e *responseEcho, body []byte) bool {
	s := jsonscan.New(string(body))
	ok := s.Object(func(key string) bool {
		switch dst := e.raw(key); {
		case dst != nil:
			raw, ok := s.RawText()
			if ok && raw != "null" {
				if b, ok := marshalRaw(raw); ok {
					*dst = b
				}
			}
			return ok
		case key == "parallel_tool_calls":
			switch {
			case s.Literal("true"):
				e.parallelToolCalls = true
			case s.Literal("false"):
				e.parallelToolCalls = false
			default:
				return s.Value(0)
			}
			return true
		case key == "user" && s.Peek() == '"':
			u, ok := s.Text()
			e.user = &u
			return ok
		}
		return s.Value(0)
	})
	return ok && s.End()
}

// marshalRaw is json.Marshal(json.RawMessage(raw)): raw compacted, with
// <, >, &, U+2028 and U+2029 escaped. A string without any of those, nor
// escapes or space, is already that.
func marshalRaw(raw string) (json.RawMessage, bool) {
	if text, ok := plainString([]byte(raw)); ok && !strings.ContainsAny(text, "<>&\u2028\u2029") {
		return json.RawMessage(raw), true
	}
	b, err := json.Marshal(json.RawMessage(raw))
	return b, err == nil
}

// object renders the response around its output.
func (e *responseEcho) object(id string, created int64, model, status string, output []any, usage *lyumen.Usage) responseObject {
	if model == "" {
		model = e.model
	}
	if output == nil {
		output = []any{}
	}
	o := responseObject{
		ID: id, Object: "response", CreatedAt: created, Status: status, Instructions: e.instructions,
		MaxOutputTokens: e.maxOutputTokens, Model: model, Output: output, ParallelToolCalls: e.parallelToolCalls,
		Temperature: e.temperature, Text: e.text, ToolChoice: e.toolChoice, Tools: e.tools, TopP: e.topP,
		Truncation: "disabled", Metadata: e.metadata, User: e.user, Reasoning: reasoningEcho{Effort: e.effort},
		// store is false: the gateway keeps no responses to retrieve.
	}
	if usage != nil {
		u := responseUsage{InputTokens: usage.PromptTokens, OutputTokens: usage.CompletionTokens, TotalTokens: usage.TotalTokens}
		u.InputTokensDetails.CachedTokens = usage.CachedTokens
		u.OutputTokensDetails.ReasoningTokens = usage.ReasoningTokens
		o.Usage = &u
	}
	return o
}

// responseStatus maps a canonical finish reason to the response's status
// and, when incomplete, the reason.
func responseStatus(finish string) (status, reason string) {
	switch finish {
	case "length":
		return "incomplete", "max_output_tokens"
	case "content_filter":
		return "incomplete", "content_filter"
	}
	return "completed", ""
}

// itemKind is what an output item holds.
type itemKind uint8

const (
	itemText      itemKind = iota // an assistant message with output text
	itemRefusal                   // an assistant message with a refusal
	itemFunction                  // a function_call
	itemReasoning                 // a reasoning item
)

// outputItem is one item of a response's output, as built from the
// canonical answer. A message holds one content part: its text, or a
// refusal, which the official API sends in place of text.
type outputItem struct {
	kind   itemKind
	id     string // msg_…, fc_… or rs_…
	callID string
	name   []byte // gathered from a stream's fragments: += would be quadratic
	tool   int    // the call's index in the canonical answer
	text   []byte // the message's text or refusal, the call's arguments, or the reasoning
	status string // once the item is done: "completed" or "incomplete"
	// deltaMid is what every text delta of the item repeats between its
	// sequence number and its text (see ResponsesStream.text).
	deltaMid []byte
}

// render renders the item with the given status.
func (it *outputItem) render(status string) any {
	content := []any{}
	switch {
	case it.kind == itemFunction:
		return functionCallItem{ID: it.id, Type: "function_call", Status: status, Arguments: string(it.text), CallID: it.callID, Name: string(it.name)}
	case it.kind == itemReasoning:
		r := reasoningItem{ID: it.id, Type: "reasoning", Summary: []struct{}{}, Content: []reasoningText{}, Status: status}
		if status != "in_progress" {
			r.Content = append(r.Content, newReasoningText(string(it.text)))
		}
		return r
	case status == "in_progress":
	case it.kind == itemRefusal:
		content = append(content, newOutputRefusal(string(it.text)))
	default:
		content = append(content, newOutputText(string(it.text)))
	}
	return messageItem{ID: it.id, Type: "message", Status: status, Content: content, Role: "assistant"}
}

// idSeed is what the ids of one response derive from: the upstream's id of
// the answer, so the same answer always gets the same ids (and golden files
// stay stable), or the time when the upstream gave none.
func idSeed(upstreamID string, now time.Time) string {
	if upstreamID == "" {
		return strconv.FormatInt(now.UnixNano(), 36)
	}
	return upstreamID
}

// derivedID returns prefix_ and 48 hex digits, the shape of OpenAI's ids,
// for the n-th object of the response seeded by seed (-1: the response).
func derivedID(prefix, seed string, n int) string {
	h := sha256.Sum256([]byte(seed + "/" + strconv.Itoa(n)))
	return prefix + "_" + hex.EncodeToString(h[:24])
}

// newItem starts the output item at position n: a message or reasoning,
// as kind says, or the function call.
func newItem(seed string, n int, kind itemKind, call *lyumen.ToolCall) outputItem {
	switch {
	case kind == itemReasoning:
		return outputItem{kind: kind, id: derivedID("rs", seed, n)}
	case call == nil:
		return outputItem{kind: kind, id: derivedID("msg", seed, n)}
	}
	it := outputItem{kind: itemFunction, id: derivedID("fc", seed, n), callID: call.ID, name: []byte(call.Name), tool: call.Index}
	if it.callID == "" {
		it.callID = derivedID("call", seed, n)
	}
	return it
}

// EncodeResponse renders a canonical answer as a Responses API response
// object. The answer's first choice is the response's output: its
// reasoning, a message with its text, a message with its refusal, then one
// function_call item per tool call.
func EncodeResponse(resp *lyumen.Response, req *lyumen.Request, now time.Time) []byte {
	echo := echoOf(req)
	seed := idSeed(resp.ID, now)
	var items []outputItem
	finish := ""
	if len(resp.Choices) > 0 {
		ch := &resp.Choices[0]
		finish = ch.FinishReason
		if ch.Message.Reasoning != "" {
			it := newItem(seed, len(items), itemReasoning, nil)
			it.text = []byte(ch.Message.Reasoning)
			items = append(items, it)
		}
		if text := ch.Message.Text(); text != "" {
			it := newItem(seed, len(items), itemText, nil)
			it.text = []byte(text)
			items = append(items, it)
		}
		if ch.Message.Refusal != "" {
			it := newItem(seed, len(items), itemRefusal, nil)
			it.text = []byte(ch.Message.Refusal)
			items = append(items, it)
		}
		for i := range ch.Message.ToolCalls {
			tc := &ch.Message.ToolCalls[i]
			it := newItem(seed, len(items), itemFunction, tc)
			it.text = []byte(tc.Arguments)
			items = append(items, it)
		}
	}
	status, reason := responseStatus(finish)
	output := make([]any, len(items))
	for i := range items {
		output[i] = items[i].render(itemStatus(status, i == len(items)-1))
	}
	o := echo.object(derivedID("resp", seed, -1), now.Unix(), resp.Model, status, output, resp.Usage)
	if reason != "" {
		o.IncompleteDetails = &incompleteDetails{Reason: reason}
	}
	return appendObject(make([]byte, 0, 1024), &o)
}

// itemStatus is an item's status in a response of the given status: only
// the item cut short by the end of the response is incomplete, a function
// call too, whose arguments are then cut (a client must not run it).
func itemStatus(responseStatus string, last bool) string {
	if responseStatus == "incomplete" && last {
		return "incomplete"
	}
	return "completed"
}

// appendObject appends o as json.Marshal renders it, without reflection: a
// stream sends the object three times, each with the request's echo. Its
// raw fields are already compacted and escaped (echoOf makes them so).
func appendObject(b []byte, o *responseObject) []byte {
	b = append(b, `{"id":`...)
	b = jsontext.AppendString(b, o.ID)
	b = append(b, `,"object":`...)
	b = jsontext.AppendString(b, o.Object)
	b = append(b, `,"created_at":`...)
	b = strconv.AppendInt(b, o.CreatedAt, 10)
	b = append(b, `,"status":`...)
	b = jsontext.AppendString(b, o.Status)
	b = append(b, `,"background":`...)
	b = strconv.AppendBool(b, o.Background)
	b = append(b, `,"error":`...)
	if o.Error == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"code":`...)
		b = jsontext.AppendString(b, o.Error.Code)
		b = append(b, `,"message":`...)
		b = jsontext.AppendString(b, o.Error.Message)
		b = append(b, '}')
	}
	b = append(b, `,"incomplete_details":`...)
	if o.IncompleteDetails == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"reason":`...)
		b = jsontext.AppendString(b, o.IncompleteDetails.Reason)
		b = append(b, '}')
	}
	b = append(b, `,"instructions":`...)
	b = appendRaw(b, o.Instructions)
	b = append(b, `,"max_output_tokens":`...)
	b = appendIntPtr(b, o.MaxOutputTokens)
	b = append(b, `,"model":`...)
	b = jsontext.AppendString(b, o.Model)
	b = append(b, `,"output":`...)
	if o.Output == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, it := range o.Output {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendItem(b, it)
		}
		b = append(b, ']')
	}
	b = append(b, `,"parallel_tool_calls":`...)
	b = strconv.AppendBool(b, o.ParallelToolCalls)
	b = append(b, `,"previous_response_id":`...)
	b = appendStringPtr(b, o.PreviousResponseID)
	b = append(b, `,"reasoning":{"effort":`...)
	b = appendStringPtr(b, o.Reasoning.Effort)
	b = append(b, `,"summary":`...)
	b = appendStringPtr(b, o.Reasoning.Summary)
	b = append(b, `},"store":`...)
	b = strconv.AppendBool(b, o.Store)
	b = append(b, `,"temperature":`...)
	b = jsontext.AppendFloat(b, o.Temperature)
	b = append(b, `,"text":`...)
	b = appendRaw(b, o.Text)
	b = append(b, `,"tool_choice":`...)
	b = appendRaw(b, o.ToolChoice)
	b = append(b, `,"tools":`...)
	b = appendRaw(b, o.Tools)
	b = append(b, `,"top_p":`...)
	b = jsontext.AppendFloat(b, o.TopP)
	b = append(b, `,"truncation":`...)
	b = jsontext.AppendString(b, o.Truncation)
	b = append(b, `,"usage":`...)
	if u := o.Usage; u == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"input_tokens":`...)
		b = strconv.AppendInt(b, int64(u.InputTokens), 10)
		b = append(b, `,"input_tokens_details":{"cached_tokens":`...)
		b = strconv.AppendInt(b, int64(u.InputTokensDetails.CachedTokens), 10)
		b = append(b, `},"output_tokens":`...)
		b = strconv.AppendInt(b, int64(u.OutputTokens), 10)
		b = append(b, `,"output_tokens_details":{"reasoning_tokens":`...)
		b = strconv.AppendInt(b, int64(u.OutputTokensDetails.ReasoningTokens), 10)
		b = append(b, `},"total_tokens":`...)
		b = strconv.AppendInt(b, int64(u.TotalTokens), 10)
		b = append(b, '}')
	}
	b = append(b, `,"user":`...)
	b = appendStringPtr(b, o.User)
	b = append(b, `,"metadata":`...)
	b = appendRaw(b, o.Metadata)
	return append(b, '}')
}

// appendItem appends an output item as json.Marshal renders it.
func appendItem(b []byte, item any) []byte {
	switch it := item.(type) {
	case messageItem:
		b = append(b, `{"id":`...)
		b = jsontext.AppendString(b, it.ID)
		b = append(b, `,"type":`...)
		b = jsontext.AppendString(b, it.Type)
		b = append(b, `,"status":`...)
		b = jsontext.AppendString(b, it.Status)
		b = append(b, `,"content":`...)
		if it.Content == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, '[')
			for i := range it.Content {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendPart(b, it.Content[i])
			}
			b = append(b, ']')
		}
		b = append(b, `,"role":`...)
		b = jsontext.AppendString(b, it.Role)
		return append(b, '}')
	case functionCallItem:
		b = append(b, `{"id":`...)
		b = jsontext.AppendString(b, it.ID)
		b = append(b, `,"type":`...)
		b = jsontext.AppendString(b, it.Type)
		b = append(b, `,"status":`...)
		b = jsontext.AppendString(b, it.Status)
		b = append(b, `,"arguments":`...)
		b = jsontext.AppendString(b, it.Arguments)
		b = append(b, `,"call_id":`...)
		b = jsontext.AppendString(b, it.CallID)
		b = append(b, `,"name":`...)
		b = jsontext.AppendString(b, it.Name)
		return append(b, '}')
	}
	j, _ := json.Marshal(item) // cannot fail: plain types only
	return append(b, j...)
}

// appendPart appends a message's content part as json.Marshal renders
// it: an output_text part whose annotations and logprobs are empty, as the
// gateway makes them, without reflection.
func appendPart(b []byte, part any) []byte {
	p, ok := part.(outputText)
	if !ok || len(p.Annotations) != 0 || len(p.Logprobs) != 0 || p.Annotations == nil || p.Logprobs == nil {
		j, _ := json.Marshal(part) // cannot fail: plain types only
		return append(b, j...)
	}
	b = append(b, `{"type":`...)
	b = jsontext.AppendString(b, p.Type)
	b = append(b, `,"annotations":[],"logprobs":[],"text":`...)
	b = jsontext.AppendString(b, p.Text)
	return append(b, '}')
}

// appendRaw appends raw JSON that is already compact and escaped; empty is
// null, as json.Marshal renders a nil RawMessage.
func appendRaw(b []byte, raw json.RawMessage) []byte {
	if len(raw) == 0 {
		return append(b, "null"...)
	}
	return append(b, raw...)
}

func appendStringPtr(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return jsontext.AppendString(b, *s)
}

func appendIntPtr(b []byte, n *int) []byte {
	if n == nil {
		return append(b, "null"...)
	}
	return strconv.AppendInt(b, int64(*n), 10)
}
