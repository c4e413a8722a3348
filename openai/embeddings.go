package openai

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/upstreamhttp"
)

var _ lyumen.Embedder = (*Client)(nil)

// DecodeEmbeddings parses and validates a /v1/embeddings body. The input
// is a string, an array of strings, an array of tokens or an array of
// token arrays; tokens are kept in Body only, for upstreams that speak this
// format. Errors are *lyumen.Error of kind KindInvalid.
func DecodeEmbeddings(body []byte) (*lyumen.EmbedRequest, error) {
	fields, err := decodeObject(body)
	if err != nil {
		return nil, err
	}
	// The body passes through to OpenAI-compatible upstreams: a repeated
	// key could be read one way here and another way there.
	if k := duplicateKey(body, "model", "input", "encoding_format", "dimensions"); k != "" {
		return nil, invalid(k, "duplicate key '%s' in the request body", k)
	}
	var (
		model          *string
		input          json.RawMessage
		encodingFormat *string
		dimensions     *int
	)
	if err := readFields(fields, field{"model", &model}, field{"input", &input},
		field{"encoding_format", &encodingFormat}, field{"dimensions", &dimensions}); err != nil {
		return nil, err
	}
	switch {
	case model == nil || *model == "":
		return nil, invalid("model", "you must provide a model parameter")
	case encodingFormat != nil && *encodingFormat != "float" && *encodingFormat != "base64":
		return nil, invalid("encoding_format", "invalid value for 'encoding_format': '%s' is not one of float, base64", lyumen.Clip(*encodingFormat))
	case dimensions != nil && *dimensions < 1:
		return nil, invalid("dimensions", "'dimensions' must be at least 1")
	}
	texts, err := embeddingInput(input)
	if err != nil {
		return nil, err
	}
	return &lyumen.EmbedRequest{Surface: lyumen.SurfaceOpenAIEmbeddings, Model: *model, Input: texts, Body: body}, nil
}

// embeddingInput returns the texts of input, or nil when it holds tokens.
func embeddingInput(raw json.RawMessage) ([]string, error) {
	const wrongType = "invalid type for 'input': expected a string, an array of strings, an array of tokens or an array of token arrays"
	if isNull(raw) {
		return nil, invalid("input", "missing required parameter: 'input'")
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		if one == "" {
			return nil, invalid("input", "'input' must not be an empty string")
		}
		return []string{one}, nil
	}
	var many []json.RawMessage
	if json.Unmarshal(raw, &many) != nil {
		return nil, invalid("input", wrongType)
	}
	if len(many) == 0 {
		return nil, invalid("input", "'input' must not be an empty array")
	}
	var texts []string
	tokens, tokenArrays := 0, 0
	for i, v := range many {
		var n int
		var ns []int
		switch {
		case isNull(v): // decodes into anything without an error
			return nil, invalid("input", wrongType)
		case json.Unmarshal(v, &one) == nil:
			if one == "" {
				return nil, invalid(fmt.Sprintf("input[%d]", i), "'input[%d]' must not be an empty string", i)
			}
			texts = append(texts, one)
		case json.Unmarshal(v, &n) == nil:
			tokens++
		case json.Unmarshal(v, &ns) == nil && len(ns) > 0:
			tokenArrays++
		default:
			return nil, invalid("input", wrongType)
		}
	}
	switch len(many) {
	case len(texts):
		return texts, nil
	case tokens, tokenArrays:
		return nil, nil // tokens: for upstreams that speak this format only
	}
	return nil, invalid("input", wrongType)
}

// embeddingList is the body of an embeddings answer.
type embeddingList struct {
	Object string          `json:"object"`
	Data   []embeddingItem `json:"data"`
	Model  string          `json:"model"`
	Usage  embeddingUsage  `json:"usage"`
}

type embeddingItem struct {
	Object    string `json:"object"`
	Index     int    `json:"index"`
	Embedding any    `json:"embedding"` // []float64, or a base64 string of little-endian float32s
}

type embeddingUsage struct {
	PromptTokens int `json:"prompt_tokens"`
	TotalTokens  int `json:"total_tokens"`
}

