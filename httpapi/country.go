package httpapi

import (
	"net/http"
	"net/netip"
)

// country returns the client's country as Cloudflare reports it in
// CF-IPCountry, believed only when the TCP peer is a trusted proxy: anyone
// else could send any value. "XX" (unknown) and malformed values become "";
// "T1" (Tor) is kept.
func country(r *http.Request, trusted []netip.Prefix) string {
	cc := r.Header.Get("CF-IPCountry")
	if len(cc) != 2 || !fromTrusted(r, trusted) {
		return ""
	}
	b := [2]byte{upper(cc[0]), upper(cc[1])}
	if b == [2]byte{'T', '1'} {
		return "T1"
	}
	if b[0] < 'A' || b[0] > 'Z' || b[1] < 'A' || b[1] > 'Z' || b == [2]byte{'X', 'X'} {
		return ""
	}
	return string(b[:])
}

func upper(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

// fromTrusted says whether the TCP peer is inside a trusted prefix. The
// address is used here and dropped: it is never stored.
func fromTrusted(r *http.Request, trusted []netip.Prefix) bool {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	addr := ap.Addr().Unmap()
	for _, p := range trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
