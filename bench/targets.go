package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/httpapi"
	"github.com/lyumen/lyumen/internal/upstreamhttp"
	"github.com/lyumen/lyumen/openai"
	"github.com/lyumen/lyumen/scrub"
	"github.com/lyumen/lyumen/spool"
	"github.com/lyumen/lyumen/sqlite"
	"github.com/lyumen/lyumen/upstream"
)

// The targets' names, as reported and as their pprof label.
const (
	NameDirect      = "direct"
	NameBare        = "bare"
	NameLyumenNoRec = "lyumen-norec"
	NameLyumen      = "lyumen"
)

// Target is one server measured.
type Target struct {
	Name string
	URL  string // base URL; requests go to URL + "/v1/chat/completions"
}

// Targets are the four servers measured, each a real http.Server on
// loopback in front of the same mock:
//   - Direct is the mock itself, the baseline for added latency;
//   - Bare is a bare httputil.ReverseProxy, the baseline for a proxy;
//   - LyumenNoRec is the gateway with a Recorder that keeps nothing, the
//     baseline for what recording costs;
//   - Lyumen is the gateway as production wires it: records go through the
//     durable spool (an fsync per group commit) and ship, scrubbed of
//     secrets, to SQLite.
//
// Each server's goroutines, and the goroutines they start (their upstream
// connections, the spool's shipper), carry the pprof label "target" with
// the server's name, so a CPU profile can be cut to one target. pprof
// matches the value as an unanchored regexp, so anchor it:
//
//	go tool pprof -tagfocus 'target=^lyumen$' -top cpu.pprof
type Targets struct {
	Direct, Bare, LyumenNoRec, Lyumen Target

	mock, bare, norec, gw *httptest.Server // mock is nil with Options.UpstreamURL
	load                  func(context.Context, Load) Result
	db                    *sqlite.DB     // nil with DiscardStore
	counter               *countingStore // non-nil with DiscardStore
	spool                 *spool.Spool
	stopSpool             context.CancelFunc
	spoolDone             chan error
	sent                  atomic.Int64 // requests sent to Lyumen by Run
	synced                atomic.Int64 // records made durable by the spool's group commits
	batches, shipped      atomic.Int64 // batches the spool shipped, and their records

	mu      sync.Mutex
	records []time.Duration // each Record call's time, in order
	syncs   []time.Duration // each group commit's write and fsync, in order
}

// All returns the targets, baselines first.
func (t *Targets) All() []Target {
	return []Target{t.Direct, t.Bare, t.LyumenNoRec, t.Lyumen}
}

// Options changes what StartTargets builds. The zero value is production's
// wiring.
type Options struct {
	// DiscardStore makes the spool ship to a store that only counts the
	// records, to tell what the spool costs from what the SQLite store
	// costs. A diagnostic: production always has a store.
	DiscardStore bool
	// BatchSize is the spool's most records per store batch; 0: the
	// production default.
	BatchSize int
	// CommitDelay is the spool's wait for more records before a group
	// commit under load; 0: the production default, negative: none.
	CommitDelay time.Duration
	// UpstreamURL, when set, is a mock served elsewhere, such as by
	// another process: StartTargets serves none, and Direct is this URL.
	UpstreamURL string
	// Load, when set, applies the loads of Targets.Run in place of Run,
	// such as from another process.
	Load func(context.Context, Load) Result
	// NormalPriority ships at the usual CPU priority, as
	// spool.ship_priority: normal does. By default the spool ships from a
	// thread of the lowest priority, with a spare P for the process while
	// it runs, as serve wires it.
	NormalPriority bool
}

