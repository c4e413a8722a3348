package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/httpapi"
	"github.com/lyumen/lyumen/postgres"
	"github.com/lyumen/lyumen/providertest"
)

// limitsConfig writes a configuration serving gpt-test from upstreamURL,
// with SQLite in dir (unless store is set) and limits as given (YAML
// flow-mapping fields).
func limitsConfig(t *testing.T, dir, upstreamURL, store, limits, extra string) string {
	t.Helper()
	if store == "" {
		store = "sqlite://" + filepath.Join(dir, "lyumen.db")
	}
	cfg := fmt.Sprintf(`admin_listen: ""
spool: {dir: %s}
store: %s
providers:
  - {name: fake, kind: openai, base_url: %s, api_key: k}
models:
  - name: gpt-test
    targets: [{provider: fake, model: upstream-model}]
trusted_proxies: [10.0.0.0/8]
limits: {%s}
%s`, filepath.Join(dir, "spool"), store, upstreamURL, limits, extra)
	path := filepath.Join(dir, "lyumen.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// call sends one chat request and returns the status and headers.
func call(ctx context.Context, addr string, header map[string]string) (int, http.Header, error) {
	body := `{"model":"gpt-test","messages":[{"role":"user","content":"limit me"}]}`
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header, nil
}

func TestConfig_Limits(t *testing.T) {
	base := func() Config {
		c := DefaultConfig()
		c.withDemo()
		return c
	}
	cases := []struct {
		name    string
		edit    func(*Config)
		wantErr string
	}{
		{"defaults", func(*Config) {}, ""},
		{"negative rate", func(c *Config) { c.Limits.RequestsPerMinute = -1 }, "limits.requests_per_minute must not be negative"},
		{"no header timeout", func(c *Config) { c.Limits.ReadHeaderTimeout = 0 }, "limits.read_header_timeout must be positive"},
		{"no write timeout", func(c *Config) { c.Limits.WriteTimeout = 0 }, "limits.write_timeout must be positive"},
		{"tiny headers", func(c *Config) { c.Limits.MaxHeaderBytes = 100 }, "max_header_bytes"},
		{"redis without a secret", func(c *Config) { c.Limits.RedisURL = "redis://127.0.0.1:6379/0" }, "limits.redis_secret"},
		{"redis with a short secret", func(c *Config) { c.Limits.RedisURL, c.Limits.RedisSecret = "redis://x", "short" }, "limits.redis_secret"},
		{"redis with a secret", func(c *Config) { c.Limits.RedisURL, c.Limits.RedisSecret = "redis://x", "sixteen-chars-or-more" }, ""},
		{"budget of an unknown model", func(c *Config) { c.Limits.Models = map[string]ModelLimits{"nope": {DailyTokens: 5}} }, `"nope" is not a configured model`},
		{"budget of every model", func(c *Config) { c.Limits.Models = map[string]ModelLimits{"*": {DailyTokens: 5, Concurrency: 2}} }, ""},
		{"negative budget", func(c *Config) { c.Limits.Models = map[string]ModelLimits{"*": {Concurrency: -2}} }, "must not be negative"},
		{"admin on the public port", func(c *Config) { c.AdminListen = c.Listen }, "admin listener needs an address of its own"},
		{"admin on all hosts, same port", func(c *Config) { c.Listen, c.AdminListen = "127.0.0.1:8080", ":8080" }, "admin listener needs an address of its own"},
		{"admin with nowhere for a token", func(c *Config) { c.AdminTokenFile = "" }, "admin_token or admin_token_file"},
		{"admin off", func(c *Config) { c.AdminListen, c.AdminTokenFile = "", "" }, ""},
		{"negative drain delay", func(c *Config) { c.DrainDelay = -time.Second }, "drain_delay must not be negative"},
		{"negative shutdown timeout", func(c *Config) { c.ShutdownTimeout = -time.Second }, "shutdown_timeout must not be negative"},
		{"negative drain timeout", func(c *Config) { c.Spool.DrainTimeout = -time.Second }, "spool.drain_timeout must not be negative"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.edit(&c)
			err := c.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Validate = %v, want it to mention %q", err, tc.wantErr)
			}
		})
	}

	t.Run("parsed", func(t *testing.T) {
		getenv := func(k string) string { return map[string]string{"SECRET": "from-the-environment"}[k] }
		c, err := ParseConfig(strings.NewReader(`
models: [{name: m, targets: [{provider: p, model: x}]}]
limits:
  requests_per_minute: 10
  max_stream_duration: 90s
  redis_url: redis://127.0.0.1:6379/1
  redis_secret: ${SECRET}
  models:
    m: {concurrency: 4, daily_tokens: 1000000}
    "*": {concurrency: 8}
`), getenv)
		if err != nil {
			t.Fatal(err)
		}
		want := DefaultLimits()
		want.RequestsPerMinute, want.MaxStreamDuration = 10, 90*time.Second
		want.RedisURL, want.RedisSecret = "redis://127.0.0.1:6379/1", "from-the-environment"
		want.Models = map[string]ModelLimits{"m": {Concurrency: 4, DailyTokens: 1000000}, "*": {Concurrency: 8}}
		if fmt.Sprint(c.Limits) != fmt.Sprint(want) {
			t.Errorf("limits\n got %+v\nwant %+v", c.Limits, want)
		}
	})
}

