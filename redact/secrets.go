package redact

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/coregx/ahocorasick"
	"github.com/spf13/viper"
	"github.com/zricethezav/gitleaks/v8/config"
)

// ruleSet is gitleaks' default rule set, run by a small engine of our own:
// gitleaks' detector builds a logger and checks paths and commits for every
// rule on every call, which costs ~0.2 ms per clean kilobyte; this engine
// runs only the rules whose keywords occur, with the same regular
// expressions, secret groups, entropy thresholds and allowlists.
// TestRules_AgreeWithGitleaks checks the two agree on the labelled corpus.
type ruleSet struct {
	rules     []glRule
	keywords  []string // by the trie's pattern ids
	trie      *ahocorasick.Automaton
	byKeyword map[string][]int // keyword → indexes into rules
	always    []int            // rules without keywords
	global    []*config.Allowlist
}

type glRule struct {
	id      string
	kind    Kind
	re      *regexp.Regexp
	group   int
	entropy float64
	allow   []*config.Allowlist
}

// loadRules reads gitleaks' embedded default configuration through a viper
// instance of our own (gitleaks' NewDetectorDefaultConfig uses the global one).
func loadRules() (*ruleSet, error) {
	v := viper.New()
	v.SetConfigType("toml")
	if err := v.ReadConfig(strings.NewReader(config.DefaultConfig)); err != nil {
		return nil, fmt.Errorf("read gitleaks rules: %w", err)
	}
	var vc config.ViperConfig
	if err := v.Unmarshal(&vc); err != nil {
		return nil, fmt.Errorf("read gitleaks rules: %w", err)
	}
	cfg, err := vc.Translate()
	if err != nil {
		return nil, fmt.Errorf("read gitleaks rules: %w", err)
	}
	rs := &ruleSet{byKeyword: map[string][]int{}, global: cfg.Allowlists}
	var keywords []string
	for _, id := range cfg.OrderedRules {
		r := cfg.Rules[id]
		// Rules tied to file paths and rules that only feed others do not
		// apply to chat text.
		if r.Regex == nil || r.Path != nil || r.SkipReport || len(r.RequiredRules) > 0 || replacedRules[r.RuleID] {
			continue
		}
		idx := len(rs.rules)
		rs.rules = append(rs.rules, glRule{id: r.RuleID, kind: ruleKind(r.RuleID), re: r.Regex,
			group: r.SecretGroup, entropy: r.Entropy, allow: r.Allowlists})
		if len(r.Keywords) == 0 {
			rs.always = append(rs.always, idx)
		}
		for _, k := range r.Keywords {
			k = strings.ToLower(k)
			if _, ok := rs.byKeyword[k]; !ok {
				keywords = append(keywords, k)
			}
			rs.byKeyword[k] = append(rs.byKeyword[k], idx)
		}
	}
	rs.keywords = keywords
	if rs.trie, err = ahocorasick.NewBuilder().AddStrings(keywords).Build(); err != nil {
		return nil, fmt.Errorf("gitleaks keywords: %w", err)
	}
	return rs, nil
}

func ruleKind(id string) Kind {
	switch {
	case strings.HasPrefix(id, "jwt"):
		return JWT
	case id == "private-key":
		return PrivateKey
	case id == "generic-api-key":
		return Secret
	case strings.Contains(id, "password"):
		return Password
	}
	return APIKey
}

// Rules replaced by dedicated scanners here: gitleaks' private-key regex
// backtracks for milliseconds over a key block and needs the END line;
// its JWT rules need a space or quote after the token and are slow on text
// full of "ey". findPrivateKeys and findJWTs do both better.
var replacedRules = map[string]bool{"private-key": true, "jwt": true, "jwt-base64": true}

// Windows around a keyword occurrence that a rule's regex runs on. No
// rule left matches more than a few hundred bytes; a match that touches a
// window's cut edge is looked for again in the whole text.
const (
	windowBefore = 160
	windowAfter  = 480
)

