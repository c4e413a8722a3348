package scrub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/redact"
	"github.com/lyumen/lyumen/scrub"
)

const (
	ghToken = "ghp_16C7e42F292c6912E7710c838347Ae178B4a"
	oaKey   = "sk-proj-abcDEF1234567890abcDEF1234567890abcDEF1234567890abcd"
	pgURL   = "postgres://app:S3cr3t!pw9@db.internal/prod"
	email   = "ana.lopez@example.org"
)

func record() *lyumen.Record {
	body, _ := json.Marshal(map[string]any{"model": "m", "messages": []map[string]string{
		{"role": "user", "content": "my token is " + ghToken + "\nand " + pgURL + ", mail " + email},
	}})
	return &lyumen.Record{
		ID: "r1", Country: "DE", Request: body,
		Conversation: &lyumen.Conversation{Messages: []lyumen.Message{
			{Role: "user", Content: "my token is " + ghToken + "\nand " + pgURL + ", mail " + email},
			{Role: "user", Parts: []lyumen.Part{{Type: lyumen.PartText, Text: "again " + ghToken}, {Type: lyumen.PartImage, URL: "https://cdn.example.com/x.png?X-Amz-Signature=abcdef0123456789abcdef"}}},
		}},
		Response: &lyumen.Response{Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant",
			Content: "Rotate " + ghToken + " now.", ToolCalls: []lyumen.ToolCall{{Name: "f", Arguments: `{"key":"` + oaKey + `"}`}},
			Reasoning: "The user pasted " + ghToken + "; warn them.", Refusal: "I won't use " + ghToken + "."}}}},
		Error:    "upstream said: invalid key " + oaKey,
		Attempts: []lyumen.Attempt{{Error: "401 for key " + oaKey}},
	}
}

func TestRecord(t *testing.T) {
	rec := record()
	var got []*lyumen.Record
	w, err := scrub.New(writerFunc(func(_ context.Context, recs []*lyumen.Record) error { got = recs; return nil }))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteRecords(t.Context(), []*lyumen.Record{rec}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("next writer got %d records", len(got))
	}
	all, _ := json.Marshal(got[0])
	all = append(all, got[0].Request...)
	for _, secret := range []string{ghToken, oaKey, "S3cr3t!pw9", "abcdef0123456789abcdef"} {
		if strings.Contains(string(all), secret) {
			t.Errorf("secret %q survived", secret)
		}
	}
	if !strings.Contains(string(got[0].Request), email) || !strings.Contains(got[0].Conversation.Messages[0].Content, email) {
		t.Error("personal data was scrubbed: the store keeps it for the export to anonymize")
	}
	if !json.Valid(got[0].Request) {
		t.Errorf("request body is no longer JSON: %s", got[0].Request)
	}
	// One session per record: the token has the same number everywhere.
	for _, s := range []string{string(got[0].Request), got[0].Conversation.Messages[0].Content,
		got[0].Conversation.Messages[1].Parts[0].Text, got[0].Response.Choices[0].Message.Content,
		got[0].Response.Choices[0].Message.Reasoning, got[0].Response.Choices[0].Message.Refusal} {
		if !strings.Contains(s, "[API_KEY_1]") {
			t.Errorf("%q lacks [API_KEY_1]", s)
		}
	}
	// Scrubbing again changes nothing.
	r, err := redact.New(redact.Options{Kinds: redact.SecretKinds()})
	if err != nil {
		t.Fatal(err)
	}
	if n := scrub.Record(r, got[0]); n != 0 {
		t.Errorf("second scrub replaced %d", n)
	}
}

