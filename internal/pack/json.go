package pack

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/jsontext"
)

// The JSON of a record's conversation, answer and attempts, byte for byte
// as encoding/json renders them, without reflection: encoding/json was a
// third of what laying a record out cost. The conversation and the answer
// are rendered without escaping <, > and &, as clients send them, so that
// an answer's content has the bytes the client sends back in the next
// turn; the attempts as json.Marshal renders them. Stored layouts depend
// on these bytes (a blob is named by them), so TestJSON_AsEncodingJSON and
// FuzzJSON hold them to encoding/json's.

// appendConversation renders c. Where encoding/json would fail, it renders
// valid JSON instead, so that one odd record cannot stop a batch: a float
// that is not finite is left out, and tool parameters that are not JSON
// become a JSON string. Neither can come from a decoded request.
func appendConversation(b []byte, c *lyumen.Conversation) []byte {
	b = append(b, `{"messages":`...)
	b = appendArray(b, c.Messages, appendMessage)
	if len(c.Tools) > 0 {
		b = appendArray(append(b, `,"tools":`...), c.Tools, appendTool)
	}
	if tc := c.ToolChoice; tc != nil {
		b = jsontext.AppendStringRaw(append(b, `,"tool_choice":{"mode":`...), tc.Mode)
		b = append(appendOmitEmpty(b, `,"name":`, tc.Name), '}')
	}
	if c.MaxTokens != 0 {
		b = strconv.AppendInt(append(b, `,"max_tokens":`...), int64(c.MaxTokens), 10)
	}
	for _, f := range []struct {
		key string
		v   *float64
	}{
		{`,"temperature":`, c.Temperature}, {`,"top_p":`, c.TopP},
		{`,"frequency_penalty":`, c.FrequencyPenalty}, {`,"presence_penalty":`, c.PresencePenalty},
	} {
		if f.v == nil || math.IsInf(*f.v, 0) || math.IsNaN(*f.v) {
			continue
		}
		b = jsontext.AppendFloat(append(b, f.key...), *f.v)
	}
	if len(c.Stop) > 0 {
		b = appendArray(append(b, `,"stop":`...), c.Stop, func(b []byte, s *string) []byte {
			return jsontext.AppendStringRaw(b, *s)
		})
	}
	return append(b, '}')
}

func appendTool(b []byte, t *lyumen.Tool) []byte {
	b = jsontext.AppendStringRaw(append(b, `{"name":`...), t.Name)
	b = appendOmitEmpty(b, `,"description":`, t.Description)
	if len(t.Parameters) > 0 {
		buf := bytes.NewBuffer(append(b, `,"parameters":`...))
		if err := json.Compact(buf, t.Parameters); err != nil { // it wrote nothing
			buf.Write(jsontext.AppendStringRaw(buf.AvailableBuffer(), string(t.Parameters)))
		}
		b = buf.Bytes()
	}
	if t.Strict != nil {
		b = strconv.AppendBool(append(b, `,"strict":`...), *t.Strict)
	}
	return append(b, '}')
}

func appendMessage(b []byte, m *lyumen.Message) []byte {
	b = jsontext.AppendStringRaw(append(b, `{"role":`...), m.Role)
	b = appendOmitEmpty(b, `,"content":`, m.Content)
	if len(m.Parts) > 0 {
		b = appendArray(append(b, `,"parts":`...), m.Parts, appendPart)
	}
	if len(m.ToolCalls) > 0 {
		b = appendArray(append(b, `,"tool_calls":`...), m.ToolCalls, appendToolCall)
	}
	b = appendOmitEmpty(b, `,"tool_call_id":`, m.ToolCallID)
	b = appendOmitEmpty(b, `,"name":`, m.Name)
	b = appendOmitEmpty(b, `,"reasoning":`, m.Reasoning)
	b = appendOmitEmpty(b, `,"refusal":`, m.Refusal)
	return append(b, '}')
}

