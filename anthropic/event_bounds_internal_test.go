package anthropic

import (
	"fmt"
	"testing"

	"github.com/lyumen/lyumen"
)

// TestParse_ToolBlockBound: a stream may number at most
// lyumen.MaxToolCalls tool calls; the block past them is malformed.
// Every input_json_delta looks its call up among them.
func TestParse_ToolBlockBound(t *testing.T) {
	var p parser
	start := func(i int) error {
		_, _, err := p.parse("content_block_start", fmt.Appendf(nil, `{"type":"content_block_start","index":%d,"content_block":{"type":"tool_use","id":"t%d","name":"f","input":{}}}`, i, i))
		return err
	}
	for i := range lyumen.MaxToolCalls {
		if err := start(i); err != nil {
			t.Fatalf("tool block %d: %v", i, err)
		}
	}
	if err := start(lyumen.MaxToolCalls); err == nil {
		t.Errorf("tool block %d: taken", lyumen.MaxToolCalls)
	}
}