// run reports every finding of the rule set in text; lower is text in
// ASCII lower case.
func (rs *ruleSet) run(text, lower string, add addFunc) {
	var hits map[int][]int // rule → keyword positions
	// The text is only read: no copy to []byte.
	for _, m := range rs.trie.FindAllOverlapping(unsafe.Slice(unsafe.StringData(lower), len(lower))) {
		kw, pos := rs.keywords[m.PatternID], m.Start
		for _, i := range rs.byKeyword[kw] {
			if rs.rules[i].id == "generic-api-key" && !assignmentAfter(lower, pos+len(kw)) ||
				kw == "s." && !startsWord(lower, pos) { // vault's \bs\.: "records." is not one
				continue
			}
			if hits == nil {
				hits = map[int][]int{}
			}
			hits[i] = append(hits[i], pos)
		}
	}
	for _, i := range rs.always {
		rs.rules[i].run(text, 0, len(text), rs.global, add)
	}
	// In rule order, so results do not depend on map order; only the
	// rules hit, as most texts hit none of the hundreds.
	ids := make([]int, 0, len(hits))
	for i := range hits {
		ids = append(ids, i)
	}
	slices.Sort(ids)
	for _, i := range ids {
		ps := hits[i]
		r := &rs.rules[i]
		start, end := -1, -1
		for _, p := range ps { // in order of where the keyword ends
			ws, we := max(0, p-windowBefore), min(len(text), p+windowAfter)
			if start >= 0 && ws <= end {
				start, end = min(start, ws), max(end, we) // a longer keyword may start earlier
				continue
			}
			if start >= 0 && !r.run(text, start, end, rs.global, add) {
				r.run(text, 0, len(text), rs.global, add)
				start = -2
				break
			}
			start, end = ws, we
		}
		if start >= 0 && !r.run(text, start, end, rs.global, add) {
			r.run(text, 0, len(text), rs.global, add)
		}
	}
}

// assignmentAfter is a necessary condition for gitleaks' generic-api-key
// rule, whose regex costs ~1 ms per kilobyte: within 30 bytes after the
// keyword an assignment (= : > | ,) followed, within 6 bytes, by a value of
// at least 10 characters.
func assignmentAfter(lower string, i int) bool {
	for j := i; j < min(len(lower), i+30); j++ {
		if strings.IndexByte("=:>|,", lower[j]) < 0 {
			continue
		}
		k := j + 1
		for k < len(lower) && k <= j+6 && strings.IndexByte("`'\" \t\n=:>|", lower[k]) >= 0 {
			k++
		}
		n := 0
		for k+n < len(lower) && (isWord(lower[k+n]) || strings.IndexByte(".=+/-", lower[k+n]) >= 0) {
			n++
		}
		if n >= 10 {
			return true
		}
	}
	return false
}

// run reports the rule's findings in text[start:end]. It returns false,
// having reported nothing, when a match touches a cut edge of the window.
func (r *glRule) run(text string, start, end int, global []*config.Allowlist, add addFunc) bool {
	window := text[start:end]
	ms := r.re.FindAllStringSubmatchIndex(window, -1)
	for _, m := range ms {
		if m[0] == 0 && start > 0 || m[1] == len(window) && end < len(text) {
			return false
		}
	}
	for _, m := range ms {
		for k := range m {
			if m[k] >= 0 {
				m[k] += start
			}
		}
		mStart, mEnd := m[0], m[1]
		for mEnd > mStart && text[mEnd-1] == '\n' {
			mEnd--
		}
		for mStart < mEnd && text[mStart] == '\n' {
			mStart++
		}
		sStart, sEnd := mStart, mEnd
		if len(m) >= 4 {
			if r.group > 0 && 2*r.group+1 < len(m) && m[2*r.group] >= 0 {
				sStart, sEnd = m[2*r.group], m[2*r.group+1]
			} else if r.group == 0 {
				for g := 1; 2*g+1 < len(m); g++ {
					if m[2*g] >= 0 && m[2*g+1] > m[2*g] {
						sStart, sEnd = m[2*g], m[2*g+1]
						break
					}
				}
			}
		}
		secret := text[sStart:sEnd]
		if secret == "" || r.entropy != 0 && entropy(secret) <= r.entropy {
			continue
		}
		match := text[mStart:mEnd]
		line := lineAround(text, mStart, mEnd)
		if allowed(global, secret, match, line) || allowed(r.allow, secret, match, line) {
			continue
		}
		prio := prioProviderKey
		if r.kind == Secret {
			prio = prioGeneric
		}
		add(sStart, sEnd, r.kind, prio)
	}
	return true
}