// StartTargets serves mock (unless Options.UpstreamURL names one) and
// starts the servers in front of it. The spool and the SQLite store it
// ships to are created in dir, which should be on the disk production
// would use: the spool fsyncs. Call Stop to shut them down.
func StartTargets(ctx context.Context, dir string, mock *Mock, o Options) (*Targets, error) {
	if o.UpstreamURL != "" {
		if u, err := url.Parse(o.UpstreamURL); err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("start targets: upstream URL %q is not an absolute URL", o.UpstreamURL)
		}
	}
	t := &Targets{}
	var store spool.Writer
	if o.DiscardStore {
		t.counter = &countingStore{ids: make(map[string]struct{})}
		store = t.counter
	} else {
		db, err := sqlite.Open(ctx, filepath.Join(dir, "lyumen.db"))
		if err != nil {
			return nil, err
		}
		t.db = db
		// Secret scrubbing in the shipper is on by default in production
		// (redact_secrets), so it is part of the measured cost.
		sc, err := scrub.New(db)
		if err != nil {
			db.Close()
			return nil, err
		}
		store = sc
	}
	// As cmd/lyumen serve wires it, with its JSON log of one line per
	// exchange formatted but discarded rather than written to stderr.
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	sp, err := spool.Open(filepath.Join(dir, "spool"), store, spool.Options{
		MaxBytes:    1 << 30, // cmd/lyumen's default
		BatchSize:   o.BatchSize,
		CommitDelay: o.CommitDelay,
		LowPriority: !o.NormalPriority,
		// Longer than production's 10s: the end-of-run check counts the
		// store, so the spool must be empty when Stop returns.
		DrainTimeout: 2 * time.Minute,
		Logger:       logger,
		OnSync: func(n int, d time.Duration) {
			t.synced.Add(int64(n))
			t.mu.Lock()
			t.syncs = append(t.syncs, d)
			t.mu.Unlock()
		},
		OnShipped: func(n int) {
			t.batches.Add(1)
			t.shipped.Add(int64(n))
		},
	})
	if err != nil {
		t.closeStore()
		return nil, err
	}
	t.spool = sp

	upstream := o.UpstreamURL
	if upstream == "" {
		t.mock = ServeMock(mock)
		upstream = t.mock.URL
	}
	t.Direct = Target{NameDirect, upstream}
	t.load = o.Load

	mockURL, _ := url.Parse(upstream) // checked above, or the mock's own
	bare := &httputil.ReverseProxy{
		Rewrite:       func(r *httputil.ProxyRequest) { r.SetURL(mockURL) },
		Transport:     upstreamTransport(),
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	// The body is read whole before it is proxied, as Lyumen reads it: a
	// body still streaming in while the upstream answers made the
	// transport cut about 1% of the bare proxy's streams once the mock ran
	// in another process (golang/go#40747, ../shared/DEPENDENCIES.md).
	t.bare = startServer(NameBare, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.ContentLength = int64(len(b))
		bare.ServeHTTP(w, r)
	}))
	t.Bare = Target{NameBare, t.bare.URL}

	t.norec = startGateway(NameLyumenNoRec, upstream, logger, discard{})
	t.LyumenNoRec = Target{NameLyumenNoRec, t.norec.URL}

	// The spool outlives the gateway: Run stops only after every handler
	// has handed over its record.
	spoolCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	t.stopSpool, t.spoolDone = stop, make(chan error, 1)
	pprof.Do(spoolCtx, pprof.Labels("target", NameLyumen), func(ctx context.Context) {
		go func() { t.spoolDone <- sp.Run(ctx) }()
	})
	t.gw = startGateway(NameLyumen, upstream, logger, timed{sp, t})
	t.Lyumen = Target{NameLyumen, t.gw.URL}
	return t, nil
}

// countingStore is a spool.Writer that keeps only the IDs of the records
// it is given, so a record given twice counts once.
type countingStore struct {
	mu  sync.Mutex
	ids map[string]struct{}
}

func (c *countingStore) WriteRecords(_ context.Context, recs []*lyumen.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range recs {
		c.ids[r.ID] = struct{}{}
	}
	return nil
}

// discard is a Recorder that takes every record and keeps none: Lyumen
// with recording off.
type discard struct{}

func (discard) Record(context.Context, *lyumen.Record) error { return nil }

// timed is a Recorder that notes how long each Record call of the next
// one takes: as production's metrics wrapper does, it sits between the
// gateway and the spool.
type timed struct {
	next *spool.Spool
	t    *Targets
}

// Full is the spool's: the gateway asks it before every request, as
// serve's does.
func (r timed) Full() bool { return r.next.Full() }

func (r timed) Record(ctx context.Context, rec *lyumen.Record) error {
	start := time.Now()
	err := r.next.Record(ctx, rec)
	d := time.Since(start)
	r.t.mu.Lock()
	r.t.records = append(r.t.records, d)
	r.t.mu.Unlock()
	return err
}

// Progress is the spool's, untimed: a stream's progress is not its record.
func (r timed) Progress(ctx context.Context, rec *lyumen.Record) error {
	return r.next.Progress(ctx, rec)
}

var _ lyumen.ProgressRecorder = timed{}

// startGateway starts Lyumen as cmd/lyumen serve wires it, in front of the
// OpenAI-compatible upstream at upstreamURL, recording with rec.
func startGateway(name, upstreamURL string, logger *slog.Logger, rec lyumen.Recorder) *httptest.Server {
	catalog := lyumen.NewCatalog([]lyumen.Model{{
		Name:    "bench-model",
		OwnedBy: "bench",
		Targets: []lyumen.Target{{Provider: "mock", Model: "mock-model"}},
	}})
	providers := map[string]lyumen.Provider{
		"mock": openai.NewClient(upstreamURL+"/v1", "sk-bench", nil, gatewayTransport()),
	}
	return startServer(name, httpapi.NewServer(httpapi.Options{
		Logger:   logger,
		Provider: upstream.New(catalog, providers, logger),
		Catalog:  catalog,
		Recorder: rec,
	}))
}

// ServeMock serves mock on 127.0.0.1 as the direct target is served, for a
// load worker in another process as well as for StartTargets.
func ServeMock(mock *Mock) *httptest.Server { return startServer(NameDirect, mock) }

