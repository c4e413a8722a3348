package upstream_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/upstream"
)

// provider is a function-field fake: it records every request it gets and
// answers with fail when set, else with a response (or stream) naming it.
type provider struct {
	name string
	fail func(ctx context.Context) error

	mu   sync.Mutex
	reqs []*lyumen.Request
}

func (p *provider) seen(ctx context.Context, req *lyumen.Request) error {
	p.mu.Lock()
	p.reqs = append(p.reqs, req)
	p.mu.Unlock()
	if p.fail != nil {
		return p.fail(ctx)
	}
	return nil
}

func (p *provider) requests() []*lyumen.Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*lyumen.Request(nil), p.reqs...)
}

func (p *provider) Chat(ctx context.Context, req *lyumen.Request) (*lyumen.Response, error) {
	if err := p.seen(ctx, req); err != nil {
		return nil, err
	}
	return &lyumen.Response{ID: p.name, Model: req.Model}, nil
}

func (p *provider) ChatStream(ctx context.Context, req *lyumen.Request) (lyumen.Stream, error) {
	if err := p.seen(ctx, req); err != nil {
		return nil, err
	}
	return &stream{id: p.name}, nil
}

// stream answers "hello" once, with its provider's name for an id.
type stream struct {
	id   string
	done bool
}

func (s *stream) Next() (lyumen.Event, error) {
	if s.done {
		return lyumen.Event{}, io.EOF
	}
	s.done = true
	return lyumen.Event{ID: s.id, Choices: []lyumen.ChoiceDelta{{Content: "hello"}}}, nil
}

func (s *stream) Close() error { return nil }

func failWith(err error) func(context.Context) error {
	return func(context.Context) error { return err }
}

// call runs Chat or ChatStream and reports which provider answered.
type call struct {
	name string
	do   func(ctx context.Context, p *upstream.Pool, req *lyumen.Request) (string, error)
}

var calls = []call{
	{"Chat", func(ctx context.Context, p *upstream.Pool, req *lyumen.Request) (string, error) {
		resp, err := p.Chat(ctx, req)
		if err != nil {
			if resp != nil {
				return "", fmt.Errorf("Chat returned a response with error %w", err)
			}
			return "", err
		}
		return resp.ID, nil
	}},
	{"ChatStream", func(ctx context.Context, p *upstream.Pool, req *lyumen.Request) (string, error) {
		s, err := p.ChatStream(ctx, req)
		if err != nil {
			if s != nil {
				return "", fmt.Errorf("ChatStream returned a stream with error %w", err)
			}
			return "", err
		}
		defer s.Close()
		ev, err := s.Next() // a stream's target is settled at its first content
		return ev.ID, err
	}},
}

const publicModel = "gpt-public"

func newPool(first, second *provider) *upstream.Pool {
	return twoTargets(first, second, upstream.Options{Retries: -1})
}

// twoTargets is a pool whose publicModel has two targets: first (model-a),
// then second (model-b).
func twoTargets(first, second lyumen.Provider, o upstream.Options) *upstream.Pool {
	catalog := lyumen.NewCatalog([]lyumen.Model{{
		Name: publicModel,
		Targets: []lyumen.Target{
			{Provider: "first", Model: "model-a"},
			{Provider: "second", Model: "model-b"},
		},
	}})
	return upstream.NewWithOptions(catalog, map[string]lyumen.Provider{"first": first, "second": second}, o)
}

