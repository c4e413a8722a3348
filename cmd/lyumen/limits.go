package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/httpapi"
	"github.com/lyumen/lyumen/ratelimit"
	"github.com/lyumen/lyumen/redislimit"
)

// Limits protect a public deployment: per-client rate limits, the
// operator's budgets, and the bounds of the HTTP server. A zero limit is
// no limit; the defaults protect a deployment out of the box.
type Limits struct {
	// RequestsPerMinute and TokensPerMinute are each client's budget (a
	// client is an IPv4 address or an IPv6 /64). Tokens are estimated from
	// the request's size before the call and settled with the upstream's
	// count after it.
	RequestsPerMinute int64 `yaml:"requests_per_minute"`
	TokensPerMinute   int64 `yaml:"tokens_per_minute"`
	// ClientConcurrency bounds one client's exchanges in flight at once, in
	// each instance.
	ClientConcurrency int `yaml:"client_concurrency"`
	// MaxMessages bounds the messages of one request.
	MaxMessages int `yaml:"max_messages"`
	// MaxStreamDuration ends a stream that has run this long.
	MaxStreamDuration time.Duration `yaml:"max_stream_duration"`
	// MaxClients bounds the clients an instance tracks in memory.
	MaxClients int `yaml:"max_clients"`
	// Models holds operator budgets by public model name; "*" applies to
	// every model not listed.
	Models map[string]ModelLimits `yaml:"models"`

	// RedisURL, when set, shares the rate limits and daily budgets of every
	// instance through Redis (redis://host:port/db). RedisSecret keys the
	// hash that names a client there; every instance needs the same one.
	RedisURL    string `yaml:"redis_url"`
	RedisSecret string `yaml:"redis_secret"`
	RedisPrefix string `yaml:"redis_prefix"`

	// MaxConnections bounds the public listener's open connections.
	MaxConnections int `yaml:"max_connections"`
	// The public server's timeouts. WriteTimeout bounds each write: a
	// stream pushes it forward at every event.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	ReadTimeout       time.Duration `yaml:"read_timeout"`
	WriteTimeout      time.Duration `yaml:"write_timeout"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
	MaxHeaderBytes    int           `yaml:"max_header_bytes"`
}

// ModelLimits are the operator's budgets for one model.
type ModelLimits struct {
	// Concurrency bounds the model's exchanges in flight at once, in each
	// instance.
	Concurrency int `yaml:"concurrency"`
	// DailyTokens is the model's token budget per UTC day, shared by every
	// instance when Redis is configured.
	DailyTokens int64 `yaml:"daily_tokens"`
}

// DefaultLimits are the limits with no configuration.
func DefaultLimits() Limits {
	return Limits{
		RequestsPerMinute: 60,
		TokensPerMinute:   200_000,
		ClientConcurrency: 16,
		MaxMessages:       1000,
		MaxStreamDuration: 10 * time.Minute,
		MaxClients:        ratelimit.DefaultMaxClients,
		RedisPrefix:       "lyumen:",
		MaxConnections:    8192,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}

// validateLimits reports the problems of c.Limits and of the admin settings.
func (c *Config) validateLimits() []error {
	var errs []error
	l := &c.Limits
	for name, v := range map[string]int64{
		"requests_per_minute": l.RequestsPerMinute, "tokens_per_minute": l.TokensPerMinute,
		"client_concurrency": int64(l.ClientConcurrency), "max_messages": int64(l.MaxMessages),
		"max_stream_duration": int64(l.MaxStreamDuration), "max_clients": int64(l.MaxClients),
		"max_connections": int64(l.MaxConnections),
	} {
		if v < 0 {
			errs = append(errs, fmt.Errorf("limits.%s must not be negative", name))
		}
	}
	for name, d := range map[string]time.Duration{
		"read_header_timeout": l.ReadHeaderTimeout, "read_timeout": l.ReadTimeout,
		"write_timeout": l.WriteTimeout, "idle_timeout": l.IdleTimeout,
	} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("limits.%s must be positive: a public server needs every timeout", name))
		}
	}
	if l.MaxHeaderBytes < 4096 {
		errs = append(errs, errors.New("limits.max_header_bytes must be at least 4096"))
	}
	models := map[string]bool{"*": true}
	for _, m := range c.Models {
		models[m.Name] = true
	}
	for name, m := range l.Models {
		if !models[name] {
			errs = append(errs, fmt.Errorf("limits.models: %q is not a configured model", name))
		}
		if m.Concurrency < 0 || m.DailyTokens < 0 {
			errs = append(errs, fmt.Errorf("limits.models.%s: limits must not be negative", name))
		}
	}
	if l.RedisURL != "" && len(l.RedisSecret) < 16 {
		errs = append(errs, errors.New("limits.redis_secret: at least 16 characters are required with limits.redis_url, the same on every instance (use ${VAR})"))
	}
	if c.AdminListen != "" && sameListener(c.AdminListen, c.Listen) {
		errs = append(errs, fmt.Errorf("admin_listen %s is the public listener: the admin listener needs an address of its own", c.AdminListen))
	}
	if c.AdminListen != "" && c.AdminToken == "" && c.AdminTokenFile == "" {
		errs = append(errs, errors.New("admin_token or admin_token_file is required when admin_listen is set"))
	}
	return errs
}

// sameListener says whether two listen addresses would collide: the same
// port on the same host, or on all hosts.
func sameListener(a, b string) bool {
	ah, ap, err1 := net.SplitHostPort(a)
	bh, bp, err2 := net.SplitHostPort(b)
	if err1 != nil || err2 != nil {
		return a == b
	}
	if ap != bp || ap == "0" {
		return false
	}
	wildcard := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	return ah == bh || wildcard(ah) || wildcard(bh)
}

// modelLimits resolves each configured model's limits, "*" filling in for
// models not listed.
func (c *Config) modelLimits() map[string]ModelLimits {
	out := make(map[string]ModelLimits, len(c.Models))
	def := c.Limits.Models["*"]
	for _, m := range c.Models {
		ml, ok := c.Limits.Models[m.Name]
		if !ok {
			ml = def
		}
		out[m.Name] = ml
	}
	return out
}

// httpLimits is what httpapi enforces itself.
func (c *Config) httpLimits() httpapi.Limits {
	hl := httpapi.Limits{
		MaxMessages:       c.Limits.MaxMessages,
		ClientConcurrency: c.Limits.ClientConcurrency,
		WriteTimeout:      c.Limits.WriteTimeout,
		MaxStreamDuration: c.Limits.MaxStreamDuration,
		Models:            map[string]httpapi.ModelLimits{},
	}
	for name, ml := range c.modelLimits() {
		if ml.Concurrency > 0 {
			hl.Models[name] = httpapi.ModelLimits{Concurrency: ml.Concurrency}
		}
	}
	return hl
}

// limiter is the rate limiter serve runs: in memory, or shared through
// Redis with the memory one standing in while Redis cannot be reached.
type limiter struct {
	httpapi.Limiter
	mem   *ratelimit.Limiter
	redis *redislimit.Limiter // nil without Redis
}

func newLimiter(ctx context.Context, c *Config, logger *slog.Logger, reg prometheus.Registerer) (*limiter, error) {
	daily := map[string]int64{}
	for name, ml := range c.modelLimits() {
		if ml.DailyTokens > 0 {
			daily[name] = ml.DailyTokens
		}
	}
	l := &limiter{mem: ratelimit.New(ratelimit.Options{
		RequestsPerMinute: c.Limits.RequestsPerMinute, TokensPerMinute: c.Limits.TokensPerMinute,
		DailyTokens: daily, MaxClients: c.Limits.MaxClients,
	})}
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "lyumen_ratelimit_clients",
		Help: "Clients this instance tracks in memory for rate limiting (addresses are never exported).",
	}, func() float64 { return float64(l.mem.Len()) }))
	l.Limiter = l.mem
	if c.Limits.RedisURL == "" {
		return l, nil
	}
	rl, err := redislimit.New(c.Limits.RedisURL, redislimit.Options{
		RequestsPerMinute: c.Limits.RequestsPerMinute, TokensPerMinute: c.Limits.TokensPerMinute,
		DailyTokens: daily, Secret: []byte(c.Limits.RedisSecret), Prefix: c.Limits.RedisPrefix,
	})
	if err != nil {
		return nil, fmt.Errorf("limits.redis_url %s: %w", redactURL(c.Limits.RedisURL), err)
	}
	l.redis = rl
	fb := &fallbackLimiter{primary: rl, fallback: l.mem, logger: logger.With("component", "ratelimit"),
		fallbacks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lyumen_ratelimit_fallbacks_total",
			Help: "Rate limit decisions made in memory because Redis could not be reached.",
		})}
	reg.MustRegister(fb.fallbacks)
	l.Limiter = fb
	// A gateway restarted while Redis is away serves, as one whose Redis
	// went away does: limits in memory until Redis answers. A Redis that
	// answers with a refusal is a configuration to mend.
	if err := rl.Ping(ctx); redislimit.Unreachable(err) {
		fb.failed(ctx, err)
		return l, nil
	} else if err != nil {
		rl.Close()
		return nil, fmt.Errorf("limits.redis_url %s: %w", redactURL(c.Limits.RedisURL), err)
	}
	logger.Info("rate limits shared through redis", "redis", redactURL(c.Limits.RedisURL))
	return l, nil
}

// Run forgets idle clients until ctx ends.
func (l *limiter) Run(ctx context.Context) error { return l.mem.Run(ctx) }

// Close closes the connection to Redis.
func (l *limiter) Close() error {
	if l.redis != nil {
		return l.redis.Close()
	}
	return nil
}

// fallbackLimiter asks primary (Redis) and, when it cannot answer, decides
// in memory: limits stay enforced per instance rather than the gateway
// refusing everything or nothing while Redis is away.
type fallbackLimiter struct {
	primary, fallback httpapi.Limiter
	logger            *slog.Logger
	fallbacks         prometheus.Counter
	lastWarn          atomic.Int64 // unix nanoseconds
	// downUntil is when the primary is next tried after a failure: until
	// then requests do not wait for a Redis that is not answering.
	downUntil atomic.Int64

	// inMemory are the spans of time in which the fallback admitted
	// exchanges: an exchange settles with the limiter that admitted it,
	// whichever is up when it ends, or one budget is refunded what the
	// other charged.
	mu       sync.Mutex
	inMemory []span
}

// span is a stretch of time, in unix nanoseconds.
type span struct{ from, to int64 }

// keepSpans is how long a fallback span is kept: longer than any exchange
// (max_stream_duration) lasts.
const keepSpans = 2 * time.Hour

// fallbackRest is how long the primary is left alone after it failed.
const fallbackRest = 5 * time.Second

func (f *fallbackLimiter) Admit(ctx context.Context, client, model string, tokens int64) (lyumen.Allowance, error) {
	if f.resting() {
		f.fallbacks.Inc()
		return f.admitInMemory(ctx, client, model, tokens)
	}
	a, err := f.primary.Admit(ctx, client, model, tokens)
	if !f.failed(ctx, err) {
		return a, err
	}
	return f.admitInMemory(ctx, client, model, tokens)
}

func (f *fallbackLimiter) admitInMemory(ctx context.Context, client, model string, tokens int64) (lyumen.Allowance, error) {
	now := time.Now().UnixNano()
	f.mu.Lock()
	if n := len(f.inMemory); n > 0 && now-f.inMemory[n-1].to < int64(fallbackRest) {
		f.inMemory[n-1].to = now
	} else {
		old := 0
		for old < n && now-f.inMemory[old].to > int64(keepSpans) {
			old++
		}
		f.inMemory = append(f.inMemory[old:], span{now, now})
	}
	f.mu.Unlock()
	return f.fallback.Admit(ctx, client, model, tokens)
}

// admittedInMemory says whether an exchange admitted at t was admitted by
// the fallback. The caller's clock read t a moment before Admit read its
// own: a second either way is the same span.
func (f *fallbackLimiter) admittedInMemory(t time.Time) bool {
	at := t.UnixNano()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.inMemory {
		if at >= s.from-int64(time.Second) && at <= s.to+int64(time.Second) {
			return true
		}
	}
	return false
}

// Settle settles with the limiter that admitted the exchange. One Redis
// admitted, while Redis cannot be reached, is not settled: Redis keeps the
// estimate it charged, the safe side.
func (f *fallbackLimiter) Settle(ctx context.Context, client, model string, admitted time.Time, delta int64) error {
	if f.admittedInMemory(admitted) {
		return f.fallback.Settle(ctx, client, model, admitted, delta)
	}
	if f.resting() {
		return nil
	}
	err := f.primary.Settle(ctx, client, model, admitted, delta)
	if f.failed(ctx, err) {
		return nil
	}
	return err
}

func (f *fallbackLimiter) resting() bool { return time.Now().UnixNano() < f.downUntil.Load() }

// failed says whether err means the primary could not decide; it then
// rests the primary and warns, at most every ten seconds.
func (f *fallbackLimiter) failed(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	if _, ok := errors.AsType[*lyumen.Error](err); ok {
		return false // a decision: a refusal
	}
	f.fallbacks.Inc()
	now := time.Now().UnixNano()
	f.downUntil.Store(now + int64(fallbackRest))
	if last := f.lastWarn.Load(); now-last > int64(10*time.Second) && f.lastWarn.CompareAndSwap(last, now) {
		f.logger.WarnContext(ctx, "redis unreachable: rate limits enforced per instance until it is back", "err", err)
	}
	return true
}

// newPublicServer is the public listener's server, with every timeout set
// and its error log stripped of client addresses.
func newPublicServer(l Limits, h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(addrRedactor{logger.Handler()}, slog.LevelWarn),
	}
}

// addrPattern matches IPv4 and IPv6 addresses, with or without a port, as
// net/http writes them in its error log ("http: TLS handshake error from
// 203.0.113.5:4711: …").
var addrPattern = regexp.MustCompile(`\[?[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:%\w+)?\]?(?::\d+)?|\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b`)

// addrRedactor is a slog.Handler that blanks addresses in messages, so
// that nothing net/http logs carries a client's address.
type addrRedactor struct{ slog.Handler }

func (a addrRedactor) Handle(ctx context.Context, r slog.Record) error {
	if strings.ContainsAny(r.Message, ".:") {
		r.Message = addrPattern.ReplaceAllString(r.Message, "<addr>")
	}
	return a.Handler.Handle(ctx, r)
}

func (a addrRedactor) WithAttrs(attrs []slog.Attr) slog.Handler {
	return addrRedactor{a.Handler.WithAttrs(attrs)}
}

func (a addrRedactor) WithGroup(name string) slog.Handler {
	return addrRedactor{a.Handler.WithGroup(name)}
}
