package openai

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/jsontext"
	"github.com/lyumen/lyumen/internal/sse"
)

// Events of a Responses stream. Each starts with its type and sequence
// number; the SSE event name repeats the type, as the official API sends it.
type evHead struct {
	Type string `json:"type"`
	Seq  int    `json:"sequence_number"`
}

func (h evHead) eventType() string { return h.Type }

type streamEvent interface{ eventType() string }

type evResponse struct {
	evHead
	Response responseObject `json:"response"`
}

type evItem struct {
	evHead
	OutputIndex int `json:"output_index"`
	Item        any `json:"item"`
}

type evPart struct {
	evHead
	ItemID       string     `json:"item_id"`
	OutputIndex  int        `json:"output_index"`
	ContentIndex int        `json:"content_index"`
	Part         outputText `json:"part"`
}

type evTextDelta struct {
	evHead
	ItemID       string     `json:"item_id"`
	OutputIndex  int        `json:"output_index"`
	ContentIndex int        `json:"content_index"`
	Delta        string     `json:"delta"`
	Logprobs     []struct{} `json:"logprobs"`
}

type evTextDone struct {
	evHead
	ItemID       string     `json:"item_id"`
	OutputIndex  int        `json:"output_index"`
	ContentIndex int        `json:"content_index"`
	Text         string     `json:"text"`
	Logprobs     []struct{} `json:"logprobs"`
}

// evPartDelta is response.reasoning_text.delta or response.refusal.delta;
// the .done events, below, carry the whole text.
type evPartDelta struct {
	evHead
	ItemID       string `json:"item_id"`
	OutputIndex  int    `json:"output_index"`
	ContentIndex int    `json:"content_index"`
	Delta        string `json:"delta"`
}

type evReasoningDone struct {
	evHead
	ItemID       string `json:"item_id"`
	OutputIndex  int    `json:"output_index"`
	ContentIndex int    `json:"content_index"`
	Text         string `json:"text"`
}

// evReasoningPart is content_part.added or .done for reasoning text.
type evReasoningPart struct {
	evHead
	ItemID       string        `json:"item_id"`
	OutputIndex  int           `json:"output_index"`
	ContentIndex int           `json:"content_index"`
	Part         reasoningText `json:"part"`
}

type evRefusalDone struct {
	evHead
	ItemID       string `json:"item_id"`
	OutputIndex  int    `json:"output_index"`
	ContentIndex int    `json:"content_index"`
	Refusal      string `json:"refusal"`
}

// evRefusalPart is content_part.added or .done for a refusal.
type evRefusalPart struct {
	evHead
	ItemID       string        `json:"item_id"`
	OutputIndex  int           `json:"output_index"`
	ContentIndex int           `json:"content_index"`
	Part         outputRefusal `json:"part"`
}

type evArgsDelta struct {
	evHead
	ItemID      string `json:"item_id"`
	OutputIndex int    `json:"output_index"`
	Delta       string `json:"delta"`
}

type evArgsDone struct {
	evHead
	ItemID      string `json:"item_id"`
	OutputIndex int    `json:"output_index"`
	Arguments   string `json:"arguments"`
}

type evError struct {
	evHead
	Code    string  `json:"code"`
	Message string  `json:"message"`
	Param   *string `json:"param"`
}

func appendEvent(dst []byte, ev streamEvent) []byte {
	b, _ := json.Marshal(ev) // cannot fail: plain types and valid raw JSON only
	return sse.AppendData(dst, ev.eventType(), b)
}

// ResponsesStream renders a canonical stream as the event sequence of the
// Responses API: response.created and response.in_progress with the first
// event; for each output item output_item.added, its deltas
// (reasoning_text.delta, output_text.delta, refusal.delta, or
// function_call_arguments.delta) and its done events;
// and response.completed (or response.incomplete when the answer was cut
// short) at the end. An item is closed when the next one starts, as the
// official API does, so a client sees one item at a time.
//
// It keeps the state of one stream and is not safe for concurrent use.
type ResponsesStream struct {
	echo    responseEcho
	now     time.Time
	started bool
	seed    string // the ids derive from it
	id      string
	model   string
	seq     int
	items   []outputItem
	open    int // position in items of the item still open; -1 when none
	finish  string
	usage   *lyumen.Usage
	buf     []byte // scratch: one event's data
}

