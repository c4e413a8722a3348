package dataset_test

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/dataset"
	"github.com/lyumen/lyumen/dataset/datasettest"
	"github.com/lyumen/lyumen/redact"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestExport_Canary: no planted value appears in any file of any format.
func TestExport_Canary(t *testing.T) {
	r := newRedactor(t)
	for _, f := range []dataset.Format{dataset.OpenAI, dataset.ShareGPT} {
		t.Run(string(f), func(t *testing.T) {
			dir := t.TempDir()
			sink, err := dataset.NewJSONL(dir, f, 0)
			if err != nil {
				t.Fatal(err)
			}
			st, err := dataset.Export(t.Context(), datasettest.Source(datasettest.CanaryRecords()), sink, dataset.Options{Redactor: r})
			if err != nil {
				t.Fatal(err)
			}
			if err := dataset.WriteFiles(dir, dataset.Card{Format: f}, st); err != nil {
				t.Fatal(err)
			}
			if st.Examples != 1 {
				t.Errorf("exported %d examples, want the one leaf", st.Examples)
			}
			leaked := datasettest.Leaks(t, dir, datasettest.Canaries)
			if len(leaked) > 0 {
				t.Errorf("%d of %d planted values leaked: %q", len(leaked), len(datasettest.Canaries), leaked)
			}
		})
	}
}

// TestJSONL_OpenAIFormat validates every line against OpenAI's chat
// fine-tuning format: an object with only "messages"; each message has a
// known role, string content (absent only on an assistant message with
// tool calls), no unknown keys; tool calls are {id, type: function,
// function: {name, arguments}}; the last message is the assistant's.
func TestJSONL_OpenAIFormat(t *testing.T) {
	dir := t.TempDir()
	sink, err := dataset.NewJSONL(dir, dataset.OpenAI, 0)
	if err != nil {
		t.Fatal(err)
	}
	recs := append(datasettest.CanaryRecords(), datasettest.Rec("00000000-0000-7000-8000-000000000009", 9, "fine", "how are you?"))
	img := datasettest.Rec("00000000-0000-7000-8000-00000000000a", 10, "a cat", "x")
	img.Conversation.Messages[0] = lyumen.Message{Role: "user", Parts: []lyumen.Part{{Type: lyumen.PartText, Text: "what is this?"}, {Type: lyumen.PartImage, URL: "https://e.org/c.png"}}}
	recs = append(recs, img)
	if _, err := dataset.Export(t.Context(), datasettest.Source(recs), sink, dataset.Options{Redactor: newRedactor(t)}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "data", "train-*-of-*.jsonl"))
	if len(files) != 1 {
		t.Fatalf("files %v, want one train shard", files)
	}
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	lines := 0
	for sc.Scan() {
		lines++
		if err := validateOpenAILine(sc.Bytes()); err != nil {
			t.Errorf("line %d: %v\n%s", lines, err, sc.Bytes())
		}
	}
	if lines != 3 {
		t.Errorf("%d lines, want 3", lines)
	}
}

