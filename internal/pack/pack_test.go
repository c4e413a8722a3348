package pack_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
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
		{"chat", `{"model":"m","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"}],"stream":true}`, 2},
		{"messages last", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, 1},
		{"messages first", `{"messages":[{"role":"user","content":"hi"}],"model":"m"}`, 1},
		{"with tools", `{"model":"m","tools":[{"type":"function","function":{"name":"f"}}],"messages":[{"role":"user","content":"` + long + `"}]}`, 2},
		{"empty messages", `{"model":"m","messages":[]}`, 0},
		{"whitespace", "{ \"model\" : \"m\" ,\n \"messages\" : [ {\"role\": \"user\", \"content\": \"a ] } \\\" [\"} ] }\n", 1},
		{"nested brackets in strings", `{"messages":[{"role":"user","content":"{[}]\"\\"}],"x":[1,{"y":"]"}]}`, 1},
		{"no messages", `{"model":"m","prompt":"hello"}`, 0},
		{"not an object", `[1,2,3]`, 0},
		{"messages not an array", `{"messages":"hi"}`, 1},
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
			Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant", Content: strings.Repeat("long answer ", 40),
				ToolCalls: []lyumen.ToolCall{{ID: "c", Type: "function", Name: "f", Arguments: "{}"}}}, FinishReason: "stop"}}},
		Attempts: []lyumen.Attempt{{Provider: "a", Model: "u", Status: 500, Error: "boom", Duration: time.Second}, {Provider: "b", Model: "u"}},
	}
	got, row, _ := roundTrip(t, p, rec)
	if diff := cmp.Diff(rec, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if row.Response[0] != 1 {
		t.Error("a long response was not compressed")
	}
}

// TestPack_ConversationSharesBlobs: every turn of a conversation resends
// the history; only the new messages need new blobs.
func TestPack_ConversationSharesBlobs(t *testing.T) {
	p := pack.New()
	seen := map[pack.Hash]bool{}
	var msgs []map[string]string
	msgs = append(msgs, map[string]string{"role": "system", "content": "You are a helpful assistant."})
	for turn := range 30 {
		msgs = append(msgs, map[string]string{"role": "user", "content": fmt.Sprintf("question %d", turn)})
		body, _ := json.Marshal(map[string]any{"model": "m", "messages": msgs})
		_, _, blobs := roundTrip(t, p, &lyumen.Record{Request: body})
		fresh := 0
		for _, b := range blobs {
			if !seen[b.Hash] {
				fresh++
				seen[b.Hash] = true
			}
		}
		want := 2 // the user's question and the previous answer
		if turn == 0 {
			want = 2 // the system prompt and the first question
		}
		if fresh != want {
			t.Errorf("turn %d: %d new blobs, want %d", turn, fresh, want)
		}
		msgs = append(msgs, map[string]string{"role": "assistant", "content": fmt.Sprintf("answer %d", turn)})
	}
	// Formatting does not defeat sharing.
	_, _, a := roundTrip(t, p, &lyumen.Record{Request: []byte(`{"messages":[{"role":"user","content":"x y"}]}`)})
	_, _, b := roundTrip(t, p, &lyumen.Record{Request: []byte(`{"messages":[ { "role" : "user", "content":"x y" } ]}`)})
	if a[0].Hash != b[0].Hash {
		t.Error("the same message with other whitespace hashed differently")
	}
}

func TestPack_CorruptInput(t *testing.T) {
	p := pack.New()
	rec := &lyumen.Record{}
	none := func(pack.Hash) ([]byte, error) { return nil, errors.New("missing") }
	rows := []pack.Row{
		{Body: []byte{}},
		{Body: []byte{9, 'x'}},
		{Body: []byte{1, 'x'}},
		{Body: []byte{0, '{', '}'}, Refs: []byte{0xff}},
		{Body: []byte{0, '{', '}'}, Refs: append([]byte{50}, make([]byte, 16)...)},
		{Body: []byte{0, '{', '}'}, Refs: append([]byte{1}, make([]byte, 16)...)},
	}
	for i, row := range rows {
		if err := p.Unpack(rec, row, none); err == nil {
			t.Errorf("row %d: no error", i)
		}
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
