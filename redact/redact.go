// Package redact finds personal data and secrets in text and replaces each
// with a typed placeholder, numbered per conversation so that references
// stay consistent: the same address is [EMAIL_1] wherever it recurs, the
// next one [EMAIL_2].
//
// What it finds, and how:
//
//	EMAIL           local@domain.tld, the TLD alphabetic and not a file extension
//	PHONE           candidates parsed and validated by libphonenumber (nyaruka/phonenumbers),
//	                in the region of the record and the default region
//	CARD            13-19 digits in card groupings, a known issuer prefix, Luhn-checked
//	IBAN            the country's length, mod-97 checksum
//	IP              IPv4 and IPv6 (net/netip), not loopback, unspecified or netmasks
//	NATIONAL_ID     US SSN, UK NINO, Canadian SIN (Luhn), Spanish DNI/NIE (check letter),
//	                Brazilian CPF (check digits), Indian Aadhaar (Verhoeff), Chinese
//	                resident ID (ISO 7064), each in its written format
//	URL_CREDENTIAL  the password or token in a URL's userinfo or query
//	PASSWORD        passwords in connection strings (postgres://u:p@…, Password=…;) and
//	                assignments (password: "…")
//	API_KEY         provider and cloud keys: gitleaks' rule set (220 tested rules), plus
//	                the LLM-provider key formats its rules miss at some boundaries
//	JWT             three base64url segments whose header decodes to JSON
//	PRIVATE_KEY     PEM private key blocks, with or without their END line
//	SECRET          gitleaks' generic assignments and high-entropy tokens
//
// Base64 and hex blobs are decoded and the decoded text scanned as well; a
// blob that hides something is replaced whole. A Redactor is immutable and
// safe for concurrent use; a Session numbers placeholders for one
// conversation and is not.
package redact

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Kind is the type of a finding; placeholders are [KIND_n].
type Kind string

// The kinds a Redactor finds.
const (
	Email         Kind = "EMAIL"
	Phone         Kind = "PHONE"
	Card          Kind = "CARD"
	IBAN          Kind = "IBAN"
	IP            Kind = "IP"
	NationalID    Kind = "NATIONAL_ID"
	URLCredential Kind = "URL_CREDENTIAL"
	Password      Kind = "PASSWORD"
	APIKey        Kind = "API_KEY"
	JWT           Kind = "JWT"
	PrivateKey    Kind = "PRIVATE_KEY"
	Secret        Kind = "SECRET"
)

// Kinds returns every kind, personal data first.
func Kinds() []Kind {
	return []Kind{Email, Phone, Card, IBAN, IP, NationalID, URLCredential, Password, APIKey, JWT, PrivateKey, Secret}
}

// SecretKinds returns the kinds that are credentials rather than personal
// data: what must never rest in the store.
func SecretKinds() []Kind {
	return []Kind{URLCredential, Password, APIKey, JWT, PrivateKey, Secret}
}

// ParseKind reads a kind by name, case-insensitively.
func ParseKind(s string) (Kind, error) {
	k := Kind(strings.ToUpper(strings.TrimSpace(s)))
	if !slices.Contains(Kinds(), k) {
		return "", fmt.Errorf("unknown kind %q", s)
	}
	return k, nil
}

// Span is one finding: text[Start:End] is of kind Kind.
type Span struct {
	Start, End int
	Kind       Kind
}

// Options configures a Redactor.
type Options struct {
	// Kinds to find; nil means all of Kinds().
	Kinds []Kind
	// Region is the ISO 3166-1 alpha-2 region that phone numbers written
	// without a country code are read in when the caller gives none;
	// default "US".
	Region string
}

// Redactor finds and replaces. Build one with New and share it.
type Redactor struct {
	on     map[Kind]bool
	region string
	rules  *ruleSet // gitleaks' rules; nil when no secret kind is on
}

// New compiles the rules. Loading gitleaks' rule set takes about 0.1 s:
// build one Redactor per process.
func New(o Options) (*Redactor, error) {
	r := &Redactor{on: map[Kind]bool{}, region: strings.ToUpper(o.Region)}
	if r.region == "" {
		r.region = "US"
	}
	kinds := o.Kinds
	if kinds == nil {
		kinds = Kinds()
	}
	for _, k := range kinds {
		if !slices.Contains(Kinds(), k) {
			return nil, fmt.Errorf("new redactor: unknown kind %q", k)
		}
		r.on[k] = true
	}
	if r.on[APIKey] || r.on[Secret] || r.on[JWT] || r.on[PrivateKey] || r.on[Password] {
		rs, err := loadRules()
		if err != nil {
			return nil, fmt.Errorf("new redactor: %w", err)
		}
		r.rules = rs
	}
	return r, nil
}

// finding is a span with the priority that settles overlaps: when two
// findings overlap, the lower priority number wins.
type finding struct {
	Span
	prio int
}

// Priorities: specific formats beat generic ones.
const (
	prioPrivateKey = iota
	prioJWT
	prioURL
	prioPassword
	prioProviderKey
	prioEmail
	prioIBAN
	prioCard
	prioNationalID
	prioIP
	prioPhone
	prioDecoded
	prioGeneric
)

