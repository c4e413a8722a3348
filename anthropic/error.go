package anthropic

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/lyumen/lyumen"
)

// statusOverloaded is Anthropic's "overloaded" status.
const statusOverloaded = 529

type errorBody struct {
	Type  string      `json:"type"`
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// errorTypes are Anthropic's error types by status.
var errorTypes = map[int]string{
	http.StatusBadRequest:            "invalid_request_error",
	http.StatusUnauthorized:          "authentication_error",
	http.StatusPaymentRequired:       "billing_error",
	http.StatusForbidden:             "permission_error",
	http.StatusNotFound:              "not_found_error",
	http.StatusRequestEntityTooLarge: "request_too_large",
	http.StatusTooManyRequests:       "rate_limit_error",
	http.StatusInternalServerError:   "api_error",
	http.StatusBadGateway:            "api_error",
	http.StatusGatewayTimeout:        "timeout_error",
	statusOverloaded:                 "overloaded_error",
}

// statuses is the reverse of errorTypes, for an upstream's error event
// (which has a type but no status).
var statuses = map[string]int{
	"invalid_request_error": http.StatusBadRequest,
	"authentication_error":  http.StatusUnauthorized,
	"billing_error":         http.StatusPaymentRequired,
	"permission_error":      http.StatusForbidden,
	"not_found_error":       http.StatusNotFound,
	"request_too_large":     http.StatusRequestEntityTooLarge,
	"rate_limit_error":      http.StatusTooManyRequests,
	"api_error":             http.StatusInternalServerError,
	"timeout_error":         http.StatusGatewayTimeout,
	"overloaded_error":      statusOverloaded,
}

// Error maps err to the HTTP status and Anthropic's error envelope
// {"type":"error","error":{"type","message"}}, with the statuses Anthropic
// uses: 400 invalid_request_error, 404 not_found_error, 413
// request_too_large, 429 rate_limit_error, 500 api_error (502 for an
// upstream failure), 504 timeout_error, 529 overloaded_error (the gateway
// cannot record now). Only a *lyumen.Error's Message reaches the client;
// anything else is "internal error". A Code that is one of Anthropic's types
// (authentication_error) is used as the type.
func Error(err error) (int, []byte) {
	e, ok := errors.AsType[*lyumen.Error](err)
	if !ok {
		e = &lyumen.Error{Kind: lyumen.KindInternal}
	}
	status, msg := http.StatusInternalServerError, e.Message
	switch e.Kind {
	case lyumen.KindInvalid:
		status = http.StatusBadRequest
	case lyumen.KindNotFound:
		status = http.StatusNotFound
	case lyumen.KindTooLarge:
		status = http.StatusRequestEntityTooLarge
	case lyumen.KindRateLimited:
		status = http.StatusTooManyRequests
	case lyumen.KindUpstream:
		switch e.Status {
		case http.StatusBadRequest, http.StatusNotFound, http.StatusRequestEntityTooLarge, http.StatusTooManyRequests:
			// The upstream found fault with the request itself, or is
			// rate limiting: say so.
			status = e.Status
		case http.StatusConflict, http.StatusUnprocessableEntity:
			status = http.StatusBadRequest
		case statusOverloaded, http.StatusServiceUnavailable:
			status = statusOverloaded
		default:
			status = http.StatusBadGateway
		}
	case lyumen.KindTimeout:
		status = http.StatusGatewayTimeout
	case lyumen.KindUnavailable:
		status = statusOverloaded
	default:
		msg = "internal error"
	}
	if msg == "" {
		msg = http.StatusText(status)
		if status == statusOverloaded {
			msg = "Overloaded"
		}
	}
	typ := errorTypes[status]
	if _, known := statuses[e.Code]; known {
		typ = e.Code
	}
	b, _ := json.Marshal(errorBody{Type: "error", Error: errorDetail{Type: typ, Message: msg}})
	return status, b
}

// upstreamError reads an upstream's error body (Anthropic's envelope, or
// whatever else it sent) into a *lyumen.Error.
func upstreamError(status int, body []byte) *lyumen.Error {
	var eb struct {
		Error json.RawMessage `json:"error"`
	}
	msg := ""
	if json.Unmarshal(body, &eb) == nil && len(eb.Error) > 0 {
		var d errorDetail
		if json.Unmarshal(eb.Error, &d) == nil {
			msg = d.Message
		} else {
			_ = json.Unmarshal(eb.Error, &msg) // some servers send "error": "text"
		}
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return &lyumen.Error{Kind: lyumen.KindUpstream, Status: status, Message: "upstream: " + msg}
}
