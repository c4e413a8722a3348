package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lyumen/lyumen"
)

// Limiter enforces per-client rate limits (requests and tokens per minute)
// and per-model daily token budgets. ratelimit.Limiter keeps them in this
// process's memory; redislimit.Limiter shares them between instances
// through Redis.
type Limiter interface {
	// Admit charges one request and an estimate of its tokens to client (a
	// key derived from its address) and to model. A refusal is a
	// *lyumen.Error: KindRateLimited when the client must wait,
	// KindUnavailable when the model's budget is spent, KindTooLarge when
	// the request could never fit; the Allowance says when to retry. Any
	// other error means the limiter could not decide.
	Admit(ctx context.Context, client, model string, tokens int64) (lyumen.Allowance, error)
	// Settle charges delta more tokens (a refund when negative) once the
	// exchange's actual usage is known, to the day's budget of admitted,
	// when Admit charged the estimate: an exchange that runs past
	// midnight UTC settles with the day that paid for it.
	Settle(ctx context.Context, client, model string, admitted time.Time, delta int64) error
}

// Limits are the limits this process enforces itself, beyond the Limiter's.
// A zero value is no limit.
type Limits struct {
	// MaxMessages bounds the messages of one request.
	MaxMessages int
	// ClientConcurrency bounds the exchanges one client (address, or IPv6
	// /64) may have in flight at once in this process.
	ClientConcurrency int
	// Models holds each model's limits; a model not listed has none.
	Models map[string]ModelLimits
	// WriteTimeout is how long any one write to the client may take. It is
	// pushed forward at every write, so a stream may run as long as it
	// keeps moving; a client that stops reading is cut after this long.
	WriteTimeout time.Duration
	// MaxStreamDuration ends a stream that has run this long, with an error
	// event, so endless streams cannot pile up.
	MaxStreamDuration time.Duration
}

// ModelLimits are one public model's operator limits in this process. (The
// cap on an answer's length is the catalogue's Model.MaxTokens, applied by
// the router.)
type ModelLimits struct {
	// Concurrency bounds the exchanges with the model in flight at once.
	Concurrency int
}

// limitState is what the limits need to remember in this process.
type limitState struct {
	models map[string]chan struct{} // a slot per exchange in flight, by model

	mu      sync.Mutex
	clients map[string]int // places in flight by client key (see admitClient)
}

func newLimitState(l Limits) *limitState {
	st := &limitState{models: map[string]chan struct{}{}, clients: map[string]int{}}
	for name, m := range l.Models {
		if m.Concurrency > 0 {
			st.models[name] = make(chan struct{}, m.Concurrency)
		}
	}
	return st
}

// admission is what an exchange holds of the limits, from admitClient
// until released.
type admission struct {
	s        *server
	client   string
	model    string
	estimate int64     // charged at Admit: the prompt's, plus the answer's limit
	prompt   int64     // the prompt's part of it
	admitted time.Time // when
	slot     chan struct{}
	place    string // the key of the place in flight it holds, if any
}

// estimateTokens guesses a request's prompt tokens before the upstream has
// counted them: a byte of JSON is about a quarter of a token for English
// text (OpenAI's rule of thumb of four characters a token), and the JSON
// around the text and the base64 of images make this an overestimate,
// which Settle refunds once the upstream's usage is known.
func estimateTokens(body []byte) int64 { return int64(len(body)+3) / 4 }

// maxAnswerCharge bounds what Admit charges for an answer before it is
// written: a client that asks for a model's whole output (128k tokens,
// say) is not refused as too large on a minute's budget for it, and
// sixteen such requests at once still cost a minute and more.
const maxAnswerCharge = 16 << 10

