package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/net/netutil"
	"golang.org/x/sync/errgroup"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/anthropic"
	"github.com/lyumen/lyumen/demo"
	"github.com/lyumen/lyumen/gemini"
	"github.com/lyumen/lyumen/httpapi"
	"github.com/lyumen/lyumen/internal/upstreamhttp"
	"github.com/lyumen/lyumen/openai"
	"github.com/lyumen/lyumen/postgres"
	"github.com/lyumen/lyumen/spool"
	"github.com/lyumen/lyumen/sqlite"
	"github.com/lyumen/lyumen/upstream"
)

func serve(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "configuration file (default: lyumen.yaml if it exists)")
	listen := fs.String("listen", "", "public address, overriding the file")
	store := fs.String("store", "", "store URL (sqlite://FILE or postgres://…), overriding the file")
	spoolDir := fs.String("spool", "", "spool directory, overriding the file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*configPath, getenv)
	if err != nil {
		return err
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	if *store != "" {
		cfg.Store = *store
	}
	if *spoolDir != "" {
		cfg.Spool.Dir = *spoolDir
	}
	isDemo := cfg.withDemo() || cfg.onlyDemo()
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	logger, err := newLogger(stderr, cfg.LogLevel)
	if err != nil {
		return err
	}
	if isDemo {
		logger.Warn("no upstream provider configured: serving the built-in demo model, which is not a language model", "model", demo.ModelName)
	}
	if cfg.Site.Contact == "" {
		// /privacy offers deletion on request: it says no one can be asked.
		logger.Warn("site.contact is empty: the privacy page tells users how to ask for a record's deletion and names no one to ask")
	}

	db, err := openStore(ctx, cfg.Store, true)
	if postgres.Unreachable(err) {
		// Restarted while the database is away: serve, and keep what is
		// recorded in the spool until the store can be opened.
		logger.Warn("store unreachable; serving, with records kept in the spool until it answers",
			"store", redactURL(cfg.Store), "err", err)
		db, err = &laterStore{base: ctx, url: cfg.Store, logger: logger}, nil
	}
	if err != nil {
		return err
	}
	defer db.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector())
	m := newMetrics(reg)
	shipTo, err := scrubbed(db, cfg.RedactSecrets, reg, logger)
	if err != nil {
		return err
	}
	sp, err := spool.Open(cfg.Spool.Dir, shipTo, spool.Options{
		MaxBytes:     cfg.Spool.MaxBytes,
		DrainTimeout: cfg.Spool.DrainTimeout,
		LowPriority:  cfg.Spool.ShipPriority == "low",
		Logger:       logger,
		OnSync:       func(n int, d time.Duration) { m.fsync.Observe(d.Seconds()) },
		OnShipped:    func(n int) { m.shipped.Add(float64(n)) },
		OnCorrupt:    func(string, int64) { m.corrupt.Inc() },
		OnRejected:   func(string) { m.rejected.Inc() },
	})
	if err != nil {
		return err
	}
	defer sp.Close()
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "lyumen_spool_pending_records",
		Help: "Records in the spool not yet committed to the store (grows while the store is down).",
	}, func() float64 { n, _ := sp.Pending(); return float64(n) }))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "lyumen_spool_bytes",
		Help: "Bytes of spool segments on disk.",
	}, func() float64 { return float64(sp.Bytes()) }))
	var rec lyumen.ProgressRecorder = sp // a wrapper that hid Progress would lose cut streams
	if cfg.Spool.WhenFull == "serve_unrecorded" {
		rec = unrecordedWhenFull{sp, logger, m.unrecorded}
	}
	providers, upstreams := buildProviders(cfg.Providers)
	catalog := buildCatalog(cfg.Models)
	trusted, _ := cfg.trustedPrefixes() // validated above
	lim, err := newLimiter(ctx, &cfg, logger, reg)
	if err != nil {
		return err
	}
	defer lim.Close()

	handler := httpapi.NewServer(httpapi.Options{
		Logger: logger,
		Provider: upstream.NewWithOptions(catalog, providers, upstream.Options{
			Logger: logger, Retries: cfg.Routing.Retries, Backoff: cfg.Routing.Backoff, MaxWait: cfg.Routing.MaxWait,
			BreakerFailures: cfg.Routing.BreakerFailures, BreakerCooldown: cfg.Routing.BreakerCooldown,
		}),
		Catalog:        catalog,
		Recorder:       rec,
		TrustedProxies: trusted,
		MaxBodyBytes:   cfg.MaxBodyBytes,
		Site:           httpapi.Site{Name: cfg.Site.Name, Contact: cfg.Site.Contact, Demo: isDemo, Upstreams: upstreams, ScrubSecrets: cfg.RedactSecrets},
		OnRefused: func(s lyumen.Surface, reason string) {
			m.refused.WithLabelValues(string(s), reason).Inc()
		},
		Limiter: lim,
		Limits:  cfg.httpLimits(),
	})
	running := new(handlers)
	srv := newPublicServer(cfg.Limits, running.wrap(handler), logger)
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	if n := cfg.Limits.MaxConnections; n > 0 {
		ln = netutil.LimitListener(ln, n)
	}
	logger.Info("listening", "addr", ln.Addr().String(), "store", redactURL(cfg.Store), "version", version)

	// The shipper outlives the servers: it stops only after every handler
	// has handed over its record, then drains the spool into the store.
	recCtx, stopRecorder := context.WithCancel(context.WithoutCancel(ctx))
	recDone := make(chan error, 1)
	go func() { recDone <- sp.Run(recCtx) }()

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	g.Go(func() error { return lim.Run(gctx) })
	var admin *http.Server
	if cfg.AdminListen != "" { // admin.go: metrics and readiness behind the admin token
		// gctx ends before the shutdown below begins: /readyz fails from then on.
		asrv, aln, err := listenAdmin(&cfg, reg, readiness(gctx.Done(), sp.Full, lim), logger)
		if err != nil {
			ln.Close()
			stopRecorder()
			<-recDone
			return err
		}
		admin = asrv
		g.Go(func() error { return serveAdmin(asrv, aln) })
	}
	g.Go(func() error {
		<-gctx.Done()
		if ctx.Err() != nil && cfg.DrainDelay > 0 { // a signal, not a failure: the server still works
			logger.Info("draining: /readyz fails; serving on before shutdown", "drain_delay", cfg.DrainDelay)
			time.Sleep(cfg.DrainDelay)
		}
		logger.Info("shutting down: finishing in-flight requests", "deadline", cfg.ShutdownTimeout)
		shutdown(srv, running, cfg.ShutdownTimeout, logger)
		if admin != nil {
			sctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			admin.Shutdown(sctx)
		}
		return nil
	})
	err = g.Wait()
	stopRecorder()
	if rerr := <-recDone; rerr != nil && err == nil {
		err = rerr
	}
	if n, _ := sp.Pending(); n > 0 {
		logger.Warn("stopped with records not yet in the store; they are safe in the spool and ship at the next start", "records", n)
	} else {
		logger.Info("stopped: every record is in the store")
	}
	return err
}

