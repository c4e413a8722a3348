package httpapi_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
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