func TestAddrRedactor(t *testing.T) {
	var out strings.Builder
	// The public server's own error log, as serve makes it.
	log := newPublicServer(Limits{}, http.NotFoundHandler(), slog.New(slog.NewTextHandler(&out, nil))).ErrorLog
	for _, msg := range []string{
		"http: TLS handshake error from 203.0.113.5:4711: EOF",
		"http: panic serving [2001:db8::77]:443: boom",
		"http2: error reading preface from client 2001:db8:0:1::5: timeout",
		"http: Accept error: accept tcp 198.51.100.4:80: too many open files; retrying in 5ms",
	} {
		log.Print(msg)
	}
	for _, addr := range []string{"203.0.113.5", "2001:db8::77", "2001:db8:0:1::5", "198.51.100.4"} {
		if strings.Contains(out.String(), addr) {
			t.Errorf("the log holds %s:\n%s", addr, out.String())
		}
	}
	if !strings.Contains(out.String(), "TLS handshake error from <addr>") || !strings.Contains(out.String(), "retrying in 5ms") {
		t.Errorf("the messages lost more than their addresses:\n%s", out.String())
	}
}

// TestServe_SlowHeaders: a client dribbling its headers byte by byte
// (slowloris) is cut off at read_header_timeout.
func TestServe_SlowHeaders(t *testing.T) {
	up := providertest.NewOpenAI(t)
	dir := t.TempDir()
	config := limitsConfig(t, dir, up.BaseURL(), "", "read_header_timeout: 300ms", "")
	addr, _, _ := startServe(t, []string{"--config", config}, nil)

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	closed := make(chan time.Time, 1)
	go func() {
		io.Copy(io.Discard, conn) // returns when the server closes the connection
		closed <- time.Now()
	}()
	start := time.Now()
	request := "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("a", 1000)
	for i := 0; i < len(request); i++ {
		select {
		case at := <-closed:
			d := at.Sub(start)
			if d < 250*time.Millisecond || d > 3*time.Second {
				t.Errorf("cut after %v, want about the 300 ms read_header_timeout", d)
			}
			return
		default:
		}
		if _, err := conn.Write([]byte{request[i]}); err != nil {
			return // cut
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("a client sent %d bytes of headers over %v and was not cut", len(request), time.Since(start))
}

// TestServe_ConnectionLimit: beyond max_connections, a new connection
// waits until one closes.
func TestServe_ConnectionLimit(t *testing.T) {
	up := providertest.NewOpenAI(t)
	dir := t.TempDir()
	config := limitsConfig(t, dir, up.BaseURL(), "", "max_connections: 2", "")
	addr, _, _ := startServe(t, []string{"--config", config}, nil)
	http.DefaultClient.CloseIdleConnections() // startServe's health check holds one

	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	time.Sleep(100 * time.Millisecond) // both accepted
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 500 * time.Millisecond}
	if resp, err := client.Get("http://" + addr + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatal("a third connection was served while two were open")
	}
	held[0].Close()
	client.Timeout = 5 * time.Second
	resp, err := client.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("once a connection closed: %v", err)
	}
	resp.Body.Close()
}