func TestPool_Fallback(t *testing.T) {
	upstream500 := &lyumen.Error{Kind: lyumen.KindUpstream, Status: 500, Message: "upstream: boom"}
	tests := []struct {
		name         string
		firstErr     error
		secondErr    error
		wantServedBy string // "" when the call fails
		wantErr      error  // the error returned, compared with errors.Is
		wantAttempts []lyumen.Attempt
	}{
		{
			name:         "first target answers",
			wantServedBy: "first",
			wantAttempts: []lyumen.Attempt{{Provider: "first", Model: "model-a"}},
		},
		{
			name:         "upstream 500 falls back",
			firstErr:     upstream500,
			wantServedBy: "second",
			wantAttempts: []lyumen.Attempt{
				{Provider: "first", Model: "model-a", Status: 500, Error: "upstream: boom"},
				{Provider: "second", Model: "model-b"},
			},
		},
		{
			name:         "upstream 503 falls back",
			firstErr:     &lyumen.Error{Kind: lyumen.KindUpstream, Status: 503, Message: "upstream: Service Unavailable"},
			wantServedBy: "second",
			wantAttempts: []lyumen.Attempt{
				{Provider: "first", Model: "model-a", Status: 503, Error: "upstream: Service Unavailable"},
				{Provider: "second", Model: "model-b"},
			},
		},
		{
			name:         "upstream 429 falls back",
			firstErr:     &lyumen.Error{Kind: lyumen.KindUpstream, Status: 429, Message: "upstream: quota", Err: errors.New("retry after 7s")},
			wantServedBy: "second",
			wantAttempts: []lyumen.Attempt{
				{Provider: "first", Model: "model-a", Status: 429, Error: "upstream: quota: retry after 7s"},
				{Provider: "second", Model: "model-b"},
			},
		},
		{
			name:         "connection failure falls back",
			firstErr:     &lyumen.Error{Kind: lyumen.KindUpstream, Message: "the upstream could not be reached", Err: errors.New("connection refused")},
			wantServedBy: "second",
			wantAttempts: []lyumen.Attempt{
				{Provider: "first", Model: "model-a", Error: "the upstream could not be reached: connection refused"},
				{Provider: "second", Model: "model-b"},
			},
		},
		{
			name:         "timeout falls back",
			firstErr:     &lyumen.Error{Kind: lyumen.KindTimeout, Message: "the upstream did not answer in time"},
			wantServedBy: "second",
			wantAttempts: []lyumen.Attempt{
				{Provider: "first", Model: "model-a", Error: "the upstream did not answer in time"},
				{Provider: "second", Model: "model-b"},
			},
		},
		{
			name:         "upstream 401 falls back: the operator's key, not the request",
			firstErr:     &lyumen.Error{Kind: lyumen.KindUpstream, Status: 401, Message: "upstream: Unauthorized"},
			wantServedBy: "second",
			wantAttempts: []lyumen.Attempt{
				{Provider: "first", Model: "model-a", Status: 401, Error: "upstream: Unauthorized"},
				{Provider: "second", Model: "model-b"},
			},
		},
		{
			name:         "upstream 402 falls back: the operator's account is out of credit, not the request",
			firstErr:     &lyumen.Error{Kind: lyumen.KindUpstream, Status: 402, Message: "upstream: Insufficient credits"},
			wantServedBy: "second",
			wantAttempts: []lyumen.Attempt{
				{Provider: "first", Model: "model-a", Status: 402, Error: "upstream: Insufficient credits"},
				{Provider: "second", Model: "model-b"},
			},
		},
		{
			name:         "upstream 408 falls back: the upstream timed out",
			firstErr:     &lyumen.Error{Kind: lyumen.KindUpstream, Status: 408, Message: "upstream: Request Timeout"},
			wantServedBy: "second",
			wantAttempts: []lyumen.Attempt{
				{Provider: "first", Model: "model-a", Status: 408, Error: "upstream: Request Timeout"},
				{Provider: "second", Model: "model-b"},
			},
		},
		{
			name:         "upstream 404 falls back: the target's model is missing",
			firstErr:     &lyumen.Error{Kind: lyumen.KindUpstream, Status: 404, Message: "upstream: model not found"},
			wantServedBy: "second",
			wantAttempts: []lyumen.Attempt{
				{Provider: "first", Model: "model-a", Status: 404, Error: "upstream: model not found"},
				{Provider: "second", Model: "model-b"},
			},
		},
		{
			name:     "upstream 400 does not fall back",
			firstErr: &lyumen.Error{Kind: lyumen.KindUpstream, Status: 400, Message: "upstream: bad temperature"},
			wantErr:  &lyumen.Error{Kind: lyumen.KindUpstream, Status: 400, Message: "upstream: bad temperature"},
			wantAttempts: []lyumen.Attempt{
				{Provider: "first", Model: "model-a", Status: 400, Error: "upstream: bad temperature"},
			},
		},
		{
			name:     "upstream 422 does not fall back",
			firstErr: &lyumen.Error{Kind: lyumen.KindUpstream, Status: 422, Message: "upstream: unprocessable"},
			wantErr:  &lyumen.Error{Kind: lyumen.KindUpstream, Status: 422, Message: "upstream: unprocessable"},
			wantAttempts: []lyumen.Attempt{
				{Provider: "first", Model: "model-a", Status: 422, Error: "upstream: unprocessable"},
			},
		},
		{
			name:     "invalid request does not fall back",
			firstErr: lyumen.Errorf(lyumen.KindInvalid, "surface x is not supported"),
			wantErr:  lyumen.Errorf(lyumen.KindInvalid, "surface x is not supported"),
			wantAttempts: []lyumen.Attempt{
				{Provider: "first", Model: "model-a", Error: "surface x is not supported"},
			},
		},
		{
			name:     "plain error does not fall back",
			firstErr: errors.New("re-read request body: bad"),
			wantErr:  errors.New("re-read request body: bad"),
			wantAttempts: []lyumen.Attempt{
				{Provider: "first", Model: "model-a", Error: "re-read request body: bad"},
			},
		},
		{
			name:      "both fail: the last error",
			firstErr:  upstream500,
			secondErr: &lyumen.Error{Kind: lyumen.KindTimeout, Message: "the upstream did not answer in time"},
			wantErr:   &lyumen.Error{Kind: lyumen.KindTimeout, Message: "the upstream did not answer in time"},
			wantAttempts: []lyumen.Attempt{
				{Provider: "first", Model: "model-a", Status: 500, Error: "upstream: boom"},
				{Provider: "second", Model: "model-b", Error: "the upstream did not answer in time"},
			},
		},
	}
	for _, c := range calls {
		for _, tc := range tests {
			t.Run(c.name+"/"+tc.name, func(t *testing.T) {
				first := &provider{name: "first"}
				second := &provider{name: "second"}
				if tc.firstErr != nil {
					first.fail = failWith(tc.firstErr)
				}
				if tc.secondErr != nil {
					second.fail = failWith(tc.secondErr)
				}
				var attempts []lyumen.Attempt
				req := &lyumen.Request{Model: publicModel, OnAttempt: func(a lyumen.Attempt) { attempts = append(attempts, a) }}

				servedBy, err := c.do(t.Context(), newPool(first, second), req)
				if tc.wantErr == nil && err != nil {
					t.Fatalf("error %v, want success", err)
				}
				if tc.wantErr != nil {
					if err == nil {
						t.Fatalf("served by %s, want error %v", servedBy, tc.wantErr)
					}
					if diff := cmp.Diff(tc.wantErr.Error(), err.Error()); diff != "" {
						t.Errorf("error mismatch (-want +got):\n%s", diff)
					}
					if lyumen.KindOf(err) != lyumen.KindOf(tc.wantErr) {
						t.Errorf("error kind %d, want %d", lyumen.KindOf(err), lyumen.KindOf(tc.wantErr))
					}
				}
				if servedBy != tc.wantServedBy {
					t.Errorf("served by %q, want %q", servedBy, tc.wantServedBy)
				}
				if diff := cmp.Diff(tc.wantAttempts, attempts, cmpopts.IgnoreFields(lyumen.Attempt{}, "Duration")); diff != "" {
					t.Errorf("attempts mismatch (-want +got):\n%s", diff)
				}
				for _, a := range attempts {
					if a.Duration < 0 {
						t.Errorf("attempt %+v has a negative duration", a)
					}
				}
				if got, want := len(first.requests())+len(second.requests()), len(tc.wantAttempts); got != want {
					t.Errorf("providers got %d requests, want %d", got, want)
				}
			})
		}
	}
}

