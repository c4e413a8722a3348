package upstream_test

import (
	"errors"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/gemini"
	"github.com/lyumen/lyumen/openai"
	"github.com/lyumen/lyumen/providertest"
	"github.com/lyumen/lyumen/upstream"
)

// TestPool_RetryAfterPastMaxWaitReachesTheClient: README: "When every
// target failed, routing.retries more rounds follow, after a backoff or the
// upstream's Retry-After (never beyond routing.max_wait); a longer wait
// goes to the client as its Retry-After." With two targets, the wait one
// asked for is what stops the retry round, and the client gets it, not the
// other target's error without any Retry-After (its SDK retried at once).
func TestPool_RetryAfterPastMaxWaitReachesTheClient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		throttled := &lyumen.Error{Kind: lyumen.KindUpstream, Status: http.StatusTooManyRequests, RetryAfter: time.Minute, Message: "upstream: quota"}
		down := &lyumen.Error{Kind: lyumen.KindUpstream, Status: http.StatusServiceUnavailable, Message: "upstream: unavailable"}
		first := &provider{name: "first", fail: failWith(throttled)}
		second := &provider{name: "second", fail: failWith(down)}
		p := twoTargets(first, second, upstream.Options{Retries: 1})
		start := time.Now()
		_, err := p.Chat(t.Context(), &lyumen.Request{Model: publicModel})
		if waited := time.Since(start); waited != 0 {
			t.Fatalf("waited %v; the minute asked for is past MaxWait, so no retry round", waited)
		}
		e, ok := errors.AsType[*lyumen.Error](err)
		if !ok {
			t.Fatalf("err %v, want a *lyumen.Error", err)
		}
		if e.RetryAfter < time.Minute {
			t.Errorf("err %v (RetryAfter %v): the wait that stopped the retries (1m) does not reach the client", err, e.RetryAfter)
		}
	})
}

// TestPool_ProviderRefusalDoesNotHideAnOutage: a target whose
// provider cannot translate the request (Gemini and an image URL, more
// candidates than it gives, a built-in tool…) refuses with KindInvalid
// before any upstream is asked (lyumen.Unsupported, Elsewhere). The route
// goes on, as for an untranslated request or an upstream's 404: the target
// that can take it had a transient 503, and the retry round serves it. The
// route used to stop: the client got a 400 that blamed its request.
func TestPool_ProviderRefusalDoesNotHideAnOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		down := &lyumen.Error{Kind: lyumen.KindUpstream, Status: http.StatusServiceUnavailable, Message: "upstream: unavailable"}
		cannot := &lyumen.Error{Kind: lyumen.KindInvalid, Message: "image URLs cannot be sent to this model's provider", Elsewhere: true}
		native := &provider{name: "native", fail: failTimes(1, down)} // a blip: answers the retry
		gemini := &provider{name: "gemini", fail: failWith(cannot)}
		p := twoTargets(native, gemini, upstream.Options{Retries: 1, Backoff: time.Millisecond})
		resp, err := p.Chat(t.Context(), &lyumen.Request{Model: publicModel})
		if err != nil {
			t.Errorf("err %v (kind %d); want the retry round to reach the target that can take the request", err, lyumen.KindOf(err))
		} else if resp.ID != "native" {
			t.Errorf("served by %s, want native", resp.ID)
		}
	})
}

// TestPool_WeightedDrawDoesNotDecideValidity: with weighted
// targets of different kinds, the same request is served whichever is
// drawn: it was refused with a 400 when the one that cannot take it was.
func TestPool_WeightedDrawDoesNotDecideValidity(t *testing.T) {
	cannot := &lyumen.Error{Kind: lyumen.KindInvalid, Message: "image URLs cannot be sent to this model's provider", Elsewhere: true}
	for draw, name := range []string{"gemini first", "native first"} {
		t.Run(name, func(t *testing.T) {
			gemini := &provider{name: "gemini", fail: failWith(cannot)}
			native := &provider{name: "native"}
			catalog := lyumen.NewCatalog([]lyumen.Model{{Name: publicModel, Targets: []lyumen.Target{
				{Provider: "gemini", Model: "gemini-2.5-flash", Weight: 1},
				{Provider: "native", Model: "gpt-4.1", Weight: 1},
			}}})
			p := upstream.NewWithOptions(catalog, map[string]lyumen.Provider{"gemini": gemini, "native": native},
				upstream.Options{Retries: -1, Rand: func(int) int { return draw }})
			if _, err := p.Chat(t.Context(), &lyumen.Request{Model: publicModel}); err != nil {
				t.Errorf("err %v; the native target, a fallback, takes the request", err)
			}
		})
	}
}

