package anthropic

import (
	"strconv"

	"github.com/lyumen/lyumen/internal/jsontext"
)

// Most events of a translated stream are a content_block_delta with a few
// words of text. They are rendered here by appending, without
// encoding/json's reflection, which was most of what such a stream cost
// per token (profiled with bench/cmd/translatebench). The bytes are exactly
// what json.Marshal makes of the same blockDelta; stream_text_internal_test.go
// checks it.

// appendTextDelta appends the data of a content_block_delta with a
// text_delta, as appendEvent renders blockDelta{Delta: textDelta{…}}.
func appendTextDelta(dst []byte, index int, text string) []byte {
	dst = append(dst, `{"type":"content_block_delta","index":`...)
	dst = strconv.AppendInt(dst, int64(index), 10)
	dst = append(dst, `,"delta":{"type":"text_delta","text":`...)
	dst = jsontext.AppendString(dst, text)
	return append(dst, `}}`...)
}
