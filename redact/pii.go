package redact

import (
	"net/netip"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

type addFunc func(start, end int, k Kind, prio int)

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }
func isLower(c byte) bool { return 'a' <= c && c <= 'z' }
func isAlpha(c byte) bool { return isUpper(c) || isLower(c) }
func isAlnum(c byte) bool { return isAlpha(c) || isDigit(c) }
func isWord(c byte) bool  { return isAlnum(c) || c == '_' }
func isHex(c byte) bool   { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// startsWord says whether a token may start at i: nothing word-like before
// it. An escape such as \n in raw JSON counts as a separator.
func startsWord(text string, i int) bool {
	if i == 0 || !isWord(text[i-1]) {
		return true
	}
	return isEscape(text, i-2)
}

// endsWord says whether a token may end at i (exclusive).
func endsWord(text string, i int) bool {
	return i >= len(text) || !isWord(text[i])
}

// isEscape says whether text[i:i+2] is a JSON escape of white space.
func isEscape(text string, i int) bool {
	return i >= 0 && i+1 < len(text) && text[i] == '\\' && strings.IndexByte("nrt", text[i+1]) >= 0 && !escaped(text, i)
}

// escaped says whether the byte at i is escaped: an odd run of
// backslashes ends just before it.
func escaped(s string, i int) bool {
	n := 0
	for i-n-1 >= 0 && s[i-n-1] == '\\' {
		n++
	}
	return n%2 == 1
}

func (r *Redactor) findPII(text, region string, add addFunc) {
	if r.on[Email] {
		findEmails(text, add)
	}
	if !strings.ContainsAny(text, "0123456789") {
		return
	}
	if r.on[IBAN] {
		findIBANs(text, add)
	}
	if r.on[IP] {
		findIPv6(text, add)
	}
	if r.on[NationalID] {
		findLetterIDs(text, add)
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		if !(isDigit(c) || c == '+' || c == '(') || !startsWord(text, i) {
			continue
		}
		if i > 0 && (text[i-1] == '.' || text[i-1] == '-' || text[i-1] == '/') && isDigit(c) {
			continue // the middle of a number, a date or a version
		}
		if isDigit(c) {
			if r.on[Card] {
				if end := matchCard(text, i); end > 0 {
					add(i, end, Card, prioCard)
				}
			}
			if r.on[NationalID] {
				if end := matchDigitID(text, i); end > 0 {
					add(i, end, NationalID, prioNationalID)
				}
			}
			if r.on[IP] {
				if end := matchIPv4(text, i); end > 0 {
					add(i, end, IP, prioIP)
				}
			}
		}
		if r.on[Phone] {
			if end := r.matchPhone(text, i, region); end > 0 {
				add(i, end, Phone, prioPhone)
				i = end - 1
			}
		}
	}
}

// --- e-mail ---------------------------------------------------------------

var fileExtensions = map[string]bool{
	"png": true, "jpg": true, "jpeg": true, "gif": true, "svg": true, "webp": true, "ico": true,
	"js": true, "ts": true, "css": true, "html": true, "json": true, "txt": true, "md": true,
	"py": true, "go": true, "rs": true, "java": true, "rb": true, "php": true, "pdf": true,
	"zip": true, "gz": true, "tar": true, "exe": true, "dll": true, "so": true, "yaml": true, "yml": true,
	"toml": true, "xml": true, "csv": true, "lock": true, "mjs": true, "cjs": true, "tsx": true, "jsx": true,
}

// countryExtensions are the file extensions that are also countries'
// domains (Moldova, Paraguay, Serbia, Somalia).
var countryExtensions = map[string]bool{"md": true, "py": true, "rs": true, "so": true}

// isFileName says whether what follows an '@' is a file's name
// (logo@2x.png, lodash@4.17.21.js), not a mail domain. A country's
// extension counts as a file only after a digit: ion@mail.md is an
// address, notes@v2.md a file.
func isFileName(name, ext string) bool {
	if !fileExtensions[ext] {
		return false
	}
	return !countryExtensions[ext] || strings.ContainsAny(name, "0123456789")
}

func isLocalChar(c byte) bool {
	return isAlnum(c) || strings.IndexByte("._%+-", c) >= 0
}

func isDomainChar(c byte) bool { return isAlnum(c) || c == '-' || c == '.' }

func findEmails(text string, add addFunc) {
	for off := 0; ; {
		at := strings.IndexByte(text[off:], '@')
		if at < 0 {
			return
		}
		at += off
		off = at + 1
		start := at
		for start > 0 && isLocalChar(text[start-1]) {
			start--
		}
		for start < at && text[start] == '.' {
			start++
		}
		if start == at || text[at-1] == '.' {
			continue
		}
		end := at + 1
		for end < len(text) && isDomainChar(text[end]) {
			end++
		}
		for end > at+1 && (text[end-1] == '.' || text[end-1] == '-') {
			end--
		}
		domain := text[at+1 : end]
		dot := strings.LastIndexByte(domain, '.')
		if dot <= 0 || strings.Contains(domain, "..") {
			continue
		}
		tld := domain[dot+1:]
		if len(tld) < 2 || !allAlpha(tld) || isFileName(domain[:dot], strings.ToLower(tld)) {
			continue
		}
		local := text[start:at]
		if local == "git" { // git@github.com: an SSH remote, not a person
			continue
		}
		add(start, end, Email, prioEmail)
		off = end
	}
}

func allAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isAlpha(s[i]) {
			return false
		}
	}
	return true
}

