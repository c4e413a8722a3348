package lyumen

// Event is one streamed delta from the upstream. It owns its Choices and
// Usage: only Raw is the stream's (see Raw).
type Event struct {
	ID      string
	Model   string
	Choices []ChoiceDelta
	Usage   *Usage
	// Raw is the event's payload (an SSE data field) when it is already in
	// the request's surface format; the surface sends it on unchanged. It is
	// valid until the next call to Next.
	Raw []byte
	// RawEvent is the SSE event name Raw came with, for formats that name
	// their events (Anthropic's "content_block_delta").
	RawEvent string
}

// ChoiceDelta is the part of one choice carried by one event.
type ChoiceDelta struct {
	Index        int
	Role         string
	Content      string
	ToolCalls    []ToolCall // Arguments holds a fragment; Index ties fragments together
	FinishReason string
	// Fragments of Message.Reasoning and Message.Refusal: recorded, and
	// passed on only by a surface that passes the upstream's events on as
	// sent, or one that has a place for them (the Responses API).
	Reasoning, Refusal string
}

// Aside reports that the event carries only reasoning or refusals, which
// most translated surfaces do not show.
func (e *Event) Aside() bool {
	if len(e.Choices) == 0 || e.Usage != nil || e.Raw != nil {
		return false
	}
	for i := range e.Choices {
		d := &e.Choices[i]
		if d.Role != "" || d.Content != "" || len(d.ToolCalls) > 0 || d.FinishReason != "" {
			return false
		}
	}
	return true
}

// Empty reports that the event carries nothing to pass on or record.
func (e *Event) Empty() bool {
	return len(e.Choices) == 0 && e.Usage == nil && e.Raw == nil && e.ID == "" && e.Model == ""
}

// Stream yields a completion event by event.
type Stream interface {
	// Next returns the next event, or io.EOF after the last one. A stream
	// that skips upstream events (a keep-alive, a part no surface shows)
	// returns an empty event in place of waiting on the network after
	// them, so that the caller can first send on what it holds.
	Next() (Event, error)
	Close() error
}

// MaxAnswer is the most an upstream's answer may bring: a whole answer's
// body, or a stream's assembled content, tool call names and arguments.
// Past it the answer has failed: nothing a client asks for is that long,
// and a record holds it whole in memory.
const MaxAnswer = 64 << 20

// The most choices, and tool calls per choice, a streamed answer may
// number: an upstream's event past them is malformed. A client asks for at
// most 128 choices (n), and the bounds keep what a stream tracks per
// choice and per call small however an upstream numbers them.
const (
	MaxChoices   = 128
	MaxToolCalls = 256
)

// Assembler builds a whole Response from streamed events, so a stream is
// recorded the same way as a non-streamed completion. It gathers each
// text in bytes, where += on strings would copy the whole at every
// fragment: quadratic in a long answer.
type Assembler struct {
	resp  Response
	parts []parts // parallel to resp.Choices
	size  int     // bytes gathered: contents, tool call names and arguments
}

type parts struct {
	text, reasoning, refusal []byte
	calls                    []callParts // parallel to the choice's Message.ToolCalls
}

type callParts struct{ name, args []byte }

// Add folds one event into the response.
func (a *Assembler) Add(ev *Event) {
	if ev.ID != "" {
		a.resp.ID = ev.ID
	}
	if ev.Model != "" {
		a.resp.Model = ev.Model
	}
	if ev.Usage != nil {
		u := *ev.Usage
		a.resp.Usage = &u
	}
	for i := range ev.Choices {
		d := &ev.Choices[i]
		i := a.choice(d.Index)
		c, p := &a.resp.Choices[i], &a.parts[i]
		if d.Role != "" {
			c.Message.Role = d.Role
		}
		p.text = append(p.text, d.Content...)
		p.reasoning = append(p.reasoning, d.Reasoning...)
		p.refusal = append(p.refusal, d.Refusal...)
		a.size += len(d.Content) + len(d.Reasoning) + len(d.Refusal)
		for j := range d.ToolCalls {
			a.toolCall(c, p, &d.ToolCalls[j])
		}
		if d.FinishReason != "" {
			c.FinishReason = d.FinishReason
		}
	}
}

// Size is how many bytes of content, reasoning, refusals, tool call names
// and arguments have been gathered.
func (a *Assembler) Size() int { return a.size }

// choice returns the position of the choice with this index, adding it.
func (a *Assembler) choice(index int) int {
	for i := range a.resp.Choices {
		if a.resp.Choices[i].Index == index {
			return i
		}
	}
	a.resp.Choices = append(a.resp.Choices, Choice{Index: index, Message: Message{Role: "assistant"}})
	a.parts = append(a.parts, parts{})
	return len(a.resp.Choices) - 1
}

// toolCall folds a fragment into the call of its index, adding it.
func (a *Assembler) toolCall(c *Choice, p *parts, frag *ToolCall) {
	calls := c.Message.ToolCalls
	i := 0
	for i < len(calls) && calls[i].Index != frag.Index {
		i++
	}
	if i == len(calls) {
		c.Message.ToolCalls = append(calls, ToolCall{Index: frag.Index})
		p.calls = append(p.calls, callParts{})
	}
	call, cp := &c.Message.ToolCalls[i], &p.calls[i]
	if frag.ID != "" {
		call.ID = frag.ID
	}
	if frag.Type != "" {
		call.Type = frag.Type
	}
	cp.name = append(cp.name, frag.Name...)
	cp.args = append(cp.args, frag.Arguments...)
	a.size += len(frag.Name) + len(frag.Arguments)
}

// Response returns what has been assembled so far.
func (a *Assembler) Response() *Response {
	r := a.resp
	r.Choices = append([]Choice(nil), a.resp.Choices...)
	for i := range r.Choices {
		m := &r.Choices[i].Message
		m.Content = string(a.parts[i].text)
		m.Reasoning, m.Refusal = string(a.parts[i].reasoning), string(a.parts[i].refusal)
		if len(m.ToolCalls) > 0 {
			m.ToolCalls = append([]ToolCall(nil), m.ToolCalls...)
			for j, cp := range a.parts[i].calls {
				m.ToolCalls[j].Name = string(cp.name)
				m.ToolCalls[j].Arguments = string(cp.args)
			}
		}
	}
	return &r
}
