package pack_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/pack"
)

// roundTrip packs body and unpacks it with the blobs it produced.
func roundTrip(t testing.TB, p *pack.Packer, rec *lyumen.Record) (*lyumen.Record, pack.Row, []pack.Blob) {
	t.Helper()
	row, blobs, err := p.Pack(rec)
	if err != nil {
		t.Fatal(err)
	}
	store := map[pack.Hash][]byte{}
	for _, b := range blobs {
		store[b.Hash] = b.Data
	}
	got := &lyumen.Record{}
	err = p.Unpack(got, row, func(h pack.Hash) ([]byte, error) {
		b, ok := store[h]
		if !ok {
			return nil, errors.New("missing")
		}
		return b, nil
	})
	if err != nil {
		t.Fatalf("unpack %q: %v", rec.Request, err)
	}
	return got, row, blobs
}

func TestPack_RoundTrip(t *testing.T) {
	long := strings.Repeat("All work and no play. ", 50)
	tests := []struct {
		name      string
		body      string
		wantBlobs int
	}{
		{"chat", `{"model":"m","messages":[{"role":"system","content":"` + long + `"},{"role":"user","content":"hi"}],"stream":true}`, 1},
		{"messages last", `{"model":"m","messages":[{"role":"user","content":"` + long + `"}]}`, 1},
		{"messages first", `{"messages":[{"role":"user","content":"` + long + `"}],"model":"m"}`, 1},
		{"with tools", `{"model":"m","tools":[{"type":"function","function":{"name":"f","description":"` + long + `"}}],"messages":[{"role":"user","content":"` + long + `"}]}`, 2},
		{"content not a string", `{"messages":[{"role":"user","content":[{"type":"text","text":"` + long + `"}]}]}`, 1},
		{"tool calls", `{"messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]}]}`, 1},
		{"short pieces stay inline", `{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}],"tools":[]}`, 0},
		{"empty messages", `{"model":"m","messages":[]}`, 0},
		{"whitespace", "{ \"model\" : \"m\" ,\n \"messages\" : [ {\"role\": \"user\", \"content\": \"a ] } \\\" [" + long + "\"} ] }\n", 1},
		{"nested brackets in strings", `{"messages":[{"role":"user","content":"{[}]\"\\` + long + `"}],"x":[1,{"y":"]"}]}`, 1},
		{"duplicate content key stored whole", `{"messages":[{"content":"` + long + `","content":"x"}]}`, 1},
		{"no messages", `{"model":"m","prompt":"` + long + `"}`, 0},
		{"not an object", `[1,2,3]`, 0},
		{"messages not an array", `{"messages":"` + long + `"}`, 1},
		{"duplicate key stored whole", `{"messages":[{"a":1}],"messages":[{"b":2}]}`, 0},
		{"empty body", ``, 0},
	}
	p := pack.New()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &lyumen.Record{Request: []byte(tc.body)}
			got, _, blobs := roundTrip(t, p, rec)
			if len(blobs) != tc.wantBlobs {
				t.Errorf("%d blobs, want %d", len(blobs), tc.wantBlobs)
			}
			if !jsonEqual(got.Request, rec.Request) {
				t.Errorf("round trip:\n got %s\nwant %s", got.Request, rec.Request)
			}
			if !bytes.Equal(got.Request, rec.Request) {
				t.Errorf("round trip not byte-exact:\n got %s\nwant %s", got.Request, rec.Request)
			}
		})
	}
}

