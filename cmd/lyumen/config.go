package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/lyumen/lyumen/demo"
	"github.com/lyumen/lyumen/httpapi"
	"github.com/lyumen/lyumen/upstream"
)

// Config is lyumen.yaml. Every field has a default, so no file is needed.
type Config struct {
	Listen         string     `yaml:"listen"`
	AdminListen    string     `yaml:"admin_listen"` // metrics; loopback by default, "" disables
	Store          string     `yaml:"store"`
	Spool          Spool      `yaml:"spool"`
	Providers      []Provider `yaml:"providers"`
	Routing        Routing    `yaml:"routing"`
	Models         []Model    `yaml:"models"`
	TrustedProxies []string   `yaml:"trusted_proxies"`
	MaxBodyBytes   int64      `yaml:"max_body_bytes"`
	LogLevel       string     `yaml:"log_level"`
	Site           Site       `yaml:"site"`
	// ShutdownTimeout bounds how long in-flight streams may run on after
	// SIGTERM before they are cut.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// DrainDelay is how long the gateway serves on after SIGTERM with
	// /readyz failing, before it stops taking connections: a load
	// balancer that polls /readyz moves traffic away meanwhile.
	DrainDelay time.Duration `yaml:"drain_delay"`
	// RedactSecrets scrubs API keys, passwords, tokens and private keys
	// from every record before it is stored (scrub.go); default true.
	RedactSecrets bool `yaml:"redact_secrets"`

	// AdminToken is required on the admin listener ("Authorization: Bearer
	// …"). When empty, one is generated at every start and written to
	// AdminTokenFile (admin.go).
	AdminToken     string `yaml:"admin_token"`
	AdminTokenFile string `yaml:"admin_token_file"`
	// Limits protect a public deployment (limits.go).
	Limits Limits `yaml:"limits"`
}

// Spool is the durable local log every record goes through before the
// store.
type Spool struct {
	Dir      string `yaml:"dir"`
	MaxBytes int64  `yaml:"max_bytes"`
	// WhenFull is "refuse" (503: free inference is served only when it can
	// be recorded) or "serve_unrecorded" (answer anyway, log and count it).
	WhenFull string `yaml:"when_full"`
	// DrainTimeout bounds the wait for the store at shutdown; what is not
	// shipped by then stays on disk and ships at the next start.
	DrainTimeout time.Duration `yaml:"drain_timeout"`
	// ShipPriority is "low" (ship records into the store on a thread of
	// the lowest CPU priority while the spool keeps up, so that serving
	// comes first) or "normal".
	ShipPriority string `yaml:"ship_priority"`
}

// Provider is one upstream account.
type Provider struct {
	Name    string `yaml:"name"`
	Kind    string `yaml:"kind"` // openai (any OpenAI-compatible API), anthropic, gemini or demo
	BaseURL string `yaml:"base_url"`
	APIKey  string `yaml:"api_key"`
	// APIKeys are more keys for the same account(s), used in turn.
	APIKeys []string          `yaml:"api_keys"`
	Headers map[string]string `yaml:"headers"`
	// Timeout bounds the wait for the upstream's response headers (for a
	// stream, its first byte, then each silence between its bytes) and, for
	// a whole completion, the entire answer.
	Timeout time.Duration `yaml:"timeout"`
	// MaxTokensField is the request field an OpenAI-compatible upstream
	// reads the answer's limit from: max_completion_tokens for OpenAI's API
	// (its reasoning models refuse max_tokens), max_tokens for the others,
	// some of which (Ollama) read nothing else. Empty: chosen by base_url.
	MaxTokensField string `yaml:"max_tokens_field"`
	// Completions says how an OpenAI-compatible upstream answers the
	// legacy /v1/completions: "translate" (the default) asks its chat API,
	// which every such server has; "native" sends the request as written
	// to its own /completions, which base models need (vLLM, llama.cpp)
	// and chat-only APIs (OpenAI's chat models, Groq) refuse.
	Completions string `yaml:"completions"`
	// ClientBetas are the anthropic-beta flags a client may turn on at an
	// Anthropic upstream (kind anthropic): its other flags are dropped.
	// None by default: a beta changes what the operator pays for and what
	// the upstream may do for the account (files, MCP servers, code).
	ClientBetas []string `yaml:"client_betas"`
}

// Model is a public model name and its targets, in order of preference.
type Model struct {
	Name    string   `yaml:"name"`
	OwnedBy string   `yaml:"owned_by"`
	Targets []Target `yaml:"targets"`
	// MaxTokens caps every answer of this model (0: no cap).
	MaxTokens int `yaml:"max_tokens"`
}

