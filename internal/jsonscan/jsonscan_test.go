package jsonscan_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/lyumen/lyumen/internal/jsonscan"
)

var seeds = []string{
	`{}`, `[]`, `{"a":[1,-2.5e+3,true,false,null,"x\n\u00e9\"",{"b":{}}]}`, ` "s" `, `0`, `-0`, `1.`, `01`, `1e`, `-`,
	`"\u12"`, `"\x"`, "\"\x01\"", `{"a" 1}`, `{"a":1,}`, `[1,]`, `nul`, `tru`, `{"a":1}}`, `"unterminated`,
}

// FuzzValue checks that what Value accepts as a whole text, encoding/json
// does too.
func FuzzValue(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := jsonscan.New(s)
		if p.Value(0) && p.End() && !json.Valid([]byte(s)) {
			t.Errorf("Value accepted invalid JSON %q", s)
		}
	})
}

// FuzzScalars checks the readers of decoded values against encoding/json.
func FuzzScalars(f *testing.F) {
	for _, s := range append(seeds, `7`, `-12`, `1e2`, `99999999999999999999`, `1e999`, `"plain"`, `"é"`, "\"\xff\"") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if p := jsonscan.New(s); true {
			if v, ok := p.Text(); ok && p.End() {
				var want string
				if err := json.Unmarshal([]byte(s), &want); err != nil || want != v {
					t.Errorf("Text(%q) = %q; encoding/json: %q, %v", s, v, want, err)
				}
			}
		}
		if p := jsonscan.New(s); true {
			if v, null, ok := p.IntOrNull(); ok && p.End() {
				var want *int64
				if err := json.Unmarshal([]byte(s), &want); err != nil || (want == nil) != null || want != nil && *want != v {
					t.Errorf("IntOrNull(%q) = %v, null %v; encoding/json: %v, %v", s, v, null, want, err)
				}
			}
		}
		if p := jsonscan.New(s); true {
			if v, ok := p.FloatOrNull(); ok && p.End() {
				var want *float64
				if err := json.Unmarshal([]byte(s), &want); err != nil || (want == nil) != (v == nil) || want != nil && *want != *v {
					t.Errorf("FloatOrNull(%q) = %v; encoding/json: %v, %v", s, v, want, err)
				}
			}
		}
		if p := jsonscan.New(s); true {
			if v, ok := p.Index(128); ok && p.End() {
				if n, err := strconv.Atoi(strings.TrimSpace(s)); err != nil || n != v || v >= 128 {
					t.Errorf("Index(%q) = %d; Atoi: %d, %v", s, v, n, err)
				}
			}
		}
	})
}

// FuzzUnquote checks that what Unquote decodes, encoding/json decodes to
// the same string.
func FuzzUnquote(f *testing.F) {
	for _, s := range []string{`""`, `"plain"`, `"a\nb\tc\r\"d\\e\/f"`, `"\u0041"`, `"\b"`, "\"\xff\"", "\"tab\there\"", `"end\"`, `"é 日本"`, `"x"y"`, `"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, lit string) {
		got, ok := jsonscan.Unquote(lit)
		if !ok {
			return
		}
		var want string
		if err := json.Unmarshal([]byte(lit), &want); err != nil {
			t.Fatalf("Unquote(%q) = %q, but encoding/json: %v", lit, got, err)
		}
		if got != want {
			t.Errorf("Unquote(%q) = %q, encoding/json: %q", lit, got, want)
		}
	})
}