func validateOpenAILine(line []byte) error {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(line, &top); err != nil {
		return err
	}
	if len(top) != 1 || top["messages"] == nil {
		return fmt.Errorf("keys %v, want only messages", slices.Collect(mapKeys(top)))
	}
	var msgs []map[string]json.RawMessage
	if err := json.Unmarshal(top["messages"], &msgs); err != nil {
		return fmt.Errorf("messages: %w", err)
	}
	if len(msgs) == 0 {
		return fmt.Errorf("no messages")
	}
	for i, m := range msgs {
		var role string
		if err := json.Unmarshal(m["role"], &role); err != nil {
			return fmt.Errorf("message %d: role: %w", i, err)
		}
		if !slices.Contains([]string{"system", "user", "assistant", "tool"}, role) {
			return fmt.Errorf("message %d: role %q", i, role)
		}
		for k := range m {
			if !slices.Contains([]string{"role", "content", "name", "tool_calls", "tool_call_id", "weight"}, k) {
				return fmt.Errorf("message %d: unknown key %q", i, k)
			}
		}
		if c, ok := m["content"]; ok {
			var s string
			if err := json.Unmarshal(c, &s); err != nil {
				return fmt.Errorf("message %d: content is not a string", i)
			}
		} else if role != "assistant" || m["tool_calls"] == nil {
			return fmt.Errorf("message %d: no content", i)
		}
		if tc, ok := m["tool_calls"]; ok {
			var calls []struct {
				ID       string `json:"id"`
				Type     string `json:"type"`
				Function *struct {
					Name      string `json:"name"`
					Arguments string `json:"arguments"`
				} `json:"function"`
			}
			if err := json.Unmarshal(tc, &calls); err != nil || len(calls) == 0 {
				return fmt.Errorf("message %d: tool_calls: %v", i, err)
			}
			for _, c := range calls {
				if c.Type != "function" || c.Function == nil || c.Function.Name == "" || !json.Valid([]byte(c.Function.Arguments)) {
					return fmt.Errorf("message %d: bad tool call %+v", i, c)
				}
			}
		}
		if role == "tool" && m["tool_call_id"] == nil {
			return fmt.Errorf("message %d: tool message without tool_call_id", i)
		}
	}
	var last string
	json.Unmarshal(msgs[len(msgs)-1]["role"], &last)
	if last != "assistant" {
		return fmt.Errorf("last message is %q, want assistant", last)
	}
	return nil
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestCardText is a golden test of the dataset card.
func TestCardText(t *testing.T) {
	var recs []*lyumen.Record
	for i := range 30 {
		r := datasettest.Rec(fmt.Sprintf("r%02d", i), i*60, fmt.Sprintf("Answer number %d, which is long enough to be a real answer.", i),
			fmt.Sprintf("Please explain topic number %d to me in simple words, with one example.", i))
		if i%3 == 0 {
			r.Model = "other-model"
		}
		recs = append(recs, r)
	}
	recs[0].Conversation.Messages[0].Content += " Mail me: someone@example.org"
	_, st := export(t, recs, dataset.Options{Redactor: newRedactor(t), TestFraction: 0.2, Seed: 7})
	st.Duration = 0
	got := dataset.CardText(dataset.Card{Format: dataset.Parquet, License: "cc-by-4.0"}, st)
	golden := filepath.Join("testdata", "card.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("card differs from %s (-want +got); rerun with -update if intended:\n%s", golden, diff)
	}
	if !strings.HasPrefix(got, "---\nlicense: cc-by-4.0\n") || !strings.Contains(got, "size_categories:\n- n<1K\n") {
		t.Errorf("front matter:\n%s", got[:200])
	}
}

// TestCardText_SafeguardsOff: an export made with the privacy page's
// safeguards turned off (no redaction, kinds kept, no country suppression)
// says so first, and names the kinds left as written.
func TestCardText_SafeguardsOff(t *testing.T) {
	recs := []*lyumen.Record{datasettest.Rec("r1", 0, "An answer long enough to be a real answer.", "A question long enough to be kept, please?")}
	var kinds []redact.Kind
	for _, k := range redact.Kinds() {
		if k != redact.Email {
			kinds = append(kinds, k)
		}
	}
	keepEmail, err := redact.New(redact.Options{Kinds: kinds})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		o    dataset.Options
		want []string
	}{
		{"every safeguard", dataset.Options{Redactor: newRedactor(t)}, nil},
		{"no redaction", dataset.Options{}, []string{"**Not for release.**", "not anonymized"}},
		{"a kind kept", dataset.Options{Redactor: keepEmail}, []string{"**Not for release.**", "some personal data kept (EMAIL)", "Left as written in this export: EMAIL."}},
		{"no country suppression", dataset.Options{Redactor: newRedactor(t), K: 1}, []string{"**Not for release.**", "every country kept"}},
	} {
		_, st := export(t, recs, tc.o)
		got := dataset.CardText(dataset.Card{Format: dataset.ShareGPT}, st)
		if tc.want == nil && strings.Contains(got, "Not for release") {
			t.Errorf("%s: the card says not for release:\n%s", tc.name, got)
		}
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: the card lacks %q:\n%s", tc.name, w, got)
			}
		}
	}
}