// answerTokens is what a request may have the upstream write, charged
// before the call with its prompt, so that a client cannot start many
// long answers on a budget its small prompts leave whole: its max tokens,
// lowered to its model's cap, times its choices, up to maxAnswerCharge.
// Settle refunds what was not written. A request that sets no limit (and
// whose model has no cap) is charged for its answer only after it.
func (s *server) answerTokens(req *lyumen.Request) int64 {
	n := req.MaxTokens
	if m, ok := s.Catalog.Lookup(req.Model); ok {
		n, _ = m.AnswerLimit(req) // as the router will ask the upstream
	}
	n = min(max(n, 0), maxAnswerCharge) // before the product: it cannot overflow
	return int64(min(n*max(req.N, 1), maxAnswerCharge))
}

// admitClient takes a place among the client's requests in flight, before
// its request's body is read: a client at its limit must not have the
// gateway read and decode bodies of up to max_body_bytes that will be
// refused anyway (one client had ~450 MiB read at once). Token counting
// (counting), which runs no model, has places of its own: it is answered
// while the client's exchanges are at their limit, and its bodies are
// bounded all the same. When it refuses, it has answered the client and
// reports false; else the caller defers the admission's release, which
// covers every refusal after this one.
func (s *server) admitClient(w http.ResponseWriter, r *http.Request, c errorCodec, counting bool) (*admission, bool) {
	a := &admission{s: s, client: clientKey(clientAddr(r, s.TrustedProxies))}
	n := s.Limits.ClientConcurrency
	if n <= 0 {
		return a, true
	}
	place := a.client
	if counting {
		place += " count_tokens" // a space: no client key has one
	}
	st := s.limits
	st.mu.Lock()
	busy := st.clients[place] >= n
	if !busy {
		st.clients[place]++
		a.place = place
	}
	st.mu.Unlock()
	if busy {
		setRetryAfter(w.Header(), time.Second)
		s.refuse(w, c, lyumen.Errorf(lyumen.KindRateLimited,
			"too many requests in flight from this client: the limit is %d at once", n), "client_concurrency")
		return nil, false
	}
	return a, true
}

// admit applies the limits that need the decoded request to a, which
// admitClient let in, before it goes upstream: message count, the model's
// concurrency and the Limiter. It writes the x-ratelimit-* headers; when
// it refuses, it has answered the client and reports false. Either way
// the caller releases a: what admit took is in it.
func (s *server) admit(w http.ResponseWriter, r *http.Request, c errorCodec, a *admission, req *lyumen.Request, body []byte) bool {
	a.model = req.Model
	if n := s.Limits.MaxMessages; n > 0 && len(req.Messages) > n {
		e := lyumen.Errorf(lyumen.KindTooLarge, "too many messages: %d, and the limit is %d", len(req.Messages), n)
		e.Param = "messages"
		s.refuse(w, c, e, "too_large")
		return false
	}
	if slot := s.limits.models[req.Model]; slot != nil {
		select {
		case slot <- struct{}{}:
			a.slot = slot
		default:
			setRetryAfter(w.Header(), time.Second)
			e := lyumen.Errorf(lyumen.KindUnavailable, "the model '%s' is at capacity; try again shortly", lyumen.Clip(req.Model))
			e.Code = "model_at_capacity"
			s.refuse(w, c, e, "at_capacity")
			return false
		}
	}
	if s.Limiter != nil {
		a.prompt = estimateTokens(body)
		a.estimate = a.prompt + s.answerTokens(req)
		a.admitted = time.Now()
		if !s.charge(w, r, c, a.client, req.Model, a.estimate) {
			return false
		}
	}
	return true
}

