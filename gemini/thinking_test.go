package gemini_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/gemini"
)

// TestEncodeRequest_Thinking checks how the reasoning a client asked for,
// an OpenAI effort or an Anthropic budget, becomes
// generationConfig.thinkingConfig, model by model: a budget for Gemini 2.5,
// a level for Gemini 3, nothing at all when nothing was asked (the model's
// default stands) or the model does not think.
func TestEncodeRequest_Thinking(t *testing.T) {
	tests := []struct {
		name   string
		model  string
		effort string
		budget *int
		want   string // the thinkingConfig sent; "" for none
	}{
		{name: "nothing asked", model: "gemini-2.5-flash"},
		{name: "nothing asked of Gemini 3", model: "gemini-3-pro-preview"},

		{name: "2.5 none turns thinking off", model: "gemini-2.5-flash", effort: "none", want: `{"thinkingBudget":0}`},
		{name: "2.5 Pro none is its least", model: "gemini-2.5-pro", effort: "none", want: `{"thinkingBudget":128}`},
		{name: "2.5 minimal", model: "gemini-2.5-flash-lite", effort: "minimal", want: `{"includeThoughts":true,"thinkingBudget":512}`},
		{name: "2.5 low", model: "gemini-2.5-flash", effort: "low", want: `{"includeThoughts":true,"thinkingBudget":1024}`},
		{name: "2.5 medium", model: "models/gemini-2.5-pro", effort: "medium", want: `{"includeThoughts":true,"thinkingBudget":8192}`},
		{name: "2.5 high", model: "gemini-2.5-flash", effort: "high", want: `{"includeThoughts":true,"thinkingBudget":24576}`},
		{name: "2.5 xhigh is Flash's most", model: "gemini-2.5-flash", effort: "xhigh", want: `{"includeThoughts":true,"thinkingBudget":24576}`},
		{name: "2.5 Pro xhigh is its most", model: "gemini-2.5-pro", effort: "xhigh", want: `{"includeThoughts":true,"thinkingBudget":32768}`},
		{name: "alias without a version takes a budget", model: "gemini-flash-latest", effort: "low", want: `{"includeThoughts":true,"thinkingBudget":1024}`},
		{name: "a name of a compatible server takes a budget", model: "my-reasoner", effort: "high", want: `{"includeThoughts":true,"thinkingBudget":24576}`},

		{name: "3 Flash none is minimal", model: "gemini-3-flash-preview", effort: "none", want: `{"thinkingLevel":"minimal"}`},
		{name: "3 Pro none is low, its least", model: "gemini-3-pro-preview", effort: "none", want: `{"thinkingLevel":"low"}`},
		{name: "3 Flash minimal", model: "gemini-3-flash-preview", effort: "minimal", want: `{"includeThoughts":true,"thinkingLevel":"minimal"}`},
		{name: "3.1 Pro minimal is low", model: "gemini-3.1-pro-preview", effort: "minimal", want: `{"includeThoughts":true,"thinkingLevel":"low"}`},
		{name: "3 low", model: "gemini-3-pro-preview", effort: "low", want: `{"includeThoughts":true,"thinkingLevel":"low"}`},
		{name: "3 Flash medium", model: "gemini-3-flash-preview", effort: "medium", want: `{"includeThoughts":true,"thinkingLevel":"medium"}`},
		{name: "3.1 Pro medium", model: "gemini-3.1-pro-preview", effort: "medium", want: `{"includeThoughts":true,"thinkingLevel":"medium"}`},
		{name: "3 Pro medium is high: it has low and high only", model: "gemini-3-pro-preview", effort: "medium", want: `{"includeThoughts":true,"thinkingLevel":"high"}`},
		{name: "3 high", model: "gemini-3.1-flash-lite-preview", effort: "high", want: `{"includeThoughts":true,"thinkingLevel":"high"}`},
		{name: "3 xhigh is high", model: "gemini-3-flash-preview", effort: "xhigh", want: `{"includeThoughts":true,"thinkingLevel":"high"}`},
		{name: "a later generation takes a level", model: "gemini-4-flash", effort: "low", want: `{"includeThoughts":true,"thinkingLevel":"low"}`},

		{name: "2.5 thinking disabled", model: "gemini-2.5-flash", budget: ptr(0), want: `{"thinkingBudget":0}`},
		{name: "2.5 Pro thinking disabled is its least", model: "gemini-2.5-pro", budget: ptr(0), want: `{"thinkingBudget":128}`},
		{name: "2.5 budget", model: "gemini-2.5-flash", budget: ptr(10000), want: `{"includeThoughts":true,"thinkingBudget":10000}`},
		{name: "2.5 budget above Flash's most", model: "gemini-2.5-flash-lite", budget: ptr(31999), want: `{"includeThoughts":true,"thinkingBudget":24576}`},
		{name: "2.5 Pro budget above its most", model: "gemini-2.5-pro", budget: ptr(63999), want: `{"includeThoughts":true,"thinkingBudget":32768}`},
		{name: "2.5 budget below Flash-Lite's least", model: "gemini-2.5-flash-lite", budget: ptr(100), want: `{"includeThoughts":true,"thinkingBudget":512}`},
		{name: "2.5 adaptive is dynamic", model: "gemini-2.5-pro", budget: ptr(-1), want: `{"includeThoughts":true,"thinkingBudget":-1}`},
		{name: "a budget wins over an effort", model: "gemini-2.5-flash", effort: "high", budget: ptr(2048), want: `{"includeThoughts":true,"thinkingBudget":2048}`},

		{name: "3 thinking disabled is minimal", model: "gemini-3-flash-preview", budget: ptr(0), want: `{"thinkingLevel":"minimal"}`},
		{name: "3 Pro thinking disabled is low", model: "gemini-3-pro-preview", budget: ptr(0), want: `{"thinkingLevel":"low"}`},
		{name: "3 budget up to low's", model: "gemini-3-flash-preview", budget: ptr(1024), want: `{"includeThoughts":true,"thinkingLevel":"low"}`},
		{name: "3 budget up to medium's", model: "gemini-3-flash-preview", budget: ptr(8192), want: `{"includeThoughts":true,"thinkingLevel":"medium"}`},
		{name: "3 Pro budget up to medium's is high", model: "gemini-3-pro-preview", budget: ptr(4000), want: `{"includeThoughts":true,"thinkingLevel":"high"}`},
		{name: "3 budget above medium's", model: "gemini-3.1-pro-preview", budget: ptr(8193), want: `{"includeThoughts":true,"thinkingLevel":"high"}`},
		{name: "3 adaptive is the model's default", model: "gemini-3-pro-preview", budget: ptr(-1), want: `{"includeThoughts":true}`},

		{name: "2.0 does not think", model: "gemini-2.0-flash", effort: "high"},
		{name: "2.0 does not think, whatever the budget", model: "gemini-2.0-flash", budget: ptr(0)},
		{name: "1.5 does not think", model: "gemini-1.5-pro", effort: "high"},
		{name: "Gemma does not think", model: "models/gemma-3-27b-it", effort: "high"},
		{name: "a tuned model is left as it is", model: "tunedModels/my-model-abc123", effort: "high"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := lyumen.Request{Model: tc.model, ReasoningEffort: tc.effort, ReasoningBudget: tc.budget, Messages: []lyumen.Message{{Role: "user", Content: "Why?"}}}
			body, err := gemini.EncodeRequest(&req)
			if err != nil {
				t.Fatal(err)
			}
			var sent struct {
				GenerationConfig struct {
					ThinkingConfig json.RawMessage `json:"thinkingConfig"`
				} `json:"generationConfig"`
			}
			if err := json.Unmarshal(body, &sent); err != nil {
				t.Fatal(err)
			}
			if got := string(sent.GenerationConfig.ThinkingConfig); got != tc.want {
				t.Errorf("thinkingConfig %s, want %s; body %s", got, tc.want, body)
			}
		})
	}
}

// TestEncodeRequest_UnknownEffort: an effort with no counterpart is refused,
// quoting the client's value cut as every quoted value is (lyumen.Clip): a
// 60 KB effort must not make a 60 KB error.
func TestEncodeRequest_UnknownEffort(t *testing.T) {
	huge := strings.Repeat("x", 60<<10)
	for _, model := range []string{"gemini-2.5-flash", "gemini-3-flash-preview"} {
		t.Run(model, func(t *testing.T) {
			req := lyumen.Request{Model: model, ReasoningEffort: huge, Messages: []lyumen.Message{{Role: "user", Content: "Why?"}}}
			_, err := gemini.EncodeRequest(&req)
			e, ok := errors.AsType[*lyumen.Error](err)
			if !ok || e.Kind != lyumen.KindInvalid {
				t.Fatalf("err %v, want a KindInvalid *lyumen.Error", err)
			}
			if len(e.Message) > 1024 || !strings.Contains(e.Message, "x…") {
				t.Errorf("message of %d bytes: %.120s…; want the effort cut, at most 1 KB", len(e.Message), e.Message)
			}
		})
	}
}
