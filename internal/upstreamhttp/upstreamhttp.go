// Package upstreamhttp sends the gateway's requests to upstream APIs: the
// HTTP the provider clients (openai, anthropic, gemini) have in common.
// What differs between them, the path, the credential's header and the
// error envelope, they pass in.
package upstreamhttp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/lyumen/lyumen"
)

// Bounds on what is read of an upstream's answer: a refusal, to make its
// error, and a whole (non-streamed) answer.
const (
	maxErrorBody = 64 << 10
	maxPresize   = 1 << 20 // of a whole answer's buffer, before its bytes arrive
)

// Header returns the headers for every request of a client: the
// operator's configured ones, then set as key, value pairs (the credential,
// an API version), which win over them.
func Header(configured map[string]string, set ...string) http.Header {
	h := make(http.Header, len(configured)+len(set)/2+2)
	for k, v := range configured {
		h.Set(k, v)
	}
	for i := 0; i+1 < len(set); i += 2 {
		if set[i+1] != "" {
			h.Set(set[i], set[i+1])
		}
	}
	return h
}

// Transport is what a provider built with rt sends its requests through:
// rt, or http.DefaultTransport when rt is nil. Providers take a
// RoundTripper, not an http.Client, because an upstream's redirect is its
// answer, never followed: http.Client would resend the request, with the
// operator's key in x-api-key or x-goog-api-key (it drops only
// Authorization and cookies, and only for another host), to wherever the
// upstream points, or turn it into a GET. A timeout belongs on rt (e.g.
// http.Transport's ResponseHeaderTimeout) or on the request's context.
func Transport(rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		return http.DefaultTransport
	}
	return rt
}

// Post sends body as JSON to url with header, through rt (see Transport).
// A response other than 200 is closed and returned as the error decode
// makes of its status and the start of its body, with the wait its
// Retry-After asks for; a failure to reach the upstream is
// lyumen.TransportError's.
func Post(ctx context.Context, rt http.RoundTripper, url string, header http.Header, body []byte, stream bool,
	decode func(status int, body []byte) *lyumen.Error) (*http.Response, error) {
	// A fully buffered body with its length: a body still streaming while the
	// upstream answers cuts some SSE responses short (golang/go#40747).
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build upstream request: %w", err)
	}
	for k, v := range header { // shared, not copied: values are only ever replaced below
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	if stream {
		req.Header.Set("Accept", "text/event-stream")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return nil, lyumen.TransportError(ctx, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		e := clean(decode(resp.StatusCode, b), header)
		if ra := lyumen.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ra > 0 {
			e.RetryAfter = ra
		}
		return nil, e
	}
	return resp, nil
}

// Clean returns err with the operator's credentials cut out when it is an
// upstream's *lyumen.Error: what Post does for a refusal by status, for
// one the upstream sent inside a 200 answer or a stream's event
// (OpenRouter's {"error":{"code":401,…}}). Other errors pass as they are.
func Clean(err error, header http.Header) error {
	e, ok := err.(*lyumen.Error)
	if !ok || e.Kind != lyumen.KindUpstream || e.Message == refusedCredentials {
		return err
	}
	c := *e // a package's shared error value must not change
	return clean(&c, header)
}

const refusedCredentials = "upstream: the upstream refused the gateway's credentials"

// clean cuts the operator's header values out of e's message, in place.
func clean(e *lyumen.Error, header http.Header) *lyumen.Error {
	if msg := withoutCredentials(e.Message, header); e.Status == http.StatusUnauthorized {
		// It may quote the key masked but for its ends (OpenAI does): the
		// client gets a plain message, the operator's log and record the
		// upstream's, what can be cut of the key cut. The status is the
		// decoder's: Google refuses a key with a 400 that it reads as
		// the 401 it is, which the client must not take for its own.
		e.Message, e.Err = refusedCredentials, errors.New(msg)
	} else {
		e.Message = msg
	}
	return e
}

// withoutCredentials is an upstream's error message with every value of
// the operator's headers cut out: the credential, and any other header the
// operator configured, which may hold a secret too (some compatible
// servers quote the key they refused whole).
func withoutCredentials(msg string, header http.Header) string {
	for _, vs := range header {
		for _, v := range vs {
			_, token, _ := strings.Cut(v, " ") // "Bearer <key>"
			for _, secret := range [...]string{v, token} {
				if len(secret) >= 8 { // shorter is no secret, and would cut out common words
					msg = strings.ReplaceAll(msg, secret, "[credential]")
				}
			}
		}
	}
	return msg
}

// PostWhole is Post for a non-streamed answer: it returns the answer's
// body, read whole (up to 64 MiB).
func PostWhole(ctx context.Context, rt http.RoundTripper, url string, header http.Header, body []byte,
	decode func(status int, body []byte) *lyumen.Error) ([]byte, error) {
	resp, err := Post(ctx, rt, url, header, body, false, decode)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	// Sized by Content-Length when the upstream sends one (io.ReadAll would
	// grow from 512 bytes, copying as it goes), up to a size that a length
	// claimed but not sent cannot make costly.
	buf := bytes.NewBuffer(make([]byte, 0, min(max(resp.ContentLength, 0), maxPresize)+bytes.MinRead))
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, lyumen.MaxAnswer)); err != nil {
		return nil, lyumen.TransportError(ctx, err)
	}
	return buf.Bytes(), nil
}
