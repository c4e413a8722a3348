// Package golden compares test output with golden files and rewrites them
// under -update, as go/printer's tests do. It is for tests only.
package golden

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// update is set by the test binary's -update flag. Test packages that
// import golden must not define a flag of that name themselves.
var update = flag.Bool("update", false, "rewrite golden files")

// Check compares got with the file at path, or writes it there under
// -update. JSON is indented first: the encoders emit no insignificant
// whitespace, so nothing is lost, and the diffs of golden files stay
// readable.
func Check(tb testing.TB, path string, got []byte) {
	tb.Helper()
	if json.Valid(got) {
		var buf bytes.Buffer
		if err := json.Indent(&buf, got, "", "  "); err != nil {
			tb.Fatal(err)
		}
		buf.WriteByte('\n')
		got = buf.Bytes()
	}
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		tb.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}
