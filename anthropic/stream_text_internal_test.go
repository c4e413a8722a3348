package anthropic

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen/internal/jsontext"
	"github.com/lyumen/lyumen/internal/sse"
)

// TestAppendTextDelta checks that the fast path renders the same bytes as
// encoding/json.
func TestAppendTextDelta(t *testing.T) {
	for _, s := range jsontext.Strings {
		for _, index := range []int{0, 3, 12} {
			want := appendEvent(nil, "content_block_delta", blockDelta{Type: "content_block_delta", Index: index,
				Delta: textDelta{Type: "text_delta", Text: s}})
			got := sse.AppendData(nil, "content_block_delta", appendTextDelta(nil, index, s))
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("text %q at %d (-json +fast):\n%s", s, index, diff)
			}
		}
	}
}

// BenchmarkTextDelta compares the fast path for a text content_block_delta
// with encoding/json.
func BenchmarkTextDelta(b *testing.B) {
	dst := make([]byte, 0, 1024)
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf = appendTextDelta(buf[:0], 0, " reverse")
			dst = sse.AppendData(dst[:0], "content_block_delta", buf)
		}
	})
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			dst = appendEvent(dst[:0], "content_block_delta", blockDelta{Type: "content_block_delta", Index: 0,
				Delta: textDelta{Type: "text_delta", Text: " reverse"}})
		}
	})
}
