package redact_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen/redact"
)

func TestSession_Redact(t *testing.T) {
	tests := []struct {
		name   string
		region string
		in     string
		want   string
		json   bool // RedactJSON: the text is JSON as written
	}{
		{name: "nothing to find", in: "How do I reverse a list in Python?", want: "How do I reverse a list in Python?"},
		{
			name: "same value, same number",
			in:   "Write to ana@example.org. Again: ana@example.org, or bo@example.org.",
			want: "Write to [EMAIL_1]. Again: [EMAIL_1], or [EMAIL_2].",
		},
		{
			name: "kinds are numbered apart",
			in:   "ana@example.org, +44 20 7946 0958, 4111 1111 1111 1111",
			want: "[EMAIL_1], [PHONE_1], [CARD_1]",
		},
		{name: "national phone read in the record's region", region: "GB", in: "call 020 7946 0958 today", want: "call [PHONE_1] today"},
		{name: "phone numbers at the end of sentences", in: "Call +44 20 7946 0958. Or (415) 555-2671.", want: "Call [PHONE_1]. Or [PHONE_2]."},
		{name: "dates, versions and IPs are not phones", in: "on 2024-03-15, v1.2.3, 10.0.0.1", want: "on 2024-03-15, v1.2.3, [IP_1]"},
		{name: "IBAN with spaces", in: "IBAN DE89 3704 0044 0532 0130 00.", want: "IBAN [IBAN_1]."},
		{name: "IBAN with a bad checksum stays", in: "IBAN DE88 3704 0044 0532 0130 00.", want: "IBAN DE88 3704 0044 0532 0130 00."},
		{name: "card failing Luhn stays", in: "4111 1111 1111 1112", want: "4111 1111 1111 1112"},
		{name: "IPv4 and IPv6", in: "from 203.0.113.7 and 2001:db8::8a2e:370:7334", want: "from [IP_1] and [IP_2]"},
		{name: "loopback and versions stay", in: "127.0.0.1, version 1.2.3.4, std::vector", want: "127.0.0.1, version 1.2.3.4, std::vector"},
		{name: "SSN", in: "SSN 123-45-6789", want: "SSN [NATIONAL_ID_1]"},
		{name: "password in Spanish, upper case", in: "CONTRASEÑA: Tr0ub4dor&3 y ya", want: "CONTRASEÑA: [PASSWORD_1] y ya"},
		{name: "password after a long s", in: "paſſword: Tr0ub4dor&3", want: "paſſword: [PASSWORD_1]"},
		{name: "invalid SSN area stays", in: "ref 666-45-6789", want: "ref 666-45-6789"},
		{
			name: "connection string keeps the user",
			in:   "postgres://admin:S3cr3t!x@db.example.com/prod",
			want: "postgres://admin:[PASSWORD_1]@db.example.com/prod",
		},
		{name: "placeholder password stays", in: "postgres://user:password@localhost/db", want: "postgres://user:password@localhost/db"},
		{
			name: "token in a query",
			in:   "GET https://api.example.com/v1/x?city=Oslo&access_token=Zk3mQ9xL2pR7tW4vB8nC&units=si",
			want: "GET https://api.example.com/v1/x?city=Oslo&access_token=[URL_CREDENTIAL_1]&units=si",
		},
		{
			name: "key followed by a full stop",
			in:   "My key is sk-proj-abcDEF1234567890abcDEF1234567890abcDEF1234567890abcd. Thanks",
			want: "My key is [API_KEY_1]. Thanks",
		},
		{
			name: "key in raw JSON after an escaped newline",
			in:   `{"content":"my key:\nghp_16C7e42F292c6912E7710c838347Ae178B4a"}`,
			want: `{"content":"my key:\n[API_KEY_1]"}`,
		},
		// Raw JSON stays JSON: no span starts inside an escape or ends in one.
		{name: "token after an escaped newline", json: true, in: `{"note":"key:\nA8fK2mQ9xL2pR7tW4vB8nCz5Yq1"}`, want: `{"note":"key:\n[SECRET_1]"}`},
		{name: "token after a \\u escape", json: true, in: `{"s":"caf\u00e9Xk3mQ9xL2pR7tW4vB8nCz5Yq1Ab"}`, want: `{"s":"caf\u00e9[SECRET_1]"}`},
		{name: "password holding an escaped quote", json: true, in: `{"password":"abcd\"efgh"}`, want: `{"password":"[PASSWORD_1]"}`},
		{name: "password ending at an escaped quote", json: true, in: `{"cmd":"PASS=S3cr3t!x\"rest"}`, want: `{"cmd":"PASS=[PASSWORD_1]rest"}`},
		// In other text a backslash is a character: nothing of the secret after it stays.
		{name: "key after a backslash in text", in: `key C:\AKIAZ3FJ7PQ2LXWN5RTB end`, want: `key C:\[API_KEY_1] end`},
		{name: "address after a domain's backslash", in: `CORP\john.smith@corp.com`, want: `CORP\[EMAIL_1]`},
		{name: "quoted password ending in a backslash", in: `the password: "Hunter2-Zebra\"`, want: `the password: "[PASSWORD_1]"`},
		{name: "OpenRouter key", in: "my key is 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", want: "my key is [API_KEY_1]"},
		{
			name: "addresses under countries that are file extensions",
			in:   "write to marko.petrovic@firma.rs or juan@tigo.com.py, not logo@2x.py or notes@v2.md",
			want: "write to [EMAIL_1] or [EMAIL_2], not logo@2x.py or notes@v2.md",
		},
		{name: "Mir card", region: "RU", in: "Mir card 2200 7001 2345 6781 please", want: "Mir card [CARD_1] please"},
		{name: "dotted US phone, dotted date", region: "US", in: "call me at 415.555.2671, not on 12.05.2024", want: "call me at [PHONE_1], not on 12.05.2024"},
		{
			name: "JWT",
			in:   "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
			want: "Bearer [JWT_1]",
		},
		{
			name: "private key without its END line",
			in:   "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\naFDrBz9vFqU4yQ==\n\nthat's all",
			want: "key:\n[PRIVATE_KEY_1]\n\nthat's all",
		},
		{
			// Quotes between BEGIN and END, as in code: the span still ends at END.
			name: "private key pasted as string literals",
			in: "key = (\"-----BEGIN RSA PRIVATE KEY-----\\n\"\n\"MIIEpAIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\\n\"\n" +
				"\"aFDrBz9vFqU4yQ0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPBQ==\\n\"\n\"-----END RSA PRIVATE KEY-----\\n\")",
			want: "key = (\"[PRIVATE_KEY_1]\\n\")",
		},
		{
			name: "a secret hidden in base64",
			in:   "blob: " + "YXBpX2tleTogZ2hwXzE2QzdlNDJGMjkyYzY5MTJFNzcxMGM4MzgzNDdBZTE3OEI0YQ==",
			want: "blob: [API_KEY_1]",
		},
		{name: "plain text in base64 stays", in: "aGVsbG8gd29ybGQsIHRoaXMgaXMgYSB0ZXN0", want: "aGVsbG8gd29ybGQsIHRoaXMgaXMgYSB0ZXN0"},
		{name: "hashes and UUIDs stay", in: "3f786850e387550fdab836ed7e6dc881de23001b 123e4567-e89b-12d3-a456-426614174000", want: "3f786850e387550fdab836ed7e6dc881de23001b 123e4567-e89b-12d3-a456-426614174000"},
		{name: "placeholders are not found again", in: "[EMAIL_1] wrote to [API_KEY_2]", want: "[EMAIL_1] wrote to [API_KEY_2]"},
	}
	r := newRedactor(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			redact := r.NewSession(tc.region).Redact
			if tc.json {
				redact = r.NewSession(tc.region).RedactJSON
			}
			got, _ := redact(tc.in)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Redact(%q) mismatch (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestSession_NumbersAcrossCalls(t *testing.T) {
	s := newRedactor(t).NewSession("")
	a, n1 := s.Redact("from ana@example.org")
	b, n2 := s.Redact("to bo@example.org, cc ana@example.org")
	if a != "from [EMAIL_1]" || b != "to [EMAIL_2], cc [EMAIL_1]" {
		t.Errorf("got %q and %q", a, b)
	}
	if n1 != 1 || n2 != 2 || s.Replaced() != 3 {
		t.Errorf("counts %d, %d, total %d; want 1, 2, 3", n1, n2, s.Replaced())
	}
}

func TestNew_KindsOff(t *testing.T) {
	r, err := redact.New(redact.Options{Kinds: []redact.Kind{redact.Email}})
	if err != nil {
		t.Fatal(err)
	}
	in := "ana@example.org, 4111 1111 1111 1111, ghp_16C7e42F292c6912E7710c838347Ae178B4a"
	got, _ := r.NewSession("").Redact(in)
	want := "[EMAIL_1], 4111 1111 1111 1111, ghp_16C7e42F292c6912E7710c838347Ae178B4a"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := redact.New(redact.Options{Kinds: []redact.Kind{"NOPE"}}); err == nil {
		t.Error("New accepted an unknown kind")
	}
}

func TestRedact_Idempotent(t *testing.T) {
	r := newRedactor(t)
	for _, e := range loadCorpus(t) {
		once, _ := r.NewSession(e.Region).Redact(e.Text)
		twice, n := r.NewSession(e.Region).Redact(once)
		if n != 0 {
			t.Errorf("redacting %q again replaced %d more: %q", once, n, twice)
		}
	}
}

// FuzzRedact: whatever surrounds it, a planted e-mail address and a
// planted key never survive, and redacting is idempotent.
func FuzzRedact(f *testing.F) {
	f.Add("hello ", " world")
	f.Add("", "")
	f.Add("mail:", ".")
	f.Add("{\"content\":\"", "\"}")
	f.Add("x\\n", "\\n")
	f.Add("postgres://u:", "@h/db")
	f.Add("<a href=\"mailto:", "\">")
	f.Add("😀", "ü")
	r := newRedactor(f)
	const email = "planted.person@example-mail.com"
	const key = "ghp_Pl4ntedK3yPl4ntedK3yPl4ntedK3yAbCd"
	f.Fuzz(func(t *testing.T, before, after string) {
		text := before + " " + email + " " + key + " " + after
		out, _ := r.NewSession("").Redact(text)
		if strings.Contains(out, email) {
			t.Errorf("e-mail survived in %q", out)
		}
		if strings.Contains(out, key) {
			t.Errorf("key survived in %q", out)
		}
		again, n := r.NewSession("").Redact(out)
		if n != 0 && !strings.Contains(before+after, "[") {
			t.Errorf("not idempotent: %q -> %q", out, again)
		}
		// Whatever the input, Find returns sorted spans inside the text.
		last := 0
		for _, sp := range r.Find(text, "") {
			if sp.Start < last || sp.End > len(text) || sp.Start >= sp.End {
				t.Fatalf("bad span %+v in %q", sp, text)
			}
			last = sp.End
		}
	})
}

// FuzzRedact_JSON: redacting a JSON document as raw text (a request body,
// a tool call's arguments) leaves it JSON, whatever its strings hold.
func FuzzRedact_JSON(f *testing.F) {
	f.Add("key:\nA8fK2mQ9xL2pR7tW4vB8nCz5Yq1", "x")
	f.Add("caf\u00e9Xk3mQ9xL2pR7tW4vB8nCz5Yq1Ab", "y")
	f.Add("abcd\"efgh", "password")
	f.Add("PASS=S3cr3t!x\"rest", "cmd")
	f.Add("-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA0Z3VS5JJcds3xfn\n-----END RSA PRIVATE KEY-----", "pem")
	f.Add("postgres://u:p\"w@h/db ana@example.org", "url")
	r := newRedactor(f)
	f.Fuzz(func(t *testing.T, value, key string) {
		doc, err := json.Marshal(map[string]string{key: value, "note": "a" + value})
		if err != nil {
			return
		}
		out, _ := r.NewSession("").RedactJSON(string(doc))
		if !json.Valid([]byte(out)) {
			t.Errorf("%s redacted to %s: not JSON", doc, out)
		}
	})
}

func BenchmarkSession_Redact(b *testing.B) {
	r := newRedactor(b)
	clean := strings.Repeat("Can you help me refactor this function? It reads records from a database and writes them to a file, "+
		"but loads everything into memory first. I would like it to stream rows and print progress every 10000 rows. ", 8)
	dirty := clean + " My key is sk-proj-abcDEF1234567890abcDEF1234567890abcDEF1234567890abcd and my mail ana@example.org, call +1 415 555 2671."
	for _, bc := range []struct{ name, text string }{{"clean_1.6KB", clean}, {"with_pii_1.7KB", dirty}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.text)))
			b.ReportAllocs()
			for b.Loop() {
				r.NewSession("US").Redact(bc.text)
			}
		})
	}
}
