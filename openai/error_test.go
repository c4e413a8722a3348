package openai_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/openai"
)

func TestError(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantBody   string
	}{
		{
			name:       "invalid with param",
			err:        &lyumen.Error{Kind: lyumen.KindInvalid, Param: "model", Message: "you must provide a model parameter"},
			wantStatus: 400,
			wantBody:   `{"error":{"message":"you must provide a model parameter","type":"invalid_request_error","param":"model","code":null}}`,
		},
		{
			name:       "invalid wrapped",
			err:        fmt.Errorf("decode: %w", &lyumen.Error{Kind: lyumen.KindInvalid, Message: "bad", Err: errors.New("secret detail")}),
			wantStatus: 400,
			wantBody:   `{"error":{"message":"bad","type":"invalid_request_error","param":null,"code":null}}`,
		},
		{
			name:       "not found",
			err:        lyumen.Errorf(lyumen.KindNotFound, "the model '%s' does not exist", "gpt-9"),
			wantStatus: 404,
			wantBody:   `{"error":{"message":"the model 'gpt-9' does not exist","type":"invalid_request_error","param":null,"code":"model_not_found"}}`,
		},
		{
			name:       "too large",
			err:        lyumen.Errorf(lyumen.KindTooLarge, "the body is too large"),
			wantStatus: 413,
			wantBody:   `{"error":{"message":"the body is too large","type":"invalid_request_error","param":null,"code":"request_too_large"}}`,
		},
		{
			name:       "rate limited",
			err:        lyumen.Errorf(lyumen.KindRateLimited, "slow down"),
			wantStatus: 429,
			wantBody:   `{"error":{"message":"slow down","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}}`,
		},
		{
			name:       "upstream 400 is the client's fault",
			err:        &lyumen.Error{Kind: lyumen.KindUpstream, Status: 400, Message: "upstream: 'temperature' is too high"},
			wantStatus: 400,
			wantBody:   `{"error":{"message":"upstream: 'temperature' is too high","type":"invalid_request_error","param":null,"code":null}}`,
		},
		{
			name:       "upstream 404",
			err:        &lyumen.Error{Kind: lyumen.KindUpstream, Status: 404, Message: "upstream: no such model"},
			wantStatus: 404,
			wantBody:   `{"error":{"message":"upstream: no such model","type":"invalid_request_error","param":null,"code":null}}`,
		},
		{
			name:       "upstream 409",
			err:        &lyumen.Error{Kind: lyumen.KindUpstream, Status: 409, Message: "upstream: conflict"},
			wantStatus: 409,
			wantBody:   `{"error":{"message":"upstream: conflict","type":"invalid_request_error","param":null,"code":null}}`,
		},
		{
			name:       "upstream 413",
			err:        &lyumen.Error{Kind: lyumen.KindUpstream, Status: 413, Message: "upstream: too long"},
			wantStatus: 413,
			wantBody:   `{"error":{"message":"upstream: too long","type":"invalid_request_error","param":null,"code":null}}`,
		},
		{
			name:       "upstream 422",
			err:        &lyumen.Error{Kind: lyumen.KindUpstream, Status: 422, Message: "upstream: unprocessable"},
			wantStatus: 422,
			wantBody:   `{"error":{"message":"upstream: unprocessable","type":"invalid_request_error","param":null,"code":null}}`,
		},
		{
			name:       "upstream 429",
			err:        &lyumen.Error{Kind: lyumen.KindUpstream, Status: 429, Message: "upstream: quota"},
			wantStatus: 429,
			wantBody:   `{"error":{"message":"upstream: quota","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}}`,
		},
		{
			name:       "upstream 401 is the gateway's problem",
			err:        &lyumen.Error{Kind: lyumen.KindUpstream, Status: 401, Message: "upstream: Unauthorized"},
			wantStatus: 502,
			wantBody:   `{"error":{"message":"upstream: Unauthorized","type":"upstream_error","param":null,"code":"upstream_error"}}`,
		},
		{
			name:       "upstream 500",
			err:        &lyumen.Error{Kind: lyumen.KindUpstream, Status: 500, Message: "upstream: boom"},
			wantStatus: 502,
			wantBody:   `{"error":{"message":"upstream: boom","type":"upstream_error","param":null,"code":"upstream_error"}}`,
		},
		{
			name:       "upstream unreachable",
			err:        &lyumen.Error{Kind: lyumen.KindUpstream, Message: "the upstream could not be reached", Err: errors.New("dial tcp 10.0.0.1:443: connection refused")},
			wantStatus: 502,
			wantBody:   `{"error":{"message":"the upstream could not be reached","type":"upstream_error","param":null,"code":"upstream_error"}}`,
		},
		{
			name:       "timeout",
			err:        &lyumen.Error{Kind: lyumen.KindTimeout, Message: "the upstream did not answer in time"},
			wantStatus: 504,
			wantBody:   `{"error":{"message":"the upstream did not answer in time","type":"upstream_error","param":null,"code":"upstream_timeout"}}`,
		},
		{
			name:       "unavailable",
			err:        lyumen.Errorf(lyumen.KindUnavailable, "shutting down"),
			wantStatus: 503,
			wantBody:   `{"error":{"message":"shutting down","type":"server_error","param":null,"code":"service_unavailable"}}`,
		},
		{
			name:       "empty message takes the status text",
			err:        &lyumen.Error{Kind: lyumen.KindRateLimited},
			wantStatus: 429,
			wantBody:   `{"error":{"message":"Too Many Requests","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}}`,
		},
		{
			name:       "code overrides the kind's",
			err:        &lyumen.Error{Kind: lyumen.KindRateLimited, Message: "daily budget spent", Code: "budget_exceeded"},
			wantStatus: 429,
			wantBody:   `{"error":{"message":"daily budget spent","type":"rate_limit_error","param":null,"code":"budget_exceeded"}}`,
		},
		{
			name:       "message is escaped",
			err:        lyumen.Errorf(lyumen.KindInvalid, `"quoted" <tag>`),
			wantStatus: 400,
			wantBody:   `{"error":{"message":"\"quoted\" \u003ctag\u003e","type":"invalid_request_error","param":null,"code":null}}`,
		},
		{
			name:       "internal kind hides its message",
			err:        &lyumen.Error{Kind: lyumen.KindInternal, Message: "db password is hunter2"},
			wantStatus: 500,
			wantBody:   `{"error":{"message":"internal error","type":"server_error","param":null,"code":null}}`,
		},
		{
			name:       "plain error hides its message",
			err:        errors.New("open /var/lib/lyumen/secret.db: permission denied"),
			wantStatus: 500,
			wantBody:   `{"error":{"message":"internal error","type":"server_error","param":null,"code":null}}`,
		},
		{
			name:       "wrapped plain error hides its message",
			err:        fmt.Errorf("serve: %w", errors.New("sk-live-123 leaked")),
			wantStatus: 500,
			wantBody:   `{"error":{"message":"internal error","type":"server_error","param":null,"code":null}}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := openai.Error(tc.err)
			if status != tc.wantStatus {
				t.Errorf("status = %d, want %d", status, tc.wantStatus)
			}
			if diff := cmp.Diff(tc.wantBody, string(body)); diff != "" {
				t.Errorf("body mismatch (-want +got):\n%s", diff)
			}
			for _, secret := range []string{"hunter2", "secret", "sk-live", "connection refused"} {
				if strings.Contains(string(body), secret) {
					t.Errorf("body %s leaks %q", body, secret)
				}
			}
		})
	}
}
