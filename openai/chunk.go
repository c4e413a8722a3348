package openai

import (
	"net/http"

	"github.com/tidwall/gjson"

	"github.com/lyumen/lyumen"
)

// parseChunk reads one chat.completion.chunk. It runs for every streamed
// token, so it walks the JSON once with gjson instead of decoding it with
// reflection (a third of the gateway's CPU on streams, profiled); only the
// fields the record needs are read, and the event is passed on as sent.
func parseChunk(data []byte) (lyumen.Event, error) {
	if ev, ok := fastChunk(data, nil); ok {
		return ev, nil
	}
	return parseChunkGeneral(data)
}

// eventObject parses an event's data, which must be a JSON object.
func eventObject(data []byte) (gjson.Result, error) {
	if !gjson.ValidBytes(data) {
		return gjson.Result{}, errInvalidEvent
	}
	root := gjson.ParseBytes(data)
	if !root.IsObject() {
		return gjson.Result{}, errInvalidEvent
	}
	return root, nil
}

// usageOf reads a usage object; nil for anything else.
func usageOf(v gjson.Result) *lyumen.Usage {
	if !v.IsObject() {
		return nil
	}
	return &lyumen.Usage{PromptTokens: int(v.Get("prompt_tokens").Int()),
		CompletionTokens: int(v.Get("completion_tokens").Int()), TotalTokens: int(v.Get("total_tokens").Int()),
		CachedTokens:    usageDetail(v.Get("prompt_tokens_details"), "cached_tokens"),
		ReasoningTokens: usageDetail(v.Get("completion_tokens_details"), "reasoning_tokens")}
}

// eventError reads an upstream's failure from a stream event's key: an
// "error" that is set, or "object": "error" on an error object of its own
// ({"object":"error","message":…}, as servers built on vLLM's older error
// response send it). It returns nil for anything else.
func eventError(key string, v, root gjson.Result) error {
	switch {
	case key == "error" && v.Type != gjson.Null:
		return upstreamError(http.StatusBadGateway, []byte(`{"error":`+v.Raw+`}`))
	case key == "object" && v.Str == "error":
		return upstreamError(http.StatusBadGateway, []byte(`{"error":`+root.Raw+`}`))
	}
	return nil
}

// parseChunkGeneral is parseChunk for any chunk.
func parseChunkGeneral(data []byte) (lyumen.Event, error) {
	root, err := eventObject(data)
	if err != nil {
		return lyumen.Event{}, err
	}
	var ev lyumen.Event
	var upstreamErr error
	shape := true // every field the record needs has the type it must have
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "id":
			ev.ID = v.String()
		case "model":
			ev.Model = v.String()
		case "usage":
			if u := usageOf(v); u != nil { // a later null leaves it, as on the fast path
				ev.Usage = u
			}
		case "choices":
			if v.Type == gjson.Null {
				return true // pydantic-based servers send nulls for absent fields
			}
			if !v.IsArray() {
				shape = false
				return false
			}
			v.ForEach(func(_, c gjson.Result) bool {
				d, ok := choiceDelta(c)
				ev.Choices = append(ev.Choices, d)
				shape = shape && ok
				return ok
			})
		case "error", "object":
			if e := eventError(k.Str, v, root); e != nil && upstreamErr == nil {
				upstreamErr = e
			}
		}
		return true
	})
	if upstreamErr != nil {
		return lyumen.Event{}, upstreamErr
	}
	if !shape {
		return lyumen.Event{}, errInvalidEvent
	}
	return ev, nil
}

var errInvalidEvent = &lyumen.Error{Kind: lyumen.KindUpstream, Message: "upstream sent an invalid event"}

func choiceDelta(c gjson.Result) (lyumen.ChoiceDelta, bool) {
	var d lyumen.ChoiceDelta
	if !c.IsObject() {
		return d, false
	}
	ok := true
	c.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "index":
			// n is at most 128; an index outside [0, 128) would number a
			// choice no client asked for.
			d.Index = int(v.Int())
			if v.Type != gjson.Number || d.Index < 0 || d.Index >= lyumen.MaxChoices {
				ok = false
				return false
			}
		case "finish_reason":
			d.FinishReason = v.String()
		case "delta":
			if v.Type == gjson.Null {
				return true
			}
			if !v.IsObject() {
				ok = false
				return false
			}
			v.ForEach(func(k, v gjson.Result) bool {
				switch k.Str {
				case "role":
					d.Role = v.String()
				case "content":
					d.Content = v.String()
				case "reasoning_content", "reasoning":
					if v.Type == gjson.String && d.Reasoning == "" {
						d.Reasoning = v.Str // a server that sends both sends the same
					}
				case "refusal":
					d.Refusal = v.Str // "" for a null, as the fast path reads it
				case "tool_calls":
					if v.Type == gjson.Null {
						return true
					}
					if !v.IsArray() {
						ok = false
						return false
					}
					v.ForEach(func(_, tc gjson.Result) bool {
						if tc.Type == gjson.Null {
							return true
						}
						call, callOK := toolCallDelta(tc)
						if !callOK {
							ok = false
							return false
						}
						d.ToolCalls = append(d.ToolCalls, call)
						return true
					})
				}
				return true
			})
		}
		return true
	})
	return d, ok
}

// toolCallDelta reads one fragment of a tool call. Its Index is -1 when
// the upstream gave none (Mistral, Gemini's OpenAI endpoint); the stream
// numbers it (stream.track). A given index past MaxToolCalls is malformed:
// it numbers content blocks on other surfaces, and what a stream keeps per
// call.
func toolCallDelta(tc gjson.Result) (lyumen.ToolCall, bool) {
	call := lyumen.ToolCall{Index: -1}
	ok := tc.IsObject()
	tc.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "index":
			if v.Type == gjson.Null {
				return true
			}
			call.Index = int(v.Int())
			if v.Type != gjson.Number || v.Num < 0 || v.Num >= lyumen.MaxToolCalls {
				ok = false
				return false
			}
		case "id":
			call.ID = v.String()
		case "type":
			call.Type = v.String()
		case "function":
			call.Name = v.Get("name").String()
			call.Arguments = v.Get("arguments").String()
		}
		return true
	})
	return call, ok
}
