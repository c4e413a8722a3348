package main

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseConfig(t *testing.T) {
	env := map[string]string{"OPENAI_API_KEY": "sk-from-env", "HOST": "api.example", "TOKEN": "tok-1234\n",
		"BODY": "1024", "SCRUB": "false", "NULLISH": "null", "COLON": "a: b # c"}
	getenv := func(k string) string { return env[k] }
	full := DefaultConfig()
	full.Listen = "0.0.0.0:9000"
	full.Providers = []Provider{{Name: "openai", Kind: "openai", BaseURL: "https://api.example/v1", APIKey: "sk-from-env",
		Headers: map[string]string{"X-Title": "$literal"}, Timeout: 30 * time.Second}}
	full.Models = []Model{{Name: "gpt-4o-mini", Targets: []Target{{Provider: "openai", Model: "gpt-4o-mini"}}}}
	full.TrustedProxies = []string{"127.0.0.0/8"}

	tests := []struct {
		name    string
		yaml    string
		want    Config
		wantErr string
	}{
		{name: "empty file is the defaults", yaml: "", want: DefaultConfig()},
		{name: "full", yaml: `
listen: 0.0.0.0:9000
providers:
  - name: openai
    kind: openai
    base_url: https://${HOST}/v1
    api_key: ${OPENAI_API_KEY}
    headers: {X-Title: $literal}
    timeout: 30s
models:
  - name: gpt-4o-mini
    targets:
      - provider: openai
        model: gpt-4o-mini
trusted_proxies: [127.0.0.0/8]
`, want: full},
		{name: "unknown field", yaml: "listne: x\n", wantErr: "field listne not found"},
		{name: "an unset variable is an error", yaml: "admin_token: ${NOPE}\nstore: ${ALSO_NOPE}\n", wantErr: "${NOPE}, ${ALSO_NOPE} empty or unset"},
		{name: "a default, an escape, a trimmed secret", yaml: "admin_token: ${TOKEN}\nstore: ${NOPE:-sqlite://x.db}\nadmin_listen: ${NOPE:-}\n" +
			"site: {name: 'costs $${HOST}', contact: '${NOPE:-}'}\nproviders: [{name: p, kind: openai, base_url: 'http://h', headers: {X-Title: '${COLON}'}}]\n---\n",
			want: func() Config {
				c := DefaultConfig()
				c.AdminToken, c.Store, c.Site.Name, c.AdminListen = "tok-1234", "sqlite://x.db", "costs ${HOST}", ""
				c.Providers = []Provider{{Name: "p", Kind: "openai", BaseURL: "http://h", Headers: map[string]string{"X-Title": "a: b # c"}}}
				return c
			}()},
		{name: "a key with a reference", yaml: "providers: [{name: p, kind: openai, base_url: 'http://h', headers: {'X-${HOST}': v}}]\n",
			wantErr: `the key "X-${HOST}" holds a reference`},
		{name: "a default with a reference", yaml: "admin_token: ${NOPE:-${TOKEN}}\n", wantErr: "is not a reference this file takes"},
		{name: "a default with a reference, its variable set", yaml: "admin_token: ${TOKEN:-${HOST}}\n", wantErr: "is not a reference this file takes"},
		{name: "a stray ${", yaml: "admin_token: 'ab${cd'\n", wantErr: "is not a reference this file takes"},
		{name: "$${ escapes any ${", yaml: "admin_token: 'ab$${cd $${HOST} ${HOST}'\n",
			want: func() Config { c := DefaultConfig(); c.AdminToken = "ab${cd ${HOST} api.example"; return c }()},
		{name: "a reference of another shell's form", yaml: "admin_token: '${ TOKEN }'\n", wantErr: "is not a reference this file takes"},
		{name: "numbers and booleans from the environment", yaml: "max_body_bytes: ${BODY}\nredact_secrets: ${SCRUB}\nadmin_token: ${NULLISH}\n",
			want: func() Config {
				c := DefaultConfig()
				c.MaxBodyBytes, c.RedactSecrets, c.AdminToken = 1024, false, "null"
				return c
			}()},
		{name: "a second document", yaml: "listen: a:1\n---\nlistne: b\n", wantErr: "more than one YAML document"},
		{name: "bad duration", yaml: "shutdown_timeout: soon\n", wantErr: "soon"},
		{name: "not yaml", yaml: "listen: [\n", wantErr: "parse config"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseConfig(strings.NewReader(tc.yaml), getenv)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConfig_Validate(t *testing.T) {
	ok := func() Config {
		c := DefaultConfig()
		c.Providers = []Provider{{Name: "p", Kind: "openai", BaseURL: "http://x/v1"}}
		c.Models = []Model{{Name: "m", Targets: []Target{{Provider: "p", Model: "u"}}}}
		return c
	}
	tests := []struct {
		name   string
		mutate func(*Config)
		want   []string // fragments of the error; none means valid
	}{
		{name: "valid", mutate: func(*Config) {}},
		{name: "unknown kind", mutate: func(c *Config) { c.Providers[0].Kind = "bogus" }, want: []string{`unknown kind "bogus"`}},
		{name: "missing base_url", mutate: func(c *Config) { c.Providers[0].BaseURL = "" }, want: []string{"base_url is required"}},
		{name: "gemini with its default base_url", mutate: func(c *Config) { c.Providers[0] = Provider{Name: "p", Kind: "gemini", APIKey: "k"} }},
		{name: "gemini without a key", mutate: func(c *Config) { c.Providers[0] = Provider{Name: "p", Kind: "gemini"} },
			want: []string{"api_key is required for kind gemini"}},
		{name: "duplicate provider", mutate: func(c *Config) { c.Providers = append(c.Providers, c.Providers[0]) }, want: []string{"duplicate name"}},
		{name: "unknown target provider", mutate: func(c *Config) { c.Models[0].Targets[0].Provider = "q" }, want: []string{`unknown provider "q"`}},
		{name: "no models", mutate: func(c *Config) { c.Models = nil }, want: []string{"at least one model"}},
		{name: "bad proxy", mutate: func(c *Config) { c.TrustedProxies = []string{"nope"} }, want: []string{`"nope" is not a CIDR`}},
		{name: "negative weight", mutate: func(c *Config) { c.Models[0].Targets[0].Weight = -1 }, want: []string{"weight -1 is not between 0 and 1000000"}},
		// A sum of weights past an int's range made every request's draw panic.
		{name: "huge weight", mutate: func(c *Config) { c.Models[0].Targets[0].Weight = 1 << 62 }, want: []string{"is not between 0 and 1000000"}},
		{name: "negative max_tokens", mutate: func(c *Config) { c.Models[0].MaxTokens = -5 }, want: []string{"max_tokens must not be negative"}},
		{name: "max_tokens_field", mutate: func(c *Config) { c.Providers[0].MaxTokensField = "max_completion_tokens" }},
		{name: "native completions", mutate: func(c *Config) { c.Providers[0].Completions = "native" }},
		{name: "unknown completions", mutate: func(c *Config) { c.Providers[0].Completions = "raw" },
			want: []string{`completions "raw": want translate or native`}},
		{name: "unknown max_tokens_field", mutate: func(c *Config) { c.Providers[0].MaxTokensField = "n_predict" },
			want: []string{`max_tokens_field "n_predict"`}},
		{name: "max_tokens_field on anthropic", mutate: func(c *Config) {
			c.Providers[0] = Provider{Name: "p", Kind: "anthropic", APIKey: "k", MaxTokensField: "max_tokens"}
		}, want: []string{"max_tokens_field is for kind openai"}},
		{name: "client_betas", mutate: func(c *Config) {
			c.Providers[0] = Provider{Name: "p", Kind: "anthropic", APIKey: "k", ClientBetas: []string{"context-1m-2025-08-07"}}
		}},
		{name: "client_betas on openai", mutate: func(c *Config) { c.Providers[0].ClientBetas = []string{"x"} },
			want: []string{"client_betas is for kind anthropic"}},
		{name: "client_betas not one flag", mutate: func(c *Config) {
			c.Providers[0] = Provider{Name: "p", Kind: "anthropic", APIKey: "k", ClientBetas: []string{"a,b"}}
		}, want: []string{`client_betas: "a,b" is not one beta flag`}},
		{name: "duplicate model", mutate: func(c *Config) { c.Models = append(c.Models, c.Models[0]) }, want: []string{`models[1]: duplicate name "m"`}},
		{name: "empty listen", mutate: func(c *Config) { c.Listen = "" }, want: []string{"listen: an address is required"}},
		{name: "empty key in the rotation", mutate: func(c *Config) { c.Providers[0].APIKeys = []string{"k1", " "} },
			want: []string{`provider "p": api_keys[1] is empty`}},
		{name: "single address proxy", mutate: func(c *Config) { c.TrustedProxies = []string{"10.0.0.1", "::1"} }},
		{name: "ship_priority normal", mutate: func(c *Config) { c.Spool.ShipPriority = "normal" }},
		{name: "unknown ship_priority", mutate: func(c *Config) { c.Spool.ShipPriority = "idle" },
			want: []string{`spool.ship_priority: "idle" is neither low nor normal`}},
		{name: "every problem at once", mutate: func(c *Config) { c.Providers[0].Kind = "x"; c.MaxBodyBytes = 0 },
			want: []string{"unknown kind", "max_body_bytes"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ok()
			tc.mutate(&c)
			err := c.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestConfig_DemoWhenNothingConfigured(t *testing.T) {
	c := DefaultConfig()
	if !c.withDemo() {
		t.Fatal("no demo with an empty configuration")
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("demo configuration invalid: %v", err)
	}
	c = DefaultConfig()
	c.Providers = []Provider{{Name: "p", Kind: "openai", BaseURL: "http://x"}}
	if c.withDemo() || c.onlyDemo() {
		t.Error("demo added although a provider is configured")
	}
	// A demo configured by name is a demo too: the pages say so, and the
	// privacy page lists it with the providers when there are others.
	c.Providers = []Provider{{Name: "d", Kind: "demo"}}
	if !c.onlyDemo() {
		t.Error("a configuration of the demo alone is not taken for a demo")
	}
	c.Providers = append(c.Providers, Provider{Name: "p", Kind: "openai", BaseURL: "http://x"})
	_, ups := buildProviders(c.Providers)
	if c.onlyDemo() || len(ups) != 2 || ups[0].Name != "d" || !strings.Contains(ups[0].Host, "built-in demo") {
		t.Errorf("demo and a provider: only demo %v, upstreams %+v", c.onlyDemo(), ups)
	}
}

func TestConfig_EnvOverrides(t *testing.T) {
	env := map[string]string{"LYUMEN_LISTEN": "127.0.0.1:1", "LYUMEN_STORE": "sqlite:///tmp/x.db"}
	c := DefaultConfig()
	c.applyEnv(func(k string) string { return env[k] })
	if c.Listen != "127.0.0.1:1" || c.Store != "sqlite:///tmp/x.db" {
		t.Errorf("listen %q store %q", c.Listen, c.Store)
	}
}