// NewResponsesStream starts the encoding of the answer to req, created at now.
func NewResponsesStream(req *lyumen.Request, now time.Time) *ResponsesStream {
	return &ResponsesStream{echo: echoOf(req), now: now, open: -1}
}

func (s *ResponsesStream) head(typ string) evHead {
	h := evHead{Type: typ, Seq: s.seq}
	s.seq++
	return h
}

// Event appends the events that carry ev to dst. Only the first choice is
// read: the Responses API has one output and never asks for more.
func (s *ResponsesStream) Event(dst []byte, ev *lyumen.Event) []byte {
	if !s.started {
		dst = s.start(dst, ev.ID, ev.Model)
	}
	if ev.Usage != nil {
		u := *ev.Usage
		s.usage = &u
	}
	for i := range ev.Choices {
		d := &ev.Choices[i]
		if d.Index != 0 {
			continue
		}
		if d.Reasoning != "" {
			dst = s.part(dst, itemReasoning, "response.reasoning_text.delta", d.Reasoning)
		}
		if d.Content != "" {
			dst = s.text(dst, d.Content)
		}
		if d.Refusal != "" {
			dst = s.part(dst, itemRefusal, "response.refusal.delta", d.Refusal)
		}
		for j := range d.ToolCalls {
			dst = s.toolCall(dst, &d.ToolCalls[j])
		}
		if d.FinishReason != "" {
			s.finish = d.FinishReason
		}
	}
	return dst
}

// End closes the open item and appends response.completed, or
// response.incomplete when the answer ran out of tokens or was filtered.
func (s *ResponsesStream) End(dst []byte, resp *lyumen.Response) []byte {
	if !s.started {
		dst = s.start(dst, resp.ID, resp.Model)
	}
	if resp.Usage != nil {
		u := *resp.Usage
		s.usage = &u
	}
	status, reason := responseStatus(s.finish)
	if s.open >= 0 {
		dst = s.closeOpen(dst, itemStatus(status, true))
	}
	o := s.object(status)
	typ := "response.completed"
	if reason != "" {
		typ = "response.incomplete"
		o.IncompleteDetails = &incompleteDetails{Reason: reason}
	}
	return appendResponseEvent(dst, s.head(typ), appendObject(s.buf[:0], &o))
}

// Fail appends an error event and then response.failed, whose output holds
// what was sent so far; the open item is left incomplete.
func (s *ResponsesStream) Fail(dst []byte, err error) []byte {
	if !s.started {
		dst = s.start(dst, "", "")
	}
	_, body := Error(err)
	var eb errorBody
	_ = json.Unmarshal(body, &eb) // Error's own output
	code := eb.Error.Type
	if eb.Error.Code != nil {
		code = *eb.Error.Code
	}
	dst = appendEvent(dst, evError{s.head("error"), code, eb.Error.Message, eb.Error.Param})
	if s.open >= 0 {
		s.items[s.open].status = "incomplete"
		s.open = -1
	}
	o := s.object("failed")
	o.Error = &responseError{Code: "server_error", Message: eb.Error.Message}
	if code == "rate_limit_exceeded" {
		o.Error.Code = code
	}
	return appendResponseEvent(dst, s.head("response.failed"), appendObject(s.buf[:0], &o))
}

func (s *ResponsesStream) start(dst []byte, id, model string) []byte {
	s.started = true
	s.seed = idSeed(id, s.now)
	s.id = derivedID("resp", s.seed, -1)
	s.model = model
	// The two events carry the same object: it is encoded once.
	o := s.object("in_progress")
	s.buf = appendObject(s.buf[:0], &o)
	dst = appendResponseEvent(dst, s.head("response.created"), s.buf)
	return appendResponseEvent(dst, s.head("response.in_progress"), s.buf)
}