// charge asks the Limiter to admit one request of tokens from client to
// model, setting the rate limit headers, and answers its refusal.
func (s *server) charge(w http.ResponseWriter, r *http.Request, c errorCodec, client, model string, tokens int64) bool {
	allow, err := s.Limiter.Admit(r.Context(), client, model, tokens)
	setRateLimitHeaders(w.Header(), c.surface(), allow, time.Now())
	if err == nil {
		return true
	}
	reason := "rate_limited"
	switch lyumen.KindOf(err) {
	case lyumen.KindRateLimited, lyumen.KindTooLarge:
	case lyumen.KindUnavailable:
		reason = "budget_spent"
	default:
		if r.Context().Err() == nil { // else the client left while the limiter was asked
			s.logger.ErrorContext(r.Context(), "rate limiter failed", "err", err)
		}
		reason = "limiter_failed"
		err = &lyumen.Error{Kind: lyumen.KindUnavailable, Message: "the service cannot take requests right now; try again shortly", Err: err}
		setRetryAfter(w.Header(), time.Second)
	}
	s.refuse(w, c, err, reason)
	return false
}

// done frees what the exchange held and charges the Limiter the tokens it
// actually used. It runs when the exchange is over, even if the client has
// gone.
func (a *admission) done(ctx context.Context, rec *lyumen.Record) {
	a.release()
	s := a.s
	if s.Limiter == nil {
		return
	}
	delta := usedTokens(rec, a.prompt) - a.estimate
	if delta == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := s.Limiter.Settle(ctx, a.client, a.model, a.admitted, delta); err != nil {
		s.logger.WarnContext(ctx, "rate limiter settle failed", "id", rec.ID, "err", err)
	}
}

// release gives back what a holds. It may run more than once: the
// handler defers it for its refusals, and done runs it before settling.
func (a *admission) release() {
	if a.slot != nil {
		<-a.slot
		a.slot = nil
	}
	if a.place != "" {
		st := a.s.limits
		st.mu.Lock()
		if st.clients[a.place]--; st.clients[a.place] <= 0 {
			delete(st.clients, a.place)
		}
		st.mu.Unlock()
		a.place = ""
	}
}

// usedTokens is what an exchange cost: the upstream's count when it gave
// one; else, when an answer came or the client left once the upstream had
// the prompt, the prompt's estimate plus a quarter token per byte of what
// was answered (reasoning included); else, refused before any work,
// nothing. A client that leaves before the first token pays for its
// prompt: refunded, one client could send its token limit many times over
// to the upstream a minute.
func usedTokens(rec *lyumen.Record, prompt int64) int64 {
	if rec.Usage.TotalTokens > 0 {
		return int64(rec.Usage.TotalTokens)
	}
	answered := rec.TTFT != 0 && rec.Response != nil
	if !answered && !(rec.Completeness == lyumen.ClientDisconnected && upstreamHad(rec)) {
		return 0
	}
	n := 0
	if rec.Response != nil {
		for _, ch := range rec.Response.Choices {
			m := &ch.Message
			n += len(m.Text()) + len(m.Reasoning) + len(m.Refusal)
			for _, tc := range m.ToolCalls {
				n += len(tc.Name) + len(tc.Arguments)
			}
		}
	}
	return prompt + int64(n+3)/4
}

// upstreamHad says the last upstream asked took the request: it answered,
// or was still at work when the client left. One that refused it (a 429
// the router was waiting out) did no work, and neither did a target passed
// over as resting, nor none at all.
func upstreamHad(rec *lyumen.Record) bool {
	if len(rec.Attempts) == 0 {
		return false
	}
	a := rec.Attempts[len(rec.Attempts)-1]
	return a.Status == 0 && (a.Error == "" || a.Duration > 0)
}

