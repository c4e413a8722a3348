package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lyumen/lyumen/admin"
)

// adminToken returns the token the admin listener requires: admin_token
// (or LYUMEN_ADMIN_TOKEN) when set; otherwise a random one, generated at
// every start and written to admin_token_file (mode 0600) for the
// operator. The log says a token was generated and where it is, never the
// token itself.
func adminToken(c *Config, logger *slog.Logger) (string, error) {
	if c.AdminToken != "" {
		return c.AdminToken, nil
	}
	token := rand.Text()
	// Written beside it and renamed over it: whoever reads the file (a
	// scraper's config, a script) finds the old token or the new one,
	// never an empty file. Where that cannot be done (a file mounted alone
	// into a container, a directory not writable), it is written in place.
	tmp := c.AdminTokenFile + ".tmp"
	if err := writeToken(tmp, token); err != nil || os.Rename(tmp, c.AdminTokenFile) != nil {
		os.Remove(tmp)
		if err := writeToken(c.AdminTokenFile, token); err != nil {
			return "", fmt.Errorf("admin_token_file: %w", err)
		}
	}
	logger.Info("admin token generated: send it as Authorization: Bearer; set admin_token to choose one", "file", c.AdminTokenFile)
	return token, nil
}

// writeToken writes token to path, mode 0600 even if the file existed.
func writeToken(path, token string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	err = f.Chmod(0o600) // a file that existed kept its mode
	if err == nil {
		_, err = f.WriteString(token + "\n")
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// listenAdmin opens the admin listener: metrics, readiness, behind the
// token. It is refused on the public address (Validate) and warned about
// off loopback.
func listenAdmin(c *Config, reg *prometheus.Registry, checks []admin.Check, logger *slog.Logger) (*http.Server, net.Listener, error) {
	token, err := adminToken(c, logger)
	if err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", c.AdminListen)
	if err != nil {
		return nil, nil, fmt.Errorf("listen admin %s: %w", c.AdminListen, err)
	}
	if ta, ok := ln.Addr().(*net.TCPAddr); !ok || !ta.IP.IsLoopback() {
		logger.Warn("the admin listener is not on a loopback address: keep it off the internet", "addr", ln.Addr().String())
	}
	srv := &http.Server{
		Handler: admin.NewServer(admin.Options{
			Token:   token,
			Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
			Checks:  checks,
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.Info("admin listening", "addr", ln.Addr().String())
	return srv, ln, nil
}

// serveAdmin serves srv on ln until it is shut down.
func serveAdmin(srv *http.Server, ln net.Listener) error {
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// readiness is what /readyz checks: the gateway is not draining (a load
// balancer must move traffic away while in-flight requests finish), the
// spool has room (else requests are refused) and, when configured, Redis
// answers (else limits fall back to each instance). draining is closed
// when shutdown begins, before the public server stops.
func readiness(draining <-chan struct{}, spoolFull func() bool, lim *limiter) []admin.Check {
	checks := []admin.Check{{Name: "serving", Check: func(context.Context) error {
		select {
		case <-draining:
			return errors.New("draining: shutting down, finishing the requests in flight")
		default:
			return nil
		}
	}}, {Name: "spool", Check: func(context.Context) error {
		if spoolFull() {
			return errors.New("full: requests are refused until the store takes records")
		}
		return nil
	}}}
	if lim.redis != nil {
		checks = append(checks, admin.Check{Name: "redis", Check: lim.redis.Ping})
	}
	return checks
}
