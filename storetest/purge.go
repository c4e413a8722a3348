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
	t.Run("the purging handle forgets the purged content", func(t *testing.T) { testPurgeForgottenHere(t, open, remembers) })
	t.Run("the time is a strict bound, for records to come too", func(t *testing.T) { testPurgeBound(t, open) })
	t.Run("the purged time never goes back", func(t *testing.T) { testPurgeTimeKept(t, open) })
	t.Run("by id and by time, counted once", func(t *testing.T) { testPurgeBoth(t, open) })
	t.Run("many ids", func(t *testing.T) { testPurgeManyIDs(t, open) })
}

// testPurgeForgottenHere: the handle that purges a record it wrote holds
// none of its content in memory afterwards.
func testPurgeForgottenHere(t *testing.T, open func(t *testing.T) PurgeStore, remembers func(s PurgeStore, text string) bool) {
	const short = "my name is Queequeg" // under the size of a blob: left in the skeleton
	s := open(t)
	r := withAnswer(id(1), "an answer purged by the process that stored it, long enough")
	r.Request = []byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"` + short + `"}]}`)
	if err := s.WriteRecords(t.Context(), []*lyumen.Record{r}); err != nil {
		t.Fatal(err)
	}
	if !remembers(s, short) {
		t.Fatal("the writer does not remember the short message: the test proves nothing")
	}
	if _, err := s.Purge(t.Context(), lyumen.Purge{IDs: []string{r.ID}}); err != nil {
		t.Fatal(err)
	}
	if remembers(s, short) {
		t.Error("the purging handle still holds the purged record's short message in memory")
	}
}

// testPurgeBound: a purge before T deletes what was received before T, not
// at T; from then on the store refuses a record received before T (a spool
// shipping late) and takes one received at T.
func testPurgeBound(t *testing.T, open func(t *testing.T) PurgeStore) {
	s := open(t)
	at := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	if _, err := s.Purge(t.Context(), lyumen.Purge{Before: at}); err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		name   string
		at     time.Time
		stored bool
	}{
		{"a microsecond before", at.Add(-time.Microsecond), false},
		{"a day before", at.AddDate(0, 0, -1), false},
		{"at the time", at, true},
		{"a microsecond after", at.Add(time.Microsecond), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := withAnswer(id(i), "a record received about the purged time: "+tc.name)
			r.ReceivedAt = tc.at
			if err := s.WriteRecords(t.Context(), []*lyumen.Record{r}); err != nil {
				t.Fatal(err)
			}
			if tc.stored {
				wantRecord(t, s, r)
			} else {
				wantNotFound(t, s, r.ID)
			}
		})
	}
}

// testPurgeTimeKept: a later purge by an earlier time, or by id alone,
// does not bring back what an earlier purge by time refused.
func testPurgeTimeKept(t *testing.T, open func(t *testing.T) PurgeStore) {
	s := open(t)
	at := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	old, other := withAnswer(id(1), "an answer purged by time, long enough to be a blob"), withAnswer(id(2), "an answer purged by id later, long enough")
	old.ReceivedAt, other.ReceivedAt = at.AddDate(0, 0, -2), at.AddDate(0, 0, 1)
	if err := s.WriteRecords(t.Context(), []*lyumen.Record{old, other}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []lyumen.Purge{
		{Before: at},
		{Before: at.AddDate(0, 0, -5)},
		{IDs: []string{other.ID}},
	} {
		if _, err := s.Purge(t.Context(), p); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.WriteRecords(t.Context(), []*lyumen.Record{old, other}); err != nil { // shipped again
		t.Fatal(err)
	}
	wantNotFound(t, s, old.ID)
	wantNotFound(t, s, other.ID)
	wantCount(t, s, 0)
}

// testPurgeBoth: a purge by ids and by time counts each record it deleted
// once, a record named by id and received before the time too.
func testPurgeBoth(t *testing.T, open func(t *testing.T) PurgeStore) {
	s := open(t)
	at := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	var recs []*lyumen.Record
	for i := range 4 {
		r := withAnswer(id(i), fmt.Sprintf("the answer of day %d, long enough to be a blob of its own", i))
		r.ReceivedAt = at.AddDate(0, 0, i)
		recs = append(recs, r)
	}
	if err := s.WriteRecords(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	// Days 0 and 1 by time (day 0 named by id too), day 3 by id.
	got, err := s.Purge(t.Context(), lyumen.Purge{IDs: []string{recs[3].ID, recs[0].ID, id(99)}, Before: at.AddDate(0, 0, 2)})
	if err != nil {
		t.Fatal(err)
	}
	if got.Records != 3 || got.Blobs != 3 || !slices.Equal(got.NotFound, []string{id(99)}) {
		t.Errorf("Purge = %+v, want 3 records, their 3 answers, %s not found", got, id(99))
	}
	wantRecord(t, s, recs[2])
	wantCount(t, s, 1)
}

// testPurgeManyIDs: a purge by more ids than a store puts in one statement
// deletes each of them, and reports just the ones it did not find.
func testPurgeManyIDs(t *testing.T, open func(t *testing.T) PurgeStore) {
	s := open(t)
	const n = 600
	var recs []*lyumen.Record
	var ids, missing []string
	for i := range n {
		if i%250 == 7 { // one missing id in each few hundred
			missing = append(missing, id(100000+i))
			ids = append(ids, id(100000+i))
		}
		r := withAnswer(id(i), fmt.Sprintf("answer %d of many, long enough to be a blob of its own", i))
		recs = append(recs, r)
		if i != n-1 { // the last one stays
			ids = append(ids, r.ID)
		}
	}
	if err := s.WriteRecords(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	got, err := s.Purge(t.Context(), lyumen.Purge{IDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	if got.Records != n-1 || got.Blobs != n-1 || !slices.Equal(got.NotFound, missing) {
		t.Errorf("Purge = {Records:%d Blobs:%d NotFound:%v}, want %d records and answers, %v not found", got.Records, got.Blobs, got.NotFound, n-1, missing)
	}
	wantRecord(t, s, recs[n-1])
	wantCount(t, s, 1)
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
