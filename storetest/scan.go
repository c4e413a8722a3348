package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lyumen/lyumen"
)

// ScanStore is a Store that can stream its records, what export reads.
type ScanStore interface {
	Store
	// Scan calls fn with every record received in [from, to) in order of
	// received_at then id; a zero bound is open. An error from fn stops
	// the scan and is returned as it is.
	Scan(ctx context.Context, from, to time.Time, fn func(*lyumen.Record) error) error
}

// RunScan runs the Scan suite. open has Run's contract.
func RunScan(t *testing.T, open func(t *testing.T) ScanStore) {
	t.Run("reads what Record reads, in order", func(t *testing.T) { testScanOrder(t, open) })
	t.Run("time range", func(t *testing.T) { testScanRange(t, open) })
	t.Run("stops at fn's error", func(t *testing.T) { testScanStop(t, open) })
	t.Run("conversations only, newest first", func(t *testing.T) { testScanConversationsBackward(t, open) })
	t.Run("empty store", func(t *testing.T) {
		s := open(t)
		if err := s.Scan(t.Context(), time.Time{}, time.Time{}, func(*lyumen.Record) error {
			return errors.New("called on an empty store")
		}); err != nil {
			t.Fatal(err)
		}
	})
}

var scanBase = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)

// scanRecords returns n records over several batches' worth, a
// conversation growing turn by turn (so they share blobs), some with the
// same received_at (so the order falls to the id), written out of order.
func scanRecords(n int) []*lyumen.Record {
	recs := make([]*lyumen.Record, n)
	var msgs []lyumen.Message
	for i := range recs {
		r := full(id(i))
		r.ReceivedAt = scanBase.Add(time.Duration(i/3) * time.Second) // three per second
		msgs = append(msgs, lyumen.Message{Role: "user", Content: fmt.Sprintf("turn %d of a long conversation", i%40)})
		if i%40 == 0 {
			msgs = msgs[len(msgs)-1:]
		}
		if r.Conversation == nil {
			r.Conversation = &lyumen.Conversation{}
		}
		r.Conversation.Messages = slices.Clone(msgs)
		body, err := json.Marshal(map[string]any{"model": r.Model, "messages": msgs})
		if err != nil {
			panic(err)
		}
		r.Request = body
		r.Response.Choices[0].Message.Content = fmt.Sprintf("answer %d", i)
		recs[i] = r
	}
	return recs
}

func writeShuffled(tb testing.TB, s Store, recs []*lyumen.Record) {
	tb.Helper()
	shuffled := slices.Clone(recs)
	slices.Reverse(shuffled)
	for len(shuffled) > 0 {
		n := min(300, len(shuffled))
		if err := s.WriteRecords(tb.Context(), shuffled[:n]); err != nil {
			tb.Fatal(err)
		}
		shuffled = shuffled[n:]
	}
}