// TestCardText_SaysWhatTheExportHas: the card describes the files written
// with their options: an empty export lists no data files (an empty
// list is YAML's null, which the Hugging Face Hub refuses), OpenAI's
// format gets no table of metadata it does not carry, and an export not
// anonymized does not claim participants' names are dropped.
func TestCardText_SaysWhatTheExportHas(t *testing.T) {
	recs := []*lyumen.Record{datasettest.Rec("r1", 0, "An answer long enough to be a real answer.", "A question long enough to be kept, please?")}
	_, empty := export(t, nil, dataset.Options{Redactor: newRedactor(t)})
	_, anon := export(t, recs, dataset.Options{Redactor: newRedactor(t)})
	_, plain := export(t, recs, dataset.Options{})
	for _, tc := range []struct {
		name      string
		format    dataset.Format
		st        *dataset.Stats
		want, not []string
	}{
		{"empty", dataset.Parquet, empty, nil, []string{"data_files:"}},
		{"openai", dataset.OpenAI, anon, []string{"data_files:"}, []string{"| field | meaning |"}},
		{"sharegpt", dataset.ShareGPT, anon, []string{"| field | meaning |"}, nil},
		{"parquet, anonymized", dataset.Parquet, anon, []string{"name, is dropped"}, nil},
		{"parquet, not anonymized", dataset.Parquet, plain, []string{"as the client sent it"}, []string{"name, is dropped"}},
	} {
		got := dataset.CardText(dataset.Card{Format: tc.format}, tc.st)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: the card lacks %q:\n%s", tc.name, w, got)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(got, n) {
				t.Errorf("%s: the card has %q:\n%s", tc.name, n, got)
			}
		}
	}
}

// reasoningSink keeps what it is given, and writes reasoning when told to.
type reasoningSink struct {
	writes bool
	got    []*dataset.Example
}

func (s *reasoningSink) Write(ex *dataset.Example) error { s.got = append(s.got, ex); return nil }
func (s *reasoningSink) Close() error                    { return nil }
func (s *reasoningSink) WritesReasoning() bool           { return s.writes }

// TestExport_ReasoningOnlyWhereWritten: a sink without a place for a
// model's reasoning (the JSONL formats) gets examples without it, and the
// redactions it would have needed are not counted; one with a place gets
// it anonymized.
func TestExport_ReasoningOnlyWhereWritten(t *testing.T) {
	rec := datasettest.Rec("00000000-0000-7000-8000-000000000001", 0, "Four.", "What is 2+2?")
	rec.Response.Choices[0].Message.Reasoning = "The user, jane.doe@example.com, asks a sum."
	for _, writes := range []bool{false, true} {
		sink := &reasoningSink{writes: writes}
		st, err := dataset.Export(t.Context(), datasettest.Source([]*lyumen.Record{rec}), sink, dataset.Options{Redactor: newRedactor(t)})
		if err != nil {
			t.Fatal(err)
		}
		if len(sink.got) != 1 {
			t.Fatalf("%d examples", len(sink.got))
		}
		got := sink.got[0].Messages[len(sink.got[0].Messages)-1].Reasoning
		switch {
		case !writes && (got != "" || st.Redactions["EMAIL"] != 0):
			t.Errorf("a sink without reasoning got %q, and %d e-mails counted", got, st.Redactions["EMAIL"])
		case writes && (strings.Contains(got, "jane.doe") || !strings.Contains(got, "[EMAIL_1]") || st.Redactions["EMAIL"] != 1):
			t.Errorf("a sink with reasoning got %q, %d e-mails counted; want it anonymized and counted", got, st.Redactions["EMAIL"])
		}
	}
}

// TestExport_NoUserNames: the name a client gave a user message (a
// participant's, often a person's) is not exported; a tool's is.
func TestExport_NoUserNames(t *testing.T) {
	rec := datasettest.Rec("00000000-0000-7000-8000-000000000001", 0, "Four.", "What is 2+2?")
	rec.Conversation.Messages[0].Name = "jane_doe"
	rec.Conversation.Messages = append(rec.Conversation.Messages, lyumen.Message{Role: "tool", Name: "calculator", Content: "4", ToolCallID: "c1"})
	sink := &reasoningSink{}
	if _, err := dataset.Export(t.Context(), datasettest.Source([]*lyumen.Record{rec}), sink, dataset.Options{Redactor: newRedactor(t)}); err != nil {
		t.Fatal(err)
	}
	if len(sink.got) != 1 {
		t.Fatalf("%d examples", len(sink.got))
	}
	for _, m := range sink.got[0].Messages {
		if m.Name == "jane_doe" {
			t.Errorf("a user's name was exported: %+v", m)
		}
		if m.Role == "tool" && m.Name != "calculator" {
			t.Errorf("a tool's name was dropped: %+v", m)
		}
	}
}
