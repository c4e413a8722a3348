// Package storetest is the conformance suite for record stores. Every store
// (sqlite, postgres) runs it from its own tests, so they keep one contract:
//
//	func TestDB(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Store { return mustOpen(t) })
//	}
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen"
)

// Store is the part of a record store that every backend shares.
type Store interface {
	// WriteRecords stores a batch atomically; a record whose ID is already
	// stored is skipped (the first version written wins).
	WriteRecords(ctx context.Context, recs []*lyumen.Record) error
	// Record reads one record back; an unknown ID is a *lyumen.Error of
	// kind lyumen.KindNotFound.
	Record(ctx context.Context, id string) (*lyumen.Record, error)
	Count(ctx context.Context) (int64, error)
}

// Run runs the suite. open must return a new, empty store each time it is
// called and close it with t.Cleanup. Subtests do not run in parallel, so
// open may hand out stores that share a server.
//
// The contract checked here: every Record field reads back as written,
// except that times come back in UTC and times and durations are truncated
// to the microsecond, and Response.Raw (json:"-") is not stored. Usage's
// CachedTokens and ReasoningTokens may be kept only with the response (the
// gateway records the response's usage as the record's), so the full
// record has the same in both.
func Run(t *testing.T, open func(t *testing.T) Store) {
	t.Run("round trip", func(t *testing.T) { testRoundTrip(t, open) })
	t.Run("idempotent", func(t *testing.T) { testIdempotent(t, open) })
	t.Run("batch of 1013", func(t *testing.T) { testBatch(t, open) })
	t.Run("count", func(t *testing.T) { testCount(t, open) })
	t.Run("unknown id is not found", func(t *testing.T) { testNotFound(t, open) })
	t.Run("failed batch writes nothing", func(t *testing.T) { testAtomic(t, open) })
	t.Run("concurrent writers", func(t *testing.T) { testConcurrent(t, open) })
}

func testRoundTrip(t *testing.T, open func(t *testing.T) Store) {
	// A field added to lyumen.Record (or to a type inside it) must be set
	// in full, or no store would be made to keep it.
	if unset := unsetFields(reflect.ValueOf(full(id(1))), "Record"); len(unset) > 0 {
		t.Fatalf("storetest's full record leaves fields unset; set them in full():\n%s", strings.Join(unset, "\n"))
	}
	binary := make([]byte, 256) // every byte value, so also invalid UTF-8
	for i := range binary {
		binary[i] = byte(i)
	}
	cest := time.FixedZone("CEST", 2*60*60)

	tests := []struct {
		name string
		rec  *lyumen.Record
		want *lyumen.Record // nil: the record itself, without Response.Raw
	}{
		{name: "fully populated", rec: full(id(1))},
		{name: "zero values", rec: &lyumen.Record{ID: id(2)}},
		{
			name: "empty request body and empty response",
			rec:  &lyumen.Record{ID: id(3), Request: []byte{}, Response: &lyumen.Response{}},
		},
		{
			name: "empty but present parts",
			rec: &lyumen.Record{
				ID:       id(4),
				Response: &lyumen.Response{Choices: []lyumen.Choice{}, Usage: &lyumen.Usage{}},
				Attempts: []lyumen.Attempt{},
			},
		},
		{name: "binary request body", rec: &lyumen.Record{ID: id(5), Request: binary}},
		{
			name: "large request body",
			rec:  &lyumen.Record{ID: id(6), Request: []byte(`"` + strings.Repeat("x", 1<<20) + `"`)},
		},
		{
			// A store that shared a blob between pieces that differ only in
			// white space would give the second record the first's bytes.
			name: "compact body",
			rec:  &lyumen.Record{ID: id(8), Request: []byte(`{"messages":[{"role":"user","content":"` + strings.Repeat("Long enough to be stored apart. ", 4) + `"}],"tools":[{"type":"function","function":{"name":"f"}}]}`)},
		},
		{
			name: "the same body spaced out",
			rec:  &lyumen.Record{ID: id(9), Request: []byte(`{ "messages": [ { "role": "user", "content": "` + strings.Repeat("Long enough to be stored apart. ", 4) + `" } ], "tools": [ { "type": "function", "function": { "name": "f" } } ] }`)},
		},
		{
			name: "local time and nanoseconds become UTC microseconds",
			rec: &lyumen.Record{
				ID:         id(7),
				ReceivedAt: time.Date(2025, 6, 1, 14, 30, 45, 123456789, cest),
				Duration:   1500*time.Millisecond + 999,
				TTFT:       250*time.Microsecond + 1,
			},
			want: &lyumen.Record{
				ID:         id(7),
				ReceivedAt: time.Date(2025, 6, 1, 12, 30, 45, 123456000, time.UTC),
				Duration:   1500 * time.Millisecond,
				TTFT:       250 * time.Microsecond,
			},
		},
	}
	s := open(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.WriteRecords(t.Context(), []*lyumen.Record{tc.rec}); err != nil {
				t.Fatal(err)
			}
			got, err := s.Record(t.Context(), tc.rec.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			if want == nil {
				want = stored(tc.rec)
			}
			if diff := recordDiff(want, got); diff != "" {
				t.Errorf("record read back differs (-want +got):\n%s", diff)
			}
			// cmp compares times with Equal, which ignores the location.
			if loc := got.ReceivedAt.Location(); loc != time.UTC {
				t.Errorf("ReceivedAt location = %v, want UTC", loc)
			}
		})
	}
}

