// Package datasettest has what tests of dataset exports share: planted
// canaries, records that carry them, and a Source over records in memory.
package datasettest

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lyumen/lyumen"
)

// Source is a dataset.Source over records in memory.
type Source []*lyumen.Record

// Scan calls fn with a copy of each record in [from, to), by received_at
// then id.
func (m Source) Scan(ctx context.Context, from, to time.Time, fn func(*lyumen.Record) error) error {
	return m.scan(ctx, from, to, false, fn)
}

// ScanConversationsBackward is Scan newest first.
func (m Source) ScanConversationsBackward(ctx context.Context, from, to time.Time, fn func(*lyumen.Record) error) error {
	return m.scan(ctx, from, to, true, fn)
}

func (m Source) scan(ctx context.Context, from, to time.Time, backward bool, fn func(*lyumen.Record) error) error {
	recs := slices.Clone(m)
	slices.SortStableFunc(recs, func(a, b *lyumen.Record) int {
		if c := a.ReceivedAt.Compare(b.ReceivedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	if backward {
		slices.Reverse(recs)
	}
	for _, r := range recs {
		if !from.IsZero() && r.ReceivedAt.Before(from) || !to.IsZero() && !r.ReceivedAt.Before(to) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		c := *r
		if err := fn(&c); err != nil {
			return err
		}
	}
	return nil
}

// T0 is when Rec's minute 0 falls.
var T0 = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)

// Rec builds a completed record at minute min whose conversation is msgs
// (alternating user and assistant, starting with user) and whose answer is
// answer.
func Rec(id string, min int, answer string, msgs ...string) *lyumen.Record {
	var conv []lyumen.Message
	for i, m := range msgs {
		role := "user"
		if i%2 == 1 {
			role = "assistant"
		}
		conv = append(conv, lyumen.Message{Role: role, Content: m})
	}
	return &lyumen.Record{
		ID: id, ReceivedAt: T0.Add(time.Duration(min) * time.Minute), Surface: lyumen.SurfaceOpenAIChat,
		Model: "m", Status: 200, Completeness: lyumen.Complete, Country: "DE", UserAgent: "OpenAI/Python 1.82.0",
		Conversation: &lyumen.Conversation{Messages: conv},
		Response:     &lyumen.Response{Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant", Content: answer}}}},
		Usage:        lyumen.Usage{PromptTokens: 10 * len(msgs), CompletionTokens: 5},
	}
}

// Canaries are fake secrets and personal data of every kind redact
// finds, each valid for its checks (Luhn, mod 97, libphonenumber, …).
var Canaries = []string{
	"canary.person@example-mail.org",
	"+44 20 7946 0958",
	"(415) 555-2671",
	"4111 1111 1111 1111",
	"5500-0000-0000-0004",
	"DE89 3704 0044 0532 0130 00",
	"GB82WEST12345698765432",
	"203.0.113.77",
	"2001:db8:85a3::8a2e:370:7334",
	"123-45-6789",
	"AB 12 34 56 C",
	"12345678Z",
	"529.982.247-25",
	"C4n4ryP4ssw0rd!",
	"Zk3mQ9xL2pR7tW4vB8nCq",
	"AKIAZ3FJ7PQ2LXWN5RTB",
	"ghp_Cn4ryT0k3nCn4ryT0k3nCn4ryT0k3nAbCd",
	"sk-proj-Cn4ryCn4ryCn4ryCn4ry0123456789abcdefABCDEFxyzXYZ",
	"xoxb-123456789012-1234567890123-Cn4ryCn4ryCn4ryCn4ryCn4r",
	"AIzaSyCn4ryCn4ryCn4ryCn4ryCn4ryCn4ry12",
	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJjYW5hcnkiLCJpYXQiOjE3MDAwMDAwMDB9.Cn4rySigCn4rySigCn4rySigCn4rySig0123456",
	"MIIEpAIBAAKCAQEAcn4rycn4rycn4ryCN4RYCN4RY0123456789cn4rycn4ryCN4RY",
	"wJalrXUtnFEMI/K7MDENG/bPxRfiCYCn4ry0123",
	"Y2FuYXJ5LWtleTogZ2hwX0NuNHJ5VDBrM25DbjRyeVQwazNuQ240cnlUMGszbkFiQ2Q=",
}

// CanaryRecords plants every canary: in the system prompt, user turns,
// the answer and tool-call arguments, across a threaded conversation.
func CanaryRecords() []*lyumen.Record {
	c := Canaries
	sys := "You are a support bot. Escalate to " + c[0] + " or call " + c[1] + "."
	turn1 := "My card " + c[3] + " was charged twice, my IBAN is " + c[5] + ", call me at " + c[2] + "."
	ans1 := "Sorry to hear that. I will refund to " + c[6] + " if that is your other account."
	turn2 := "Also my server " + c[7] + " and " + c[8] + " were hit. SSN " + c[9] + ", NINO " + c[10] + ", DNI " + c[11] + ", CPF " + c[12] + "."
	turn3 := "Here's my config:\nDATABASE_URL=postgres://app:" + c[13] + "@db.internal/prod\nWEBHOOK=https://hooks.example.com/x?token=" + c[14] +
		"\nAWS_ACCESS_KEY_ID=" + c[15] + "\naws_secret_access_key = " + c[22] + "\nGITHUB_TOKEN=" + c[16] + "\nmy key is " + c[17] + ".\n" +
		"slack: " + c[18] + "\nmaps: " + c[19] + "\nAuthorization: Bearer " + c[20] + "\n-----BEGIN RSA PRIVATE KEY-----\n" + c[21] +
		"\n-----END RSA PRIVATE KEY-----\nblob: " + c[23]
	r1 := Rec("00000000-0000-7000-8000-000000000001", 0, ans1, turn1)
	r2 := Rec("00000000-0000-7000-8000-000000000002", 1, "Noted, card "+c[4]+" as well?", turn1, ans1, turn2)
	r3 := Rec("00000000-0000-7000-8000-000000000003", 2, "Rotate "+c[16]+" now.", turn1, ans1, turn2, "Noted, card "+c[4]+" as well?", turn3)
	for _, r := range []*lyumen.Record{r1, r2, r3} {
		r.Conversation.Messages = append([]lyumen.Message{{Role: "system", Content: sys}}, r.Conversation.Messages...)
	}
	r3.Response.Choices[0].Message.ToolCalls = []lyumen.ToolCall{{ID: "call_1", Name: "send_email", Arguments: `{"to":"` + c[0] + `","card":"` + c[3] + `"}`}}
	// A model's reasoning restates what it read.
	r3.Response.Choices[0].Message.Reasoning = "The user at " + c[2] + " pasted " + c[16] + " and card " + c[3] + "; mail " + c[0] + "."
	return []*lyumen.Record{r1, r2, r3}
}

// Leaks returns the canaries found in any file under dir, as they
// are or JSON-escaped.
func Leaks(tb testing.TB, dir string, canaries []string) []string {
	tb.Helper()
	var all bytes.Buffer
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		all.Write(b)
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	var leaked []string
	for _, c := range canaries {
		esc, _ := json.Marshal(c)
		if bytes.Contains(all.Bytes(), []byte(c)) || bytes.Contains(all.Bytes(), esc[1:len(esc)-1]) {
			leaked = append(leaked, c)
		}
	}
	return leaked
}
