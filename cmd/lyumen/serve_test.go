package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/lyumen/lyumen"
	oai "github.com/lyumen/lyumen/openai"
	"github.com/lyumen/lyumen/providertest"
	"github.com/lyumen/lyumen/sqlite"
)

const (
	clientKey = "sk-client-planted-0b5e77"
	clientIP  = "127.0.0.77" // the test client's own loopback address
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// syncBuffer collects the server's logs from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServe runs "lyumen serve" in-process and waits for /healthz. The
// returned stop cancels it (as SIGTERM does) and returns run's error.
func startServe(t *testing.T, args []string, env map[string]string) (addr string, logs *syncBuffer, stop func() error) {
	t.Helper()
	addr = freeAddr(t)
	logs = &syncBuffer{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	getenv := func(k string) string { return env[k] }
	args = append([]string{"serve", "--listen", addr}, args...)
	go func() { done <- run(ctx, args, getenv, io.Discard, logs) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited: %v\n%s", err, logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not come up: %v\n%s", err, logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var once sync.Once
	var stopErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(30 * time.Second):
				stopErr = fmt.Errorf("serve did not stop")
			}
		})
		return stopErr
	}
	t.Cleanup(func() { stop() })
	return addr, logs, stop
}

// clientFrom returns an SDK client whose connections come from clientIP, so
// the test can look for that address afterwards.
func clientFrom(addr string) openai.Client {
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(clientIP)}}
	hc := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
	return openai.NewClient(option.WithBaseURL("http://"+addr+"/v1/"), option.WithAPIKey(clientKey),
		option.WithHTTPClient(hc), option.WithHeader("x-api-key", clientKey),
		option.WithHeader("Cookie", "session="+clientKey), option.WithHeader("CF-IPCountry", "NL"), option.WithMaxRetries(0))
}

