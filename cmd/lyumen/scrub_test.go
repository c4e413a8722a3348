package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/lyumen/lyumen/providertest"
	"github.com/lyumen/lyumen/sqlite"
)

// TestServe_SecretsNeverRestInTheStore: a key pasted into a prompt is
// scrubbed before the record is stored (redact_secrets, on by default),
// and kept when the operator turns it off.
func TestServe_SecretsNeverRestInTheStore(t *testing.T) {
	const planted = "ghp_Pl4ntedK3yPl4ntedK3yPl4ntedK3yAbCd"
	for _, tc := range []struct {
		name  string
		extra string
		kept  bool
	}{
		{name: "default scrubs"},
		{name: "redact_secrets off keeps it", extra: "redact_secrets: false\n", kept: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := providertest.NewOpenAI(t)
			dir := t.TempDir()
			cfg := writeConfig(t, dir, up.BaseURL())
			if tc.extra != "" {
				b, _ := os.ReadFile(cfg)
				os.WriteFile(cfg, append(b, tc.extra...), 0o600)
			}
			addr, _, stop := startServe(t, []string{"--config", cfg}, map[string]string{"FAKE_KEY": "sk-operator-1"})
			client := openai.NewClient(option.WithBaseURL("http://"+addr+"/v1/"), option.WithAPIKey("k"), option.WithMaxRetries(0))
			var resp *http.Response
			_, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: "gpt-test",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("why is my token " + planted + " rejected?")}},
				option.WithResponseInto(&resp))
			if err != nil {
				t.Fatal(err)
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			db, err := sqlite.Open(t.Context(), filepath.Join(dir, "lyumen.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			rec, err := db.Record(t.Context(), resp.Header.Get("X-Request-Id"))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(rec)
			all := string(b) + string(rec.Request)
			if got := strings.Contains(all, planted); got != tc.kept {
				t.Errorf("planted key in the store: %v, want %v\n%s", got, tc.kept, all)
			}
			if !tc.kept && !strings.Contains(string(rec.Request), "[API_KEY_1]") {
				t.Errorf("request body lacks the placeholder: %s", rec.Request)
			}
		})
	}
}
