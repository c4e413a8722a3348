package openai

import (
	"strconv"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/jsontext"
	"github.com/lyumen/lyumen/internal/sse"
)

// Most streamed events carry a few words of text and nothing else. They are
// rendered here by appending, without encoding/json's reflection, which
// was most of what a translated stream cost per token (profiled with
// bench/cmd/translatebench). The bytes are exactly what json.Marshal makes
// of the same event: the fields in the same order, strings escaped by
// jsontext.AppendString; stream_text_internal_test.go checks it.

// textOnly returns ev's one delta when that is all ev carries: text for the
// first choice, without a role, tool calls, finish reason or usage.
func textOnly(ev *lyumen.Event) (*lyumen.ChoiceDelta, bool) {
	if len(ev.Choices) != 1 || ev.Usage != nil {
		return nil, false
	}
	d := &ev.Choices[0]
	return d, d.Content != "" && d.Role == "" && d.FinishReason == "" && len(d.ToolCalls) == 0
}

// appendTextChunk appends the chat.completion.chunk of a text-only delta,
// as EncodeChunk's chatChunk renders it.
func appendTextChunk(dst []byte, id, model string, created int64, d *lyumen.ChoiceDelta) []byte {
	dst = append(dst, `{"id":`...)
	dst = jsontext.AppendString(dst, id)
	dst = append(dst, `,"object":"chat.completion.chunk","created":`...)
	dst = strconv.AppendInt(dst, created, 10)
	dst = append(dst, `,"model":`...)
	dst = jsontext.AppendString(dst, model)
	dst = append(dst, `,"choices":[{"index":`...)
	dst = strconv.AppendInt(dst, int64(d.Index), 10)
	dst = append(dst, `,"delta":{"content":`...)
	dst = jsontext.AppendString(dst, d.Content)
	return append(dst, `},"finish_reason":null}]}`...)
}

// appendTextDelta appends a response.output_text.delta event's data, as
// appendEvent renders evTextDelta.
func appendTextDelta(dst []byte, h evHead, itemID string, outputIndex int, delta string) []byte {
	dst = append(dst, `{"type":`...)
	dst = jsontext.AppendString(dst, h.Type)
	dst = append(dst, `,"sequence_number":`...)
	dst = strconv.AppendInt(dst, int64(h.Seq), 10)
	dst = append(dst, `,"item_id":`...)
	dst = jsontext.AppendString(dst, itemID)
	dst = append(dst, `,"output_index":`...)
	dst = strconv.AppendInt(dst, int64(outputIndex), 10)
	dst = append(dst, `,"content_index":0,"delta":`...)
	dst = jsontext.AppendString(dst, delta)
	return append(dst, `,"logprobs":[]}`...)
}

// appendTextDone appends the events that close a message item, as
// appendEvent renders evTextDone, evPart and evItem with the item's
// messageItem: text is the item's text, already a JSON string.
func appendTextDone(dst []byte, done, part, item evHead, itemID string, outputIndex int, status string, text []byte) []byte {
	head := func(b []byte, h evHead) []byte {
		b = append(b, `{"type":`...)
		b = jsontext.AppendString(b, h.Type)
		b = append(b, `,"sequence_number":`...)
		return strconv.AppendInt(b, int64(h.Seq), 10)
	}
	where := func(b []byte) []byte {
		b = append(b, `,"item_id":`...)
		b = jsontext.AppendString(b, itemID)
		b = append(b, `,"output_index":`...)
		return strconv.AppendInt(b, int64(outputIndex), 10)
	}
	outputText := func(b []byte) []byte {
		b = append(b, `{"type":"output_text","annotations":[],"logprobs":[],"text":`...)
		return append(append(b, text...), '}')
	}
	b := make([]byte, 0, 3*len(text)+512)
	b = where(head(b, done))
	b = append(b, `,"content_index":0,"text":`...)
	b = append(append(b, text...), `,"logprobs":[]}`...)
	dst = sse.AppendData(dst, done.Type, b)

	b = where(head(b[:0], part))
	b = append(b, `,"content_index":0,"part":`...)
	b = append(outputText(b), '}')
	dst = sse.AppendData(dst, part.Type, b)

	b = head(b[:0], item)
	b = append(b, `,"output_index":`...)
	b = strconv.AppendInt(b, int64(outputIndex), 10)
	b = append(b, `,"item":{"id":`...)
	b = jsontext.AppendString(b, itemID)
	b = append(b, `,"type":"message","status":`...)
	b = jsontext.AppendString(b, status)
	b = append(b, `,"content":[`...)
	b = append(outputText(b), `],"role":"assistant"}}`...)
	return sse.AppendData(dst, item.Type, b)
}
