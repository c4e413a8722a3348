// Package httpapi is the public listener: the API surfaces, the pages, and
// the one exchange handler that drives every surface and records each
// exchange.
package httpapi

import (
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/lyumen/lyumen"
)

// DefaultMaxBodyBytes bounds a request body unless configured otherwise.
const DefaultMaxBodyBytes = 16 << 20

// Options holds the server's dependencies. Logger, Now, NewID and OnRefused
// may be nil.
type Options struct {
	Logger   *slog.Logger
	Provider lyumen.Provider // usually the upstream router
	Catalog  *lyumen.Catalog
	// Recorder takes every record. One that can tell it has no room
	// (a Full() bool method, as spool.Spool has) has requests refused
	// with a 503 before the upstream is asked while it says so, rather
	// than answered and then not recorded.
	Recorder lyumen.Recorder
	// TrustedProxies are the peers whose CF-IPCountry header is believed.
	TrustedProxies []netip.Prefix
	MaxBodyBytes   int64
	// RecordTimeout bounds how long a finished exchange waits to be taken
	// by the recorder.
	RecordTimeout time.Duration
	// HeaderWait is how long a stream's headers wait to go out with its
	// first event, saving a write, before they are sent alone; 0: 1 s.
	HeaderWait time.Duration
	Site       Site
	// OnRefused counts requests refused before they were recorded
	// (malformed, unknown model, too large), so junk traffic shows in
	// metrics without filling the store.
	OnRefused func(surface lyumen.Surface, reason string)
	Now       func() time.Time
	NewID     func() string

	// Limiter enforces per-client rate limits and per-model daily token
	// budgets; nil: none. Limits are the limits enforced in this process.
	Limiter Limiter
	Limits  Limits
}

// Site is what the pages say about this deployment.
type Site struct {
	Name    string // the operator's name for the service
	Contact string // how to reach the operator, shown on the privacy page
	Demo    bool   // no upstream is configured: the demo model answers
	// ScrubSecrets says secrets are replaced by placeholders before records
	// reach the store (redact_secrets).
	ScrubSecrets bool
	Upstreams    []Upstream // who receives prompts
}

// Upstream names a provider that receives prompts, for the privacy page.
type Upstream struct {
	Name string
	Host string
	// Betas are the anthropic-beta flags a client may send on to it.
	Betas []string
}

type server struct {
	Options
	logger  *slog.Logger
	started time.Time
	pages   *pages
	limits  *limitState
	full    func() bool // the Recorder's Full, or nil
	// eventBufs holds *[]byte for encoding a stream's events: a new one
	// was 4 KiB of the ~44 KiB a stream allocated (BenchmarkGateway).
	eventBufs sync.Pool
}

// NewServer returns the public handler.
func NewServer(o Options) http.Handler {
	s := &server{Options: o}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	s.logger = s.Logger.With("component", "httpapi")
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.NewID == nil {
		s.NewID = newID
	}
	if s.OnRefused == nil {
		s.OnRefused = func(lyumen.Surface, string) {}
	}
	if s.MaxBodyBytes <= 0 {
		s.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if s.RecordTimeout <= 0 {
		s.RecordTimeout = 30 * time.Second
	}
	if s.HeaderWait <= 0 {
		s.HeaderWait = time.Second
	}
	if s.Site.Name == "" {
		s.Site.Name = "Lyumen"
	}
	if f, ok := s.Recorder.(interface{ Full() bool }); ok {
		s.full = f.Full
	}
	s.started = s.Now()
	s.eventBufs.New = func() any { b := make([]byte, 0, 4096); return &b }
	s.pages = newPages()
	s.limits = newLimitState(s.Limits)
	if s.Limits.MaxStreamDuration > 0 {
		s.Provider = boundStreams(s.Provider, s.Limits.MaxStreamDuration)
	}
	return s.harden(withCORS(s.routes()))
}
