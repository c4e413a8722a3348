package dataset

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/abadojack/whatlanggo"

	"github.com/lyumen/lyumen/dataset/internal/langprofile"
)

// clientFamilies maps the product token of a user agent (lower case, the
// text before the first '/') to the client family released. Anything else
// is "other", so a rare user agent cannot single a user out.
var clientFamilies = map[string]string{
	"openai":               "openai-sdk",
	"anthropic":            "anthropic-sdk",
	"anthropicpython":      "anthropic-sdk",
	"python-requests":      "python-requests",
	"python-httpx":         "python-httpx",
	"httpx":                "python-httpx",
	"aiohttp":              "python-aiohttp",
	"python":               "python",
	"curl":                 "curl",
	"wget":                 "wget",
	"go-http-client":       "go",
	"axios":                "axios",
	"node-fetch":           "node",
	"node":                 "node",
	"undici":               "node",
	"okhttp":               "okhttp",
	"postmanruntime":       "postman",
	"insomnia":             "insomnia",
	"langchain":            "langchain",
	"litellm":              "litellm",
	"llamaindex":           "llamaindex",
	"mozilla":              "browser",
	"dart":                 "dart",
	"reqwest":              "rust",
	"java-http-client":     "java",
	"apache-httpclient":    "java",
	"ruby":                 "ruby",
	"faraday":              "ruby",
	"guzzlehttp":           "php",
	"continue":             "continue",
	"cursor":               "cursor",
	"openwebui":            "open-webui",
	"sillytavern":          "sillytavern",
	"open-webui":           "open-webui",
	"vscode":               "vscode",
	"jetbrains":            "jetbrains",
	"aider":                "aider",
	"cline":                "cline",
	"openai-python":        "openai-sdk",
	"openai-node":          "openai-sdk",
	"anthropic-typescript": "anthropic-sdk",
}

// ClientFamily reduces a user agent to its client family: "OpenAI/Python
// 1.82.0" is openai-sdk, "curl/8.5.0" is curl, a browser is browser.
func ClientFamily(ua string) string {
	ua = strings.TrimSpace(ua)
	if ua == "" {
		return ""
	}
	token, _, _ := strings.Cut(ua, "/")
	token, _, _ = strings.Cut(token, " ")
	if f, ok := clientFamilies[strings.ToLower(token)]; ok {
		return f
	}
	return "other"
}

// languageOptions leaves out Latin-script languages rare in chats with
// language models: whatlanggo compares the text with every profile of its
// script, 300 map lookups each, so each one dropped saves ~2 µs per call.
var languageOptions = whatlanggo.Options{Blacklist: map[whatlanggo.Lang]bool{
	whatlanggo.Jav: true, whatlanggo.Orm: true, whatlanggo.Hau: true, whatlanggo.Kur: true, whatlanggo.Yor: true,
	whatlanggo.Uzb: true, whatlanggo.Ibo: true, whatlanggo.Ceb: true, whatlanggo.Tgl: true, whatlanggo.Azj: true,
	whatlanggo.Mlg: true, whatlanggo.Nya: true, whatlanggo.Kin: true, whatlanggo.Zul: true, whatlanggo.Som: true,
	whatlanggo.Ilo: true, whatlanggo.Uig: true, whatlanggo.Hat: true, whatlanggo.Aka: true, whatlanggo.Sna: true,
	whatlanggo.Run: true, whatlanggo.Tuk: true, whatlanggo.Nno: true, whatlanggo.Epo: true,
}}

// LanguageExcluded says whether Language leaves out a language (ISO 639-3,
// as whatlanggo names it): Latin-script languages rare in chats with
// language models, which would otherwise take some short English or
// Spanish texts.
func LanguageExcluded(iso6393 string) bool { return excluded[iso6393] }

// excluded and iso6391 are whatlanggo's tables by ISO 639-3 code (its
// CodeToLang walks a list on every call).
var excluded, iso6391 = func() (map[string]bool, map[string]string) {
	ex, codes := map[string]bool{}, map[string]string{}
	for l := range languageOptions.Blacklist {
		ex[l.Iso6393()] = true
	}
	for l := whatlanggo.Lang(0); l.Iso6393() != ""; l++ {
		codes[l.Iso6393()] = l.Iso6391()
	}
	return ex, codes
}()

// languageSample bounds the text given to the language detector. Its cost
// is counting and sorting the sample's trigrams, then 300 map lookups per
// candidate language; 300 characters give a trigram profile that whatlanggo
// ranks the same way as the whole text in nearly every case.
const languageSample = 300

// minConfidence is the whatlanggo confidence below which Language says "".
const minConfidence = 0.5

// Language detects the language of the user's messages: ISO 639-1, or ""
// when the detector is not confident. It is whatlanggo's method (trigram
// profiles of 84 languages, ~1 MB) rather than lingua-go, whose accurate
// mode needs 1-2 GB of models; for Latin and Cyrillic text it runs through
// an inverted index of whatlanggo's profiles (internal/langprofile), six
// times faster with the same answers. See bench/RESULTS.md ("Language detection") for its
// accuracy on whatlanggo's own test data.
func Language(msgs []Message) string {
	var b strings.Builder
	for _, m := range msgs {
		if m.Role != "user" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(m.Content)
		if b.Len() >= 4*languageSample {
			break
		}
	}
	text := b.String()
	runes := 0
	for i := range text {
		if runes == languageSample {
			text = text[:i]
			break
		}
		runes++
	}
	script := detectScript(text)
	if x := langprofile.For(script); x != nil {
		code, confidence := x.Detect(text, LanguageExcluded)
		if code == "" || confidence < minConfidence {
			return ""
		}
		return iso6391[code]
	}
	info := whatlanggo.DetectWithOptions(text, languageOptions) // one language per script, or a few
	if info.Confidence < minConfidence {
		return ""
	}
	return info.Lang.Iso6391()
}

// detectScript is whatlanggo.DetectScript, which tests every letter against
// 23 scripts' Unicode tables, with a shortcut for text below U+0500 (most
// chats: English, the other Latin languages, Russian): each character is
// looked up in scriptOf, and text whose letters are all of one script is
// of that script, as whatlanggo would count it. Anything else, a mix of
// scripts or a character from U+0500 on, goes to whatlanggo.
func detectScript(text string) *unicode.RangeTable {
	var only *unicode.RangeTable
	for i := 0; i < len(text); {
		r, n := rune(text[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(text[i:])
		}
		i += n
		if r >= rune(len(scriptOf)) {
			return whatlanggo.DetectScript(text)
		}
		switch s := scriptOf[r]; {
		case s == nil:
		case only == nil:
			only = s
		case s != only:
			return whatlanggo.DetectScript(text)
		}
	}
	return only
}

// scriptOf is, for each character below U+0500, the script whatlanggo
// counts it for, or nil: it skips spaces, punctuation, symbols and digits,
// and counts a character for each of its scripts that contains it (below
// U+0500 there is at most one).
var scriptOf = func() (t [0x500]*unicode.RangeTable) {
	for r := range rune(len(t)) {
		if langprofile.IsStop(r) {
			continue
		}
		for s := range whatlanggo.Scripts {
			if unicode.Is(s, r) {
				t[r] = s // the only one: TestScriptOf
			}
		}
	}
	return t
}()
