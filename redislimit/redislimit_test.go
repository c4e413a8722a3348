package redislimit_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lyumen/lyumen/limittest"
	"github.com/lyumen/lyumen/redislimit"
)

// redisURL returns the test Redis, or skips.
func redisURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("LYUMEN_TEST_REDIS")
	if u == "" {
		t.Skip("LYUMEN_TEST_REDIS not set (e.g. redis://127.0.0.1:6379/0)")
	}
	return u
}

// prefix returns a key prefix of its own for one test, whose keys are
// deleted when it ends.
func prefix(t *testing.T) string {
	t.Helper()
	p := "lyumen-test:" + strings.ToLower(rand.Text()[:10]) + ":"
	rdb := rawClient(t)
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := rdb.Keys(ctx, p+"*").Result()
		if len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
	})
	return p
}

func rawClient(t *testing.T) *redis.Client {
	t.Helper()
	o, err := redis.ParseURL(redisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(o)
	t.Cleanup(func() { c.Close() })
	return c
}

func open(t *testing.T, o redislimit.Options) *redislimit.Limiter {
	t.Helper()
	l, err := redislimit.Open(t.Context(), redisURL(t), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestLimiter(t *testing.T) {
	redisURL(t)
	limittest.Run(t, func(t *testing.T, l limittest.Limits, now func() time.Time) limittest.Limiter {
		return open(t, redislimit.Options{
			RequestsPerMinute: l.RequestsPerMinute, TokensPerMinute: l.TokensPerMinute, DailyTokens: l.DailyTokens,
			Secret: []byte("test secret"), Prefix: prefix(t), Now: now,
		})
	})
}

// TestLimiter_SharedBetweenInstances: two limiters with the same secret,
// as two gateway processes would have, spend from one budget.
func TestLimiter_SharedBetweenInstances(t *testing.T) {
	o := redislimit.Options{RequestsPerMinute: 40, TokensPerMinute: 1 << 30, DailyTokens: map[string]int64{"m": 1000},
		Secret: []byte("shared"), Prefix: prefix(t)}
	a, b := open(t, o), open(t, o)
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for i := range 100 {
		l := a
		if i%2 == 1 {
			l = b
		}
		wg.Go(func() {
			if _, err := l.Admit(t.Context(), "198.51.100.7", "m", 1); err == nil {
				admitted.Add(1)
			}
		})
	}
	wg.Wait()
	// 40 at once, plus what refills while the 100 requests run (40 a
	// minute: under one in the few milliseconds they take).
	if n := admitted.Load(); n < 40 || n > 41 {
		t.Errorf("%d of 100 requests admitted through two instances, want 40 (41 at most)", n)
	}
	// The budget is shared too: 40 used of 1000.
	if _, err := b.Admit(t.Context(), "192.0.2.1", "m", 961); err == nil {
		t.Error("the model's budget was not shared: 961 more tokens admitted after 40 of 1000")
	}
	if _, err := a.Admit(t.Context(), "192.0.2.1", "m", 960); err != nil {
		t.Errorf("960 more tokens after 40 of 1000: %v", err)
	}
}

// TestLimiter_AddressNeverInRedis scans every key and value in the Redis
// database after clients of both families were limited: no address, in any
// of its spellings, is there, and every key expires.
func TestLimiter_AddressNeverInRedis(t *testing.T) {
	p := prefix(t)
	l := open(t, redislimit.Options{RequestsPerMinute: 60, TokensPerMinute: 10000, DailyTokens: map[string]int64{"m": 1 << 30},
		Secret: []byte("scan secret"), Prefix: p})
	addrs := []string{"203.0.113.77", "2001:db8:77:1::/64", "198.51.100.254"}
	for _, a := range addrs {
		for range 3 {
			if _, err := l.Admit(t.Context(), a, "m", 100); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Settle(t.Context(), a, "m", time.Now(), 250); err != nil {
			t.Fatal(err)
		}
	}
	rdb := rawClient(t)
	ctx := t.Context()
	var dump strings.Builder
	ours := 0
	iter := rdb.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		dump.WriteString(key + "\n")
		typ, err := rdb.Type(ctx, key).Result()
		if err != nil {
			continue // expired meanwhile
		}
		switch typ {
		case "string":
			v, _ := rdb.Get(ctx, key).Result()
			dump.WriteString(v + "\n")
		case "hash":
			for f, v := range rdb.HGetAll(ctx, key).Val() {
				dump.WriteString(f + "=" + v + "\n")
			}
		}
		if strings.HasPrefix(key, p) {
			ours++
			ttl, err := rdb.PTTL(ctx, key).Result()
			if err != nil || ttl <= 0 || ttl > 48*time.Hour {
				t.Errorf("key %s has TTL %v: every key must expire", key, ttl)
			}
			if strings.Contains(key, ":rl:") && ttl > 3*time.Minute {
				t.Errorf("client key %s lives %v: it should go once the buckets are full", key, ttl)
			}
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	if ours != len(addrs)+1 { // one key per client, one budget
		t.Fatalf("%d keys under the test prefix, want %d: the scan proves nothing", ours, len(addrs)+1)
	}
	for _, a := range addrs {
		for _, spelling := range []string{a, strings.TrimSuffix(a, "/64"), "2001:db8:77:1", hex.EncodeToString([]byte(a)), "203.0.113", "cb007187" /* 203.0.113.135 hex */} {
			if strings.Contains(dump.String(), spelling) {
				t.Errorf("Redis holds %q", spelling)
			}
		}
	}
}

// TestLimiter_EveryKeyExpires: however a key was last written (by Admit,
// by a Settle that made it, by a refund that zeroed a budget), it expires:
// a client's once its buckets are full again, a budget's within two days.
func TestLimiter_EveryKeyExpires(t *testing.T) {
	for _, tc := range []struct {
		name      string
		run       func(t *testing.T, l *redislimit.Limiter, clock *limittest.Clock)
		clientTTL time.Duration // the most a client key may live
	}{
		{"admitted only", func(t *testing.T, l *redislimit.Limiter, _ *limittest.Clock) {
			if _, err := l.Admit(t.Context(), "192.0.2.1", "m", 100); err != nil {
				t.Fatal(err)
			}
		}, 3 * time.Second}, // a request of 60 a minute: full again in 1 s
		{"a debt settled after midnight, in a new key", func(t *testing.T, l *redislimit.Limiter, clock *limittest.Clock) {
			clock.Advance(12*time.Hour - time.Second)
			admitted := clock.Now()
			if _, err := l.Admit(t.Context(), "192.0.2.1", "m", 100); err != nil {
				t.Fatal(err)
			}
			clock.Advance(2 * time.Second)
			if err := l.Settle(t.Context(), "192.0.2.1", "m", admitted, 500); err != nil {
				t.Fatal(err)
			}
		}, 5 * time.Second}, // 500 of 10000 tokens a minute: 3 s
		{"a refund past zero", func(t *testing.T, l *redislimit.Limiter, _ *limittest.Clock) {
			if _, err := l.Admit(t.Context(), "192.0.2.1", "m", 100); err != nil {
				t.Fatal(err)
			}
			if err := l.Settle(t.Context(), "192.0.2.1", "m", limittest.Start, -5000); err != nil {
				t.Fatal(err)
			}
		}, 3 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := prefix(t)
			clock := limittest.NewClock()
			l := open(t, redislimit.Options{RequestsPerMinute: 60, TokensPerMinute: 10000, DailyTokens: map[string]int64{"m": 1 << 30},
				Secret: []byte("expiry secret"), Prefix: p, Now: clock.Now})
			tc.run(t, l, clock)
			rdb := rawClient(t)
			keys, err := rdb.Keys(t.Context(), p+"*").Result()
			if err != nil || len(keys) == 0 {
				t.Fatalf("keys under the test prefix: %v, %v", keys, err)
			}
			for _, k := range keys {
				ttl, err := rdb.PTTL(t.Context(), k).Result()
				most := tc.clientTTL
				if strings.Contains(k, ":budget:") {
					most = 48 * time.Hour
				}
				if err != nil || ttl <= 0 || ttl > most {
					t.Errorf("key %s has TTL %v (%v), want one of at most %v", k, ttl, err, most)
				}
			}
		})
	}
}

// TestLimiter_KeysRotateDaily: the key naming a client changes at 00:00
// UTC, and instances with the same secret agree on it.
func TestLimiter_KeysRotateDaily(t *testing.T) {
	p := prefix(t)
	clock := limittest.NewClock()
	o := redislimit.Options{RequestsPerMinute: 1, Secret: []byte("rotate"), Prefix: p, Now: clock.Now}
	a, b := open(t, o), open(t, o)
	if _, err := a.Admit(t.Context(), "192.0.2.9", "m", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Admit(t.Context(), "192.0.2.9", "m", 0); err == nil {
		t.Fatal("a second instance with the same secret did not find the client")
	}
	rdb := rawClient(t)
	before, _ := rdb.Keys(t.Context(), p+"rl:*").Result()
	clock.Advance(12*time.Hour - 30*time.Second) // 23:59:30 UTC
	if _, err := a.Admit(t.Context(), "192.0.2.9", "m", 0); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute) // 00:00:30: a new salt, a new key
	if _, err := a.Admit(t.Context(), "192.0.2.9", "m", 0); err != nil {
		t.Fatal(err)
	}
	after, _ := rdb.Keys(t.Context(), p+"rl:*").Result()
	if len(before) != 1 || len(after) != 2 {
		t.Errorf("client keys: %v on the first day, %v after midnight; want one, then two", before, after)
	}

	other := open(t, redislimit.Options{RequestsPerMinute: 1, Secret: []byte("another secret"), Prefix: p, Now: clock.Now})
	if _, err := other.Admit(t.Context(), "192.0.2.9", "m", 0); err != nil {
		t.Errorf("an instance with another secret shares keys with the first: %v", err)
	}
}

func TestOpen_Errors(t *testing.T) {
	for _, tc := range []struct {
		name, url string
		secret    []byte
	}{
		{"no secret", "redis://127.0.0.1:6379/0", nil},
		{"not a redis url", "http://127.0.0.1:6379", []byte("s")},
		{"nothing listening", "redis://127.0.0.1:1/0", []byte("s")},
		{"a password url.Parse refuses", "redis://:s3cret%pw@127.0.0.1:6379/0", []byte("s")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			l, err := redislimit.Open(t.Context(), tc.url, redislimit.Options{Secret: tc.secret})
			if err == nil {
				l.Close()
				t.Fatal("Open succeeded")
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Open took %v to fail", d)
			}
			if strings.Contains(err.Error(), "s3cret") { // it is logged at start
				t.Errorf("the error quotes the password: %v", err)
			}
		})
	}
}

func BenchmarkLimiter_Admit(b *testing.B) {
	u := os.Getenv("LYUMEN_TEST_REDIS")
	if u == "" {
		b.Skip("LYUMEN_TEST_REDIS not set")
	}
	l, err := redislimit.Open(b.Context(), u, redislimit.Options{RequestsPerMinute: 1 << 40, TokensPerMinute: 1 << 40,
		Secret: []byte("bench"), Prefix: "lyumen-bench:"})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Admit(b.Context(), "203.0.113.9", "m", 100); err != nil {
			b.Fatal(err)
		}
	}
}

// TestUnreachable tells a Redis that cannot be reached from one that
// answers with a refusal.
func TestUnreachable(t *testing.T) {
	noDB, err := url.Parse(redisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	noDB.Path = "/999999" // a database that does not exist
	for _, tc := range []struct {
		url  string
		want bool
	}{
		{"redis://127.0.0.1:1/0", true},
		{noDB.String(), false},
	} {
		l, err := redislimit.New(tc.url, redislimit.Options{Secret: []byte("a secret")})
		if err != nil {
			t.Fatal(err)
		}
		err = l.Ping(t.Context())
		l.Close()
		if err == nil {
			t.Fatalf("Ping(%s) succeeded", tc.url)
		}
		if got := redislimit.Unreachable(err); got != tc.want {
			t.Errorf("Unreachable(%v) = %v, want %v", err, got, tc.want)
		}
	}
}

// replyError is an error reply as go-redis hands it over.
type replyError string

func (e replyError) Error() string { return string(e) }
func (replyError) RedisError()     {}

// TestUnreachable_Passing: a Redis loading its data after a restart, or
// busy with a script, answers, but only for now; a refusal is for good.
func TestUnreachable_Passing(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("ping redis: %w", replyError("LOADING Redis is loading the dataset in memory")), true},
		{fmt.Errorf("ping redis: %w", replyError("BUSY Redis is busy running a script")), true},
		{fmt.Errorf("ping redis: %w", replyError("WRONGPASS invalid username-password pair")), false},
		{fmt.Errorf("ping redis: %w", replyError("ERR DB index is out of range")), false},
		// A host name that does not resolve (a DNS server away, a name
		// not published yet) is a Redis that cannot be reached.
		{fmt.Errorf("ping redis: %w", &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "redis.internal", IsNotFound: true}}), true},
		{fmt.Errorf("ping redis: %w", &net.DNSError{Err: "server misbehaving", Name: "redis.internal", IsTemporary: true}), true},
	} {
		if got := redislimit.Unreachable(tc.err); got != tc.want {
			t.Errorf("Unreachable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
