package anthropic

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var fastMessagesSeeds = []string{
	// anthropicBody in bench/translate.go, as the load generator sends it.
	`{"model":"bench-model","max_tokens":256,"system":"You are a concise assistant. Answer in one sentence.","messages":[{"role":"user","content":"What does a reverse proxy do, in one sentence?"}],"temperature":0.2,"metadata":{"user_id":"bench"}}`,
	`{"model":"bench-model","max_tokens":256,"system":"You are a concise assistant. Answer in one sentence.","messages":[{"role":"user","content":"What does a reverse proxy do, in one sentence?"}],"temperature":0.2,"metadata":{"user_id":"bench"},"stream":true}`,
	// The SDK's order and its common options.
	`{"max_tokens":1024,"messages":[{"content":"Hello, Claude","role":"user"}],"model":"claude-sonnet-4-5","stop_sequences":["\n\nHuman:"],"stream":false,"temperature":1,"top_k":5,"top_p":0.9}`,
	` { "model" : "m" , "max_tokens" : 1 , "messages" : [ { "role" : "user" , "content" : "line\nbreak \"q\" \u00e9 \ud83d\ude00" } , { "role" : "assistant" , "content" : "héllo 😀" } ] } `,
	`{"model":"m","max_tokens":1,"system":[{"type":"text","text":"A"},{"text":"B","type":"text","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":[{"type":"text","text":"one"}]},{"role":"assistant","content":[{"type":"text","text":"a"},{"type":"text","text":""}]},{"role":"user","content":[]}]}`,
	`{"messages":[{"role":"user","content":"q","id":7}],"system":"after","model":"m","max_tokens":9007199254740993,"stream":null,"temperature":null,"top_p":-0,"stop_sequences":[],"tools":null,"tool_choice":null,"output_config":null,"output_format":null}`,
	`{"model":"m","max_tokens":1,"system":"","messages":[{"role":"user","content":""}],"stop_sequences":null,"metadata":{"a":[1,{"b":null}],"c":"d\u0000"},"thinking":{"type":"disabled"}}`,
	`{"model":"m","max_tokens":1,"system":[],"messages":[{"role":"user","content":"q"}],"Model":"x","MAX_TOKENS":0}`,
	"{\"model\":\"m\",\"max_tokens\":1,\"messages\":[{\"role\":\"user\",\"content\":\"\xff\"}]}",
	`{"model":"claude-sonnet-4-5","max_tokens":16000,"thinking":{"type":"enabled","budget_tokens":10000},"messages":[{"role":"user","content":"q"}],"stream":true}`,
	`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"q"}],"thinking": {"type" : "adaptive"} ,"thinking2":[]}`,
	// Left to messagesFields:
	`{"model":"m","max_tokens":1,"thinking":{"type":"disabled"},"thinking":{"type":"enabled","budget_tokens":1024},"messages":[{"role":"user","content":"q"}]}`,
	`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"url","url":"u"}}]}]}`,
	`{"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":{}}]}],"tools":[{"name":"f","input_schema":{}}],"tool_choice":{"type":"auto"}}`,
	`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"q"}],"output_config":{"format":{"type":"json_schema","schema":{}}}}`,
	`{"model":"m","model":"n","max_tokens":1,"messages":[{"role":"user","content":"q"}]}`,
	`{"model":"m","max_tokens":1,"temperature":1,"temperature":2,"messages":[{"role":"user","content":"q"}]}`,
	`{"model":"m","max_tokens":1,"messages":[{"role":"user","role":"assistant","content":"q"}]}`,
	`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text","text":"a","t\u0065xt":"b"}]}]}`,
	`{"mod\u0065l":"m","max_tokens":1,"messages":[{"role":"user","content":"q"}]}`,
	`{"model":"","max_tokens":1,"messages":[{"role":"user","content":"q"}]}`,
	`{"model":"m","max_tokens":0,"messages":[{"role":"user","content":"q"}]}`,
	`{"model":"m","max_tokens":1.0,"messages":[{"role":"user","content":"q"}]}`,
	`{"model":"m","max_tokens":1e2,"messages":[{"role":"user","content":"q"}]}`,
	`{"model":"m","max_tokens":99999999999999999999,"messages":[{"role":"user","content":"q"}]}`,
	`{"model":"m","max_tokens":1,"temperature":1e999,"messages":[{"role":"user","content":"q"}]}`,
	`{"model":"m","max_tokens":1,"top_k":null,"messages":[{"role":"user","content":"q"}]}`,
	`{"model":"m","max_tokens":1,"top_k":0.5,"messages":[{"role":"user","content":"q"}]}`,
	`{"model":"m","max_tokens":1,"top_k":-0,"messages":[{"role":"user","content":"q"}]}`,
	`{"model":"m","max_tokens":1,"top_k":1,"top_k":2,"messages":[{"role":"user","content":"q"}]}`,
	`{"model":"m","max_tokens":1,"stop_sequences":["a",null],"messages":[{"role":"user","content":"q"}]}`,
	`{"model":"m","max_tokens":1,"messages":[]}`, `{"model":"m","max_tokens":1,"messages":[{}]}`,
	`{"model":"m","max_tokens":1,"messages":[{"role":"system","content":"q"}]}`,
	`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":null}]}`,
	`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"q"}]`, `{"model":"m"}x`, `{}`, `null`, `[]`, ``,
	"{\"a\":\"\x01\"}", `{"a":"\u12"}`, `{"a":01}`,
}

// FuzzFastMessagesFields checks that whatever the fast path accepts,
// messagesFields accepts and reads the same.
func FuzzFastMessagesFields(f *testing.F) {
	for _, s := range fastMessagesSeeds {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, body []byte, needMaxTokens bool) {
		fast, ok := fastMessagesFields(body, needMaxTokens)
		if !ok {
			return
		}
		if !json.Valid(body) {
			t.Fatalf("fast path accepted invalid JSON %q", body)
		}
		slow, err := messagesFields(body, needMaxTokens)
		if err != nil {
			t.Fatalf("fast path accepted %q, messagesFields refused it: %v", body, err)
		}
		if diff := cmp.Diff(slow, fast); diff != "" {
			t.Errorf("%q (-messagesFields +fast):\n%s", body, diff)
		}
	})
}

// TestFastMessagesFields_TakesTheCommonShapes checks that the requests SDKs
// and the load generator send take the fast path, so that it is not
// silently bypassed.
func TestFastMessagesFields_TakesTheCommonShapes(t *testing.T) {
	for _, s := range fastMessagesSeeds[:11] {
		if _, ok := fastMessagesFields([]byte(s), true); !ok {
			t.Errorf("%s: not taken by the fast path", s)
		}
	}
}
