package gemini

import (
	"fmt"
	"strings"
	"testing"

	"github.com/lyumen/lyumen"
)

// TestParse_Bounds: a chunk numbering a candidate past what a client may
// ask for, or bringing more calls than a stream may number, is malformed.
func TestParse_Bounds(t *testing.T) {
	call := `{"functionCall":{"name":"f","args":{}}}`
	calls := func(n int) string { return strings.TrimSuffix(strings.Repeat(call+",", n), ",") }
	for _, tc := range []struct {
		name  string
		index int
		calls []int // per chunk
		ok    bool
	}{
		{"text", lyumen.MaxChoices - 1, nil, true},
		{"index past the choices", lyumen.MaxChoices, nil, false},
		{"index far past", 1 << 40, nil, false},
		{"the most calls", 0, []int{lyumen.MaxToolCalls / 2, lyumen.MaxToolCalls / 2}, true},
		{"one call too many, over two chunks", 0, []int{lyumen.MaxToolCalls, 1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p parser
			chunks := []string{fmt.Sprintf(`{"candidates":[{"index":%d,"content":{"parts":[{"text":"a"}]}}]}`, tc.index)}
			for _, n := range tc.calls {
				chunks = append(chunks, fmt.Sprintf(`{"candidates":[{"index":%d,"content":{"parts":[%s]}}]}`, tc.index, calls(n)))
			}
			var err error
			for _, c := range chunks {
				if _, err = p.parse([]byte(c)); err != nil {
					break
				}
			}
			if (err == nil) != tc.ok {
				t.Errorf("err %v, want ok %v", err, tc.ok)
			}
		})
	}
}

// TestParse_UnusableToolCall: a candidate that ended on a tool call Gemini
// could not deliver is an upstream failure, not an empty answer that
// stopped: a client's agent loop takes a stop for the final reply.
func TestParse_UnusableToolCall(t *testing.T) {
	for _, reason := range []string{"MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS"} {
		for _, chunk := range []string{
			`{"candidates":[{"finishReason":"` + reason + `","index":0}],"modelVersion":"gemini-2.5-flash"}`,
			`{"candidates":[{"content":{"parts":[{"text":"Let me look."}],"role":"model"},"finishReason":"` + reason + `","index":0}]}`,
		} {
			var p parser
			if _, err := p.parse([]byte(chunk)); lyumen.KindOf(err) != lyumen.KindUpstream || !strings.Contains(err.Error(), reason) {
				t.Errorf("stream chunk %s: %v, want an upstream error naming the reason", chunk, err)
			}
			if _, err := decodeResponse([]byte(chunk)); lyumen.KindOf(err) != lyumen.KindUpstream {
				t.Errorf("whole answer %s: %v, want an upstream error", chunk, err)
			}
		}
	}
}

// TestParameters_FreeForm: a tool whose schema lets an object take keys of
// the caller's choosing, at the top or below, untyped or not, goes as JSON
// Schema (Gemini's Schema has no such object); the others as a Schema.
func TestParameters_FreeForm(t *testing.T) {
	for _, tc := range []struct {
		schema     string
		jsonSchema bool
		none       bool // no parameters at all
	}{
		{`{"type":"object","additionalProperties":{"type":"string"}}`, true, false},
		{`{"type":"object","properties":{"m":{"additionalProperties":{"type":"string"}}}}`, true, false},
		{`{"type":"object","properties":{"m":{"type":"object"}}}`, true, false},
		{`{"type":"object","properties":{"a":{"$ref":"#/$defs/M"}},"$defs":{"M":{"type":"object","additionalProperties":true}}}`, true, false},
		{`{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}`, false, false},
		{`{"type":"object","properties":{},"additionalProperties":false}`, false, true},
		{`{"type":"object"}`, false, true},
	} {
		params, jsonSchema, err := parameters(lyumen.Tool{Name: "t", Parameters: []byte(tc.schema)})
		if err != nil || jsonSchema != tc.jsonSchema || (params == nil) != tc.none {
			t.Errorf("%s: %s, JSON Schema %v, %v; want JSON Schema %v, none %v", tc.schema, params, jsonSchema, err, tc.jsonSchema, tc.none)
		}
	}
}
