package anthropic_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/anthropic"
)

func TestEncodeModels(t *testing.T) {
	started := time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))
	tests := []struct {
		name   string
		models []lyumen.Model
		want   string
	}{
		{
			name:   "a page of every model",
			models: []lyumen.Model{{Name: "claude-public", OwnedBy: "anthropic"}, {Name: "gpt-public"}},
			want: `{"data":[{"type":"model","id":"claude-public","display_name":"claude-public","created_at":"2025-01-02T02:04:05Z"},` +
				`{"type":"model","id":"gpt-public","display_name":"gpt-public","created_at":"2025-01-02T02:04:05Z"}],` +
				`"has_more":false,"first_id":"claude-public","last_id":"gpt-public"}`,
		},
		{
			name: "an empty page has no first or last id",
			want: `{"data":[],"has_more":false,"first_id":null,"last_id":null}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, string(anthropic.EncodeModels(tc.models, started))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	t.Run("one model", func(t *testing.T) {
		want := `{"type":"model","id":"m","display_name":"m","created_at":"2025-01-02T02:04:05Z"}`
		if got := string(anthropic.EncodeModel(lyumen.Model{Name: "m"}, started)); got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	})
}
