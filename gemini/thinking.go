package gemini

import (
	"strconv"
	"strings"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/jsontext"
)

// thinkingConfig tunes a thinking model: a budget in tokens (Gemini 2.5) or
// a level (Gemini 3 and later), never both (Gemini refuses that), and
// whether to show thought summaries, which come back as parts marked
// thought: the reasoning of the answer.
type thinkingConfig struct {
	IncludeThoughts bool   `json:"includeThoughts,omitempty"`
	ThinkingBudget  *int   `json:"thinkingBudget,omitempty"` // 0 is off, -1 the model decides
	ThinkingLevel   string `json:"thinkingLevel,omitempty"`
}

// thinking maps the reasoning the client asked for onto the thinkingConfig
// of req.Model, the upstream's model. It returns nil when the client asked
// for nothing, so that the model's own default stands, and when the model
// is known not to think (Gemini 2.0, Gemma), where a thinkingConfig could
// only turn a request answered today into an error.
//
// OpenAI's reasoning efforts map as below. The budgets for low, medium and
// high are those Google's own OpenAI-compatible endpoint gives them
// (ai.google.dev/gemini-api/docs/openai); the levels each model takes and
// the budget ranges are those of ai.google.dev/gemini-api/docs/thinking.
//
//	effort   Gemini 2.5: thinkingBudget        Gemini 3 and later: thinkingLevel
//	none     0; 128 on Pro, which cannot stop  minimal; low on Pro, which has no minimal
//	minimal  512, within every model's range   minimal; low on Pro
//	low      1024                              low
//	medium   8192                              medium; high on 3 Pro, which has low and high only
//	high     24576                             high
//	xhigh    the most: 32768 on Pro, or 24576  high
//
// Anthropic's thinking comes as a budget (Request.ReasoningBudget), which
// wins over an effort:
//
//	thinking                 Gemini 2.5: thinkingBudget     Gemini 3 and later: thinkingLevel
//	disabled (0)             as effort none                 as effort none
//	enabled, budget_tokens   budget_tokens, from 512 up to  the effort whose budget above covers it:
//	                         the model's most               low up to 1024, medium up to 8192, else high
//	adaptive (-1)            -1: the model decides          none: the model's default, which is dynamic
//
// Gemini 3 takes budgets too, but Google asks for levels there.
//
// Thought summaries (includeThoughts) are asked for whenever thinking is:
// they come back as the answer's reasoning. An effort with no counterpart
// here is a KindInvalid error.
func thinking(req *lyumen.Request) (*thinkingConfig, error) {
	effort, budget := req.ReasoningEffort, req.ReasoningBudget
	if effort == "" && budget == nil {
		return nil, nil
	}
	gen := generation(req.Model)
	if gen == noThinking {
		return nil, nil
	}
	name, _, _ := version(req.Model)
	pro := strings.Contains(name, "-pro")
	if gen == levels {
		if budget != nil {
			switch b := *budget; {
			case b < 0:
				return &thinkingConfig{IncludeThoughts: true}, nil
			case b == 0:
				effort = "none"
			case b <= 1024:
				effort = "low"
			case b <= 8192:
				effort = "medium"
			default:
				effort = "high"
			}
		}
		tc := &thinkingConfig{IncludeThoughts: effort != "none"}
		switch effort {
		case "none", "minimal":
			tc.ThinkingLevel = "minimal"
			if pro {
				tc.ThinkingLevel = "low"
			}
		case "low":
			tc.ThinkingLevel = "low"
		case "medium":
			tc.ThinkingLevel = "medium"
			if strings.HasPrefix(name, "gemini-3-pro") {
				tc.ThinkingLevel = "high"
			}
		case "high", "xhigh":
			tc.ThinkingLevel = "high"
		default:
			return nil, errEffort(effort)
		}
		return tc, nil
	}
	lo, hi := 0, 24576 // Flash and Flash-Lite (0, or 512 and up)
	if pro {
		lo, hi = 128, 32768
	}
	var b int
	if budget != nil {
		switch b = *budget; {
		case b == 0:
			b = lo
		case b < 0:
			b = -1
		default:
			b = min(max(b, 512), hi)
		}
	} else {
		switch effort {
		case "none":
			b = lo
		case "minimal":
			b = 512
		case "low":
			b = 1024
		case "medium":
			b = 8192
		case "high":
			b = 24576
		case "xhigh":
			b = hi
		default:
			return nil, errEffort(effort)
		}
	}
	// b is lo, the least the model takes, only when thinking was turned off.
	return &thinkingConfig{IncludeThoughts: b != lo, ThinkingBudget: &b}, nil
}

func errEffort(effort string) error {
	return lyumen.Errorf(lyumen.KindInvalid, "the reasoning effort '%s' cannot be sent to this model's provider", lyumen.Clip(effort))
}

// How a model's thinking is tuned, by its generation.
const (
	noThinking = iota // no thinkingConfig: the model does not think
	budgets           // thinkingBudget: Gemini 2.5
	levels            // thinkingLevel: Gemini 3 and later
)

// generation tells how model is tuned: "gemini-3-pro-preview" and
// "models/gemini-3.1-flash-lite" by level, "gemini-2.5-flash" by budget,
// and "gemini-2.0-flash", "gemma-3-27b-it" or "tunedModels/…" (tuned from
// models before 2.5) not at all. A name that says no version (an alias
// such as "gemini-flash-latest", or a name a compatible server gives) is
// tuned by budget, which Gemini 3 also takes.
func generation(model string) int {
	name, major, minor := version(model)
	switch {
	case strings.HasPrefix(model, "tunedModels/") || strings.HasPrefix(name, "gemma-"):
		return noThinking
	case major < 0:
		return budgets
	case major >= 3:
		return levels
	case major == 2 && minor >= 5:
		return budgets
	}
	return noThinking
}

// version reads a model's name (its path cut) and the Gemini version it
// names: "models/gemini-2.5-flash" is 2 and 5; major is -1 for a name
// that says none ("gemini-flash-latest", "gemma-3-27b-it").
func version(model string) (name string, major, minor int) {
	name = model[strings.LastIndexByte(model, '/')+1:]
	rest, ok := strings.CutPrefix(name, "gemini-")
	if !ok {
		return name, -1, -1
	}
	major, rest = leadingInt(rest)
	minor, _ = leadingInt(strings.TrimPrefix(rest, "."))
	return name, major, minor
}

// leadingInt reads the decimal number s starts with, -1 when none.
func leadingInt(s string) (int, string) {
	n, i := 0, 0
	for ; i < len(s) && '0' <= s[i] && s[i] <= '9' && n < 1000; i++ {
		n = n*10 + int(s[i]-'0')
	}
	if i == 0 {
		return -1, s
	}
	return n, s[i:]
}

// appendThinkingConfig appends tc as json.Marshal renders it.
func appendThinkingConfig(dst []byte, tc *thinkingConfig) []byte {
	dst = append(dst, '{')
	n := len(dst)
	if tc.IncludeThoughts {
		dst = append(dst, `"includeThoughts":true`...)
	}
	if tc.ThinkingBudget != nil {
		if len(dst) > n {
			dst = append(dst, ',')
		}
		dst = append(dst, `"thinkingBudget":`...)
		dst = strconv.AppendInt(dst, int64(*tc.ThinkingBudget), 10)
	}
	if tc.ThinkingLevel != "" {
		if len(dst) > n {
			dst = append(dst, ',')
		}
		dst = append(dst, `"thinkingLevel":`...)
		dst = jsontext.AppendString(dst, tc.ThinkingLevel)
	}
	return append(dst, '}')
}
