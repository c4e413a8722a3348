package pack

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/jsontext"
)

// marshal is how the layout rendered the conversation and the answer
// before appendConversation and appendResponse: encoding/json, without
// escaping <, > and &.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// checkJSON fails t unless the hand-written renderings of c, r and a are
// encoding/json's.
func checkJSON(t *testing.T, c *lyumen.Conversation, r *lyumen.Response, a []lyumen.Attempt) {
	t.Helper()
	want, err := marshal(c)
	got := appendConversation([]byte("x"), c)
	switch {
	case err != nil && !json.Valid(got[1:]): // encoding/json fails: valid JSON all the same
		t.Errorf("conversation: %s is not JSON", got[1:])
	case err == nil && string(got) != "x"+string(want):
		t.Errorf("conversation:\n got %s\nwant x%s", got, want)
	}
	if want, err := marshal(r); err != nil {
		t.Fatal(err)
	} else if got := appendResponse([]byte("x"), r); string(got) != "x"+string(want) {
		t.Errorf("response:\n got %s\nwant x%s", got, want)
	}
	if want, err := json.Marshal(a); err != nil {
		t.Fatal(err)
	} else if got := appendAttempts([]byte("x"), a); a != nil && string(got) != "x"+string(want) {
		t.Errorf("attempts:\n got %s\nwant x%s", got, want)
	}
}

func TestJSON_AsEncodingJSON(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	full := func(s string) (*lyumen.Conversation, *lyumen.Response, []lyumen.Attempt) {
		m := lyumen.Message{Role: s, Content: s, ToolCallID: s, Name: s, Reasoning: s, Refusal: s,
			Parts:     []lyumen.Part{{Type: s, Text: s, URL: s, MediaType: s, Data: s}, {Type: lyumen.PartText}},
			ToolCalls: []lyumen.ToolCall{{Index: 3, ID: s, Type: s, Name: s, Arguments: s}, {}}}
		c := &lyumen.Conversation{Messages: []lyumen.Message{m, {}},
			Tools:      []lyumen.Tool{{Name: s, Description: s, Parameters: json.RawMessage(" {\"a\" : [1, \"<&>\"] }\n")}, {}},
			ToolChoice: &lyumen.ToolChoice{Mode: s, Name: s}, MaxTokens: -7, Temperature: f(0.7), TopP: f(1e-7),
			FrequencyPenalty: f(-2), PresencePenalty: f(1e21), Stop: []string{s, ""}}
		r := &lyumen.Response{ID: s, Model: s, Choices: []lyumen.Choice{{Index: 1, Message: m, FinishReason: s}, {}},
			Usage: &lyumen.Usage{PromptTokens: 1, CompletionTokens: -2, TotalTokens: 3, CachedTokens: 4, ReasoningTokens: -5}}
		a := []lyumen.Attempt{{Provider: s, Model: s, Status: 502, Error: s, Duration: 1500 * time.Millisecond}, {}}
		return c, r, a
	}
	for _, s := range jsontext.Strings {
		c, r, a := full(s)
		checkJSON(t, c, r, a)
	}
	checkJSON(t, &lyumen.Conversation{}, &lyumen.Response{}, nil)
	checkJSON(t, &lyumen.Conversation{}, &lyumen.Response{Usage: &lyumen.Usage{PromptTokens: 1}}, nil)
	checkJSON(t, &lyumen.Conversation{}, &lyumen.Response{Usage: &lyumen.Usage{ReasoningTokens: 1}}, nil)
	checkJSON(t, &lyumen.Conversation{Messages: []lyumen.Message{}, Tools: []lyumen.Tool{}, Stop: []string{}},
		&lyumen.Response{Choices: []lyumen.Choice{}}, []lyumen.Attempt{})
	// What encoding/json cannot render still renders, as valid JSON.
	for bad, want := range map[*lyumen.Conversation]string{
		{Temperature: f(math.NaN()), TopP: f(0.5)}:                                `{"messages":null,"top_p":0.5}`,
		{TopP: f(math.Inf(1))}:                                                    `{"messages":null}`,
		{FrequencyPenalty: f(math.NaN()), PresencePenalty: f(0)}:                  `{"messages":null,"presence_penalty":0}`,
		{Tools: []lyumen.Tool{{Name: "t", Parameters: json.RawMessage(`{"a":`)}}}: `{"messages":null,"tools":[{"name":"t","parameters":"{\"a\":"}]}`,
	} {
		if got := appendConversation(nil, bad); string(got) != want {
			t.Errorf("%+v: %s, want %s", bad, got, want)
		}
	}
}

// FuzzJSON checks the renderings against encoding/json for any strings,
// numbers and tool parameters.
func FuzzJSON(f *testing.F) {
	for _, s := range jsontext.Strings {
		f.Add(s, "x", 0.5, 3, `{"type":"object"}`)
	}
	f.Add("a", "", 1e21, -1, ` [ 1 , 2 ] `)
	f.Fuzz(func(t *testing.T, s, s2 string, temp float64, n int, params string) {
		if math.IsInf(temp, 0) || math.IsNaN(temp) {
			temp = 0
		}
		c := &lyumen.Conversation{
			Messages:   []lyumen.Message{{Role: s, Content: s2, Parts: []lyumen.Part{{Type: s2, Text: s}}}},
			Tools:      []lyumen.Tool{{Name: s, Description: s2, Parameters: json.RawMessage(params)}},
			ToolChoice: &lyumen.ToolChoice{Mode: s2}, MaxTokens: n, Temperature: &temp, PresencePenalty: &temp, Stop: []string{s2},
		}
		r := &lyumen.Response{ID: s2, Choices: []lyumen.Choice{{Index: n, Message: lyumen.Message{Role: s, Content: s2, Reasoning: s, Refusal: s2,
			ToolCalls: []lyumen.ToolCall{{Index: n, Name: s, Arguments: s2}}}, FinishReason: s}},
			Usage: &lyumen.Usage{PromptTokens: n, CachedTokens: n / 2, ReasoningTokens: -n}}
		checkJSON(t, c, r, []lyumen.Attempt{{Provider: s, Model: s2, Status: n, Error: s2, Duration: time.Duration(n)}})
	})
}