// TestServe_SpoofedHeadersChangeNothing: a client that is not a trusted
// proxy cannot escape its rate limit by naming other addresses, nor set
// its country.
func TestServe_SpoofedHeadersChangeNothing(t *testing.T) {
	up := providertest.NewOpenAI(t)
	dir := t.TempDir()
	config := limitsConfig(t, dir, up.BaseURL(), "", "requests_per_minute: 3", "")
	addr, _, stop := startServe(t, []string{"--config", config}, nil)

	var ok, limited int
	for i := range 10 {
		ip := fmt.Sprintf("203.0.113.%d", i+1)
		status, h, err := call(t.Context(), addr, map[string]string{
			"X-Forwarded-For": ip, "CF-Connecting-IP": ip, "True-Client-IP": ip, "X-Real-IP": ip, "CF-IPCountry": "NL",
		})
		if err != nil {
			t.Fatal(err)
		}
		switch status {
		case http.StatusOK:
			ok++
		case http.StatusTooManyRequests:
			limited++
			if h.Get("Retry-After") == "" || h.Get("x-ratelimit-limit-requests") != "3" {
				t.Errorf("429 without its headers: %v", h)
			}
		default:
			t.Fatalf("status %d", status)
		}
	}
	if ok != 3 || limited != 7 {
		t.Errorf("%d admitted and %d limited with spoofed addresses, want 3 and 7", ok, limited)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "lyumen.db*"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if strings.Contains(string(b), `"NL"`) || strings.Contains(string(b), "203.0.113.") {
			t.Errorf("%s holds a spoofed country or address", f)
		}
	}
}

