package redact_test

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// The labelled corpus is generated, then committed and reviewed like a
// golden file: go test ./redact -run TestCorpus -update rewrites
// testdata/corpus.jsonl. Every planted value is fake but valid (checksums,
// issuer prefixes, libphonenumber validity), so it tests the detectors on
// what real data looks like; every look-alike is something chats are full
// of that a careless detector would take.

// entry is one labelled text.
type entry struct {
	Region  string    `json:"region,omitempty"` // the record's country
	Text    string    `json:"text"`
	Planted []planted `json:"planted,omitempty"`
	Keep    []string  `json:"keep,omitempty"` // look-alikes that must survive
}

type planted struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

type gen struct {
	r           *rand.Rand
	lastPlanted string
}

func (g *gen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }

func (g *gen) digits(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + g.r.IntN(10))
	}
	return string(b)
}

func (g *gen) chars(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[g.r.IntN(len(alphabet))]
	}
	return string(b)
}

const (
	base62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	lowerN = "abcdefghijklmnopqrstuvwxyz0123456789"
	hexLow = "0123456789abcdef"
)

// random62 is base62 with at least one upper, one lower and one digit.
func (g *gen) random62(n int) string {
	for {
		s := g.chars(n, base62)
		if strings.ContainsAny(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") && strings.ContainsAny(s, "abcdefghijklmnopqrstuvwxyz") && strings.ContainsAny(s, "0123456789") {
			return s
		}
	}
}

var (
	firstNames = []string{"john", "maria", "wei", "fatima", "lukas", "priya", "olivia", "ahmed", "sofia", "kenji", "amelie", "carlos", "noah", "ines", "dmitri", "aisha"}
	lastNames  = []string{"smith", "garcia", "chen", "khan", "muller", "patel", "johnson", "hassan", "rossi", "tanaka", "dubois", "santos", "brown", "silva", "ivanov", "okafor"}
	domains    = []string{"gmail.com", "outlook.com", "yahoo.co.uk", "protonmail.ch", "acme-corp.io", "uni-heidelberg.de", "example.org", "mail.ru", "company.com.br", "startup.ai"}
)

func (g *gen) email() string {
	f, l := g.pick(firstNames...), g.pick(lastNames...)
	local := g.pick(f+"."+l, f+l, f[:1]+l, f+"_"+l+g.digits(2), f+"+news", l+"."+f)
	return local + "@" + g.pick(domains...)
}

var phoneRegions = []string{"US", "GB", "DE", "FR", "IN", "BR", "ES", "IT", "AU", "CA", "NL", "MX"}

// phone returns a valid number and the region it must be read in ("" when
// written internationally).
func (g *gen) phone() (string, string) {
	for {
		region := g.pick(phoneRegions...)
		ex := phonenumbers.GetExampleNumberForType(region, phonenumbers.PhoneNumberType(g.pick("0", "1")[0]-'0'))
		if ex == nil {
			continue
		}
		nat := strconv.FormatUint(ex.GetNationalNumber(), 10)
		keep := len(nat) / 2
		mutated := nat[:keep] + g.digits(len(nat)-keep)
		n, err := phonenumbers.Parse(mutated, region)
		if err != nil || !phonenumbers.IsValidNumber(n) {
			continue
		}
		switch g.r.IntN(3) {
		case 0:
			return phonenumbers.Format(n, phonenumbers.INTERNATIONAL), ""
		case 1:
			return phonenumbers.Format(n, phonenumbers.E164), ""
		default:
			return phonenumbers.Format(n, phonenumbers.NATIONAL), region
		}
	}
}

func luhnDigit(partial string) byte {
	for d := byte('0'); d <= '9'; d++ {
		s := partial + string(d)
		sum, double := 0, false
		for i := len(s) - 1; i >= 0; i-- {
			v := int(s[i] - '0')
			if double {
				v *= 2
				if v > 9 {
					v -= 9
				}
			}
			sum += v
			double = !double
		}
		if sum%10 == 0 {
			return d
		}
	}
	panic("unreachable")
}