// allowed applies gitleaks' allowlists the way its detector does for a
// finding with no file path and no commit.
func allowed(lists []*config.Allowlist, secret, match, line string) bool {
	for _, a := range lists {
		target := secret
		switch a.RegexTarget {
		case "match":
			target = match
		case "line":
			target = line
		}
		regexOK := a.RegexAllowed(target)
		stop, _ := a.ContainsStopWord(secret)
		if a.MatchCondition == config.AllowlistMatchAnd {
			checks := []bool{}
			if len(a.Commits) > 0 || len(a.Paths) > 0 {
				checks = append(checks, false)
			}
			if len(a.Regexes) > 0 {
				checks = append(checks, regexOK)
			}
			if len(a.StopWords) > 0 {
				checks = append(checks, stop)
			}
			all := true
			for _, c := range checks {
				all = all && c
			}
			if all {
				return true
			}
			continue
		}
		if regexOK || stop {
			return true
		}
	}
	return false
}

func lineAround(text string, start, end int) string {
	s := strings.LastIndexByte(text[:start], '\n') + 1
	e := strings.IndexByte(text[end:], '\n')
	if e < 0 {
		return text[s:]
	}
	return text[s : end+e]
}

// entropy is the Shannon entropy of s in bits per character, as gitleaks
// computes it.
func entropy(s string) float64 {
	if s == "" {
		return 0
	}
	var counts [256]int
	var other map[rune]int
	n := 0
	for _, c := range s {
		n++
		if c < 256 {
			counts[c]++
		} else {
			if other == nil {
				other = map[rune]int{}
			}
			other[c]++
		}
	}
	inv := 1 / float64(len(s))
	h := 0.0
	for _, c := range counts {
		if c > 0 {
			f := float64(c) * inv
			h -= f * math.Log2(f)
		}
	}
	for _, c := range other {
		f := float64(c) * inv
		h -= f * math.Log2(f)
	}
	return h
}

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if isUpper(s[i]) {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if isUpper(b[j]) {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// findSecrets runs the secret detectors; lower is text in ASCII lower case.
func (r *Redactor) findSecrets(text, lower string, add addFunc, depth int, raw bool) {
	if r.on[PrivateKey] {
		findPrivateKeys(text, add)
	}
	if r.on[JWT] {
		findJWTs(text, add)
	}
	if r.on[URLCredential] || r.on[Password] {
		findURLCredentials(text, add)
	}
	if r.on[Password] {
		findPasswords(text, lower, add, raw)
	}
	if r.on[APIKey] {
		findProviderKeys(text, add)
	}
	if r.rules != nil {
		r.rules.run(text, lower, add)
	}
	r.findTokens(text, add, depth)
}

// --- private keys ---------------------------------------------------------

func findPrivateKeys(text string, add addFunc) {
	for off := 0; ; {
		b := strings.Index(text[off:], "-----BEGIN ")
		if b < 0 {
			return
		}
		b += off
		off = b + 11
		hdrEnd := strings.Index(text[off:min(len(text), off+100)], "-----")
		if hdrEnd < 0 || !strings.Contains(text[off:off+hdrEnd], "PRIVATE KEY") {
			continue
		}
		body := off + hdrEnd + 5
		end := body
		if e := strings.Index(text[body:], "-----END "); e >= 0 {
			if f := strings.Index(text[body+e+9:], "-----"); f >= 0 && f < 100 {
				end = body + e + 9 + f + 5
			}
		}
		if end == body { // no END line: the lines of base64 (and headers) that follow
			end = keyLinesEnd(text, body)
		}
		add(b, end, PrivateKey, prioPrivateKey)
		off = end
	}
}

// keyLinesEnd returns where the lines of a key body starting at i end: at
// the first line (split at newlines or their JSON escapes) that is empty or
// holds anything but base64, spaces (a key flattened onto one line) or a
// "Name: value" header. Redacting a little prose after a key is the safe
// side.
func keyLinesEnd(text string, i int) int {
	end := i
	pos := skipBreak(text, i)
	for pos < len(text) {
		j := pos
		for j < len(text) && text[j] != '\n' && !isEscape(text, j) {
			j++
		}
		line := strings.TrimRight(text[pos:j], "\r ")
		if line == "" || !keyLine(line) {
			return end
		}
		end = pos + len(line)
		pos = skipBreak(text, j)
	}
	return end
}

func skipBreak(text string, i int) int {
	switch {
	case i < len(text) && text[i] == '\n':
		return i + 1
	case isEscape(text, i):
		return i + 2
	}
	return i
}

func keyLine(line string) bool {
	if strings.Contains(line, ": ") {
		return true
	}
	for k := 0; k < len(line); k++ {
		c := line[k]
		if !isAlnum(c) && c != '+' && c != '/' && c != '=' && c != ' ' {
			return false
		}
	}
	return true
}

// --- JWTs -----------------------------------------------------------------

func isB64URL(c byte) bool { return isAlnum(c) || c == '-' || c == '_' }

func findJWTs(text string, add addFunc) {
	for off := 0; ; {
		i := strings.Index(text[off:], "eyJ")
		if i < 0 {
			return
		}
		i += off
		off = i + 3
		if !startsWord(text, i) && text[i-1] != '-' {
			continue
		}
		var segs [3]int // ends of the segments
		j := i
		for s := 0; s < 3; s++ {
			k := j
			for k < len(text) && isB64URL(text[k]) {
				k++
			}
			segs[s] = k
			if s < 2 {
				if k-j < 10 || k >= len(text) || text[k] != '.' {
					j = -1
					break
				}
				j = k + 1
			} else {
				j = k
			}
		}
		if j < 0 || segs[2]-segs[1]-1 < 10 {
			continue
		}
		hdr, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(text[i:segs[0]], "="))
		if err != nil || !json.Valid(hdr) || !(strings.Contains(string(hdr), `"alg"`) || strings.Contains(string(hdr), `"typ"`)) {
			continue
		}
		end := segs[2]
		for end < len(text) && text[end] == '=' {
			end++
		}
		add(i, end, JWT, prioJWT)
		off = end
	}
}

// --- credentials in URLs --------------------------------------------------

// dbSchemes are URL schemes of connection strings: a password there is a
// PASSWORD; elsewhere a URL_CREDENTIAL.
var dbSchemes = map[string]bool{
	"postgres": true, "postgresql": true, "mysql": true, "mariadb": true, "mongodb": true, "mongodb+srv": true,
	"redis": true, "rediss": true, "amqp": true, "amqps": true, "mssql": true, "sqlserver": true,
	"clickhouse": true, "cockroachdb": true, "oracle": true, "db2": true, "ldap": true, "ldaps": true,
	"mqtt": true, "nats": true, "kafka": true, "cassandra": true, "neo4j": true, "jdbc": true,
}

var tokenParams = map[string]bool{
	"token": true, "access_token": true, "refresh_token": true, "id_token": true, "auth_token": true,
	"api_key": true, "apikey": true, "api-key": true, "key": true, "secret": true, "client_secret": true,
	"password": true, "pass": true, "passwd": true, "pwd": true, "auth": true, "sig": true, "signature": true,
	"x-amz-signature": true, "x-amz-security-token": true, "x-amz-credential": true, "x-goog-signature": true,
	"x-goog-credential": true, "session": true, "sessionid": true, "session_id": true, "jwt": true,
	"private_token": true, "access_key": true, "secret_key": true, "code": true, "ticket": true,
}

func isURLChar(c byte) bool {
	return c > ' ' && c < 0x7f && strings.IndexByte(`"'<>\`+"`{}|^", c) < 0
}

func findURLCredentials(text string, add addFunc) {
	for off := 0; ; {
		i := strings.Index(text[off:], "://")
		if i < 0 {
			return
		}
		i += off
		off = i + 3
		s := i
		for s > 0 && (isAlnum(text[s-1]) || text[s-1] == '+' || text[s-1] == '.' || text[s-1] == '-') {
			s--
		}
		scheme := strings.ToLower(text[s:i])
		if scheme == "" {
			continue
		}
		if j := strings.LastIndexByte(scheme, ':'); j >= 0 { // jdbc:postgresql://
			scheme = scheme[j+1:]
		}
		end := i + 3
		for end < len(text) && isURLChar(text[end]) {
			end++
		}
		for end > i+3 && strings.IndexByte(".,;:!?)]", text[end-1]) >= 0 {
			end--
		}
		off = end
		u := text[i+3 : end]
		base := i + 3
		// The authority ends at the first '/'; a password pasted raw may
		// hold '?' or '#', so those end it only when no '@' follows.
		auth := u
		if k := strings.IndexByte(u, '/'); k >= 0 {
			auth = u[:k]
		}
		if !strings.Contains(auth, "@") {
			if k := strings.IndexAny(auth, "?#"); k >= 0 {
				auth = auth[:k]
			}
		}
		if at := strings.LastIndexByte(auth, '@'); at > 0 {
			info := auth[:at]
			kind := URLCredential
			if dbSchemes[scheme] || strings.HasPrefix(text[max(0, s-5):s], "jdbc:") {
				kind = Password
			}
			if c := strings.IndexByte(info, ':'); c >= 0 {
				pw := info[c+1:]
				if pw != "" && !isPlaceholder(pw) && pw != info[:c] { // user = password: a default, not a secret
					add(base+c+1, base+at, kind, prioURL)
				}
			} else if len(info) >= 16 && looksRandom(info) {
				add(base, base+at, URLCredential, prioURL)
			}
		}
		q := strings.IndexByte(u, '?')
		if q < 0 {
			continue
		}
		qs := u[q+1:]
		if h := strings.IndexByte(qs, '#'); h >= 0 {
			qs = qs[:h]
		}
		pos := base + q + 1
		for _, kv := range strings.Split(qs, "&") {
			k, v, ok := strings.Cut(kv, "=")
			if ok && tokenParams[strings.ToLower(k)] && len(v) >= 6 && !isPlaceholder(v) {
				add(pos+len(k)+1, pos+len(kv), URLCredential, prioURL)
			}
			pos += len(kv) + 1
		}
	}
}

// isPlaceholder recognises values written in documentation: YOUR_API_KEY,
// <password>, ${DB_PASS}, xxxx, ****, and the word "password" itself.
func isPlaceholder(v string) bool {
	l := strings.ToLower(strings.Trim(v, `"'`))
	if l == "" {
		return true
	}
	switch l {
	case "password", "passwd", "pass", "pwd", "secret", "changeme", "mypassword", "yourpassword", "your_password",
		"your-password", "user", "username", "example", "test", "token", "your_token", "your_api_key", "apikey", "api_key",
		"redacted", "hidden", "none", "null", "true", "false", "value", "foo", "bar", "foobar", "admin", "root",
		"xxx", "placeholder", "dummy", "sample", "changeit", "secret123", "password123":
		return true
	}
	switch l[0] {
	case '<', '{', '$', '%', '[', '*':
		return true
	}
	if strings.HasPrefix(l, "your") || strings.HasPrefix(l, "my_") || strings.HasPrefix(l, "<") ||
		strings.Contains(l, "xxxx") || strings.Contains(l, "example") || strings.Contains(l, "placeholder") ||
		strings.Contains(l, "...") || strings.HasPrefix(l, "[") {
		return true
	}
	if strings.Trim(l, "x*.-_0") == "" {
		return true
	}
	return false
}

// --- passwords ------------------------------------------------------------

var passwordRe = regexp.MustCompile(`(?i)\b(?:password|passwd|passwort|mot de passe|contraseña|pwd|db_pass|pass)\b["']?\s*(?:[:=]|=>|\bis\b|\bwas\b)\s*`)

var identPath = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(?:(?:\.|->|::)[A-Za-z_][A-Za-z0-9_]*)*(?:\(\)?)?$`)

// passwordWord is a necessary condition for passwordRe outside Spanish,
// much cheaper than running it: one of its keywords stands in lower as a
// whole word. "pass" alone is in "passed", "compass" and "bypass", which
// chat text is full of.
func passwordWord(lower string) bool {
	for _, kw := range [...]string{"pass", "pwd"} {
		for off := 0; ; {
			i := strings.Index(lower[off:], kw)
			if i < 0 {
				break
			}
			i += off
			off = i + 1
			if i > 0 && isWord(lower[i-1]) && !strings.HasSuffix(lower[:i], "db_") {
				continue
			}
			rest := lower[i+len(kw):]
			if kw == "pass" {
				for _, tail := range [...]string{"word", "wort", "wd", "e"} {
					if strings.HasPrefix(rest, tail) && (len(rest) == len(tail) || !isWord(rest[len(tail)])) {
						return true
					}
				}
			}
			if rest == "" || !isWord(rest[0]) {
				return true
			}
		}
	}
	return false
}

// findCLIPasswords finds the password of a command line: mysql -p'…',
// -p"…".
func findCLIPasswords(text string, add addFunc, raw bool) {
	for off := 0; ; {
		i := strings.Index(text[off:], "-p")
		if i < 0 {
			return
		}
		i += off
		off = i + 2
		if i == 0 || text[i-1] != ' ' || i+3 >= len(text) || text[i+2] != '\'' && text[i+2] != '"' {
			continue
		}
		q := text[i+2]
		e := closingQuote(text[i+3:], q, raw)
		if e < 4 || e > 200 || strings.ContainsAny(text[i+3:i+3+e], " \n") || isPlaceholder(text[i+3:i+3+e]) {
			continue
		}
		add(i+3, i+3+e, Password, prioPassword)
	}
}

// closingQuote returns the index in s of the first q, or -1; in raw JSON,
// of the first q that no backslash escapes: a password may hold \", which
// does not end it there.
func closingQuote(s string, q byte, raw bool) int {
	if !raw {
		return strings.IndexByte(s, q)
	}
	for off := 0; ; {
		e := strings.IndexByte(s[off:], q)
		if e < 0 {
			return -1
		}
		e += off
		if !escaped(s, e) {
			return e
		}
		off = e + 1
	}
}

func findPasswords(text, lower string, add addFunc, raw bool) {
	findCLIPasswords(text, add, raw)
	// passwordRe folds case the Unicode way: ſ (long s) is an s to it.
	// (lower is ASCII-lowered: "CONTRASEÑA" keeps its Ñ.)
	if !passwordWord(lower) && !strings.Contains(lower, "contrase") && !strings.Contains(text, "ſ") {
		return
	}
	for _, m := range passwordRe.FindAllStringIndex(text, -1) {
		i := m[1]
		if i >= len(text) {
			continue
		}
		natural := strings.Contains(strings.ToLower(text[m[0]:m[1]]), "is") || strings.Contains(strings.ToLower(text[m[0]:m[1]]), "was")
		var v string
		start := i
		if q := text[i]; q == '"' || q == '\'' || q == '`' {
			e := closingQuote(text[i+1:], q, raw)
			if e < 0 || e > 200 {
				continue
			}
			start, v = i+1, text[i+1:i+1+e]
			if strings.ContainsAny(v, "\n") || len(v) < 4 || isPlaceholder(v) {
				continue
			}
		} else {
			e := i
			for e < len(text) && text[e] > ' ' && strings.IndexByte(`;,"'`+"`", text[e]) < 0 && !isEscape(text, e) &&
				!(text[e] == '&' && startsParam(text[e+1:])) {
				e++
			}
			if e == len(text) || text[e] == ' ' || text[e] == '\n' || text[e] == '\t' || isEscape(text, e) {
				for e > i && strings.IndexByte(".!?)", text[e-1]) >= 0 {
					e-- // the end of a sentence
				}
			}
			v = text[i:e]
			if len(v) < 4 || isPlaceholder(v) || identPath.MatchString(v) && !hasDigitOrSymbol(v) {
				continue
			}
			if strings.ContainsAny(v, "()[]{}") || strings.HasPrefix(v, "os.") || strings.HasPrefix(v, "process.") {
				continue
			}
			if natural && !hasDigitOrSymbol(v) {
				continue // "the password is wrong"
			}
		}
		add(start, start+len(v), Password, prioPassword)
	}
}