func TestPool_RequestCopy(t *testing.T) {
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			first := &provider{name: "first", fail: failWith(&lyumen.Error{Kind: lyumen.KindUpstream, Status: 502})}
			second := &provider{name: "second"}
			req := &lyumen.Request{
				Surface:      lyumen.SurfaceOpenAIChat,
				Model:        publicModel,
				Stream:       true,
				IncludeUsage: true,
				Body:         []byte(`{"model":"gpt-public"}`),
				Messages:     []lyumen.Message{{Role: "user", Content: "hi"}},
			}
			if _, err := c.do(t.Context(), newPool(first, second), req); err != nil {
				t.Fatal(err)
			}
			if req.Model != publicModel {
				t.Errorf("caller's req.Model = %q, want %q unchanged", req.Model, publicModel)
			}
			for _, tc := range []struct {
				p     *provider
				model string
			}{{first, "model-a"}, {second, "model-b"}} {
				got := tc.p.requests()
				if len(got) != 1 {
					t.Fatalf("%s got %d requests, want 1", tc.p.name, len(got))
				}
				if got[0] == req {
					t.Errorf("%s got the caller's request, want a copy", tc.p.name)
				}
				want := *req
				want.Model = tc.model
				if diff := cmp.Diff(&want, got[0], cmpopts.IgnoreFields(lyumen.Request{}, "OnAttempt")); diff != "" {
					t.Errorf("%s request mismatch (-want +got):\n%s", tc.p.name, diff)
				}
			}
		})
	}
}

