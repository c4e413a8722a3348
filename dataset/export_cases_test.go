package dataset_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/anthropic"
	"github.com/lyumen/lyumen/dataset"
	"github.com/lyumen/lyumen/dataset/datasettest"
	"github.com/lyumen/lyumen/redact"
)

// Three different questions to an app with a long system prompt are three
// conversations: near-dedup took them for one, the shared prompt's
// shingles outweighing everything else.
func TestExport_SharedSystemPromptIsNoNearDuplicate(t *testing.T) {
	var sys strings.Builder
	for i := range 300 {
		fmt.Fprintf(&sys, "Rule %d: always answer politely and cite the company handbook section %d. ", i, i)
	}
	qs := []struct{ q, a string }{
		{"How do I reset my password on the portal?", "Click forgot password on the login page and follow the e-mailed link."},
		{"What are the opening hours of the Berlin office?", "The Berlin office is open from nine to five on weekdays."},
		{"Can I bring my dog to work on Fridays?", "Dogs are welcome on Fridays if they are registered with facilities."},
	}
	var src datasettest.Source
	for i, x := range qs {
		r := datasettest.Rec(fmt.Sprintf("01970000-0000-7000-8000-00000000000%d", i+1), i*60, x.a, x.q)
		r.Conversation.Messages = append([]lyumen.Message{{Role: "system", Content: sys.String()}}, r.Conversation.Messages...)
		src = append(src, r)
	}
	sink, st := export(t, src, dataset.Options{})
	if len(sink.exs) != 3 {
		t.Errorf("%d examples (%d near duplicates); want 3 distinct conversations", len(sink.exs), st.NearDuplicates)
	}
}

// A message of several text parts is exported with the parts kept apart:
// run together, PII at the end of one part ran into the next part's first
// word, and the detectors (which need a word boundary) missed it.
func TestExport_TextPartsKeptApart(t *testing.T) {
	red, err := redact.New(redact.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := datasettest.Rec("01970000-0000-7000-8000-000000000001", 0, "ok", "x")
	r.Conversation.Messages[0] = lyumen.Message{Role: "user", Parts: []lyumen.Part{
		{Type: lyumen.PartText, Text: "Refund card 4111 1111 1111 1111"},
		{Type: lyumen.PartText, Text: "Thanks, and call +1 415 555 2671 для всех"}, // ends in х, whose last byte is 0x85
		{Type: lyumen.PartText, Text: "Thanks"},
		{Type: lyumen.PartText, Text: "Bye"},
	}}
	sink, _ := export(t, datasettest.Source{r}, dataset.Options{Redactor: red})
	got := sink.exs[0].Messages[0].Content
	if strings.Contains(got, "всехThanks") {
		t.Errorf("exported %q: parts run together after a Cyrillic letter", got)
	}
	for _, pii := range []string{"4111 1111 1111 1111", "415 555 2671"} {
		if strings.Contains(got, pii) {
			t.Errorf("exported %q: %q left", got, pii)
		}
	}
}

// Anonymized tool-call arguments must stay JSON.
func TestExport_RedactedArgumentsStayJSON(t *testing.T) {
	red, err := redact.New(redact.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := datasettest.Rec("01970000-0000-7000-8000-000000000001", 0, "", "save my config")
	r.Response.Choices[0].Message.ToolCalls = []lyumen.ToolCall{{ID: "call_1", Name: "write_file",
		Arguments: `{"path":".env","content":"# keys\nA8fK2mQ9xL2pR7tW4vB8nCz5Yq1\n"}`}}
	sink, _ := export(t, datasettest.Source{r}, dataset.Options{Redactor: red})
	if a := sink.exs[0].Messages[1].ToolCalls[0].Arguments; !json.Valid([]byte(a)) {
		t.Errorf("exported arguments %s are not JSON", a)
	}
}

// Anthropic surface, streamed: the record's tool call arguments are the
// input_json_delta fragments as sent ({"city": "Paris"}), while the next
// turn's request has the same tool_use decoded compact ({"city":"Paris"}).
// The first turn is collapsed into the second all the same: the hashes
// differed, and the dataset held the conversation twice.
func TestExport_StreamedToolCallCollapses(t *testing.T) {
	var a lyumen.Assembler
	for _, frag := range []lyumen.ToolCall{
		{Index: 0, ID: "toolu_1", Type: "function", Name: "get_weather"},
		{Index: 0, Arguments: `{"city": "Pa`}, {Index: 0, Arguments: `ris"}`},
	} {
		a.Add(&lyumen.Event{Choices: []lyumen.ChoiceDelta{{ToolCalls: []lyumen.ToolCall{frag}}}})
	}
	req1, err := anthropic.DecodeMessages([]byte(`{"model":"m","max_tokens":100,"messages":[{"role":"user","content":"Weather in Paris?"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	r1 := &lyumen.Record{ID: "01970000-0000-7000-8000-000000000001", ReceivedAt: datasettest.T0,
		Surface: lyumen.SurfaceAnthropicMessages, Model: "m", Completeness: lyumen.Complete,
		Conversation: req1.Conversation(), Response: a.Response()}
	req2, err := anthropic.DecodeMessages([]byte(`{"model":"m","max_tokens":100,"messages":[` +
		`{"role":"user","content":"Weather in Paris?"},` +
		`{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city": "Paris"}}]},` +
		`{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"Sunny, 21 degrees"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	r2 := &lyumen.Record{ID: "01970000-0000-7000-8000-000000000002", ReceivedAt: datasettest.T0.Add(5 * time.Second),
		Surface: lyumen.SurfaceAnthropicMessages, Model: "m", Completeness: lyumen.Complete,
		Conversation: req2.Conversation(),
		Response:     &lyumen.Response{Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant", Content: "It is sunny in Paris."}}}}}
	sink, st := export(t, datasettest.Source{r1, r2}, dataset.Options{})
	if len(sink.exs) != 1 || st.Collapsed != 1 {
		t.Errorf("%d examples, %d collapsed; want the first turn collapsed into the second", len(sink.exs), st.Collapsed)
	}
}

// stats: a dimension with a single value under k must not let the total
// minus the cells shown be that value's exact count (for days, the missing
// date names it).
func TestAggregate_LoneSmallCellNotRecoverable(t *testing.T) {
	var src datasettest.Source
	n := 0
	for day, count := range []int{20, 3, 20} {
		for range count {
			n++
			src = append(src, datasettest.Rec(fmt.Sprintf("01970000-0000-7000-8000-%012d", n), day*24*60+n, "a", "q"))
		}
	}
	a, err := dataset.Aggregate(t.Context(), src, dataset.AggregateOptions{K: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range a.Tables {
		if tb.Dimension != "day" {
			continue
		}
		shown := int64(0)
		for _, r := range tb.Rows {
			if r.Value != dataset.Suppressed {
				shown += r.Count
			}
		}
		if a.Records-shown == 3 {
			t.Errorf("by day %+v, %d records in all: 2026-05-05 had exactly %d records (< k=10)", tb.Rows, a.Records, a.Records-shown)
		}
	}
}
