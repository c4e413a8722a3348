package dataset

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/lyumen/lyumen"
)

// Example is one exported conversation: the leaf of a thread, anonymized,
// with the metadata released beside it.
type Example struct {
	ID       string    `json:"id"` // a keyed hash of the leaf record's id (Options.IDKey)
	Split    string    `json:"split"`
	Messages []Message `json:"messages,omitempty"`
	// Metadata, coarsened for release.
	Hour         time.Time `json:"hour"`          // received_at, truncated to the hour, UTC
	Model        string    `json:"model"`         // as the client asked
	Surface      string    `json:"surface"`       // the API it came in on
	Country      string    `json:"country"`       // "" when rare (fewer than K conversations) or unknown
	ClientFamily string    `json:"client_family"` // the user agent reduced to its client: openai-python, curl, browser, other
	Language     string    `json:"language"`      // ISO 639-1 of the user's messages, "" when unsure
	Turns        int       `json:"turns"`         // user messages
	// Tokens as the upstream counted them for the leaf exchange: the prompt
	// is the whole conversation before the last answer. Of those, the
	// cached tokens are prompt tokens read from the upstream's cache, the
	// reasoning tokens completion tokens spent reasoning (0 when the
	// upstream did not say, and in records written before the gateway
	// kept them: a store cannot tell the two apart).
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	CachedTokens     int `json:"cached_tokens"`
	ReasoningTokens  int `json:"reasoning_tokens"`
	Chars            int `json:"chars"`      // characters of message text
	Redactions       int `json:"redactions"` // placeholders put in
}

// Message is one turn, text only: an image becomes the text "[IMAGE]".
// Reasoning is what a model showed of its thinking before its answer.
type Message struct {
	Role       string     `json:"role"`
	Content    string     `json:"content"`
	Reasoning  string     `json:"reasoning,omitempty"`
	Name       string     `json:"name,omitempty"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
}

// ToolCall is a function call made by the assistant.
type ToolCall struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// transcript returns the record's conversation followed by its answer (the
// first choice), as dataset messages. ok is false when the record has no
// conversation or no answer.
func transcript(r *lyumen.Record) ([]Message, bool) {
	if r.Conversation == nil || len(r.Conversation.Messages) == 0 || r.Response == nil || len(r.Response.Choices) == 0 {
		return nil, false
	}
	msgs := make([]Message, 0, len(r.Conversation.Messages)+1)
	for i := range r.Conversation.Messages {
		msgs = append(msgs, message(&r.Conversation.Messages[i]))
	}
	answer := message(&r.Response.Choices[0].Message)
	if answer.Role == "" {
		answer.Role = "assistant"
	}
	if answer.Content == "" && len(answer.ToolCalls) == 0 {
		return nil, false
	}
	return append(msgs, answer), true
}

func message(m *lyumen.Message) Message {
	out := Message{Role: m.Role, Name: m.Name, ToolCallID: m.ToolCallID, Reasoning: m.Reasoning}
	if m.Parts == nil {
		out.Content = m.Content
	} else {
		// Parts are kept apart: run together, "…1111 1111" and "Thanks" lose
		// the word boundary the anonymizer's detectors need.
		var b strings.Builder
		part := func(s string, sep byte) {
			if s == "" {
				return
			}
			last, _ := utf8.DecodeLastRuneInString(b.String()) // a byte alone: х's last is 0x85, NEL to IsSpace
			first, _ := utf8.DecodeRuneInString(s)
			if b.Len() > 0 && !unicode.IsSpace(last) && !unicode.IsSpace(first) {
				b.WriteByte(sep)
			}
			b.WriteString(s)
		}
		for _, p := range m.Parts {
			switch p.Type {
			case lyumen.PartText:
				part(p.Text, '\n')
			case lyumen.PartImage:
				part("[IMAGE]", ' ')
			}
		}
		out.Content = b.String()
	}
	for _, tc := range m.ToolCalls {
		out.ToolCalls = append(out.ToolCalls, ToolCall{ID: tc.ID, Name: tc.Name, Arguments: compact(tc.Arguments)})
	}
	return out
}

// compact returns JSON arguments without insignificant space, so that a
// call streamed as a model spaced it ({"city": "Paris"}) and the same call
// resent by the client, compacted, are one message to threading and
// dedup. Anything else is returned as it is.
func compact(args string) string {
	if !strings.ContainsAny(args, " \t\n\r") {
		return args
	}
	var b bytes.Buffer
	if json.Compact(&b, []byte(args)) != nil {
		return args
	}
	return b.String()
}

// turns counts the user messages.
func turns(msgs []Message) int {
	n := 0
	for _, m := range msgs {
		if m.Role == "user" {
			n++
		}
	}
	return n
}

func chars(msgs []Message) int {
	n := 0
	for _, m := range msgs {
		n += len([]rune(m.Content))
		for _, tc := range m.ToolCalls {
			n += len(tc.Arguments)
		}
	}
	return n
}