// startServer starts h on 127.0.0.1 with production's server timeouts, its
// goroutines labelled target=name.
func startServer(name string, h http.Handler) *httptest.Server {
	s := httptest.NewUnstartedServer(h)
	s.Config.ReadHeaderTimeout = 10 * time.Second
	s.Config.ReadTimeout = 60 * time.Second
	s.Config.IdleTimeout = 120 * time.Second
	s.Config.MaxHeaderBytes = 64 << 10
	s.Config.ErrorLog = slog.NewLogLogger(slog.DiscardHandler, slog.LevelWarn)
	// Serve runs in a goroutine started here, and every connection's
	// goroutine descends from it: all inherit the label.
	pprof.Do(context.Background(), pprof.Labels("target", name), func(context.Context) {
		s.Start()
	})
	return s
}

// upstreamTransport has the settings of cmd/lyumen's newHTTPClient, for the
// gateway's upstream client and the bare proxy alike.
// gatewayTransport is the gateway's to the upstream, as serve builds it:
// under the provider's timeout (default 120 s).
func gatewayTransport() http.RoundTripper {
	return upstreamhttp.Deadline(upstreamTransport(), 120*time.Second)
}

func upstreamTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   512,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 120 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// Run applies l to target with hc, as the package's Run does (or with
// Options.Load), and counts the requests sent to Lyumen: Stop checks the
// store against them.
//
// A load on Lyumen ends only once its spool has shipped every record to
// the store, and the time and CPU that takes count as the load's (Drain
// says how long it was). Its throughput is therefore what the gateway and
// its store can sustain, and shipping a backlog never runs into the next
// target's load. The spool ships the tail at once (ShipNow): while the
// load runs, the shipper's lingers for fuller batches overlap with serving,
// but the last one would add up to a Linger (100 ms) of idle waiting, for
// records that will not come, to the load's time. The GC's slow pauses in
// this process count as the load's too (Result.GCSlowPauses).
func (t *Targets) Run(ctx context.Context, hc *http.Client, target Target, l Load) (res Result) {
	l.URL = target.URL
	t.mu.Lock()
	records, syncs := len(t.records), len(t.syncs)
	t.mu.Unlock()
	pauses := gcPauses()
	defer func() { res.addPauses(pauses, gcPauses()) }()
	if t.load != nil {
		res = t.load(ctx, l)
	} else {
		res = Run(ctx, hc, l)
	}
	if target.Name != NameLyumen {
		return res
	}
	t.sent.Add(int64(res.Requests))
	start, cpu := time.Now(), ProcessCPU()
	t.spool.ShipNow() // kept until the shipper next lingers, so once is enough
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for ctx.Err() == nil {
		if n, _ := t.spool.Pending(); n == 0 {
			break
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
		}
	}
	res.Drain = time.Since(start)
	res.Elapsed += res.Drain
	res.CPU += ProcessCPU() - cpu
	t.mu.Lock()
	res.Record = slices.Sorted(slices.Values(t.records[records:]))
	res.Sync = slices.Sorted(slices.Values(t.syncs[syncs:]))
	t.mu.Unlock()
	return res
}

// SpoolStats is what the spool's group commit did.
type SpoolStats struct {
	Syncs    int           // group commits: writes and fsyncs of appended records
	Records  int64         // records they made durable
	SyncTime time.Duration // spent writing and fsyncing, in all
	Batches  int64         // batches shipped to the store
	Shipped  int64         // records in them
}

// Recording is what the recording gateway was sent and what it stored.
type Recording struct {
	Sent   int64 // requests sent to Lyumen through Targets.Run
	Stored int64 // records in the store once the spool has drained
	Spool  SpoolStats
}

// Stop shuts the servers down in production's order (the gateways finish
// their exchanges, then the spool ships everything it holds into the
// store) and counts the records stored. Every request sent to Lyumen must
// have exactly one: Stored == Sent.
func (t *Targets) Stop(ctx context.Context) (Recording, error) {
	t.gw.Close() // waits for the handlers, so every record was handed over
	t.norec.Close()
	t.bare.Close()
	if t.mock != nil {
		t.mock.Close()
	}
	rec := Recording{Sent: t.sent.Load()}
	t.mu.Lock()
	rec.Spool = SpoolStats{Syncs: len(t.syncs), Records: t.synced.Load()}
	for _, d := range t.syncs {
		rec.Spool.SyncTime += d
	}
	t.mu.Unlock()
	t.stopSpool() // Run stops intake and drains into the store
	err := <-t.spoolDone
	rec.Spool.Batches, rec.Spool.Shipped = t.batches.Load(), t.shipped.Load()
	pending, _ := t.spool.Pending()
	err = errors.Join(err, t.spool.Close())
	if err == nil && pending > 0 {
		err = fmt.Errorf("spool not drained: %d records left on disk", pending)
	}
	if err != nil {
		t.closeStore()
		return rec, fmt.Errorf("stop spool: %w", err)
	}
	if t.counter != nil {
		t.counter.mu.Lock()
		rec.Stored = int64(len(t.counter.ids))
		t.counter.mu.Unlock()
		return rec, nil
	}
	rec.Stored, err = t.db.Count(ctx)
	return rec, errors.Join(err, t.db.Close())
}

func (t *Targets) closeStore() {
	if t.db != nil {
		t.db.Close()
	}
}