func TestPack_ResponseAndAttempts(t *testing.T) {
	p := pack.New()
	rec := &lyumen.Record{
		Request: []byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`),
		Response: &lyumen.Response{ID: "x", Model: "m", Usage: &lyumen.Usage{TotalTokens: 3},
			Choices: []lyumen.Choice{
				{Message: lyumen.Message{Role: "assistant", Content: strings.Repeat("long <answer> & ", 40),
					ToolCalls: []lyumen.ToolCall{{ID: "c", Type: "function", Name: "f", Arguments: "{}"}}}, FinishReason: "stop"},
				{Index: 1, Message: lyumen.Message{Role: "assistant", Content: "short"}},
			}},
		Attempts: []lyumen.Attempt{{Provider: "a", Model: "u", Status: 500, Error: "boom", Duration: time.Second}, {Provider: "b", Model: "u"}},
	}
	got, row, blobs := roundTrip(t, p, rec)
	if diff := cmp.Diff(rec, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if len(blobs) != 1 {
		t.Errorf("%d blobs, want 1: the long answer", len(blobs))
	}
	if bytes.Contains(row.Response, []byte("answer")) {
		t.Error("the long answer was not cut out of the response")
	}
}

// TestPack_UsageDetails: the response's cached and reasoning counts come
// back in the response and in rec.Usage, which a store otherwise fills
// from its columns, by Unpack and UnpackConversation alike; a response
// without them is laid out as before, without their keys.
func TestPack_UsageDetails(t *testing.T) {
	p := pack.New()
	usage := lyumen.Usage{PromptTokens: 2006, CompletionTokens: 300, TotalTokens: 2306, CachedTokens: 1920, ReasoningTokens: 192}
	for _, tc := range []struct {
		name  string
		usage *lyumen.Usage
		want  lyumen.Usage // rec.Usage as read back, with the store's columns
	}{
		{"cached and reasoning", &usage, usage},
		{"cached only", &lyumen.Usage{PromptTokens: 9, TotalTokens: 9, CachedTokens: 4}, lyumen.Usage{PromptTokens: 9, TotalTokens: 9, CachedTokens: 4}},
		{"neither", &lyumen.Usage{PromptTokens: 9, TotalTokens: 9}, lyumen.Usage{PromptTokens: 9, TotalTokens: 9}},
		{"no usage", nil, lyumen.Usage{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &lyumen.Record{
				Request: []byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`),
				Response: &lyumen.Response{ID: "x", Model: "m", Usage: tc.usage,
					Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant", Content: "Hello."}, FinishReason: "stop"}}},
			}
			if tc.usage != nil {
				rec.Usage = *tc.usage
			}
			row, blobs, err := p.Pack(rec)
			if err != nil {
				t.Fatal(err)
			}
			decoded := map[pack.Hash][]byte{}
			for _, b := range blobs {
				if decoded[b.Hash], err = p.Decode(b.Data); err != nil {
					t.Fatal(err)
				}
			}
			blob := func(h pack.Hash) ([]byte, error) {
				for _, b := range blobs {
					if b.Hash == h {
						return b.Data, nil
					}
				}
				return nil, errors.New("missing")
			}
			// As a store reads a row: the columns' counts, then the rest.
			columns := lyumen.Usage{PromptTokens: rec.Usage.PromptTokens, CompletionTokens: rec.Usage.CompletionTokens, TotalTokens: rec.Usage.TotalTokens}
			got := &lyumen.Record{Usage: columns}
			if err := p.Unpack(got, row, blob); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(rec, got); diff != "" {
				t.Errorf("Unpack (-want +got):\n%s", diff)
			}
			lean := &lyumen.Record{Usage: columns}
			err = p.UnpackConversation(lean, row, func(h pack.Hash) ([]byte, error) { return decoded[h], nil })
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, lean.Usage); diff != "" {
				t.Errorf("UnpackConversation: usage (-want +got):\n%s", diff)
			}
			if tc.usage == nil || tc.usage.CachedTokens == 0 && tc.usage.ReasoningTokens == 0 {
				back, err := p.Decode(row.Response)
				if err != nil {
					t.Fatal(err)
				}
				if tc.usage != nil && !bytes.Contains(back, []byte(`"total_tokens":9}`)) {
					t.Fatalf("response laid out as %s", back)
				}
				if bytes.Contains(back, []byte("cached_tokens")) || bytes.Contains(back, []byte("reasoning_tokens")) {
					t.Errorf("response laid out with counts it does not have: %s", back)
				}
			}
		})
	}
}