// --- digit groups ---------------------------------------------------------

// digitGroups reads digits from i, in groups separated by one separator
// from seps (the same one throughout). It returns the group lengths, the
// digits, and the end; it stops before maxDigits would be exceeded.
func digitGroups(text string, i int, seps string, maxDigits int) (groups []int, digits []byte, end int) {
	var sep byte
	j := i
	for j < len(text) {
		k := j
		for k < len(text) && isDigit(text[k]) && len(digits) < maxDigits {
			digits = append(digits, text[k])
			k++
		}
		if k == j {
			break
		}
		groups = append(groups, k-j)
		end = k
		if k+1 >= len(text) || strings.IndexByte(seps, text[k]) < 0 || !isDigit(text[k+1]) || len(digits) >= maxDigits {
			break
		}
		if sep != 0 && text[k] != sep {
			break
		}
		sep = text[k]
		j = k + 1
	}
	return groups, digits, end
}

func luhn(digits []byte) bool {
	sum, double := 0, false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// --- payment cards --------------------------------------------------------

func matchCard(text string, i int) int {
	groups, digits, end := digitGroups(text, i, " -", 19)
	if len(digits) < 13 || !endsWord(text, end) || followsNumber(text, end) {
		return 0
	}
	if len(groups) > 1 {
		for _, g := range groups[:len(groups)-1] {
			if g < 4 || g > 6 {
				return 0
			}
		}
	}
	if !cardPrefix(digits) || !luhn(digits) {
		return 0
	}
	return end
}

// cardPrefix checks the issuer identification number against the networks'
// published ranges and lengths.
func cardPrefix(d []byte) bool {
	n := len(d)
	p2 := atoi(d[:2])
	p4 := atoi(d[:4])
	switch {
	case d[0] == '4': // Visa
		return n == 13 || n == 16 || n == 19
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720: // Mastercard
		return n == 16
	case p2 == 34 || p2 == 37: // American Express
		return n == 15
	case p4 == 6011, p2 == 65, atoi(d[:3]) >= 644 && atoi(d[:3]) <= 649: // Discover
		return n >= 16
	case p4 >= 3528 && p4 <= 3589: // JCB
		return n >= 16
	case p2 == 36, p2 == 38, p2 == 39, atoi(d[:3]) >= 300 && atoi(d[:3]) <= 305: // Diners
		return n >= 14
	case p4 >= 2200 && p4 <= 2204: // Mir
		return n >= 16 && n <= 19
	case p2 == 62: // UnionPay
		return n >= 16
	case p2 == 50, p2 >= 56 && p2 <= 69: // Maestro
		return n >= 12
	}
	return false
}

func atoi(d []byte) int {
	n := 0
	for _, c := range d {
		n = n*10 + int(c-'0')
	}
	return n
}

// followsNumber says whether a number continues past end: "1.5", "3,000".
func followsNumber(text string, end int) bool {
	return end+1 < len(text) && (text[end] == '.' || text[end] == ',' || text[end] == '-') && isDigit(text[end+1])
}

// --- national IDs written with digits ------------------------------------

func matchDigitID(text string, i int) int {
	if end := matchSSN(text, i); end > 0 {
		return end
	}
	if end := matchSIN(text, i); end > 0 {
		return end
	}
	if end := matchCPF(text, i); end > 0 {
		return end
	}
	if end := matchAadhaar(text, i); end > 0 {
		return end
	}
	if end := matchDNI(text, i); end > 0 {
		return end
	}
	return matchChineseID(text, i)
}

// matchSSN: AAA-GG-SSSS (or spaces), area not 000, 666 or 9xx, group not
// 00, serial not 0000. Nine bare digits count after "SSN".
func matchSSN(text string, i int) int {
	groups, d, end := digitGroups(text, i, "- ", 9)
	bare := len(groups) == 1 && len(d) == 9 && keywordBefore(text, i, 24, "ssn", "social security")
	if !bare && (len(groups) != 3 || groups[0] != 3 || groups[1] != 2 || groups[2] != 4) {
		return 0
	}
	if !endsWord(text, end) || followsNumber(text, end) {
		return 0
	}
	area := atoi(d[:3])
	if area == 0 || area == 666 || area >= 900 || atoi(d[3:5]) == 0 || atoi(d[5:]) == 0 {
		return 0
	}
	return end
}

// matchSIN: a Canadian social insurance number, 3-3-3, Luhn-valid.
func matchSIN(text string, i int) int {
	groups, d, end := digitGroups(text, i, "- ", 9)
	if len(groups) != 3 || groups[0] != 3 || groups[1] != 3 || groups[2] != 3 || !endsWord(text, end) || followsNumber(text, end) {
		return 0
	}
	// One in ten random 3-3-3 numbers passes Luhn: written with spaces,
	// ask for a word that says an identifier is meant.
	if text[i+3] == ' ' && !keywordBefore(text, i, 40, "sin", "insurance", "id", "identity", "number", "nas", "no.") {
		return 0
	}
	if d[0] == '0' || d[0] == '8' || !luhn(d) {
		return 0
	}
	return end
}

// matchCPF: a Brazilian CPF, ddd.ddd.ddd-dd, with its two check digits.
func matchCPF(text string, i int) int {
	if i+14 > len(text) {
		return 0
	}
	s := text[i : i+14]
	for j := 0; j < 14; j++ {
		switch j {
		case 3, 7:
			if s[j] != '.' {
				return 0
			}
		case 11:
			if s[j] != '-' {
				return 0
			}
		default:
			if !isDigit(s[j]) {
				return 0
			}
		}
	}
	if !endsWord(text, i+14) {
		return 0
	}
	d := []byte(s[0:3] + s[4:7] + s[8:11] + s[12:14])
	same := true
	for _, c := range d {
		same = same && c == d[0]
	}
	if same {
		return 0
	}
	check := func(n int) byte {
		sum := 0
		for k := 0; k < n; k++ {
			sum += int(d[k]-'0') * (n + 1 - k)
		}
		r := sum * 10 % 11
		if r == 10 {
			r = 0
		}
		return byte('0' + r)
	}
	if check(9) != d[9] || check(10) != d[10] {
		return 0
	}
	return i + 14
}

// Verhoeff tables, for Aadhaar.
var (
	verhoeffD = [10][10]byte{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4, 0, 6, 7, 8, 9, 5}, {2, 3, 4, 0, 1, 7, 8, 9, 5, 6},
		{3, 4, 0, 1, 2, 8, 9, 5, 6, 7}, {4, 0, 1, 2, 3, 9, 5, 6, 7, 8}, {5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
		{6, 5, 9, 8, 7, 1, 0, 4, 3, 2}, {7, 6, 5, 9, 8, 2, 1, 0, 4, 3}, {8, 7, 6, 5, 9, 3, 2, 1, 0, 4},
		{9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
	}
	verhoeffP = [8][10]byte{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 5, 7, 6, 2, 8, 3, 0, 9, 4}, {5, 8, 0, 3, 7, 9, 6, 1, 4, 2},
		{8, 9, 1, 6, 0, 4, 3, 5, 2, 7}, {9, 4, 5, 3, 1, 2, 6, 8, 7, 0}, {4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
		{2, 7, 9, 3, 8, 0, 6, 4, 1, 5}, {7, 0, 4, 6, 9, 1, 3, 2, 5, 8},
	}
)

func verhoeff(d []byte) bool {
	c := byte(0)
	for i := range d {
		c = verhoeffD[c][verhoeffP[i%8][d[len(d)-1-i]-'0']]
	}
	return c == 0
}

// matchAadhaar: an Indian Aadhaar number, 4-4-4 (space or dash), first
// digit 2-9, Verhoeff-valid.
func matchAadhaar(text string, i int) int {
	groups, d, end := digitGroups(text, i, " -", 12)
	if len(groups) != 3 || groups[0] != 4 || groups[1] != 4 || groups[2] != 4 || !endsWord(text, end) || followsNumber(text, end) {
		return 0
	}
	if d[0] < '2' || !verhoeff(d) {
		return 0
	}
	return end
}

const dniLetters = "TRWAGMYFPDXBNJZSQVHLCKE"

// matchDNI: a Spanish DNI, eight digits and the check letter (n mod 23).
func matchDNI(text string, i int) int {
	j := i
	for j < len(text) && isDigit(text[j]) {
		j++
	}
	if j-i != 8 {
		return 0
	}
	if j < len(text) && text[j] == '-' {
		j++
	}
	if j >= len(text) || !isUpper(text[j]) || !endsWord(text, j+1) {
		return 0
	}
	n := atoi([]byte(text[i : i+8]))
	if dniLetters[n%23] != text[j] {
		return 0
	}
	return j + 1
}

// matchChineseID: an 18-character resident ID, the last a ISO 7064 MOD
// 11-2 check character, with a plausible birth date.
func matchChineseID(text string, i int) int {
	if i+18 > len(text) || !endsWord(text, i+18) {
		return 0
	}
	s := text[i : i+18]
	for j := 0; j < 17; j++ {
		if !isDigit(s[j]) {
			return 0
		}
	}
	year, month, day := atoi([]byte(s[6:10])), atoi([]byte(s[10:12])), atoi([]byte(s[12:14]))
	if year < 1900 || year > 2100 || month < 1 || month > 12 || day < 1 || day > 31 {
		return 0
	}
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for j := 0; j < 17; j++ {
		sum += int(s[j]-'0') * weights[j]
	}
	if "10X98765432"[sum%11] != s[17] {
		return 0
	}
	return i + 18
}

// findLetterIDs finds IDs that start with letters: UK National Insurance
// numbers and Spanish NIEs.
func findLetterIDs(text string, add addFunc) {
	for i := 0; i+9 <= len(text); i++ {
		c := text[i]
		if !isUpper(c) || !startsWord(text, i) {
			continue
		}
		if end := matchNINO(text, i); end > 0 {
			add(i, end, NationalID, prioNationalID)
			i = end
			continue
		}
		if end := matchNIE(text, i); end > 0 {
			add(i, end, NationalID, prioNationalID)
			i = end
		}
	}
}

// matchNINO: two letters (not D, F, I, Q, U, V; second not O; not the
// unused prefixes), six digits in pairs, and A-D.
func matchNINO(text string, i int) int {
	a, b := text[i], text[i+1]
	if strings.IndexByte("DFIQUV", a) >= 0 || !isUpper(b) || strings.IndexByte("DFIQUVO", b) >= 0 {
		return 0
	}
	switch text[i : i+2] {
	case "BG", "GB", "NK", "KN", "TN", "NT", "ZZ":
		return 0
	}
	j, n := i+2, 0
	for n < 6 && j < len(text) {
		if text[j] == ' ' && n%2 == 0 && n > 0 || text[j] == ' ' && n == 0 {
			j++
			continue
		}
		if !isDigit(text[j]) {
			return 0
		}
		n++
		j++
	}
	if n != 6 {
		return 0
	}
	if j < len(text) && text[j] == ' ' {
		j++
	}
	if j >= len(text) || text[j] < 'A' || text[j] > 'D' || !endsWord(text, j+1) {
		return 0
	}
	return j + 1
}

// matchNIE: a Spanish foreigner's number, X/Y/Z, seven digits, check letter.
func matchNIE(text string, i int) int {
	lead := strings.IndexByte("XYZ", text[i])
	if lead < 0 {
		return 0
	}
	j := i + 1
	if j < len(text) && text[j] == '-' {
		j++
	}
	k := j
	for k < len(text) && isDigit(text[k]) {
		k++
	}
	if k-j != 7 {
		return 0
	}
	if k < len(text) && text[k] == '-' {
		k++
	}
	if k >= len(text) || !isUpper(text[k]) || !endsWord(text, k+1) {
		return 0
	}
	num := "012"[lead:lead+1] + strings.ReplaceAll(text[j:j+7], "-", "")
	if dniLetters[atoi([]byte(num))%23] != text[k] {
		return 0
	}
	return k + 1
}

// keywordBefore says whether one of words (lower case) occurs in the
// window bytes before i.
func keywordBefore(text string, i, window int, words ...string) bool {
	base := max(0, i-window)
	w := asciiLower(text[base:i])
	for _, word := range words {
		for off := 0; ; {
			k := strings.Index(w[off:], word)
			if k < 0 {
				break
			}
			k += off
			if k == 0 && (base == 0 || !isAlpha(text[base-1])) || k > 0 && !isAlpha(w[k-1]) {
				return true
			}
			off = k + 1
		}
	}
	return false
}

// --- IBAN -----------------------------------------------------------------

var ibanLengths = map[string]int{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
	"BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
	"ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
	"HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
	"LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
	"MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29,
	"RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28,
	"TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}

func findIBANs(text string, add addFunc) {
	for i := 0; i+15 <= len(text); i++ {
		if !isUpper(text[i]) || !isUpper(text[i+1]) || !isDigit(text[i+2]) || !isDigit(text[i+3]) || !startsWord(text, i) {
			continue
		}
		n, ok := ibanLengths[text[i:i+2]]
		if !ok {
			continue
		}
		var b []byte
		j := i
		for j < len(text) && len(b) < n {
			c := text[j]
			switch {
			case isDigit(c) || isUpper(c):
				b = append(b, c)
			case c == ' ' && len(b)%4 == 0 && j+1 < len(text) && isAlnum(text[j+1]):
			default:
				j = len(text) + 1
				continue
			}
			j++
		}
		if len(b) != n || j > len(text) || !endsWord(text, j) || !mod97(b) {
			continue
		}
		add(i, j, IBAN, prioIBAN)
		i = j
	}
}

// mod97 checks an IBAN: the first four characters moved to the end, letters
// as 10-35, the number mod 97 is 1.
func mod97(b []byte) bool {
	rem := 0
	for _, c := range append(append([]byte{}, b[4:]...), b[:4]...) {
		if isDigit(c) {
			rem = (rem*10 + int(c-'0')) % 97
		} else {
			rem = (rem*100 + int(c-'A') + 10) % 97
		}
	}
	return rem == 1
}

// --- IP addresses ---------------------------------------------------------

func matchIPv4(text string, i int) int {
	j, parts := i, 0
	for parts < 4 {
		k := j
		for k < len(text) && isDigit(text[k]) && k-j < 3 {
			k++
		}
		if k == j {
			return 0
		}
		parts++
		j = k
		if parts < 4 {
			if j >= len(text) || text[j] != '.' {
				return 0
			}
			j++
		}
	}
	if j < len(text) && (isWord(text[j]) || j+1 < len(text) && text[j] == '.' && isDigit(text[j+1])) {
		return 0
	}
	a, err := netip.ParseAddr(text[i:j])
	if err != nil || a.IsLoopback() || a.IsUnspecified() || text[i:i+4] == "255." {
		return 0
	}
	if keywordBefore(text, i, 12, "version", "ver ", "ver.", "v.", "oid") {
		return 0
	}
	return j
}

func findIPv6(text string, add addFunc) {
	for off := 0; ; {
		c := strings.Index(text[off:], ":")
		if c < 0 {
			return
		}
		c += off
		start := c
		for start > 0 && (isHex(text[start-1]) || text[start-1] == ':') {
			start--
		}
		end := c
		for end < len(text) && (isHex(text[end]) || text[end] == ':' || text[end] == '.') {
			end++
		}
		for end > c && text[end-1] == '.' {
			end--
		}
		off = max(end, c+1)
		cand := text[start:end]
		if strings.Count(cand, ":") < 2 || !startsWord(text, start) || !endsWord(text, end) {
			continue
		}
		if end < len(text) && text[end] == '%' { // a zone: keep it with the address
			for end+1 < len(text) && isWord(text[end+1]) {
				end++
			}
			end++
		}
		a, err := netip.ParseAddr(cand)
		if err != nil { // "addr:port", written without brackets
			if k := strings.LastIndexByte(cand, ':'); k > 0 && k < len(cand)-1 && allDigits(cand[k+1:]) {
				if a, err = netip.ParseAddr(cand[:k]); err == nil {
					end = start + k
				}
			}
		}
		if err != nil || !a.Is6() || a.IsLoopback() || a.IsUnspecified() || hexDigits(cand) < 4 {
			continue
		}
		add(start, end, IP, prioIP)
	}
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

func hexDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if isHex(s[i]) {
			n++
		}
	}
	return n
}

// --- phone numbers --------------------------------------------------------

// matchPhone reads a phone-number-shaped run at i and asks libphonenumber
// whether it is a valid number: with a leading + in any region, otherwise
// in the record's region or the default one. Bare digit runs count only
// after a word such as "phone" or "call"; dates, versions, decimals and IP
// addresses are not candidates.
func (r *Redactor) matchPhone(text string, i int, region string) int {
	j, digits, seps, groups := i, 0, 0, 0
	plus := text[i] == '+'
	if plus {
		j++
	}
	lastDigit := -1
	var sepSet [256]bool
	inGroup := false
	for j < len(text) && digits <= 15 {
		c := text[j]
		switch {
		case isDigit(c):
			digits++
			lastDigit = j
			if !inGroup {
				groups++
				inGroup = true
			}
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/':
			if j+1 < len(text) && (text[j+1] == ' ' && c == ' ') {
				j = len(text)
				continue
			}
			if c == '.' && (j+1 >= len(text) || !isDigit(text[j+1])) {
				j = len(text)
				continue
			}
			seps++
			sepSet[c] = true
			inGroup = false
		default:
			j = len(text)
			continue
		}
		j++
	}
	if lastDigit < 0 || digits < 7 || digits > 15 {
		return 0
	}
	end := lastDigit + 1
	if !endsWord(text, end) || followsNumber(text, end) {
		return 0
	}
	cand := text[i:end]
	if sepSet['.'] && (groups == 4 || groups == 2 || groups == 3 && !plus && digits <= 8) {
		return 0 // an IP address, a version, a decimal, a dotted date (415.555.2671 is none)
	}
	if sepSet['/'] {
		return 0 // a date or a fraction
	}
	if !plus && (isDateLike(cand) || isSSNShape(cand)) {
		return 0
	}
	if !plus && seps == 0 && !keywordBefore(text, i, 32, "phone", "call", "tel", "mobile", "cell", "whatsapp", "fax", "number", "text me", "sms", "contact") {
		return 0
	}
	if plus {
		if ok := validPhone(cand, "ZZ"); ok {
			return end
		}
		return 0
	}
	for _, reg := range [...]string{region, r.region} {
		if reg != "" && len(reg) == 2 && validPhone(cand, reg) {
			return end
		}
	}
	return 0
}

func validPhone(s, region string) bool {
	n, err := phonenumbers.Parse(s, region)
	if err != nil {
		return false
	}
	return phonenumbers.IsValidNumber(n)
}

// isSSNShape recognises ddd-dd-dddd, which phone numbers are not written as.
func isSSNShape(s string) bool {
	return len(s) == 11 && s[3] == '-' && s[6] == '-' && allDigits(s[:3]+s[4:6]+s[7:])
}

// isDateLike recognises 2024-03-15, 15-03-2024 and 2024 03 15.
func isDateLike(s string) bool {
	var groups []int
	n := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			n++
			continue
		}
		if n > 0 {
			groups = append(groups, n)
		}
		n = 0
	}
	if n > 0 {
		groups = append(groups, n)
	}
	if len(groups) != 3 {
		return false
	}
	return groups[0] == 4 && groups[1] <= 2 && groups[2] <= 2 || groups[0] <= 2 && groups[1] <= 2 && groups[2] == 4
}
