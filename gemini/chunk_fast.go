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
	if !s.Eat('{') {
		return ev, false
	}
	type cand struct {
		index  int
		text   string
		finish string
	}
	var (
		buf         [1]cand
		cands       = buf[:0] // one candidate, nearly always: no allocation
		id, model   string
		usage       string
		hasID       bool
		hasModel    bool
		sawCands    bool
		emptyObject = s.Eat('}')
	)
	for !emptyObject {
		key, ok := s.Key()
		if !ok {
			return ev, false
		}
		switch key {
		case "responseId", "modelVersion":
			v, ok := s.Text()
			if !ok {
				return ev, false
			}
			if key == "responseId" {
				id, hasID = v, true
			} else {
				model, hasModel = v, true
			}
		case "usageMetadata":
			if s.Peek() != '{' {
				return ev, false
			}
			if usage, ok = s.RawText(); !ok {
				return ev, false
			}
		case "candidates":
			if sawCands || !s.Eat('[') {
				return ev, false
			}
			sawCands = true
			if s.Eat(']') {
				break
			}
			for {
				var c cand
				if c.index, c.text, c.finish, ok = readCandidate(&s); !ok {
					return ev, false
				}
				cands = append(cands, c)
				if s.Eat(']') {
					break
				}
				if !s.Eat(',') {
					return ev, false
				}
			}
		case "promptFeedback", "error":
			return ev, false
		default:
			if !s.Value(0) {
				return ev, false
			}
		}
		if s.Eat('}') {
			break
		}
		if !s.Eat(',') {
			return ev, false
		}
	}
	if !s.End() {
		return ev, false
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
	if !s.Eat('{') {
		return 0, "", "", false
	}
	if s.Eat('}') {
		return 0, "", "", true
	}
	var buf [1]string
	parts := buf[:0] // one part, nearly always: no allocation
	for {
		key, ok := s.Key()
		if !ok {
			return 0, "", "", false
		}
		switch key {
		case "index":
			if index, ok = s.Index(1000); !ok {
				return 0, "", "", false
			}
		case "finishReason":
			if finish, ok = s.Text(); !ok {
				return 0, "", "", false
			}
		case "content":
			if s.Null() {
				break
			}
			if parts, ok = readContent(s, parts); !ok {
				return 0, "", "", false
			}
		default:
			if !s.Value(0) {
				return 0, "", "", false
			}
		}
		if s.Eat('}') {
			break
		}
		if !s.Eat(',') {
			return 0, "", "", false
		}
	}
	switch len(parts) {
	case 0:
	case 1:
		text = parts[0]
	default:
		text = strings.Join(parts, "")
	}
	return index, text, finish, true
}

// readContent reads a candidate's content, appending the text of its parts to
// parts; only text parts are taken.
func readContent(s *jsonscan.Scanner, parts []string) ([]string, bool) {
	if !s.Eat('{') {
		return nil, false
	}
	if s.Eat('}') {
		return parts, true
	}
	sawParts := false
	for {
		key, ok := s.Key()
		if !ok {
			return nil, false
		}
		switch key {
		case "parts":
			if sawParts {
				return nil, false // gjson's Get reads the first, ForEach the last
			}
			sawParts = true
			if s.Null() {
				break
			}
			if !s.Eat('[') {
				return nil, false
			}
			if s.Eat(']') {
				break
			}
			for {
				t, ok := readTextPart(s)
				if !ok {
					return nil, false
				}
				parts = append(parts, t)
				if s.Eat(']') {
					break
				}
				if !s.Eat(',') {
					return nil, false
				}
			}
		default:
			if !s.Value(0) {
				return nil, false
			}
		}
		if s.Eat('}') {
			return parts, true
		}
		if !s.Eat(',') {
			return nil, false
		}
	}
}

// readTextPart reads a part with text and nothing the answer needs else.
func readTextPart(s *jsonscan.Scanner) (string, bool) {
	if !s.Eat('{') {
		return "", false
	}
	if s.Eat('}') {
		return "", true
	}
	text := ""
	for {
		key, ok := s.Key()
		if !ok {
			return "", false
		}
		switch key {
		case "text":
			if text, ok = s.Text(); !ok {
				return "", false
			}
		case "thought", "functionCall":
			return "", false
		default:
			if !s.Value(0) {
				return "", false
			}
		}
		if s.Eat('}') {
			return text, true
		}
		if !s.Eat(',') {
			return "", false
		}
	}
}
