package dataset

import (
	"encoding/json"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/lyumen/lyumen/redact"
)

// Stats describes an export; it is written as stats.json and summarized in
// the dataset card.
type Stats struct {
	Scanned         int64            `json:"records_scanned"`
	Dropped         map[string]int64 `json:"records_dropped"` // by reason: status, model, …, continued, sample
	Collapsed       int64            `json:"records_collapsed_into_longer_conversations"`
	ExactDuplicates int64            `json:"exact_duplicates"`
	NearDuplicates  int64            `json:"near_duplicates"`
	Dedup           *DedupParams     `json:"near_duplicate_detection,omitempty"`
	Examples        int64            `json:"examples"`
	Splits          map[string]int64 `json:"splits"`
	Redactions      map[string]int64 `json:"redactions_by_kind"`
	Anonymized      bool             `json:"anonymized"`
	Kept            []string         `json:"kinds_not_redacted,omitempty"` // anonymized, but these kinds left as written
	K               int              `json:"k"`                            // countries with fewer conversations are released as ""

	ByDay      map[string]int64 `json:"by_day"`
	ByModel    map[string]int64 `json:"by_model"`
	ByCountry  map[string]int64 `json:"by_country"`
	ByLanguage map[string]int64 `json:"by_language"`
	BySurface  map[string]int64 `json:"by_surface"`
	ByClient   map[string]int64 `json:"by_client_family"`
	ByTurns    map[string]int64 `json:"by_turns"` // "1", "2", …, "10+"

	Turns            int64 `json:"turns"`
	Messages         int64 `json:"messages"`
	Chars            int64 `json:"chars"`
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`

	Seed         uint64        `json:"seed"`
	TestFraction float64       `json:"test_fraction"`
	Filter       FilterSummary `json:"filter"`
	Duration     time.Duration `json:"duration_ns"`
	ThreadBytes  int64         `json:"thread_state_bytes"`
	DedupBytes   int64         `json:"dedup_state_bytes"`
}

// FilterSummary is the filter as released in stats.json.
type FilterSummary struct {
	From         *time.Time `json:"from,omitempty"`
	To           *time.Time `json:"to,omitempty"`
	Models       []string   `json:"models,omitempty"`
	Countries    []string   `json:"countries,omitempty"`
	Languages    []string   `json:"languages,omitempty"`
	Surfaces     []string   `json:"surfaces,omitempty"`
	Completeness []string   `json:"completeness"`
	MinTurns     int        `json:"min_turns,omitempty"`
	MaxTurns     int        `json:"max_turns,omitempty"`
	MinChars     int        `json:"min_chars,omitempty"`
	MaxChars     int        `json:"max_chars,omitempty"`
	Sample       float64    `json:"sample,omitempty"`
}

func newStats(o Options) *Stats {
	f := o.Filter
	fs := FilterSummary{Models: f.Models, Countries: f.Countries, Languages: f.Languages, Surfaces: f.Surfaces,
		MinTurns: f.MinTurns, MaxTurns: f.MaxTurns, MinChars: f.MinChars, MaxChars: f.MaxChars, Sample: f.Sample}
	if !f.From.IsZero() {
		t := f.From.UTC()
		fs.From = &t
	}
	if !f.To.IsZero() {
		t := f.To.UTC()
		fs.To = &t
	}
	for _, c := range f.Completeness {
		fs.Completeness = append(fs.Completeness, string(c))
	}
	return &Stats{
		Dropped: map[string]int64{}, Splits: map[string]int64{}, Redactions: map[string]int64{},
		ByDay: map[string]int64{}, ByModel: map[string]int64{}, ByCountry: map[string]int64{},
		ByLanguage: map[string]int64{}, BySurface: map[string]int64{}, ByClient: map[string]int64{},
		ByTurns: map[string]int64{}, Anonymized: o.Redactor != nil, K: o.K, Kept: kept(o.Redactor),
		Seed: o.Seed, TestFraction: o.TestFraction, Filter: fs,
	}
}

// add notes an exported example.
func (s *Stats) add(ex *Example, counts map[redact.Kind]int) {
	s.Examples++
	s.Splits[ex.Split]++
	for k, n := range counts {
		s.Redactions[string(k)] += int64(n)
	}
	s.ByDay[ex.Hour.Format(time.DateOnly)]++
	s.ByModel[ex.Model]++
	s.ByCountry[orUnknown(ex.Country)]++
	s.ByLanguage[orUnknown(ex.Language)]++
	s.BySurface[ex.Surface]++
	s.ByClient[orUnknown(ex.ClientFamily)]++
	t := "10+"
	if ex.Turns < 10 {
		t = string(rune('0' + ex.Turns))
	}
	s.ByTurns[t]++
	s.Turns += int64(ex.Turns)
	s.Messages += int64(len(ex.Messages))
	s.Chars += int64(ex.Chars)
	s.PromptTokens += int64(ex.PromptTokens)
	s.CompletionTokens += int64(ex.CompletionTokens)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// WriteJSON writes the statistics as indented JSON.
func (s *Stats) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// sortedKeys returns m's keys by descending count, then name.
func sortedKeys(m map[string]int64) []string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int {
		if m[a] != m[b] {
			if m[a] > m[b] {
				return -1
			}
			return 1
		}
		if a < b {
			return -1
		}
		if a > b {
			return 1
		}
		return 0
	})
	return keys
}

// kept names the kinds r leaves as written.
func kept(r *redact.Redactor) []string {
	if r == nil {
		return nil
	}
	var names []string
	for _, k := range r.Off() {
		names = append(names, string(k))
	}
	return names
}
