package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestParseConfig_ErrorNamesTheFilesLine: the "line N" of an unknown field
// or a wrong type is the file's. ParseConfig decoded a re-encoding of the
// file, whose lines blank lines and folded scalars moved: the operator was
// sent to the wrong line.
func TestParseConfig_ErrorNamesTheFilesLine(t *testing.T) {
	y := `# Lyumen configuration

listen: 127.0.0.1:8080


store: sqlite://lyumen.db
providers:
  - name: p
    kind: openai
    base_url: "http://x"
    headers:
      A: >
        folded
        text

models:
  - {name: m, targets: [{provider: p, model: m}]}

shutdown_timout: 5s
`
	_, err := ParseConfig(strings.NewReader(y), func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "line 19: field shutdown_timout not found") {
		t.Errorf("err = %v\nwant the typo's own line, 19", err)
	}
}

// TestParseConfig_EnvValueNotInError: a reference put in a field of the
// wrong type is named in the error by the reference, not the environment's
// value (which it echoed: whole up to 10 bytes, its first 7 beyond, to
// stderr and the supervisor's log).
func TestParseConfig_EnvValueNotInError(t *testing.T) {
	env := map[string]string{"DB_PASSWORD": "hunter2", "OPENAI_API_KEY": "sk-proj-0123456789abcdef"}
	for _, y := range []string{
		"max_body_bytes: ${DB_PASSWORD}\n",
		"providers: [{name: p, kind: openai, base_url: 'http://x', api_keys: x}]\n" +
			"models: [{name: m, targets: [{provider: p, model: m}]}]\n" +
			"limits:\n  tokens_per_minute: ${OPENAI_API_KEY}\n",
	} {
		_, err := ParseConfig(strings.NewReader(y), func(k string) string { return env[k] })
		if err == nil {
			t.Fatalf("%q: no error", y)
		}
		for _, v := range []string{"hunter2", "sk-proj"} {
			if strings.Contains(err.Error(), v) {
				t.Errorf("%q: the error quotes the environment's value: %v", y, err)
			}
		}
	}
}

// TestStoreCommands_NeedNoProviderSecrets: purge, export, stats and
// migrate need only the store: with --store they do not read ./lyumen.yaml,
// which refused to parse unless every ${VAR} in it (every provider key)
// was set in the shell running them.
func TestStoreCommands_NeedNoProviderSecrets(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile("lyumen.yaml", []byte(`providers:
  - {name: openai, kind: openai, base_url: https://api.openai.com/v1, api_key: "${OPENAI_API_KEY}"}
models:
  - {name: m, targets: [{provider: openai, model: gpt-4o-mini}]}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	db := "sqlite://" + filepath.Join(dir, "x.db")
	if err := run(t.Context(), []string{"migrate", "--store", db}, func(k string) string {
		return map[string]string{"OPENAI_API_KEY": "sk-x"}[k]
	}, os.Stderr, os.Stderr); err != nil {
		t.Fatal(err)
	}
	// The operator's shell, without the gateway's secrets.
	err := run(t.Context(), []string{"stats", "--store", db}, func(string) string { return "" }, os.Stderr, os.Stderr)
	if err != nil {
		t.Errorf("lyumen stats --store %s: %v", db, err)
	}
}

// TestConfig_BaseURLIsValidated: a base_url that is no absolute http(s)
// URL is refused at start; it started the gateway, every request then
// failed ("unsupported protocol scheme"), and the privacy page named the
// provider with an empty host.
func TestConfig_BaseURLIsValidated(t *testing.T) {
	for _, u := range []string{"api.openai.com/v1", "localhost:11434/v1", "ftp://example.org/v1"} {
		c := DefaultConfig()
		c.Providers = []Provider{{Name: "p", Kind: "openai", BaseURL: u}}
		c.Models = []Model{{Name: "m", Targets: []Target{{Provider: "p", Model: "x"}}}}
		if err := c.Validate(); err == nil {
			_, ups := buildProviders(c.Providers)
			t.Errorf("base_url %q accepted; the privacy page would say %q (%q)", u, ups[0].Name, ups[0].Host)
		}
	}
}

// TestConfig_AnthropicNeedsAKey: Anthropic's own API without a key is
// refused at start, as Gemini's is; it was accepted and 401ed every request.
func TestConfig_AnthropicNeedsAKey(t *testing.T) {
	c := DefaultConfig()
	c.Providers = []Provider{{Name: "a", Kind: "anthropic"}}
	c.Models = []Model{{Name: "m", Targets: []Target{{Provider: "a", Model: "claude-x"}}}}
	if err := c.Validate(); err == nil {
		t.Error("kind anthropic on api.anthropic.com without api_key accepted")
	}
}

// TestParseConfig_TrustedProxiesNullKeepsDefault: "trusted_proxies:" with
// its items commented out is YAML null, which cleared the default
// (Cloudflare and loopback) without a word: behind Cloudflare every client
// was then its edge address (one rate limit shared by all) and no country
// was recorded. It now keeps the default.
func TestParseConfig_TrustedProxiesNullKeepsDefault(t *testing.T) {
	c, err := ParseConfig(strings.NewReader("trusted_proxies:\n#  - 10.0.0.0/8\n"), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if len(c.TrustedProxies) == 0 {
		t.Error("trusted_proxies: (null) left no trusted proxy at all, not the default")
	}
}

// TestParseConfig_FractionForWholeNumber: a number with a fraction given
// for a whole-number field is refused with its line. The YAML decoder
// truncated it without a word: weights of 0.5 and 0.3 both became 0, an
// even split. Whole numbers written as floats, and fractions in text
// fields, still go through.
func TestParseConfig_FractionForWholeNumber(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"weight", `
providers: [{name: p, kind: openai, base_url: "http://x"}]
models:
  - name: "m"
    targets:
      - {provider: p, model: a, weight: 0.5}
      - {provider: p, model: b, weight: 1e2}
`, "line 6: 0.5 is not a whole number"},
		{"nested int", "limits:\n  client_concurrency: 2.5\n", "line 2: 2.5 is not a whole number"},
		{"fine", `
providers: [{name: p, kind: openai, base_url: "http://x"}]
models: [{name: 3.5, targets: [{provider: p, model: 1.5, weight: 2.0}]}]
`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig(strings.NewReader(tc.yaml), func(string) string { return "" })
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("err = %v, want none", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
