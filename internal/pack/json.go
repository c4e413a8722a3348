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
	if c.Messages == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range c.Messages {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendMessage(b, &c.Messages[i])
		}
		b = append(b, ']')
	}
	if len(c.Tools) > 0 {
		b = append(b, `,"tools":[`...)
		for i := range c.Tools {
			if i > 0 {
				b = append(b, ',')
			}
			t := &c.Tools[i]
			b = append(b, `{"name":`...)
			b = jsontext.AppendStringRaw(b, t.Name)
			if t.Description != "" {
				b = append(b, `,"description":`...)
				b = jsontext.AppendStringRaw(b, t.Description)
			}
			if len(t.Parameters) > 0 {
				b = append(b, `,"parameters":`...)
				buf := bytes.NewBuffer(b)
				if err := json.Compact(buf, t.Parameters); err != nil {
					buf.Truncate(len(b))
					buf.Write(jsontext.AppendStringRaw(buf.AvailableBuffer(), string(t.Parameters)))
				}
				b = buf.Bytes()
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if tc := c.ToolChoice; tc != nil {
		b = append(b, `,"tool_choice":{"mode":`...)
		b = jsontext.AppendStringRaw(b, tc.Mode)
		if tc.Name != "" {
			b = append(b, `,"name":`...)
			b = jsontext.AppendStringRaw(b, tc.Name)
		}
		b = append(b, '}')
	}
	if c.MaxTokens != 0 {
		b = append(b, `,"max_tokens":`...)
		b = strconv.AppendInt(b, int64(c.MaxTokens), 10)
	}
	for _, f := range []struct {
		key string
		v   *float64
	}{{`,"temperature":`, c.Temperature}, {`,"top_p":`, c.TopP}} {
		if f.v == nil || math.IsInf(*f.v, 0) || math.IsNaN(*f.v) {
			continue
		}
		b = append(b, f.key...)
		b = jsontext.AppendFloat(b, *f.v)
	}
	if len(c.Stop) > 0 {
		b = append(b, `,"stop":[`...)
		for i, s := range c.Stop {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsontext.AppendStringRaw(b, s)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func appendMessage(b []byte, m *lyumen.Message) []byte {
	b = append(b, `{"role":`...)
	b = jsontext.AppendStringRaw(b, m.Role)
	if m.Content != "" {
		b = append(b, `,"content":`...)
		b = jsontext.AppendStringRaw(b, m.Content)
	}
	if len(m.Parts) > 0 {
		b = append(b, `,"parts":[`...)
		for i := range m.Parts {
			if i > 0 {
				b = append(b, ',')
			}
			p := &m.Parts[i]
			b = append(b, `{"type":`...)
			b = jsontext.AppendStringRaw(b, p.Type)
			b = appendOmitEmpty(b, `,"text":`, p.Text)
			b = appendOmitEmpty(b, `,"url":`, p.URL)
			b = appendOmitEmpty(b, `,"media_type":`, p.MediaType)
			b = appendOmitEmpty(b, `,"data":`, p.Data)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(m.ToolCalls) > 0 {
		b = append(b, `,"tool_calls":[`...)
		for i := range m.ToolCalls {
			if i > 0 {
				b = append(b, ',')
			}
			tc := &m.ToolCalls[i]
			b = append(b, `{"index":`...)
			b = strconv.AppendInt(b, int64(tc.Index), 10)
			b = appendOmitEmpty(b, `,"id":`, tc.ID)
			b = appendOmitEmpty(b, `,"type":`, tc.Type)
			b = append(b, `,"name":`...)
			b = jsontext.AppendStringRaw(b, tc.Name)
			b = append(b, `,"arguments":`...)
			b = jsontext.AppendStringRaw(b, tc.Arguments)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = appendOmitEmpty(b, `,"tool_call_id":`, m.ToolCallID)
	b = appendOmitEmpty(b, `,"name":`, m.Name)
	return append(b, '}')
}

func appendResponse(b []byte, r *lyumen.Response) []byte {
	b = append(b, '{')
	if r.ID != "" {
		b = append(b, `"id":`...)
		b = jsontext.AppendStringRaw(b, r.ID)
		b = append(b, ',')
	}
	if r.Model != "" {
		b = append(b, `"model":`...)
		b = jsontext.AppendStringRaw(b, r.Model)
		b = append(b, ',')
	}
	b = append(b, `"choices":`...)
	if r.Choices == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range r.Choices {
			if i > 0 {
				b = append(b, ',')
			}
			c := &r.Choices[i]
			b = append(b, `{"index":`...)
			b = strconv.AppendInt(b, int64(c.Index), 10)
			b = append(b, `,"message":`...)
			b = appendMessage(b, &c.Message)
			b = appendOmitEmpty(b, `,"finish_reason":`, c.FinishReason)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if u := r.Usage; u != nil {
		b = append(b, `,"usage":{"prompt_tokens":`...)
		b = strconv.AppendInt(b, int64(u.PromptTokens), 10)
		b = append(b, `,"completion_tokens":`...)
		b = strconv.AppendInt(b, int64(u.CompletionTokens), 10)
		b = append(b, `,"total_tokens":`...)
		b = strconv.AppendInt(b, int64(u.TotalTokens), 10)
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendAttempts renders attempts as json.Marshal does, HTML escaped.
func appendAttempts(b []byte, attempts []lyumen.Attempt) []byte {
	b = append(b, '[')
	for i := range attempts {
		if i > 0 {
			b = append(b, ',')
		}
		a := &attempts[i]
		b = append(b, `{"provider":`...)
		b = jsontext.AppendString(b, a.Provider)
		b = append(b, `,"model":`...)
		b = jsontext.AppendString(b, a.Model)
		if a.Status != 0 {
			b = append(b, `,"status":`...)
			b = strconv.AppendInt(b, int64(a.Status), 10)
		}
		if a.Error != "" {
			b = append(b, `,"error":`...)
			b = jsontext.AppendString(b, a.Error)
		}
		b = append(b, `,"duration":`...)
		b = strconv.AppendInt(b, int64(a.Duration), 10)
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendOmitEmpty(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return jsontext.AppendStringRaw(append(b, key...), s)
}
