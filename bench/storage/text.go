package storage

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"unicode/utf8"
)

// words is the generator's vocabulary, roughly in order of frequency: common
// English first, then the technical words chat traffic is full of. Text
// drawn from it with a Zipf law compresses about as well as real prose of
// the same length (see STORAGE.md), which is what the measurement needs:
// zstd sees each message alone, so it cannot learn the vocabulary either.
var words = strings.Fields(`
the of and to a in is it you that for was on are with as be this have
from or by not but what all were we when your can said there use an each
which she do how their if will up other about out many then them these so
some her would make like him into time has look two more write go see
number no way could people my than first water been call who its now find
long down day did get come made may part over new sound take only little
work know place year live me back give most very after thing our just name
good sentence man think say great where help through much before line
right too mean old any same tell boy follow came want show also around
form three small set put end does another well large must big even such
because turn here why ask went men read need land different home us move
try kind hand picture again change off play spell air away animal house
point page letter mother answer found study still learn should world high
every near add food between own below country plant last school father
keep tree never start city earth eye light thought head under story saw
left few while along might close something seem next hard open example
begin life always those both paper together got group often run important
until children side feet car mile night walk white sea began grow took
river four carry state once book hear stop without second later miss idea
enough eat face watch far really almost let above girl sometimes mountain
cut young talk soon list song being leave family function value error
file data user model request response server client database query table
string type return code test build config key list map array object field
method class package module import version update install command option
message token prompt output input format parse json http api endpoint
service cache memory thread process loop index length size result default
example problem issue fix bug debug log timeout retry batch stream event
handler context interface struct pointer slice channel schema column row
image text document summary paragraph translation email meeting project
customer report team plan budget price product order account payment
question answer explain describe compare improve rewrite review check
simple quick better faster safer clear short detailed specific correct
`)

// identifiers feed the generated code.
var identifiers = strings.Fields(`
user users ctx err req resp data items item result results cfg config db
conn rows row key value values buf name id count total index path url
client server handler cache query params opts logger store record records
msg msgs payload body header token session order orders price amount
`)

// codeLines are the shapes of the code people paste and models write.
var codeLines = []string{
	"func %s(%s context.Context, %s string) (*%s, error) {",
	"\tif err != nil {",
	"\t\treturn nil, fmt.Errorf(\"%s %%s: %%w\", %s, err)",
	"\t}",
	"\tfor _, %s := range %s {",
	"\t%s := make(map[string]int, len(%s))",
	"\tdefer %s.Close()",
	"}",
	"def %s(%s, %s=None):",
	"    \"\"\"Return the %s for %s.\"\"\"",
	"    for %s in %s:",
	"        if %s is None:",
	"            continue",
	"    return %s",
	"const %s = await fetch(`/api/%s/${%s}`);",
	"if (!%s.ok) throw new Error(\"%s failed\");",
	"SELECT %s, count(*) FROM %s WHERE %s = $1 GROUP BY %s;",
	"    %s = %s.get(\"%s\", 0) + 1",
	"import %s",
	"print(f\"{%s}: {%s}\")",
	"\tlog.Printf(\"%s=%%v\", %s)",
	"  \"%s\": \"%s\",",
}

// text draws prose, questions, markdown answers and code from one seeded
// source.
type text struct {
	r       *rand.Rand
	z       *rand.Zipf
	foreign bool // mix in words from other languages and scripts
}

// foreignWords are what a multilingual conversation mixes in.
var foreignWords = strings.Fields(`
für über schön Größe Straße déjà café naïve français très où niño año
mañana señor Zürich São Paulo Kraków łódź 東京 日本語 データ 検索 设置 数据库
用户 запрос данные ошибка résumé 🙂 👍 ✅ →
`)

func newText(r *rand.Rand) *text {
	return &text{r: r, z: rand.NewZipf(r, 1.07, 2, uint64(len(words)-1))}
}

func (t *text) word() string {
	if t.foreign && t.r.IntN(5) == 0 {
		return foreignWords[t.r.IntN(len(foreignWords))]
	}
	return words[t.z.Uint64()]
}

// logNormal returns a length around median, spread by sigma, within [lo, hi].
func (t *text) logNormal(median, sigma float64, lo, hi int) int {
	n := int(median * math.Exp(sigma*t.r.NormFloat64()))
	return min(max(n, lo), hi)
}

func (t *text) sentence(b *strings.Builder, end string) {
	n := 5 + t.r.IntN(16)
	for i := range n {
		w := t.word()
		switch {
		case i == 0 && w[0] < utf8.RuneSelf:
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		case i == 0:
			b.WriteString(w)
		case t.r.IntN(30) == 0:
			fmt.Fprintf(b, " `%s`", identifiers[t.r.IntN(len(identifiers))])
		case t.r.IntN(12) == 0:
			b.WriteString(", " + w)
		default:
			b.WriteString(" " + w)
		}
	}
	b.WriteString(end)
}

// prose writes paragraphs of sentences until about n bytes.
func (t *text) prose(b *strings.Builder, n int) {
	start := b.Len()
	for b.Len()-start < n {
		if b.Len() > start {
			if t.r.IntN(4) == 0 {
				b.WriteString("\n\n")
			} else {
				b.WriteString(" ")
			}
		}
		t.sentence(b, ".")
	}
}

// code writes about n bytes of code.
func (t *text) code(b *strings.Builder, n int) {
	start := b.Len()
	for b.Len()-start < n {
		line := codeLines[t.r.IntN(len(codeLines))]
		args := make([]any, strings.Count(line, "%s"))
		for i := range args {
			args[i] = identifiers[t.r.IntN(len(identifiers))]
		}
		fmt.Fprintf(b, line+"\n", args...)
	}
}

// question is a user message of about n bytes: a short question, or for
// longer ones a request with pasted text or code.
func (t *text) question(n int) string {
	var b strings.Builder
	if n > 400 && t.r.IntN(3) == 0 {
		t.sentence(&b, ":\n\n```\n")
		t.code(&b, n-b.Len())
		b.WriteString("```")
		return b.String()
	}
	if n > 300 {
		t.sentence(&b, ":\n\n")
		t.prose(&b, n-b.Len()-60)
		b.WriteString("\n\n")
	}
	t.sentence(&b, "?")
	return b.String()
}

// answer is an assistant message of about n bytes in markdown: paragraphs,
// a list, now and then a heading or a code block.
func (t *text) answer(n int) string {
	var b strings.Builder
	for b.Len() < n {
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		switch k := t.r.IntN(10); {
		case k == 0 && b.Len() > 0:
			b.WriteString("### ")
			t.sentence(&b, "\n\n")
			t.prose(&b, min(n-b.Len(), 200))
		case k <= 2:
			for i := range 2 + t.r.IntN(4) {
				if i > 0 {
					b.WriteString("\n")
				}
				if k == 1 {
					fmt.Fprintf(&b, "%d. **%s**: ", i+1, t.word())
				} else {
					b.WriteString("- ")
				}
				t.sentence(&b, ".")
			}
		case k == 3 && n-b.Len() > 200:
			b.WriteString("```\n")
			t.code(&b, min(n-b.Len(), 600))
			b.WriteString("```")
		default:
			t.prose(&b, min(n-b.Len(), 400))
		}
	}
	return b.String()
}
