package lyumen_test

import (
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen"
)

func TestAssembler(t *testing.T) {
	events := []lyumen.Event{
		{ID: "c1", Model: "m", Choices: []lyumen.ChoiceDelta{{Index: 0, Role: "assistant"}, {Index: 1, Role: "assistant"}}},
		{Choices: []lyumen.ChoiceDelta{{Index: 1, Content: "Hel"}, {Index: 0, ToolCalls: []lyumen.ToolCall{{Index: 0, ID: "t1", Type: "function", Name: "get", Arguments: `{"a"`}}}}},
		{Choices: []lyumen.ChoiceDelta{{Index: 1, Content: "lo"}, {Index: 0, ToolCalls: []lyumen.ToolCall{{Index: 0, Arguments: `:1}`}, {Index: 1, ID: "t2", Name: "put", Arguments: "{}"}}}}},
		{Choices: []lyumen.ChoiceDelta{{Index: 0, FinishReason: "tool_calls"}, {Index: 1, FinishReason: "stop"}}},
		{Usage: &lyumen.Usage{PromptTokens: 1, CompletionTokens: 2, TotalTokens: 3}},
	}
	var a lyumen.Assembler
	for i := range events {
		a.Add(&events[i])
	}
	want := &lyumen.Response{ID: "c1", Model: "m", Usage: &lyumen.Usage{PromptTokens: 1, CompletionTokens: 2, TotalTokens: 3},
		Choices: []lyumen.Choice{
			{Index: 0, FinishReason: "tool_calls", Message: lyumen.Message{Role: "assistant", ToolCalls: []lyumen.ToolCall{
				{Index: 0, ID: "t1", Type: "function", Name: "get", Arguments: `{"a":1}`}, {Index: 1, ID: "t2", Name: "put", Arguments: "{}"}}}},
			{Index: 1, FinishReason: "stop", Message: lyumen.Message{Role: "assistant", Content: "Hello"}},
		}}
	if diff := cmp.Diff(want, a.Response()); diff != "" {
		t.Errorf("assembled (-want +got):\n%s", diff)
	}
	// Response is a snapshot: more events do not change it.
	got := a.Response()
	a.Add(&lyumen.Event{Choices: []lyumen.ChoiceDelta{{Index: 1, Content: "!"}}})
	if got.Choices[1].Message.Content != "Hello" || a.Response().Choices[1].Message.Content != "Hello!" {
		t.Error("Response is not a snapshot")
	}
}

// TestAssembler_LongArguments: a tool call's arguments streamed a few
// bytes at a time are gathered in time and memory linear in their length
// (+= on the string copied the whole at every fragment: 400 MB for these
// 80 KB), and Size counts them.
func TestAssembler_LongArguments(t *testing.T) {
	const frags, frag = 10_000, `"abcdef",`
	var a lyumen.Assembler
	ev := lyumen.Event{Choices: []lyumen.ChoiceDelta{{ToolCalls: []lyumen.ToolCall{{Index: 0, Name: "write", Arguments: "["}}}}}
	a.Add(&ev)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range frags {
		ev := lyumen.Event{Choices: []lyumen.ChoiceDelta{{Content: "x", ToolCalls: []lyumen.ToolCall{{Index: 0, Arguments: frag}}}}}
		a.Add(&ev)
	}
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 8<<20 {
		t.Errorf("gathering %d bytes of arguments allocated %d bytes", frags*len(frag), n)
	}
	if want := len("write") + 1 + frags*(len(frag)+1); a.Size() != want {
		t.Errorf("Size() = %d, want %d", a.Size(), want)
	}
	c := a.Response().Choices[0]
	if args := c.Message.ToolCalls[0].Arguments; len(args) != 1+frags*len(frag) || args[:10] != `["abcdef",` {
		t.Errorf("arguments: %d bytes, %.10q…", len(args), args)
	}
	if len(c.Message.Content) != frags {
		t.Errorf("content: %d bytes, want %d", len(c.Message.Content), frags)
	}
}
