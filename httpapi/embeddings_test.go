package httpapi_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/httpapi"
	oai "github.com/lyumen/lyumen/openai"
	"github.com/lyumen/lyumen/providertest"
	"github.com/lyumen/lyumen/upstream"
)

func TestEmbeddings(t *testing.T) {
	inputs := []string{"the quick brown fox", "jumps"}
	tests := []struct {
		name   string
		params openai.EmbeddingNewParams
		dims   int
	}{
		{name: "floats", params: openai.EmbeddingNewParams{Model: publicModel,
			Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: inputs}}, dims: providertest.EmbeddingDims},
		{name: "base64, dimensions", params: openai.EmbeddingNewParams{Model: publicModel, Dimensions: openai.Int(4),
			EncodingFormat: openai.EmbeddingNewParamsEncodingFormatBase64,
			Input:          openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: inputs}}, dims: 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newGateway(t)
			resp, err := g.client.Embeddings.New(t.Context(), tc.params)
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Data) != len(inputs) || resp.Object != "list" || resp.Model != remoteModel || resp.Usage.TotalTokens != 5 {
				t.Fatalf("response %s", resp.RawJSON())
			}
			for i, text := range inputs {
				if diff := cmp.Diff(providertest.Embedding(text, tc.dims), resp.Data[i].Embedding); diff != "" {
					t.Errorf("vector %d (-want +got):\n%s", i, diff)
				}
			}
			rec := g.recs.wait(t, 1)
			checkSurfaceRecord(t, rec, lyumen.SurfaceOpenAIEmbeddings, false, nil)
			// The request and the usage are recorded; the vectors are not.
			want := &lyumen.Response{Model: remoteModel, Usage: &lyumen.Usage{PromptTokens: 5, TotalTokens: 5}}
			if diff := cmp.Diff(want, rec.Response); diff != "" {
				t.Errorf("recorded response (-want +got):\n%s", diff)
			}
			if !bytes.Contains(rec.Request, []byte("the quick brown fox")) {
				t.Errorf("recorded request %s", rec.Request)
			}
			seen := g.up.Seen()[0]
			if seen.Path != "/v1/embeddings" || seen.Body["model"] != remoteModel || seen.Header.Get("Authorization") != "Bearer "+operatorKey {
				t.Errorf("upstream got %s %v", seen.Path, seen.Body)
			}
		})
	}
}

// TestEmbeddings_Tokens: tokens pass through as sent. An array of tokens
// is one input, an array of token arrays one input per array, as at
// OpenAI: one vector each.
func TestEmbeddings_Tokens(t *testing.T) {
	for _, tc := range []struct {
		name    string
		input   openai.EmbeddingNewParamsInputUnion
		sent    any
		vectors int
	}{
		{name: "tokens", input: openai.EmbeddingNewParamsInputUnion{OfArrayOfTokens: []int64{1, 2, 3}},
			sent: []any{1.0, 2.0, 3.0}, vectors: 1},
		{name: "token arrays", input: openai.EmbeddingNewParamsInputUnion{OfArrayOfTokenArrays: [][]int64{{1, 2}, {3}}},
			sent: []any{[]any{1.0, 2.0}, []any{3.0}}, vectors: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGateway(t)
			resp, err := g.client.Embeddings.New(t.Context(), openai.EmbeddingNewParams{Model: publicModel, Input: tc.input})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Data) != tc.vectors {
				t.Errorf("got %d vectors, want %d", len(resp.Data), tc.vectors)
			}
			if got := g.up.Seen()[0].Body["input"]; !cmp.Equal(got, tc.sent) {
				t.Errorf("tokens did not pass through: %v", got)
			}
		})
	}
}

func TestEmbeddings_BadInput(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		upstream providertest.Behaviour
		want     apiError
		recorded lyumen.Completeness
	}{
		{name: "malformed JSON", body: `{"model":`, want: apiError{400, "invalid_request_error", "", ""}},
		{name: "missing input", body: `{"model": "gpt-test"}`, want: apiError{400, "invalid_request_error", "input", ""}},
		{name: "input of wrong type", body: `{"model": "gpt-test", "input": {"a": 1}}`, want: apiError{400, "invalid_request_error", "input", ""}},
		{name: "unknown model", body: `{"model": "gpt-nope", "input": "x"}`, want: apiError{404, "invalid_request_error", "", "model_not_found"}},
		{name: "oversized body", body: `{"model": "gpt-test", "input": "` + strings.Repeat("a", 70<<10) + `"}`, want: apiError{413, "invalid_request_error", "", "request_too_large"}},
		{name: "upstream 500", body: `{"model": "gpt-test", "input": "x"}`, upstream: providertest.Behaviour{Status: 500},
			want: apiError{502, "upstream_error", "", "upstream_error"}, recorded: lyumen.UpstreamRefused},
		{name: "upstream rejects", body: `{"model": "gpt-test", "input": "x"}`, upstream: providertest.Behaviour{Status: 400, ErrorText: "too long"},
			want: apiError{400, "invalid_request_error", "", ""}, recorded: lyumen.UpstreamRefused},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newGateway(t)
			g.up.Set(tc.upstream)
			checkAPIError(t, g.client.Post(t.Context(), "embeddings", []byte(tc.body), nil), tc.want, "")
			checkRecorded(t, g, tc.recorded, tc.want.status)
		})
	}
}

