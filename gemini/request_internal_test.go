package gemini

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen/internal/jsontext"
)

// TestAppendRequest checks the fast rendering of a text conversation
// against encoding/json's, and that it leaves other shapes to it.
func TestAppendRequest(t *testing.T) {
	temp, topP, topK, seed, budget, off, pres, freq := 0.2, 1e-7, 40, int64(-3), -1, 0, 1.5, -0.125
	for _, s := range jsontext.Strings {
		for _, b := range []request{
			{Contents: []content{{Role: "user", Parts: []part{{Text: s}, {Text: "q"}}}, {Role: "model", Parts: []part{{Text: "a" + s}}}},
				SystemInstruction: &content{Parts: []part{{Text: s}}}},
			{Contents: []content{{Role: "user", Parts: []part{{}}}, {Parts: nil}}, GenerationConfig: &generationConfig{MaxOutputTokens: 256,
				Temperature: &temp, TopP: &topP, TopK: &topK, StopSequences: []string{s, "\n"}, CandidateCount: 2, Seed: &seed, PresencePenalty: &pres, FrequencyPenalty: &freq,
				ResponseMimeType: "application/json"}},
			{Contents: []content{}, GenerationConfig: &generationConfig{FrequencyPenalty: &freq}},
			{Contents: []content{}, GenerationConfig: &generationConfig{Seed: &seed}},
			{Contents: []content{}, GenerationConfig: &generationConfig{MaxOutputTokens: 9, ThinkingConfig: &thinkingConfig{IncludeThoughts: true, ThinkingBudget: &budget}}},
			{Contents: []content{}, GenerationConfig: &generationConfig{ThinkingConfig: &thinkingConfig{ThinkingBudget: &off}}},
			{Contents: []content{}, GenerationConfig: &generationConfig{ThinkingConfig: &thinkingConfig{IncludeThoughts: true, ThinkingLevel: s}}},
			{Contents: []content{}, GenerationConfig: &generationConfig{ThinkingConfig: &thinkingConfig{}}},
			{GenerationConfig: &generationConfig{}},
		} {
			want, err := json.Marshal(b)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := appendRequest(nil, &b)
			if !ok {
				t.Fatalf("%+v: not taken by the fast path", b)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("(-json +fast):\n%s", diff)
			}
		}
	}
	for _, b := range []request{
		{Tools: []tool{{}}},
		{ToolConfig: &toolConfig{}},
		{GenerationConfig: &generationConfig{ResponseJSONSchema: json.RawMessage(`{}`)}},
		{Contents: []content{{Parts: []part{{InlineData: &blob{}}}}}},
		{Contents: []content{{Parts: []part{{FunctionCall: &functionCall{}}}}}},
		{SystemInstruction: &content{Parts: []part{{FunctionResponse: &functionResponse{}}}}},
		{Contents: []content{{Parts: []part{{Text: "a", ThoughtSignature: "s"}}}}},
	} {
		if _, ok := appendRequest(nil, &b); ok {
			t.Errorf("%+v taken by the fast path", b)
		}
	}
}

func TestTakesPenalties(t *testing.T) {
	for model, want := range map[string]bool{
		"gemini-2.0-flash": true, "gemini-2.0-flash-lite-001": true, "models/gemini-1.5-pro-002": true,
		"gemini-2.5-flash": false, "gemini-2.5-pro": false, "gemini-3-pro-preview": false, "gemini-3.1-flash": false,
		"gemini-flash-latest": false, "gemma-3-27b-it": false, "tunedModels/my-model": false, "": false, "gemini-": false,
	} {
		if got := takesPenalties(model); got != want {
			t.Errorf("takesPenalties(%q) = %v, want %v", model, got, want)
		}
	}
}