// TestPack_ConversationSharesBlobs: every turn of a conversation resends
// the history; only the new question needs a new blob, since the answer
// resent is the response's blob.
func TestPack_ConversationSharesBlobs(t *testing.T) {
	p := pack.New()
	seen := map[pack.Hash]bool{}
	para := strings.Repeat("Tell me more about <this> & that, \"quoted\"\nand on. ", 3)
	var msgs []map[string]string
	msgs = append(msgs, map[string]string{"role": "system", "content": "You are a helpful assistant. " + para})
	for turn := range 30 {
		msgs = append(msgs, map[string]string{"role": "user", "content": fmt.Sprintf("question %d: %s", turn, para)})
		body := marshal(t, map[string]any{"model": "m", "messages": msgs})
		answer := fmt.Sprintf("answer %d: %s", turn, para)
		rec := &lyumen.Record{
			Request:  body,
			Response: &lyumen.Response{Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant", Content: answer}}}},
		}
		_, _, blobs := roundTrip(t, p, rec)
		fresh := 0
		for _, b := range blobs {
			if !seen[b.Hash] {
				fresh++
				seen[b.Hash] = true
			}
		}
		want := 2 // the user's question and the answer
		if turn == 0 {
			want = 3 // and the system prompt
		}
		if fresh != want {
			t.Errorf("turn %d: %d new blobs, want %d", turn, fresh, want)
		}
		// Clients vary in how they send the answer back, not in its content.
		if turn%2 == 0 {
			msgs = append(msgs, map[string]string{"role": "assistant", "content": answer})
		} else {
			msgs = append(msgs, map[string]string{"content": answer, "role": "assistant", "refusal": ""})
		}
	}
	// Formatting around a content string does not defeat sharing.
	content := string(marshal(t, para))
	_, _, a := roundTrip(t, p, &lyumen.Record{Request: []byte(`{"messages":[{"role":"user","content":` + content + `}]}`)})
	_, _, b := roundTrip(t, p, &lyumen.Record{Request: []byte(`{"messages":[ { "role" : "user", "content":` + content + ` } ]}`)})
	if a[0].Hash != b[0].Hash {
		t.Error("the same content in another message layout hashed differently")
	}
}

// TestPack_SharedStore packs records into one store whose first blob for a
// hash wins, as in the databases: pieces that differ only in white space
// must not share a blob, or the second would read back as the first.
func TestPack_SharedStore(t *testing.T) {
	p := pack.New()
	tools := `{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}`
	bodies := []string{
		`{"tools":[` + tools + `],"messages":[{"role":"user","content":"` + strings.Repeat("x", 100) + `"}]}`,
		`{"tools":[ ` + tools + ` ],"messages":[{"role":"user","content":"` + strings.Repeat("x", 100) + `"}]}`,
		`{"tools":[` + strings.ReplaceAll(tools, ":", ": ") + `]}`,
		`{"messages":[{"role":"user","content":"` + strings.Repeat(`\u00fc`, 40) + `"}]}`,
		`{"messages":[{"role":"user","content":"` + strings.Repeat("ü", 40) + `"}]}`,
	}
	store := map[pack.Hash][]byte{}
	rows := make([]pack.Row, len(bodies))
	for i, body := range bodies {
		row, blobs, err := p.Pack(&lyumen.Record{Request: []byte(body)})
		if err != nil {
			t.Fatal(err)
		}
		rows[i] = row
		for _, b := range blobs {
			if _, ok := store[b.Hash]; !ok {
				store[b.Hash] = b.Data
			}
		}
	}
	if len(store) != 6 {
		t.Errorf("%d blobs stored, want 6: 3 tools arrays, 3 contents", len(store))
	}
	for i, body := range bodies {
		got := &lyumen.Record{}
		err := p.Unpack(got, rows[i], func(h pack.Hash) ([]byte, error) { return store[h], nil })
		if err != nil {
			t.Fatal(err)
		}
		if string(got.Request) != body {
			t.Errorf("body %d read back as\n%s\nwant\n%s", i, got.Request, body)
		}
	}
}

// TestPack_ContentPieces: the piece cut from a message is its content
// string, quotes and escapes included, however the string ends.
func TestPack_ContentPieces(t *testing.T) {
	p := pack.New()
	pad := strings.Repeat("x", 40)
	for _, content := range []string{
		pad + `a "quoted" word`,
		pad + `ends in a backslash \`,
		pad + `ends in an escaped quote "`,
		pad + `two backslashes then a quote \\"`,
		pad + "\u00fc and \n and \\\"",
	} {
		lit := marshal(t, content)
		body := []byte(`{"messages":[{"role":"user","content":` + string(lit) + `,"name":"n"}]}`)
		_, _, blobs := roundTrip(t, p, &lyumen.Record{Request: body})
		if len(blobs) != 1 {
			t.Fatalf("%s: %d blobs, want 1", lit, len(blobs))
		}
		got, err := p.Decode(blobs[0].Data)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, lit) {
			t.Errorf("piece %s, want %s", got, lit)
		}
	}
}

