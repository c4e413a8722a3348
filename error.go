package lyumen

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Kind classifies an error for the client.
type Kind int

// Kinds of error a client may be told about.
const (
	KindInternal    Kind = iota // anything unexpected: "internal error"
	KindInvalid                 // the request is malformed
	KindNotFound                // unknown model or route
	KindTooLarge                // the body exceeds the limit
	KindRateLimited             // too many requests (here or upstream)
	KindUpstream                // the upstream failed or refused
	KindTimeout                 // the upstream did not answer in time
	KindUnavailable             // the gateway cannot serve now
)

// Error is the only error whose Message a client may see. Err is logged,
// never sent.
type Error struct {
	Kind    Kind
	Message string
	Param   string // the offending request field, when known
	Code    string // a machine-readable code; surfaces pick one by Kind when empty
	// Status is the upstream's HTTP status for KindUpstream, so a client
	// error the upstream found (400, 404, 422) reaches the client as such.
	Status int
	// RetryAfter is how long the upstream asked us to wait (its
	// Retry-After), or how long a client should wait; zero when unknown.
	RetryAfter time.Duration
	// Elsewhere marks a refusal by one provider of what another may take
	// (image URLs, which Gemini does not fetch): the router goes on to the
	// next target, and the client hears it only when none takes it.
	Elsewhere bool
	Err       error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Message, e.Err)
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of kind k with a client-safe message.
func Errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// Unsupported returns a KindInvalid *Error for what the model's provider
// cannot take and another provider may: Elsewhere is set.
func Unsupported(format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Message: fmt.Sprintf(format, args...), Elsewhere: true}
}

// MaxQuoted is the most bytes of a client's value that an error message
// quotes.
const MaxQuoted = 256

// Clip returns s, a value the client sent, for quoting in an error
// message: whole up to MaxQuoted bytes, else cut there on a rune boundary
// with "…" appended. Quoted whole, a 1 MB model name would come back as a
// 1 MB error.
func Clip(s string) string {
	if len(s) <= MaxQuoted {
		return s
	}
	i := MaxQuoted
	// Back up to the start of the rune the limit falls in; no further than
	// a rune's length, so invalid UTF-8 is cut at the limit.
	for j := i; j > i-utf8.UTFMax; j-- {
		if utf8.RuneStart(s[j]) {
			i = j
			break
		}
	}
	return s[:i] + "…"
}

// KindOf returns the kind of err, KindInternal when it is not an *Error.
func KindOf(err error) Kind {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Kind
	}
	return KindInternal
}