func testIdempotent(t *testing.T, open func(t *testing.T) Store) {
	a, b := full(id(1)), full(id(2))
	changed := full(id(1))
	changed.Model = "other-model"
	changed.Response.Choices[0].Message.Content = "other content"

	tests := []struct {
		name    string
		batches [][]*lyumen.Record
		want    []*lyumen.Record
	}{
		{
			name:    "same batch written twice",
			batches: [][]*lyumen.Record{{a, b}, {a, b}},
			want:    []*lyumen.Record{a, b},
		},
		{
			name:    "same record twice in one batch",
			batches: [][]*lyumen.Record{{a, a, b}},
			want:    []*lyumen.Record{a, b},
		},
		{
			name:    "rewrite with other content keeps the first",
			batches: [][]*lyumen.Record{{a}, {changed, b}},
			want:    []*lyumen.Record{a, b},
		},
		{
			name:    "first of two versions in one batch wins",
			batches: [][]*lyumen.Record{{a, changed}},
			want:    []*lyumen.Record{a},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			for _, batch := range tc.batches {
				if err := s.WriteRecords(t.Context(), batch); err != nil {
					t.Fatal(err)
				}
			}
			wantCount(t, s, int64(len(tc.want)))
			for _, w := range tc.want {
				wantRecord(t, s, w)
			}
		})
	}
}

func testBatch(t *testing.T, open func(t *testing.T) Store) {
	s := open(t)
	recs := make([]*lyumen.Record, 1013) // not a multiple of a store's rows per statement
	for i := range recs {
		recs[i] = full(id(i))
		recs[i].ReceivedAt = recs[i].ReceivedAt.Add(time.Duration(i) * time.Millisecond)
		recs[i].Model = fmt.Sprintf("model-%d", i%7)
		recs[i].Response.Choices[0].Message.Content = fmt.Sprintf("answer %d", i)
	}
	if err := s.WriteRecords(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	wantCount(t, s, int64(len(recs)))
	for _, r := range recs {
		wantRecord(t, s, r)
	}
}

func testCount(t *testing.T, open func(t *testing.T) Store) {
	s := open(t)
	wantCount(t, s, 0)

	steps := []struct {
		name  string
		batch []*lyumen.Record
		want  int64
	}{
		{"empty batch", []*lyumen.Record{}, 0},
		{"nil batch", nil, 0},
		{"three new", []*lyumen.Record{full(id(1)), full(id(2)), full(id(3))}, 3},
		{"three known and two new", []*lyumen.Record{full(id(1)), full(id(2)), full(id(3)), full(id(4)), full(id(5))}, 5},
		{"all known", []*lyumen.Record{full(id(5)), full(id(1))}, 5},
	}
	for _, st := range steps {
		if err := s.WriteRecords(t.Context(), st.batch); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		n, err := s.Count(t.Context())
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if n != st.want {
			t.Errorf("after %s: Count = %d, want %d", st.name, n, st.want)
		}
	}
}

func testNotFound(t *testing.T, open func(t *testing.T) Store) {
	s := open(t)
	if err := s.WriteRecords(t.Context(), []*lyumen.Record{full(id(1))}); err != nil {
		t.Fatal(err)
	}
	rec, err := s.Record(t.Context(), id(2))
	if err == nil {
		t.Fatalf("Record(unknown) = %+v, want an error", rec)
	}
	e, ok := errors.AsType[*lyumen.Error](err)
	if !ok {
		t.Fatalf("Record(unknown) error %q (%T) is not a *lyumen.Error", err, err)
	}
	if e.Kind != lyumen.KindNotFound {
		t.Errorf("Record(unknown) error kind = %v, want KindNotFound (%v)", e.Kind, lyumen.KindNotFound)
	}
}

func testAtomic(t *testing.T, open func(t *testing.T) Store) {
	t.Run("nil record last", func(t *testing.T) {
		s := open(t)
		// The good records come first, so a store that writes row by row
		// has written them before it meets the nil one.
		err := s.WriteRecords(t.Context(), []*lyumen.Record{full(id(1)), full(id(2)), nil})
		if err == nil {
			t.Fatal("WriteRecords with a nil record succeeded, want an error")
		}
		wantCount(t, s, 0)
	})
	t.Run("id not a UUID last", func(t *testing.T) {
		s := open(t)
		err := s.WriteRecords(t.Context(), []*lyumen.Record{full(id(1)), full("not-a-uuid")})
		if err == nil {
			t.Fatal("WriteRecords with an id that is not a UUID succeeded, want an error")
		}
		wantCount(t, s, 0)
	})
	t.Run("canceled context", func(t *testing.T) {
		s := open(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := s.WriteRecords(ctx, []*lyumen.Record{full(id(1))}); err == nil {
			t.Fatal("WriteRecords with a canceled context succeeded, want an error")
		}
		wantCount(t, s, 0)
	})
}

func testConcurrent(t *testing.T, open func(t *testing.T) Store) {
	const writers, batches, size = 8, 10, 25
	s := open(t)
	shared := full(id(0)) // written by every writer in every batch
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				batch := []*lyumen.Record{shared}
				for i := range size {
					batch = append(batch, full(id(1+((w*batches+b)*size+i))))
				}
				if err := s.WriteRecords(t.Context(), batch); err != nil {
					t.Errorf("writer %d batch %d: %v", w, b, err)
					return
				}
			}
		})
	}
	wg.Go(func() { // a reader alongside the writers must neither fail nor block them
		for range batches {
			if _, err := s.Count(t.Context()); err != nil {
				t.Errorf("Count during writes: %v", err)
				return
			}
		}
	})
	wg.Wait()
	wantCount(t, s, 1+writers*batches*size)
	wantRecord(t, s, shared)
	wantRecord(t, s, full(id(writers*batches*size)))
}

