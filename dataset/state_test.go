package dataset_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/dataset"
	"github.com/lyumen/lyumen/dataset/datasettest"
)

// TestExport_StateReleased exports the same records with the state tables
// kept in memory and with them released to the page cache after every
// operation (a one-byte budget): the output must be the same.
func TestExport_StateReleased(t *testing.T) {
	var recs []*lyumen.Record
	for c := range 3000 { // conversations of 1 to 3 turns, every tenth an exact duplicate of an earlier one
		topic := c
		if c%10 == 9 {
			topic = c - 3 // the same number of turns
		}
		user := fmt.Sprintf("question number %d about topic %d, with a few more words to shingle", topic, topic*7)
		answer := fmt.Sprintf("the answer to question %d is %d, as everyone knows by now", topic, topic*13)
		msgs := []string{user}
		for turn := range 1 + c%3 {
			recs = append(recs, datasettest.Rec(fmt.Sprintf("c%05d-t%d", c, turn), c, answer, msgs...))
			msgs = append(msgs, answer, fmt.Sprintf("and then what about turn %d of %d?", turn, topic))
		}
	}
	wantSink, wantSt := export(t, recs, dataset.Options{})
	gotSink, gotSt := export(t, recs, dataset.Options{StateMemory: 1, TempDir: t.TempDir()})
	if got, want := gotSink.ids(), wantSink.ids(); !slices.Equal(got, want) {
		t.Errorf("exported %d conversations with the state released, %d without", len(got), len(want))
	}
	opt := cmp.FilterPath(func(p cmp.Path) bool { // how long it took differs
		return p.Last().String() == ".Duration"
	}, cmp.Ignore())
	if diff := cmp.Diff(wantSt, gotSt, opt); diff != "" {
		t.Errorf("stats differ (-in memory +released):\n%s", diff)
	}
	if wantSt.ExactDuplicates == 0 || wantSt.Collapsed == 0 {
		t.Errorf("the records test nothing: %d exact duplicates, %d collapsed", wantSt.ExactDuplicates, wantSt.Collapsed)
	}
}
