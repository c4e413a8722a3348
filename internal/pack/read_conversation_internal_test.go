package pack

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen"
)

// TestDecodeConversation_AgreesWithEncodingJSON decodes conversations and
// responses as marshal writes them, with text that needs escaping, and
// compares the messages and choices with encoding/json's.
func TestDecodeConversation_AgreesWithEncodingJSON(t *testing.T) {
	texts := []string{"", "plain text", "quote \" and back\\slash", "line\nbreak\ttab", "<b>&amp;</b>", "déjà vu 日本語 😀",
		"\u2028\u2029", "\x01control", "invalid \xff utf-8", "\\u0041", strings.Repeat("long ", 50)}
	r := rand.New(rand.NewPCG(3, 4))
	text := func() string { return texts[r.IntN(len(texts))] }
	for range 500 {
		var c lyumen.Conversation
		if r.IntN(10) > 0 {
			c.Messages = []lyumen.Message{}
		}
		for range r.IntN(5) {
			m := lyumen.Message{Role: []string{"system", "user", "assistant", "tool"}[r.IntN(4)], Content: text()}
			switch r.IntN(4) {
			case 0:
				m.Content = ""
				m.Parts = []lyumen.Part{{Type: lyumen.PartText, Text: text()}, {Type: lyumen.PartImage, URL: "https://x/" + text(), MediaType: "image/png", Data: text()}}
			case 1:
				m.ToolCalls = []lyumen.ToolCall{{Index: r.IntN(3), ID: "call_" + text(), Type: "function", Name: "f", Arguments: `{"a":"` + text() + `"}`}}
			case 2:
				m.ToolCallID, m.Name = "call_1", text()
			}
			c.Messages = append(c.Messages, m)
		}
		if r.IntN(2) == 0 {
			temp := 0.7
			c.Tools = []lyumen.Tool{{Name: "f", Description: text(), Parameters: json.RawMessage(`{"type":"object"}`)}}
			c.Temperature, c.MaxTokens, c.Stop = &temp, 100, []string{text()}
		}
		b, err := marshal(&c)
		if err != nil {
			t.Fatal(err)
		}
		var want, got lyumen.Conversation
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if !decodeConversation(b, &got) {
			t.Fatalf("decodeConversation failed on %s", b)
		}
		if diff := cmp.Diff(want.Messages, got.Messages); diff != "" {
			t.Fatalf("messages of %s differ (-encoding/json +decodeConversation):\n%s", b, diff)
		}

		resp := lyumen.Response{ID: "x", Model: "m", Usage: &lyumen.Usage{TotalTokens: 3}}
		switch r.IntN(4) {
		case 0:
			resp.Usage = nil
		case 1:
			resp.Usage.CachedTokens, resp.Usage.ReasoningTokens = r.IntN(100), r.IntN(100)
		}
		for i, m := range c.Messages[:min(len(c.Messages), r.IntN(3))] {
			resp.Choices = append(resp.Choices, lyumen.Choice{Index: i, FinishReason: "stop", Message: m})
		}
		if b, err = marshal(&resp); err != nil {
			t.Fatal(err)
		}
		var wantR, gotR lyumen.Response
		if err := json.Unmarshal(b, &wantR); err != nil {
			t.Fatal(err)
		}
		gotU := lyumen.Usage{CachedTokens: -1, ReasoningTokens: -1} // set, whatever it held
		if !decodeResponse(b, &gotR, &gotU) {
			t.Fatalf("decodeResponse failed on %s", b)
		}
		if diff := cmp.Diff(wantR.Choices, gotR.Choices); diff != "" {
			t.Fatalf("choices of %s differ (-encoding/json +decodeResponse):\n%s", b, diff)
		}
		var wantU lyumen.Usage
		if wantR.Usage != nil {
			wantU.CachedTokens, wantU.ReasoningTokens = wantR.Usage.CachedTokens, wantR.Usage.ReasoningTokens
		}
		if diff := cmp.Diff(wantU, gotU); diff != "" {
			t.Fatalf("usage counts of %s differ (-encoding/json +decodeResponse):\n%s", b, diff)
		}
	}
}

// TestDecodeResponse_UsageAllocatesNothing: reading the usage's counts, and
// so every object key the decoder reads, allocates nothing. Each key used
// cost an allocation (decoder.string's pointer escaped through its
// encoding/json fallback): one per key of every message, and, since the
// lean read walks the usage object for the cached and reasoning counts,
// one per key of that too.
func TestDecodeResponse_UsageAllocatesNothing(t *testing.T) {
	b := []byte(`{"choices":null,"usage":{"prompt_tokens":2006,"completion_tokens":300,"total_tokens":2306,"cached_tokens":1920,"reasoning_tokens":192}}`)
	var (
		r lyumen.Response
		u lyumen.Usage
	)
	if allocs := testing.AllocsPerRun(100, func() {
		if !decodeResponse(b, &r, &u) {
			t.Fatal("decodeResponse failed")
		}
	}); allocs != 0 {
		t.Errorf("decodeResponse: %v allocations, want 0", allocs)
	}
	if u.CachedTokens != 1920 || u.ReasoningTokens != 192 {
		t.Errorf("usage %+v, want cached 1920 and reasoning 192", u)
	}
	// A key with an escape jsonscan does not take still reads, by encoding/json.
	d := decoder{b: []byte(`{"\ud83d\ude00":1}`)}
	var keys []string
	if !d.object(func(key string) bool { keys = append(keys, key); return d.skip() }) || !slices.Equal(keys, []string{"😀"}) {
		t.Errorf("keys %q, want [😀]", keys)
	}
}
