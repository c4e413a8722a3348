// Package demo is a deterministic offline Provider, used when the operator
// has configured no upstream so that the first run works with no keys and
// no network. Its answers say plainly that it is a demo.
package demo

import (
	"context"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lyumen/lyumen"
)

// ModelName is the public name of the demo model.
const ModelName = "lyumen-demo"

// Provider answers every request with the same kind of text: a note that
// this is a demo and an echo of the last user message.
type Provider struct{}

var _ lyumen.Provider = Provider{}

// Reply is the deterministic answer to a conversation.
func Reply(msgs []lyumen.Message) string {
	last := ""
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == "user" {
			last = msgs[i].Content
			break
		}
	}
	last = strings.Join(strings.Fields(last), " ")
	if utf8.RuneCountInString(last) > 200 {
		last = string([]rune(last)[:200]) + "…"
	}
	if last == "" {
		last = "(nothing)"
	}
	return "This is the Lyumen demo model, not a real language model: the operator has not configured an upstream provider yet. You said: " + last
}

func usage(msgs []lyumen.Message, reply string) *lyumen.Usage {
	prompt := 0
	for _, m := range msgs {
		prompt += len(strings.Fields(m.Content)) + 1
	}
	completion := len(strings.Fields(reply))
	return &lyumen.Usage{PromptTokens: prompt, CompletionTokens: completion, TotalTokens: prompt + completion}
}

// Chat answers at once.
func (Provider) Chat(ctx context.Context, req *lyumen.Request) (*lyumen.Response, error) {
	if req.Untranslated != nil { // a demo is a chat model: it cannot do what only a raw completion can
		return nil, req.Untranslated
	}
	reply := Reply(req.Messages)
	return &lyumen.Response{
		ID:      newID(),
		Model:   req.Model,
		Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant", Content: reply}, FinishReason: "stop"}},
		Usage:   usage(req.Messages, reply),
	}, nil
}

// ChatStream streams the same answer word by word.
func (Provider) ChatStream(ctx context.Context, req *lyumen.Request) (lyumen.Stream, error) {
	if req.Untranslated != nil {
		return nil, req.Untranslated
	}
	reply := Reply(req.Messages)
	return &stream{ctx: ctx, id: newID(), model: req.Model, words: strings.SplitAfter(reply, " "), usage: usage(req.Messages, reply)}, nil
}

// newID returns a completion id in OpenAI's shape; one per answer, shared
// by all events of a stream.
func newID() string {
	return "chatcmpl-demo" + strconv.FormatInt(time.Now().UnixNano(), 36)
}

type stream struct {
	ctx   context.Context
	id    string
	model string
	words []string
	usage *lyumen.Usage
	n     int
}

func (s *stream) Next() (lyumen.Event, error) {
	if err := s.ctx.Err(); err != nil {
		return lyumen.Event{}, err
	}
	i := s.n
	s.n++
	switch {
	case i < len(s.words):
		d := lyumen.ChoiceDelta{Content: s.words[i]}
		if i == 0 {
			d.Role = "assistant"
		}
		return lyumen.Event{ID: s.id, Model: s.model, Choices: []lyumen.ChoiceDelta{d}}, nil
	case i == len(s.words):
		return lyumen.Event{ID: s.id, Model: s.model, Choices: []lyumen.ChoiceDelta{{FinishReason: "stop"}}}, nil
	case i == len(s.words)+1:
		return lyumen.Event{ID: s.id, Model: s.model, Usage: s.usage}, nil
	}
	return lyumen.Event{}, io.EOF
}

func (s *stream) Close() error { return nil }
