package openai

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var fastChatSeeds = []string{
	`{"model":"bench-model","messages":[{"role":"system","content":"You are a concise assistant."},{"role":"user","content":"What does a reverse proxy do?"}],"temperature":0.2,"max_tokens":256,"user":"bench","stream":true,"stream_options":{"include_usage":true}}`,
	` { "model" : "m" , "messages" : [ { "role" : "user" , "content" : "line\nbreak \"q\" \u00e9" , "name" : "ann" } ] , "n" : 2 , "seed" : -7 , "top_p" : 1e-3 , "frequency_penalty" : -2 , "presence_penalty" : 0.6 } `,
	`{"model":"m","messages":[{"role":"assistant","content":null}],"stream":null,"stream_options":null,"max_completion_tokens":null}`,
	`{"model":"m","messages":[],"metadata":{"a":[1,{"b":null}],"c":"d"},"logit_bias":{"50256":-100}}`,
	`{"model":"m","messages":[{}],"stop":["\n"],"tool_choice":"auto","response_format":{"type":"json_object"}}`,
	`{"model":null,"messages":null}`, `{}`,
	`{"model":"m","messages":[{"role":"user","content":"héllo 😀"}],"stream_options":{"include_usage":false,"x":1}}`,
	`{"model":"o3","messages":[{"role":"user","content":"Why?"}],"reasoning_effort":"low","max_completion_tokens":4096}`,
	// Left to chatFields:
	`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"}]}]}`,
	`{"model":"m","messages":[{"Role":"user","content":"a"}]}`,
	`{"model":"m","model":"n","messages":[]}`,
	`{"model":"m","messages":[],"tools":[]}`,
	`{"model":"m","messages":[],"n":1.0}`, `{"model":"m","messages":[],"n":1e2}`,
	`{"model":"m","messages":[],"max_tokens":99999999999999999999}`, `{"model":"m","messages":[],"temperature":1e999}`,
	`{"model":"m","messages":[],"stream":"yes"}`, `{"model":"m","messages":[],"parallel_tool_calls":false,"parallel_tool_calls":true}`,
	`{"model":"m","messages":[],"reasoning_effort":"l\u006fw"}`, `{"model":"m","messages":[],"reasoning_effort":1}`,
	`{"model":"m","messages":[],"reasoning_effort":"low","reasoning_effort":"high"}`,
	`{"model":"m","messages":[],"presence_penalty":1,"presence_penalty":null}`, `{"model":"m","messages":[],"frequency_penalty":"1"}`,
	`{"model":"m","messages":[],"parallel_tool_calls":0}`, `{"model":"m\u0041","messages":[]}`,
	`{"model":"m","messages":[],"stream_options":{"include_usage":1}}`,
	`{"model":"m","messages":[],"stream_options":{"include_usage":true,"include_usage":false}}`,
	`{"model":"m","messages":[{"role":"user","content":"a"}]`, `{"model":"m"}x`, `[]`, ``, `{"a":"\x01"}`, `{"a":"\u12"}`, `{"a":01}`,
}

// FuzzFastChatFields checks that whatever the fast path accepts, chatFields
// accepts and reads the same.
func FuzzFastChatFields(f *testing.F) {
	for _, s := range fastChatSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fast, fastFormat, ok := fastChatFields(body)
		if !ok {
			return
		}
		if !json.Valid(body) {
			t.Fatalf("fast path accepted invalid JSON %q", body)
		}
		slow, slowFormat, err := chatFields(body)
		if err != nil {
			t.Fatalf("fast path accepted %q, chatFields refused it: %v", body, err)
		}
		if diff := cmp.Diff(slow, fast); diff != "" {
			t.Errorf("%q (-chatFields +fast):\n%s", body, diff)
		}
		if string(slowFormat) != string(fastFormat) {
			t.Errorf("%q: response_format %s, fast path %s", body, slowFormat, fastFormat)
		}
	})
}

// TestFastChatFields_TakesTheCommonShapes checks that the requests SDKs
// send most take the fast path, so that it is not silently bypassed.
func TestFastChatFields_TakesTheCommonShapes(t *testing.T) {
	for _, s := range fastChatSeeds[:9] {
		if _, _, ok := fastChatFields([]byte(s)); !ok {
			t.Errorf("%s: not taken by the fast path", s)
		}
	}
}

func FuzzPlainString(f *testing.F) {
	for _, s := range []string{`"a"`, `"a\nb"`, `"é"`, "\"\xff\"", "\"\x01\"", `""`, `"`, `"\""`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, ok := plainString(raw)
		if !ok {
			return
		}
		var want string
		if err := json.Unmarshal(raw, &want); err != nil || got != want {
			t.Errorf("plainString(%q) = %q, json.Unmarshal: %q, %v", raw, got, want, err)
		}
	})
}
