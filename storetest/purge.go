package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/lyumen/lyumen"
)

// PurgeStore is a Store that deletes records for good.
type PurgeStore interface {
	Store
	Purge(ctx context.Context, p lyumen.Purge) (lyumen.Purged, error)
}

// RunPurge checks Purge. open returns a new, empty store; second returns
// another handle on the store it is given, as another process would open
// it (its own memory of the blobs it stored). remembers reports whether a
// store's handle holds text in memory (the skeletons its packer keeps).
func RunPurge(t *testing.T, open func(t *testing.T) PurgeStore, second func(t *testing.T, s PurgeStore) PurgeStore,
	remembers func(s PurgeStore, text string) bool) {
	t.Run("by id, shared content stays", func(t *testing.T) { testPurgeByID(t, open) })
	t.Run("by time", func(t *testing.T) { testPurgeBefore(t, open) })
	t.Run("not by a time to come", func(t *testing.T) { testPurgeFuture(t, open) })
	t.Run("another writer's memory of blobs", func(t *testing.T) { testPurgeOtherWriter(t, open, second) })
	t.Run("purged records do not come back", func(t *testing.T) { testPurgeNoReturn(t, open) })
	t.Run("another writer forgets the purged content", func(t *testing.T) { testPurgeForgotten(t, open, second, remembers) })
}