func (g *gen) card() string {
	prefix, n := "4", 16
	switch g.r.IntN(5) {
	case 1:
		prefix = g.pick("51", "52", "53", "54", "55", "2221", "2720")
	case 2:
		prefix, n = g.pick("34", "37"), 15
	case 3:
		prefix = g.pick("6011", "65")
	case 4:
		prefix = "3530"
	}
	d := prefix + g.digits(n-1-len(prefix))
	d += string(luhnDigit(d))
	switch g.r.IntN(3) {
	case 0:
		return d
	case 1:
		if n == 15 {
			return d[:4] + " " + d[4:10] + " " + d[10:]
		}
		return d[:4] + " " + d[4:8] + " " + d[8:12] + " " + d[12:]
	default:
		if n == 15 {
			return d[:4] + "-" + d[4:10] + "-" + d[10:]
		}
		return d[:4] + "-" + d[4:8] + "-" + d[8:12] + "-" + d[12:]
	}
}

// badLuhn is a card-shaped number that fails the Luhn check.
func (g *gen) badLuhn() string {
	d := "4" + g.digits(14)
	good := luhnDigit(d)
	return d + string('0'+(good-'0'+1)%10)
}

var ibanBBAN = map[string]int{"DE": 18, "GB": 18, "FR": 23, "ES": 20, "IT": 23, "NL": 14, "BE": 12, "CH": 17, "AT": 16, "PL": 24}

func ibanCheck(country, bban string) string {
	s := bban + country + "00"
	rem := 0
	for _, c := range s {
		if c >= '0' && c <= '9' {
			rem = (rem*10 + int(c-'0')) % 97
		} else {
			rem = (rem*100 + int(c-'A') + 10) % 97
		}
	}
	return fmt.Sprintf("%02d", 98-rem)
}

func (g *gen) ibanParts() (country, bban string) {
	keys := []string{"DE", "GB", "FR", "ES", "IT", "NL", "BE", "CH", "AT", "PL"}
	country = g.pick(keys...)
	switch country {
	case "GB":
		bban = g.pick("NWBK", "BARC", "LOYD", "HBUK") + g.digits(14)
	case "NL":
		bban = g.pick("ABNA", "INGB", "RABO") + g.digits(10)
	default:
		bban = g.digits(ibanBBAN[country])
	}
	return country, bban
}

func spaced4(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s[i:min(i+4, len(s))])
	}
	return b.String()
}

func (g *gen) iban() string {
	c, bban := g.ibanParts()
	s := c + ibanCheck(c, bban) + bban
	if g.r.IntN(2) == 0 {
		return spaced4(s)
	}
	return s
}

func (g *gen) badIBAN() string {
	c, bban := g.ibanParts()
	chk := ibanCheck(c, bban)
	n, _ := strconv.Atoi(chk)
	return c + fmt.Sprintf("%02d", (n+1)%97+2) + bban
}

func (g *gen) ipv4() string {
	switch g.r.IntN(3) {
	case 0:
		return fmt.Sprintf("192.168.%d.%d", g.r.IntN(256), 1+g.r.IntN(254))
	case 1:
		return fmt.Sprintf("10.%d.%d.%d", g.r.IntN(256), g.r.IntN(256), 1+g.r.IntN(254))
	}
	first := 1 + g.r.IntN(222)
	if first == 127 { // loopback, which is not redacted
		first = 128
	}
	return fmt.Sprintf("%d.%d.%d.%d", first, g.r.IntN(256), g.r.IntN(256), 1+g.r.IntN(254))
}

func (g *gen) ipv6() string {
	switch g.r.IntN(3) {
	case 0:
		return fmt.Sprintf("2001:db8:%x:%x::%x", g.r.IntN(65536), g.r.IntN(65536), 1+g.r.IntN(65535))
	case 1:
		return fmt.Sprintf("fe80::%x:%x:%x:%x", g.r.IntN(65536), g.r.IntN(65536), g.r.IntN(65536), 1+g.r.IntN(65535))
	}
	parts := make([]string, 8)
	parts[0] = fmt.Sprintf("2%03x", g.r.IntN(4096))
	for i := 1; i < 8; i++ {
		parts[i] = fmt.Sprintf("%x", g.r.IntN(65536))
	}
	return strings.Join(parts, ":")
}

func (g *gen) ssn() string {
	area := 1 + g.r.IntN(665)
	if area == 666 {
		area = 667
	}
	return fmt.Sprintf("%03d-%02d-%04d", area, 1+g.r.IntN(99), 1+g.r.IntN(9999))
}

