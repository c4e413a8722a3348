package httpapi_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	sdk "github.com/anthropics/anthropic-sdk-go/v2"
	sdkoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/anthropic"
	"github.com/lyumen/lyumen/httpapi"
	oai "github.com/lyumen/lyumen/openai"
	"github.com/lyumen/lyumen/providertest"
	"github.com/lyumen/lyumen/upstream"
)

// TestStream_FallsBackBeforeTheAnswer: a stream that fails after its
// upstream's 200 but before the answer begins (Anthropic's overloaded_error
// after message_start, a connection cut after the role chunk) moves on to
// the model's next target, and the client, through its official SDK, sees
// that target's whole answer and nothing of the first's.
func TestStream_FallsBackBeforeTheAnswer(t *testing.T) {
	for _, tc := range []struct {
		name      string
		model     string // the Anthropic fake first, or the OpenAI fake first
		anth, oai providertest.Behaviour
		failAfter int // Anthropic's error event after this many events
		first     string
		served    string
	}{
		{name: "overloaded_error after message_start", model: claudeModel, failAfter: 1, first: "anth", served: "fake"},
		{name: "overloaded_error after ping", model: claudeModel, failAfter: 3, first: "anth", served: "fake"},
		{name: "Anthropic cut after message_start", model: claudeModel, anth: providertest.Behaviour{DieAfter: 1}, first: "anth", served: "fake"},
		{name: "OpenAI cut after the role chunk", model: publicModel, oai: providertest.Behaviour{DieAfter: 1}, first: "fake", served: "anth"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			anthUp, oaiUp := providertest.NewAnthropic(t), providertest.NewOpenAI(t)
			anthUp.Set(tc.anth)
			anthUp.FailAfter(tc.failAfter)
			oaiUp.Set(tc.oai)
			catalog := lyumen.NewCatalog([]lyumen.Model{
				{Name: claudeModel, Targets: []lyumen.Target{{Provider: "anth", Model: claudeRemote}, {Provider: "fake", Model: remoteModel}}},
				{Name: publicModel, Targets: []lyumen.Target{{Provider: "fake", Model: remoteModel}, {Provider: "anth", Model: claudeRemote}}},
			})
			rt := &http.Transport{ResponseHeaderTimeout: time.Second}
			t.Cleanup(rt.CloseIdleConnections)
			recs := &records{}
			srv := httptest.NewServer(httpapi.NewServer(httpapi.Options{
				Provider: upstream.NewWithOptions(catalog, map[string]lyumen.Provider{
					"anth": anthropic.NewClient(anthUp.BaseURL(), operatorKey, nil, rt),
					"fake": oai.NewClient(oaiUp.BaseURL(), operatorKey, nil, rt),
				}, upstream.Options{Retries: -1}),
				Catalog:  catalog,
				Recorder: recs,
			}))
			t.Cleanup(srv.Close)

			var text string
			if tc.model == claudeModel {
				c := sdk.NewClient(sdkoption.WithBaseURL(srv.URL+"/"), sdkoption.WithAPIKey(clientKey), sdkoption.WithMaxRetries(0))
				s := c.Messages.NewStreaming(t.Context(), messageParams(tc.model, "one two three", false))
				var m sdk.Message
				for s.Next() {
					if err := m.Accumulate(s.Current()); err != nil {
						t.Fatalf("the SDK refuses the event sequence: %v", err)
					}
				}
				if err := s.Err(); err != nil {
					t.Fatalf("stream: %v", err)
				}
				text = strings.Join(blocks(&m), "|")
			} else {
				c := openai.NewClient(option.WithBaseURL(srv.URL+"/v1/"), option.WithAPIKey(clientKey), option.WithMaxRetries(0))
				s := c.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{
					Model:    tc.model,
					Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("one two three")},
				})
				var acc openai.ChatCompletionAccumulator
				for s.Next() {
					acc.AddChunk(s.Current())
				}
				if err := s.Err(); err != nil {
					t.Fatalf("stream: %v", err)
				}
				text = acc.Choices[0].Message.Content
			}
			if !strings.Contains(text, "one two three") {
				t.Errorf("the client got %q, want the second target's whole answer", text)
			}

			rec := recs.wait(t, 1)
			if rec.Completeness != lyumen.Complete || rec.Status != http.StatusOK || rec.Provider != tc.served {
				t.Errorf("record: completeness %q, status %d, provider %q; want complete, 200, %q", rec.Completeness, rec.Status, rec.Provider, tc.served)
			}
			if len(rec.Attempts) != 2 || rec.Attempts[0].Provider != tc.first || rec.Attempts[0].Error == "" ||
				rec.Attempts[1].Provider != tc.served || rec.Attempts[1].Error != "" {
				t.Errorf("attempts %+v, want %s failed, then %s served", rec.Attempts, tc.first, tc.served)
			}
			if got := rec.Response.Choices[0].Message.Content; !strings.Contains(got, "one two three") {
				t.Errorf("recorded %q, want the second target's answer alone", got)
			}
		})
	}
}