// startsParam says whether s starts with "name=", the next parameter of a
// query string.
func startsParam(s string) bool {
	i := 0
	for i < len(s) && (isWord(s[i]) || s[i] == '-') {
		i++
	}
	return i > 0 && i < len(s) && s[i] == '='
}

func hasDigitOrSymbol(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isAlpha(s[i]) {
			return true
		}
	}
	return false
}

// --- provider keys gitleaks' rules miss at some boundaries ---------------

// providerPrefixes are the key formats users paste most (LLM providers,
// code hosts, clouds, payments). gitleaks has rules for most of them, but
// requires a space, quote or ';' after the key, so "My key sk-….", with
// the sentence's full stop, slips through; these catch them.
var providerPrefixes = []string{
	"sk-", "gsk_", "xai-", "hf_", "pplx-", "r8_", "nvapi-", "csk-", "AIza", "npm_", "dop_v1_", "doo_v1_",
	"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "xoxb-", "xoxp-", "xoxa-", "xapp-",
	"sk_live_", "rk_live_", "sk_test_", "pk_live_", "SG.", "AKIA", "ASIA", "shpat_", "shpss_", "lin_api_",
	"pat", "sq0atp-", "EAAC", "ya29.",
}

// prefixesByByte indexes providerPrefixes by their first byte.
var prefixesByByte = func() (t [256][]string) {
	for _, p := range providerPrefixes {
		t[p[0]] = append(t[p[0]], p)
	}
	return t
}()