// TestRecord_JSON: secrets that escapes hide in JSON are found, and what
// was JSON stays JSON: a tool call's arguments inside a body (JSON in a
// JSON string), a Responses body's input, a tool's schema, and arguments
// whose key follows an escaped newline.
func TestRecord_JSON(t *testing.T) {
	const (
		password = "Hunter2-Zebra!"
		awsKey   = "AKIAZ3FJ7PQ2LXWN5RTB"
		token    = "A8fK2mQ9xL2pR7tW4vB8nCz5Yq1"
		orKey    = "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"
	)
	for _, tc := range []struct {
		name   string
		rec    *lyumen.Record
		secret string
		json   func(*lyumen.Record) string // what must stay JSON
	}{
		{
			name: "tool call arguments in a chat body",
			rec: &lyumen.Record{Request: []byte(`{"model":"m","messages":[{"role":"user","content":"connect"},` +
				`{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"connect","arguments":"{\"user\":\"app\",\"password\":\"` + password + `\"}"}}]},` +
				`{"role":"tool","tool_call_id":"c1","content":"ok"}]}`)},
			secret: password,
			json:   func(r *lyumen.Record) string { return string(r.Request) },
		},
		{
			name:   "a Responses body's input",
			rec:    &lyumen.Record{Request: []byte(`{"model":"m","input":"log in with password: \"` + password + `\" please"}`)},
			secret: password,
			json:   func(r *lyumen.Record) string { return string(r.Request) },
		},
		{
			name: "a tool's schema",
			rec: &lyumen.Record{Conversation: &lyumen.Conversation{Tools: []lyumen.Tool{{Name: "weather", Parameters: json.RawMessage(
				`{"type":"object","properties":{"key":{"type":"string","default":"` + awsKey + `"}}}`)}}}},
			secret: awsKey,
			json:   func(r *lyumen.Record) string { return string(r.Conversation.Tools[0].Parameters) },
		},
		{
			name: "arguments with a key after an escaped newline",
			rec: &lyumen.Record{Response: &lyumen.Response{Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant",
				ToolCalls: []lyumen.ToolCall{{Name: "write_file", Arguments: `{"path":".env","content":"# keys\n` + token + `\n"}`}}}}}}},
			secret: token,
			json:   func(r *lyumen.Record) string { return r.Response.Choices[0].Message.ToolCalls[0].Arguments },
		},
		{
			name:   "an OpenRouter key in a body",
			rec:    &lyumen.Record{Request: []byte(`{"model":"m","messages":[{"role":"user","content":"why does ` + orKey + ` get a 401?"}]}`)},
			secret: orKey,
			json:   func(r *lyumen.Record) string { return string(r.Request) },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := redact.New(redact.Options{Kinds: redact.SecretKinds()})
			if err != nil {
				t.Fatal(err)
			}
			if n := scrub.Record(r, tc.rec); n == 0 {
				t.Error("nothing replaced")
			}
			all, _ := json.Marshal(tc.rec)
			if strings.Contains(string(all)+string(tc.rec.Request), tc.secret) {
				t.Errorf("%q survived: %s %s", tc.secret, all, tc.rec.Request)
			}
			if got := tc.json(tc.rec); !json.Valid([]byte(got)) {
				t.Errorf("no longer JSON: %s", got)
			}
		})
	}
}

type writerFunc func(context.Context, []*lyumen.Record) error

func (f writerFunc) WriteRecords(ctx context.Context, recs []*lyumen.Record) error {
	return f(ctx, recs)
}

