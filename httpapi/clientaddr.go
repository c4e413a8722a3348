package httpapi

import (
	"net/http"
	"net/netip"
	"strings"
)

// clientAddr returns the address the client's request came from, for rate
// limiting only: it is kept in memory while the client is limited and is
// never logged or stored.
//
// The TCP peer is the client unless it is a trusted proxy. A trusted peer
// on a public address is Cloudflare's edge (the default list): the
// CF-Connecting-IP it sets names the client, where X-Forwarded-For is what
// a Cloudflare Worker says it is, a fresh address per request if it likes.
// A trusted peer on a loopback or private address is the operator's own
// proxy, which appends the address it saw to X-Forwarded-For and passes
// CF-* headers on as they came (from a client, without Cloudflare in
// front): X-Forwarded-For is read from the right, skipping the proxies'
// own hops, and the first address that is not a trusted proxy is the
// client (entries further left came from the client and may be anything);
// without it, CF-Connecting-IP. When CF-Connecting-IP is there, the walk
// stops at a trusted hop of Cloudflare's: what is left of it came
// from Cloudflare's client (a Worker, which writes X-Forwarded-For as it
// likes), and Cloudflare names the client. Failing both, the peer is the
// client.
func clientAddr(r *http.Request, trusted []netip.Prefix) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	peer := ap.Addr().Unmap()
	if !isTrusted(peer, trusted) {
		return peer
	}
	cf, cfOK := parseHostAddr(r.Header.Get("CF-Connecting-IP"))
	if cfOK && !peer.IsLoopback() && !peer.IsPrivate() {
		return cf
	}
	if a, ok := forwardedFor(r.Header.Values("X-Forwarded-For"), trusted, cfOK); ok {
		return a
	}
	if cfOK {
		return cf
	}
	return peer
}

// CloudflareRanges are Cloudflare's published proxy ranges
// (https://www.cloudflare.com/ips/), trusted for CF-IPCountry by default
// (with loopback), and where an X-Forwarded-For walk through Cloudflare
// stops.
var CloudflareRanges = []string{
	"173.245.48.0/20", "103.21.244.0/22", "103.22.200.0/22", "103.31.4.0/22",
	"141.101.64.0/18", "108.162.192.0/18", "190.93.240.0/20", "188.114.96.0/20",
	"197.234.240.0/22", "198.41.128.0/17", "162.158.0.0/15", "104.16.0.0/13",
	"104.24.0.0/14", "172.64.0.0/13", "131.0.72.0/22",
	"2400:cb00::/32", "2606:4700::/32", "2803:f800::/32", "2405:b500::/32",
	"2405:8100::/32", "2a06:98c0::/29", "2c0f:f248::/32",
}

// cloudflare is CloudflareRanges, parsed.
var cloudflare = func() []netip.Prefix {
	out := make([]netip.Prefix, len(CloudflareRanges))
	for i, s := range CloudflareRanges {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}()

// forwardedFor walks X-Forwarded-For (every copy of the header, in order)
// from the right and returns the first hop that is not a trusted proxy.
// Through Cloudflare, it stops at Cloudflare's hop, reporting none.
func forwardedFor(values []string, trusted []netip.Prefix, viaCloudflare bool) (netip.Addr, bool) {
	for i := len(values) - 1; i >= 0; i-- {
		v := values[i]
		for v != "" {
			var hop string
			if j := strings.LastIndexByte(v, ','); j >= 0 {
				v, hop = v[:j], v[j+1:]
			} else {
				v, hop = "", v
			}
			hop = strings.TrimSpace(hop)
			if hop == "" {
				continue
			}
			a, ok := parseHostAddr(hop)
			if !ok {
				return netip.Addr{}, false // a trusted proxy would not write this: believe none of it
			}
			if !isTrusted(a, trusted) {
				return a, true
			}
			if viaCloudflare && isTrusted(a, cloudflare) {
				return netip.Addr{}, false
			}
		}
	}
	return netip.Addr{}, false
}

// parseHostAddr reads an address as proxies write it: 192.0.2.1,
// 2001:db8::1, [2001:db8::1], or any of those with a port.
func parseHostAddr(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 64 {
		return netip.Addr{}, false
	}
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientKey is what a client is limited by: its IPv4 address, or the /64
// its IPv6 address is in, since a single host is commonly given a whole
// /64 and could otherwise take a fresh budget for every request.
func clientKey(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
