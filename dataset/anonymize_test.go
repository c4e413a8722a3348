package dataset_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/dataset"
	"github.com/lyumen/lyumen/dataset/datasettest"
)

// TestExport_RedactsEveryPlace plants an e-mail address in one place of a
// conversation at a time (each role's text, a tool call's arguments, a
// model's reasoning) and checks that the example has the placeholder, not
// the address, and that it is counted.
func TestExport_RedactsEveryPlace(t *testing.T) {
	const mail = "planted.person@example-mail.org"
	for _, tc := range []struct {
		name  string
		plant func(r *lyumen.Record)
		// where the placeholder must be, in the example's messages
		got func(msgs []dataset.Message) string
	}{
		{"system prompt", func(r *lyumen.Record) {
			r.Conversation.Messages = append([]lyumen.Message{{Role: "system", Content: "Escalate to " + mail + "."}}, r.Conversation.Messages...)
		}, func(msgs []dataset.Message) string { return msgs[0].Content }},
		{"user message", func(r *lyumen.Record) {
			r.Conversation.Messages[0].Content = "Write to me at " + mail + ", please."
		}, func(msgs []dataset.Message) string { return msgs[0].Content }},
		{"earlier assistant message", func(r *lyumen.Record) {
			r.Conversation.Messages[1].Content = "I will write to " + mail + "."
		}, func(msgs []dataset.Message) string { return msgs[1].Content }},
		{"the answer", func(r *lyumen.Record) {
			r.Response.Choices[0].Message.Content = "Your address is " + mail + "."
		}, func(msgs []dataset.Message) string { return msgs[len(msgs)-1].Content }},
		{"tool message", func(r *lyumen.Record) {
			r.Conversation.Messages = append(r.Conversation.Messages, lyumen.Message{Role: "tool", Name: "lookup", ToolCallID: "c1", Content: `{"owner":"` + mail + `"}`})
		}, func(msgs []dataset.Message) string { return msgs[len(msgs)-2].Content }},
		{"tool-call arguments", func(r *lyumen.Record) {
			r.Response.Choices[0].Message.ToolCalls = []lyumen.ToolCall{{ID: "c2", Name: "send_email", Arguments: `{"to":"` + mail + `"}`}}
		}, func(msgs []dataset.Message) string { return msgs[len(msgs)-1].ToolCalls[0].Arguments }},
		{"reasoning", func(r *lyumen.Record) {
			r.Response.Choices[0].Message.Reasoning = "The user is " + mail + "."
		}, func(msgs []dataset.Message) string { return msgs[len(msgs)-1].Reasoning }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := datasettest.Rec("00000000-0000-7000-8000-000000000001", 0, "Sure, noted.", "Hello, can you help me?", "Of course.", "Please remember my details.")
			tc.plant(rec)
			sink := &reasoningSink{writes: true}
			st, err := dataset.Export(t.Context(), datasettest.Source([]*lyumen.Record{rec}), sink, dataset.Options{Redactor: newRedactor(t)})
			if err != nil {
				t.Fatal(err)
			}
			if len(sink.got) != 1 {
				t.Fatalf("%d examples, want 1", len(sink.got))
			}
			ex := sink.got[0]
			all, _ := json.Marshal(ex)
			if strings.Contains(string(all), "planted.person") {
				t.Errorf("the address leaked: %s", all)
			}
			if got := tc.got(ex.Messages); !strings.Contains(got, "[EMAIL_1]") {
				t.Errorf("got %q, want [EMAIL_1] in it", got)
			}
			if st.Redactions["EMAIL"] != 1 || ex.Redactions != 1 {
				t.Errorf("%d e-mails counted in the stats, %d in the example; want 1", st.Redactions["EMAIL"], ex.Redactions)
			}
		})
	}
}

// TestExport_PhoneInTheRecordsRegion: a phone number written without a
// country code is read in the record's country, not only in the default
// region: a Berlin number in a German conversation is a phone number.
func TestExport_PhoneInTheRecordsRegion(t *testing.T) {
	const phone = "030 23125000"
	rec := datasettest.Rec("00000000-0000-7000-8000-000000000001", 0, "Gut, ich rufe an.", "Bitte ruf mich unter "+phone+" an.")
	rec.Country = "DE"
	sink, _ := export(t, []*lyumen.Record{rec}, dataset.Options{Redactor: newRedactor(t), K: 1})
	if len(sink.exs) != 1 {
		t.Fatalf("%d examples", len(sink.exs))
	}
	if got := sink.exs[0].Messages[0].Content; strings.Contains(got, "23125000") || !strings.Contains(got, "[PHONE_1]") {
		t.Errorf("user message %q: want the German number replaced by [PHONE_1]", got)
	}
}