// Find returns the findings in text, sorted and not overlapping. region is
// the ISO 3166-1 alpha-2 region phone numbers without a country code are
// read in first ("" for only the Redactor's default).
func (r *Redactor) Find(text, region string) []Span {
	fs := r.find(text, strings.ToUpper(region), 0, false)
	out := make([]Span, len(fs))
	for i, f := range fs {
		out[i] = f.Span
	}
	return out
}

// maxDepth bounds decoding: a blob inside a decoded blob is scanned, one
// inside that is not decoded again.
const maxDepth = 2

// find runs every detector on text. raw says text is JSON as written (a
// body, a tool call's arguments), where a backslash starts an escape: a
// span is kept off the escapes, and \" does not end a quoted password. In
// other text a backslash is a character like any other.
func (r *Redactor) find(text, region string, depth int, raw bool) []finding {
	if len(text) < 6 {
		return nil
	}
	var fs []finding
	add := func(start, end int, k Kind, prio int) {
		// A span that cut a JSON escape in two would leave a backslash
		// before a placeholder, or a \u without its digits: redacted raw
		// JSON (a body, a tool call's arguments) must stay JSON. An escape
		// a span starts in is left out, one it ends in is taken whole.
		if raw {
			start, end = pastEscape(text, start), pastEscape(text, end)
		}
		if r.on[k] && start < end {
			fs = append(fs, finding{Span{start, end, k}, prio})
		}
	}
	r.findSecrets(text, asciiLower(text), add, depth, raw)
	r.findPII(text, region, add)
	if len(fs) == 0 {
		return nil
	}
	return resolve(fs)
}

// pastEscape returns i, or when i falls inside a JSON escape (after its
// backslash, before its end: \n, \", \u00e9), the index after that escape.
func pastEscape(text string, i int) int {
	for b := i - 1; b >= 0 && b >= i-5; b-- {
		if text[b] != '\\' {
			continue
		}
		if escaped(text, b) { // the second of \\, which ends before i
			return i
		}
		end := b + 2
		if b+1 < len(text) && text[b+1] == 'u' {
			end = b + 6
		}
		if end > i {
			return min(end, len(text))
		}
		return i
	}
	return i
}

// resolve keeps, of overlapping findings, the one of lowest priority
// number (then the earliest, then the longest), and sorts by position.
func resolve(fs []finding) []finding {
	slices.SortFunc(fs, func(a, b finding) int {
		return cmp.Or(cmp.Compare(a.prio, b.prio), cmp.Compare(a.Start, b.Start), cmp.Compare(b.End, a.End))
	})
	kept := fs[:0:0]
	for _, f := range fs {
		overlaps := false
		for _, k := range kept {
			if f.Start < k.End && k.Start < f.End {
				overlaps = true
				break
			}
		}
		if !overlaps {
			kept = append(kept, f)
		}
	}
	slices.SortFunc(kept, func(a, b finding) int { return cmp.Compare(a.Start, b.Start) })
	return kept
}

// Session numbers placeholders for one conversation: the same value of the
// same kind gets the same number every time. Not safe for concurrent use.
type Session struct {
	r      *Redactor
	region string
	ids    map[string]int // kind + "\x00" + value → number
	next   map[Kind]int
	counts map[Kind]int
	n      int
}

// Off returns the kinds this Redactor leaves as written, in Kinds' order.
func (r *Redactor) Off() []Kind {
	var off []Kind
	for _, k := range Kinds() {
		if !r.on[k] {
			off = append(off, k)
		}
	}
	return off
}

// NewSession starts numbering for one conversation. region is the record's
// country (ISO 3166-1 alpha-2, "" when unknown), the first region phone
// numbers are read in.
func (r *Redactor) NewSession(region string) *Session {
	return &Session{r: r, region: strings.ToUpper(region)}
}

// Redact returns text with every finding replaced by its placeholder, and
// how many it replaced. Text without findings is returned as it is.
func (s *Session) Redact(text string) (string, int) { return s.redact(text, false) }

// RedactJSON is Redact for JSON as written: a body, a tool call's
// arguments. Its escapes are kept whole, so JSON stays JSON.
func (s *Session) RedactJSON(text string) (string, int) { return s.redact(text, true) }

func (s *Session) redact(text string, raw bool) (string, int) {
	fs := s.r.find(text, s.region, 0, raw)
	if len(fs) == 0 {
		return text, 0
	}
	var b strings.Builder
	b.Grow(len(text))
	last := 0
	for _, f := range fs {
		b.WriteString(text[last:f.Start])
		b.WriteString(s.placeholder(f.Kind, text[f.Start:f.End]))
		last = f.End
	}
	b.WriteString(text[last:])
	s.n += len(fs)
	return b.String(), len(fs)
}

// Replaced is how many findings the session has replaced so far.
func (s *Session) Replaced() int { return s.n }

// Counts returns how many findings of each kind the session has replaced.
func (s *Session) Counts() map[Kind]int {
	out := make(map[Kind]int, len(s.counts))
	for k, n := range s.counts {
		out[k] = n
	}
	return out
}

func (s *Session) placeholder(k Kind, value string) string {
	if s.ids == nil {
		s.ids, s.next, s.counts = map[string]int{}, map[Kind]int{}, map[Kind]int{}
	}
	s.counts[k]++
	key := string(k) + "\x00" + value
	n, ok := s.ids[key]
	if !ok {
		s.next[k]++
		n = s.next[k]
		s.ids[key] = n
	}
	return "[" + string(k) + "_" + strconv.Itoa(n) + "]"
}