// TestChat_MissingUpstreamModelFallsBack: an upstream's 404 for its model
// (retired, or misspelt in the configuration) hands the request to the
// model's next target.
func TestChat_MissingUpstreamModelFallsBack(t *testing.T) {
	anthUp, oaiUp := providertest.NewAnthropic(t), providertest.NewOpenAI(t)
	oaiUp.Set(providertest.Behaviour{Status: http.StatusNotFound, ErrorText: "The model `upstream-model-1` does not exist"})
	catalog := lyumen.NewCatalog([]lyumen.Model{
		{Name: publicModel, Targets: []lyumen.Target{{Provider: "fake", Model: remoteModel}, {Provider: "anth", Model: claudeRemote}}},
	})
	recs := &records{}
	srv := httptest.NewServer(httpapi.NewServer(httpapi.Options{
		Provider: upstream.NewWithOptions(catalog, map[string]lyumen.Provider{
			"anth": anthropic.NewClient(anthUp.BaseURL(), operatorKey, nil, nil),
			"fake": oai.NewClient(oaiUp.BaseURL(), operatorKey, nil, nil),
		}, upstream.Options{Retries: -1}),
		Catalog:  catalog,
		Recorder: recs,
	}))
	t.Cleanup(srv.Close)
	c := openai.NewClient(option.WithBaseURL(srv.URL+"/v1/"), option.WithAPIKey(clientKey), option.WithMaxRetries(0))
	resp, err := c.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
		Model:    publicModel,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("one two")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Content; !strings.Contains(got, "one two") {
		t.Errorf("answer %q, want the second target's", got)
	}
	if rec := recs.wait(t, 1); rec.Provider != "anth" || len(rec.Attempts) != 2 || rec.Attempts[0].Status != http.StatusNotFound {
		t.Errorf("record: provider %q, attempts %+v; want anth after fake's 404", rec.Provider, rec.Attempts)
	}
}