// appendResponseEvent appends an event of h carrying the response object
// o, encoded: the bytes appendEvent makes of evResponse{h, o}.
func appendResponseEvent(dst []byte, h evHead, o []byte) []byte {
	dst = appendEventStart(dst, h)
	dst = append(dst, `,"response":`...)
	dst = append(dst, o...)
	return append(dst, "}\n\n"...)
}

// appendEventStart appends the SSE framing of an event of h and the start
// of its data, {"type":…,"sequence_number":…, for the appenders here,
// which write the data straight after it and end it with "}\n\n". That is
// sse.AppendData's framing as long as the data is one line, which it is:
// every string in it is escaped, and raw values are compacted (echoOf).
func appendEventStart(dst []byte, h evHead) []byte {
	dst = append(dst, "event: "...)
	dst = append(dst, h.Type...)
	dst = append(dst, "\ndata: {\"type\":"...)
	dst = jsontext.AppendString(dst, h.Type)
	dst = append(dst, `,"sequence_number":`...)
	return strconv.AppendInt(dst, int64(h.Seq), 10)
}

// object renders the response as it stands.
func (s *ResponsesStream) object(status string) responseObject {
	output := make([]any, len(s.items))
	for i := range s.items {
		st := s.items[i].status
		if st == "" {
			st = "in_progress"
		}
		output[i] = s.items[i].render(st)
	}
	var usage *lyumen.Usage
	if status != "in_progress" {
		usage = s.usage
	}
	return s.echo.object(s.id, s.now.Unix(), s.model, status, output, usage)
}

// grow appends delta to the open item of kind, which it opens first
// (closing the one before) unless that is the open one, and returns it
// and its index.
func (s *ResponsesStream) grow(dst []byte, kind itemKind, delta string) ([]byte, *outputItem, int) {
	if s.open < 0 || s.items[s.open].kind != kind {
		dst = s.closeOpen(dst, "completed")
		dst = s.add(dst, newItem(s.seed, len(s.items), kind, nil))
	}
	n := s.open
	it := &s.items[n]
	it.text = append(it.text, delta...)
	return dst, it, n
}

