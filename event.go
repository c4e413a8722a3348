package lyumen

// Event is one streamed delta from the upstream.
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
}

// Stream yields a completion event by event.
type Stream interface {
	// Next returns the next event, or io.EOF after the last one.
	Next() (Event, error)
	Close() error
}

// Assembler builds a whole Response from streamed events, so a stream is
// recorded the same way as a non-streamed completion.
type Assembler struct {
	resp Response
	text [][]byte // content per choice, parallel to resp.Choices: += would be quadratic
}

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
		c := &a.resp.Choices[i]
		if d.Role != "" {
			c.Message.Role = d.Role
		}
		a.text[i] = append(a.text[i], d.Content...)
		for _, tc := range d.ToolCalls {
			c.Message.ToolCalls = appendToolCall(c.Message.ToolCalls, tc)
		}
		if d.FinishReason != "" {
			c.FinishReason = d.FinishReason
		}
	}
}

// choice returns the position of the choice with this index, adding it.
func (a *Assembler) choice(index int) int {
	for i := range a.resp.Choices {
		if a.resp.Choices[i].Index == index {
			return i
		}
	}
	a.resp.Choices = append(a.resp.Choices, Choice{Index: index, Message: Message{Role: "assistant"}})
	a.text = append(a.text, nil)
	return len(a.resp.Choices) - 1
}

func appendToolCall(calls []ToolCall, frag ToolCall) []ToolCall {
	for i := range calls {
		if calls[i].Index == frag.Index {
			if frag.ID != "" {
				calls[i].ID = frag.ID
			}
			if frag.Type != "" {
				calls[i].Type = frag.Type
			}
			calls[i].Name += frag.Name
			calls[i].Arguments += frag.Arguments
			return calls
		}
	}
	return append(calls, frag)
}

// Response returns what has been assembled so far.
func (a *Assembler) Response() *Response {
	r := a.resp
	r.Choices = append([]Choice(nil), a.resp.Choices...)
	for i := range r.Choices {
		r.Choices[i].Message.Content = string(a.text[i])
	}
	return &r
}
