package openai

import (
	"fmt"
	"testing"

	"github.com/lyumen/lyumen"
)

// TestParseChunk_Bounds: a chunk numbering a choice or a tool call past
// what a stream may hold is malformed. Every fragment looks its call up
// by index; an upstream numbering 80,000 calls in one event cost seconds.
func TestParseChunk_Bounds(t *testing.T) {
	for _, tc := range []struct {
		choice, call int
		ok           bool
	}{
		{0, 0, true},
		{lyumen.MaxChoices - 1, lyumen.MaxToolCalls - 1, true},
		{lyumen.MaxChoices, 0, false},
		{0, lyumen.MaxToolCalls, false},
		{0, 1 << 40, false},
	} {
		data := fmt.Sprintf(`{"id":"c","choices":[{"index":%d,"delta":{"tool_calls":[{"index":%d,"function":{"arguments":"{"}}]}}]}`, tc.choice, tc.call)
		if _, err := parseChunk([]byte(data)); (err == nil) != tc.ok {
			t.Errorf("choice %d, call %d: err %v, want ok %v", tc.choice, tc.call, err, tc.ok)
		}
	}
}
