package anthropic

import (
	"encoding/json"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/sse"
)

// StreamEncoder writes one streamed answer as Anthropic's SSE event
// sequence: message_start, then per content block content_block_start,
// content_block_delta (text_delta, input_json_delta) and content_block_stop,
// then message_delta (stop_reason, usage) and message_stop.
//
// Events already in this format (Raw, from an Anthropic upstream) pass
// through unchanged. Events translated from another format open and close
// blocks as text and tool calls come; message_delta waits for End, which has
// the whole answer's stop reason and usage (an OpenAI upstream sends its
// usage after its finish reason).
type StreamEncoder struct {
	model   string
	started bool // message_start is out
	raw     bool // the upstream speaks this format
	next    int  // index of the next content block
	open    int  // index of the open block; -1 when none
	text    bool // the open block is a text block
	tools   []toolBlock
	buf     []byte // scratch: one event's data
}

// toolBlock ties a canonical tool call to its content block.
type toolBlock struct{ tool, block int }

// NewStreamEncoder starts the encoding of one stream. model is the name the
// client asked for, used when the upstream names none.
func NewStreamEncoder(model string) *StreamEncoder {
	return &StreamEncoder{model: model, open: -1}
}

type blockStart struct {
	Type         string `json:"type"`
	Index        int    `json:"index"`
	ContentBlock any    `json:"content_block"`
}

type blockDelta struct {
	Type  string `json:"type"`
	Index int    `json:"index"`
	Delta any    `json:"delta"`
}

type textDelta struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type inputJSONDelta struct {
	Type        string `json:"type"`
	PartialJSON string `json:"partial_json"`
}

type blockStop struct {
	Type  string `json:"type"`
	Index int    `json:"index"`
}

type messageStart struct {
	Type    string             `json:"type"`
	Message outMessageResponse `json:"message"`
}

type messageDelta struct {
	Type  string `json:"type"`
	Delta struct {
		StopReason   string  `json:"stop_reason"`
		StopSequence *string `json:"stop_sequence"`
	} `json:"delta"`
	Usage outUsage `json:"usage"`
}

// appendEvent appends one named event; v is its data.
func appendEvent(dst []byte, name string, v any) []byte {
	data, _ := json.Marshal(v) // cannot fail: plain types only
	return sse.AppendData(dst, name, data)
}

// Event appends ev's events to dst; it may append nothing.
func (s *StreamEncoder) Event(dst []byte, ev *lyumen.Event) []byte {
	if ev.Raw != nil {
		s.raw, s.started = true, true
		return sse.AppendData(dst, ev.RawEvent, ev.Raw)
	}
	if !s.started {
		dst = s.start(dst, ev.ID, ev.Model, ev.Usage)
	}
	for i := range ev.Choices {
		d := &ev.Choices[i]
		if d.Index != 0 {
			continue // Anthropic has one answer per request
		}
		if d.Content != "" {
			if s.open < 0 || !s.text {
				dst = s.stopBlock(dst)
				dst = s.startBlock(dst, textBlock{Type: "text"})
				s.text = true
			}
			// As appendEvent would render blockDelta{Delta: textDelta{…}},
			// without reflection: this runs for every token.
			s.buf = appendTextDelta(s.buf[:0], s.open, d.Content)
			dst = sse.AppendData(dst, "content_block_delta", s.buf)
		}
		for _, tc := range d.ToolCalls {
			b, ok := s.toolBlock(tc.Index)
			if !ok {
				dst = s.stopBlock(dst)
				b = s.next
				dst = s.startBlock(dst, toolUseBlock{Type: "tool_use", ID: toolUseID(tc.ID, tc.Index), Name: tc.Name, Input: json.RawMessage("{}")})
				s.text = false
				s.tools = append(s.tools, toolBlock{tool: tc.Index, block: b})
			}
			if tc.Arguments != "" {
				// A fragment of a call whose block has closed (a provider
				// interleaving calls) still names its block: clients
				// accumulate by index.
				dst = appendEvent(dst, "content_block_delta", blockDelta{Type: "content_block_delta", Index: b,
					Delta: inputJSONDelta{Type: "input_json_delta", PartialJSON: tc.Arguments}})
			}
		}
	}
	return dst
}

func (s *StreamEncoder) toolBlock(tool int) (int, bool) {
	for _, t := range s.tools {
		if t.tool == tool {
			return t.block, true
		}
	}
	return 0, false
}

func (s *StreamEncoder) start(dst []byte, id, model string, u *lyumen.Usage) []byte {
	s.started = true
	m := outMessageResponse{ID: messageID(id), Type: "message", Role: "assistant", Model: s.model, Content: []any{}, Usage: &outUsage{}}
	if model != "" {
		m.Model = model
	}
	if u != nil { // what is known of the input so far; message_delta has the rest
		start := usageOf(u)
		m.Usage.InputTokens, m.Usage.CacheReadInputTokens = start.InputTokens, start.CacheReadInputTokens
	}
	return appendEvent(dst, "message_start", messageStart{Type: "message_start", Message: m})
}

func (s *StreamEncoder) startBlock(dst []byte, block any) []byte {
	s.open = s.next
	s.next++
	return appendEvent(dst, "content_block_start", blockStart{Type: "content_block_start", Index: s.open, ContentBlock: block})
}

func (s *StreamEncoder) stopBlock(dst []byte) []byte {
	if s.open < 0 {
		return dst
	}
	dst = appendEvent(dst, "content_block_stop", blockStop{Type: "content_block_stop", Index: s.open})
	s.open = -1
	return dst
}

// End appends what closes a complete stream; resp is the whole answer. For
// a translated stream that is the open block's stop, message_delta with the
// stop reason and usage, and message_stop; for a passed-through one only
// message_stop, which the upstream's stream ended with.
func (s *StreamEncoder) End(dst []byte, resp *lyumen.Response) []byte {
	if !s.raw {
		if !s.started {
			dst = s.start(dst, resp.ID, resp.Model, resp.Usage)
		}
		dst = s.stopBlock(dst)
		md := messageDelta{Type: "message_delta"}
		c := choice(resp)
		md.Delta.StopReason = stopReason(&c)
		if resp.Usage != nil {
			md.Usage = *usageOf(resp.Usage)
		}
		dst = appendEvent(dst, "message_delta", md)
	}
	return append(dst, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"...)
}

// Fail appends an error event for a stream that failed midway.
func (s *StreamEncoder) Fail(dst []byte, err error) []byte {
	_, body := Error(err)
	return sse.AppendData(dst, "error", body)
}
