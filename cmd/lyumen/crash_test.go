package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/providertest"
	"github.com/lyumen/lyumen/sqlite"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds cmd/lyumen once per test run: the crash test needs a real
// process to kill.
func binary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and kills the binary; skipped in -short")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "lyumen-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "lyumen")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// process is a running lyumen serve.
type process struct {
	cmd  *exec.Cmd
	addr string
	logs *syncBuffer
}

// interrupt sends SIGINT, which a gateway takes as SIGTERM: finish, drain, exit.
func (p *process) interrupt(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
}

// storeIn opens the SQLite store a test's gateway wrote in dir.
func storeIn(t *testing.T, dir string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(dir, "lyumen.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func startProcess(t *testing.T, config string) *process {
	t.Helper()
	p := &process{addr: freeAddr(t), logs: &syncBuffer{}}
	p.cmd = exec.Command(binary(t), "serve", "--config", config, "--listen", p.addr)
	p.cmd.Env = append(os.Environ(), "FAKE_KEY=sk-operator-process") // the config's ${FAKE_KEY}
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + p.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("lyumen did not come up: %v\n%s", err, p.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// exchange sends one chat request and reports the record id and whether
// the client received the answer in full (for a stream, up to [DONE]).
func exchange(ctx context.Context, addr, prompt string, stream bool) (id string, whole bool) {
	id, whole, _ = exchangeSeen(ctx, addr, prompt, stream)
	return id, whole
}

// exchangeSeen is exchange that also reports whether the client received
// any of the answer.
func exchangeSeen(ctx context.Context, addr, prompt string, stream bool) (id string, whole, seen bool) {
	body := fmt.Sprintf(`{"model":"gpt-test","stream":%t,"messages":[{"role":"user","content":%q}]}`, stream, prompt)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", false, false
	}
	defer resp.Body.Close()
	id = resp.Header.Get("X-Request-Id")
	if resp.StatusCode != http.StatusOK {
		return id, false, false
	}
	sc := bufio.NewScanner(resp.Body)
	sawEcho, done := false, false
	for sc.Scan() {
		line := sc.Text()
		sawEcho = sawEcho || strings.Contains(line, "Echo")
		done = done || line == "data: [DONE]"
	}
	if sc.Err() != nil {
		return id, false, sawEcho
	}
	if stream {
		return id, done, sawEcho
	}
	return id, sawEcho, sawEcho
}

// TestCrash_KilledMidStream: the built binary serves concurrent streams and
// is killed with SIGKILL; after a restart, every response a client received
// in full has its record in the store, once, and so has every stream the
// kill cut after its client had some of the answer: with what it was sent.
func TestCrash_KilledMidStream(t *testing.T) {
	up := providertest.NewOpenAI(t)
	up.Set(providertest.Behaviour{ChunkGap: 3 * time.Millisecond})
	dir := t.TempDir()
	config := writeConfig(t, dir, up.BaseURL())
	p := startProcess(t, config)

	var (
		mu        sync.Mutex
		completed = map[string]string{} // record id → prompt
		begun     = map[string]string{} // streams cut after some of the answer
		sent      atomic.Int64
		stop      atomic.Bool
		wg        sync.WaitGroup
	)
	for w := range 16 {
		wg.Go(func() {
			for n := 0; !stop.Load() && n < 10000; n++ {
				prompt := fmt.Sprintf("crash w%d n%d", w, n)
				sent.Add(1)
				id, whole, seen := exchangeSeen(t.Context(), p.addr, prompt, n%4 != 0)
				mu.Lock()
				if whole {
					completed[id] = prompt
				} else if seen {
					begun[id] = prompt
				}
				mu.Unlock()
			}
		})
	}
	time.Sleep(1500 * time.Millisecond)
	if err := p.cmd.Process.Kill(); err != nil { // SIGKILL: no shutdown, no flush
		t.Fatal(err)
	}
	p.cmd.Wait()
	stop.Store(true)
	wg.Wait()
	if len(completed) < 50 {
		t.Fatalf("only %d exchanges completed before the kill: the test proves little", len(completed))
	}

	// Restart on the same spool and store; SIGTERM makes it drain the
	// spool into the store before it exits.
	p2 := startProcess(t, config)
	p2.interrupt(t)
	if err := p2.cmd.Wait(); err != nil {
		t.Fatalf("restarted gateway: %v\n%s", err, p2.logs)
	}

	db := storeIn(t, dir)
	missing := 0
	for id, prompt := range completed {
		rec, err := db.Record(t.Context(), id)
		if err != nil {
			missing++
			continue
		}
		if !strings.Contains(string(rec.Request), prompt+`"`) || !strings.Contains(rec.Response.Choices[0].Message.Content, prompt) {
			t.Errorf("record %s does not hold %q and its answer", id, prompt)
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d exchanges the clients received in full have no record", missing, len(completed))
	}
	if len(begun) == 0 {
		t.Fatal("no stream was cut after its client had some of the answer: the test proves little")
	}
	for id, prompt := range begun {
		rec, err := db.Record(t.Context(), id)
		if err != nil {
			t.Errorf("stream %s, cut by the kill after its client had some of the answer: no record: %v", id, err)
			continue
		}
		answer := ""
		if rec.Response != nil && len(rec.Response.Choices) > 0 {
			answer = rec.Response.Choices[0].Message.Content
		}
		if !strings.Contains(string(rec.Request), prompt+`"`) || answer == "" || !strings.HasPrefix(providertest.EchoText(prompt), answer) {
			t.Errorf("cut stream %s (%s): answer %q for %q: want the start of its answer", id, rec.Completeness, answer, prompt)
		}
	}
	count, err := db.Count(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if count < int64(len(completed)+len(begun)) || count > sent.Load() {
		t.Errorf("%d records for %d requests sent and %d completed", count, sent.Load(), len(completed))
	}
	t.Logf("sent %d, completed %d, cut after the first byte %d, records %d", sent.Load(), len(completed), len(begun), count)
}

// TestShutdown_FinishesInFlightStreams: SIGTERM stops accepting, lets the
// streams under way finish, flushes the spool into the store and exits 0.
func TestShutdown_FinishesInFlightStreams(t *testing.T) {
	up := providertest.NewOpenAI(t)
	up.Set(providertest.Behaviour{ChunkGap: 40 * time.Millisecond})
	dir := t.TempDir()
	p := startProcess(t, writeConfig(t, dir, up.BaseURL()))

	type result struct {
		id    string
		whole bool
	}
	results := make(chan result, 8)
	for i := range 8 {
		go func() {
			id, whole := exchange(t.Context(), p.addr, fmt.Sprintf("one two three four five six seven %d", i), true)
			results <- result{id, whole}
		}()
	}
	time.Sleep(150 * time.Millisecond) // the streams are under way
	p.interrupt(t)
	var ids []string
	for range 8 {
		r := <-results
		if !r.whole {
			t.Error("a stream under way at SIGTERM was cut")
		}
		ids = append(ids, r.id)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, p.logs)
	}
	if _, err := http.Get("http://" + p.addr + "/healthz"); err == nil {
		t.Error("still accepting after shutdown")
	}
	db := storeIn(t, dir)
	for _, id := range ids {
		if _, err := db.Record(t.Context(), id); err != nil {
			t.Errorf("record %s after shutdown: %v", id, err)
		}
	}
}

// TestShutdown_WaitsForCutHandlers checks that shutdown returns only once
// the handlers it cut at the deadline have returned: a cut handler still
// records what its client got, after its request's context ends, and the
// spool is closed as soon as shutdown returns.
func TestShutdown_WaitsForCutHandlers(t *testing.T) {
	started := make(chan struct{})
	var recorded atomic.Bool
	running := new(handlers)
	srv := httptest.NewUnstartedServer(running.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("data: one\n\n"))
		w.(http.Flusher).Flush()
		close(started)
		<-r.Context().Done()               // cut
		time.Sleep(200 * time.Millisecond) // recording the partial answer
		recorded.Store(true)
	})))
	srv.Start()
	defer srv.Close()
	go func() {
		resp, err := http.Get(srv.URL)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	<-started
	var logs bytes.Buffer
	shutdown(srv.Config, running, 50*time.Millisecond, slog.New(slog.NewTextHandler(&logs, nil)))
	if !recorded.Load() {
		t.Error("shutdown returned before the handler it cut had returned")
	}
	if !strings.Contains(logs.String(), "cut at the shutdown deadline") {
		t.Errorf("no warning of the cut; logs:\n%s", logs.String())
	}
}