func (g *gen) nino() string {
	first := "ABCEGHJKLMNOPRSTWXYZ"
	second := "ABCEGHJKLMNPRSTWXYZ"
	for {
		p := string(first[g.r.IntN(len(first))]) + string(second[g.r.IntN(len(second))])
		switch p {
		case "BG", "GB", "NK", "KN", "TN", "NT", "ZZ":
			continue
		}
		d := g.digits(6)
		suffix := string("ABCD"[g.r.IntN(4)])
		if g.r.IntN(2) == 0 {
			return p + " " + d[:2] + " " + d[2:4] + " " + d[4:] + " " + suffix
		}
		return p + d + suffix
	}
}

func (g *gen) sin() string {
	d := string("1234567"[g.r.IntN(7)]) + g.digits(7)
	d += string(luhnDigit(d))
	sep := g.pick("-", " ")
	return d[:3] + sep + d[3:6] + sep + d[6:]
}

func (g *gen) dni() string {
	n := 10000000 + g.r.IntN(89999999)
	return fmt.Sprintf("%08d%c", n, "TRWAGMYFPDXBNJZSQVHLCKE"[n%23])
}

func (g *gen) nie() string {
	lead := g.r.IntN(3)
	n := g.r.IntN(10000000)
	num, _ := strconv.Atoi(fmt.Sprintf("%d%07d", lead, n))
	return fmt.Sprintf("%c%07d%c", "XYZ"[lead], n, "TRWAGMYFPDXBNJZSQVHLCKE"[num%23])
}

func (g *gen) cpf() string {
	d := []byte(g.digits(9))
	for n := 9; n <= 10; n++ {
		sum := 0
		for k := 0; k < n; k++ {
			sum += int(d[k]-'0') * (n + 1 - k)
		}
		r := sum * 10 % 11
		if r == 10 {
			r = 0
		}
		d = append(d, byte('0'+r))
	}
	s := string(d)
	return s[:3] + "." + s[3:6] + "." + s[6:9] + "-" + s[9:]
}

var (
	vD   = [10][10]int{{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4, 0, 6, 7, 8, 9, 5}, {2, 3, 4, 0, 1, 7, 8, 9, 5, 6}, {3, 4, 0, 1, 2, 8, 9, 5, 6, 7}, {4, 0, 1, 2, 3, 9, 5, 6, 7, 8}, {5, 9, 8, 7, 6, 0, 4, 3, 2, 1}, {6, 5, 9, 8, 7, 1, 0, 4, 3, 2}, {7, 6, 5, 9, 8, 2, 1, 0, 4, 3}, {8, 7, 6, 5, 9, 3, 2, 1, 0, 4}, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0}}
	vP   = [8][10]int{{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 5, 7, 6, 2, 8, 3, 0, 9, 4}, {5, 8, 0, 3, 7, 9, 6, 1, 4, 2}, {8, 9, 1, 6, 0, 4, 3, 5, 2, 7}, {9, 4, 5, 3, 1, 2, 6, 8, 7, 0}, {4, 2, 8, 6, 5, 7, 3, 9, 0, 1}, {2, 7, 9, 3, 8, 0, 6, 4, 1, 5}, {7, 0, 4, 6, 9, 1, 3, 2, 5, 8}}
	vInv = [10]int{0, 4, 3, 2, 1, 5, 6, 7, 8, 9}
)

func (g *gen) aadhaar() string {
	d := string("23456789"[g.r.IntN(8)]) + g.digits(10)
	c := 0
	for i := 0; i < len(d); i++ {
		c = vD[c][vP[(i+1)%8][d[len(d)-1-i]-'0']]
	}
	d += strconv.Itoa(vInv[c])
	return d[:4] + " " + d[4:8] + " " + d[8:]
}

func (g *gen) chineseID() string {
	y, m, dd := 1950+g.r.IntN(60), 1+g.r.IntN(12), 1+g.r.IntN(28)
	s := fmt.Sprintf("%s%04d%02d%02d%s", g.pick("110101", "310104", "440305", "510107"), y, m, dd, g.digits(3))
	w := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(s[i]-'0') * w[i]
	}
	return s + string("10X98765432"[sum%11])
}

func (g *gen) nationalID() string {
	switch g.r.IntN(8) {
	case 0:
		return g.ssn()
	case 1:
		return g.nino()
	case 2:
		return g.sin()
	case 3:
		return g.dni()
	case 4:
		return g.nie()
	case 5:
		return g.cpf()
	case 6:
		return g.aadhaar()
	}
	return g.chineseID()
}