func TestWriter_OnScrub(t *testing.T) {
	w, err := scrub.New(writerFunc(func(context.Context, []*lyumen.Record) error { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	var records, replaced int
	w.OnScrub = func(n, r int, d time.Duration) { records, replaced = n, r }
	if err := w.WriteRecords(t.Context(), []*lyumen.Record{record(), {ID: "empty"}, nil}); err != nil {
		t.Fatal(err)
	}
	if records != 3 || replaced < 8 {
		t.Errorf("OnScrub got %d records, %d replaced", records, replaced)
	}
}

// TestWriter_History writes the turns of one conversation, each resending
// the history, as clients do. Strings found clean are skipped on later
// turns; one that held a secret is scrubbed on every turn, and the same
// text from another country is scanned afresh.
func TestWriter_History(t *testing.T) {
	var got []*lyumen.Record
	w, err := scrub.New(writerFunc(func(_ context.Context, recs []*lyumen.Record) error { got = append(got, recs...); return nil }))
	if err != nil {
		t.Fatal(err)
	}
	system := "You are a careful assistant. Answer briefly and cite the documentation you rely on."
	leak := "Here is my config, what is wrong with it? token = " + ghToken
	var msgs []lyumen.Message
	for turn := range 4 {
		msgs = append(msgs, lyumen.Message{Role: "user", Content: leak})
		if turn == 0 {
			msgs = append([]lyumen.Message{{Role: "system", Content: system}}, msgs...)
		}
		rec := &lyumen.Record{ID: fmt.Sprint(turn), Country: []string{"DE", "DE", "DE", "FR"}[turn],
			Conversation: &lyumen.Conversation{Messages: slices.Clone(msgs)},
			Response:     &lyumen.Response{Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant", Content: system}}}}}
		if err := w.WriteRecords(t.Context(), []*lyumen.Record{rec}); err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, lyumen.Message{Role: "assistant", Content: "Rotate it first, then show me the file again."})
	}
	for _, rec := range got {
		for i, m := range rec.Conversation.Messages {
			if strings.Contains(m.Content, ghToken) {
				t.Errorf("record %s, message %d: the token survived: %q", rec.ID, i, m.Content)
			}
		}
		if c := rec.Conversation.Messages[0].Content; c != system {
			t.Errorf("record %s: the system prompt changed to %q", rec.ID, c)
		}
		if c := rec.Response.Choices[0].Message.Content; c != system {
			t.Errorf("record %s: the answer changed to %q", rec.ID, c)
		}
	}
}

// TestWriter_Corpus scrubs conversations made of the redaction corpus
// (secrets, personal data and look-alikes), turn after turn, their
// contents as strings and then as text blocks, with a Writer, which skips
// what it found clean before, and with Record, which remembers nothing.
// They must store the same bytes, and the body's texts must be the
// conversation's.
func TestWriter_Corpus(t *testing.T) {
	f, err := os.ReadFile("../redact/testdata/corpus.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for line := range strings.Lines(string(f)) {
		var c struct{ Text string }
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatal(err)
		}
		texts = append(texts, c.Text)
	}
	r, err := redact.New(redact.Options{Kinds: redact.SecretKinds()})
	if err != nil {
		t.Fatal(err)
	}
	var got []*lyumen.Record
	w, err := scrub.New(writerFunc(func(_ context.Context, recs []*lyumen.Record) error { got = recs; return nil }))
	if err != nil {
		t.Fatal(err)
	}
	blocks := false // each message's content a string, or (the second time round) text blocks
	mk := func(msgs []lyumen.Message, answer string) *lyumen.Record {
		wire := make([]map[string]any, len(msgs))
		for i, m := range msgs {
			wire[i] = map[string]any{"role": m.Role, "content": m.Content}
			if blocks {
				wire[i]["content"] = []map[string]string{{"type": "text", "text": m.Content}}
			}
		}
		body, _ := json.Marshal(map[string]any{"model": "m", "messages": wire, "user": "u"})
		return &lyumen.Record{ID: "x", Country: "US", Request: body,
			Conversation: &lyumen.Conversation{Messages: slices.Clone(msgs)},
			Response:     &lyumen.Response{Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant", Content: answer}}}}}
	}
	system := lyumen.Message{Role: "system", Content: "You are a helpful assistant for a small software team; keep answers short."}
	for n := range 2 * len(texts) / 4 {
		i := 4 * (n % (len(texts) / 4))
		blocks = n >= len(texts)/4
		msgs := []lyumen.Message{system}
		for turn := range 2 {
			msgs = append(msgs, lyumen.Message{Role: "user", Content: texts[i+2*turn]})
			answer := texts[i+2*turn+1]
			if err := w.WriteRecords(t.Context(), []*lyumen.Record{mk(msgs, answer)}); err != nil {
				t.Fatal(err)
			}
			want := mk(msgs, answer)
			scrub.Record(r, want)
			if string(got[0].Request) != string(want.Request) {
				t.Fatalf("texts %d-%d, turn %d: body\n got %s\nwant %s", i, i+3, turn, got[0].Request, want.Request)
			}
			gotTexts := bodyTexts(t, got[0].Request)
			for k, m := range got[0].Conversation.Messages {
				if gotTexts[k] != m.Content {
					t.Fatalf("texts %d-%d, turn %d, message %d:\n body         %q\n conversation %q", i, i+3, turn, k, gotTexts[k], m.Content)
				}
			}
			if diff := cmp.Diff(want.Conversation, got[0].Conversation); diff != "" {
				t.Fatalf("texts %d-%d, turn %d: conversation (-whole +writer):\n%s", i, i+3, turn, diff)
			}
			if diff := cmp.Diff(want.Response, got[0].Response); diff != "" {
				t.Fatalf("texts %d-%d, turn %d: response (-whole +writer):\n%s", i, i+3, turn, diff)
			}
			msgs = append(msgs, lyumen.Message{Role: "assistant", Content: answer})
		}
	}
}

// bodyTexts returns the texts of a chat body's messages: string contents,
// or the text of each one's first block.
func bodyTexts(t *testing.T, body []byte) []string {
	t.Helper()
	var v struct{ Messages []struct{ Content any } }
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, body)
	}
	var texts []string
	for _, m := range v.Messages {
		switch c := m.Content.(type) {
		case string:
			texts = append(texts, c)
		case []any:
			texts = append(texts, c[0].(map[string]any)["text"].(string))
		}
	}
	return texts
}

// TestWriter_BodyAsConversation checks that the Writer scrubs each message
// of a chat body as it scrubs the conversation's copy of it, including
// where a scan of the whole body, one line of text, would read context
// across messages.
func TestWriter_BodyAsConversation(t *testing.T) {
	long := " I have been stuck on this for a whole afternoon now, please help."
	for name, texts := range map[string][]string{
		// gitleaks' curl rules match "curl" anywhere before the flags.
		"curl in another message": {"I call our staging API with curl and it answers 401 every time." + long,
			"The flags I pass: -u deploy:Zq7vKp2mWx9Lr4 https://staging.example.com/v1/items" + long},
		// The generic rule's allowlist matches a JS import anywhere on the line.
		"import in another message": {"import { useState } from 'react'",
			"my config has api_key = Zq7vKp2mWx9Lr4Tb8Nc3Hd6 and it fails" + long},
		"a quote left open":    {strings.Repeat("x", 60) + " what should the password is", "and 'this one" + long},
		"a key in one message": {"here is my token " + ghToken + long, "thanks" + long},
		// In the body the quotes are escaped (\"), which hid it from the
		// password rule there.
		"a password in quotes": {`my config file says password="Hunt3r22x" and the login fails` + long},
		"a short one":          {`password="Hunt3r22x"`, "ok"},
		// A key's BEGIN and END in two messages once matched as one span,
		// cutting the messages between them out of the body.
		"a key's ends in two short messages": {"-----BEGIN RSA PRIVATE KEY-----", "hello", "-----END RSA PRIVATE KEY-----"},
		"a key's ends around a long message": {"-----BEGIN RSA PRIVATE KEY-----", "ok", "a long message in between" + long, "hi", "-----END RSA PRIVATE KEY-----"},
	} {
		t.Run(name, func(t *testing.T) {
			var got []*lyumen.Record
			w, err := scrub.New(writerFunc(func(_ context.Context, recs []*lyumen.Record) error { got = recs; return nil }))
			if err != nil {
				t.Fatal(err)
			}
			var msgs []lyumen.Message
			for _, text := range texts {
				msgs = append(msgs, lyumen.Message{Role: "user", Content: text})
			}
			body, _ := json.Marshal(map[string]any{"model": "m", "messages": msgs})
			rec := &lyumen.Record{ID: "x", Request: body, Conversation: &lyumen.Conversation{Messages: msgs}}
			if err := w.WriteRecords(t.Context(), []*lyumen.Record{rec}); err != nil {
				t.Fatal(err)
			}
			var sent struct{ Messages []lyumen.Message }
			if err := json.Unmarshal(got[0].Request, &sent); err != nil {
				t.Fatalf("stored body is not JSON: %v\n%s", err, got[0].Request)
			}
			if len(sent.Messages) != len(msgs) {
				t.Fatalf("the stored body has %d of %d messages:\n%s", len(sent.Messages), len(msgs), got[0].Request)
			}
			for i, m := range got[0].Conversation.Messages {
				if sent.Messages[i].Content != m.Content {
					t.Errorf("message %d:\n body         %q\n conversation %q", i, sent.Messages[i].Content, m.Content)
				}
			}
			if strings.Contains(string(got[0].Request), ghToken) {
				t.Error("the token survived in the body")
			}
		})
	}
}

// BenchmarkWriter_History measures scrubbing a 30-turn conversation, each
// turn a record with the whole history (request body, conversation and
// answer), per record.
func BenchmarkWriter_History(b *testing.B) {
	w, err := scrub.New(writerFunc(func(context.Context, []*lyumen.Record) error { return nil }))
	if err != nil {
		b.Fatal(err)
	}
	question := strings.Repeat("How do I stream rows from a query without loading them all, keeping errors? ", 4)
	answer := strings.Repeat("Use rows.Next in a loop and write each row as you go, flushing a buffered writer. ", 8)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		b.StopTimer()
		var recs []*lyumen.Record
		var msgs []lyumen.Message
		for turn := range 30 {
			q := fmt.Sprintf("%d/%d: %s", n, turn, question) // every conversation its own
			msgs = append(msgs, lyumen.Message{Role: "user", Content: q})
			body, _ := json.Marshal(map[string]any{"model": "m", "messages": msgs})
			recs = append(recs, &lyumen.Record{ID: fmt.Sprint(turn), Request: body, Conversation: &lyumen.Conversation{Messages: slices.Clone(msgs)},
				Response: &lyumen.Response{Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant", Content: fmt.Sprint(turn, answer)}}}}})
			msgs = append(msgs, lyumen.Message{Role: "assistant", Content: fmt.Sprint(turn, answer)})
		}
		n++
		b.StartTimer()
		for _, rec := range recs {
			if err := w.WriteRecords(context.Background(), []*lyumen.Record{rec}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(30*n), "µs/record")
}

// BenchmarkWriter_WriteRecords measures what scrubbing costs the shipper
// per record: a 2 KB request body, its conversation and a 1 KB answer.
func BenchmarkWriter_WriteRecords(b *testing.B) {
	w, err := scrub.New(writerFunc(func(context.Context, []*lyumen.Record) error { return nil }))
	if err != nil {
		b.Fatal(err)
	}
	prompt := strings.Repeat("Please review this Go function and suggest how to stream the rows instead of loading them all; "+
		"keep the error handling and add a progress line. ", 12)
	answer := strings.Repeat("You can use rows.Next in a loop and write each row as you go, flushing a buffered writer. ", 12)
	mk := func(secret bool) *lyumen.Record {
		p := prompt
		if secret {
			p += " my key is " + oaKey
		}
		body, _ := json.Marshal(map[string]any{"model": "m", "messages": []map[string]string{{"role": "user", "content": p}}})
		return &lyumen.Record{ID: "x", Request: body,
			Conversation: &lyumen.Conversation{Messages: []lyumen.Message{{Role: "user", Content: p}}},
			Response:     &lyumen.Response{Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant", Content: answer}}}}}
	}
	short := func(bool) *lyumen.Record { // bench/'s gateway request: two short messages
		msgs := []lyumen.Message{{Role: "system", Content: "You are a concise assistant. Answer in one sentence."},
			{Role: "user", Content: "What does a reverse proxy do, in one sentence?"}}
		body, _ := json.Marshal(map[string]any{"model": "bench-model", "messages": msgs, "temperature": 0.2, "max_tokens": 256, "user": "bench"})
		return &lyumen.Record{ID: "x", Request: body, Conversation: &lyumen.Conversation{Messages: msgs},
			Response: &lyumen.Response{Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant", Content: "It forwards requests to servers."}}}}}
	}
	for _, bc := range []struct {
		name   string
		secret bool
		mk     func(bool) *lyumen.Record
	}{{"clean", false, mk}, {"with_key", true, mk}, {"short", false, short}} {
		b.Run(bc.name, func(b *testing.B) {
			// Records are scrubbed in place: each is made anew, a thousand
			// at a time outside the timer (stopping it per record cost more
			// than scrubbing a short one).
			var recs []*lyumen.Record
			b.ReportAllocs()
			for b.Loop() {
				if len(recs) == 0 {
					b.StopTimer()
					for range 1000 {
						recs = append(recs, bc.mk(bc.secret))
					}
					b.StartTimer()
				}
				if err := w.WriteRecords(context.Background(), recs[len(recs)-1:]); err != nil {
					b.Fatal(err)
				}
				recs = recs[:len(recs)-1]
			}
		})
	}
}