// EncodeEmbeddings renders an embeddings answer: the upstream's own body
// when it speaks this format, else a list built from the vectors, in the
// encoding the request asked for.
func EncodeEmbeddings(resp *lyumen.EmbedResponse, req *lyumen.EmbedRequest) []byte {
	if resp.Raw != nil {
		return resp.Raw
	}
	l := embeddingList{Object: "list", Data: make([]embeddingItem, len(resp.Vectors)), Model: resp.Model}
	if l.Model == "" {
		l.Model = req.Model
	}
	if resp.Usage != nil {
		l.Usage = embeddingUsage{PromptTokens: resp.Usage.PromptTokens, TotalTokens: resp.Usage.TotalTokens}
	}
	b64 := gjson.GetBytes(req.Body, "encoding_format").String() == "base64"
	for i, v := range resp.Vectors {
		l.Data[i] = embeddingItem{Object: "embedding", Index: i, Embedding: v}
		if b64 {
			buf := make([]byte, 4*len(v))
			for j, f := range v {
				binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(float32(f)))
			}
			l.Data[i].Embedding = base64.StdEncoding.EncodeToString(buf)
		}
	}
	b, err := json.Marshal(l)
	if err != nil { // a NaN or an infinity from the upstream
		return []byte(`{"object":"list","data":[],"model":"","usage":{"prompt_tokens":0,"total_tokens":0}}`)
	}
	return b
}

// Embed asks the upstream's /embeddings. A request that arrived on the
// OpenAI surface goes as the client wrote it, with only the model
// rewritten, and the answer comes back as the upstream sent it; one from
// another surface is rebuilt from its texts.
func (c *Client) Embed(ctx context.Context, req *lyumen.EmbedRequest) (*lyumen.EmbedResponse, error) {
	passThrough := req.Surface == lyumen.SurfaceOpenAIEmbeddings
	var body []byte
	var err error
	if passThrough {
		body, err = sjson.SetBytes(req.Body, "model", req.Model)
	} else {
		if req.Input == nil {
			return nil, lyumen.Errorf(lyumen.KindInvalid, "embedding input given as tokens cannot be sent to this model's provider")
		}
		body, err = json.Marshal(struct {
			Model string   `json:"model"`
			Input []string `json:"input"`
		}{req.Model, req.Input})
	}
	if err != nil {
		return nil, fmt.Errorf("build embeddings request: %w", err)
	}
	raw, err := upstreamhttp.PostWhole(ctx, c.http, c.baseURL+"/embeddings", c.header, body, upstreamError)
	if err != nil {
		return nil, err
	}
	root := gjson.ParseBytes(raw)
	valid := gjson.ValidBytes(raw) && root.IsObject()
	if !valid || !root.Get("data").IsArray() {
		// OpenRouter and some proxies answer 200 and put a failure in the
		// body, as they do for chat (chatCompletion.failure): the
		// upstream's error, with the status its code names, which the
		// router may take elsewhere. Looked for only here: on a good
		// answer it would be a second pass over all the vectors.
		if e := root.Get("error"); valid && e.Exists() && e.Type != gjson.Null {
			return nil, upstreamhttp.Clean(bodyError(json.RawMessage(e.Raw)), c.header)
		}
		return nil, &lyumen.Error{Kind: lyumen.KindUpstream, Message: "upstream sent an invalid response"}
	}
	out := &lyumen.EmbedResponse{
		Model: root.Get("model").String(),
		Usage: &lyumen.Usage{
			PromptTokens: int(root.Get("usage.prompt_tokens").Int()),
			TotalTokens:  int(root.Get("usage.total_tokens").Int()),
		},
	}
	if passThrough {
		out.Raw = raw
		return out, nil
	}
	var l struct {
		Data []struct {
			Index     int       `json:"index"`
			Embedding []float64 `json:"embedding"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &l); err != nil {
		return nil, &lyumen.Error{Kind: lyumen.KindUpstream, Message: "upstream sent an invalid response", Err: err}
	}
	out.Vectors = make([][]float64, len(l.Data))
	for i, d := range l.Data {
		if d.Index >= 0 && d.Index < len(out.Vectors) {
			i = d.Index
		}
		out.Vectors[i] = d.Embedding
	}
	return out, nil
}
