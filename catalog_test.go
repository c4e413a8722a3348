package lyumen_test

import (
	"testing"

	"github.com/lyumen/lyumen"
)

// TestModel_AnswerLimit: what the router asks an upstream for and what the
// admission charges for, under a model's cap.
func TestModel_AnswerLimit(t *testing.T) {
	for _, tc := range []struct {
		name       string
		cap        int
		req        lyumen.Request
		want       int
		wantCapped bool
	}{
		{"no cap", 0, lyumen.Request{MaxTokens: 500}, 500, false},
		{"unset is capped", 100, lyumen.Request{}, 100, true},
		{"above is capped", 100, lyumen.Request{MaxTokens: 500}, 100, true},
		{"below is kept", 100, lyumen.Request{MaxTokens: 50}, 50, false},
		{"a prompt to score asks for none", 100, lyumen.Request{ScoreOnly: true}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := lyumen.Model{MaxTokens: tc.cap}
			if n, capped := m.AnswerLimit(&tc.req); n != tc.want || capped != tc.wantCapped {
				t.Errorf("AnswerLimit = %d, %v; want %d, %v", n, capped, tc.want, tc.wantCapped)
			}
		})
	}
}