// TestServe_AdminListener: metrics and readiness are on the admin address
// only, behind the token; a generated token is written to its file and
// never logged.
func TestServe_AdminListener(t *testing.T) {
	get := adminGet
	up := providertest.NewOpenAI(t)

	t.Run("generated token", func(t *testing.T) {
		dir := t.TempDir()
		adminAddr, tokenFile := freeAddr(t), filepath.Join(dir, "admin-token")
		config := limitsConfig(t, dir, up.BaseURL(), "", "requests_per_minute: 100", "admin_token_file: "+tokenFile+"\n")
		addr, logs, _ := startServe(t, []string{"--config", config}, map[string]string{"LYUMEN_ADMIN_LISTEN": adminAddr})
		b, err := os.ReadFile(tokenFile)
		for deadline := time.Now().Add(5 * time.Second); err != nil && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond) // written as the admin listener opens, just after the public one
			b, err = os.ReadFile(tokenFile)
		}
		if err != nil {
			t.Fatal(err)
		}
		token := strings.TrimSpace(string(b))
		if fi, _ := os.Stat(tokenFile); fi.Mode().Perm() != 0o600 || len(token) < 20 {
			t.Errorf("token file mode %v, token of %d characters", fi.Mode().Perm(), len(token))
		}
		if !strings.Contains(logs.String(), "admin token generated") || strings.Contains(logs.String(), token) {
			t.Error("the log must say a token was generated, and not what it is")
		}
		if status, _ := get(t, "http://"+adminAddr+"/metrics", ""); status != http.StatusUnauthorized {
			t.Errorf("metrics without the token: %d", status)
		}
		if status, _ := get(t, "http://"+adminAddr+"/metrics", "wrong"); status != http.StatusUnauthorized {
			t.Errorf("metrics with a wrong token: %d", status)
		}
		status, body := get(t, "http://"+adminAddr+"/metrics", token)
		if status != http.StatusOK || !strings.Contains(body, "go_goroutines") || !strings.Contains(body, "lyumen_ratelimit_clients") {
			t.Errorf("metrics with the token: %d\n%.300s", status, body)
		}
		if status, body := get(t, "http://"+adminAddr+"/readyz", token); status != http.StatusOK || body != "serving: ok\nspool: ok\n" {
			t.Errorf("readyz: %d %q", status, body)
		}
		if status, body := get(t, "http://"+addr+"/metrics", token); status != http.StatusNotFound || strings.Contains(body, "go_goroutines") {
			t.Errorf("the public listener serves /metrics: %d", status)
		}
	})

	t.Run("configured token", func(t *testing.T) {
		dir := t.TempDir()
		adminAddr, tokenFile := freeAddr(t), filepath.Join(dir, "admin-token")
		config := limitsConfig(t, dir, up.BaseURL(), "", "requests_per_minute: 100", "admin_token_file: "+tokenFile+"\n")
		_, logs, _ := startServe(t, []string{"--config", config},
			map[string]string{"LYUMEN_ADMIN_LISTEN": adminAddr, "LYUMEN_ADMIN_TOKEN": "operator-chose-this-token"})
		if _, err := os.Stat(tokenFile); err == nil {
			t.Error("a token file was written although a token was configured")
		}
		if status, _ := get(t, "http://"+adminAddr+"/readyz", "operator-chose-this-token"); status != http.StatusOK {
			t.Errorf("readyz with the configured token: %d", status)
		}
		if strings.Contains(logs.String(), "operator-chose-this-token") {
			t.Error("the log holds the admin token")
		}
	})
}

// testRedis returns the test Redis URL and a key prefix of the test's own,
// whose keys are deleted when it ends; it skips without LYUMEN_TEST_REDIS.
func testRedis(t *testing.T) (url, prefix string, rdb *redis.Client) {
	t.Helper()
	url = os.Getenv("LYUMEN_TEST_REDIS")
	if url == "" {
		t.Skip("LYUMEN_TEST_REDIS not set (e.g. redis://127.0.0.1:6379/0)")
	}
	o, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb = redis.NewClient(o)
	prefix = "lyumen-test:" + strings.ToLower(rand.Text()[:10]) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		if keys, _ := rdb.Keys(ctx, prefix+"*").Result(); len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
		rdb.Close()
	})
	return url, prefix, rdb
}

