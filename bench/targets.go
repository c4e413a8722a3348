package bench

import (
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
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/batch"
	"github.com/lyumen/lyumen/httpapi"
	"github.com/lyumen/lyumen/openai"
	"github.com/lyumen/lyumen/sqlite"
	"github.com/lyumen/lyumen/upstream"
)

// Targets are the three servers measured, each a real http.Server on
// loopback in front of the same mock:
//   - Direct is the mock itself, the baseline for added latency;
//   - Bare is a bare httputil.ReverseProxy, the baseline for throughput;
//   - Lyumen is the gateway as production wires it, recording to SQLite.
//
// Each server's goroutines, and the goroutines they start (their upstream
// connections, the recorder), carry the pprof label "target" with the
// server's name, so a CPU profile can be cut to one target:
//
//	go tool pprof -tagfocus target=lyumen -top cpu.pprof
type Targets struct {
	Direct, Bare, Lyumen string // base URLs

	mock, bare, gw *httptest.Server
	db             *sqlite.DB
	stopRecorder   context.CancelFunc
	recorderDone   chan error
}

// StartTargets serves mock and starts the servers in front of it. The
// SQLite store is created in dir. Call Stop to shut them down.
func StartTargets(ctx context.Context, dir string, mock *Mock) (*Targets, error) {
	db, err := sqlite.Open(ctx, filepath.Join(dir, "lyumen.db"))
	if err != nil {
		return nil, err
	}
	t := &Targets{db: db}

	t.mock = startServer("mock", mock)
	t.Direct = t.mock.URL

	mockURL, _ := url.Parse(t.mock.URL)
	t.bare = startServer("bare", &httputil.ReverseProxy{
		Rewrite:       func(r *httputil.ProxyRequest) { r.SetURL(mockURL) },
		Transport:     upstreamTransport(),
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			w.WriteHeader(http.StatusBadGateway)
		},
	})
	t.Bare = t.bare.URL

	// As cmd/lyumen serve wires it, with its JSON log of one line per
	// exchange formatted but discarded rather than written to stderr.
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	catalog := lyumen.NewCatalog([]lyumen.Model{{
		Name:    "bench-model",
		OwnedBy: "bench",
		Targets: []lyumen.Target{{Provider: "mock", Model: "mock-model"}},
	}})
	providers := map[string]lyumen.Provider{
		"mock": openai.NewClient(t.mock.URL+"/v1", "sk-bench", nil, &http.Client{Transport: upstreamTransport()}),
	}
	rec := batch.New(db, batch.Options{Logger: logger})
	recCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	t.stopRecorder, t.recorderDone = stop, make(chan error, 1)
	pprof.Do(recCtx, pprof.Labels("target", "lyumen"), func(ctx context.Context) {
		go func() { t.recorderDone <- rec.Run(ctx) }()
	})
	t.gw = startServer("lyumen", httpapi.NewServer(httpapi.Options{
		Logger:   logger,
		Provider: upstream.New(catalog, providers, logger),
		Catalog:  catalog,
		Recorder: rec,
	}))
	t.Lyumen = t.gw.URL
	return t, nil
}

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

// Stop shuts the servers down in production's order (the gateway finishes
// its exchanges, then the recorder writes everything it was given), and
// returns the number of records in the store.
func (t *Targets) Stop(ctx context.Context) (records int64, err error) {
	t.gw.Close() // waits for the handlers, so every record was handed over
	t.bare.Close()
	t.mock.Close()
	t.stopRecorder()
	if err := <-t.recorderDone; err != nil {
		t.db.Close()
		return 0, fmt.Errorf("recorder: %w", err)
	}
	n, err := t.db.Count(ctx)
	return n, errors.Join(err, t.db.Close())
}