func TestEmbeddings_RecorderUnavailable(t *testing.T) {
	g := newGateway(t)
	g.recs.err = errors.New("store down")
	_, err := g.client.Embeddings.New(t.Context(), openai.EmbeddingNewParams{Model: publicModel,
		Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("x")}})
	if apiErr, ok := errors.AsType[*openai.Error](err); !ok || apiErr.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("err = %v, want 503: embeddings are served only when they can be recorded", err)
	}
}

// chatOnly hides every method of a provider but Chat and ChatStream.
type chatOnly struct{ lyumen.Provider }

func TestEmbeddings_ProviderCannotEmbed(t *testing.T) {
	up := providertest.NewOpenAI(t)
	catalog := lyumen.NewCatalog([]lyumen.Model{{Name: publicModel, Targets: []lyumen.Target{{Provider: "fake", Model: remoteModel}}}})
	client := oai.NewClient(up.BaseURL(), operatorKey, nil, up.Client().Transport)
	tests := []struct {
		name     string
		provider lyumen.Provider
		recorded bool
	}{
		// The router embeds, but the target's provider cannot: the attempt is recorded.
		{name: "target", provider: upstream.New(catalog, map[string]lyumen.Provider{"fake": chatOnly{client}}, nil), recorded: true},
		// The provider the server was given cannot embed at all.
		{name: "server", provider: chatOnly{client}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs := &records{}
			srv := httptest.NewServer(httpapi.NewServer(httpapi.Options{Provider: tc.provider, Catalog: catalog, Recorder: recs}))
			t.Cleanup(srv.Close)
			c := openai.NewClient(option.WithBaseURL(srv.URL+"/v1/"), option.WithAPIKey(clientKey), option.WithMaxRetries(0))
			_, err := c.Embeddings.New(t.Context(), openai.EmbeddingNewParams{Model: publicModel,
				Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("x")}})
			checkAPIError(t, err, apiError{400, "invalid_request_error", "model", ""}, "does not support embeddings")
			if n := len(recs.all()); (n == 1) != tc.recorded {
				t.Errorf("%d records, want recorded = %v", n, tc.recorded)
			}
			if n := len(up.Seen()); n != 0 {
				t.Errorf("the upstream was asked %d times", n)
			}
		})
	}
}

// TestEmbeddings_ErrorInA200: an upstream that answers 200 with an error
// for a body (OpenRouter, some proxies) failed, with its own message and
// the status its code names: a 5xx falls back to the next target, and a
// fault the upstream found with the request reaches the client as such.
func TestEmbeddings_ErrorInA200(t *testing.T) {
	errorIn200 := func(body string) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(body))
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	embed := func(t *testing.T, targets []lyumen.Target, providers map[string]lyumen.Provider) (*records, error) {
		t.Helper()
		catalog := lyumen.NewCatalog([]lyumen.Model{{Name: publicModel, Targets: targets}})
		recs := &records{}
		srv := httptest.NewServer(httpapi.NewServer(httpapi.Options{Provider: upstream.New(catalog, providers, nil), Catalog: catalog, Recorder: recs}))
		t.Cleanup(srv.Close)
		c := openai.NewClient(option.WithBaseURL(srv.URL+"/v1/"), option.WithAPIKey(clientKey), option.WithMaxRetries(0))
		_, err := c.Embeddings.New(t.Context(), openai.EmbeddingNewParams{Model: publicModel,
			Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("x")}})
		return recs, err
	}

	t.Run("a 5xx falls back", func(t *testing.T) {
		bad := errorIn200(`{"error":{"message":"Provider returned error","code":502}}`)
		good := providertest.NewOpenAI(t)
		recs, err := embed(t, []lyumen.Target{{Provider: "bad", Model: remoteModel}, {Provider: "good", Model: remoteModel}},
			map[string]lyumen.Provider{
				"bad":  oai.NewClient(bad.URL+"/v1", operatorKey, nil, bad.Client().Transport),
				"good": oai.NewClient(good.BaseURL(), operatorKey, nil, good.Client().Transport),
			})
		if err != nil {
			t.Fatal(err)
		}
		rec := recs.wait(t, 1)
		want := []lyumen.Attempt{{Provider: "bad", Model: remoteModel, Status: 502, Error: "upstream: Provider returned error"}, {Provider: "good", Model: remoteModel}}
		if diff := cmp.Diff(want, rec.Attempts, cmpopts.IgnoreFields(lyumen.Attempt{}, "Duration")); diff != "" {
			t.Errorf("attempts (-want +got):\n%s", diff)
		}
	})
	t.Run("a request fault reaches the client", func(t *testing.T) {
		bad := errorIn200(`{"error":{"message":"input must not exceed 8192 tokens","type":"invalid_request_error","param":"input","code":400}}`)
		_, err := embed(t, []lyumen.Target{{Provider: "bad", Model: remoteModel}},
			map[string]lyumen.Provider{"bad": oai.NewClient(bad.URL+"/v1", operatorKey, nil, bad.Client().Transport)})
		checkAPIError(t, err, apiError{400, "invalid_request_error", "input", ""}, "input must not exceed 8192 tokens")
	})
}