// TestPool_GeminiImageURLRefusalFallsBack: the same with the real
// clients and the repo's fake upstreams. An OpenAI-compatible target
// (which fetches image URLs) and a Gemini one (which does not) serve one
// model. A request with an image URL was refused with a 400 whenever
// Gemini was drawn first, and when the OpenAI target had a 503, the client
// was told its request was invalid instead of hearing of the outage.
func TestPool_GeminiImageURLRefusalFallsBack(t *testing.T) {
	withImageURL := func() *lyumen.Request {
		return &lyumen.Request{Model: publicModel, Messages: []lyumen.Message{{Role: "user", Parts: []lyumen.Part{
			{Type: lyumen.PartText, Text: "What is this?"},
			{Type: lyumen.PartImage, URL: "https://example.com/cat.png"},
		}}}}
	}
	newPool := func(t *testing.T, draw int, oa *providertest.OpenAI) *upstream.Pool {
		g := providertest.NewGemini(t)
		catalog := lyumen.NewCatalog([]lyumen.Model{{Name: publicModel, Targets: []lyumen.Target{
			{Provider: "gemini", Model: "gemini-2.5-flash", Weight: 1},
			{Provider: "openai", Model: "gpt-4.1", Weight: 1},
		}}})
		return upstream.NewWithOptions(catalog, map[string]lyumen.Provider{
			"gemini": gemini.NewClient(g.BaseURL(), "gemini-key", nil, nil),
			"openai": openai.NewClient(oa.BaseURL(), "openai-key", nil, nil),
		}, upstream.Options{Retries: -1, Rand: func(int) int { return draw }})
	}
	t.Run("gemini drawn first", func(t *testing.T) {
		oa := providertest.NewOpenAI(t)
		_, err := newPool(t, 0, oa).Chat(t.Context(), withImageURL())
		if err != nil {
			t.Errorf("err %v (kind %d); the OpenAI target takes image URLs", err, lyumen.KindOf(err))
		}
		if len(oa.Seen()) != 1 {
			t.Errorf("the OpenAI fallback got %d requests, want 1", len(oa.Seen()))
		}
	})
	t.Run("openai down", func(t *testing.T) {
		oa := providertest.NewOpenAI(t)
		oa.Set(providertest.Behaviour{Status: http.StatusServiceUnavailable})
		_, err := newPool(t, 1, oa).Chat(t.Context(), withImageURL())
		if lyumen.KindOf(err) == lyumen.KindInvalid {
			t.Errorf("err %v: a 400 blaming the request hides the OpenAI target's 503", err)
		}
	})
}

// TestPool_HugeWeightsDoNotPanic: two huge weights overflowed the total in
// order(), and rand.IntN panicked on the negative total for every request
// of the model; a weight counts at most upstream.MaxWeight.
func TestPool_HugeWeightsDoNotPanic(t *testing.T) {
	defer func() {
		if v := recover(); v != nil {
			t.Errorf("Chat panicked: %v", v)
		}
	}()
	a, b := &provider{name: "a"}, &provider{name: "b"}
	const big = int(^uint(0) >> 1)
	catalog := lyumen.NewCatalog([]lyumen.Model{{Name: publicModel, Targets: []lyumen.Target{
		{Provider: "a", Model: "m", Weight: big}, {Provider: "b", Model: "m", Weight: 1}}}})
	p := upstream.New(catalog, map[string]lyumen.Provider{"a": a, "b": b}, nil)
	p.Chat(t.Context(), &lyumen.Request{Model: publicModel})
}