// id returns a distinct UUIDv7-shaped id for n: ids are UUIDs, which a
// store may keep as their 16 bytes.
func id(n int) string {
	return fmt.Sprintf("01970000-0000-7000-8000-%012x", n)
}

// full returns a record with every field set, including text that trips
// careless escaping (HTML, quotes, newlines, non-ASCII).
func full(id string) *lyumen.Record {
	return &lyumen.Record{
		ID:          id,
		ReceivedAt:  time.Date(2025, 6, 1, 12, 30, 45, 123456000, time.UTC),
		Duration:    1234567 * time.Microsecond,
		TTFT:        89012 * time.Microsecond,
		Surface:     lyumen.SurfaceOpenAIChat,
		Model:       "gpt-4o",
		ServedModel: "gpt-4o-2024-08-06",
		Provider:    "openai",
		Stream:      true,
		Status:      200,
		Error:       "upstream: stream reset after 3 events",
		Request: []byte(`{"model":"gpt-4o","stream":true,"messages":[` +
			`{"role":"system","content":"You are a weather bot. Answer in one line; say \"<unknown>\" & nothing else when unsure. ✓"},` +
			`{"role":"user","content":"Weather in <b>Paris</b> & Zürich? 🌦"}],` +
			`"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]}`),
		Conversation: &lyumen.Conversation{
			Messages: []lyumen.Message{
				{Role: "system", Content: "You are a weather bot. Answer in one line; say \"<unknown>\" & nothing else when unsure. ✓"},
				{Role: "user", Parts: []lyumen.Part{
					{Type: lyumen.PartText, Text: "Weather in <b>Paris</b> & Zürich? 🌦"},
					{Type: lyumen.PartImage, MediaType: "image/png", Data: "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="},
					{Type: lyumen.PartImage, URL: "https://example.org/a.png"},
				}},
				{Role: "assistant", ToolCalls: []lyumen.ToolCall{{Index: 0, ID: "call_1", Type: "function", Name: "get_weather", Arguments: `{"city":"Paris"}`}},
					Reasoning: "Paris first <then> Zürich.", Refusal: "Not that one."},
				{Role: "tool", Content: "18°C", ToolCallID: "call_1", Name: "get_weather"},
			},
			Tools: []lyumen.Tool{{Name: "get_weather", Description: "Current weather <in> a city",
				Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`), Strict: new(true)}},
			ToolChoice:  &lyumen.ToolChoice{Mode: "tool", Name: "get_weather"},
			MaxTokens:   256,
			Temperature: new(0.2),
			TopP:        new(0.9),
			Stop:        []string{"\n\n", "</answer>"},

			FrequencyPenalty: new(0.5),
			PresencePenalty:  new(-0.25),
		},
		Response: &lyumen.Response{
			ID:    "chatcmpl-123",
			Model: "gpt-4o-2024-08-06",
			Choices: []lyumen.Choice{
				{
					Index: 0,
					Message: lyumen.Message{
						Role:    "assistant",
						Content: "Checking <b>both</b> & \"quoting\"\nline two: Zürich 🌦",
						ToolCalls: []lyumen.ToolCall{
							{Index: 0, ID: "call_1", Type: "function", Name: "get_weather", Arguments: `{"city":"Paris"}`},
							{Index: 1, ID: "call_2", Type: "function", Name: "get_weather", Arguments: `{"city":"Zürich"}`},
						},
						Parts:     []lyumen.Part{{Type: lyumen.PartText, Text: "what is this?"}, {Type: lyumen.PartImage, MediaType: "image/png", Data: "iVBORw0KGgo="}, {Type: lyumen.PartImage, URL: "https://example.org/a.png"}},
						Reasoning: "The user asks about two cities & \"quotes\"; look both up. 🌦",
						Refusal:   "I won't guess.",
					},
					FinishReason: "tool_calls",
				},
				{
					Index:        1,
					Message:      lyumen.Message{Role: "tool", Content: "18°C", ToolCallID: "call_1", Name: "get_weather"},
					FinishReason: "stop",
				},
			},
			Usage: &lyumen.Usage{PromptTokens: 12, CompletionTokens: 34, TotalTokens: 46, CachedTokens: 8, ReasoningTokens: 20},
			Raw:   []byte(`{"id":"chatcmpl-123"}`), // not stored
		},
		Usage:        lyumen.Usage{PromptTokens: 12, CompletionTokens: 34, TotalTokens: 46, CachedTokens: 8, ReasoningTokens: 20},
		UserAgent:    "OpenAI/Python 1.82.0",
		Country:      "DE",
		Completeness: lyumen.UpstreamFailed,
		Attempts: []lyumen.Attempt{
			{Provider: "azure", Model: "gpt-4o", Status: 429, Error: "rate limited", Duration: 35*time.Millisecond + 7},
			{Provider: "openai", Model: "gpt-4o-2024-08-06", Status: 200, Duration: 1200 * time.Millisecond},
		},
	}
}

// recordDiff is cmp.Diff made fast on large bodies (cmp walks a []byte element
// by element) while still telling nil from empty.
func recordDiff(want, got *lyumen.Record) string {
	return cmp.Diff(want, got, cmp.Comparer(func(a, b []byte) bool {
		return (a == nil) == (b == nil) && bytes.Equal(a, b)
	}))
}

// unsetFields lists the exported fields left zero in v and in every struct
// of package lyumen reachable from it. In a slice, a field counts as set when
// any element sets it.
func unsetFields(v reflect.Value, path string) []string {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return []string{path}
		}
		return unsetFields(v.Elem(), path)
	case reflect.Struct:
		if v.Type().PkgPath() != lyumenPkg { // time.Time and the like are values, not records
			return nil
		}
		var unset []string
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			p := path + "." + f.Name
			if v.Field(i).IsZero() {
				unset = append(unset, p)
				continue
			}
			unset = append(unset, unsetFields(v.Field(i), p)...)
		}
		return unset
	case reflect.Slice:
		n := map[string]int{} // how many elements leave each field unset
		for i := range v.Len() {
			for _, p := range unsetFields(v.Index(i), path+"[]") {
				n[p]++
			}
		}
		var unset []string
		for p, c := range n {
			if c == v.Len() {
				unset = append(unset, p)
			}
		}
		slices.Sort(unset)
		return unset
	}
	return nil
}

const lyumenPkg = "github.com/lyumen/lyumen"

// stored returns what a store reads back for r: r without Response.Raw.
func stored(r *lyumen.Record) *lyumen.Record {
	w := *r
	if r.Response != nil {
		resp := *r.Response
		resp.Raw = nil
		w.Response = &resp
	}
	return &w
}

func wantCount(tb testing.TB, s Store, want int64) {
	tb.Helper()
	n, err := s.Count(tb.Context())
	if err != nil {
		tb.Fatal(err)
	}
	if n != want {
		tb.Errorf("Count = %d, want %d", n, want)
	}
}

func wantRecord(tb testing.TB, s Store, r *lyumen.Record) {
	tb.Helper()
	got, err := s.Record(tb.Context(), r.ID)
	if err != nil {
		tb.Fatal(err)
	}
	if diff := recordDiff(stored(r), got); diff != "" {
		tb.Errorf("record %s read back differs (-want +got):\n%s", r.ID, diff)
	}
}
