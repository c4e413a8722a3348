package httpapi

import (
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
)

// TestReadBody_ClaimedLength: a Content-Length claimed but not sent costs
// nothing up front; memory follows the bytes that arrive. A client could
// otherwise hold the limit's worth of memory per connection with a few
// bytes of headers, before any rate limit sees it.
func TestReadBody_ClaimedLength(t *testing.T) {
	const limit = 16 << 20
	body := `{"model":"m","messages":[]}`
	r := httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(body))
	r.ContentLength = limit // claimed; the body is 27 bytes
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got, err := readBody(httptest.NewRecorder(), r, limit)
	runtime.ReadMemStats(&after)
	if err != nil || string(got) != body {
		t.Fatalf("readBody = %q, %v", got, err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("reading a 27-byte body that claimed %d bytes allocated %d bytes", limit, n)
	}
}

// TestContainers: objects and arrays are counted outside strings only,
// escaped quotes and backslashes included.
func TestContainers(t *testing.T) {
	for _, tc := range []struct {
		body string
		want int
	}{
		{`{}`, 1},
		{`{"a":[{},[]]}`, 4},
		{`{"a":"{[{["}`, 1},
		{`{"a":"\"{["}`, 1},
		{`{"a":"\\"}`, 1},
		{`{"a":"\\\\"}[`, 2},
		{`{"a":"\\\"{"}`, 1},
		{`{"a":"open`, 1},
		{`{"a":"\`, 1},
		{`[[[[[[`, 4}, // stops past the limit
	} {
		if got := containers([]byte(tc.body), 3); got != tc.want {
			t.Errorf("containers(%s) = %d, want %d", tc.body, got, tc.want)
		}
	}
}
