package httpapi

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

// TestClientAddr_WorkerBehindOwnProxy: Cloudflare in front of the
// operator's own proxy (nginx on loopback, appending $remote_addr, the
// Cloudflare edge, to X-Forwarded-For), the topology the README tells how
// to set up. A request a Cloudflare Worker sends carries the
// X-Forwarded-For the Worker wrote (with, if Cloudflare appends one, the
// Worker's own egress address, 2a06:98c0:3600::103, which is inside the
// trusted 2a06:98c0::/29 and so skipped as a "proxy"); CF-Connecting-IP is
// Cloudflare's and the same every time. The client was taken from the
// Worker's X-Forwarded-For: a fresh address, a fresh budget, per request.
// The walk now stops at Cloudflare's hop.
func TestClientAddr_WorkerBehindOwnProxy(t *testing.T) {
	var trusted []netip.Prefix // Cloudflare's ranges that matter here, and loopback
	for _, s := range []string{"172.64.0.0/13", "2a06:98c0::/29", "127.0.0.0/8"} {
		trusted = append(trusted, netip.MustParsePrefix(s))
	}
	for _, chain := range []string{
		"198.51.100.%d, 172.71.1.1",                      // Cloudflare passes the Worker's header as written
		"198.51.100.%d, 2a06:98c0:3600::103, 172.71.1.1", // or appends the Worker's egress address
		"198.51.100.%d, 2a06:98c0:3600::103",             // cloudflared on loopback: appends CF-Connecting-IP
	} {
		keys := map[string]bool{}
		for i := range 50 {
			r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
			r.RemoteAddr = "127.0.0.1:40000" // the operator's nginx
			r.Header.Set("CF-Connecting-IP", "2a06:98c0:3600::103")
			r.Header.Set("X-Forwarded-For", fmt.Sprintf(chain, i+1))
			keys[clientKey(clientAddr(r, trusted))] = true
		}
		if len(keys) != 1 {
			t.Errorf("X-Forwarded-For %q: 50 requests with the same CF-Connecting-IP were limited as %d clients", chain, len(keys))
		}
	}
	// The operator's own public load balancer, no Cloudflare: the walk goes
	// past it to the client, whatever CF-Connecting-IP the client sends.
	lb := []netip.Prefix{netip.MustParsePrefix("203.0.113.10/32"), netip.MustParsePrefix("127.0.0.0/8")}
	keys := map[string]bool{}
	for i := range 20 {
		r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
		r.RemoteAddr = "127.0.0.1:40000"
		r.Header.Set("CF-Connecting-IP", fmt.Sprintf("192.0.2.%d", i+1))
		r.Header.Set("X-Forwarded-For", "198.51.100.7, 203.0.113.10")
		keys[clientKey(clientAddr(r, lb))] = true
	}
	if len(keys) != 1 || !keys["198.51.100.7"] {
		t.Errorf("behind the operator's public load balancer: clients %v, want 198.51.100.7 alone", keys)
	}
}