func TestPacker_Encode(t *testing.T) {
	p := pack.New()
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(i*7919 ^ i>>3*104729)
	}
	prose := strings.Repeat("The quick brown fox jumps over the lazy dog; ", 200)
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", []byte{}},
		{"short", []byte("hi")},
		{"just above raw", []byte(prose[:129])},
		{"huffman", []byte(prose[:1000])},
		{"huffman limit", []byte(prose[:1024])},
		{"zstd", []byte(prose)},
		{"one byte repeated", bytes.Repeat([]byte{'a'}, 500)},
		{"incompressible", random[:900]},
		{"incompressible, long", random},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			enc := p.Encode(tc.in)
			if len(enc) > len(tc.in)+1 {
				t.Errorf("encoded %d bytes into %d", len(tc.in), len(enc))
			}
			got, err := p.Decode(enc)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.in) {
				t.Errorf("round trip changed %d bytes into %d", len(tc.in), len(got))
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	p := pack.New()
	for _, n := range []int{0, 50, 300, 1000, 3000} {
		f.Add(p.Encode([]byte(strings.Repeat("fuzz the decoder, ", n/18+1)[:n])))
	}
	f.Add([]byte{3, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = p.Decode(b) // must not panic or hang
	})
}

var update = flag.Bool("update", false, "rewrite testdata/golden.json")

// golden is a stored record as testdata/golden.json keeps it.
type golden struct {
	Row   pack.Row
	Blobs map[string][]byte // by hex hash
}

