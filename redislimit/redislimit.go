// Package redislimit keeps the gateway's per-client rate limits and
// per-model daily token budgets in Redis, so that every gateway instance
// behind a load balancer spends from one budget. The arithmetic is
// ratelimit's (token buckets refilled over a minute), done atomically by a
// Lua script.
//
// A client's address never reaches Redis: its buckets are stored under
// HMAC-SHA256(daily salt, address), truncated to 128 bits, where the daily
// salt is HMAC-SHA256(Secret, UTC date). The salt changes at 00:00 UTC, so
// keys of different days cannot be linked, and every key expires once its
// buckets are full again (at most a few minutes). Without the Secret, which
// stays in the gateways' configuration, the keys cannot be tested against
// guessed addresses.
//
// The script touches a client's key and a model's key together, so they
// must live on one Redis node: Redis Cluster is not supported.
package redislimit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/lyumen/lyumen"
)

// Window is the period the per-minute limits are expressed in.
const Window = lyumen.LimitWindow

const (
	windowMS = lyumen.LimitWindowMS
	// budgetTTL keeps a day's budget counter a day longer than it is used.
	budgetTTL = 48 * time.Hour
)

// Options are the limits and how keys are named. A zero limit is no limit.
type Options struct {
	RequestsPerMinute int64
	TokensPerMinute   int64
	// DailyTokens is each model's token budget per UTC day, shared by all
	// clients and all instances; a model not listed has none.
	DailyTokens map[string]int64
	// Secret keys the hash that names a client in Redis. Every instance
	// sharing the Redis must have the same one. Required.
	Secret []byte
	// Prefix starts every key; "lyumen:" when empty.
	Prefix string
	Now    func() time.Time
}

// Limiter enforces Options through Redis. It is safe for concurrent use.
type Limiter struct {
	rdb        *redis.Client
	rcap, tcap float64
	daily      map[string]int64
	secret     []byte
	prefix     string
	now        func() time.Time

	mu   sync.Mutex
	day  string // the date salt is for
	salt []byte
}

// Open connects to the Redis at url (redis://[:password@]host:port/db, or
// rediss:// for TLS) and checks that it answers.
func Open(ctx context.Context, url string, o Options) (*Limiter, error) {
	l, err := New(url, o)
	if err != nil {
		return nil, err
	}
	if err := l.Ping(ctx); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// New is Open without the check: connections are made as they are needed,
// so a gateway can start while Redis is away.
func New(url string, o Options) (*Limiter, error) {
	if len(o.Secret) == 0 {
		return nil, errors.New("redislimit: a secret is required to name clients")
	}
	ro, err := redis.ParseURL(url)
	if err != nil { // its text would quote the URL, password and all
		return nil, errors.New("redislimit: not a valid redis:// or rediss:// URL")
	}
	ro.DisableIdentity = true
	ro.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	if ro.DialTimeout == 0 || ro.DialTimeout > 2*time.Second {
		ro.DialTimeout = 2 * time.Second
	}
	if ro.ReadTimeout == 0 || ro.ReadTimeout > time.Second {
		ro.ReadTimeout, ro.WriteTimeout = time.Second, time.Second
	}
	// Every request waits for its decision: one retry at most, then the
	// caller decides what to do without Redis.
	if ro.MaxRetries == 0 || ro.MaxRetries > 1 { // 0 is go-redis's default of 3
		ro.MaxRetries = 1
	}
	l := &Limiter{
		rdb:  redis.NewClient(ro),
		rcap: float64(max(o.RequestsPerMinute, 0)), tcap: float64(max(o.TokensPerMinute, 0)),
		daily: o.DailyTokens, secret: o.Secret, prefix: o.Prefix, now: o.Now,
	}
	if l.prefix == "" {
		l.prefix = "lyumen:"
	}
	if l.now == nil {
		l.now = time.Now
	}
	return l, nil
}

// Ping checks that Redis answers.
func (l *Limiter) Ping(ctx context.Context) error {
	if err := l.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping redis: %w", err)
	}
	return nil
}

// Unreachable reports that err is a failure to reach Redis over the
// network (down, refusing, not resolving, timing out) or a state it will
// leave (loading its data, busy), not an answer from it (a wrong
// password, a database that does not exist).
func Unreachable(err error) bool {
	_, network := errors.AsType[*net.OpError](err)
	_, dns := errors.AsType[*net.DNSError](err)
	re, answered := errors.AsType[redis.Error](err)
	// Loading its data after a restart, or busy with a script: an answer,
	// but only for now.
	passing := answered && (strings.HasPrefix(re.Error(), "LOADING") || strings.HasPrefix(re.Error(), "BUSY"))
	return passing || (network || dns) && !answered
}

