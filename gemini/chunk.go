package gemini

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/lyumen/lyumen"
)

// parser reads GenerateContentResponses (a whole answer, or one streamed
// chunk each) into canonical events. A stream needs what it keeps across
// chunks: each candidate's count of function calls, which numbers the next
// one and turns STOP into "tool_calls", and whether its role was sent.
type parser struct {
	cands    []candidateState
	finished bool   // some candidate has a finishReason
	usageRaw string // the latest usageMetadata, as sent
	id       string // the latest responseId
	model    string // the latest modelVersion
	unusable string // the finishReason of a candidate whose tool call failed
}

type candidateState struct {
	index   int
	calls   int
	started bool
}

func (p *parser) candidate(index int) *candidateState {
	for i := range p.cands {
		if p.cands[i].index == index {
			return &p.cands[i]
		}
	}
	p.cands = append(p.cands, candidateState{index: index})
	return &p.cands[len(p.cands)-1]
}

var errInvalidEvent = &lyumen.Error{Kind: lyumen.KindUpstream, Message: "upstream sent an invalid event"}

// parse reads one GenerateContentResponse. It runs for every streamed chunk,
// so, like openai's chunk parser, it walks the JSON once with gjson instead
// of decoding it with reflection. The event it returns has no Usage: the
// latest usage is kept in p for the caller to pass on once (p.lastUsage).
func (p *parser) parse(data []byte) (lyumen.Event, error) {
	if ev, ok := p.fastParse(data); ok {
		return ev, nil
	}
	return p.parseGeneral(data)
}

// parseGeneral is parse for any chunk.
func (p *parser) parseGeneral(data []byte) (lyumen.Event, error) {
	if !gjson.ValidBytes(data) {
		return lyumen.Event{}, errInvalidEvent
	}
	root := gjson.ParseBytes(data)
	if !root.IsObject() {
		return lyumen.Event{}, errInvalidEvent
	}
	var ev lyumen.Event
	var upstreamErr *gjson.Result
	blockReason := ""
	shape := true // every field the record needs has the type it must have
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "responseId":
			ev.ID = v.String()
			p.id = ev.ID
		case "modelVersion":
			ev.Model = v.String()
			p.model = ev.Model
		case "usageMetadata":
			if v.IsObject() {
				// Every chunk repeats the running count and only the
				// last is passed on: it is read then.
				p.usageRaw = v.Raw
			}
		case "promptFeedback":
			if v.IsObject() {
				blockReason = v.Get("blockReason").String()
			}
		case "candidates":
			if v.Type == gjson.Null {
				return true
			}
			if !v.IsArray() {
				shape = false
				return false
			}
			v.ForEach(func(_, c gjson.Result) bool {
				d, ok := p.choiceDelta(c)
				if ok && (d.Role != "" || d.Content != "" || d.Reasoning != "" || d.ToolCalls != nil || d.FinishReason != "") {
					ev.Choices = append(ev.Choices, d)
				}
				shape = shape && ok
				return ok
			})
		case "error":
			if v.Type != gjson.Null {
				upstreamErr = &v
			}
		}
		return true
	})
	switch {
	case upstreamErr != nil:
		status := int(upstreamErr.Get("code").Int())
		if status < 400 || status > 599 {
			status = http.StatusBadGateway
		}
		return lyumen.Event{}, upstreamError(status, []byte(`{"error":`+upstreamErr.Raw+`}`))
	case !shape:
		return lyumen.Event{}, errInvalidEvent
	case p.unusable != "":
		// No status: another target, or another try, may well do better.
		return lyumen.Event{}, &lyumen.Error{Kind: lyumen.KindUpstream,
			Message: "upstream: the model's tool call was unusable (finishReason " + p.unusable + ")"}
	case blockReason != "" && len(ev.Choices) == 0:
		// The prompt itself was refused: no other target is likely to
		// differ on the same words in time to matter, and the client is
		// owed the reason, so it goes back as the upstream's 400.
		return lyumen.Event{}, &lyumen.Error{Kind: lyumen.KindUpstream, Status: http.StatusBadRequest,
			Message: "upstream: the provider blocked the prompt (blockReason " + blockReason + ")"}
	}
	// The responseId may come after the candidates, so calls are named
	// once the whole chunk is read.
	for i := range ev.Choices {
		for j := range ev.Choices[i].ToolCalls {
			tc := &ev.Choices[i].ToolCalls[j]
			tc.ID = callID(p.id, tc.Index)
		}
	}
	return ev, nil
}

// callID names the n-th call of a response: Gemini names none. Numbers
// alone would repeat in every turn of a conversation, and Anthropic refuses
// a conversation whose tool_use ids repeat, so the response's id goes in
// too, kept to the characters Anthropic allows in an id.
func callID(responseID string, n int) string {
	safe := strings.Map(func(r rune) rune {
		if r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return -1
	}, responseID)
	if safe == "" {
		return "call_" + strconv.Itoa(n)
	}
	return "call_" + safe + "_" + strconv.Itoa(n)
}