// testPurgeForgotten: a short message stays in its record's skeleton,
// which a writer remembers. Once another process purged the record, and
// the writer's spool shipped it again (which the store drops), the writer
// holds none of it in memory.
func testPurgeForgotten(t *testing.T, open func(t *testing.T) PurgeStore, second func(t *testing.T, s PurgeStore) PurgeStore,
	remembers func(s PurgeStore, text string) bool) {
	const short = "call me Ishmael" // under the size of a blob: left in the skeleton
	w := open(t)
	other := second(t, w)
	r := withAnswer(id(1), "an answer purged by another process, long enough")
	r.Request = []byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"` + short + `"}]}`)
	if err := w.WriteRecords(t.Context(), []*lyumen.Record{r}); err != nil {
		t.Fatal(err)
	}
	if !remembers(w, short) {
		t.Fatal("the writer does not remember the short message: the test proves nothing")
	}
	if _, err := other.Purge(t.Context(), lyumen.Purge{IDs: []string{r.ID}}); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteRecords(t.Context(), []*lyumen.Record{r}); err != nil { // shipped again
		t.Fatal(err)
	}
	wantNotFound(t, w, r.ID)
	if remembers(w, short) {
		t.Error("the writer still holds the purged record's short message in memory")
	}
}

// testPurgeNoReturn: a spool may ship a record again after the purge (a
// crash before it noted the batch as stored); the store must drop it.
func testPurgeNoReturn(t *testing.T, open func(t *testing.T) PurgeStore) {
	s := open(t)
	at := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	old, byID, kept := withAnswer(id(1), "an old answer, long enough to be a blob"), withAnswer(id(2), "an answer purged by id, long enough"), withAnswer(id(3), "an answer that stays, long enough to be a blob")
	old.ReceivedAt, byID.ReceivedAt, kept.ReceivedAt = at, at.AddDate(0, 0, 2), at.AddDate(0, 0, 3)
	batch := []*lyumen.Record{old, byID, kept}
	if err := s.WriteRecords(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Purge(t.Context(), lyumen.Purge{IDs: []string{byID.ID}, Before: at.AddDate(0, 0, 1)}); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteRecords(t.Context(), batch); err != nil { // shipped again
		t.Fatal(err)
	}
	wantNotFound(t, s, old.ID)
	wantNotFound(t, s, byID.ID)
	wantRecord(t, s, kept)
	wantCount(t, s, 1)
}

// withAnswer is full(id) with its own answer: content no other record has
// (at least 32 bytes, or it stays in the record; see internal/pack).
func withAnswer(id, answer string) *lyumen.Record {
	r := full(id)
	r.Response.Choices[0].Message.Content = answer
	return r
}

func testPurgeByID(t *testing.T, open func(t *testing.T) PurgeStore) {
	s := open(t)
	a, b := withAnswer(id(1), "only a's answer, long enough to be a blob of its own: 8f3e2c"), withAnswer(id(2), "only b's answer, long enough to be a blob of its own: 19d7aa")
	if err := s.WriteRecords(t.Context(), []*lyumen.Record{a, b}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Purge(t.Context(), lyumen.Purge{IDs: []string{a.ID, id(99)}})
	if err != nil {
		t.Fatal(err)
	}
	// a's own answer goes; the prompt and everything else it shares with b stays.
	if got.Records != 1 || got.Blobs != 1 || !slices.Equal(got.NotFound, []string{id(99)}) {
		t.Errorf("Purge = %+v, want 1 record, 1 blob (a's answer), %s not found", got, id(99))
	}
	wantNotFound(t, s, a.ID)
	wantRecord(t, s, b)
	wantCount(t, s, 1)

	// Then b: its content has nobody left to share it with.
	got, err = s.Purge(t.Context(), lyumen.Purge{IDs: []string{b.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Records != 1 || got.Blobs < 2 || len(got.NotFound) != 0 {
		t.Errorf("Purge = %+v, want 1 record and all its blobs", got)
	}
	wantCount(t, s, 0)
}

func testPurgeBefore(t *testing.T, open func(t *testing.T) PurgeStore) {
	s := open(t)
	at := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	var recs []*lyumen.Record
	for i := range 3 {
		r := withAnswer(id(i), fmt.Sprintf("the answer of day %d, long enough to be a blob of its own", i))
		r.ReceivedAt = at.AddDate(0, 0, i)
		recs = append(recs, r)
	}
	if err := s.WriteRecords(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	got, err := s.Purge(t.Context(), lyumen.Purge{Before: at.AddDate(0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if got.Records != 1 || got.Blobs != 1 {
		t.Errorf("Purge = %+v, want the first day's record and its answer", got)
	}
	wantNotFound(t, s, recs[0].ID)
	wantRecord(t, s, recs[1])
	wantRecord(t, s, recs[2])
}

// testPurgeFuture: a purge before a time later than now is refused, and
// changes nothing: the store would have refused every record received
// until then, answered and never stored.
func testPurgeFuture(t *testing.T, open func(t *testing.T) PurgeStore) {
	s := open(t)
	if _, err := s.Purge(t.Context(), lyumen.Purge{Before: time.Now().Add(time.Hour)}); err == nil {
		t.Fatal("a purge before a time to come was taken")
	}
	r := withAnswer(id(7), "an answer received after the refused purge, long enough to be a blob")
	r.ReceivedAt = time.Now().UTC().Truncate(time.Microsecond) // as stores keep it
	if err := s.WriteRecords(t.Context(), []*lyumen.Record{r}); err != nil {
		t.Fatal(err)
	}
	wantRecord(t, s, r)
}

// testPurgeOtherWriter: a writer skips the blobs it remembers storing. A
// purge through another handle deletes one; the writer must store it
// again when a later record brings the same content.
func testPurgeOtherWriter(t *testing.T, open func(t *testing.T) PurgeStore, second func(t *testing.T, s PurgeStore) PurgeStore) {
	w := open(t)
	p := second(t, w)
	a, c := withAnswer(id(1), "the same answer twice, long enough to be a blob: 5b0c"), withAnswer(id(3), "the same answer twice, long enough to be a blob: 5b0c")
	if err := w.WriteRecords(t.Context(), []*lyumen.Record{a}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Purge(t.Context(), lyumen.Purge{IDs: []string{a.ID}}); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteRecords(t.Context(), []*lyumen.Record{c}); err != nil {
		t.Fatal(err)
	}
	wantRecord(t, w, c)
	wantRecord(t, p, c)
}

func wantNotFound(tb testing.TB, s Store, id string) {
	tb.Helper()
	_, err := s.Record(tb.Context(), id)
	var le *lyumen.Error
	if !errors.As(err, &le) || le.Kind != lyumen.KindNotFound {
		tb.Errorf("Record(%s) after purge: %v, want not found", id, err)
	}
}