// Routing tunes retries and circuit breakers (see upstream.Options); zero
// values take its defaults. retries: -1 turns retries off.
type Routing struct {
	Retries         int           `yaml:"retries"`
	Backoff         time.Duration `yaml:"backoff"`
	MaxWait         time.Duration `yaml:"max_wait"`
	BreakerFailures int           `yaml:"breaker_failures"`
	BreakerCooldown time.Duration `yaml:"breaker_cooldown"`
}

// Target is a provider and the model name it is asked for.
type Target struct {
	Provider string `yaml:"provider"`
	Model    string `yaml:"model"`
	// Weight shares first attempts among targets (load balancing).
	Weight int `yaml:"weight"`
}

// Site is what the pages say about the deployment.
type Site struct {
	Name    string `yaml:"name"`
	Contact string `yaml:"contact"`
}

// DefaultConfig is the configuration with no file at all: the demo model,
// SQLite in the working directory, loopback only.
func DefaultConfig() Config {
	return Config{
		Listen:          "127.0.0.1:8080",
		AdminListen:     "127.0.0.1:9091",
		AdminTokenFile:  "lyumen-admin-token",
		Limits:          DefaultLimits(),
		Store:           "sqlite://lyumen.db",
		Spool:           Spool{Dir: "lyumen-spool", MaxBytes: 1 << 30, WhenFull: "refuse", DrainTimeout: 10 * time.Second, ShipPriority: "low"},
		TrustedProxies:  append(append([]string{}, httpapi.CloudflareRanges...), "127.0.0.0/8", "::1/128"),
		MaxBodyBytes:    16 << 20,
		LogLevel:        "info",
		ShutdownTimeout: 30 * time.Second,
		RedactSecrets:   true,
	}
}