func appendPart(b []byte, p *lyumen.Part) []byte {
	b = jsontext.AppendStringRaw(append(b, `{"type":`...), p.Type)
	b = appendOmitEmpty(b, `,"text":`, p.Text)
	b = appendOmitEmpty(b, `,"url":`, p.URL)
	b = appendOmitEmpty(b, `,"media_type":`, p.MediaType)
	b = appendOmitEmpty(b, `,"data":`, p.Data)
	return append(b, '}')
}

func appendToolCall(b []byte, tc *lyumen.ToolCall) []byte {
	b = strconv.AppendInt(append(b, `{"index":`...), int64(tc.Index), 10)
	b = appendOmitEmpty(b, `,"id":`, tc.ID)
	b = appendOmitEmpty(b, `,"type":`, tc.Type)
	b = jsontext.AppendStringRaw(append(b, `,"name":`...), tc.Name)
	b = jsontext.AppendStringRaw(append(b, `,"arguments":`...), tc.Arguments)
	return append(b, '}')
}

// responseSize is room for appendResponse's output, its text and its
// keys, short of escapes.
func responseSize(r *lyumen.Response) int {
	n := 160 + len(r.ID) + len(r.Model)
	for i := range r.Choices {
		m := &r.Choices[i].Message
		n += 96 + len(m.Content) + len(m.Reasoning) + len(m.Refusal)
		for j := range m.ToolCalls {
			n += 64 + len(m.ToolCalls[j].Name) + len(m.ToolCalls[j].Arguments)
		}
	}
	return n
}

func appendResponse(b []byte, r *lyumen.Response) []byte {
	b = append(b, '{')
	if r.ID != "" {
		b = append(jsontext.AppendStringRaw(append(b, `"id":`...), r.ID), ',')
	}
	if r.Model != "" {
		b = append(jsontext.AppendStringRaw(append(b, `"model":`...), r.Model), ',')
	}
	b = appendArray(append(b, `"choices":`...), r.Choices, appendChoice)
	if u := r.Usage; u != nil {
		b = strconv.AppendInt(append(b, `,"usage":{"prompt_tokens":`...), int64(u.PromptTokens), 10)
		b = strconv.AppendInt(append(b, `,"completion_tokens":`...), int64(u.CompletionTokens), 10)
		b = strconv.AppendInt(append(b, `,"total_tokens":`...), int64(u.TotalTokens), 10)
		if u.CachedTokens != 0 {
			b = strconv.AppendInt(append(b, `,"cached_tokens":`...), int64(u.CachedTokens), 10)
		}
		if u.ReasoningTokens != 0 {
			b = strconv.AppendInt(append(b, `,"reasoning_tokens":`...), int64(u.ReasoningTokens), 10)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendChoice(b []byte, c *lyumen.Choice) []byte {
	b = strconv.AppendInt(append(b, `{"index":`...), int64(c.Index), 10)
	b = appendMessage(append(b, `,"message":`...), &c.Message)
	b = appendOmitEmpty(b, `,"finish_reason":`, c.FinishReason)
	return append(b, '}')
}

// appendAttempts renders attempts as json.Marshal does, HTML escaped.
func appendAttempts(b []byte, attempts []lyumen.Attempt) []byte {
	return appendArray(b, attempts, func(b []byte, a *lyumen.Attempt) []byte {
		b = jsontext.AppendString(append(b, `{"provider":`...), a.Provider)
		b = jsontext.AppendString(append(b, `,"model":`...), a.Model)
		if a.Status != 0 {
			b = strconv.AppendInt(append(b, `,"status":`...), int64(a.Status), 10)
		}
		if a.Error != "" {
			b = jsontext.AppendString(append(b, `,"error":`...), a.Error)
		}
		b = strconv.AppendInt(append(b, `,"duration":`...), int64(a.Duration), 10)
		return append(b, '}')
	})
}

// appendArray renders xs as a JSON array, each element with each; a nil
// slice as null, as encoding/json does.
func appendArray[T any](b []byte, xs []T, each func([]byte, *T) []byte) []byte {
	if xs == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = each(b, &xs[i])
	}
	return append(b, ']')
}

func appendOmitEmpty(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return jsontext.AppendStringRaw(append(b, key...), s)
}