// TestMultiInstance_SharedBudget: two gateway processes against one
// PostgreSQL and one Redis share one rate budget (within the refill during
// the test: rpm/60 a second, so at most one request more here), and every
// exchange they served lands in the store exactly once.
func TestMultiInstance_SharedBudget(t *testing.T) {
	redisURL, prefix, rdb := testRedis(t)
	target, through := pgSchema(t)
	storeURL := through(target)
	up := providertest.NewOpenAI(t)
	const rpm = 30
	limits := fmt.Sprintf(`requests_per_minute: %d, tokens_per_minute: 0, client_concurrency: 0, redis_url: %q, redis_secret: %q, redis_prefix: %q`,
		rpm, redisURL, "multi-instance-test-secret", prefix)
	procs := []*process{
		startProcess(t, limitsConfig(t, t.TempDir(), up.BaseURL(), storeURL, limits, "")),
		startProcess(t, limitsConfig(t, t.TempDir(), up.BaseURL(), storeURL, limits, "")),
	}

	var (
		mu       sync.Mutex
		ids      []string
		admitted = make([]int, 2)
		refused  = make([]int, 2)
		wg       sync.WaitGroup
		next     = make(chan int)
	)
	start := time.Now()
	for range 8 {
		wg.Go(func() {
			for i := range next {
				p := i % 2
				status, h, err := call(t.Context(), procs[p].addr, nil)
				mu.Lock()
				switch {
				case err != nil:
					t.Errorf("request %d: %v", i, err)
				case status == http.StatusOK:
					admitted[p]++
					ids = append(ids, h.Get("X-Request-Id"))
				case status == http.StatusTooManyRequests:
					refused[p]++
				default:
					t.Errorf("request %d: status %d", i, status)
				}
				mu.Unlock()
			}
		})
	}
	for i := range 100 {
		next <- i
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(start)
	most := rpm + int(elapsed.Seconds()*rpm/60) + 1
	total := admitted[0] + admitted[1]
	t.Logf("admitted %v, refused %v in %v (budget %d, at most %d with the refill)", admitted, refused, elapsed, rpm, most)
	if total < rpm || total > most {
		t.Errorf("two instances admitted %d requests, want %d to %d: one shared budget", total, rpm, most)
	}
	if admitted[0] == 0 || admitted[1] == 0 || refused[0] == 0 || refused[1] == 0 {
		t.Errorf("each instance must have admitted and refused some: admitted %v, refused %v", admitted, refused)
	}

	for _, p := range procs { // SIGTERM: each drains its spool into PostgreSQL
		if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range procs {
		if err := p.cmd.Wait(); err != nil {
			t.Fatalf("gateway exit: %v\n%s", err, p.logs)
		}
	}
	db, err := postgres.Open(t.Context(), storeURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, id := range ids {
		if _, err := db.Record(t.Context(), id); err != nil {
			t.Errorf("record %s: %v", id, err)
		}
	}
	if count, err := db.Count(t.Context()); err != nil || count != int64(len(ids)) {
		t.Errorf("%d records in the store (%v) for %d exchanges served: each must land exactly once", count, err, len(ids))
	}

	keys, err := rdb.Keys(t.Context(), prefix+"*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("no keys under the test prefix (%v): the budget was not in Redis", err)
	}
	for _, k := range keys {
		v := rdb.HGetAll(t.Context(), k).Val()
		if strings.Contains(k, "127.0.0.1") || strings.Contains(fmt.Sprint(v), "127.0.0.1") {
			t.Errorf("Redis holds the client's address in %s", k)
		}
	}
}

// TestServe_RedisUnreachable: when the path to Redis is cut, the gateway
// keeps serving with its limits enforced in memory, says so once, and goes
// back to Redis when it returns.
func TestServe_RedisUnreachable(t *testing.T) {
	redisURL, prefix, _ := testRedis(t)
	u, host := redisURL, ""
	if rest, ok := strings.CutPrefix(u, "redis://"); ok {
		host, _, _ = strings.Cut(rest, "/")
		if i := strings.LastIndexByte(host, '@'); i >= 0 {
			host = host[i+1:]
		}
	}
	if host == "" {
		t.Skipf("cannot find the host in %s", redisURL)
	}
	proxy := newSeverable(t, host)
	through := strings.Replace(redisURL, host, proxy.ln.Addr().String(), 1)
	up := providertest.NewOpenAI(t)
	dir := t.TempDir()
	limits := fmt.Sprintf(`requests_per_minute: 4, redis_url: %q, redis_secret: "unreachable-test-secret", redis_prefix: %q`, through, prefix)
	addr, logs, _ := startServe(t, []string{"--config", limitsConfig(t, dir, up.BaseURL(), "", limits, "")}, nil)

	statuses := func(n int) []int {
		var out []int
		for range n {
			status, _, err := call(t.Context(), addr, nil)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, status)
		}
		return out
	}
	if got := statuses(2); got[0] != 200 || got[1] != 200 {
		t.Fatalf("with Redis: %v", got)
	}
	proxy.cut()
	start := time.Now()
	got := statuses(6) // a fresh budget of 4 in memory, then refusals
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("six requests took %v without Redis", d)
	}
	if fmt.Sprint(got) != "[200 200 200 200 429 429]" {
		t.Errorf("without Redis: %v, want the limit enforced in memory", got)
	}
	if !strings.Contains(logs.String(), "redis unreachable") {
		t.Errorf("no warning that Redis is unreachable:\n%s", logs)
	}
	proxy.restore()
	time.Sleep(fallbackRest + 100*time.Millisecond)
	if got := statuses(3); fmt.Sprint(got) != "[200 200 429]" { // Redis again: 2 of 4 left there
		t.Errorf("with Redis back: %v, want its budget again", got)
	}
}

// TestConfig_LimitsReachTheLimiters: each model's limits, its own or
// those of "*", reach what enforces them: its concurrency and the
// per-client limits httpapi, its daily budget the limiter, in memory and
// in Redis.
func TestConfig_LimitsReachTheLimiters(t *testing.T) {
	config := func() *Config {
		c := DefaultConfig()
		c.Models = []Model{{Name: "own"}, {Name: "other"}}
		c.Limits.ClientConcurrency, c.Limits.MaxMessages = 3, 7
		c.Limits.Models = map[string]ModelLimits{"own": {Concurrency: 4, DailyTokens: 1000}, "*": {Concurrency: 8, DailyTokens: 500}}
		return &c
	}
	c := config()
	want := httpapi.Limits{MaxMessages: 7, ClientConcurrency: 3, WriteTimeout: c.Limits.WriteTimeout, MaxStreamDuration: c.Limits.MaxStreamDuration,
		Models: map[string]httpapi.ModelLimits{"own": {Concurrency: 4}, "other": {Concurrency: 8}}}
	if diff := cmp.Diff(want, c.httpLimits()); diff != "" {
		t.Errorf("httpapi's limits (-want +got):\n%s", diff)
	}

	spend := func(t *testing.T, c *Config) *limiter {
		t.Helper()
		lim, err := newLimiter(t.Context(), c, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { lim.Close() })
		for _, step := range []struct {
			model  string
			tokens int64
			ok     bool
		}{{"own", 1001, false}, {"other", 501, false}, {"own", 1000, true}, {"other", 500, true}, {"own", 1, false}} {
			_, err := lim.Admit(t.Context(), "192.0.2.1", step.model, step.tokens)
			if (err == nil) != step.ok || (err != nil && lyumen.KindOf(err) != lyumen.KindUnavailable) {
				t.Errorf("%d tokens of %s: %v, want admitted %t (or the budget spent)", step.tokens, step.model, err, step.ok)
			}
		}
		return lim
	}
	t.Run("in memory", func(t *testing.T) { spend(t, config()) })
	t.Run("in redis", func(t *testing.T) {
		url, prefix, _ := testRedis(t)
		c := config()
		c.Limits.RedisURL, c.Limits.RedisSecret, c.Limits.RedisPrefix = url, "limits-wiring-test-secret", prefix
		spend(t, c)
		// Another instance finds the budget spent: it was Redis's.
		other, err := newLimiter(t.Context(), c, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		if _, err := other.Admit(t.Context(), "198.51.100.1", "own", 1); lyumen.KindOf(err) != lyumen.KindUnavailable {
			t.Errorf("another instance admitted 1 token of a spent budget: %v", err)
		}
	})
}

// countingLimiter answers err to every call, and counts them.
type countingLimiter struct {
	mu    sync.Mutex
	calls int
	err   error
}

func (l *countingLimiter) Admit(context.Context, string, string, int64) (lyumen.Allowance, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	return lyumen.Allowance{}, l.err
}

func (l *countingLimiter) Settle(context.Context, string, string, time.Time, int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	return l.err
}

// TestFallbackLimiter: memory decides when Redis cannot, and Redis rests
// meanwhile, so requests do not wait for it; a refusal from Redis stands;
// a client that left is no reason to fall back; and an exchange settles
// with the limiter that admitted it (TestFallbackLimiter_SettlesWhereAdmitted).
func TestFallbackLimiter(t *testing.T) {
	down := fmt.Errorf("redis admit: %w", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")})
	refused := lyumen.RateLimited(lyumen.Allowance{RetryAfter: time.Second})
	for _, tc := range []struct {
		name    string
		err     error // Redis's answer
		left    bool  // the client has left
		settle  bool  // Settle rather than Admit
		wantErr error
		want    [2]int // calls to Redis and to memory, after two
	}{
		{"redis unreachable: memory decides, redis rests", down, false, false, nil, [2]int{1, 2}},
		// Redis admitted it: memory, which charged nothing, must not refund it.
		{"redis unreachable: a redis admission is not settled, redis rests", down, false, true, nil, [2]int{1, 0}},
		{"redis refuses: its refusal stands", refused, false, false, refused, [2]int{2, 0}},
		{"the client left: no fallback, no rest", context.Canceled, true, false, context.Canceled, [2]int{2, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			primary, fallback := &countingLimiter{err: tc.err}, &countingLimiter{}
			f := &fallbackLimiter{primary: primary, fallback: fallback, logger: slog.New(slog.DiscardHandler),
				fallbacks: prometheus.NewCounter(prometheus.CounterOpts{Name: "fallbacks"})}
			ctx, cancel := context.WithCancel(t.Context())
			if tc.left {
				cancel()
			}
			defer cancel()
			for i := range 2 {
				var err error
				if tc.settle {
					err = f.Settle(ctx, "192.0.2.1", "m", time.Now(), 10)
				} else {
					_, err = f.Admit(ctx, "192.0.2.1", "m", 10)
				}
				if (tc.wantErr == nil) != (err == nil) || !errors.Is(err, tc.wantErr) {
					t.Errorf("call %d: %v, want %v", i+1, err, tc.wantErr)
				}
			}
			if got := [2]int{primary.calls, fallback.calls}; got != tc.want {
				t.Errorf("calls to redis and memory: %v, want %v", got, tc.want)
			}
		})
	}
}

// TestFallbackLimiter_SettlesWhereAdmitted: an exchange admitted in memory
// while Redis was away settles in memory once Redis is back; one admitted
// by Redis settles with Redis. Settled with whichever was up, a refund of
// the unused answer came off the shared budget, which never charged it.
func TestFallbackLimiter_SettlesWhereAdmitted(t *testing.T) {
	down := fmt.Errorf("redis admit: %w", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")})
	primary, fallback := &countingLimiter{err: down}, &countingLimiter{}
	f := &fallbackLimiter{primary: primary, fallback: fallback, logger: slog.New(slog.DiscardHandler),
		fallbacks: prometheus.NewCounter(prometheus.CounterOpts{Name: "fallbacks"})}
	ctx := t.Context()
	inMemory := time.Now()
	if _, err := f.Admit(ctx, "192.0.2.1", "m", 17_000); err != nil {
		t.Fatal(err)
	}
	primary.err = nil // Redis is back
	f.downUntil.Store(0)
	if err := f.Settle(ctx, "192.0.2.1", "m", inMemory, -16_400); err != nil {
		t.Fatal(err)
	}
	if primary.calls != 1 || fallback.calls != 2 {
		t.Errorf("calls to redis and memory: %d, %d; want the memory admission settled in memory (1, 2)", primary.calls, fallback.calls)
	}
	byRedis := time.Now().Add(time.Hour) // long after the fallback's span
	if err := f.Settle(ctx, "192.0.2.1", "m", byRedis, -100); err != nil {
		t.Fatal(err)
	}
	if primary.calls != 2 || fallback.calls != 2 {
		t.Errorf("calls to redis and memory: %d, %d; want the redis admission settled with redis (2, 2)", primary.calls, fallback.calls)
	}
}