// cutGrace bounds the wait, after the shutdown deadline cut the requests
// still running, for their handlers to return: each records what its client
// got, and that needs no more than a write to the spool.
const cutGrace = 10 * time.Second

// shutdown stops srv, whose handler running wraps: it lets the requests in
// flight finish for timeout, then cuts them and waits for their handlers to
// return. http.Server.Close neither waits for handlers nor lets a later
// Shutdown wait for them, and a cut handler still records the partial
// answer its client saw: returning before it has, the spool would be closed
// under it and the record lost.
func shutdown(srv *http.Server, running *handlers, timeout time.Duration, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err == nil {
		return
	}
	logger.Warn("in-flight requests cut at the shutdown deadline", "requests", running.n.Load())
	srv.Close()
	if !running.wait(cutGrace) {
		logger.Error("handlers still running after their requests were cut; their records may be lost",
			"requests", running.n.Load(), "waited", cutGrace)
	}
}

// handlers counts the requests being handled.
type handlers struct{ n atomic.Int64 }

func (c *handlers) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.n.Add(1)
		defer c.n.Add(-1)
		h.ServeHTTP(w, r)
	})
}

// wait polls, as http.Server.Shutdown does, until no request is being
// handled; it reports false if some still are after d.
func (c *handlers) wait(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for c.n.Load() > 0 {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

func loadConfig(path string, getenv func(string) string) (Config, error) {
	if path == "" {
		if _, err := os.Stat("lyumen.yaml"); err != nil {
			cfg := DefaultConfig()
			cfg.applyEnv(getenv)
			return cfg, nil
		}
		path = "lyumen.yaml"
	}
	f, err := os.Open(path)
	if err != nil {
		return Config{}, fmt.Errorf("open config: %w", err)
	}
	defer f.Close()
	cfg, err := ParseConfig(f, getenv)
	if err != nil {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	cfg.applyEnv(getenv)
	return cfg, nil
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log_level: %w", err)
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// store is what the binary needs of a record store; sqlite.DB and
// postgres.DB both have it.
type store interface {
	WriteRecords(ctx context.Context, recs []*lyumen.Record) error
	Version(ctx context.Context) (int, error)
	Close() error
}

// laterStoreOpen bounds one try of a laterStore at opening its store.
const laterStoreOpen = 10 * time.Minute

// laterStore is a PostgreSQL store that could not be reached when serve
// started. Each write tries to open it (migrations and all) until one
// can; the spool retries failed writes with backoff.
type laterStore struct {
	base   context.Context // serve's: an open under way ends with it
	url    string
	logger *slog.Logger
	mu     sync.Mutex
	db     store // nil until opened
}

func (l *laterStore) open(ctx context.Context) (store, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.db == nil {
		// Not under the write's deadline (a migration may take longer),
		// but ended by serve's shutdown.
		ctx, cancel := context.WithTimeout(l.base, laterStoreOpen)
		defer cancel()
		db, err := openStore(ctx, l.url, true)
		if err != nil {
			return nil, err
		}
		l.logger.Info("store reachable; shipping the spool", "store", redactURL(l.url))
		l.db = db
	}
	return l.db, nil
}

func (l *laterStore) WriteRecords(ctx context.Context, recs []*lyumen.Record) error {
	db, err := l.open(ctx)
	if err != nil {
		return err
	}
	return db.WriteRecords(ctx, recs)
}

func (l *laterStore) Version(ctx context.Context) (int, error) {
	db, err := l.open(ctx)
	if err != nil {
		return 0, err
	}
	return db.Version(ctx)
}

func (l *laterStore) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.db == nil {
		return nil
	}
	return l.db.Close()
}

// openStore opens the store a URL names: sqlite://FILE (relative, or
// sqlite:///absolute) or postgres://… (postgresql:// too). Opening applies
// any pending migration.
func openStore(ctx context.Context, raw string, create bool) (store, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, fmt.Errorf("store %q: want sqlite://FILE or postgres://…", redactURL(raw))
	}
	switch {
	case (scheme == "sqlite" || scheme == "sqlite3") && create:
		return sqlite.Open(ctx, rest)
	case scheme == "sqlite" || scheme == "sqlite3":
		return sqlite.OpenExisting(ctx, rest)
	case (scheme == "postgres" || scheme == "postgresql") && create:
		return postgres.Open(ctx, raw)
	case scheme == "postgres" || scheme == "postgresql":
		return postgres.OpenExisting(ctx, raw)
	}
	if !validScheme.MatchString(scheme) { // libpq's "host=… password=…://": nothing of it is shown
		scheme = "(not a scheme)"
	}
	return nil, fmt.Errorf("store %q: unsupported scheme %q (want sqlite or postgres)", redactURL(raw), scheme)
}

var validScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*$`)

// storeArgs are the --config and --store flags of the commands that only
// need the store.
type storeArgs struct{ config, store *string }

func storeFlags(fs *flag.FlagSet) storeArgs {
	return storeArgs{
		config: fs.String("config", "", "configuration file (default: lyumen.yaml if it exists)"),
		store:  fs.String("store", "", "store URL, overriding the file"),
	}
}

// open opens the store the file names, or --store, and returns its URL.
// Only serve and migrate (create) create a store or migrate its schema:
// for the commands that read or delete, a missing SQLite file is a
// mistyped path or the wrong directory, which an empty new store would
// answer with "0 records" or "not found", and a schema is not changed
// under older gateways by a report (nor needs a role that may change it).
//
// A store named by --store or LYUMEN_STORE, which beat the file, is opened
// without reading the file: it may refer to the gateway's provider keys,
// which an operator answering a deletion request from another shell need
// not have.
func (a storeArgs) open(ctx context.Context, getenv func(string) string, create bool) (store, string, error) {
	url := *a.store
	if url == "" {
		url = strings.TrimSpace(getenv("LYUMEN_STORE"))
	}
	if url == "" {
		cfg, err := loadConfig(*a.config, getenv)
		if err != nil {
			return nil, "", err
		}
		url = cfg.Store
	}
	db, err := openStore(ctx, url, create)
	return db, url, err
}

// redactURL hides a password in a store URL before it is logged.
func redactURL(raw string) string {
	// A password holding URL syntax ('@', '/', '?', '#', as one read from
	// the environment may) makes the parse below split it elsewhere and
	// print part of it: everything up to the last '@' goes first.
	i := strings.Index(raw, "://")
	if i < 0 { // libpq's "host=db password=…", or no URL at all: none of it is shown
		return "(not a URL)"
	}
	rest := raw[i+3:]
	if at := strings.LastIndexByte(rest, '@'); at >= 0 && strings.ContainsAny(rest[:at], "@/?#") {
		raw = raw[:i+3] + "xxxxx" + rest[at:]
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" {
		return "(unparsable)"
	}
	// PostgreSQL's URLs may carry the password as a parameter too.
	q := u.Query()
	for k := range q {
		if strings.Contains(strings.ToLower(k), "pass") {
			q.Set(k, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	return u.Redacted()
}

func buildProviders(cfg []Provider) (map[string]lyumen.Provider, []httpapi.Upstream) {
	out := make(map[string]lyumen.Provider, len(cfg))
	var ups []httpapi.Upstream
	for _, p := range cfg {
		var base string
		var client func(key string) lyumen.Provider
		switch p.Kind {
		case "demo":
			out[p.Name] = demo.Provider{}
			// Listed on the privacy page with the others: prompts to it
			// stay on this machine.
			ups = append(ups, httpapi.Upstream{Name: p.Name, Host: "this machine: the built-in demo, not a language model"})
			continue
		case "openai":
			rt := newTransport(p.Timeout)
			base = p.BaseURL
			client = func(key string) lyumen.Provider {
				c := openai.NewClient(base, key, p.Headers, rt)
				if p.MaxTokensField != "" {
					c.SetLimitField(openai.LimitField(p.MaxTokensField))
				}
				c.SetNativeCompletions(p.Completions == "native")
				return c
			}
		case "anthropic":
			rt := newTransport(p.Timeout)
			base = cmp.Or(p.BaseURL, anthropic.DefaultBaseURL)
			client = func(key string) lyumen.Provider {
				c := anthropic.NewClient(base, key, p.Headers, rt)
				c.AllowBetas(p.ClientBetas)
				return c
			}
		case "gemini":
			rt := newTransport(p.Timeout)
			base = cmp.Or(p.BaseURL, gemini.DefaultBaseURL)
			client = func(key string) lyumen.Provider { return gemini.NewClient(base, key, p.Headers, rt) }
		default:
			continue
		}
		out[p.Name] = p.keyed(client)
		host := base
		if u, err := url.Parse(base); err == nil {
			host = u.Host
		}
		ups = append(ups, httpapi.Upstream{Name: p.Name, Host: host, Betas: p.ClientBetas})
	}
	return out, ups
}

// newTransport returns one connection pool per provider, under the
// provider's timeout: a whole answer must arrive within it, a stream's
// first byte and every next one (upstreamhttp.Deadline). Redirects
// are not followed (upstreamhttp.Transport).
func newTransport(timeout time.Duration) http.RoundTripper {
	if timeout == 0 {
		timeout = 120 * time.Second
	}
	return upstreamhttp.Deadline(&http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   512,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
	}, timeout)
}

// keyed builds one client per API key of the provider; several keys are
// used in turn.
func (p Provider) keyed(client func(key string) lyumen.Provider) lyumen.Provider {
	keys := p.APIKeys
	if p.APIKey != "" || len(keys) == 0 {
		keys = append([]string{p.APIKey}, keys...)
	}
	if len(keys) == 1 {
		return client(keys[0])
	}
	clients := make([]lyumen.Provider, len(keys))
	for i, k := range keys {
		clients[i] = client(k)
	}
	return upstream.NewKeys(clients)
}

func buildCatalog(cfg []Model) *lyumen.Catalog {
	models := make([]lyumen.Model, len(cfg))
	for i, m := range cfg {
		models[i] = lyumen.Model{Name: m.Name, OwnedBy: m.OwnedBy, MaxTokens: m.MaxTokens}
		for _, t := range m.Targets {
			models[i].Targets = append(models[i].Targets, lyumen.Target{Provider: t.Provider, Model: t.Model, Weight: t.Weight})
		}
	}
	return lyumen.NewCatalog(models)
}
