package lyumen_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/lyumen/lyumen"

// allowed lists, for each package of the module, the project packages it may
// import ("" is the root). Unlisted packages (cmd, *test, bench, mock) are free.
var allowed = map[string][]string{ // "" is the root
	"":                      {},
	"internal/sse":          {},
	"internal/jsontext":     {"internal/jsonscan"},
	"internal/jsonscan":     {},
	"internal/upstreamhttp": {""},
	"openai":                {"", "internal/sse", "internal/upstreamhttp", "internal/jsontext", "internal/jsonscan"},
	"anthropic":             {"", "internal/sse", "internal/upstreamhttp", "internal/jsontext", "internal/jsonscan"},
	"gemini":                {"", "internal/sse", "internal/upstreamhttp", "internal/jsontext", "internal/jsonscan"},
	"demo":                  {""},
	"upstream":              {""},
	"httpapi":               {"", "openai", "anthropic", "internal/sse"},
	"sqlite":                {"", "internal/pack"},
	"postgres":              {"", "internal/pack"},
	"internal/pack":         {"", "internal/jsonscan", "internal/jsontext", "internal/lowprio"},
	"spool":                 {"", "internal/lowprio"},
	"internal/lowprio":      {},
	"ratelimit":             {""},
	"redislimit":            {""},
	"admin":                 {""},
	// Datasets: redact is pure (no project imports); scrub applies it to
	// records before the store; dataset/parquet keeps parquet-go out of
	// dataset.
	"redact":                       {},
	"scrub":                        {"", "redact", "internal/pack", "internal/jsonscan", "internal/jsontext"},
	"dataset":                      {"", "redact", "dataset/internal/langprofile"},
	"dataset/internal/langprofile": {},
	"dataset/parquet":              {"", "dataset"},
}

func TestImports(t *testing.T) {
	out, err := exec.CommandContext(t.Context(), "go", "list", "-f",
		`{{.ImportPath}} {{join .Imports " "}}`, module+"/...").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, " ")
		rel := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
		ok, listed := allowed[rel]
		if !listed {
			continue
		}
		for _, imp := range strings.Fields(imports) {
			dep, inModule := strings.CutPrefix(imp, module)
			switch {
			case inModule && !slices.Contains(ok, strings.TrimPrefix(dep, "/")):
				t.Errorf("%s imports %s: not in the table in deps_test.go", pkg, imp)
			case !inModule && rel == "" && strings.Contains(strings.Split(imp, "/")[0], "."):
				t.Errorf("%s imports %s: the root uses the standard library only", pkg, imp)
			}
		}
	}
}

// TestImports_RootStandardLibraryOnly checks the root's whole dependency
// closure, not only its direct imports: every package it pulls in, however
// indirectly, must be in the standard library.
func TestImports_RootStandardLibraryOnly(t *testing.T) {
	out, err := exec.CommandContext(t.Context(), "go", "list", "-deps", "-f",
		`{{if not .Standard}}{{.ImportPath}}{{end}}`, module).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg != module {
			t.Errorf("the root depends on %s: it may use the standard library only", pkg)
		}
	}
}

// TestImports_TableNamesRealPackages keeps the table honest: a listed package
// that was renamed or removed would silently stop being checked.
func TestImports_TableNamesRealPackages(t *testing.T) {
	out, err := exec.CommandContext(t.Context(), "go", "list", module+"/...").Output()
	if err != nil {
		t.Fatal(err)
	}
	pkgs := strings.Fields(string(out))
	for rel := range allowed {
		pkg := module
		if rel != "" {
			pkg += "/" + rel
		}
		if !slices.Contains(pkgs, pkg) {
			t.Errorf("deps_test.go lists %q, which is not a package of the module", rel)
		}
	}
}
