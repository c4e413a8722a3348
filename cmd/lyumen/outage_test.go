package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lyumen/lyumen/postgres"
	"github.com/lyumen/lyumen/providertest"
)

// severable is a TCP proxy whose path can be cut and restored, standing in
// for a network partition between the gateway and its database.
type severable struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  []net.Conn
}

func newSeverable(t *testing.T, target string) *severable {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &severable{ln: ln, target: target}
	go s.serve()
	t.Cleanup(func() { ln.Close(); s.cut() })
	return s
}

func (s *severable) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.down {
			s.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", s.target)
		if err != nil {
			s.mu.Unlock()
			c.Close()
			continue
		}
		s.conns = append(s.conns, c, up)
		s.mu.Unlock()
		go func() { io.Copy(up, c); up.Close() }()
		go func() { io.Copy(c, up); c.Close() }()
	}
}

// cut drops every connection and refuses new ones.
func (s *severable) cut() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = true
	for _, c := range s.conns {
		c.Close()
	}
	s.conns = nil
}

func (s *severable) restore() {
	s.mu.Lock()
	s.down = false
	s.mu.Unlock()
}

// pgSchema creates an empty schema on the test server and returns the
// server's host:port and a URL using the schema through addr.
func pgSchema(t *testing.T) (target string, through func(addr string) string) {
	t.Helper()
	base := os.Getenv("LYUMEN_TEST_POSTGRES")
	if base == "" {
		t.Skip("LYUMEN_TEST_POSTGRES not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	conn, err := pgx.Connect(t.Context(), base)
	if err != nil {
		t.Fatal(err)
	}
	schema := "lyumen_outage_" + strings.ToLower(rand.Text()[:10])
	if _, err := conn.Exec(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	conn.Close(t.Context())
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err == nil {
			c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			c.Close(context.Background())
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	q.Set("connect_timeout", "2")
	u.RawQuery = q.Encode()
	return u.Host, func(addr string) string {
		v := *u
		v.Host = addr
		return v.String()
	}
}

// TestOutage_PostgresPathCut: the path to PostgreSQL is cut while traffic
// flows; the gateway keeps serving into its spool, and once the path is
// back every record arrives exactly once.
func TestOutage_PostgresPathCut(t *testing.T) {
	target, through := pgSchema(t)
	proxy := newSeverable(t, target)
	storeURL := through(proxy.ln.Addr().String())
	up := providertest.NewOpenAI(t)
	dir := t.TempDir()
	config := writeConfig(t, dir, up.BaseURL())
	addr, logs, stop := startServe(t, []string{"--config", config, "--store", storeURL}, map[string]string{"FAKE_KEY": "k"})

	var ids []string
	send := func(phase string, n int) {
		t.Helper()
		for i := range n {
			id, whole := exchange(t.Context(), addr, fmt.Sprintf("%s %d", phase, i), i%2 == 0)
			if !whole {
				t.Fatalf("%s request %d failed: the gateway must keep serving\n%s", phase, i, logs)
			}
			ids = append(ids, id)
		}
	}
	send("before", 20)
	proxy.cut()
	send("during", 60)
	time.Sleep(300 * time.Millisecond) // let the shipper fail at least once
	proxy.restore()
	send("after", 20)
	if err := stop(); err != nil { // drains the spool into the store
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "spool shipping; retrying") {
		t.Fatalf("the shipper never failed: the cut was not exercised\n%s", logs)
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
	count, err := db.Count(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if count != int64(len(ids)) {
		t.Errorf("%d records in the store for %d exchanges: each must arrive exactly once", count, len(ids))
	}
}

// TestOutage_StartWhileStoreAndRedisAway: a gateway (re)started while
// PostgreSQL and Redis are away serves, with its records in the spool and
// its limits in memory, and ships every record once the database is back.
func TestOutage_StartWhileStoreAndRedisAway(t *testing.T) {
	target, through := pgSchema(t)
	proxy := newSeverable(t, target)
	proxy.cut()
	storeURL := through(proxy.ln.Addr().String())
	up := providertest.NewOpenAI(t)
	dir := t.TempDir()
	config := writeConfig(t, dir, up.BaseURL())
	addr, logs, stop := startServe(t, []string{"--config", config, "--store", storeURL}, map[string]string{
		"FAKE_KEY":            "k",
		"LYUMEN_REDIS_URL":    "redis://127.0.0.1:1/0", // nothing listens there
		"LYUMEN_REDIS_SECRET": "a secret of sixteen characters or more",
	})
	var ids []string
	for i := range 6 {
		id, whole := exchange(t.Context(), addr, fmt.Sprintf("away %d", i), i%2 == 0)
		if !whole {
			t.Fatalf("request %d failed: the gateway must serve while its store is away\n%s", i, logs)
		}
		ids = append(ids, id)
	}
	proxy.restore()
	db, err := postgres.Open(t.Context(), storeURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		n, err := db.Count(t.Context())
		if err == nil && n == int64(len(ids)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d records in the store 20 s after it came back (%v)\n%s", n, len(ids), err, logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"store unreachable; serving", "store reachable; shipping the spool", "redis unreachable"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log lacks %q\n%s", want, logs)
		}
	}
}
