package upstream_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/upstream"
)

// embedFake is a Provider and an Embedder that answers with err when set,
// and keeps the models it was asked for.
type embedFake struct {
	err    error
	models []string
}

func (f *embedFake) Chat(context.Context, *lyumen.Request) (*lyumen.Response, error) {
	return nil, errors.New("not a chat model")
}

func (f *embedFake) ChatStream(context.Context, *lyumen.Request) (lyumen.Stream, error) {
	return nil, errors.New("not a chat model")
}

func (f *embedFake) Embed(_ context.Context, req *lyumen.EmbedRequest) (*lyumen.EmbedResponse, error) {
	f.models = append(f.models, req.Model)
	if f.err != nil {
		return nil, f.err
	}
	return &lyumen.EmbedResponse{Model: req.Model, Vectors: [][]float64{{1}}}, nil
}

// chatOnly hides Embed.
type chatOnly struct{ lyumen.Provider }

func TestPool_Embed(t *testing.T) {
	down := &lyumen.Error{Kind: lyumen.KindUpstream, Status: http.StatusBadGateway, Message: "upstream: bad gateway"}
	tests := []struct {
		name         string
		first        lyumen.Provider
		second       lyumen.Provider
		wantModel    string // the answering upstream model; "" for an error
		wantKind     lyumen.Kind
		wantAttempts []lyumen.Attempt
	}{
		{
			name: "first target answers", first: &embedFake{}, second: &embedFake{}, wantModel: "embed-a",
			wantAttempts: []lyumen.Attempt{{Provider: "first", Model: "embed-a"}},
		},
		{
			name: "falls back when the first is down", first: &embedFake{err: down}, second: &embedFake{}, wantModel: "embed-b",
			wantAttempts: []lyumen.Attempt{{Provider: "first", Model: "embed-a", Status: 502, Error: down.Error()}, {Provider: "second", Model: "embed-b"}},
		},
		{
			// Not an attempt, as a request a provider cannot translate.
			name: "a target that cannot embed is passed over", first: chatOnly{&embedFake{}}, second: &embedFake{}, wantModel: "embed-b",
			wantAttempts: []lyumen.Attempt{{Provider: "second", Model: "embed-b"}},
		},
		{
			name: "no target can embed: a 400", first: chatOnly{&embedFake{}}, second: chatOnly{&embedFake{}}, wantKind: lyumen.KindInvalid,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			catalog := lyumen.NewCatalog([]lyumen.Model{{Name: "embed", Targets: []lyumen.Target{
				{Provider: "first", Model: "embed-a"}, {Provider: "second", Model: "embed-b"},
			}}})
			p := upstream.NewWithOptions(catalog, map[string]lyumen.Provider{"first": tc.first, "second": tc.second}, upstream.Options{Retries: -1})
			var attempts []lyumen.Attempt
			req := &lyumen.EmbedRequest{Model: "embed", Input: []string{"x"}, OnAttempt: func(a lyumen.Attempt) { attempts = append(attempts, a) }}
			resp, err := p.Embed(t.Context(), req)
			switch {
			case tc.wantModel == "" && lyumen.KindOf(err) != tc.wantKind:
				t.Errorf("err %v, want kind %v", err, tc.wantKind)
			case tc.wantModel != "" && (err != nil || resp.Model != tc.wantModel):
				t.Errorf("Embed = %+v, %v; want an answer from %s", resp, err, tc.wantModel)
			}
			if diff := cmp.Diff(tc.wantAttempts, attempts, cmpopts.IgnoreFields(lyumen.Attempt{}, "Duration")); diff != "" {
				t.Errorf("attempts (-want +got):\n%s", diff)
			}
			if req.Model != "embed" {
				t.Errorf("the caller's request was changed: model %q", req.Model)
			}
		})
	}
	t.Run("unknown model", func(t *testing.T) {
		p := upstream.New(lyumen.NewCatalog(nil), nil, nil)
		if _, err := p.Embed(t.Context(), &lyumen.EmbedRequest{Model: "nope"}); lyumen.KindOf(err) != lyumen.KindNotFound {
			t.Errorf("err %v, want KindNotFound", err)
		}
	})
}

func TestKeys_Embed(t *testing.T) {
	throttled := &embedFake{err: &lyumen.Error{Kind: lyumen.KindUpstream, Status: http.StatusTooManyRequests, Message: "slow down"}}
	ok := &embedFake{}
	k := upstream.NewKeys([]lyumen.Provider{throttled, ok})
	resp, err := k.Embed(t.Context(), &lyumen.EmbedRequest{Model: "m", Input: []string{"x"}})
	if err != nil || resp.Model != "m" || len(throttled.models) != 1 || len(ok.models) != 1 {
		t.Errorf("Embed = %+v, %v after %d and %d calls; want the throttled key skipped", resp, err, len(throttled.models), len(ok.models))
	}
	none := upstream.NewKeys([]lyumen.Provider{chatOnly{ok}})
	if _, err := none.Embed(t.Context(), &lyumen.EmbedRequest{Model: "m"}); lyumen.KindOf(err) != lyumen.KindInvalid {
		t.Errorf("err %v, want KindInvalid", err)
	}
}
