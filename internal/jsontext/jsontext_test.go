package jsontext_test

import (
	"bytes"
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

func FuzzAppendStringRaw(f *testing.F) {
	for _, s := range jsontext.Strings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		if got := jsontext.AppendStringRaw([]byte("x"), s); string(got)+"\n" != "x"+want.String() {
			t.Errorf("AppendStringRaw(%q) = %s, want x%s", s, got, want.String())
		}
	})
}

func FuzzAppendFloat(f *testing.F) {
	for _, x := range []float64{0, 1, 0.7, -2.5, 1e-6, 9.99e-7, 1e-7, 1e20, 1e21, 123456789e15, 5e-324, 1.7976931348623157e308} {
		f.Add(x)
	}
	f.Fuzz(func(t *testing.T, x float64) {
		want, err := json.Marshal(x)
		if err != nil {
			t.Skip("not finite")
		}
		if got := jsontext.AppendFloat([]byte("x"), x); string(got) != "x"+string(want) {
			t.Errorf("AppendFloat(%v) = %s, want x%s", x, got, want)
		}
	})
}

func TestAppendStrings(t *testing.T) {
	for _, ss := range [][]string{{}, {"one"}, jsontext.Strings} {
		want, _ := json.Marshal(ss)
		if got := jsontext.AppendStrings([]byte("x"), ss); string(got) != "x"+string(want) {
			t.Errorf("AppendStrings(%q) = %s, want x%s", ss, got, want)
		}
	}
}
