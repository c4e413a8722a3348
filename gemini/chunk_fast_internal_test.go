package gemini

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tidwall/gjson"
)

var fastParseSeeds = []string{
	`{"candidates":[{"content":{"parts":[{"text":" reverse"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":32,"candidatesTokenCount":3,"totalTokenCount":35},"modelVersion":"gemini-2.5-flash","responseId":"r1"}`,
	`{"candidates":[{"content":{"parts":[{"text":"end."}],"role":"model"},"finishReason":"STOP","index":0,"safetyRatings":[{"category":"HARM_CATEGORY_HATE_SPEECH","probability":"NEGLIGIBLE"}]}],"usageMetadata":{"promptTokenCount":32,"candidatesTokenCount":20,"totalTokenCount":52,"promptTokensDetails":[{"modality":"TEXT","tokenCount":32}]},"modelVersion":"m","responseId":"r1"}`,
	` { "candidates" : [ { "index" : 1 , "content" : { "role" : "model" , "parts" : [ { "text" : "a" } , { "text" : "b" } , { } ] } } , { } ] } `,
	`{"candidates":[{"content":{"parts":[]}},{"content":null},{"content":{}}],"usageMetadata":{}}`,
	`{}`, `{"candidates":[]}`, `{"usageMetadata":{"totalTokenCount":1}}`,
	// Left to parseGeneral:
	`{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":{"a":1}}}]}}],"responseId":"r"}`,
	`{"candidates":[{"content":{"parts":[{"text":"t","thought":true}]}}]}`,
	`{"promptFeedback":{"blockReason":"SAFETY"}}`, `{"error":{"code":429,"message":"quota"}}`,
	`{"candidates":[{"content":{"parts":[{"text":"a\nb"}]}}]}`, `{"candidates":[{"index":-1}]}`, `{"candidates":[{"finishReason":"MALFORMED_FUNCTION_CALL","finishReason":"STOP","index":0}]}`,
	`{"candidates":[{"finishReason":"STOP","finishReason":"MALFORMED_FUNCTION_CALL","index":0}]}`, `{"candidates":[{"index":"0"}]}`,
	`{"candidates":null}`, `{"candidates":{}}`, `{"candidates":[],"candidates":[]}`,
	`{"candidates":[{"content":{"parts":[{"text":"a"}],"parts":[]}}]}`,
	`{"candidates":[{"content":{"parts":[{"text":"a"}]}}]`, `{}x`, `[]`, ``,
}

// FuzzFastParse checks that whatever the fast path accepts, parseGeneral
// reads the same and leaves the parser in the same state, from a fresh
// parser and from one that has started a candidate.
func FuzzFastParse(f *testing.F) {
	for _, s := range fastParseSeeds {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, started bool) {
		var fast, general parser
		if started {
			for _, p := range []*parser{&fast, &general} {
				p.id, p.model, p.usageRaw = "r0", "m0", `{"totalTokenCount":1}`
				p.cands = []candidateState{{index: 0, started: true, calls: 1}}
			}
		}
		ev, ok := fast.fastParse(data)
		if !ok {
			if diff := cmp.Diff(general, fast, cmp.AllowUnexported(parser{}, candidateState{})); diff != "" {
				t.Fatalf("%q: refused, yet the parser changed:\n%s", data, diff)
			}
			return
		}
		if !gjson.ValidBytes(data) {
			t.Fatalf("fast path accepted invalid JSON %q", data)
		}
		want, err := general.parseGeneral(data)
		if err != nil {
			t.Fatalf("fast path accepted %q, parseGeneral refused it: %v", data, err)
		}
		if diff := cmp.Diff(want, ev); diff != "" {
			t.Errorf("%q (-general +fast):\n%s", data, diff)
		}
		if diff := cmp.Diff(general, fast, cmp.AllowUnexported(parser{}, candidateState{})); diff != "" {
			t.Errorf("%q: parser state (-general +fast):\n%s", data, diff)
		}
	})
}

// TestFastParse_TakesTheCommonShapes checks that the chunks a stream is
// made of take the fast path, so that it is not silently bypassed.
func TestFastParse_TakesTheCommonShapes(t *testing.T) {
	for _, s := range fastParseSeeds[:7] {
		var p parser
		if _, ok := p.fastParse([]byte(s)); !ok {
			t.Errorf("%s: not taken by the fast path", s)
		}
	}
}

// BenchmarkParse compares the fast path with the general one on the
// commonest chunk.
func BenchmarkParse(b *testing.B) {
	data := []byte(fastParseSeeds[0])
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var p parser
			p.parse(data)
		}
	})
	b.Run("general", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var p parser
			p.parseGeneral(data)
		}
	})
}