func (s *ResponsesStream) text(dst []byte, delta string) []byte {
	dst, it, n := s.grow(dst, itemText, delta)
	// As appendTextDelta renders evTextDelta, framed as sse.AppendData
	// would frame it (the data is one line: every string in it is
	// escaped), straight into dst: this runs for every token.
	// What does not change from one delta to the next is rendered once.
	if it.deltaMid == nil {
		it.deltaMid = append(jsontext.AppendString([]byte(`,"item_id":`), it.id), `,"output_index":`...)
		it.deltaMid = append(strconv.AppendInt(it.deltaMid, int64(n), 10), `,"content_index":0,"delta":`...)
	}
	h := s.head("response.output_text.delta")
	dst = append(dst, "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":"...)
	dst = strconv.AppendInt(dst, int64(h.Seq), 10)
	dst = append(dst, it.deltaMid...)
	dst = jsontext.AppendString(dst, delta)
	return append(dst, ",\"logprobs\":[]}\n\n"...)
}

// part appends a fragment of reasoning or of a refusal, each in an item
// of its own (a refusal is a message in place of the answer, as the
// official API sends it); event names its delta event.
func (s *ResponsesStream) part(dst []byte, kind itemKind, event, delta string) []byte {
	dst, it, n := s.grow(dst, kind, delta)
	return appendEvent(dst, evPartDelta{s.head(event), it.id, n, 0, delta})
}

func (s *ResponsesStream) toolCall(dst []byte, tc *lyumen.ToolCall) []byte {
	n := -1
	for i := range s.items {
		if s.items[i].kind == itemFunction && s.items[i].tool == tc.Index {
			n = i
		}
	}
	if n < 0 {
		dst = s.closeOpen(dst, "completed")
		dst = s.add(dst, newItem(s.seed, len(s.items), itemFunction, tc))
		n = s.open
	} else {
		// A later fragment. Should an upstream interleave the fragments
		// of parallel calls, one may belong to a call already closed: its
		// delta still goes out, so the client loses none of the arguments.
		s.items[n].name = append(s.items[n].name, tc.Name...)
	}
	if tc.Arguments == "" {
		return dst
	}
	it := &s.items[n]
	it.text = append(it.text, tc.Arguments...)
	return appendEvent(dst, evArgsDelta{s.head("response.function_call_arguments.delta"), it.id, n, tc.Arguments})
}

// add opens a new output item.
func (s *ResponsesStream) add(dst []byte, it outputItem) []byte {
	s.items = append(s.items, it)
	n := len(s.items) - 1
	s.open = n
	dst = appendItemEvent(dst, s.head("response.output_item.added"), n, it.render("in_progress"))
	switch it.kind {
	case itemText:
		dst = appendPartAdded(dst, s.head("response.content_part.added"), it.id, n)
	case itemRefusal:
		dst = appendEvent(dst, evRefusalPart{s.head("response.content_part.added"), it.id, n, 0, newOutputRefusal("")})
	case itemReasoning:
		dst = appendEvent(dst, evReasoningPart{s.head("response.content_part.added"), it.id, n, 0, newReasoningText("")})
	}
	return dst
}

// closeOpen appends the done events of the open item, if any.
func (s *ResponsesStream) closeOpen(dst []byte, status string) []byte {
	if s.open < 0 {
		return dst
	}
	n := s.open
	s.open = -1
	it := &s.items[n]
	it.status = status
	switch it.kind {
	case itemFunction:
		dst = appendEvent(dst, evArgsDone{s.head("response.function_call_arguments.done"), it.id, n, string(it.text)})
	case itemRefusal:
		dst = appendEvent(dst, evRefusalDone{s.head("response.refusal.done"), it.id, n, 0, string(it.text)})
		dst = appendEvent(dst, evRefusalPart{s.head("response.content_part.done"), it.id, n, 0, newOutputRefusal(string(it.text))})
	case itemReasoning:
		dst = appendEvent(dst, evReasoningDone{s.head("response.reasoning_text.done"), it.id, n, 0, string(it.text)})
		dst = appendEvent(dst, evReasoningPart{s.head("response.content_part.done"), it.id, n, 0, newReasoningText(string(it.text))})
	default:
		// The three events carry the whole text: it is escaped once.
		s.buf = jsontext.AppendString(s.buf[:0], string(it.text))
		return appendTextDone(dst, s.head("response.output_text.done"), s.head("response.content_part.done"),
			s.head("response.output_item.done"), it.id, n, status, s.buf)
	}
	return appendItemEvent(dst, s.head("response.output_item.done"), n, it.render(status))
}

// appendItemEvent appends an output_item event: the bytes appendEvent
// makes of evItem{h, n, item}.
func appendItemEvent(dst []byte, h evHead, n int, item any) []byte {
	dst = appendEventStart(dst, h)
	dst = append(dst, `,"output_index":`...)
	dst = strconv.AppendInt(dst, int64(n), 10)
	dst = append(dst, `,"item":`...)
	dst = appendItem(dst, item)
	return append(dst, "}\n\n"...)
}

// appendPartAdded appends response.content_part.added with an empty part:
// the bytes appendEvent makes of evPart{h, itemID, n, 0, newOutputText("")}.
func appendPartAdded(dst []byte, h evHead, itemID string, n int) []byte {
	dst = appendEventStart(dst, h)
	dst = append(dst, `,"item_id":`...)
	dst = jsontext.AppendString(dst, itemID)
	dst = append(dst, `,"output_index":`...)
	dst = strconv.AppendInt(dst, int64(n), 10)
	return append(dst, `,"content_index":0,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":""}}`+"\n\n"...)
}