// Close closes the connections to Redis.
func (l *Limiter) Close() error { return l.rdb.Close() }

// admitScript checks and charges, all or nothing, one request and its
// estimated tokens to a client's buckets and a model's daily budget.
//
// KEYS[1]: the client's buckets, a hash {r, t, ts}; a missing key is a full
// bucket. KEYS[2]: the tokens the model used today.
// ARGV: now (ms), requests/min, tokens/min, estimated tokens, daily budget
// (0: none), the budget key's TTL (ms), the window (ms).
// Returns {0 admitted | 1 rate limited | 2 budget spent, requests level,
// tokens level}, the levels as strings at full precision.
var admitScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local rcap = tonumber(ARGV[2])
local tcap = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local budget = tonumber(ARGV[5])
local window = tonumber(ARGV[7])
local function f(x) return string.format('%.17g', x) end

if budget > 0 then
  local used = tonumber(redis.call('GET', KEYS[2]) or '0')
  if used + cost > budget then
    return {2, '0', '0'}
  end
end
local r, t = rcap, tcap
if rcap > 0 or tcap > 0 then
  local st = redis.call('HMGET', KEYS[1], 'r', 't', 'ts')
  local ts = tonumber(st[3])
  local at = now
  if ts then
    r = tonumber(st[1]) or rcap
    t = tonumber(st[2]) or tcap
    if now > ts then
      r = math.min(rcap, r + (now - ts) * rcap / window)
      t = math.min(tcap, t + (now - ts) * tcap / window)
    else
      at = ts
    end
  end
  if (rcap > 0 and r < 1) or (tcap > 0 and t < cost) then
    return {1, f(r), f(t)}
  end
  if rcap > 0 then r = r - 1 end
  if tcap > 0 then t = t - cost end
  local ttl = 0
  if rcap > 0 then ttl = math.max(ttl, (rcap - r) * window / rcap) end
  if tcap > 0 then ttl = math.max(ttl, (tcap - t) * window / tcap) end
  redis.call('HSET', KEYS[1], 'r', f(r), 't', f(t), 'ts', f(at))
  redis.call('PEXPIRE', KEYS[1], math.ceil(ttl) + 1000)
end
if budget > 0 then
  redis.call('INCRBY', KEYS[2], cost)
  redis.call('PEXPIRE', KEYS[2], ARGV[6])
end
return {0, f(r), f(t)}
`)

// settleScript charges delta more tokens (a refund when negative) to a
// client's token bucket and a model's daily budget. Same KEYS; ARGV: now
// (ms), requests/min, tokens/min, delta, daily budget, the budget key's
// TTL (ms), the window (ms).
var settleScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local rcap = tonumber(ARGV[2])
local tcap = tonumber(ARGV[3])
local delta = tonumber(ARGV[4])
local budget = tonumber(ARGV[5])
local window = tonumber(ARGV[7])
local function f(x) return string.format('%.17g', x) end

if tcap > 0 then
  local st = redis.call('HMGET', KEYS[1], 'r', 't', 'ts')
  local ts = tonumber(st[3])
  if ts or delta > 0 then
    local r, t, at = rcap, tcap, now
    if ts then
      r = tonumber(st[1]) or rcap
      t = tonumber(st[2]) or tcap
      if now > ts then
        r = math.min(rcap, r + (now - ts) * rcap / window)
        t = math.min(tcap, t + (now - ts) * tcap / window)
      else
        at = ts
      end
    end
    t = math.min(tcap, t - delta)
    local ttl = (tcap - t) * window / tcap
    if rcap > 0 then ttl = math.max(ttl, (rcap - r) * window / rcap) end
    redis.call('HSET', KEYS[1], 'r', f(r), 't', f(t), 'ts', f(at))
    redis.call('PEXPIRE', KEYS[1], math.ceil(ttl) + 1000)
  end
end
if budget > 0 then
  local used = redis.call('INCRBY', KEYS[2], delta)
  if used < 0 then redis.call('SET', KEYS[2], 0) end
  redis.call('PEXPIRE', KEYS[2], ARGV[6])
end
return 0
`)

