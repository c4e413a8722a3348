package jsontext_test

import (
	"encoding/json"
	"testing"

	"github.com/lyumen/lyumen/internal/jsontext"
)

func FuzzAppendString(f *testing.F) {
	for _, s := range jsontext.Strings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := jsontext.AppendString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Errorf("AppendString(%q) = %s, want x%s", s, got, want)
		}
	})
}