// envRef is ${VAR} or ${VAR:-default}. "$${" stands for "${" and starts
// no reference.
var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}`)

// ParseConfig reads YAML over the defaults. ${VAR} in any value is
// replaced from getenv, its surrounding whitespace trimmed (a secret
// mounted as a file ends in a newline); ${VAR:-default} gives a default,
// and $${VAR} is the text ${VAR}. A variable that is empty or unset
// without a default is an error: a key left out would otherwise go
// unnoticed until upstreams refuse every request. A value that is one
// reference alone, unquoted, is read as the value itself would be, so
// that numbers and booleans can come from the environment too.
// Unknown fields are errors, so a typo is not silently ignored, and so is
// a second YAML document.
func ParseConfig(r io.Reader, getenv func(string) string) (Config, error) {
	c := DefaultConfig()
	raw, err := io.ReadAll(r)
	if err != nil {
		return c, fmt.Errorf("parse config: %w", err)
	}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return c, nil // an empty file is the defaults
		}
		return c, fmt.Errorf("parse config: %w", err)
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) && (err != nil || !emptyDocument(&more)) {
		return c, errors.New("parse config: more than one YAML document (---); the file holds one")
	}
	var x expansion
	x.expand(&root, getenv)
	if len(x.bad) > 0 {
		return c, fmt.Errorf("parse config: %s", strings.Join(x.bad, "; "))
	}
	if len(x.unset) > 0 {
		return c, fmt.Errorf("parse config: %s empty or unset in the environment (give ${VAR:-default} where none is fine)", strings.Join(x.unset, ", "))
	}
	// Unknown fields: a strict decode of the file as written, whose lines
	// are the file's; only its "not found" errors count (a reference is
	// not yet a value there).
	var unknown []string
	var probe Config
	strict := yaml.NewDecoder(bytes.NewReader(raw))
	strict.KnownFields(true)
	if err := strict.Decode(&probe); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return c, fmt.Errorf("parse config: %w", err)
		}
		for _, e := range te.Errors {
			if strings.Contains(e, " not found in type ") {
				unknown = append(unknown, e)
			}
		}
	}
	// Values: decoded from the expanded nodes, which keep the file's lines.
	unknown = append(unknown, fractions(&root, reflect.TypeFor[Config]())...)
	err = root.Decode(&c)
	var te *yaml.TypeError
	if errors.As(err, &te) {
		unknown = append(unknown, x.hide(te.Errors)...)
	} else if err != nil {
		return c, fmt.Errorf("parse config: %w", err)
	}
	if len(unknown) > 0 {
		return c, fmt.Errorf("parse config: yaml: unmarshal errors:\n  %s", strings.Join(unknown, "\n  "))
	}
	if c.TrustedProxies == nil {
		// A key with nothing under it (every item commented out) decodes
		// as null, which would trust no proxy at all: behind Cloudflare,
		// every client would be its edge, with one rate limit for all and
		// no country. It means the default, as no key does; [] trusts none.
		c.TrustedProxies = DefaultConfig().TrustedProxies
	}
	return c, nil
}

// nestedDefault reports a default that holds "${": the reference it
// starts ends at its first "}", so ${A:-${B}} would leave a "}" behind.
func nestedDefault(refs [][]string) bool {
	for _, m := range refs {
		if strings.Contains(m[2], "${") || strings.Contains(m[2], "\x00") {
			return true
		}
	}
	return false
}

// emptyDocument reports a document with nothing in it, as a file ending in
// "---" has.
func emptyDocument(n *yaml.Node) bool {
	return len(n.Content) == 0 || len(n.Content) == 1 && n.Content[0].Tag == "!!null" && n.Content[0].Value == ""
}

// expansion replaces references in a config's values.
type expansion struct {
	lines map[int]string // the line of each value taken from the environment, and its text as written
	unset []string       // variables empty or unset, without a default
	bad   []string       // what looks like a reference and is not one
}

// expand replaces the references in n's values. A key holding a reference
// is refused, not expanded: keys name fields, providers and models.
func (x *expansion) expand(n *yaml.Node, getenv func(string) string) {
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${") {
		// "$${" is set aside first (NUL cannot be in YAML text), so that it
		// escapes any "${", and what is left once the references are taken
		// out must hold no "${": ${A:-${B}}, ${X-d} or ${ A } would
		// otherwise go on as text.
		v := strings.ReplaceAll(n.Value, "$${", "\x00")
		refs := envRef.FindAllStringSubmatch(v, -1)
		if rest := envRef.ReplaceAllString(v, ""); strings.Contains(rest, "${") || nestedDefault(refs) {
			x.bad = append(x.bad, fmt.Sprintf("line %d: %q is not a reference this file takes (${VAR} or ${VAR:-default}; $${ is the text ${)", n.Line, n.Value))
			return
		}
		whole := n.Style == 0 && len(refs) == 1 && refs[0][0] == v
		v = envRef.ReplaceAllStringFunc(v, func(ref string) string {
			m := envRef.FindStringSubmatch(ref)
			if v := strings.TrimSpace(getenv(m[1])); v != "" {
				return v
			}
			if m[2] != "" {
				return m[2][2:]
			}
			x.unset = append(x.unset, "${"+m[1]+"}")
			return ""
		})
		if x.lines == nil {
			x.lines = map[int]string{}
		}
		x.lines[n.Line] = n.Value // as written: the reference, never its value
		n.Value = strings.ReplaceAll(v, "\x00", "${")
		switch n.Value {
		case "", "null", "Null", "NULL", "~": // would leave a field as it was, or null
		default:
			if whole {
				n.Tag = "" // resolved again from the value, as if written in the file
			}
		}
	}
	for i, c := range n.Content {
		if n.Kind == yaml.MappingNode && i%2 == 0 {
			if strings.Contains(c.Value, "${") {
				x.bad = append(x.bad, fmt.Sprintf("line %d: the key %q holds a reference; keys are not expanded", c.Line, c.Value))
			}
			continue
		}
		x.expand(c, getenv)
	}
}

// fractions finds numbers with a fraction under n given for fields of t
// that hold whole numbers, which the YAML decoder would truncate without a
// word: "weight: 0.5" became 0, and a split meant as 50/30 an even one.
func fractions(n *yaml.Node, t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.DocumentNode || n.Kind == yaml.AliasNode {
		if len(n.Content) == 0 {
			return nil
		}
		if n.Kind == yaml.AliasNode {
			return fractions(n.Alias, t)
		}
		return fractions(n.Content[0], t)
	}
	var bad []string
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if f, err := strconv.ParseFloat(n.Value, 64); n.Kind == yaml.ScalarNode && n.ShortTag() == "!!float" && err == nil && f != math.Trunc(f) {
			bad = append(bad, fmt.Sprintf("line %d: %s is not a whole number", n.Line, n.Value))
		}
	case reflect.Slice, reflect.Array:
		if n.Kind == yaml.SequenceNode {
			for _, c := range n.Content {
				bad = append(bad, fractions(c, t.Elem())...)
			}
		}
	case reflect.Map:
		if n.Kind == yaml.MappingNode {
			for i := 1; i < len(n.Content); i += 2 {
				bad = append(bad, fractions(n.Content[i], t.Elem())...)
			}
		}
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			for j := range t.NumField() {
				if name, _, _ := strings.Cut(t.Field(j).Tag.Get("yaml"), ","); name == n.Content[i].Value {
					bad = append(bad, fractions(n.Content[i+1], t.Field(j).Type)...)
				}
			}
		}
	}
	return bad
}

// applyEnv lets the environment override the file, for containers.
func (c *Config) applyEnv(getenv func(string) string) {
	// Trimmed: a value mounted from a secret file ends in a newline.
	for _, o := range []struct {
		name string
		dst  *string
	}{
		{"LYUMEN_LISTEN", &c.Listen}, {"LYUMEN_ADMIN_LISTEN", &c.AdminListen}, {"LYUMEN_STORE", &c.Store},
		{"LYUMEN_SPOOL_DIR", &c.Spool.Dir}, {"LYUMEN_LOG_LEVEL", &c.LogLevel}, {"LYUMEN_ADMIN_TOKEN", &c.AdminToken},
		{"LYUMEN_REDIS_URL", &c.Limits.RedisURL}, {"LYUMEN_REDIS_SECRET", &c.Limits.RedisSecret},
	} {
		if v := strings.TrimSpace(getenv(o.name)); v != "" {
			*o.dst = v
		}
	}
}

// withDemo adds the demo provider and model when nothing is configured, so
// the first run answers offline.
func (c *Config) withDemo() bool {
	if len(c.Providers) > 0 || len(c.Models) > 0 {
		return false
	}
	c.Providers = []Provider{{Name: "demo", Kind: "demo"}}
	c.Models = []Model{{Name: demo.ModelName, OwnedBy: "lyumen", Targets: []Target{{Provider: "demo", Model: demo.ModelName}}}}
	return true
}

// onlyDemo reports a configuration whose every provider is the built-in
// demo, which the pages must call a demo as they do when none is set.
func (c *Config) onlyDemo() bool {
	for _, p := range c.Providers {
		if p.Kind != "demo" {
			return false
		}
	}
	return len(c.Providers) > 0
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	var errs []error
	providers := map[string]bool{}
	for i, p := range c.Providers {
		switch {
		case p.Name == "":
			errs = append(errs, fmt.Errorf("providers[%d]: name is required", i))
		case providers[p.Name]:
			errs = append(errs, fmt.Errorf("providers[%d]: duplicate name %q", i, p.Name))
		}
		providers[p.Name] = true
		switch p.Kind {
		case "openai":
			if p.BaseURL == "" {
				errs = append(errs, fmt.Errorf("provider %q: base_url is required", p.Name))
			}
		case "anthropic", "gemini":
			// base_url defaults to Anthropic's or Google's API, which
			// refuse every request without a key; a server of one's own
			// (a proxy, a gateway) may take none.
			if p.BaseURL == "" && p.APIKey == "" && len(p.APIKeys) == 0 {
				errs = append(errs, fmt.Errorf("provider %q: api_key is required for kind %s on its own API", p.Name, p.Kind))
			}
		case "demo":
		default:
			errs = append(errs, fmt.Errorf("provider %q: unknown kind %q (want openai, anthropic, gemini or demo)", p.Name, p.Kind))
		}
		for _, o := range [...]struct{ key, value, a, b string }{
			{"max_tokens_field", p.MaxTokensField, "max_tokens", "max_completion_tokens"},
			{"completions", p.Completions, "translate", "native"},
		} {
			switch o.value {
			case "":
			case o.a, o.b:
				if p.Kind != "openai" {
					errs = append(errs, fmt.Errorf("provider %q: %s is for kind openai", p.Name, o.key))
				}
			default:
				errs = append(errs, fmt.Errorf("provider %q: %s %q: want %s or %s", p.Name, o.key, o.value, o.a, o.b))
			}
		}
		if len(p.ClientBetas) > 0 && p.Kind != "anthropic" {
			errs = append(errs, fmt.Errorf("provider %q: client_betas is for kind anthropic", p.Name))
		}
		for _, f := range p.ClientBetas {
			if f == "" || strings.ContainsAny(f, ", \t") {
				errs = append(errs, fmt.Errorf("provider %q: client_betas: %q is not one beta flag", p.Name, f))
			}
		}
		if p.Timeout < 0 {
			errs = append(errs, fmt.Errorf("provider %q: timeout must not be negative", p.Name))
		}
		if p.BaseURL != "" {
			// Without a scheme and host every request would fail with
			// "unsupported protocol scheme", and /privacy name no host.
			if u, err := url.Parse(p.BaseURL); err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
				errs = append(errs, fmt.Errorf("provider %q: base_url %q is not an http:// or https:// URL with a host", p.Name, redactURL(p.BaseURL)))
			}
		}
		for j, k := range p.APIKeys {
			if strings.TrimSpace(k) == "" {
				errs = append(errs, fmt.Errorf("provider %q: api_keys[%d] is empty", p.Name, j))
			}
		}
	}
	if len(c.Models) == 0 {
		errs = append(errs, errors.New("models: at least one model is required when providers are configured"))
	}
	models := map[string]bool{}
	for i, m := range c.Models {
		switch {
		case m.Name == "":
			errs = append(errs, fmt.Errorf("models[%d]: name is required", i))
		case models[m.Name]: // the catalogue would keep one, and drop the other's cap without a word
			errs = append(errs, fmt.Errorf("models[%d]: duplicate name %q", i, m.Name))
		}
		models[m.Name] = true
		if len(m.Targets) == 0 {
			errs = append(errs, fmt.Errorf("model %q: at least one target is required", m.Name))
		}
		if m.MaxTokens < 0 {
			errs = append(errs, fmt.Errorf("model %q: max_tokens must not be negative", m.Name))
		}
		for _, t := range m.Targets {
			if t.Weight < 0 || t.Weight > upstream.MaxWeight {
				errs = append(errs, fmt.Errorf("model %q: target %q: weight %d is not between 0 and %d", m.Name, t.Provider, t.Weight, upstream.MaxWeight))
			}
			if !providers[t.Provider] {
				errs = append(errs, fmt.Errorf("model %q: unknown provider %q", m.Name, t.Provider))
			}
			if t.Model == "" {
				errs = append(errs, fmt.Errorf("model %q: target on %q needs a model", m.Name, t.Provider))
			}
		}
	}
	if _, err := c.trustedPrefixes(); err != nil {
		errs = append(errs, err)
	}
	if c.Listen == "" { // not "off", as admin_listen's "" is: a random port on every address
		errs = append(errs, errors.New("listen: an address is required (host:port)"))
	}
	switch c.Spool.WhenFull {
	case "refuse", "serve_unrecorded":
	default:
		errs = append(errs, fmt.Errorf("spool.when_full: %q is neither refuse nor serve_unrecorded", c.Spool.WhenFull))
	}
	switch c.Spool.ShipPriority {
	case "low", "normal":
	default:
		errs = append(errs, fmt.Errorf("spool.ship_priority: %q is neither low nor normal", c.Spool.ShipPriority))
	}
	if c.Spool.Dir == "" {
		errs = append(errs, errors.New("spool.dir is required"))
	}
	if c.Spool.MaxBytes < 1<<20 {
		errs = append(errs, errors.New("spool.max_bytes must be at least 1 MiB"))
	}
	errs = append(errs, c.validateLimits()...)
	if c.MaxBodyBytes <= 0 {
		errs = append(errs, errors.New("max_body_bytes must be positive"))
	}
	for _, d := range [...]struct {
		key string
		v   time.Duration
	}{{"shutdown_timeout", c.ShutdownTimeout}, {"drain_delay", c.DrainDelay}, {"spool.drain_timeout", c.Spool.DrainTimeout}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative", d.key))
		}
	}
	return errors.Join(errs...)
}

func (c *Config) trustedPrefixes() ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(c.TrustedProxies))
	for _, s := range c.TrustedProxies {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s) // a single address is a /32 or /128
			if aerr != nil {
				return nil, fmt.Errorf("trusted_proxies: %q is not a CIDR or an address", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// hide replaces, in the decoder's errors, a value taken from the
// environment by the reference it came from: it may be a secret.
func (x *expansion) hide(errs []string) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		var line int
		if _, err := fmt.Sscanf(e, "line %d:", &line); err == nil {
			if ref, ok := x.lines[line]; ok {
				if a, b := strings.IndexByte(e, '`'), strings.LastIndexByte(e, '`'); a >= 0 && b > a {
					e = e[:a+1] + ref + e[b:]
				}
			}
		}
		out[i] = e
	}
	return out
}
