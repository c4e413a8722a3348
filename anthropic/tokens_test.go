package anthropic_test

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/png"
	"testing"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/anthropic"
)

func pngData(tb testing.TB, w, h int) string {
	tb.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		tb.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func TestCountTokens(t *testing.T) {
	user := func(parts ...lyumen.Part) lyumen.Request {
		return lyumen.Request{Messages: []lyumen.Message{{Role: "user", Parts: parts}}}
	}
	tests := []struct {
		name string
		req  lyumen.Request
		want int
	}{
		{"ASCII text: 3.5 characters a token, 4 a message", lyumen.Request{Messages: []lyumen.Message{{Role: "user", Content: "hello world"}}}, 4 + 4},
		{"non-ASCII: a token a character", lyumen.Request{Messages: []lyumen.Message{{Role: "user", Content: "你好"}}}, 4 + 2},
		{"image by URL: the most an image costs", user(lyumen.Part{Type: "image", URL: "https://x/y.png"}), 4 + 1600},
		{"small PNG: by its size", user(lyumen.Part{Type: "image", MediaType: "image/png", Data: pngData(t, 300, 250)}), 4 + 300*250/750 + 1},
		{"large PNG: scaled as Anthropic scales it", user(lyumen.Part{Type: "image", MediaType: "image/png", Data: pngData(t, 3136, 400)}), 4 + 1568*200/750 + 1},
		{"unreadable image", user(lyumen.Part{Type: "image", MediaType: "image/png", Data: "bm9wZQ=="}), 4 + 1600},
		{"image by file id: the most an image costs", user(lyumen.Part{Type: "anthropic:image_file"}), 4 + 1600},
		{"a search result's text", user(lyumen.Part{Type: "anthropic:search_result", Text: "abcdefg"}), 4 + 2},
		{"tools add the tool-use prompt", lyumen.Request{Tools: []lyumen.Tool{{Name: "get", Parameters: []byte(`{}`)}}}, 346 + 8 + 1 + 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := anthropic.CountTokens(&tc.req); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}

func TestEncodeCountTokens(t *testing.T) {
	if got := string(anthropic.EncodeCountTokens(42)); got != `{"input_tokens":42}` {
		t.Errorf("got %s", got)
	}
}
