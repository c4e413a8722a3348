package providertest

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"strings"
)

// EmbeddingDims is the length of the fake's vectors unless the request
// asks for other dimensions.
const EmbeddingDims = 8

// Embedding is the vector the fake answers for text: deterministic, of
// length dims, each component in [-1, 1) and exact in float32, so it
// survives the base64 encoding unchanged.
func Embedding(text string, dims int) []float64 {
	v := make([]float64, dims)
	for i := range v {
		h := fnv.New32a()
		fmt.Fprintf(h, "%d:%s", i, text)
		v[i] = float64(int(h.Sum32()%256)-128) / 128
	}
	return v
}

// embed answers POST /v1/embeddings. Token inputs are embedded by their
// JSON text; usage counts words (or tokens). As at OpenAI, an array of
// tokens is one input, an array of token arrays one input per array.
func embed(w http.ResponseWriter, body map[string]any) {
	dims := EmbeddingDims
	if d, ok := body["dimensions"].(float64); ok && d >= 1 {
		dims = int(d)
	}
	var inputs []string
	tokens := 0
	switch in := body["input"].(type) {
	case string:
		inputs = []string{in}
	case []any:
		if isTokens(in) {
			b, _ := json.Marshal(in)
			inputs = []string{string(b)}
			break
		}
		for _, x := range in {
			if s, ok := x.(string); ok {
				inputs = append(inputs, s)
				continue
			}
			b, _ := json.Marshal(x)
			inputs = append(inputs, string(b))
		}
	default:
		writeError(w, http.StatusBadRequest, "'input' is required")
		return
	}
	b64 := body["encoding_format"] == "base64"
	data := make([]any, len(inputs))
	for i, text := range inputs {
		tokens += max(len(strings.Fields(text)), 1)
		v := Embedding(text, dims)
		var emb any = v
		if b64 {
			buf := make([]byte, 4*dims)
			for j, f := range v {
				binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(float32(f)))
			}
			emb = base64.StdEncoding.EncodeToString(buf)
		}
		data[i] = map[string]any{"object": "embedding", "index": i, "embedding": emb}
	}
	model, _ := body["model"].(string)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"object": "list", "data": data, "model": model,
		"usage": map[string]any{"prompt_tokens": tokens, "total_tokens": tokens},
	})
}

// isTokens reports that xs, a prompt or an input, is one text given as
// tokens: a non-empty array of numbers.
func isTokens(xs []any) bool {
	for _, x := range xs {
		if _, ok := x.(float64); !ok {
			return false
		}
	}
	return len(xs) > 0
}
