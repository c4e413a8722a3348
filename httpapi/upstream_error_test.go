package httpapi_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/httpapi"
	oai "github.com/lyumen/lyumen/openai"
)

// TestChat_UpstreamErrorCode: an upstream's error about the request comes
// to the client with its code and param, which clients act on (a client
// trims its conversation on context_length_exceeded).
func TestChat_UpstreamErrorCode(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"error":{"message":"This model's maximum context length is 8192 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`)
	}))
	defer up.Close()
	catalog := lyumen.NewCatalog([]lyumen.Model{{Name: publicModel, Targets: []lyumen.Target{{Provider: "fake", Model: remoteModel}}}})
	gw := httptest.NewServer(httpapi.NewServer(httpapi.Options{
		Provider: oai.NewClient(up.URL, operatorKey, nil, up.Client().Transport),
		Catalog:  catalog,
		Recorder: &records{},
	}))
	defer gw.Close()
	c := openai.NewClient(option.WithBaseURL(gw.URL+"/v1/"), option.WithAPIKey(clientKey), option.WithMaxRetries(0))
	_, err := c.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
		Model:    publicModel,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("a very long conversation")},
	})
	apiErr, ok := errors.AsType[*openai.Error](err)
	if !ok || apiErr.StatusCode != http.StatusBadRequest || apiErr.Code != "context_length_exceeded" || apiErr.Param != "messages" {
		t.Fatalf("err %v, want a 400 with code context_length_exceeded and param messages", err)
	}
}

// TestUpstreamErrorInside200_OperatorKeyCut: an upstream that refuses the
// operator's key inside a 200 answer or a stream's event, quoting the
// key, reaches neither the client nor the record with it: the same as a
// refusal by status (upstreamhttp.Post). The key used to reach both.
func TestUpstreamErrorInside200_OperatorKeyCut(t *testing.T) {
	for _, tc := range []struct {
		kind, name, reply string
		stream            bool
	}{
		{"openai", "whole", `{"error":{"code":401,"message":"Incorrect API key provided: ` + operatorKey + `"}}`, false},
		{"openai", "stream", "data: {\"error\":{\"code\":401,\"message\":\"Incorrect API key provided: " + operatorKey + "\"}}\n\n", true},
		{"anthropic", "whole", `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key ` + operatorKey + `"}}`, false},
		{"anthropic", "stream", "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"authentication_error\",\"message\":\"invalid x-api-key " + operatorKey + "\"}}\n\n", true},
		{"gemini", "stream", "data: {\"error\":{\"code\":401,\"message\":\"API key not valid: " + operatorKey + "\",\"status\":\"UNAUTHENTICATED\"}}\n\n", true},
	} {
		t.Run(tc.kind+"/"+tc.name, func(t *testing.T) {
			up := httptest.NewServer(&cannedUpstream{reply: []byte(tc.reply)})
			defer up.Close()
			recs := &records{}
			gw := httptest.NewServer(translationGateway(translationUpstreams[tc.kind].client(up.URL, up.Client().Transport), recs))
			defer gw.Close()
			body := fmt.Sprintf(`{"model":"gpt-public","stream":%t,"messages":[{"role":"user","content":"hi"}]}`, tc.stream)
			resp, err := http.Post(gw.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && !tc.stream {
				t.Fatalf("no error: %s", got)
			}
			if strings.Contains(string(got), operatorKey) {
				t.Errorf("the client was shown the operator's key: %d %s", resp.StatusCode, got)
			}
			rec := recs.wait(t, 1)
			if all := fmt.Sprint(rec.Error, rec.Attempts); strings.Contains(all, operatorKey) || rec.Error == "" {
				t.Errorf("the record's error: %s", all)
			}
		})
	}
}
