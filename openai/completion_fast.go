package openai

import (
	"encoding/json"
	"strings"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/jsonscan"
)

// fastCompletion reads a whole chat.completion whose choices are text
// messages, the answer to nearly every non-streamed request, in one pass
// without reflection: encoding/json's decoding of it was the largest part
// of what the gateway added per non-streamed request. Members it does not
// use (logprobs, annotations, usage details other than the cached and
// reasoning counts) are skipped. On
// anything else (tool calls, an error, strings with \u escapes, a
// repeated member, a key that encoding/json would match to a field
// without regard to case, anything malformed) it returns ok false and
// json.Unmarshal decides, so errors keep its wording. FuzzFastCompletion
// checks that whatever it accepts, json.Unmarshal reads the same.
func fastCompletion(data []byte) (cc chatCompletion, ok bool) {
	p := jsonscan.New(string(data)) // one copy: the strings kept share it
	seen := jsonscan.NewSeen(completionKeys)
	ok = p.Object(func(key string) bool {
		if seen.Repeated(key) {
			return false
		}
		var ok bool
		switch key {
		case "id":
			cc.ID, ok = stringOrNull(&p)
		case "object":
			cc.Object, ok = stringOrNull(&p)
		case "model":
			cc.Model, ok = stringOrNull(&p)
		case "created":
			var n int
			ok = intOrNull(&p, &n)
			cc.Created = int64(n)
		case "choices":
			if p.Null() {
				return true
			}
			cc.Choices = []wireChoice{}
			ok = p.Array(func() bool {
				c, ok := fastChoice(&p)
				cc.Choices = append(cc.Choices, c)
				return ok
			})
		case "usage":
			u := (*lyumen.Usage)(cc.Usage)
			ok = usageOrNull(&p, &u)
			cc.Usage = (*wireUsage)(u)
		case "error":
			if ok = p.Null(); ok {
				cc.Error = json.RawMessage("null") // as encoding/json sets a RawMessage
			}
		default:
			ok = skip(&p, key, completionKeys)
		}
		return ok
	})
	return cc, ok && p.End()
}

var (
	completionKeys = []string{"id", "object", "created", "model", "choices", "usage", "error"}
	choiceKeys     = []string{"index", "message", "delta", "finish_reason", "error", "text"}
	messageKeys    = []string{"role", "content", "tool_calls", "reasoning_content", "reasoning", "refusal"}
	usageKeys      = []string{"prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details", "completion_tokens_details"}
)

// fastChoice reads one element of choices.
func fastChoice(p *jsonscan.Scanner) (c wireChoice, ok bool) {
	seen := jsonscan.NewSeen(choiceKeys)
	ok = p.Object(func(key string) bool {
		if seen.Repeated(key) {
			return false
		}
		var ok bool
		switch key {
		case "index":
			c.Index, ok = p.Index(lyumen.MaxChoices)
		case "finish_reason":
			if !p.Null() {
				var s string
				s, ok = stringOrNull(p)
				c.FinishReason = &s
				return ok
			}
			c.FinishReason, ok = nil, true
		case "message":
			if p.Null() {
				return true
			}
			c.Message = &wireMessage{}
			ok = fastMessage(p, c.Message)
		case "delta":
			ok = p.Null()
		case "error": // OpenRouter's failure in a 200: the general path reads it
			if ok = p.Null(); ok {
				c.Error = json.RawMessage("null") // as encoding/json sets a RawMessage
			}
		case "text": // a legacy completion's: the general path reads it
			ok = p.Null()
		default:
			ok = skip(p, key, choiceKeys)
		}
		return ok
	})
	return c, ok
}