func testScanOrder(t *testing.T, open func(t *testing.T) ScanStore) {
	s := open(t)
	recs := scanRecords(1234)
	writeShuffled(t, s, recs)
	var got []*lyumen.Record
	err := s.Scan(t.Context(), time.Time{}, time.Time{}, func(r *lyumen.Record) error {
		got = append(got, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(recs) {
		t.Fatalf("Scan gave %d records, want %d", len(got), len(recs))
	}
	for i, r := range got {
		if r.ID != recs[i].ID {
			t.Fatalf("record %d is %s, want %s (order is received_at, then id)", i, r.ID, recs[i].ID)
		}
	}
	for _, i := range []int{0, 1, 499, 500, 501, 1233} { // around the batch edges
		want, err := s.Record(t.Context(), recs[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := recordDiff(want, got[i]); diff != "" {
			t.Errorf("record %d from Scan differs from Record (-Record +Scan):\n%s", i, diff)
		}
	}
}

func testScanRange(t *testing.T, open func(t *testing.T) ScanStore) {
	s := open(t)
	recs := scanRecords(30) // seconds 0..9, three records each
	writeShuffled(t, s, recs)
	at := func(sec int) time.Time { return scanBase.Add(time.Duration(sec) * time.Second) }
	tests := []struct {
		name     string
		from, to time.Time
		want     []int // indexes into recs
	}{
		{name: "open on both ends", want: seq(0, 30)},
		{name: "from is inclusive, to exclusive", from: at(2), to: at(4), want: seq(6, 12)},
		{name: "open end", from: at(8), want: seq(24, 30)},
		{name: "open start", to: at(1), want: seq(0, 3)},
		{name: "bounds in another zone", from: at(2).In(time.FixedZone("X", 3600)), to: at(3).In(time.FixedZone("Y", -7200)), want: seq(6, 9)},
		{name: "nothing in range", from: at(20), to: at(30)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []int
			err := s.Scan(t.Context(), tc.from, tc.to, func(r *lyumen.Record) error {
				i := slices.IndexFunc(recs, func(x *lyumen.Record) bool { return x.ID == r.ID })
				got = append(got, i)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got records %v, want %v", got, tc.want)
			}
		})
	}
}

func seq(from, to int) []int {
	var s []int
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}

func testScanStop(t *testing.T, open func(t *testing.T) ScanStore) {
	s := open(t)
	writeShuffled(t, s, scanRecords(700))
	stop := errors.New("enough")
	n := 0
	err := s.Scan(t.Context(), time.Time{}, time.Time{}, func(*lyumen.Record) error {
		n++
		if n == 550 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Errorf("Scan returned %v, want fn's error", err)
	}
	if n != 550 {
		t.Errorf("fn called %d times, want 550", n)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Scan(ctx, time.Time{}, time.Time{}, func(*lyumen.Record) error { return nil }); err == nil {
		t.Error("Scan with a cancelled context returned nil")
	}
}

// conversationStore is a store that can read only what export needs,
// newest first (optional).
type conversationStore interface {
	ScanConversationsBackward(ctx context.Context, from, to time.Time, fn func(*lyumen.Record) error) error
}

// testScanConversationsBackward checks that ScanConversationsBackward
// gives the records of a range in the reverse of Scan's order, with the
// fields export reads equal to Record's (of the conversation, its
// messages; of the response, its choices), and the rest left out.
func testScanConversationsBackward(t *testing.T, open func(t *testing.T) ScanStore) {
	s := open(t)
	cs, ok := s.(conversationStore)
	if !ok {
		t.Skip("the store has no ScanConversationsBackward")
	}
	recs := scanRecords(1100)
	recs[3].Conversation.Messages[0].Content = strings.Repeat("<b>\"quoted\" déjà vu</b>\n", 20) // a blob shared by no other record
	writeShuffled(t, s, recs)
	for _, tc := range []struct {
		name     string
		from, to int // indexes into recs, to exclusive; -1: open
	}{
		{"all", -1, -1},
		{"range", 3, 1092}, // three records a second: 3 and 1092 start one
	} {
		t.Run(tc.name, func(t *testing.T) {
			var from, to time.Time
			want := recs
			if tc.from >= 0 {
				from, to = recs[tc.from].ReceivedAt, recs[tc.to].ReceivedAt
				want = recs[tc.from:tc.to]
			}
			var got []string
			err := cs.ScanConversationsBackward(t.Context(), from, to, func(r *lyumen.Record) error {
				got = append(got, r.ID)
				full, err := s.Record(t.Context(), r.ID)
				if err != nil {
					return err
				}
				lean := &lyumen.Record{
					ID: full.ID, ReceivedAt: full.ReceivedAt, Surface: full.Surface, Model: full.Model, Usage: full.Usage,
					UserAgent: full.UserAgent, Country: full.Country, Completeness: full.Completeness,
				}
				if full.Conversation != nil {
					lean.Conversation = &lyumen.Conversation{Messages: full.Conversation.Messages}
				}
				if full.Response != nil {
					lean.Response = &lyumen.Response{Choices: full.Response.Choices}
				}
				if diff := recordDiff(lean, r); diff != "" {
					t.Errorf("record %s from ScanConversationsBackward differs from Record's fields (-Record +ScanConversationsBackward):\n%s", r.ID, diff)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range want {
				ids = append(ids, r.ID)
			}
			slices.Reverse(ids)
			if !slices.Equal(got, ids) {
				t.Errorf("read %d records, want %d, newest first; first %v last %v, want %v %v", len(got), len(ids), got[0], got[len(got)-1], ids[0], ids[len(ids)-1])
			}
		})
	}
}
