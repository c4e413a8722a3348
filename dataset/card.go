package dataset

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Card describes the dataset for its README.md.
type Card struct {
	Name    string // a title; default "Lyumen conversations"
	License string // a Hugging Face license id; default "other"
	Format  Format
	// Source names the deployment the logs come from.
	Source string
}

// WriteFiles writes dir/stats.json and the dataset card dir/README.md.
func WriteFiles(dir string, c Card, st *Stats) error {
	var js bytes.Buffer
	if err := st.WriteJSON(&js); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "stats.json"), js.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write stats: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte(CardText(c, st)), 0o644); err != nil {
		return fmt.Errorf("write card: %w", err)
	}
	return nil
}

// sizeCategory is Hugging Face's size_categories value for n examples.
func sizeCategory(n int64) string {
	switch {
	case n < 1000:
		return "n<1K"
	case n < 10_000:
		return "1K<n<10K"
	case n < 100_000:
		return "10K<n<100K"
	case n < 1_000_000:
		return "100K<n<1M"
	case n < 10_000_000:
		return "1M<n<10M"
	case n < 100_000_000:
		return "10M<n<100M"
	}
	return "100M<n<1B"
}

// CardText renders the dataset card: YAML front matter the Hub reads
// (configs, license, languages, size category), then the statistics.
func CardText(c Card, st *Stats) string {
	if c.Name == "" {
		c.Name = "Lyumen conversations"
	}
	if c.License == "" {
		c.License = "other"
	}
	ext := "jsonl"
	if c.Format == Parquet {
		ext = "parquet"
	}
	var b strings.Builder
	b.WriteString("---\n")
	fmt.Fprintf(&b, "license: %s\n", c.License)
	var langs []string
	for _, l := range sortedKeys(st.ByLanguage) {
		if l != "unknown" && st.ByLanguage[l] >= int64(st.K) {
			langs = append(langs, l)
		}
	}
	if len(langs) > 0 {
		b.WriteString("language:\n")
		for _, l := range langs {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	fmt.Fprintf(&b, "size_categories:\n- %s\n", sizeCategory(st.Examples))
	b.WriteString("task_categories:\n- text-generation\ntags:\n- conversational\n- chat\n- lyumen\n")
	if len(st.Splits) > 0 { // an empty list is YAML's null, which the Hub refuses
		b.WriteString("configs:\n- config_name: default\n  data_files:\n")
		for _, split := range slices.Sorted(mapsKeys(st.Splits)) {
			fmt.Fprintf(&b, "  - split: %s\n    path: data/%s-*.%s\n", split, split, ext)
		}
	}
	b.WriteString("---\n\n")
	fmt.Fprintf(&b, "# %s\n\n", c.Name)
	src := "a Lyumen gateway"
	if c.Source != "" {
		src = c.Source
	}
	fmt.Fprintf(&b, "Conversations with language models served for free by %s, whose users agreed that the exchanges are recorded and released as data.\n\n", src)
	fmt.Fprintf(&b, "%d conversations", st.Examples)
	for _, split := range slices.Sorted(mapsKeys(st.Splits)) {
		fmt.Fprintf(&b, ", %d in `%s`", st.Splits[split], split)
	}
	fmt.Fprintf(&b, "; %d user turns, %d messages, %d characters; %d prompt and %d completion tokens as the upstreams counted them.\n\n",
		st.Turns, st.Messages, st.Chars, st.PromptTokens, st.CompletionTokens)

	b.WriteString("## How it was built\n\n")
	// The privacy page promises personal data out and metadata coarsened in
	// what is released: an export made with those safeguards turned off
	// says so first.
	var off []string
	if !st.Anonymized {
		off = append(off, "not anonymized")
	} else if len(st.Kept) > 0 {
		off = append(off, "some personal data kept ("+strings.Join(st.Kept, ", ")+")")
	}
	if st.K <= 1 {
		off = append(off, "every country kept, however rare")
	}
	if len(off) > 0 {
		fmt.Fprintf(&b, "- **Not for release.** This export was made with safeguards off (%s); the gateway's privacy page promises them in what is released.\n", strings.Join(off, "; "))
	}
	b.WriteString("- **Threading.** Clients resend the whole history each turn; a record whose conversation is continued by a later one is dropped, so each conversation appears once, at its longest")
	fmt.Fprintf(&b, " (%d records collapsed).\n", st.Collapsed)
	if st.Anonymized {
		b.WriteString("- **Anonymization.** E-mail addresses, phone numbers, payment cards, IBANs, IP addresses, national ID numbers, credentials in URLs, passwords, API keys, JWTs, private keys and high-entropy tokens are replaced by typed placeholders numbered per conversation (`[EMAIL_1]`, `[API_KEY_1]`, …); in the ShareGPT and Parquet exports the `redactions` field counts them per conversation.")
		var parts []string
		for _, k := range sortedKeys(st.Redactions) {
			parts = append(parts, fmt.Sprintf("%s %d", k, st.Redactions[k]))
		}
		if len(parts) > 0 {
			fmt.Fprintf(&b, " Replaced: %s.", strings.Join(parts, ", "))
		}
		if len(st.Kept) > 0 {
			fmt.Fprintf(&b, " Left as written in this export: %s.", strings.Join(st.Kept, ", "))
		}
		b.WriteString("\n")
	} else {
		b.WriteString("- **Not anonymized.** This export keeps the text as stored: secrets are scrubbed before storage only where the gateway ran with redact_secrets on (its default).\n")
	}
	if st.Dedup != nil {
		fmt.Fprintf(&b, "- **Deduplication.** Exact duplicates (normalized text) and near duplicates (MinHash of word %d-grams, %d permutations, LSH with %d bands of %d rows, estimated Jaccard ≥ %.1f) were removed: %d exact, %d near.\n",
			st.Dedup.ShingleWords, st.Dedup.Permutations, st.Dedup.Bands, st.Dedup.Rows, st.Dedup.Threshold, st.ExactDuplicates, st.NearDuplicates)
	}
	fmt.Fprintf(&b, "- **Metadata coarsened.** Times are truncated to the hour; user agents are reduced to their client family; countries with fewer than %d conversations in this dataset are left empty.\n", st.K)
	if st.TestFraction > 0 {
		fmt.Fprintf(&b, "- **Split.** About %.0f%% of conversations go to `test`, chosen by a hash of the conversation's start (seed %d), so all branches of a conversation share a split.\n", 100*st.TestFraction, st.Seed)
	}
	if st.Filter.Sample > 0 && st.Filter.Sample < 1 {
		fmt.Fprintf(&b, "- **Sample.** %.1f%% of conversations, chosen by hash with seed %d.\n", 100*st.Filter.Sample, st.Seed)
	}
	b.WriteString("\n## Fields\n\n")
	switch c.Format {
	case OpenAI:
		b.WriteString("Each line is `{\"messages\": [{\"role\", \"content\"}, …]}`, OpenAI's chat fine-tuning format; the metadata is in the ShareGPT and Parquet exports.\n")
	case ShareGPT:
		b.WriteString("Each line has `conversations` (`from`: system, human, gpt, tool; `value`) and the metadata fields below.\n")
	default:
		name := "`name` is a tool's (a user's, a participant's name, is dropped)"
		if !st.Anonymized {
			name = "`name` is a tool's or a participant's, as the client sent it"
		}
		fmt.Fprintf(&b, "`messages` is a list of `{role, content, reasoning, name, tool_calls, tool_call_id}`: `reasoning` is what a model showed of its thinking before its answer, anonymized as content is; %s; the metadata fields below are columns. The JSONL formats carry no reasoning.\n", name)
	}
	if c.Format != OpenAI { // its lines have no metadata
		metadataFields(&b)
	}
	b.WriteString("\n## Statistics\n")
	for _, t := range []struct {
		name string
		m    map[string]int64
	}{
		{"Language", st.ByLanguage}, {"Model", st.ByModel}, {"Country", st.ByCountry}, {"Surface", st.BySurface},
		{"Client", st.ByClient}, {"Turns", st.ByTurns}, {"Day", st.ByDay},
	} {
		fmt.Fprintf(&b, "\n| %s | conversations |\n|---|---:|\n", strings.ToLower(t.name))
		keys := sortedKeys(t.m)
		if t.name == "Day" || t.name == "Turns" {
			slices.Sort(keys)
		}
		for i, k := range keys {
			if i == 50 {
				fmt.Fprintf(&b, "| … %d more | |\n", len(keys)-50)
				break
			}
			fmt.Fprintf(&b, "| %s | %d |\n", k, t.m[k])
		}
	}
	b.WriteString("\nThe full figures are in `stats.json`.\n")
	return b.String()
}

// metadataFields writes the table of the metadata fields.
func metadataFields(b *strings.Builder) {
	b.WriteString("\n| field | meaning |\n|---|---|\n")
	for _, f := range [][2]string{
		{"id", "an opaque id, the same for a conversation within this export only: not the gateway's record id, which holds the exact time"}, {"hour", "when it was received, truncated to the hour (UTC)"},
		{"model", "the model the client asked for"}, {"surface", "the API it came in on"},
		{"country", "ISO 3166-1 alpha-2; empty when rare or unknown"}, {"client_family", "the client, from the user agent"},
		{"language", "ISO 639-1 of the user's messages (whatlanggo); empty when unsure"}, {"turns", "user messages"},
		{"prompt_tokens, completion_tokens", "tokens of the last exchange, as the upstream counted"},
		{"cached_tokens, reasoning_tokens", "of those, the prompt tokens read from the upstream's cache and the completion tokens spent reasoning (shown or not); 0 where the upstream did not say, and in conversations recorded before the gateway kept these counts"},
		{"chars", "characters of message text"}, {"redactions", "placeholders put in"},
	} {
		fmt.Fprintf(b, "| `%s` | %s |\n", f[0], f[1])
	}
}