// TestStream_FailsBeforeItsAnswerWithAStatus: a stream that fails before
// anything went out, headers included (HeaderWait), gets its error's own
// status, as one that failed to open: the SDK then retries a 429 or 5xx
// as it would for any other. One that fails after the headers went out
// ends in an error event.
func TestStream_FailsBeforeItsAnswerWithAStatus(t *testing.T) {
	for _, tc := range []struct {
		name       string
		gap        time.Duration // between the upstream's events
		wantStatus int           // of the SDK's error; 200: an error event
		want       lyumen.Completeness
	}{
		{name: "before HeaderWait", wantStatus: 529, want: lyumen.UpstreamRefused},
		{name: "after HeaderWait", gap: 300 * time.Millisecond, wantStatus: http.StatusOK, want: lyumen.UpstreamFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			anthUp := providertest.NewAnthropic(t)
			anthUp.Set(providertest.Behaviour{ChunkGap: tc.gap})
			anthUp.FailAfter(2) // after message_start and content_block_start
			catalog := lyumen.NewCatalog([]lyumen.Model{{Name: claudeModel, Targets: []lyumen.Target{{Provider: "anth", Model: claudeRemote}}}})
			recs := &records{}
			srv := httptest.NewServer(httpapi.NewServer(httpapi.Options{
				Provider: upstream.NewWithOptions(catalog, map[string]lyumen.Provider{
					"anth": anthropic.NewClient(anthUp.BaseURL(), operatorKey, nil, nil),
				}, upstream.Options{Retries: -1}),
				Catalog:    catalog,
				Recorder:   recs,
				HeaderWait: 50 * time.Millisecond,
			}))
			t.Cleanup(srv.Close)
			c := sdk.NewClient(sdkoption.WithBaseURL(srv.URL+"/"), sdkoption.WithAPIKey(clientKey), sdkoption.WithMaxRetries(0))
			s := c.Messages.NewStreaming(t.Context(), messageParams(claudeModel, "one two", false))
			for s.Next() {
			}
			apiErr, ok := errors.AsType[*sdk.Error](s.Err())
			if !ok || apiErr.StatusCode != tc.wantStatus || apiErr.Type() != "overloaded_error" {
				t.Fatalf("stream error %v, want overloaded_error with status %d", s.Err(), tc.wantStatus)
			}
			rec := recs.wait(t, 1)
			if rec.Completeness != tc.want || rec.Error == "" {
				t.Errorf("record: completeness %q, status %d, error %q; want %q", rec.Completeness, rec.Status, rec.Error, tc.want)
			}
			if tc.want == lyumen.UpstreamRefused && rec.Status != tc.wantStatus {
				t.Errorf("record status %d, want %d", rec.Status, tc.wantStatus)
			}
			if h := apiErr.Response.Header; tc.want == lyumen.UpstreamRefused &&
				(h.Get("Content-Type") != "application/json" || h.Get("Cache-Control") != "" || h.Get("X-Accel-Buffering") != "") {
				t.Errorf("headers %v: want those of an error that came before the stream opened, none of a stream's", h)
			}
		})
	}
}

// TestStream_RefusedBeforeItsAnswerWithAStatus: an upstream that refuses
// the request inside its 200 stream, after a preamble (Anthropic's
// invalid_request_error after message_start), is not a failure another
// target may mend; the client still gets the refusal's own status, as one
// refused at once, and nothing of the preamble the router held.
func TestStream_RefusedBeforeItsAnswerWithAStatus(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "event: message_start\ndata: "+
			`{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"`+claudeRemote+
			`","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":9,"output_tokens":1}}}`+"\n\n")
		io.WriteString(w, "event: error\ndata: "+
			`{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}`+"\n\n")
	}))
	t.Cleanup(up.Close)
	catalog := lyumen.NewCatalog([]lyumen.Model{{Name: claudeModel, Targets: []lyumen.Target{{Provider: "anth", Model: claudeRemote}}}})
	recs := &records{}
	srv := httptest.NewServer(httpapi.NewServer(httpapi.Options{
		Provider: upstream.NewWithOptions(catalog, map[string]lyumen.Provider{
			"anth": anthropic.NewClient(up.URL, operatorKey, nil, up.Client().Transport),
		}, upstream.Options{Retries: -1}),
		Catalog:    catalog,
		Recorder:   recs,
		HeaderWait: time.Minute, // the headers wait for the first event
	}))
	t.Cleanup(srv.Close)
	c := sdk.NewClient(sdkoption.WithBaseURL(srv.URL+"/"), sdkoption.WithAPIKey(clientKey), sdkoption.WithMaxRetries(0))
	s := c.Messages.NewStreaming(t.Context(), messageParams(claudeModel, "one two", false))
	for s.Next() {
		t.Errorf("event %q before the refusal: want none", s.Current().Type)
	}
	apiErr, ok := errors.AsType[*sdk.Error](s.Err())
	if !ok || apiErr.StatusCode != http.StatusBadRequest || apiErr.Type() != "invalid_request_error" {
		t.Fatalf("stream error %v, want invalid_request_error with status 400", s.Err())
	}
	if rec := recs.wait(t, 1); rec.Status != http.StatusBadRequest || rec.Completeness != lyumen.UpstreamRefused {
		t.Errorf("record: status %d, completeness %q; want 400, %q", rec.Status, rec.Completeness, lyumen.UpstreamRefused)
	}
}