// prefixPairs is a bit set of the prefixes' first two bytes: a byte pair
// not in it (most of any text) rules a position out in one lookup.
var prefixPairs = func() (t [1 << 16 / 64]uint64) {
	for _, p := range providerPrefixes {
		if len(p) < 3 {
			panic("redact: a provider prefix shorter than three bytes: " + p)
		}
		pair := uint16(p[0])<<8 | uint16(p[1])
		t[pair/64] |= 1 << (pair % 64)
	}
	return t
}()

func findProviderKeys(text string, add addFunc) {
	for i := 0; i+1 < len(text); i++ { // every prefix is longer than two bytes
		pair := uint16(text[i])<<8 | uint16(text[i+1])
		if prefixPairs[pair/64]&(1<<(pair%64)) == 0 || !startsWord(text, i) {
			continue
		}
		for _, p := range prefixesByByte[text[i]] {
			if !strings.HasPrefix(text[i:], p) {
				continue
			}
			off := i + len(p)
			j := off
			dotted := p == "SG." || p == "pat" || p == "ya29."
			for j < len(text) && (isAlnum(text[j]) || text[j] == '-' || text[j] == '_' ||
				dotted && text[j] == '.' && j+1 < len(text) && isAlnum(text[j+1])) {
				j++
			}
			for j > off && (text[j-1] == '-' || text[j-1] == '_') {
				j--
			}
			if keyBody(p, text[off:j]) {
				add(i, j, APIKey, prioProviderKey)
				i = j
				break
			}
		}
	}
}