// Admit charges one request and an estimate of its tokens to client and to
// model, atomically across instances. Refusals are those of
// ratelimit.Limiter.Admit. Any other error means Redis could not be asked.
func (l *Limiter) Admit(ctx context.Context, client, model string, tokens int64) (lyumen.Allowance, error) {
	tokens = max(tokens, 0)
	if l.tcap > 0 && float64(tokens) > l.tcap {
		return lyumen.Allowance{}, lyumen.TooManyTokens(tokens, int64(l.tcap))
	}
	budget := l.daily[model]
	if budget <= 0 && l.rcap == 0 && l.tcap == 0 {
		return lyumen.Allowance{}, nil
	}
	now := l.now()
	keys := []string{l.bucketKey(client, now), l.budgetKey(model, now)}
	res, err := admitScript.Run(ctx, l.rdb, keys, now.UnixMilli(), l.rcap, l.tcap, tokens, budget,
		budgetTTL.Milliseconds(), windowMS).Slice()
	if err != nil {
		return lyumen.Allowance{}, fmt.Errorf("redis admit: %w", err)
	}
	status, r, t, err := parse(res)
	if err != nil {
		return lyumen.Allowance{}, err
	}
	switch status {
	case 2:
		return lyumen.Allowance{RetryAfter: lyumen.UntilBudgetRenewal(now)}, lyumen.BudgetSpent(model)
	case 1:
		a := lyumen.Allowance{Requests: lyumen.BucketQuota(l.rcap, r), Tokens: lyumen.BucketQuota(l.tcap, t),
			RetryAfter: max(lyumen.BucketWait(l.rcap, r, 1), lyumen.BucketWait(l.tcap, t, float64(tokens)))}
		return a, lyumen.RateLimited(a)
	}
	return lyumen.Allowance{Requests: lyumen.BucketQuota(l.rcap, r), Tokens: lyumen.BucketQuota(l.tcap, t)}, nil
}

// Settle charges delta more tokens to client and model once the actual
// usage is known; a negative delta refunds an overestimate. The budget is
// that of the day of admitted; the client's bucket is the one it is asked
// for now (after midnight a new key, with a new day's salt), as the
// memory limiter's is.
func (l *Limiter) Settle(ctx context.Context, client, model string, admitted time.Time, delta int64) error {
	budget := l.daily[model]
	if delta == 0 || (budget <= 0 && l.tcap == 0) {
		return nil
	}
	now := l.now()
	keys := []string{l.bucketKey(client, now), l.budgetKey(model, admitted)}
	err := settleScript.Run(ctx, l.rdb, keys, now.UnixMilli(), l.rcap, l.tcap, delta, budget,
		budgetTTL.Milliseconds(), windowMS).Err()
	if err != nil {
		return fmt.Errorf("redis settle: %w", err)
	}
	return nil
}

// bucketKey names the client's buckets, under the salt of at's day.
func (l *Limiter) bucketKey(client string, at time.Time) string {
	mac := hmac.New(sha256.New, l.dailySalt(at.UTC().Format(time.DateOnly)))
	mac.Write([]byte(client))
	return l.prefix + "rl:" + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:16])
}

// budgetKey names the model's budget of at's day.
func (l *Limiter) budgetKey(model string, at time.Time) string {
	return l.prefix + "budget:" + at.UTC().Format(time.DateOnly) + ":" + model
}

// dailySalt is HMAC-SHA256(secret, date): the same on every instance,
// different every day.
func (l *Limiter) dailySalt(day string) []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.day != day {
		mac := hmac.New(sha256.New, l.secret)
		mac.Write([]byte("lyumen ratelimit salt " + day))
		l.day, l.salt = day, mac.Sum(nil)
	}
	return l.salt
}

func parse(res []any) (status int64, r, t float64, err error) {
	if len(res) != 3 {
		return 0, 0, 0, fmt.Errorf("redis admit: unexpected reply %v", res)
	}
	status, ok := res[0].(int64)
	rs, ok2 := res[1].(string)
	ts, ok3 := res[2].(string)
	if !ok || !ok2 || !ok3 {
		return 0, 0, 0, fmt.Errorf("redis admit: unexpected reply %v", res)
	}
	if r, err = strconv.ParseFloat(rs, 64); err == nil {
		t, err = strconv.ParseFloat(ts, 64)
	}
	if err != nil {
		return 0, 0, 0, fmt.Errorf("redis admit: unexpected reply %v: %w", res, err)
	}
	return status, r, t, nil
}
