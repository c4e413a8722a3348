package gemini

import (
	"strings"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/jsonscan"
)

// Nearly every chunk of a Gemini stream is a few words for one candidate,
// with the running usage:
//
//	{"candidates":[{"content":{"parts":[{"text":"…"}],"role":"model"},"index":0}],
//	 "usageMetadata":{…},"modelVersion":"…","responseId":"…"}
//
// fastParse reads that shape in one pass, as openai's fastChunk does for
// chat chunks: gjson's validation pass and closures were most of what the
// parse cost. It takes text parts only (no calls, thoughts, blocked
// prompts or errors), consumes all of its input, so it validates what it
// accepts, and on anything else returns ok false, having changed nothing,
// for parseGeneral. FuzzFastParse checks that whatever it accepts,
// parseGeneral reads the same and leaves the parser in the same state.
func (p *parser) fastParse(data []byte) (ev lyumen.Event, ok bool) {
	s := jsonscan.New(string(data)) // one copy: the event's strings share it
	type cand struct {
		index  int
		text   string
		finish string
	}
	var (
		buf      [1]cand
		cands    = buf[:0] // one candidate, nearly always: no allocation
		id       string
		model    string
		usage    string
		hasID    bool
		hasModel bool
		sawCands bool
	)
	ok = s.Object(func(key string) bool {
		var ok bool
		switch key {
		case "responseId":
			id, ok = s.Text()
			hasID = true
		case "modelVersion":
			model, ok = s.Text()
			hasModel = true
		case "usageMetadata":
			if s.Peek() == '{' {
				usage, ok = s.RawText()
			}
		case "candidates":
			ok = !sawCands && s.Array(func() bool {
				var c cand
				var ok bool
				c.index, c.text, c.finish, ok = readCandidate(&s)
				cands = append(cands, c)
				return ok
			})
			sawCands = true
		case "promptFeedback", "error":
		default:
			ok = s.Value(0)
		}
		return ok
	})
	if !ok || !s.End() {
		return ev, false
	}
	for _, c := range cands {
		if unusableCall(c.finish) {
			return ev, false // the general path makes it the error it is
		}
	}
	// Accepted: now the parser's state changes, as parseGeneral changes it.
	if hasID {
		ev.ID, p.id = id, id
	}
	if hasModel {
		ev.Model, p.model = model, model
	}
	if usage != "" {
		p.usageRaw = usage
	}
	for _, c := range cands {
		if d := p.delta(c.index, c.text, nil, c.finish); d.Role != "" || d.Content != "" || d.FinishReason != "" {
			ev.Choices = append(ev.Choices, d)
		}
	}
	return ev, true
}

// readCandidate reads a candidate whose content is text parts.
func readCandidate(s *jsonscan.Scanner) (index int, text, finish string, ok bool) {
	var buf [1]string
	parts := buf[:0] // one part, nearly always: no allocation
	ok = s.Object(func(key string) bool {
		var ok bool
		switch key {
		case "index":
			index, ok = s.Index(lyumen.MaxChoices)
		case "finishReason":
			finish, ok = s.Text()
		case "content":
			ok = s.Null()
			if !ok {
				parts, ok = readContent(s, parts)
			}
		default:
			ok = s.Value(0)
		}
		return ok
	})
	switch len(parts) {
	case 0:
	case 1:
		text = parts[0]
	default:
		text = strings.Join(parts, "")
	}
	return index, text, finish, ok
}

// readContent reads a candidate's content, appending the text of its parts to
// parts; only text parts are taken.
func readContent(s *jsonscan.Scanner, parts []string) ([]string, bool) {
	sawParts := false
	ok := s.Object(func(key string) bool {
		if key != "parts" {
			return s.Value(0)
		}
		if sawParts {
			return false // gjson's Get reads the first, ForEach the last
		}
		sawParts = true
		return s.Null() || s.Array(func() bool {
			t, ok := readTextPart(s)
			parts = append(parts, t)
			return ok
		})
	})
	return parts, ok
}

// readTextPart reads a part with text and nothing the answer needs else.
func readTextPart(s *jsonscan.Scanner) (text string, ok bool) {
	ok = s.Object(func(key string) bool {
		var ok bool
		switch key {
		case "text":
			text, ok = s.Text()
		case "thought", "functionCall":
		default:
			ok = s.Value(0)
		}
		return ok
	})
	return text, ok
}
