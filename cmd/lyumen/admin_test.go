package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen/providertest"
)

// TestServe_ReadyzDrains: once shutdown begins, /readyz on the admin
// listener says not ready while a request is still being finished, so a
// load balancer moves traffic away; /healthz stays ok meanwhile.
func TestServe_ReadyzDrains(t *testing.T) {
	up := providertest.NewOpenAI(t)
	// The upstream holds the first request until released, so the server
	// has one in flight when shutdown begins.
	started, release := make(chan struct{}), make(chan struct{})
	var first sync.Once
	gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		first.Do(func() {
			close(started)
			<-release
		})
		up.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(gate.Close)
	dir := t.TempDir()
	adminAddr, token := freeAddr(t), "drain-test-token"
	config := limitsConfig(t, dir, gate.URL+"/v1", "", "requests_per_minute: 0", "")
	addr, logs, stop := startServe(t, []string{"--config", config},
		map[string]string{"LYUMEN_ADMIN_LISTEN": adminAddr, "LYUMEN_ADMIN_TOKEN": token})
	free := sync.OnceFunc(func() { close(release) })
	t.Cleanup(free) // before stop and gate.Close, which wait for the held request
	get := func(path string) (int, string) {
		t.Helper()
		return adminGet(t, "http://"+adminAddr+path, token)
	}
	if status, body := get("/readyz"); status != http.StatusOK {
		t.Fatalf("readyz before shutdown: %d %q", status, body)
	}

	answered := make(chan int, 1)
	go func() {
		status, _, err := call(t.Context(), addr, nil)
		if err != nil {
			t.Error(err)
		}
		answered <- status
	}()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatalf("the request did not reach the upstream\n%s", logs)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }() // as SIGTERM: the held request keeps the server draining

	status, body := get("/readyz")
	for deadline := time.Now().Add(5 * time.Second); status == http.StatusOK && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		status, body = get("/readyz")
	}
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "draining") {
		t.Errorf("readyz while draining: %d %q; want 503 saying draining", status, body)
	}
	if status, body := get("/healthz"); status != http.StatusOK {
		t.Errorf("healthz while draining: %d %q; want 200", status, body)
	}

	free()
	if status := <-answered; status != http.StatusOK {
		t.Errorf("the request in flight at shutdown got %d, want 200", status)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}

// TestServe_DrainDelay: with drain_delay, a gateway told to stop serves
// new requests on for that long with /readyz failing, so that a load
// balancer moves traffic away before connections are refused.
func TestServe_DrainDelay(t *testing.T) {
	up := providertest.NewOpenAI(t)
	dir := t.TempDir()
	adminAddr, token := freeAddr(t), "drain-delay-token"
	config := limitsConfig(t, dir, up.BaseURL(), "", "requests_per_minute: 0", "drain_delay: 2s\n")
	addr, _, stop := startServe(t, []string{"--config", config},
		map[string]string{"LYUMEN_ADMIN_LISTEN": adminAddr, "LYUMEN_ADMIN_TOKEN": token})
	readyz := func() int {
		t.Helper()
		status, _ := adminGet(t, "http://"+adminAddr+"/readyz", token)
		return status
	}
	if status := readyz(); status != http.StatusOK {
		t.Fatalf("readyz before shutdown: %d", status)
	}
	stopped := make(chan error, 1)
	start := time.Now()
	go func() { stopped <- stop() }()
	for deadline := time.Now().Add(time.Second); readyz() == http.StatusOK && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if status, _, err := call(t.Context(), addr, nil); err != nil || status != http.StatusOK {
		t.Errorf("a new request while draining: %d, %v; want it served", status, err)
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Fatalf("the checks took %v, past most of the drain delay: the test cannot tell", d)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 2*time.Second {
		t.Errorf("stopped after %v, before the drain delay (2s)", d)
	}
}

// adminGet GETs url with the admin token (none when empty), waiting up to
// 5 s for the admin listener, which opens just after the public one.
func adminGet(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	for deadline := time.Now().Add(5 * time.Second); err != nil && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		resp, err = http.DefaultClient.Do(req)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestReadiness: what each of /readyz's checks says, by the gateway's
// state: draining once shutdown began, full while the spool is near its
// cap.
func TestReadiness(t *testing.T) {
	for _, tc := range []struct {
		name      string
		draining  bool
		spoolFull bool
		want      map[string]string // check name → its error's start; "" passes
	}{
		{"serving", false, false, map[string]string{"serving": "", "spool": ""}},
		{"draining", true, false, map[string]string{"serving": "draining", "spool": ""}},
		{"spool full", false, true, map[string]string{"serving": "", "spool": "full"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			draining := make(chan struct{})
			if tc.draining {
				close(draining)
			}
			got := map[string]string{}
			for _, c := range readiness(draining, func() bool { return tc.spoolFull }, &limiter{}) {
				got[c.Name] = ""
				if err := c.Check(t.Context()); err != nil {
					got[c.Name], _, _ = strings.Cut(err.Error(), ":")
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("checks (-want +got):\n%s", diff)
			}
		})
	}
}

// TestServe_SecondSignalEndsAtOnce: the first signal drains (here a long
// drain_delay); a second ends the process at once, as an operator pressing
// Ctrl-C again expects.
func TestServe_SecondSignalEndsAtOnce(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "lyumen.yaml")
	// No admin listener: its default port may be taken, and its token file
	// would be written into the package's directory.
	if err := os.WriteFile(config, []byte(fmt.Sprintf("admin_listen: \"\"\nspool: {dir: %s}\nstore: sqlite://%s\ndrain_delay: 60s\n",
		filepath.Join(dir, "spool"), filepath.Join(dir, "lyumen.db"))), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProcess(t, config)
	p.interrupt(t)
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(p.logs.String(), "draining"); {
		if time.Now().After(deadline) {
			t.Fatalf("no drain after the first signal:\n%s", p.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()
	p.interrupt(t)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-exited // one Wait at a time: the cleanup waits too
		t.Fatalf("still running 10 s after a second signal, with 60 s of drain_delay left:\n%s", p.logs)
	}
}