// fastMessage reads a choice's message: a role and text content.
func fastMessage(p *jsonscan.Scanner, m *wireMessage) bool {
	seen := jsonscan.NewSeen(messageKeys)
	return p.Object(func(key string) bool {
		if seen.Repeated(key) {
			return false
		}
		var ok bool
		switch key {
		case "role":
			m.Role, ok = stringOrNull(p)
		case "content":
			if p.Null() {
				m.Content = nil
				return true
			}
			var s string
			s, ok = stringOrNull(p)
			m.Content = &s
		case "tool_calls": // none: vLLM sends an empty array
			if ok = p.Null(); !ok && p.Eat('[') {
				m.ToolCalls, ok = []wireToolCall{}, p.Eat(']')
			}
		case "reasoning_content", "reasoning", "refusal":
			// As encoding/json sets a RawMessage: the value's bytes. A
			// string's are as written, escapes and all (a reasoning trace
			// has newlines); anything else goes the general way.
			if p.Null() {
				*m.aside(key), ok = json.RawMessage("null"), true
				break
			}
			var raw string
			if raw, ok = p.RawString(); ok {
				*m.aside(key) = json.RawMessage(raw)
			}
		default:
			ok = skip(p, key, messageKeys)
		}
		return ok
	})
}

// usageOrNull reads a usage object into a new *u, or null, which leaves *u
// as it was.
func usageOrNull(p *jsonscan.Scanner, u **lyumen.Usage) bool {
	if p.Null() {
		return true
	}
	*u = new(lyumen.Usage)
	return fastUsage(p, *u)
}

// fastUsage reads the token counts into u, the cached and reasoning ones
// from their details objects; other details are skipped. It refuses what
// the general readers might read otherwise: a repeated count or details
// object, a count that is not a plain integer, or a key that matches one
// only when case is ignored.
func fastUsage(p *jsonscan.Scanner, u *lyumen.Usage) bool {
	seen := jsonscan.NewSeen(usageKeys)
	return p.Object(func(key string) bool {
		if seen.Repeated(key) {
			return false
		}
		var dst *int
		switch key {
		case "prompt_tokens":
			dst = &u.PromptTokens
		case "completion_tokens":
			dst = &u.CompletionTokens
		case "total_tokens":
			dst = &u.TotalTokens
		case "prompt_tokens_details":
			return fastUsageDetail(p, "cached_tokens", &u.CachedTokens)
		case "completion_tokens_details":
			return fastUsageDetail(p, "reasoning_tokens", &u.ReasoningTokens)
		default:
			return skip(p, key, usageKeys)
		}
		return intOrNull(p, dst)
	})
}

// fastUsageDetail reads a details object, or null, into *dst: its count
// under key, as usageDetail reads it (case sensitive, so other keys are
// skipped whatever their case); a repeated key goes the general way.
func fastUsageDetail(p *jsonscan.Scanner, key string, dst *int) bool {
	if p.Null() {
		return true
	}
	var seen bool
	return p.Object(func(k string) bool {
		if k != key {
			return p.Value(0)
		}
		if seen {
			return false
		}
		seen = true
		return intOrNull(p, dst)
	})
}

// intOrNull reads a plain integer into *dst, or null, which leaves it.
// One beyond 2^53 goes the general way, which reads numbers as float64s
// (decodeCompletion), so that both read the same.
func intOrNull(p *jsonscan.Scanner, dst *int) bool {
	n, null, ok := p.IntOrNull()
	if !ok || null {
		return ok
	}
	if n > 1<<53 || n < -1<<53 {
		return false
	}
	*dst = int(n)
	return true
}

// stringOrNull reads a string or null (""), escapes decoded where
// jsonscan.Unquote can: the escapes chat text holds.
func stringOrNull(p *jsonscan.Scanner) (string, bool) {
	if p.Null() {
		return "", true
	}
	lit, ok := p.RawString()
	if !ok {
		return "", false
	}
	return jsonscan.Unquote(lit)
}

// skip skips the value of a member the caller does not read, unless
// encoding/json would match its key to one of fields: it compares keys
// without regard to case, Unicode's folding included, so a key that is
// not plain ASCII is not skipped either.
func skip(p *jsonscan.Scanner, key string, fields []string) bool {
	for i := 0; i < len(key); i++ {
		if key[i] >= 0x80 {
			return false
		}
	}
	for _, f := range fields {
		if strings.EqualFold(key, f) {
			return false
		}
	}
	return p.Value(0)
}