func writeConfig(t *testing.T, dir, upstreamURL string) string {
	t.Helper()
	path := filepath.Join(dir, "lyumen.yaml")
	cfg := fmt.Sprintf(`admin_listen: ""
spool: {dir: %s}
store: sqlite://%s
providers:
  - name: fake
    kind: openai
    base_url: %s
    api_key: ${FAKE_KEY}
models:
  - name: gpt-test
    targets: [{provider: fake, model: upstream-model}]
trusted_proxies: [127.0.0.0/8]
limits: {requests_per_minute: 0, tokens_per_minute: 0, client_concurrency: 0} # load from one address
`, filepath.Join(dir, "spool"), filepath.Join(dir, "lyumen.db"), upstreamURL)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestServe_RecordsEverythingAndNothingElse drives the real binary's run
// with the official SDK, stops it as SIGTERM would, and reads the SQLite
// file: every exchange is there, and neither the client's address nor its
// key is anywhere in the store's files or the logs.
func TestServe_RecordsEverythingAndNothingElse(t *testing.T) {
	up := providertest.NewOpenAI(t)
	dir := t.TempDir()
	addr, logs, stop := startServe(t, []string{"--config", writeConfig(t, dir, up.BaseURL())}, map[string]string{"FAKE_KEY": "sk-operator-1"})

	client := clientFrom(addr)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	ids := make(chan string, n) // X-Request-Id: the record of each exchange
	for i := range n {
		wg.Go(func() {
			p := openai.ChatCompletionNewParams{Model: "gpt-test", Messages: []openai.ChatCompletionMessageParamUnion{
				openai.UserMessage(fmt.Sprintf("question %d", i))}}
			var resp *http.Response
			if i%2 == 0 {
				_, err := client.Chat.Completions.New(t.Context(), p, option.WithResponseInto(&resp))
				errs <- err
			} else {
				s := client.Chat.Completions.NewStreaming(t.Context(), p, option.WithResponseInto(&resp))
				for s.Next() {
				}
				errs <- s.Err()
			}
			if resp != nil {
				ids <- resp.Header.Get("X-Request-Id")
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	spooled := readTree(t, filepath.Join(dir, "spool")) // before shutdown drains it
	if err := stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	if h := up.Seen()[0].Header.Get("Authorization"); h != "Bearer sk-operator-1" {
		t.Errorf("upstream saw Authorization %q, want the operator's key from ${FAKE_KEY}", h)
	}

	db, err := sqlite.Open(t.Context(), filepath.Join(dir, "lyumen.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count, err := db.Count(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// The store compresses what is large, so a scan of its files alone
	// could miss a value: read every record back too.
	close(ids)
	var decoded []byte
	for id := range ids {
		rec, err := db.Record(t.Context(), id)
		if err != nil {
			t.Fatalf("record %q of a completed exchange: %v", id, err)
		}
		b, _ := json.Marshal(rec)
		decoded = append(decoded, b...)
	}
	if count != n {
		t.Errorf("store holds %d records, want %d: shutdown must flush every record", count, n)
	}

	files, _ := filepath.Glob(filepath.Join(dir, "lyumen.db*"))
	var store []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		store = append(store, b...)
	}
	for _, c := range []struct{ where, content string }{
		{"store", string(store)}, {"records read back", string(decoded)}, {"spool", string(spooled)}, {"logs", logs.String()},
	} {
		for _, secret := range []string{clientIP, clientKey, "session="} {
			if strings.Contains(c.content, secret) {
				t.Errorf("the %s contain %q", c.where, secret)
			}
		}
	}
	if !bytes.Contains(decoded, []byte("question 7")) || !bytes.Contains(decoded, []byte("NL")) || !bytes.Contains(spooled, []byte("question 7")) {
		t.Error("the store lacks the country or the spool the prompts: the scan above proves nothing")
	}
}

// TestServe_NoConfig starts with nothing configured: the demo model answers
// offline.
func TestServe_NoConfig(t *testing.T) {
	dir := t.TempDir()
	admin := freeAddr(t)
	addr, logs, stop := startServe(t, []string{"--store", "sqlite://" + filepath.Join(dir, "l.db"), "--spool", filepath.Join(dir, "spool")},
		map[string]string{"LYUMEN_ADMIN_LISTEN": admin, "LYUMEN_ADMIN_TOKEN": "test-admin-token"})
	client := openai.NewClient(option.WithBaseURL("http://"+addr+"/v1/"), option.WithAPIKey("x"), option.WithMaxRetries(0))
	resp, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
		Model: "lyumen-demo", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(resp.Choices[0].Message.Content, "demo") {
		t.Errorf("demo answer %q does not say it is a demo", resp.Choices[0].Message.Content)
	}
	page, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if !strings.Contains(string(body), "Demo mode") {
		t.Error("landing page does not say the demo model is serving")
	}
	if !strings.Contains(logs.String(), "demo model") {
		t.Error("startup log does not say the demo model is serving")
	}

	// A refused request is counted, not stored.
	bad, err := http.Post("http://"+addr+"/v1/chat/completions", "application/json", strings.NewReader("{nope"))
	if err != nil {
		t.Fatal(err)
	}
	bad.Body.Close()
	mreq, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+admin+"/metrics", nil)
	mreq.Header.Set("Authorization", "Bearer test-admin-token") // the admin listener wants its token
	metrics, err := http.DefaultClient.Do(mreq)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(metrics.Body)
	metrics.Body.Close()
	for _, want := range []string{`lyumen_requests_refused_total{reason="invalid",surface="openai.chat"} 1`, "lyumen_spool_pending_records"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(string(body), "127.0.0.1") {
		t.Error("metrics carry a client address")
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// readTree concatenates every file under dir.
func readTree(t *testing.T, dir string) []byte {
	t.Helper()
	var all []byte
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		all = append(all, b...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// TestServe_UpstreamRedirectNotFollowed: an upstream that answers with a
// redirect gets no second request from the gateway. http.Client would
// follow a 307 with the whole request, the operator's key in its headers,
// to whatever address the upstream names (it drops only Authorization and
// cookies, and only for another host), and would turn the POST into a GET
// on a 301, 302 or 303. The client gets the upstream's refusal instead.
func TestServe_UpstreamRedirectNotFollowed(t *testing.T) {
	var elsewhere sync.Mutex
	var seen []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		elsewhere.Unlock()
		http.Error(w, "not here", http.StatusTeapot)
	}))
	defer other.Close()
	for _, code := range []int{http.StatusFound, http.StatusTemporaryRedirect} {
		up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+r.URL.Path, code)
		}))
		t.Cleanup(up.Close)
		dir := t.TempDir()
		addr, _, stop := startServe(t, []string{"--config", writeConfig(t, dir, up.URL+"/v1")}, map[string]string{"FAKE_KEY": "sk-operator-1"})
		client := openai.NewClient(option.WithBaseURL("http://"+addr+"/v1/"), option.WithAPIKey("x"), option.WithMaxRetries(0))
		_, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
			Model: "gpt-test", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
		if apiErr, ok := errors.AsType[*openai.Error](err); !ok || apiErr.StatusCode != http.StatusBadGateway {
			t.Errorf("%d from the upstream: the client got %v, want a 502", code, err)
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	}
	elsewhere.Lock()
	defer elsewhere.Unlock()
	if len(seen) > 0 {
		t.Errorf("the gateway followed the upstream's redirects: %q", seen)
	}
}

// TestServe_UpstreamQuotingTheKey: an upstream that refuses the operator's
// key and quotes it in its error (OpenAI does, masked but for its ends;
// some compatible servers quote it whole) must not pass it on to the
// client, the logs, the spool or the store.
func TestServe_UpstreamQuotingTheKey(t *testing.T) {
	const opKey = "operator-secret-Zq81"
	for _, status := range []int{http.StatusUnauthorized, http.StatusBadRequest} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				io.WriteString(w, `{"error":{"message":"Incorrect API key provided: `+key+`.","type":"invalid_request_error","code":"invalid_api_key"}}`)
			}))
			defer up.Close()
			dir := t.TempDir()
			addr, logs, stop := startServe(t, []string{"--config", writeConfig(t, dir, up.URL)}, map[string]string{"FAKE_KEY": opKey})
			resp, err := http.Post("http://"+addr+"/v1/chat/completions", "application/json",
				strings.NewReader(`{"model":"gpt-test","messages":[{"role":"user","content":"hi"}]}`))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			spooled := readTree(t, filepath.Join(dir, "spool"))
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			for what, b := range map[string][]byte{"the answer": body, "the logs": []byte(logs.String()), "the spool": spooled,
				"the store": readTree(t, dir)} {
				if bytes.Contains(b, []byte(opKey)) {
					t.Errorf("the operator's key is in %s", what)
				}
			}
			if resp.StatusCode != http.StatusBadGateway && resp.StatusCode != status {
				t.Errorf("status %d: %s", resp.StatusCode, body)
			}
		})
	}
}