// setRateLimitHeaders writes where the client stands in the headers its
// SDK reads: OpenAI's x-ratelimit-{limit,remaining,reset}-{requests,tokens}
// (reset as a duration, "6m0s"), or on Anthropic's surface
// anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset} (reset as
// an RFC 3339 time); and, on a refusal, Retry-After and retry-after-ms.
func setRateLimitHeaders(h http.Header, surface lyumen.Surface, a lyumen.Allowance, now time.Time) {
	anthropicSurface := strings.HasPrefix(string(surface), "anthropic.")
	for _, q := range []struct {
		name string
		q    lyumen.Quota
	}{{"requests", a.Requests}, {"tokens", a.Tokens}} {
		if q.q.Limit <= 0 {
			continue
		}
		if anthropicSurface {
			h.Set("anthropic-ratelimit-"+q.name+"-limit", strconv.FormatInt(q.q.Limit, 10))
			h.Set("anthropic-ratelimit-"+q.name+"-remaining", strconv.FormatInt(q.q.Remaining, 10))
			h.Set("anthropic-ratelimit-"+q.name+"-reset", now.Add(q.q.Reset).UTC().Format(time.RFC3339))
			continue
		}
		h.Set("x-ratelimit-limit-"+q.name, strconv.FormatInt(q.q.Limit, 10))
		h.Set("x-ratelimit-remaining-"+q.name, strconv.FormatInt(q.q.Remaining, 10))
		h.Set("x-ratelimit-reset-"+q.name, formatReset(q.q.Reset))
	}
	if a.RetryAfter > 0 {
		setRetryAfter(h, a.RetryAfter)
	}
}

// setRetryAfter writes Retry-After in whole seconds, rounded up, and
// retry-after-ms, which OpenAI's SDKs prefer.
func setRetryAfter(h http.Header, d time.Duration) {
	d = max(min(d, lyumen.MaxRetryAfter), 0) // d+time.Second-1 must not overflow
	h.Set("Retry-After", strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10))
	h.Set("retry-after-ms", strconv.FormatInt(int64((d+time.Millisecond-1)/time.Millisecond), 10))
}

// formatReset writes a duration as OpenAI does: "1s", "6m0s", "20ms".
func formatReset(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	if d >= time.Second {
		d = d.Round(10 * time.Millisecond)
	}
	return d.String()
}

// errStreamTooLong is the cause a stream is cut with at its maximum
// duration.
var errStreamTooLong = errors.New("maximum stream duration reached")

// boundStreams returns p with every stream ended after d, keeping the
// optional abilities of p that httpapi asks for.
func boundStreams(p lyumen.Provider, d time.Duration) lyumen.Provider {
	b := boundedProvider{Provider: p, max: d}
	if e, ok := p.(lyumen.Embedder); ok {
		return struct {
			boundedProvider
			lyumen.Embedder
		}{b, e}
	}
	return b
}

type boundedProvider struct {
	lyumen.Provider
	max time.Duration
}

func (p boundedProvider) ChatStream(ctx context.Context, req *lyumen.Request) (lyumen.Stream, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	st, err := p.Provider.ChatStream(ctx, req)
	if err != nil {
		cancel(nil)
		return nil, err
	}
	return &boundedStream{Stream: st, ctx: ctx, cancel: cancel, max: p.max,
		timer: time.AfterFunc(p.max, func() { cancel(errStreamTooLong) })}, nil
}

// boundedStream is a stream cut at its maximum duration: the upstream
// request is cancelled, and Next reports why, so that the client gets an
// error event and the record says what happened.
type boundedStream struct {
	lyumen.Stream
	ctx    context.Context
	cancel context.CancelCauseFunc
	timer  *time.Timer
	max    time.Duration
}

func (b *boundedStream) Next() (lyumen.Event, error) {
	ev, err := b.Stream.Next()
	if err != nil && !errors.Is(err, io.EOF) && errors.Is(context.Cause(b.ctx), errStreamTooLong) {
		e := lyumen.Errorf(lyumen.KindTimeout, "the stream reached the maximum duration of %s and was ended", b.max)
		e.Code = "max_stream_duration"
		e.Err = err
		return ev, e
	}
	return ev, err
}

// Ready forwards the wrapped stream's hint that the next event is already
// buffered.
func (b *boundedStream) Ready() bool {
	r, ok := b.Stream.(interface{ Ready() bool })
	return ok && r.Ready()
}

func (b *boundedStream) Close() error {
	b.timer.Stop()
	b.cancel(nil)
	return b.Stream.Close()
}
