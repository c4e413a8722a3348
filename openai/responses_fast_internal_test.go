package openai

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// benchResponsesBody is responsesBody(true) of bench/translate.go, the
// load generator's /v1/responses request.
const benchResponsesBody = `{"model":"bench-model","instructions":"You are a concise assistant. Answer in one sentence.",` +
	`"input":[{"role":"user","content":"What does a reverse proxy do, in one sentence?"}],` +
	`"temperature":0.2,"max_output_tokens":256,"user":"bench","stream":true}`

var fastResponsesSeeds = []string{
	benchResponsesBody,
	`{"model":"bench-model","instructions":"You are a concise assistant. Answer in one sentence.","input":[{"role":"user","content":"What does a reverse proxy do, in one sentence?"}],"temperature":0.2,"max_output_tokens":256,"user":"bench"}`,
	`{"model":"gpt-4o","input":"Hi"}`,
	`{"model":"gpt-public","instructions":"Be brief.","input":"hello there"}`,
	` { "model" : "m" , "input" : [ { "type" : "message" , "role" : "developer" , "content" : "héllo 😀" } , { "role" : "assistant" , "content" : null } , { "content" : "c" , "role" : "system" , "type" : null } ] , "top_p" : 1e-3 } `,
	`{"model":"gpt-4o","instructions":"Be brief.","input":"Hi","stream":true,"max_output_tokens":50,"temperature":0.2,"top_p":0.9,"store":true,"metadata":{"a":"b"},"reasoning":{"effort":"low"},"user":"u","truncation":"auto","include":["message.output_text.logprobs"],"previous_response_id":null}`,
	`{"model":"m","input":[{"role":"user"}],"tools":[],"tool_choice":"auto","conversation":null,"prompt":null,"background":null,"text":null,"top_logprobs":null,"store":false}`,
	`{"model":null,"input":"x","instructions":null,"stream":null,"temperature":null,"top_p":null,"max_output_tokens":null,"tools":null}`,
	`{"model":"m","max_output_tokens":-1,"instructions":7,"tool_choice":{"type":"function"}}`,
	`{}`,
	// Left to responsesFields:
	`{"model":"m","input":"line\nbreak \"q\" \u00e9"}`,
	`{"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":"a"}]}]}`,
	`{"model":"m","input":[{"type":"function_call","call_id":"c","name":"f","arguments":"{}"}]}`,
	`{"model":"m","input":[{"type":"function_call_output","call_id":"c","output":"18C"}]}`,
	`{"model":"m","input":[{"Role":"user","content":"a"}]}`,
	`{"model":"m","input":[{"role":"user","content":"a","id":"msg_1"}]}`,
	`{"model":"m","input":[{"role":"tool","content":"a"}]}`,
	`{"model":"m","input":[{"role":"user","role":"system","content":"a"}]}`,
	`{"model":"m","input":[]}`, `{"model":"m","input":null}`, `{"model":"m","input":5}`, `{"model":"m","input":[null]}`,
	`{"model":"m","model":"n","input":"x"}`, `{"model":"m","input":"x","temperature":1,"temperature":2}`,
	`{"model":"m","input":"x","tools":[{"type":"function","name":"f"}]}`,
	`{"model":"m","input":"x","text":{"format":{"type":"json_object"}}}`,
	`{"model":"m","input":"x","previous_response_id":"resp_1"}`, `{"model":"m","input":"x","conversation":"conv_1"}`,
	`{"model":"m","input":"x","prompt":{"id":"p"}}`, `{"model":"m","input":"x","background":false}`,
	`{"model":"m","input":"x","top_logprobs":0}`,
	`{"model":"m","input":"x","max_output_tokens":1.0}`, `{"model":"m","input":"x","max_output_tokens":1e2}`,
	`{"model":"m","input":"x","max_output_tokens":99999999999999999999}`, `{"model":"m","input":"x","temperature":1e999}`,
	`{"model":"m","input":"x","stream":"yes"}`, `{"model":"m\u0041","input":"x"}`, `{"mod\u0065l":"m","input":"x"}`,
	"{\"model\":\"m\",\"input\":\"\xff\"}",
	`{"model":"m","input":"x"`, `{"model":"m"}x`, `[]`, ``, `null`, `{"a":"\x01"}`, `{"a":"\u12"}`, `{"a":01}`,
}

