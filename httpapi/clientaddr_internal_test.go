package httpapi

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// FuzzClientAddr holds clientAddr to its promises for any headers: an
// untrusted peer is the client whatever it sends; behind a trusted proxy
// the client is the peer or an address the headers name, and one found in
// X-Forwarded-For is never a trusted proxy.
func FuzzClientAddr(f *testing.F) {
	for _, s := range []struct{ peer, xff, cf string }{
		{"127.0.0.1:5000", "203.0.113.5", ""},
		{"127.0.0.1:5000", "198.51.100.1, 203.0.113.5, 127.0.0.3", "192.0.2.1"},
		{"10.1.2.3:80", "203.0.113.5", "203.0.113.6"},
		{"[::1]:443", "[2001:db8::1]:80, ::1", ""},
		{"[::ffff:127.0.0.1]:1", "::ffff:203.0.113.5", "fe80::1%eth0"},
		{"127.0.0.1:1", "not-an-ip, 127.0.0.2", "x"},
		{"127.0.0.1:1", ",,, ,", "2001:db8:1:2:3:4:5:6"},
		{"garbage", "203.0.113.5", "203.0.113.6"},
	} {
		f.Add(s.peer, s.xff, s.cf)
	}
	trusted := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	f.Fuzz(func(t *testing.T, peer, xff, cf string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = peer
		r.Header.Set("X-Forwarded-For", xff)
		r.Header.Set("CF-Connecting-IP", cf)
		got := clientAddr(r, trusted)
		ap, err := netip.ParseAddrPort(peer)
		if err != nil {
			if got.IsValid() {
				t.Fatalf("peer %q unparsable, yet client %v", peer, got)
			}
			return
		}
		p := ap.Addr().Unmap()
		if !isTrusted(p, trusted) {
			if got != p {
				t.Fatalf("untrusted peer %v, client %v", p, got)
			}
			return
		}
		if got == p {
			return
		}
		if got.Zone() != "" || got.Is4In6() {
			t.Fatalf("client %v keeps a zone or a v4-in-v6 form", got)
		}
		fromXFF := false
		for _, hop := range strings.Split(xff, ",") {
			if a, ok := parseHostAddr(hop); ok && a == got {
				fromXFF = true
			}
		}
		if c, ok := parseHostAddr(cf); !fromXFF && (!ok || c != got) {
			t.Fatalf("client %v is neither the peer nor named by the headers (xff %q, cf %q)", got, xff, cf)
		}
		if fromXFF && isTrusted(got, trusted) {
			if c, ok := parseHostAddr(cf); !ok || c != got {
				t.Fatalf("client %v from X-Forwarded-For %q is a trusted proxy", got, xff)
			}
		}
		if k := clientKey(got); k == "" {
			t.Fatalf("no key for client %v", got)
		}
	})
}

func TestClientKey(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"203.0.113.5", "203.0.113.5"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2::", "2001:db8:1:2::/64"},
		{"::1", "::/64"},
	} {
		if got := clientKey(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("clientKey(%s) = %q, want %q", tc.addr, got, tc.want)
		}
	}
	if got := clientKey(netip.Addr{}); got != "" {
		t.Errorf("clientKey of no address = %q", got)
	}
}

func TestFormatReset(t *testing.T) {
	for _, tc := range []struct {
		ms   int64
		want string
	}{{0, "0s"}, {20, "20ms"}, {999, "999ms"}, {1000, "1s"}, {1234, "1.23s"}, {60000, "1m0s"}, {360000, "6m0s"}} {
		if got := formatReset(msDuration(tc.ms)); got != tc.want {
			t.Errorf("formatReset(%d ms) = %q, want %q", tc.ms, got, tc.want)
		}
	}
}

func msDuration(ms int64) time.Duration { return time.Duration(ms) * time.Millisecond }

// TestClientAddr_Peers: which header names the client depends on who the
// trusted peer is. Cloudflare's edge (a public address) sets
// CF-Connecting-IP, while a Cloudflare Worker writes X-Forwarded-For as it
// likes; an operator's own proxy (loopback, private) appends what it saw
// to X-Forwarded-For and passes a client's CF-Connecting-IP on as sent.
func TestClientAddr_Peers(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("173.245.48.0/20")}
	for _, tc := range []struct {
		name, peer, xff, cf, want string
	}{
		{"Cloudflare's edge: CF-Connecting-IP", "173.245.48.9:443", "203.0.113.77", "198.51.100.1", "198.51.100.1"},
		{"Cloudflare's edge without it: X-Forwarded-For", "173.245.48.9:443", "203.0.113.77", "", "203.0.113.77"},
		{"a local proxy: X-Forwarded-For", "127.0.0.1:5000", "203.0.113.77", "198.51.100.1", "203.0.113.77"},
		{"a private-network proxy: X-Forwarded-For", "10.1.2.3:5000", "203.0.113.77", "198.51.100.1", "203.0.113.77"},
		{"a local proxy without X-Forwarded-For: CF-Connecting-IP", "127.0.0.1:5000", "", "198.51.100.1", "198.51.100.1"},
		{"an untrusted peer: itself", "192.0.2.50:5000", "203.0.113.77", "198.51.100.1", "192.0.2.50"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tc.peer
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			if tc.cf != "" {
				r.Header.Set("CF-Connecting-IP", tc.cf)
			}
			if got := clientAddr(r, trusted); got.String() != tc.want {
				t.Errorf("client %v, want %s", got, tc.want)
			}
		})
	}
}
