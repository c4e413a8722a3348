package openai_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	sdk "github.com/openai/openai-go/v3"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/openai"
	"github.com/lyumen/lyumen/providertest"
)

var validEmbeddings = []struct {
	name      string
	body      string
	wantInput []string // nil: tokens, passed through only
}{
	{name: "string", body: `{"model":"text-embedding-3-small","input":"hello"}`, wantInput: []string{"hello"}},
	{name: "strings, options", body: `{"model":"e","input":["a","b"],"encoding_format":"base64","dimensions":256,"user":"u"}`, wantInput: []string{"a", "b"}},
	{name: "tokens", body: `{"model":"e","input":[1,2,3]}`},
	{name: "token arrays", body: `{"model":"e","input":[[1,2],[3]],"encoding_format":"float"}`},
}

func TestDecodeEmbeddings(t *testing.T) {
	for _, tc := range validEmbeddings {
		t.Run(tc.name, func(t *testing.T) {
			got, err := openai.DecodeEmbeddings([]byte(tc.body))
			if err != nil {
				t.Fatalf("DecodeEmbeddings: %v", err)
			}
			var model struct{ Model string }
			json.Unmarshal([]byte(tc.body), &model)
			want := &lyumen.EmbedRequest{Surface: lyumen.SurfaceOpenAIEmbeddings, Model: model.Model, Input: tc.wantInput, Body: []byte(tc.body)}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("DecodeEmbeddings mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

var invalidEmbeddings = []struct {
	name      string
	body      string
	wantParam string
}{
	{name: "empty body", body: ``},
	{name: "not an object", body: `"x"`},
	{name: "missing model", body: `{"input":"x"}`, wantParam: "model"},
	{name: "missing input", body: `{"model":"e"}`, wantParam: "input"},
	{name: "empty string", body: `{"model":"e","input":""}`, wantParam: "input"},
	{name: "empty array", body: `{"model":"e","input":[]}`, wantParam: "input"},
	{name: "empty string in array", body: `{"model":"e","input":["a",""]}`, wantParam: "input[1]"},
	{name: "null in array", body: `{"model":"e","input":["a",null]}`, wantParam: "input"},
	{name: "mixed strings and tokens", body: `{"model":"e","input":["a",1]}`, wantParam: "input"},
	{name: "empty token array", body: `{"model":"e","input":[[]]}`, wantParam: "input"},
	{name: "input an object", body: `{"model":"e","input":{"text":"a"}}`, wantParam: "input"},
	{name: "unknown encoding", body: `{"model":"e","input":"a","encoding_format":"int8"}`, wantParam: "encoding_format"},
	{name: "zero dimensions", body: `{"model":"e","input":"a","dimensions":0}`, wantParam: "dimensions"},
	{name: "duplicate model", body: `{"model":"e","model":"f","input":"a"}`, wantParam: "model"},
	// Read here from the last copy, by the answer's encoder from the first.
	{name: "duplicate encoding", body: `{"model":"e","input":"a","encoding_format":"base64","encoding_format":"float"}`, wantParam: "encoding_format"},
	{name: "duplicate dimensions", body: `{"model":"e","input":"a","dimensions":8,"dimensions":4}`, wantParam: "dimensions"},
}

func TestDecodeEmbeddings_Invalid(t *testing.T) {
	for _, tc := range invalidEmbeddings {
		t.Run(tc.name, func(t *testing.T) {
			got, err := openai.DecodeEmbeddings([]byte(tc.body))
			checkInvalid(t, got, err, tc.wantParam, "")
		})
	}
}

func FuzzDecodeEmbeddings(f *testing.F) {
	for _, tc := range validEmbeddings {
		f.Add([]byte(tc.body))
	}
	for _, tc := range invalidEmbeddings {
		f.Add([]byte(tc.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := openai.DecodeEmbeddings(body)
		if err != nil {
			checkFuzzError(t, req, err)
			return
		}
		if req.Model == "" || req.Surface != lyumen.SurfaceOpenAIEmbeddings || !bytes.Equal(req.Body, body) || !json.Valid(body) {
			t.Fatalf("accepted a request without model, or mislabelled: %+v", req)
		}
		for i, s := range req.Input {
			if s == "" {
				t.Errorf("input[%d] is empty", i)
			}
		}
		resp := &lyumen.EmbedResponse{Vectors: make([][]float64, len(req.Input))}
		if b := openai.EncodeEmbeddings(resp, req); !json.Valid(b) {
			t.Fatalf("EncodeEmbeddings made invalid JSON: %s", b)
		}
	})
}

func TestClient_Embed(t *testing.T) {
	fake := providertest.NewOpenAI(t)
	c := openai.NewClient(fake.BaseURL(), apiKey, nil, fake.Client().Transport)
	tests := []struct {
		name    string
		surface lyumen.Surface
		body    string
		input   []string
		raw     bool
		// sent is what the upstream must receive, beyond the model.
		sent map[string]any
	}{
		{
			name: "OpenAI surface passes the body through", surface: lyumen.SurfaceOpenAIEmbeddings, raw: true,
			body: `{"model":"public","input":["a b","c"],"encoding_format":"base64","dimensions":4,"user":"u"}`, input: []string{"a b", "c"},
			sent: map[string]any{"input": []any{"a b", "c"}, "encoding_format": "base64", "dimensions": 4.0, "user": "u"},
		},
		{
			name: "other surfaces send the texts", surface: "other.embed", input: []string{"a b", "c"},
			sent: map[string]any{"input": []any{"a b", "c"}},
		},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := c.Embed(t.Context(), &lyumen.EmbedRequest{Surface: tc.surface, Model: targetModel, Input: tc.input, Body: []byte(tc.body)})
			if err != nil {
				t.Fatal(err)
			}
			seen := fake.Seen()[i]
			want := map[string]any{"model": targetModel}
			for k, v := range tc.sent {
				want[k] = v
			}
			if diff := cmp.Diff(want, seen.Body); diff != "" || seen.Path != "/v1/embeddings" || seen.Header.Get("Authorization") != "Bearer "+apiKey {
				t.Errorf("upstream got %s %v (-want +got):\n%s", seen.Path, seen.Header, diff)
			}
			if diff := cmp.Diff(&lyumen.Usage{PromptTokens: 3, TotalTokens: 3}, resp.Usage); diff != "" || resp.Model != targetModel {
				t.Errorf("model %q, usage (-want +got):\n%s", resp.Model, diff)
			}
			if (resp.Raw != nil) != tc.raw || (resp.Vectors != nil) == tc.raw {
				t.Fatalf("raw %v, vectors %v; want raw %v", resp.Raw != nil, resp.Vectors != nil, tc.raw)
			}
			// Either way the client reads the fake's vectors with the SDK.
			var l sdk.CreateEmbeddingResponse
			if err := json.Unmarshal(openai.EncodeEmbeddings(resp, &lyumen.EmbedRequest{Model: "public", Body: []byte(tc.body)}), &l); err != nil {
				t.Fatal(err)
			}
			dims := providertest.EmbeddingDims
			if tc.raw {
				dims = 4
			}
			for j, text := range tc.input {
				if diff := cmp.Diff(providertest.Embedding(text, dims), l.Data[j].Embedding); diff != "" {
					t.Errorf("vector %d (-want +got):\n%s", j, diff)
				}
			}
		})
	}
}

func TestClient_EmbedErrors(t *testing.T) {
	t.Run("upstream refuses", func(t *testing.T) {
		fake := providertest.NewOpenAI(t)
		fake.Set(providertest.Behaviour{Status: http.StatusBadRequest, ErrorText: "too many inputs"})
		c := openai.NewClient(fake.BaseURL(), apiKey, nil, fake.Client().Transport)
		_, err := c.Embed(t.Context(), &lyumen.EmbedRequest{Surface: lyumen.SurfaceOpenAIEmbeddings, Model: "e", Body: []byte(`{"model":"e","input":"x"}`)})
		if status, _ := openai.Error(err); status != http.StatusBadRequest {
			t.Errorf("status %d for %v, want 400", status, err)
		}
	})
	t.Run("invalid answer", func(t *testing.T) {
		up := newScripted(t, http.StatusOK, "application/json", `{"object":"list","data":{}}`)
		_, err := up.client().Embed(t.Context(), &lyumen.EmbedRequest{Surface: lyumen.SurfaceOpenAIEmbeddings, Model: "e", Body: []byte(`{"model":"e","input":"x"}`)})
		if status, _ := openai.Error(err); status != http.StatusBadGateway {
			t.Errorf("status %d for %v, want 502", status, err)
		}
	})
	t.Run("tokens from another surface", func(t *testing.T) {
		up := newScripted(t, http.StatusOK, "application/json", `{}`)
		_, err := up.client().Embed(t.Context(), &lyumen.EmbedRequest{Surface: "other.embed", Model: "e"})
		if lyumen.KindOf(err) != lyumen.KindInvalid || up.requests() != 0 {
			t.Errorf("err %v after %d requests, want KindInvalid before any", err, up.requests())
		}
	})
}

// TestClient_EmbedErrorInA200: OpenRouter and some proxies answer 200 with
// an error for a body; it is the upstream's error, with its message and
// the status its code names, which the router may take elsewhere, as for
// chat (TestClient_ChatErrorInA200), not a 502 for an invalid answer.
func TestClient_EmbedErrorInA200(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		want *lyumen.Error // nil: an answer
	}{
		{"code a status", `{"error":{"message":"Rate limit exceeded: free-models-per-min","code":429,"metadata":{"headers":{}}},"user_id":"u"}`,
			&lyumen.Error{Kind: lyumen.KindUpstream, Status: 429, Message: "upstream: Rate limit exceeded: free-models-per-min"}},
		{"code a request fault", `{"error":{"message":"input too long","type":"invalid_request_error","param":"input","code":400}}`,
			&lyumen.Error{Kind: lyumen.KindUpstream, Status: 400, Message: "upstream: input too long", Param: "input"}},
		{"code a string", `{"error":{"message":"No endpoints found","code":"no_endpoints"}}`,
			&lyumen.Error{Kind: lyumen.KindUpstream, Status: 502, Message: "upstream: No endpoints found"}},
		{"the error a string", `{"error":"model not loaded"}`,
			&lyumen.Error{Kind: lyumen.KindUpstream, Status: 502, Message: "upstream: model not loaded"}},
		{"an error set to null", `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5]}],"model":"e","usage":{"prompt_tokens":1,"total_tokens":1},"error":null}`, nil},
	} {
		for _, surface := range []lyumen.Surface{lyumen.SurfaceOpenAIEmbeddings, "other.embed"} {
			t.Run(tc.name+"/"+string(surface), func(t *testing.T) {
				up := newScripted(t, http.StatusOK, "application/json", tc.body)
				resp, err := up.client().Embed(t.Context(), &lyumen.EmbedRequest{Surface: surface, Model: "e", Input: []string{"x"},
					Body: []byte(`{"model":"e","input":"x"}`)})
				if tc.want == nil {
					if err != nil || resp.Usage == nil || resp.Usage.TotalTokens != 1 {
						t.Fatalf("Embed = %+v, %v; want an answer", resp, err)
					}
					return
				}
				e, ok := errors.AsType[*lyumen.Error](err)
				if !ok {
					t.Fatalf("Embed = %+v, %v; want *lyumen.Error", resp, err)
				}
				if diff := cmp.Diff(*tc.want, *e, cmpopts.IgnoreFields(lyumen.Error{}, "Err")); diff != "" {
					t.Errorf("error mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}
}