func (g *gen) password() string {
	words := []string{"Summer", "Tiger", "Blue", "Coffee", "Winter", "Dragon", "Maple", "Rocket", "Falcon", "Ocean"}
	switch g.r.IntN(3) {
	case 0:
		return g.pick(words...) + g.pick("!", "#", "$", "@", "%", "?") + g.digits(2+g.r.IntN(3))
	case 1:
		return g.chars(4, lowerN) + g.pick("!", "#", "$") + g.random62(7)
	}
	return g.random62(12 + g.r.IntN(8))
}

// apiKey returns a key in one provider's format.
func (g *gen) apiKey() string {
	switch g.r.IntN(16) {
	case 0:
		return "AKIA" + g.chars(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
	case 1:
		return "ghp_" + g.random62(36)
	case 2:
		return "github_pat_" + g.random62(22) + "_" + g.random62(59)
	case 3:
		return "xoxb-" + g.digits(12) + "-" + g.digits(13) + "-" + g.random62(24)
	case 4:
		return "sk_live_" + g.random62(24+g.r.IntN(8))
	case 5:
		return "AIza" + g.random62(35)
	case 6:
		return "sk-proj-" + g.random62(48) + "T3BlbkFJ" + g.random62(48)
	case 7:
		return "sk-ant-api03-" + g.random62(93) + "-" + g.random62(6) + "AA"
	case 8:
		return "hf_" + g.chars(34, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
	case 9:
		return "glpat-" + g.random62(20)
	case 10:
		return "npm_" + g.random62(36)
	case 11:
		return "SG." + g.random62(22) + "." + g.random62(43)
	case 12:
		return "gsk_" + g.random62(52)
	case 13:
		return "sk-" + g.random62(48)
	case 14:
		return "xai-" + g.random62(80)
	}
	return "dop_v1_" + g.chars(64, hexLow)
}

func b64url(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func (g *gen) jwt() string {
	hdr := b64url(g.pick(`{"alg":"HS256","typ":"JWT"}`, `{"alg":"RS256","typ":"JWT","kid":"`+g.chars(8, lowerN)+`"}`, `{"typ":"JWT","alg":"ES256"}`))
	payload := b64url(fmt.Sprintf(`{"sub":"%s","name":"%s %s","iat":%d,"exp":%d}`, g.digits(8), g.pick(firstNames...), g.pick(lastNames...), 1700000000+g.r.IntN(1e7), 1710000000+g.r.IntN(1e7)))
	sig := g.chars(43, base62+"-_")
	return hdr + "." + payload + "." + sig
}

func (g *gen) privateKey() string {
	kind := g.pick("RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY", "ENCRYPTED PRIVATE KEY")
	var b strings.Builder
	b.WriteString("-----BEGIN " + kind + "-----\n")
	lines := 4 + g.r.IntN(8)
	for i := 0; i < lines; i++ {
		b.WriteString(g.chars(64, base62+"+/") + "\n")
	}
	b.WriteString(g.chars(20, base62+"+/") + "==\n")
	b.WriteString("-----END " + kind + "-----")
	return b.String()
}

func (g *gen) secretToken() string {
	switch g.r.IntN(3) {
	case 0:
		return g.random62(32)
	case 1:
		return g.random62(40)
	}
	return g.chars(30, base62+"+/") + g.random62(10)
}

func (g *gen) host() string {
	return g.pick("db.internal.acme.io", "prod-db-01.example.net", "10.0.3.17", "cluster0.mongodb.net", "localhost", "mq.corp.local", "cache.eu-west-1.amazonaws.com")
}

// lookalikes are things that resemble a finding and must survive.
func (g *gen) lookalike() string {
	switch g.r.IntN(40) {
	case 0:
		return fmt.Sprintf("v%d.%d.%d", g.r.IntN(5), g.r.IntN(30), g.r.IntN(20))
	case 1:
		return fmt.Sprintf("%d-%02d-%02d", 2019+g.r.IntN(7), 1+g.r.IntN(12), 1+g.r.IntN(28))
	case 2:
		return fmt.Sprintf("%02d:%02d:%02d", g.r.IntN(24), g.r.IntN(60), g.r.IntN(60))
	case 3:
		return g.chars(40, hexLow) // a git commit
	case 4:
		return fmt.Sprintf("%s-%s-4%s-a%s-%s", g.chars(8, hexLow), g.chars(4, hexLow), g.chars(3, hexLow), g.chars(3, hexLow), g.chars(12, hexLow))
	case 5:
		return g.badLuhn()
	case 6:
		return g.badIBAN()
	case 7:
		return "@" + g.pick(firstNames...) + "_" + g.pick(lastNames...)
	case 8:
		return g.pick("icon@2x.png", "logo@3x.webp", "@types/node", "@babel/core", "git@github.com:acme/api.git")
	case 9:
		return fmt.Sprintf("%d.%05d", g.r.IntN(100), g.r.IntN(100000))
	case 10:
		return g.pick("std::vector<int>", "Foo::Bar::baz()", "crate::config::Settings", "a::b")
	case 11:
		return fmt.Sprintf("%02X:%02X:%02X:%02X:%02X:%02X", g.r.IntN(256), g.r.IntN(256), g.r.IntN(256), g.r.IntN(256), g.r.IntN(256), g.r.IntN(256))
	case 12:
		return fmt.Sprintf("https://docs.example.com/search?q=%s&page=%d", g.pick("golang", "rust+async", "pandas"), 1+g.r.IntN(9))
	case 13:
		return g.pick("YOUR_API_KEY", "sk-...", "<your-token-here>", "${OPENAI_API_KEY}", "xxxxxxxxxxxxxxxx", "sk-xxxxxxxxxxxxxxxxxxxxxxxx")
	case 14:
		return "postgres://" + g.pick("user:password", "postgres:postgres", "admin:<password>", "app:${DB_PASSWORD}") + "@localhost:5432/app"
	case 15:
		return fmt.Sprintf("%03d-%02d-%04d", g.pick3(0, 666, 900+g.r.IntN(99)), 1+g.r.IntN(99), 1+g.r.IntN(9999))
	case 16:
		return fmt.Sprintf("978-%d-%02d-%06d-%d", g.r.IntN(10), g.r.IntN(100), g.r.IntN(1000000), g.r.IntN(10))
	case 17:
		return fmt.Sprintf("$%d,%03d.%02d", 1+g.r.IntN(99), g.r.IntN(1000), g.r.IntN(100))
	case 18:
		return fmt.Sprintf("%.4f, %.4f", -90+g.r.Float64()*180, -180+g.r.Float64()*360)
	case 19:
		return "#" + g.chars(6, hexLow)
	case 20:
		return "sha256:" + g.chars(64, hexLow)
	case 21:
		return g.pick("AbstractSingletonProxyFactoryBean", "handleUserAuthenticationCallback", "useInfiniteScrollWithPrefetching", "getServerSidePropsForDashboard", "kubernetes-dashboard-metrics-scraper")
	case 22:
		return fmt.Sprintf("localhost:%d", 3000+g.r.IntN(6000))
	case 23:
		return fmt.Sprintf("ORD-%d", 100000+g.r.IntN(900000))
	case 24:
		return base64.StdEncoding.EncodeToString([]byte(g.pick("hello world, this is a test", "The quick brown fox jumps over", "{\"debug\":true,\"level\":3}")))
	case 25:
		return fmt.Sprintf("%d.%d.%d", 1+g.r.IntN(20), g.r.IntN(40), g.r.IntN(200))
	case 26:
		return fmt.Sprintf("%d %d %d", 100+g.r.IntN(900), 100+g.r.IntN(900), 100+g.r.IntN(900))
	case 27:
		return fmt.Sprintf("1e-%d", 3+g.r.IntN(10))
	case 28:
		return "password: ${DB_PASSWORD}"
	case 29:
		return "password=request.form['password']"
	case 30:
		return fmt.Sprintf("%d ms", 100+g.r.IntN(9000))
	case 31:
		return fmt.Sprintf("+%d%%", 1+g.r.IntN(99))
	case 32:
		return "user@localhost"
	case 33:
		return fmt.Sprintf("Error %d: connection refused", 1000+g.r.IntN(9000))
	case 34:
		return fmt.Sprintf("%d/%d/%d", 1+g.r.IntN(12), 1+g.r.IntN(28), 2020+g.r.IntN(6))
	case 35:
		return "0.0.0.0:8080"
	case 36:
		return "127.0.0.1"
	case 37:
		return "255.255.255.0"
	case 38:
		return fmt.Sprintf("%d", 1000000000+g.r.IntN(1000000000))
	}
	return "internationalization_and_localization_guide"
}

func (g *gen) pick3(xs ...int) int { return xs[g.r.IntN(len(xs))] }

func hexOf(s string) string { return hex.EncodeToString([]byte(s)) }

// templates hold realistic prompts; {K} is a planted value of kind K,
// {LOOK} a look-alike, {NAME} a name, {HOST} a host.
var templates = map[string][]string{
	"EMAIL": {
		"Can you write a polite follow-up to my landlord? Sign it with my contact {EMAIL} so he can reply directly.",
		"My manager is {EMAIL}, please draft a message asking for Friday off.",
		"Fix this regex, it fails on {EMAIL}: ^[a-z]+@[a-z]+\\.com$",
		"users = [{\"name\": \"{NAME}\", \"email\": \"{EMAIL}\"}]  # why does json.loads fail on this?",
		"From: {EMAIL}\nSubject: invoice overdue\n\nSummarize this thread and tell me what they want.",
		"git config user.email \"{EMAIL}\" -- is that the right command to set my identity?",
		"Send the report to {EMAIL}, and cc me.",
	},
	"PHONE": {
		"Rewrite my signature so it looks professional: {NAME}, Sales, tel. {PHONE}",
		"The delivery guy keeps calling from {PHONE}, how do I block a number on Android?",
		"Format this for the flyer: call us at {PHONE} for bookings",
		"My mum's mobile is {PHONE}; write a short birthday SMS I can send her.",
		"contacts.csv has a row: {NAME},{PHONE},London. How do I parse it with pandas?",
		"Is {PHONE} a valid number? Someone texted me from it claiming to be my bank.",
	},
	"CARD": {
		"I was charged twice on my card {CARD}, write a complaint to the shop.",
		"Why does Stripe reject the test card {CARD} with 'incorrect_number'?",
		"payment = {\"card_number\": \"{CARD}\", \"exp\": \"04/27\"} -- validate this in Python",
		"Someone used my credit card {CARD} online. What do I tell the bank?",
		"Card: {CARD}\nCVV: 123\nIs it safe to store this in localStorage?",
	},
	"IBAN": {
		"Write an invoice footer with my bank details: IBAN {IBAN}, BIC DEUTDEFF",
		"Please transfer the deposit to {IBAN} by Monday -- can you make this sound less rude?",
		"Validate the IBAN {IBAN} in JavaScript without a library.",
		"My salary goes to {IBAN}; how do I change it in SAP?",
	},
	"IP": {
		"ssh: connect to host {IP} port 22: Connection timed out. What's wrong?",
		"nginx logs show thousands of requests from {IP}, how do I ban it with fail2ban?",
		"upstream backend { server {IP}:8080; }  -- is this nginx syntax right?",
		"My home server is at {IP}, how do I expose it safely?",
		"ping {IP} works but curl doesn't. Firewall?",
		"ALLOWED_HOSTS = ['{IP}', 'localhost']",
	},
	"NATIONAL_ID": {
		"Fill in this form letter for me: name {NAME}, ID number {NATIONAL_ID}, address below.",
		"My tax ID is {NATIONAL_ID}; which box does it go in on the form?",
		"The clerk wrote {NATIONAL_ID} on my application, is that format valid?",
		"Passport lost. I only have my ID {NATIONAL_ID} -- what documents do I need?",
		"customer_id_doc: {NATIONAL_ID}  # mask this field in the logs",
	},
	"URL_CREDENTIAL": {
		"requests.get('{URL_CREDENTIAL}') returns 403, why?",
		"My webhook URL is {URL_CREDENTIAL} -- is it ok to put in the README?",
		"curl -s \"{URL_CREDENTIAL}\" | jq . gives a parse error",
		"git clone {URL_CREDENTIAL} fails with 'repository not found'",
	},
	"PASSWORD": {
		"DATABASE_URL={PASSWORD_URL} -- Django says authentication failed",
		"My connection string: Server=tcp:{HOST},1433;Database=shop;User ID=sa;Password={PASSWORD};Encrypt=True",
		"config.yaml:\n  db:\n    user: app\n    password: \"{PASSWORD}\"\nWhy is it not picked up?",
		"I forgot, is my wifi password is {PASSWORD} secure enough?",
		"mysql -u root -p'{PASSWORD}' -h {HOST} fails with access denied",
		"client = MongoClient('{PASSWORD_URL}')",
	},
	"API_KEY": {
		"Here's my code, it says invalid key:\nclient = OpenAI(api_key=\"{API_KEY}\")",
		"export API_TOKEN={API_KEY}\nnode index.js  -> 401 Unauthorized. Help?",
		"Is it bad that I committed {API_KEY} to a public repo?",
		"headers = {'Authorization': 'Bearer {API_KEY}'}",
		"My key {API_KEY}. Why does it not work?",
		"{\"provider\":\"x\",\"key\":\"{API_KEY}\"}",
		"Use this token: {API_KEY}",
	},
	"JWT": {
		"Decode this JWT for me: {JWT}",
		"Authorization: Bearer {JWT}\nThe API says token expired, but exp looks fine?",
		"localStorage.setItem('token', '{JWT}'); -- is this secure?",
		"Why does jwt.verify throw on {JWT}, while jwt.io says it's valid?",
	},
	"PRIVATE_KEY": {
		"ssh keeps asking for a passphrase. My key file:\n{PRIVATE_KEY}\nWhat's wrong?",
		"Convert this key to PKCS8 please:\n{PRIVATE_KEY}",
		"const key = `{PRIVATE_KEY}`;\njwt.sign(payload, key, { algorithm: 'RS256' })",
	},
	"SECRET": {
		"aws_secret_access_key = {SECRET}\nboto3 says SignatureDoesNotMatch",
		"SECRET_KEY = '{SECRET}'  # Django settings, is this strong enough?",
		"client_secret: {SECRET}\nOAuth returns invalid_client.",
		"The webhook signing secret is {SECRET}, how do I verify the HMAC?",
		"app.config['SESSION_SECRET'] = \"{SECRET}\"",
	},
}

var lookTemplates = []string{
	"Upgraded to {LOOK} yesterday and now the build fails at {LOOK}. Any idea?",
	"In the log I see {LOOK} and then {LOOK}; what does that mean?",
	"Explain the difference between {LOOK} and {LOOK} like I'm five.",
	"The docs example uses {LOOK}. Should I replace it?",
	"Our ticket {LOOK} mentions {LOOK}, summarize the problem.",
	"print({LOOK})  # prints something odd, {LOOK}",
}

// corpusSeed is the seed of the committed corpus.
const corpusSeed = 20261126

// buildCorpus generates a labelled corpus from a seed.
func buildCorpus(seed uint64) []entry {
	g := &gen{r: rand.New(rand.NewPCG(seed, 1))}
	var out []entry
	fill := func(tpl string, e *entry) string {
		var b strings.Builder
		for {
			i := strings.IndexByte(tpl, '{')
			j := strings.IndexByte(tpl[max(i, 0):], '}')
			if i < 0 || j < 0 {
				b.WriteString(tpl)
				break
			}
			j += i
			slot := tpl[i+1 : j]
			val, kind := "", ""
			switch slot {
			case "NAME":
				val = strings.ToUpper(g.pick(firstNames...)[:1]) + g.pick(firstNames...)[1:] + " " + strings.ToUpper(g.pick(lastNames...)[:1]) + g.pick(lastNames...)[1:]
			case "HOST":
				val = g.host()
				if val == "10.0.3.17" { // an address is personal data too
					e.Planted = append(e.Planted, planted{Kind: "IP", Value: val})
				}
			case "LOOK":
				val = g.lookalike()
				e.Keep = append(e.Keep, val)
			default:
				kind = slot
				val = g.value(kind, e)
				if kind == "PASSWORD_URL" {
					kind = "PASSWORD"
				}
			}
			if val == "" { // not a slot: literal braces
				b.WriteString(tpl[:i+1])
				tpl = tpl[i+1:]
				continue
			}
			b.WriteString(tpl[:i])
			b.WriteString(val)
			if kind != "" {
				e.Planted = append(e.Planted, planted{Kind: kind, Value: g.lastPlanted})
			}
			tpl = tpl[j+1:]
		}
		return b.String()
	}
	kinds := []string{"EMAIL", "PHONE", "CARD", "IBAN", "IP", "NATIONAL_ID", "URL_CREDENTIAL", "PASSWORD", "API_KEY", "JWT", "PRIVATE_KEY", "SECRET"}
	const perKind = 100
	for _, k := range kinds {
		for i := 0; i < perKind; i++ {
			e := entry{}
			tpls := templates[k]
			e.Text = fill(tpls[i%len(tpls)], &e)
			if i%4 == 0 { // a look-alike beside the planted value
				e.Text += " (see " + fill("{LOOK}", &e) + ")"
			}
			out = append(out, e)
		}
	}
	// Mixed: several kinds in one message, the way a pasted .env or a
	// support ticket looks.
	for i := 0; i < 60; i++ {
		e := entry{}
		e.Text = fill("Here is my .env, why does the app crash?\nADMIN_EMAIL={EMAIL}\nSUPPORT_PHONE={PHONE}\nSTRIPE_KEY={API_KEY}\nDATABASE_URL={PASSWORD_URL}\nSERVER_IP={IP}\nVERSION={LOOK}", &e)
		out = append(out, e)
	}
	// Base64 and hex that hide a secret.
	for i := 0; i < 40; i++ {
		e := entry{}
		key := g.apiKey()
		var enc string
		if i%2 == 0 {
			enc = base64.StdEncoding.EncodeToString([]byte("api_key: " + key))
		} else {
			enc = hexOf("token=" + key)
		}
		e.Text = "Our CI prints this encoded blob in the logs, is that a leak? " + enc
		e.Planted = append(e.Planted, planted{Kind: "API_KEY", Value: enc})
		out = append(out, e)
	}
	for i := 0; i < 200; i++ {
		e := entry{}
		e.Text = fill(lookTemplates[i%len(lookTemplates)], &e)
		out = append(out, e)
	}
	return out
}

// value returns a planted value of kind k; it sets e.Region for phone
// numbers written in national format, and g.lastPlanted to the part that
// is the secret (the password of a connection string, say).
func (g *gen) value(k string, e *entry) string {
	switch k {
	case "EMAIL":
		g.lastPlanted = g.email()
		return g.lastPlanted
	case "PHONE":
		p, region := g.phone()
		if region != "" {
			e.Region = region
		}
		g.lastPlanted = p
		return p
	case "CARD":
		g.lastPlanted = g.card()
		return g.lastPlanted
	case "IBAN":
		g.lastPlanted = g.iban()
		return g.lastPlanted
	case "IP":
		if g.r.IntN(4) == 0 {
			g.lastPlanted = g.ipv6()
		} else {
			g.lastPlanted = g.ipv4()
		}
		return g.lastPlanted
	case "NATIONAL_ID":
		g.lastPlanted = g.nationalID()
		return g.lastPlanted
	case "URL_CREDENTIAL":
		switch g.r.IntN(4) {
		case 0:
			g.lastPlanted = g.password()
			return "https://" + g.pick("deploy", "ci", "admin", g.pick(firstNames...)) + ":" + g.lastPlanted + "@git.acme-corp.io/team/repo.git"
		case 1:
			g.lastPlanted = g.random62(24 + g.r.IntN(16))
			return "https://hooks.example.com/services/" + g.digits(6) + "?token=" + g.lastPlanted
		case 2:
			g.lastPlanted = g.random62(32)
			return "https://api.weather-data.io/v2/forecast?city=Berlin&access_token=" + g.lastPlanted + "&units=metric"
		}
		g.lastPlanted = g.chars(64, hexLow)
		return "https://bucket.s3.amazonaws.com/report.pdf?X-Amz-Expires=3600&X-Amz-Signature=" + g.lastPlanted
	case "PASSWORD":
		g.lastPlanted = g.password()
		return g.lastPlanted
	case "PASSWORD_URL":
		g.lastPlanted = g.password()
		host := g.host()
		if host == "10.0.3.17" {
			e.Planted = append(e.Planted, planted{Kind: "IP", Value: host})
		}
		return g.pick("postgres", "mysql", "mongodb+srv", "redis", "amqp") + "://" + g.pick("app", "admin", "root", "svc_reports") + ":" + g.lastPlanted + "@" + host + "/prod"
	case "API_KEY":
		g.lastPlanted = g.apiKey()
		return g.lastPlanted
	case "JWT":
		g.lastPlanted = g.jwt()
		return g.lastPlanted
	case "PRIVATE_KEY":
		g.lastPlanted = g.privateKey()
		return g.lastPlanted
	case "SECRET":
		g.lastPlanted = g.secretToken()
		return g.lastPlanted
	}
	return ""
}