// choiceDelta reads one candidate. Its index may come after its content, so
// the fields are gathered first and numbered after.
func (p *parser) choiceDelta(c gjson.Result) (lyumen.ChoiceDelta, bool) {
	var d lyumen.ChoiceDelta
	if !c.IsObject() {
		return d, false
	}
	var text, thoughts strings.Builder
	var calls []lyumen.ToolCall
	finish := ""
	ok := true
	c.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "index":
			d.Index = int(v.Int())
		case "finishReason":
			finish = v.String()
		case "content":
			if v.Type == gjson.Null {
				return true
			}
			if !v.IsObject() {
				ok = false
				return false
			}
			parts := v.Get("parts")
			if parts.Type == gjson.Null || !parts.Exists() {
				return true
			}
			if !parts.IsArray() {
				ok = false
				return false
			}
			parts.ForEach(func(_, part gjson.Result) bool {
				if !part.IsObject() {
					ok = false
					return false
				}
				var t, fc gjson.Result
				thought := false
				part.ForEach(func(k, v gjson.Result) bool {
					switch k.Str {
					case "text":
						t = v
					case "functionCall":
						fc = v
					case "thought":
						thought = v.Bool()
					}
					return true
				})
				if thought {
					thoughts.WriteString(t.String()) // a thought summary: the reasoning, not the answer
					return true
				}
				text.WriteString(t.String())
				if fc.Exists() && fc.Type != gjson.Null {
					call, good := toolCall(fc)
					if !good {
						ok = false
						return false
					}
					calls = append(calls, call)
				}
				return true
			})
			return ok
		}
		return true
	})
	if unusableCall(finish) { // the last finishReason, as the fast path reads it
		p.unusable = finish
	}
	// An index no client asked for, or more calls than a stream may number,
	// is malformed: what a stream keeps per candidate and call stays small.
	if !ok || d.Index < 0 || d.Index >= lyumen.MaxChoices || p.candidate(d.Index).calls+len(calls) > lyumen.MaxToolCalls {
		return d, false
	}
	d = p.delta(d.Index, text.String(), calls, finish)
	d.Reasoning = thoughts.String()
	return d, true
}

// delta numbers what a candidate carried, now that its index is known, and
// keeps the candidate's state: whether it has started, its calls so far,
// whether any candidate has finished.
func (p *parser) delta(index int, text string, calls []lyumen.ToolCall, finish string) lyumen.ChoiceDelta {
	d := lyumen.ChoiceDelta{Index: index, Content: text}
	st := p.candidate(index)
	if !st.started {
		st.started = true
		d.Role = "assistant"
	}
	for i := range calls {
		calls[i].Index = st.calls // and its id, once the responseId is known
		st.calls++
	}
	d.ToolCalls = calls
	if finish != "" {
		p.finished = true
		d.FinishReason = finishReason(finish, st.calls > 0)
	}
	return d
}

// toolCall reads a functionCall {"name", "args"}: Gemini sends each call whole, its
// arguments as a JSON object, which the canonical form holds as JSON text.
func toolCall(fc gjson.Result) (lyumen.ToolCall, bool) {
	if !fc.IsObject() {
		return lyumen.ToolCall{}, false
	}
	call := lyumen.ToolCall{Type: "function", Name: fc.Get("name").String(), Arguments: "{}"}
	switch args := fc.Get("args"); {
	case !args.Exists() || args.Type == gjson.Null:
	case args.IsObject():
		var b bytes.Buffer
		if err := json.Compact(&b, []byte(args.Raw)); err != nil {
			return call, false
		}
		call.Arguments = b.String()
	default:
		return call, false
	}
	return call, true
}

// unusableCall says a candidate ended on a tool call Gemini could not
// deliver: the answer is broken, not finished, and passing it on as a stop
// would hand a client's agent loop an empty final reply.
func unusableCall(r string) bool {
	switch r {
	case "MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS":
		return true
	}
	return false
}

// finishReason maps Gemini's finishReason to the canonical (OpenAI's) set.
func finishReason(r string, calledTools bool) string {
	switch r {
	case "STOP":
		if calledTools {
			return "tool_calls"
		}
		return "stop"
	case "MAX_TOKENS":
		return "length"
	case "SAFETY", "RECITATION", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII",
		"IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION":
		return "content_filter"
	}
	return "stop" // OTHER, LANGUAGE, …: the answer ended (see unusableCall)
}

// lastUsage reads the usageMetadata of the latest chunk that had one; nil
// when none had. Thinking tokens are billed as output but counted apart
// from candidatesTokenCount, so they are added to the completion tokens,
// and are its reasoning tokens. promptTokenCount already counts the
// cached content (cachedContentTokenCount), which is its cached tokens.
func (p *parser) lastUsage() *lyumen.Usage {
	if p.usageRaw == "" {
		return nil
	}
	var u lyumen.Usage
	gjson.Parse(p.usageRaw).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "promptTokenCount":
			u.PromptTokens = int(v.Int())
		case "cachedContentTokenCount":
			u.CachedTokens = int(v.Int())
		case "candidatesTokenCount":
			u.CompletionTokens += int(v.Int())
		case "thoughtsTokenCount":
			u.ReasoningTokens += int(v.Int())
			u.CompletionTokens += int(v.Int())
		case "totalTokenCount":
			u.TotalTokens = int(v.Int())
		}
		return true
	})
	if u.TotalTokens == 0 {
		u.TotalTokens = u.PromptTokens + u.CompletionTokens
	}
	return &u
}

// decodeResponse reads a whole generateContent answer through the same
// parser as the stream, so both are translated alike.
func decodeResponse(raw []byte) (*lyumen.Response, error) {
	var p parser
	ev, err := p.parse(raw)
	if err != nil {
		if errors.Is(err, errInvalidEvent) {
			// No status: a broken answer is the upstream's fault, and
			// another target may do better.
			return nil, &lyumen.Error{Kind: lyumen.KindUpstream, Message: "upstream sent an invalid response"}
		}
		return nil, err
	}
	if len(ev.Choices) == 0 {
		return nil, &lyumen.Error{Kind: lyumen.KindUpstream, Message: "upstream sent a response without candidates"}
	}
	var a lyumen.Assembler
	a.Add(&ev)
	resp := a.Response()
	resp.Usage = p.lastUsage()
	return resp, nil
}