// TestShutdown_CutStreamsAreRecorded: streams that outlast the shutdown
// deadline are cut, and each is recorded with what its client received
// before the process exits.
func TestShutdown_CutStreamsAreRecorded(t *testing.T) {
	up := providertest.NewOpenAI(t)
	up.Set(providertest.Behaviour{ChunkGap: 200 * time.Millisecond})
	dir := t.TempDir()
	config := writeConfig(t, dir, up.BaseURL())
	f, err := os.OpenFile(config, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("shutdown_timeout: 300ms\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	p := startProcess(t, config)

	const streams = 8
	ids := make(chan string, streams)
	for i := range streams {
		go func() {
			id, _ := exchange(t.Context(), p.addr, fmt.Sprintf("one two three four five six seven eight nine ten %d", i), true)
			ids <- id
		}()
	}
	time.Sleep(500 * time.Millisecond) // the streams are under way, and will be for seconds
	p.interrupt(t)
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, p.logs)
	}
	db := storeIn(t, dir)
	for range streams {
		id := <-ids
		if id == "" {
			t.Fatal("a stream got no response")
		}
		rec, err := db.Record(t.Context(), id)
		if err != nil {
			t.Errorf("record of a stream cut at shutdown: %v\n%s", err, p.logs)
			continue
		}
		if rec.Completeness != lyumen.ClientDisconnected || rec.Response == nil {
			t.Errorf("record %s: completeness %q, response %v; want the partial answer, cut", id, rec.Completeness, rec.Response)
		}
	}
}