// keyBody says whether what follows a key prefix looks like the key.
func keyBody(prefix, body string) bool {
	switch prefix {
	case "AKIA", "ASIA": // AWS access key IDs: 16 base32 characters
		if len(body) != 16 {
			return false
		}
		for i := 0; i < len(body); i++ {
			if !isUpper(body[i]) && (body[i] < '2' || body[i] > '7') {
				return false
			}
		}
		return true
	case "pat": // Airtable personal access tokens: pat + 14 . 64 hex
		return len(body) > 20 && strings.Contains(body, ".") && looksRandom(body)
	}
	if len(body) < 20 {
		return false
	}
	if allHex(body) {
		return len(body) >= 32
	}
	if rest, ok := subPrefix(body); ok && allHex(rest) && len(rest) >= 32 {
		return true // sk-or-v1-<64 hex>: OpenRouter's, lower case only
	}
	var up, lo bool
	for i := 0; i < len(body); i++ {
		up = up || isUpper(body[i])
		lo = lo || isLower(body[i])
	}
	return looksRandom(body) || len(body) >= 30 && up && lo
}

// subPrefix strips what some keys carry between the provider's prefix and
// the key itself, up to two short lower-case groups ("or-v1-" of
// OpenRouter's sk-or-v1-…); ok is false when body starts with none.
func subPrefix(body string) (rest string, ok bool) {
	i := 0
	for range 2 {
		j := i
		for j < len(body) && j-i < 8 && (isLower(body[j]) || isDigit(body[j])) {
			j++
		}
		if j == i || j == len(body) || body[j] != '-' {
			break
		}
		i = j + 1
	}
	return body[i:], i > 0
}