// TestExport_HourInUTC: the hour released is UTC and on the hour, whatever
// zone the store's time came in: a zone would tell where the gateway runs,
// and a half-hour zone would not truncate to a UTC hour.
func TestExport_HourInUTC(t *testing.T) {
	india := time.FixedZone("IST", 5*3600+30*60)
	for _, tc := range []struct {
		name string
		at   time.Time
		want time.Time
	}{
		{"UTC, minutes and seconds", time.Date(2026, 5, 4, 10, 47, 31, 123456789, time.UTC), time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)},
		{"UTC, on the hour", time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC), time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)},
		{"a half-hour zone", time.Date(2026, 5, 4, 16, 17, 5, 0, india), time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)},
		{"a zone across midnight", time.Date(2026, 5, 5, 1, 59, 0, 0, time.FixedZone("X", 3*3600)), time.Date(2026, 5, 4, 22, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := datasettest.Rec("r", 0, "an answer", "a question")
			rec.ReceivedAt = tc.at
			sink, st := export(t, []*lyumen.Record{rec}, dataset.Options{K: 1})
			if len(sink.exs) != 1 {
				t.Fatalf("%d examples", len(sink.exs))
			}
			h := sink.exs[0].Hour
			if !h.Equal(tc.want) || h.Location() != time.UTC {
				t.Errorf("hour %v, want %v", h, tc.want)
			}
			line, _ := json.Marshal(dataset.ShareGPTLine(sink.exs[0]))
			if want := `"hour":"` + tc.want.Format(time.RFC3339) + `"`; !strings.Contains(string(line), want) {
				t.Errorf("ShareGPT line %s lacks %s", line, want)
			}
			if day := tc.want.Format(time.DateOnly); st.ByDay[day] != 1 {
				t.Errorf("stats by day %v, want %s", st.ByDay, day)
			}
		})
	}
}

// TestClientFamily: a user agent is released only as one of the known
// families, never as written, nor its product token.
func TestClientFamily(t *testing.T) {
	for ua, want := range map[string]string{
		"":                                   "",
		"OpenAI/Python 1.82.0":               "openai-sdk",
		"curl/8.5.0":                         "curl",
		"Mozilla/5.0 (X11; Linux x86_64)":    "browser",
		"python-requests/2.31.0":             "python-requests",
		"AcmeInternalBot/3.2 (host bob-pc)":  "other",
		"alice-laptop":                       "other",
		"MyInHouseTool/0.1 (build 1234)":     "other",
		"  Go-http-client/1.1  ":             "go",
		"anthropic-typescript/0.30.1 node/1": "anthropic-sdk",
	} {
		if got := dataset.ClientFamily(ua); got != want {
			t.Errorf("ClientFamily(%q) = %q, want %q", ua, got, want)
		}
	}
}

// TestExport_CountryAtK: a country is released exactly when K examples
// have it: K-1 are blanked, K are not.
func TestExport_CountryAtK(t *testing.T) {
	for _, tc := range []struct {
		k, n int
		want string
	}{
		{k: 3, n: 2, want: ""},
		{k: 3, n: 3, want: "IS"},
		{k: 3, n: 4, want: "IS"},
		{k: 10, n: 9, want: ""},
		{k: 10, n: 10, want: "IS"},
		{k: 1, n: 1, want: "IS"},
	} {
		t.Run(fmt.Sprintf("k=%d,n=%d", tc.k, tc.n), func(t *testing.T) {
			var recs []*lyumen.Record
			for i := range tc.n {
				r := datasettest.Rec(fmt.Sprintf("is%02d", i), i, fmt.Sprintf("Answer %d about volcanoes and their eruptions.", i),
					fmt.Sprintf("Question %d: tell me about glaciers number %d, their size and their age.", i, i*7919))
				r.Country = "IS"
				recs = append(recs, r)
			}
			sink, st := export(t, recs, dataset.Options{K: tc.k, NoDedup: true})
			if len(sink.exs) != tc.n {
				t.Fatalf("%d examples, want %d", len(sink.exs), tc.n)
			}
			for _, ex := range sink.exs {
				if ex.Country != tc.want {
					t.Errorf("%s: country %q, want %q", ex.ID, ex.Country, tc.want)
				}
			}
			key := tc.want
			if key == "" {
				key = "unknown"
			}
			if st.ByCountry[key] != int64(tc.n) || len(st.ByCountry) != 1 {
				t.Errorf("stats by country %v, want %s: %d", st.ByCountry, key, tc.n)
			}
			card := dataset.CardText(dataset.Card{}, st)
			if tc.want == "" && strings.Contains(card, "| IS |") {
				t.Errorf("the card's statistics name IS with %d < k=%d conversations", tc.n, tc.k)
			}
		})
	}
}