// TestPack_Golden pins the layout to its bytes. Stored records must stay
// readable: if the golden record no longer reads back, the format changed,
// which needs a new encoding tag, not -update. If it reads back but would
// be stored differently (a new version of a coder), -update records that.
func TestPack_Golden(t *testing.T) {
	p := pack.New()
	rec := benchRecord()
	rec.Attempts = append(rec.Attempts, lyumen.Attempt{Provider: "azure", Model: "m", Status: 429, Error: "rate limited", Duration: time.Second})
	rec.Response.Choices[0].Message.Content += strings.Repeat(" And so on, at length.", 60) // zstd
	row, blobs, err := p.Pack(rec)
	if err != nil {
		t.Fatal(err)
	}
	got := golden{Row: row, Blobs: map[string][]byte{}}
	for _, b := range blobs {
		got.Blobs[fmt.Sprintf("%x", b.Hash)] = b.Data
	}
	path := filepath.Join("testdata", "golden.json")
	if *update {
		b, err := json.MarshalIndent(got, "", "\t")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want golden
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	// What was stored reads back...
	back := &lyumen.Record{}
	err = p.Unpack(back, want.Row, func(h pack.Hash) ([]byte, error) {
		if d, ok := want.Blobs[fmt.Sprintf("%x", h)]; ok {
			return d, nil
		}
		return nil, errors.New("missing")
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rec, back); diff != "" {
		t.Errorf("golden record reads back differently (-want +got):\n%s", diff)
	}
	// ...and is what would be stored today.
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records are stored differently now (-golden +now); the golden one still reads back, so -update if that is meant:\n%s", diff)
	}
}

func TestPack_CorruptInput(t *testing.T) {
	p := pack.New()
	zero := make([]byte, pack.HashSize)
	ref := func(b ...byte) []byte { return append(b, zero...) }
	tests := []struct {
		name string
		row  pack.Row
	}{
		{"empty value", pack.Row{Body: []byte{}}},
		{"unknown tag", pack.Row{Body: []byte{9, 'x'}}},
		{"bad zstd frame", pack.Row{Body: []byte{1, 'x'}}},
		{"bad huffman value", pack.Row{Body: []byte{3, 10, 1, 2, 3}}},
		{"huffman value too long", pack.Row{Body: []byte{3, 0xff, 0xff, 0x03, 1}}},
		{"truncated uvarint", pack.Row{Body: []byte{0, '{', '}'}, Refs: []byte{0xff}}},
		{"truncated hash", pack.Row{Body: []byte{0, '{', '}'}, Refs: []byte{0, 1, 2}}},
		{"past the body", pack.Row{Body: []byte{0, '{', '}'}, Refs: ref(3 << 3)}},
		{"into a response there is not", pack.Row{Body: []byte{0, '{', '}'}, Refs: ref(2)}},
		{"into a body there is not", pack.Row{Response: []byte{0, '{', '}'}, Refs: ref(0)}},
		{"unknown value", pack.Row{Body: []byte{0, '{', '}'}, Refs: ref(3)}},
		{"repeat of nothing", pack.Row{Body: []byte{0, '{', '}'}, Refs: []byte{4, 0}}},
		{"repeat of a later hash", pack.Row{Body: []byte{0, '{', '}'}, Refs: append(ref(0), 4, 1)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &lyumen.Record{}
			err := p.Unpack(rec, tc.row, func(pack.Hash) ([]byte, error) { return []byte{0, '1'}, nil })
			if err == nil {
				t.Errorf("no error; request %q", rec.Request)
			}
		})
	}
}

// TestPack_Conversation: the canonical conversation shares the request's
// blobs where the client escapes as Go does, and the answers' blobs always;
// its references to pieces the record already holds are short.
func TestPack_Conversation(t *testing.T) {
	p := pack.New()
	question := strings.Repeat("What is <b>bold</b>? Ünïcödé. ", 5)
	answer := strings.Repeat("Bold is <b>this</b>. ", 5)
	tools := []lyumen.Tool{{Name: "f", Description: strings.Repeat("does f ", 10), Parameters: json.RawMessage(`{"type":"object"}`)}}
	conv := &lyumen.Conversation{
		Messages: []lyumen.Message{
			{Role: "user", Content: question},
			{Role: "assistant", Content: answer},
			{Role: "user", Parts: []lyumen.Part{
				{Type: lyumen.PartText, Text: question},
				{Type: lyumen.PartImage, MediaType: "image/png", Data: strings.Repeat("iVBORw0KGgo", 20)},
			}},
		},
		Tools:       tools,
		ToolChoice:  &lyumen.ToolChoice{Mode: "auto"},
		MaxTokens:   100,
		Temperature: new(0.5),
	}
	body := marshal(t, map[string]any{"model": "m", "messages": []map[string]string{
		{"role": "user", "content": question}, {"role": "assistant", "content": answer}, {"role": "user", "content": question},
	}})
	rec := &lyumen.Record{Request: body, Conversation: conv}
	got, row, blobs := roundTrip(t, p, rec)
	if diff := cmp.Diff(rec, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	// question, answer, image data, tools: each once.
	if len(blobs) != 4 {
		t.Errorf("%d blobs, want 4", len(blobs))
	}
	hashes, err := pack.Refs(row.Refs)
	if err != nil {
		t.Fatal(err)
	}
	if len(hashes) != len(blobs) {
		t.Errorf("Refs lists %d hashes, want %d", len(hashes), len(blobs))
	}
	// 8 splices: 3 into the body (one repeating), 5 into the conversation
	// (the image and tools new). A new one takes a hash and an offset of up
	// to 2 bytes, a repeat 3 bytes at most.
	if max := 4*(2+pack.HashSize) + 4*3; len(row.Refs) > max {
		t.Errorf("refs take %d bytes, want at most %d", len(row.Refs), max)
	}
}

func FuzzPack(f *testing.F) {
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"a":1}]}`))
	f.Add([]byte(`{"messages":[1,"two",[3],{"4":4},null,true]}`))
	f.Add([]byte(` { "messages" : [ ] } `))
	f.Add([]byte(`{"a":"\"messages\"","messages":[{"x":"\\"}]}`))
	f.Add([]byte(`not json`))
	p := pack.New()
	f.Fuzz(func(t *testing.T, body []byte) {
		row, blobs, err := p.Pack(&lyumen.Record{Request: body})
		if err != nil {
			t.Fatal(err)
		}
		store := map[pack.Hash][]byte{}
		for _, b := range blobs {
			store[b.Hash] = b.Data
		}
		got := &lyumen.Record{}
		if err := p.Unpack(got, row, func(h pack.Hash) ([]byte, error) { return store[h], nil }); err != nil {
			t.Fatalf("unpack: %v", err)
		}
		if !bytes.Equal(got.Request, body) {
			t.Fatalf("round trip changed the body:\n got %q\nwant %q", got.Request, body)
		}
	})
}

// marshal encodes v as Python and JS clients do, without escaping <, >
// and &.
func marshal(t testing.TB, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

func jsonEqual(a, b []byte) bool {
	if len(a) == 0 || len(b) == 0 {
		return bytes.Equal(a, b)
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	return reflect.DeepEqual(x, y)
}

func TestPack_NilRequest(t *testing.T) {
	p := pack.New()
	for _, body := range [][]byte{nil, {}} {
		got, _, _ := roundTrip(t, p, &lyumen.Record{Request: body})
		if (got.Request == nil) != (body == nil) || len(got.Request) != 0 {
			t.Errorf("Request %#v came back as %#v", body, got.Request)
		}
	}
}

// BenchmarkCut lays out a typical single-turn record of about 2 KB: a
// shared system prompt, a question of 900 bytes, an answer of 450.
func BenchmarkCut(b *testing.B) {
	p := pack.New()
	rec := benchRecord()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := p.Cut(rec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPack is BenchmarkCut with every piece encoded.
func BenchmarkPack(b *testing.B) {
	p := pack.New()
	rec := benchRecord()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := p.Pack(rec); err != nil {
			b.Fatal(err)
		}
	}
}

func benchRecord() *lyumen.Record {
	system := "You are a helpful assistant. Answer briefly and cite the document when you can. " +
		"If the question cannot be answered from the context, say so and suggest where to look."
	question := strings.Repeat("Could you explain how the retry budget interacts with the circuit breaker when upstreams fail? ", 9)
	answer := strings.Repeat("The breaker opens after five failures; retries stop once it is open. ", 6)
	temp := 0.7
	return &lyumen.Record{
		Request: fmt.Appendf(nil, `{"model":"gpt-4o-mini","messages":[{"role":"system","content":%q},{"role":"user","content":%q}],"temperature":0.7,"stream":true}`, system, question),
		Conversation: &lyumen.Conversation{
			Messages:    []lyumen.Message{{Role: "system", Content: system}, {Role: "user", Content: question}},
			Temperature: &temp,
		},
		Response: &lyumen.Response{
			ID:      "chatcmpl-9XUNHiLGiwZYtQW7BB97io3dcYpbf",
			Model:   "gpt-4o-mini-2024-07-18",
			Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant", Content: answer}, FinishReason: "stop"}},
			Usage:   &lyumen.Usage{PromptTokens: 310, CompletionTokens: 120, TotalTokens: 430},
		},
		Attempts: []lyumen.Attempt{{Provider: "openai", Model: "gpt-4o-mini-2024-07-18", Status: 200, Duration: 1190 * time.Millisecond}},
	}
}

func TestMessageTexts(t *testing.T) {
	for _, tc := range []struct {
		body string
		want []string
	}{
		{`{"model":"m","messages":[{"role":"system","content":"be \"brief\""},{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"u"}}]},{"content":"x","role":"user"}]}`,
			[]string{`"be \"brief\""`, `"hi"`, `"x"`}},
		{`{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"out"},{"type":"tool_result","content":[{"type":"text","text":"nested"}]},{"text":"a","content":"b"},"not a block"]}]}`,
			[]string{`"out"`, `"a"`, `"b"`}},
		{` { "messages" : [ { "content" : "a\\" } ] , "content":"not a message" } `, []string{`"a\\"`}},
		{`{"messages":[{"content":"once","content":"twice"}]}`, nil},
		{`{"input":"no messages"}`, nil},
		{`{"messages":"not an array"}`, nil},
		{`["not an object"]`, nil},
		{`{"messages":[{"content":"cut`, nil},
	} {
		var got []string
		for _, c := range pack.MessageTexts([]byte(tc.body)) {
			got = append(got, tc.body[c[0]:c[1]])
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("MessageTexts(%s) = %q, want %q", tc.body, got, tc.want)
		}
	}
}