func TestPool_ContextCanceled(t *testing.T) {
	tests := []struct {
		name     string
		firstErr error
	}{
		{name: "provider returns the context error", firstErr: context.Canceled},
		// Even a retryable error does not move on once the client has gone.
		{name: "provider returns a retryable error", firstErr: &lyumen.Error{Kind: lyumen.KindUpstream, Message: "the upstream could not be reached"}},
	}
	for _, c := range calls {
		for _, tc := range tests {
			t.Run(c.name+"/"+tc.name, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				first := &provider{name: "first", fail: func(context.Context) error {
					cancel() // the client leaves while the first target is tried
					return tc.firstErr
				}}
				second := &provider{name: "second"}
				var attempts []lyumen.Attempt
				req := &lyumen.Request{Model: publicModel, OnAttempt: func(a lyumen.Attempt) { attempts = append(attempts, a) }}

				_, err := c.do(ctx, newPool(first, second), req)
				if !errors.Is(err, tc.firstErr) {
					t.Errorf("error %v, want %v", err, tc.firstErr)
				}
				if n := len(second.requests()); n != 0 {
					t.Errorf("second target got %d requests after the context ended", n)
				}
				if len(attempts) != 1 {
					t.Errorf("got %d attempts, want 1", len(attempts))
				}
			})
		}
	}
}

func TestPool_UnknownModel(t *testing.T) {
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			first, second := &provider{name: "first"}, &provider{name: "second"}
			called := false
			req := &lyumen.Request{Model: "gpt-nope", OnAttempt: func(lyumen.Attempt) { called = true }}
			_, err := c.do(t.Context(), newPool(first, second), req)
			if k := lyumen.KindOf(err); k != lyumen.KindNotFound {
				t.Errorf("error %v (kind %d), want KindNotFound", err, k)
			}
			if called || len(first.requests())+len(second.requests()) > 0 {
				t.Error("a provider was tried for an unknown model")
			}
		})
	}
}

func TestPool_NoConfiguredProvider(t *testing.T) {
	catalog := lyumen.NewCatalog([]lyumen.Model{
		{Name: "orphan", Targets: []lyumen.Target{{Provider: "missing", Model: "m"}}},
		{Name: "empty"},
	})
	p := upstream.New(catalog, map[string]lyumen.Provider{}, nil)
	for _, c := range calls {
		for _, model := range []string{"orphan", "empty"} {
			t.Run(c.name+"/"+model, func(t *testing.T) {
				_, err := c.do(t.Context(), p, &lyumen.Request{Model: model})
				if k := lyumen.KindOf(err); k != lyumen.KindUnavailable {
					t.Errorf("error %v (kind %d), want KindUnavailable", err, k)
				}
			})
		}
	}
}

// TestPool_Untranslated: a target that cannot take a request as written
// (a translating provider given a raw completion) is passed over, at no
// cost to its breaker; its refusal is the answer only when no target took
// the request and none failed otherwise.
func TestPool_Untranslated(t *testing.T) {
	raw := lyumen.Errorf(lyumen.KindInvalid, "'echo' cannot be translated")
	refuses := func(ctx context.Context) error { return raw }
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			for _, tc := range []struct {
				name          string
				first, second func(context.Context) error
				wantFrom      string
				wantErr       error
			}{
				{"the second takes it", refuses, nil, "second", nil},
				{"the first takes it", nil, refuses, "first", nil},
				{"neither can", refuses, refuses, "", raw},
				{"the one that could failed", failWith(lyumen.Errorf(lyumen.KindUpstream, "down")), refuses, "", nil},
			} {
				t.Run(tc.name, func(t *testing.T) {
					first, second := &provider{name: "first", fail: tc.first}, &provider{name: "second", fail: tc.second}
					req := &lyumen.Request{Model: publicModel, Untranslated: raw}
					got, err := c.do(t.Context(), newPool(first, second), req)
					switch {
					case tc.wantFrom != "":
						if err != nil || got != tc.wantFrom {
							t.Errorf("answered by %q, %v; want %q", got, err, tc.wantFrom)
						}
					case tc.wantErr != nil:
						if !errors.Is(err, tc.wantErr) {
							t.Errorf("err %v, want the refusal", err)
						}
					default:
						if err == nil || errors.Is(err, raw) {
							t.Errorf("err %v, want the failure, not the refusal", err)
						}
					}
				})
			}
		})
	}
}
