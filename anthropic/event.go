package anthropic

import (
	"net/http"

	"github.com/tidwall/gjson"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/jsonscan"
)

// action says what the stream does with a parsed event.
type action int

const (
	skip    action = iota // nothing to pass on (ping; an event with nothing canonical in a translated stream)
	emit                  // pass the event on
	emitTwo               // pass the event on, then its usage as an event of its own
	stop                  // message_stop: the stream is complete
)

// parser reads an upstream's SSE events into canonical events. It keeps
// what a later event needs: the prompt's token counts from message_start
// (message_delta carries only the output's) and which content blocks are
// tool calls.
type parser struct {
	raw bool // the client speaks this format: pass every event on as sent

	// The message's id and model, from message_start, carried by every
	// translated event: an OpenAI stream names them in every chunk.
	id, model string

	input, cacheWrite, cacheRead, output, thinking int

	tools []int // the content block index of each tool_use block, in order
	// args[i] says tool call i has had argument text; one that ends
	// without any gets "{}", as its unstreamed tool_use input reads.
	args []bool
}

var errInvalidEvent = &lyumen.Error{Kind: lyumen.KindUpstream, Message: "upstream sent an invalid event"}

// parse reads one event. It runs for every streamed token, so it walks the
// JSON with gjson instead of decoding it with reflection (as openai's chunk
// parser does); only the fields the record needs are read.
func (p *parser) parse(name string, data []byte) (lyumen.Event, action, error) {
	if text, ok := fastTextDelta(data); ok {
		var ev lyumen.Event
		if text != "" {
			ev.Choices = []lyumen.ChoiceDelta{{Content: text}}
		}
		ev, next := p.finish(ev, emit, name, "content_block_delta", data)
		return ev, next, nil
	}
	return p.parseGeneral(name, data)
}

// parseGeneral is parse for any event.
func (p *parser) parseGeneral(name string, data []byte) (lyumen.Event, action, error) {
	var ev lyumen.Event
	if !gjson.ValidBytes(data) {
		return ev, skip, errInvalidEvent
	}
	root := gjson.ParseBytes(data)
	if !root.IsObject() {
		return ev, skip, errInvalidEvent
	}
	typ := root.Get("type").String()
	if typ == "" {
		typ = name
	}
	next := emit
	switch typ {
	case "ping":
		return ev, skip, nil
	case "message_stop":
		return ev, stop, nil
	case "error":
		return ev, skip, eventError(root.Get("error"))
	case "message_start":
		m := root.Get("message")
		p.id, p.model = m.Get("id").String(), m.Get("model").String()
		p.usage(m.Get("usage"))
		ev.Choices = []lyumen.ChoiceDelta{{Role: "assistant"}}
		if p.raw {
			// Known so far; message_delta completes it. A translated
			// stream waits: its first chunk should not carry usage.
			ev.Usage = p.total()
		}
	case "content_block_start":
		block := int(root.Get("index").Int())
		cb := root.Get("content_block")
		switch cb.Get("type").String() {
		case "text":
			if t := cb.Get("text").String(); t != "" {
				ev.Choices = []lyumen.ChoiceDelta{{Content: t}}
			}
		case "thinking":
			if t := cb.Get("thinking").String(); t != "" {
				ev.Choices = []lyumen.ChoiceDelta{{Reasoning: t}}
			}
		case "tool_use":
			if len(p.tools) == lyumen.MaxToolCalls { // what a stream keeps per call stays small
				return ev, skip, errInvalidEvent
			}
			call := lyumen.ToolCall{Index: len(p.tools), ID: cb.Get("id").String(), Type: "function", Name: cb.Get("name").String()}
			if in := cb.Get("input"); in.IsObject() && hasKeys(in) {
				call.Arguments = compactInput([]byte(in.Raw)) // a server that sends the whole input at once
			}
			p.tools = append(p.tools, block)
			p.args = append(p.args, call.Arguments != "")
			ev.Choices = []lyumen.ChoiceDelta{{ToolCalls: []lyumen.ToolCall{call}}}
		}
	case "content_block_delta":
		d := root.Get("delta")
		switch d.Get("type").String() {
		case "text_delta":
			if t := d.Get("text").String(); t != "" {
				ev.Choices = []lyumen.ChoiceDelta{{Content: t}}
			}
		case "thinking_delta":
			if t := d.Get("thinking").String(); t != "" {
				ev.Choices = []lyumen.ChoiceDelta{{Reasoning: t}}
			}
		case "input_json_delta":
			if tool, ok := p.tool(int(root.Get("index").Int())); ok {
				if part := d.Get("partial_json").String(); part != "" {
					p.args[tool] = true
					ev.Choices = []lyumen.ChoiceDelta{{ToolCalls: []lyumen.ToolCall{{Index: tool, Arguments: part}}}}
				}
			}
		}
	case "content_block_stop":
		if tool, ok := p.tool(int(root.Get("index").Int())); ok && !p.args[tool] {
			p.args[tool] = true
			ev.Choices = []lyumen.ChoiceDelta{{ToolCalls: []lyumen.ToolCall{{Index: tool, Arguments: "{}"}}}}
		}
	case "message_delta":
		if sr := root.Get("delta.stop_reason"); sr.Type == gjson.String {
			ev.Choices = []lyumen.ChoiceDelta{{FinishReason: finishReason(sr.Str)}}
		}
		p.usage(root.Get("usage"))
		ev.Usage = p.total()
		if !p.raw && len(ev.Choices) > 0 {
			next = emitTwo // as OpenAI streams: the finish, then the usage
		}
	}
	ev, next = p.finish(ev, next, name, typ, data)
	return ev, next, nil
}

