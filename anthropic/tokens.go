package anthropic

import (
	"encoding/base64"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/lyumen/lyumen"
)

// Constants of the token estimate; see CountTokens.
const (
	charsPerToken  = 3.5  // ASCII characters per token of English text or code
	messageTokens  = 4    // a message's role and framing
	toolTokens     = 8    // a tool definition's framing
	toolUsePrompt  = 346  // the system prompt Anthropic adds when tools are offered
	maxImageTokens = 1600 // the most an image costs, once Anthropic has scaled it to 1.15 megapixels
	pixelsPerToken = 750  // Anthropic's image cost: width × height / 750
	maxImageEdge   = 1568 // Anthropic scales the long edge down to this
)

// CountTokens estimates the input tokens of req for
// /v1/messages/count_tokens, offline and without the upstream: the gateway
// cannot run Claude's tokenizer, and an upstream call per count would cost
// the operator a request. The estimate is deliberately simple and errs
// high rather than low, since clients use it to stay inside a context
// window:
//
//   - text: ASCII characters / 3.5 (rounded up), plus one token per
//     non-ASCII character (CJK text is about one token per character;
//     accented Latin text is overcounted);
//   - each message: 4 tokens of framing;
//   - each image: width × height / 750 after Anthropic's scaling (long edge
//     at most 1568 px, at most 1.15 megapixels), read from the header of
//     inline PNG, JPEG and GIF data; 1,600 tokens (the most an image can
//     cost) for a URL, a file id or another format;
//   - documents and search results: their text (a PDF's is not read, and
//     counts nothing);
//   - tools: their name, description and schema as text, 8 tokens each,
//     and 346 for the tool-use system prompt Anthropic adds.
func CountTokens(req *lyumen.Request) int {
	n := 0
	for i := range req.Messages {
		m := &req.Messages[i]
		n += messageTokens + textTokens(m.Content)
		for _, p := range m.Parts {
			switch {
			case p.Type == lyumen.PartImage:
				n += imageTokens(p)
			case strings.HasPrefix(p.Type, partPrefix+"image_"): // a Files API image: its size is unknown
				n += maxImageTokens
			default:
				n += textTokens(p.Text)
			}
		}
		for _, tc := range m.ToolCalls {
			n += toolTokens + textTokens(tc.ID) + textTokens(tc.Name) + textTokens(tc.Arguments)
		}
		n += textTokens(m.ToolCallID)
	}
	if len(req.Tools) > 0 {
		n += toolUsePrompt
	}
	for _, t := range req.Tools {
		n += toolTokens + textTokens(t.Name) + textTokens(t.Description) + textTokens(string(t.Parameters))
	}
	return n
}

// EncodeCountTokens renders the count_tokens answer.
func EncodeCountTokens(n int) []byte {
	return append(strconv.AppendInt([]byte(`{"input_tokens":`), int64(n), 10), '}')
}

func textTokens(s string) int {
	ascii, other := 0, 0
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			ascii++
			i++
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		other++
		i += size
	}
	return int(math.Ceil(float64(ascii)/charsPerToken)) + other
}

// imageTokens is Anthropic's cost of an image, from its size when the
// image's header can be read.
func imageTokens(p lyumen.Part) int {
	if p.Data == "" {
		return maxImageTokens
	}
	r := base64.NewDecoder(base64.StdEncoding, strings.NewReader(p.Data))
	var decode func(io.Reader) (image.Config, error)
	switch p.MediaType {
	case "image/png":
		decode = png.DecodeConfig
	case "image/jpeg":
		decode = jpeg.DecodeConfig
	case "image/gif":
		decode = gif.DecodeConfig
	default:
		return maxImageTokens
	}
	cfg, err := decode(r)
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return maxImageTokens
	}
	w, h := float64(cfg.Width), float64(cfg.Height)
	if long := max(w, h); long > maxImageEdge {
		w, h = w*maxImageEdge/long, h*maxImageEdge/long
	}
	// Anthropic also scales images down to 1.15 megapixels (1,533 tokens):
	// the cap at 1,600 covers that, erring high.
	return min(int(w*h/pixelsPerToken)+1, maxImageTokens)
}
