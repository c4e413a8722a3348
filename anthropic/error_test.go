package anthropic_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/anthropic"
)

func TestError(t *testing.T) {
	type envelope struct {
		Type  string `json:"type"`
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	tests := []struct {
		name        string
		err         error
		status      int
		typ, messge string
	}{
		{"invalid", lyumen.Errorf(lyumen.KindInvalid, "max_tokens: Field required"), 400, "invalid_request_error", "max_tokens: Field required"},
		{"not found", lyumen.Errorf(lyumen.KindNotFound, "the model 'x' does not exist"), 404, "not_found_error", "the model 'x' does not exist"},
		{"too large", lyumen.Errorf(lyumen.KindTooLarge, "too big"), 413, "request_too_large", "too big"},
		{"rate limited", lyumen.Errorf(lyumen.KindRateLimited, "slow down"), 429, "rate_limit_error", "slow down"},
		{"upstream refused the request", &lyumen.Error{Kind: lyumen.KindUpstream, Status: 400, Message: "upstream: bad"}, 400, "invalid_request_error", "upstream: bad"},
		{"upstream 422", &lyumen.Error{Kind: lyumen.KindUpstream, Status: 422, Message: "upstream: bad"}, 400, "invalid_request_error", "upstream: bad"},
		{"upstream unknown model", &lyumen.Error{Kind: lyumen.KindUpstream, Status: 404, Message: "upstream: no"}, 404, "not_found_error", "upstream: no"},
		{"upstream rate limit", &lyumen.Error{Kind: lyumen.KindUpstream, Status: 429, Message: "upstream: slow"}, 429, "rate_limit_error", "upstream: slow"},
		{"upstream overloaded", &lyumen.Error{Kind: lyumen.KindUpstream, Status: 529, Message: "upstream: Overloaded"}, 529, "overloaded_error", "upstream: Overloaded"},
		{"upstream unavailable", &lyumen.Error{Kind: lyumen.KindUpstream, Status: 503, Message: "upstream: down"}, 529, "overloaded_error", "upstream: down"},
		{"upstream 500", &lyumen.Error{Kind: lyumen.KindUpstream, Status: 500, Message: "upstream: oops"}, 502, "api_error", "upstream: oops"},
		{"upstream bad key is the operator's problem", &lyumen.Error{Kind: lyumen.KindUpstream, Status: 401, Message: "upstream: key"}, 502, "api_error", "upstream: key"},
		{"upstream unreachable", &lyumen.Error{Kind: lyumen.KindUpstream, Message: "the upstream could not be reached"}, 502, "api_error", "the upstream could not be reached"},
		{"timeout", lyumen.Errorf(lyumen.KindTimeout, "late"), 504, "timeout_error", "late"},
		{"cannot record", lyumen.Errorf(lyumen.KindUnavailable, "try again"), 529, "overloaded_error", "try again"},
		{"unavailable without message", &lyumen.Error{Kind: lyumen.KindUnavailable}, 529, "overloaded_error", "Overloaded"},
		{"an Anthropic type as code", &lyumen.Error{Kind: lyumen.KindInvalid, Code: "authentication_error", Message: "no key"}, 400, "authentication_error", "no key"},
		{"an OpenAI code is not a type", &lyumen.Error{Kind: lyumen.KindNotFound, Code: "model_not_found", Message: "no"}, 404, "not_found_error", "no"},
		{"wrapped", fmt.Errorf("serve: %w", lyumen.Errorf(lyumen.KindInvalid, "bad")), 400, "invalid_request_error", "bad"},
		{"anything else is internal", errors.New("secret detail"), 500, "api_error", "internal error"},
		{"internal kind hides its message", &lyumen.Error{Kind: lyumen.KindInternal, Message: "secret"}, 500, "api_error", "internal error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := anthropic.Error(tc.err)
			var env envelope
			if err := json.Unmarshal(body, &env); err != nil {
				t.Fatalf("%v: %s", err, body)
			}
			got := []any{status, env.Type, env.Error.Type, env.Error.Message}
			want := []any{tc.status, "error", tc.typ, tc.messge}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