// finish completes a parsed event of type typ: what the stream does with
// it, and the message's id and model.
func (p *parser) finish(ev lyumen.Event, next action, name, typ string, data []byte) (lyumen.Event, action) {
	if p.raw {
		ev.ID, ev.Model = p.id, p.model
		ev.Raw, ev.RawEvent = data, name
		if name == "" {
			ev.RawEvent = typ // a server that leaves out the event lines
		}
		return ev, emit
	}
	if len(ev.Choices) == 0 && ev.Usage == nil {
		return ev, skip
	}
	ev.ID, ev.Model = p.id, p.model
	return ev, next
}

// fastTextDelta reads the commonest event of a stream, a text delta:
//
//	{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"…"}}
//
// in one pass, as openai's fastChunk reads chat chunks, and returns its
// text; ok is false for anything else (another event, a repeated key, an
// escaped string), which parseGeneral reads. FuzzFastTextDelta checks the
// two agree.
func fastTextDelta(data []byte) (text string, ok bool) {
	s := jsonscan.New(string(data)) // one copy: the text shares it
	var typ, delta bool
	ok = s.Object(func(key string) bool {
		switch key {
		case "type":
			t, ok := s.Text()
			ok = ok && !typ && t == "content_block_delta" // gjson's Get reads the first of a repeated key
			typ = true
			return ok
		case "delta":
			ok := !delta
			delta = true
			if ok {
				text, ok = readTextDelta(&s)
			}
			return ok
		}
		return s.Value(0)
	})
	return text, ok && typ && delta && s.End()
}

// readTextDelta reads {"type":"text_delta","text":"…"}, other keys skipped.
func readTextDelta(s *jsonscan.Scanner) (text string, ok bool) {
	var typ, hasText bool
	ok = s.Object(func(key string) bool {
		switch key {
		case "type":
			t, ok := s.Text()
			ok = ok && !typ && t == "text_delta"
			typ = true
			return ok
		case "text":
			var ok bool
			text, ok = s.Text()
			ok = ok && !hasText
			hasText = true
			return ok
		}
		return s.Value(0)
	})
	return text, ok && typ && hasText
}

// usage folds a usage object in: every count it holds is a running total.
func (p *parser) usage(u gjson.Result) {
	if !u.IsObject() {
		return
	}
	for _, f := range []struct {
		key string
		dst *int
	}{
		{"input_tokens", &p.input}, {"cache_creation_input_tokens", &p.cacheWrite},
		{"cache_read_input_tokens", &p.cacheRead}, {"output_tokens", &p.output},
		{"output_tokens_details.thinking_tokens", &p.thinking},
	} {
		if v := u.Get(f.key); v.Type == gjson.Number {
			*f.dst = int(v.Int())
		}
	}
}

// total is the usage so far, as wireUsage.canonical counts it.
func (p *parser) total() *lyumen.Usage {
	return usage(p.input, p.cacheWrite, p.cacheRead, p.output, p.thinking)
}

func (p *parser) tool(block int) (int, bool) {
	for i, b := range p.tools {
		if b == block {
			return i, true
		}
	}
	return 0, false
}

func hasKeys(o gjson.Result) bool {
	n := 0
	o.ForEach(func(_, _ gjson.Result) bool { n++; return false })
	return n > 0
}

// eventError reads an error event's {"type","message"}: Anthropic fails a
// stream this way (overloaded_error) after it has started.
func eventError(e gjson.Result) error {
	status, ok := statuses[e.Get("type").String()]
	if !ok {
		status = http.StatusBadGateway
	}
	msg := e.Get("message").String()
	if msg == "" {
		msg = "the upstream failed mid-stream"
	}
	return &lyumen.Error{Kind: lyumen.KindUpstream, Status: status, Message: "upstream: " + msg}
}
