package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	sdk "github.com/anthropics/anthropic-sdk-go/v2"
	sdkoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen/anthropic"
	"github.com/lyumen/lyumen/httpapi"
	"github.com/lyumen/lyumen/providertest"
)

func TestConfig_AnthropicKind(t *testing.T) {
	c := DefaultConfig()
	c.Providers = []Provider{{Name: "claude", Kind: "anthropic", APIKey: "k"}}
	c.Models = []Model{{Name: "m", Targets: []Target{{Provider: "claude", Model: "claude-sonnet-4-5"}}}}
	if err := c.Validate(); err != nil {
		t.Fatalf("kind anthropic without base_url: %v", err)
	}
	providers, ups := buildProviders(c.Providers)
	if _, ok := providers["claude"].(*anthropic.Client); !ok {
		t.Errorf("provider is %T, want *anthropic.Client", providers["claude"])
	}
	if diff := cmp.Diff([]httpapi.Upstream{{Name: "claude", Host: "api.anthropic.com"}}, ups); diff != "" {
		t.Errorf("upstreams on the privacy page (-want +got):\n%s", diff)
	}
}

// TestServe_AnthropicProvider runs serve with a provider of kind anthropic
// and talks to it with Anthropic's SDK: the operator's key from the
// environment reaches the upstream, the client's does not.
func TestServe_AnthropicProvider(t *testing.T) {
	up := providertest.NewAnthropic(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "lyumen.yaml")
	cfg := fmt.Sprintf(`admin_listen: ""
spool: {dir: %s}
store: sqlite://%s
providers:
  - name: claude
    kind: anthropic
    base_url: %s
    api_key: ${ANTHROPIC_KEY}
models:
  - name: claude-test
    targets: [{provider: claude, model: claude-upstream}]
trusted_proxies: [127.0.0.0/8]
`, filepath.Join(dir, "spool"), filepath.Join(dir, "lyumen.db"), up.BaseURL())
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr, _, stop := startServe(t, []string{"--config", path}, map[string]string{"ANTHROPIC_KEY": "sk-ant-operator-3"})
	client := sdk.NewClient(sdkoption.WithBaseURL("http://"+addr+"/"), sdkoption.WithAPIKey(clientKey), sdkoption.WithMaxRetries(0))
	p := sdk.MessageNewParams{Model: "claude-test", MaxTokens: 64,
		Messages: []sdk.MessageParam{sdk.NewUserMessage(sdk.NewTextBlock("hello"))}}
	m, err := client.Messages.New(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Content) != 1 || m.Content[0].Text != providertest.EchoText("hello") {
		t.Errorf("content %+v", m.Content)
	}
	s := client.Messages.NewStreaming(t.Context(), p)
	var acc sdk.Message
	for s.Next() {
		if err := acc.Accumulate(s.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if len(acc.Content) != 1 || acc.Content[0].Text != providertest.EchoText("hello") || acc.StopReason != "end_turn" {
		t.Errorf("streamed %+v", acc)
	}
	if err := stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	for _, seen := range up.Seen() {
		if got := seen.Header.Get("X-Api-Key"); got != "sk-ant-operator-3" {
			t.Errorf("upstream x-api-key %q, want the operator's", got)
		}
		if got := seen.Body["model"]; got != "claude-upstream" {
			t.Errorf("upstream model %v", got)
		}
	}
}
