package providertest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// complete answers a legacy completion as a base model would: "Echo: " and
// the prompt (the first, when there are several), after the prompt itself
// with echo, once per n; streamed word by word, each choice in turn.
func (f *OpenAI) complete(w http.ResponseWriter, r *http.Request, b Behaviour, body map[string]any) {
	model, _ := body["model"].(string)
	prompt, _ := body["prompt"].(string)
	if many, ok := body["prompt"].([]any); ok && len(many) > 0 {
		prompt, _ = many[0].(string)
	}
	text := EchoText(prompt)
	if echo, _ := body["echo"].(bool); echo {
		text = prompt + text
	}
	n := 1
	if v, ok := body["n"].(float64); ok && v > 1 {
		n = int(v)
	}
	words := len(strings.Fields(text))
	usage := map[string]any{"prompt_tokens": 5, "completion_tokens": n * words, "total_tokens": 5 + n*words}
	chunk := func(choices []any) map[string]any {
		return map[string]any{"id": "cmpl-fake", "object": "text_completion", "created": 1700000000, "model": model, "choices": choices}
	}
	choice := func(i int, text string, finish any) map[string]any {
		return map[string]any{"text": text, "index": i, "logprobs": nil, "finish_reason": finish}
	}
	if stream, _ := body["stream"].(bool); !stream {
		var choices []any
		for i := range n {
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
	send := func(v any) {
		data, _ := json.Marshal(v)
		fmt.Fprintf(w, "data: %s\n\n", data)
		rc.Flush()
	}
	for i := range n {
		for _, word := range strings.SplitAfter(text, " ") {
			send(chunk([]any{choice(i, word, nil)}))
		}
		send(chunk([]any{choice(i, "", "stop")}))
	}
	if opts, _ := body["stream_options"].(map[string]any); opts["include_usage"] == true {
		c := chunk([]any{})
		c["usage"] = usage
		send(c)
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	rc.Flush()
}