// looksRandom: upper, lower and digits all present, and not all hex.
func looksRandom(s string) bool {
	var up, lo, dig bool
	for i := 0; i < len(s); i++ {
		c := s[i]
		up = up || isUpper(c)
		lo = lo || isLower(c)
		dig = dig || isDigit(c)
	}
	return up && lo && dig
}

// --- tokens: decoding and entropy -----------------------------------------

func isTokenChar(c byte) bool { return tokenChar[c] }

var tokenChar = func() (t [256]bool) {
	for c := range 256 {
		t[c] = isAlnum(byte(c)) || c == '+' || c == '/' || c == '_' || c == '-'
	}
	return t
}()

// findTokens looks at each run of base64/hex characters: one that decodes
// to text is scanned again (and replaced whole when the decoded text holds
// a finding); one that looks random is a SECRET.
func (r *Redactor) findTokens(text string, add addFunc, depth int) {
	for i := 0; i < len(text); {
		if !isTokenChar(text[i]) {
			i++
			continue
		}
		j := i + 1
		for j < len(text) && isTokenChar(text[j]) {
			j++
		}
		for j < len(text) && text[j] == '=' && j-i >= 2 { // base64 padding
			j++
		}
		start, end := i, j
		i = j
		for start < end && (text[start] == '-' || text[start] == '_') {
			start++
		}
		for end > start && (text[end-1] == '-' || text[end-1] == '_' || text[end-1] == '/' || text[end-1] == '+') {
			end--
		}
		tok := text[start:end]
		if len(tok) < 20 || start > 0 && (text[start-1] == '@' || text[start-1] == '.' && start > 1 && isWord(text[start-2])) {
			continue
		}
		if depth < maxDepth && len(tok) <= maxDecode {
			if dec, ok := decodeBlob(tok); ok {
				if fs := r.find(dec, "", depth+1, false); len(fs) > 0 {
					add(start, end, fs[0].Kind, prioDecoded)
				}
				continue // encoded text, not a key
			}
		}
		if r.on[Secret] && isHighEntropy(tok) {
			add(start, end, Secret, prioGeneric)
		}
	}
}

