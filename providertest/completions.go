package providertest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// complete answers a legacy completion as a base model would: "Echo: " and
// the prompt, after the prompt itself with echo, n times for each prompt
// (choice p*n+i is prompt p's i-th), streamed word by word, each choice in
// turn. As at OpenAI, an array of tokens is one prompt, an array of token
// arrays one prompt per array.
func (f *OpenAI) complete(w http.ResponseWriter, r *http.Request, b Behaviour, body map[string]any) {
	model, _ := body["model"].(string)
	var prompts []string
	switch p := body["prompt"].(type) {
	case string:
		prompts = []string{p}
	case []any:
		if isTokens(p) {
			prompts = []string{""} // tokens read as ""
			break
		}
		for _, x := range p {
			s, _ := x.(string) // a prompt of tokens reads as ""
			prompts = append(prompts, s)
		}
	}
	n := 1
	if v, ok := body["n"].(float64); ok && v > 1 {
		n = int(v)
	}
	echo, _ := body["echo"].(bool)
	var texts []string // by choice
	words := 0
	for _, p := range prompts {
		text := EchoText(p)
		if echo {
			text = p + text
		}
		for range n {
			texts = append(texts, text)
			words += len(strings.Fields(text))
		}
	}
	usage := map[string]any{"prompt_tokens": 5, "completion_tokens": words, "total_tokens": 5 + words}
	chunk := func(choices []any) map[string]any {
		return map[string]any{"id": "cmpl-fake", "object": "text_completion", "created": 1700000000, "model": model, "choices": choices}
	}
	choice := func(i int, text string, finish any) map[string]any {
		return map[string]any{"text": text, "index": i, "logprobs": nil, "finish_reason": finish}
	}
	if stream, _ := body["stream"].(bool); !stream {
		var choices []any
		for i, text := range texts {
			choices = append(choices, choice(i, text, "stop"))
		}
		c := chunk(choices)
		c["usage"] = usage
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(c)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	rc := http.NewResponseController(w)
	sent := 0
	send := func(v any) bool {
		if b.DieAfter > 0 && sent == b.DieAfter { // cut without ending the body, as a crash does
			if conn, _, err := rc.Hijack(); err == nil {
				conn.Close()
			}
			return false
		}
		data, _ := json.Marshal(v)
		fmt.Fprintf(w, "data: %s\n\n", data)
		sent++
		return rc.Flush() == nil
	}
	for i, text := range texts {
		for _, word := range strings.SplitAfter(text, " ") {
			if !send(chunk([]any{choice(i, word, nil)})) {
				return
			}
		}
		if !send(chunk([]any{choice(i, "", "stop")})) {
			return
		}
	}
	if opts, _ := body["stream_options"].(map[string]any); opts["include_usage"] == true {
		c := chunk([]any{})
		c["usage"] = usage
		if !send(c) {
			return
		}
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	rc.Flush()
}
