package openai

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/lyumen/lyumen"
)

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// Error maps err to the HTTP status and the OpenAI error envelope
// {"error":{"message","type","param","code"}}. Only a *lyumen.Error's
// Message reaches the client; anything else is "internal error".
func Error(err error) (int, []byte) {
	e, ok := errors.AsType[*lyumen.Error](err)
	if !ok {
		e = &lyumen.Error{Kind: lyumen.KindInternal}
	}
	status, typ, code := http.StatusInternalServerError, "server_error", ""
	msg := e.Message
	switch e.Kind {
	case lyumen.KindInvalid:
		status, typ = http.StatusBadRequest, "invalid_request_error"
	case lyumen.KindNotFound:
		status, typ, code = http.StatusNotFound, "invalid_request_error", "model_not_found"
	case lyumen.KindTooLarge:
		status, typ, code = http.StatusRequestEntityTooLarge, "invalid_request_error", "request_too_large"
	case lyumen.KindRateLimited:
		status, typ, code = http.StatusTooManyRequests, "rate_limit_error", "rate_limit_exceeded"
	case lyumen.KindUpstream:
		switch {
		case requestFault(e.Status):
			// The upstream found fault with the request itself: say so.
			status, typ = e.Status, "invalid_request_error"
		case e.Status == http.StatusTooManyRequests:
			status, typ, code = http.StatusTooManyRequests, "rate_limit_error", "rate_limit_exceeded"
		default:
			status, typ, code = http.StatusBadGateway, "upstream_error", "upstream_error"
		}
	case lyumen.KindTimeout:
		status, typ, code = http.StatusGatewayTimeout, "upstream_error", "upstream_timeout"
	case lyumen.KindUnavailable:
		status, typ, code = http.StatusServiceUnavailable, "server_error", "service_unavailable"
	default:
		msg = "internal error"
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	if e.Code != "" {
		code = e.Code
	}
	d := errorDetail{Message: msg, Type: typ}
	if e.Param != "" {
		d.Param = &e.Param
	}
	if code != "" {
		d.Code = &code
	}
	b, _ := json.Marshal(errorBody{Error: d})
	return status, b
}

// upstreamError reads an upstream's error body (OpenAI envelope, or
// whatever else it sent) into a *lyumen.Error.
//
// The code and param of an error the request caused (requestFault) go
// with the message: clients act on them (trim a conversation on
// context_length_exceeded). Those of other errors are the operator's
// (invalid_api_key, insufficient_quota): the client gets the gateway's.
// Some servers send a number for a code; only a string is taken.
func upstreamError(status int, body []byte) *lyumen.Error {
	var eb struct {
		Error json.RawMessage `json:"error"`
	}
	e := &lyumen.Error{Kind: lyumen.KindUpstream, Status: status}
	msg := ""
	if json.Unmarshal(body, &eb) == nil && len(eb.Error) > 0 {
		var d struct {
			Message string          `json:"message"`
			Param   json.RawMessage `json:"param"`
			Code    json.RawMessage `json:"code"`
		}
		if json.Unmarshal(eb.Error, &d) == nil {
			msg = d.Message
			if requestFault(status) {
				e.Code, e.Param = lyumen.Clip(jsonString(d.Code)), lyumen.Clip(jsonString(d.Param))
			}
		} else {
			_ = json.Unmarshal(eb.Error, &msg) // some servers send "error": "text"
		}
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	e.Message = "upstream: " + msg
	return e
}

// requestFault says an upstream's status finds fault with the request
// itself, which the client then gets as its own.
func requestFault(status int) bool {
	switch status {
	case http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return true
	}
	return false
}

// jsonString is raw's value when it is a JSON string, else "".
func jsonString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}
