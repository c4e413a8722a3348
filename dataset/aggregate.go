package dataset

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/lyumen/lyumen"
)

// Dimensions Aggregate counts by.
var Dimensions = []string{"day", "model", "country", "language", "surface"}

// Aggregates are record counts by day, model, country, language and
// surface, with small cells suppressed: a value counted fewer than K times
// is not shown; such values are merged into one "(suppressed)" cell, shown
// only as "<K" when that sum is itself below K. Nothing released names a
// group of fewer than K records (k-anonymity over each dimension).
type Aggregates struct {
	From    *time.Time `json:"from,omitempty"`
	To      *time.Time `json:"to,omitempty"`
	K       int        `json:"k"`
	Records int64      `json:"records"`
	Tables  []Table    `json:"tables"`
}

// Table is the counts over one dimension.
type Table struct {
	Dimension string `json:"dimension"`
	Rows      []Row  `json:"rows"`
}

// Row is one cell. A suppressed cell has Value "(suppressed)", and Count
// -1 when its count is below K ("<K").
type Row struct {
	Value string `json:"value"`
	Count int64  `json:"count"`
}

// Suppressed is the Value of the merged small cells.
const Suppressed = "(suppressed)"

// AggregateOptions selects the records counted.
type AggregateOptions struct {
	From, To time.Time
	K        int // default 10
	// Completeness of the records counted; nil counts every record.
	Completeness []lyumen.Completeness
	OnProgress   func(Progress)
}

// Aggregate counts the records of src.
func Aggregate(ctx context.Context, src Source, o AggregateOptions) (*Aggregates, error) {
	if o.K <= 0 {
		o.K = 10
	}
	counts := map[string]map[string]int64{}
	for _, d := range Dimensions {
		counts[d] = map[string]int64{}
	}
	var n, counted int64
	prog := newTicker(o.OnProgress)
	err := src.Scan(ctx, o.From, o.To, func(r *lyumen.Record) error {
		n++
		prog.tick(Progress{Done: n})
		if len(o.Completeness) > 0 && !contains(o.Completeness, r.Completeness) {
			return nil
		}
		lang := ""
		if r.Conversation != nil {
			msgs := make([]Message, 0, len(r.Conversation.Messages))
			for i := range r.Conversation.Messages {
				if r.Conversation.Messages[i].Role == "user" {
					msgs = append(msgs, message(&r.Conversation.Messages[i]))
				}
			}
			lang = Language(msgs)
		}
		counted++
		counts["day"][r.ReceivedAt.UTC().Format(time.DateOnly)]++
		counts["model"][r.Model]++
		counts["country"][orUnknown(r.Country)]++
		counts["language"][orUnknown(lang)]++
		counts["surface"][string(r.Surface)]++
		return nil
	})
	prog.flush(Progress{Done: n})
	if err != nil {
		return nil, fmt.Errorf("aggregate: %w", err)
	}
	a := &Aggregates{K: o.K, Records: counted}
	if !o.From.IsZero() {
		t := o.From.UTC()
		a.From = &t
	}
	if !o.To.IsZero() {
		t := o.To.UTC()
		a.To = &t
	}
	for _, d := range Dimensions {
		t := Table{Dimension: d}
		var small, smallN int64
		for _, v := range sortedKeys(counts[d]) {
			c := counts[d][v]
			if c < int64(o.K) {
				small += c
				smallN++
				continue
			}
			t.Rows = append(t.Rows, Row{Value: v, Count: c})
		}
		if smallN == 1 && len(t.Rows) > 0 {
			// One cell alone under k would be the total less the rest, and
			// its value the one missing (a day between two shown): the
			// smallest shown cell goes in with it.
			i := 0
			for j, r := range t.Rows {
				if r.Count < t.Rows[i].Count {
					i = j
				}
			}
			small += t.Rows[i].Count
			smallN++
			t.Rows = slices.Delete(t.Rows, i, i+1)
		}
		if smallN > 0 {
			if small < int64(o.K) {
				small = -1
			}
			t.Rows = append(t.Rows, Row{Value: Suppressed, Count: small})
		}
		a.Tables = append(a.Tables, t)
	}
	return a, nil
}

func contains[T comparable](s []T, v T) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// WriteJSON writes the aggregates as indented JSON.
func (a *Aggregates) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(a)
}

// WriteCSV writes dimension,value,count rows; a suppressed count below K
// is written "<K".
func (a *Aggregates) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"dimension", "value", "count"}); err != nil {
		return err
	}
	for _, t := range a.Tables {
		for _, r := range t.Rows {
			if err := cw.Write([]string{t.Dimension, r.Value, a.countText(r)}); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteText writes the tables for a terminal.
func (a *Aggregates) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "%d records; cells under k=%d suppressed\n", a.Records, a.K)
	for _, t := range a.Tables {
		fmt.Fprintf(w, "\nby %s\n", t.Dimension)
		for _, r := range t.Rows {
			fmt.Fprintf(w, "  %-32s %12s\n", r.Value, a.countText(r))
		}
	}
	_, err := fmt.Fprintln(w)
	return err
}

func (a *Aggregates) countText(r Row) string {
	if r.Count < 0 {
		return "<" + strconv.Itoa(a.K)
	}
	return strconv.FormatInt(r.Count, 10)
}