// FuzzFastResponses checks that whatever the fast path accepts,
// responsesFields accepts and reads the same, and responsesInput reads the
// input messages the fast path read.
func FuzzFastResponses(f *testing.F) {
	for _, s := range fastResponsesSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fast, ok := fastResponsesFields(body)
		if !ok {
			return
		}
		if !json.Valid(body) {
			t.Fatalf("fast path accepted invalid JSON %q", body)
		}
		slow, err := responsesFields(body)
		if err != nil {
			t.Fatalf("fast path accepted %q, responsesFields refused it: %v", body, err)
		}
		if fast.InputMessages != nil {
			msgs, err := responsesInput(slow.Input)
			if err != nil {
				t.Fatalf("fast path read the input of %q, responsesInput refused it: %v", body, err)
			}
			slow.Input, slow.InputMessages = nil, msgs
		}
		if diff := cmp.Diff(slow, fast); diff != "" {
			t.Errorf("%q (-general +fast):\n%s", body, diff)
		}
	})
}

// TestFastResponsesFields_TakesTheCommonShapes checks that the requests
// SDKs and bench/ send most take the fast path, so that it is not silently
// bypassed.
func TestFastResponsesFields_TakesTheCommonShapes(t *testing.T) {
	for _, s := range fastResponsesSeeds[:10] {
		if _, ok := fastResponsesFields([]byte(s)); !ok {
			t.Errorf("%s: not taken by the fast path", s)
		}
	}
}

// BenchmarkDecodeResponses decodes the Responses request of bench/'s load
// generator: instructions, one input message and sampling options.
func BenchmarkDecodeResponses(b *testing.B) {
	body := []byte(benchResponsesBody)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeResponses(body); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzEcho checks that whenever echoFast reads a body, echoGeneral reads
// the same echo from it.
func FuzzEcho(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","instructions":"Be brief.","input":"x","user":"bench","parallel_tool_calls":false}`,
		`{"instructions":"a <b> & \u2028","tools":[ {"type": "function", "name": "f"} ],"metadata":{"k":"v"},"text":{"format":{"type":"text"}},"tool_choice":"auto"}`,
		`{"instructions":null,"user":null,"parallel_tool_calls":null,"user":"u"}`, `{"instructions":"a\nb"}`, `{"user":"a\"b"}`,
		`{"mod\u0065l":"m"}`, `{}`, `[]`, `{"instructions":"x"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var fast responseEcho
		if !echoFast(&fast, body) {
			return
		}
		var general responseEcho
		echoGeneral(&general, body)
		if diff := cmp.Diff(general, fast, cmp.AllowUnexported(responseEcho{})); diff != "" {
			t.Errorf("%q (-general +fast):\n%s", body, diff)
		}
	})
}

// TestEcho_RepeatedKeyEchoesTheLast pins what a response echoes of a key
// the request repeats: the last copy, which is what encoding/json (and so
// DecodeResponses) and most upstreams read. Before the third session's
// one-pass echo, gjson's lookups echoed the first.
func TestEcho_RepeatedKeyEchoesTheLast(t *testing.T) {
	body := []byte(`{"model":"gpt-4o","input":"Hi","metadata":{"a":1},"metadata":{"b":2},"user":"x","user":"y",` +
		`"parallel_tool_calls":false,"parallel_tool_calls":true}`)
	for name, read := range map[string]func(*responseEcho, []byte){
		"fast":    func(e *responseEcho, b []byte) { echoFast(e, b) },
		"general": echoGeneral,
	} {
		var e responseEcho
		read(&e, body)
		if string(e.metadata) != `{"b":2}` || e.user == nil || *e.user != "y" || !e.parallelToolCalls {
			t.Errorf("%s: metadata %s, user %v, parallel_tool_calls %v; want the last copies", name, e.metadata, e.user, e.parallelToolCalls)
		}
	}
}