// TestProviders_Timeout: a provider's timeout bounds a whole completion,
// not only its headers, and a stream's first byte, where the router can
// still try another target: an upstream that stalls after its headers is a
// timeout (504), not a wait for as long as the client stays.
func TestProviders_Timeout(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		if !strings.Contains(r.Header.Get("Accept"), "event-stream") {
			w.Write([]byte(`{"id":"x","choices":[`))
		}
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	}))
	defer up.Close()
	provs, _ := buildProviders([]Provider{{Name: "p", Kind: "openai", BaseURL: up.URL, Timeout: 300 * time.Millisecond}})
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second) // a client that waits long
	defer cancel()
	for _, stream := range []bool{false, true} {
		req := &lyumen.Request{Surface: lyumen.SurfaceOpenAIChat, Model: "m", Stream: stream,
			Body: []byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`)}
		start := time.Now()
		var err error
		if stream {
			var st lyumen.Stream
			if st, err = provs["p"].ChatStream(ctx, req); st != nil {
				st.Close()
			}
		} else {
			_, err = provs["p"].Chat(ctx, req)
		}
		if lyumen.KindOf(err) != lyumen.KindTimeout || time.Since(start) > 2*time.Second {
			t.Errorf("stream %v: %v after %v; want a timeout at 300ms", stream, err, time.Since(start))
		}
	}

	// A stream that began and then goes silent: the timeout bounds the
	// silence, and the stream fails (the client's error event, the record's
	// "upstream failed") instead of holding the client.
	later := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Write([]byte("data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"}}]}\n\n"))
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	}))
	defer later.Close()
	provs, _ = buildProviders([]Provider{{Name: "p", Kind: "openai", BaseURL: later.URL, Timeout: 300 * time.Millisecond}})
	req := &lyumen.Request{Surface: lyumen.SurfaceOpenAIChat, Model: "m", Stream: true,
		Body: []byte(`{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}`)}
	st, err := provs["p"].ChatStream(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Next(); err != nil {
		t.Fatalf("first event: %v", err)
	}
	start := time.Now()
	if _, err := st.Next(); lyumen.KindOf(err) != lyumen.KindTimeout || time.Since(start) > 2*time.Second {
		t.Errorf("a stream silent after its first event: %v after %v; want a timeout at 300ms", err, time.Since(start))
	}
}

// TestOpenStore_NoPasswordInErrors: a store string that is not a URL
// (libpq's keyword form) is never echoed in the error, scheme included.
func TestOpenStore_NoPasswordInErrors(t *testing.T) {
	for _, raw := range []string{"host=db user=u password=s3cret", "host=db user=u password=s3cret://x", "postgres:u:s3cret@db"} {
		if _, err := openStore(t.Context(), raw, false); err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("openStore(%q): %v", raw, err)
		}
	}
}

// TestRedactURL: a store URL is logged without its password, in the
// user info or in a parameter.
func TestRedactURL(t *testing.T) {
	for raw, want := range map[string]string{
		"sqlite://lyumen.db":                                          "sqlite://lyumen.db",
		"postgres://lyumen:s3cret@db:5432/lyumen":                     "postgres://lyumen:xxxxx@db:5432/lyumen",
		"postgres://lyumen@db/lyumen?password=s3cret&sslmode=require": "postgres://lyumen@db/lyumen?password=xxxxx&sslmode=require",
		"postgres://db/lyumen?sslpassword=s3cret":                     "postgres://db/lyumen?sslpassword=xxxxx",
		"postgres://u:s3cret%zz@db":                                   "(unparsable)",
		"postgres://postgres:s3cr%t@x/y#z@127.0.0.1:5432/test":        "postgres://xxxxx@127.0.0.1:5432/test",
		"postgres://u:s3cret/x@db/lyumen":                             "postgres://xxxxx@db/lyumen",
		"host=db user=u password=s3cret":                              "(not a URL)",
		"postgres:u:s3cret@db":                                        "(not a URL)",
		"host=db user=u password=s3cret://x":                          "(unparsable)",
	} {
		if got := redactURL(raw); got != want || strings.Contains(got, "s3cret") {
			t.Errorf("redactURL(%q) = %q, want %q", raw, got, want)
		}
	}
}

// TestBuildProviders_Completions: an OpenAI-compatible provider answers
// /v1/completions through its chat API unless its configuration says
// native, and then at its own /completions as the client wrote them.
func TestBuildProviders_Completions(t *testing.T) {
	for _, tc := range []struct{ completions, wantPath string }{
		{"", "/v1/chat/completions"},
		{"translate", "/v1/chat/completions"},
		{"native", "/v1/completions"},
	} {
		t.Run(tc.completions, func(t *testing.T) {
			up := providertest.NewOpenAI(t)
			provs, _ := buildProviders([]Provider{{Name: "p", Kind: "openai", BaseURL: up.BaseURL(), Completions: tc.completions}})
			req, err := oai.DecodeCompletions([]byte(`{"model":"m","prompt":"once"}`))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := provs["p"].Chat(t.Context(), req); err != nil {
				t.Fatal(err)
			}
			if seen := up.Seen(); len(seen) != 1 || seen[0].Path != tc.wantPath {
				t.Errorf("the upstream was asked %+v, want one request at %s", seen, tc.wantPath)
			}
		})
	}
}
