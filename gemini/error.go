package gemini

import (
	"net/http"
	"time"

	"github.com/tidwall/gjson"

	"github.com/lyumen/lyumen"
)

// upstreamError reads Google's error envelope
// {"error":{"code","message","status","details"}} (also sent wrapped in an
// array, as streamGenerateContent does without alt=sse) into a
// *lyumen.Error. Whatever else the body holds, the status text stands in.
func upstreamError(status int, body []byte) *lyumen.Error {
	e := &lyumen.Error{Kind: lyumen.KindUpstream, Status: status}
	msg := ""
	if gjson.ValidBytes(body) {
		env := gjson.ParseBytes(body)
		if env.IsArray() {
			env = env.Get("0")
		}
		detail := env.Get("error")
		switch {
		case detail.IsObject():
			msg = detail.Get("message").String()
			detail.Get("details").ForEach(func(_, d gjson.Result) bool {
				switch {
				case d.Get("reason").String() == "API_KEY_INVALID":
					// Google answers a bad key with 400 INVALID_ARGUMENT. It
					// is the operator's key, not the client's request: make
					// it the 401 it is, so the router tries another target
					// and the client is not told its request was wrong.
					e.Status = http.StatusUnauthorized
				case d.Get("retryDelay").Exists():
					// Google's RetryInfo ("17s", "0.5s"): the Retry-After
					// header, when one came too, wins.
					if wait, err := time.ParseDuration(d.Get("retryDelay").String()); err == nil && wait > 0 {
						e.RetryAfter = min(wait, lyumen.MaxRetryAfter)
					}
				}
				return true
			})
			if status == http.StatusBadRequest && detail.Get("status").String() == "FAILED_PRECONDITION" {
				// Google's 400 FAILED_PRECONDITION is about the operator's
				// account, not the request ("Gemini API free tier is not
				// available in your country", "User location is not
				// supported"): make it a 403, so the router tries another
				// key or target and the client is not told its request was
				// wrong.
				e.Status = http.StatusForbidden
			}
		case detail.Type == gjson.String:
			msg = detail.Str
		}
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	e.Message = "upstream: " + msg
	return e
}