// maxDecode bounds the blobs decoded: a key hidden in base64 is short; an
// inline image is not worth decoding.
const maxDecode = 4096

// decodeBlob decodes a hex or base64 token into printable text.
func decodeBlob(tok string) (string, bool) {
	var b []byte
	var err error
	if len(tok) >= 32 && len(tok)%2 == 0 && allHex(tok) {
		b, err = hex.DecodeString(tok)
	} else if len(tok) >= 20 && !strings.ContainsAny(tok, "-_") || strings.ContainsAny(tok, "+/") {
		b, err = base64.StdEncoding.DecodeString(tok)
		if err != nil {
			b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(tok, "="))
		}
	} else {
		b, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(tok, "="))
	}
	if err != nil || len(b) < 8 || !printable(b) {
		return "", false
	}
	return string(b), true
}

func printable(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	bad := 0
	for _, c := range b {
		if c < ' ' && c != '\n' && c != '\r' && c != '\t' || c == 0x7f {
			bad++
		}
	}
	return bad == 0
}

func allHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}

var uuidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// isHighEntropy says whether a token looks like a random credential: 24
// to 256 characters, upper and lower case and digits, not hex (hashes), not
// a UUID, not a path, and at least 4.2 bits of entropy per character (an
// identifier such as handleUserAuthenticationCallback2 has about 3.8; 32
// random base62 characters about 4.6).
func isHighEntropy(tok string) bool {
	if len(tok) < 24 || len(tok) > 256 || allHex(tok) || uuidRe.MatchString(tok) {
		return false
	}
	if strings.Count(tok, "/") > 2 || strings.Contains(tok, "--") || strings.Count(tok, "-") > 4 || strings.Count(tok, "_") > 3 {
		return false // a path, a flag, a slug, a snake_case name
	}
	if !looksRandom(tok) {
		return false
	}
	return entropy(tok) >= 4.2
}