// TestAggregate_SuppressesEveryDimension: in every table, a value counted
// K-1 times is suppressed and values counted K times or more shown, in the
// JSON, CSV and text outputs alike; a value suppressed alone takes the
// smallest shown one with it, or the total less the rest would be its
// count (a day between two shown, 20, 3 and 20 of 43, was 3).
func TestAggregate_SuppressesEveryDimension(t *testing.T) {
	const k = 4
	var recs []*lyumen.Record
	// k+1 and k records of two kinds in every dimension, k-1 of a third.
	for i := range 3 * k {
		rare := i > 2*k
		second := i > k && !rare
		r := datasettest.Rec(fmt.Sprintf("r%02d", i), 0, "an answer",
			"Could you please tell me what the weather is usually like in the mountains during the summer?")
		r.ReceivedAt = datasettest.T0
		r.Country, r.Model, r.Surface = "DE", "common-model", lyumen.SurfaceOpenAIChat
		if second {
			r.ReceivedAt = datasettest.T0.Add(96 * time.Hour)
			r.Country, r.Model, r.Surface = "AT", "second-model", lyumen.SurfaceOpenAIResponses
			r.Conversation.Messages[0].Content = "¿Podrías decirme qué tiempo suele hacer en las montañas durante el verano?"
		}
		if rare {
			r.ReceivedAt = datasettest.T0.Add(48 * time.Hour)
			r.Country, r.Model, r.Surface = "LI", "rare-model", lyumen.SurfaceAnthropicMessages
			r.Conversation.Messages[0].Content = "Pourriez-vous me dire quel temps il fait habituellement à la montagne pendant l'été ?"
		}
		recs = append(recs, r)
	}
	a, err := dataset.Aggregate(t.Context(), datasettest.Source(recs), dataset.AggregateOptions{K: k})
	if err != nil {
		t.Fatal(err)
	}
	rare := map[string]string{"day": "2026-05-06", "model": "rare-model", "country": "LI", "language": "fr", "surface": string(lyumen.SurfaceAnthropicMessages)}
	common := map[string]string{"day": "2026-05-04", "model": "common-model", "country": "DE", "language": "en", "surface": string(lyumen.SurfaceOpenAIChat)}
	if len(a.Tables) != len(dataset.Dimensions) {
		t.Fatalf("%d tables, want %d", len(a.Tables), len(dataset.Dimensions))
	}
	for _, tb := range a.Tables {
		// The rare value and the second, the smaller shown one: k-1 + k.
		want := []dataset.Row{{Value: common[tb.Dimension], Count: k + 1}, {Value: dataset.Suppressed, Count: 2*k - 1}}
		if !slices.Equal(tb.Rows, want) {
			t.Errorf("%s rows %v, want %v", tb.Dimension, tb.Rows, want)
		}
	}
	var csv, text strings.Builder
	if err := a.WriteCSV(&csv); err != nil {
		t.Fatal(err)
	}
	if err := a.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for d, v := range rare {
		for name, out := range map[string]string{"CSV": csv.String(), "text": text.String()} {
			if strings.Contains(out, v) {
				t.Errorf("%s output names %s %q, counted %d < k=%d:\n%s", name, d, v, k-1, k, out)
			}
		}
		if !strings.Contains(csv.String(), d+",(suppressed),7\n") {
			t.Errorf("CSV lacks %s,(suppressed),7:\n%s", d, csv.String())
		}
	}
}

// TestCardText_FrontMatterLanguages: the card's front matter lists only the
// languages of at least K conversations.
func TestCardText_FrontMatterLanguages(t *testing.T) {
	st := &dataset.Stats{
		K: 10, Examples: 13, Anonymized: true,
		Splits:     map[string]int64{"train": 13},
		ByLanguage: map[string]int64{"en": 10, "is": 2, "unknown": 1},
	}
	card := dataset.CardText(dataset.Card{}, st)
	front, _, _ := strings.Cut(strings.TrimPrefix(card, "---\n"), "---\n")
	if !strings.Contains(front, "language:\n- en\n") || strings.Contains(front, "- is\n") || strings.Contains(front, "unknown") {
		t.Errorf("front matter:\n%s", front)
	}
}
