package dataset

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cespare/xxhash/v2"
)

// Deduplication runs on the redacted conversations, so two that differ only
// in an address or a key ([EMAIL_1] both) count as the same.
//
// Exact: the hash of the normalized text (roles and contents, lower case,
// white space collapsed) is looked up in a hashSet.
//
// Near: MinHash over word 5-grams with LSH, then a check of the estimated
// Jaccard similarity against the threshold.
//   - Shingles of 5 words: long enough that two unrelated chats rarely share
//     one (single words and pairs are shared by everything in a language),
//     short enough that a small edit (a changed name, a fixed typo) leaves
//     most shingles intact.
//   - 128 permutations (as one-permutation hashing's 128 bins, see
//     minhash): the estimate of J has a standard deviation of
//     sqrt(J(1-J)/128), about 0.035 at J = 0.8.
//   - 16 bands of 8 rows: a pair with similarity J becomes a candidate with
//     probability 1-(1-J^8)^16: 0.95 at J = 0.8, 0.999 at 0.9, 0.06 at 0.5;
//     the S-curve's midpoint, (1/16)^(1/8), is 0.71, below the threshold,
//     so few true duplicates are missed and the check removes the rest.
//   - Threshold 0.8 on the estimate: the near-duplicate literature's usual
//     cut for web text (Broder; the GPT-3 and The Pile dedups used 0.8 and
//     0.5-0.8), meaning the same conversation with light edits.
//
// Each kept conversation costs its signature, 8 bits of a hash of each of
// its 128 minima (128 bytes: two different minima agree by chance once in
// 256, which lifts the estimate by (1-J)/256, under 0.001 near the
// threshold), 16 band slots of 8 bytes at a load of 3/8 to 3/4 (about 230
// bytes), and 16 bytes of the exact set: under 400 bytes.
const (
	shingleWords = 5
	permutations = 128
	bands        = 16
	rows         = permutations / bands
	nearJaccard  = 0.8
)

// DedupParams describes the near-duplicate detection, for the statistics.
type DedupParams struct {
	ShingleWords int     `json:"shingle_words"`
	Permutations int     `json:"permutations"`
	Bands        int     `json:"bands"`
	Rows         int     `json:"rows"`
	Threshold    float64 `json:"jaccard_threshold"`
}

// Params returns the near-duplicate parameters.
func Params() DedupParams {
	return DedupParams{shingleWords, permutations, bands, rows, nearJaccard}
}

// normalize lower-cases, collapses white space, and joins the messages as
// "role: text" lines.
func normalize(msgs []Message) string {
	n := 0
	for _, m := range msgs {
		n += len(m.Role) + len(m.Content) + 3
		for _, tc := range m.ToolCalls {
			n += 1 + len(tc.Name) + len(tc.Arguments)
		}
	}
	var b strings.Builder
	b.Grow(n) // lower case is never longer but for a few runes; Builder grows then
	for _, m := range msgs {
		b.WriteString(m.Role)
		b.WriteString(": ")
		normalizeText(&b, m.Content)
		for _, tc := range m.ToolCalls {
			b.WriteByte(' ')
			b.WriteString(tc.Name)
			b.WriteString(tc.Arguments)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// normalizeText writes s lower-cased, each run of white space as one
// space (none at the end). Runs of ASCII that need no change are copied
// whole.
func normalizeText(b *strings.Builder, s string) {
	space := false
	for i := 0; i < len(s); {
		if asciiPlain[s[i]] {
			j := i + 1
			for j < len(s) { // a single space between plain bytes stays as it is
				if asciiPlain[s[j]] {
					j++
				} else if s[j] == ' ' && j+1 < len(s) && asciiPlain[s[j+1]] {
					j += 2
				} else {
					break
				}
			}
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteString(s[i:j])
			i = j
			continue
		}
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		i += size
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(unicode.ToLower(r))
	}
}

// asciiPlain marks the bytes normalizeText copies as they are: ASCII
// other than upper case letters and white space.
var asciiPlain = func() (t [256]bool) {
	for c := range utf8.RuneSelf {
		t[c] = !unicode.IsSpace(rune(c)) && !unicode.IsUpper(rune(c))
	}
	return t
}()

type signature [permutations]uint64

// shingleWeights are distinct odd constants, so that a shingle's hash
// depends on the order of its words.
var shingleWeights = [...]uint64{0x9e3779b97f4a7c15, 0xbf58476d1ce4e5b9, 0x94d049bb133111eb, 0xd6e8feb86659fd93, 0xc2b2ae3d27d4eb4f}

// One weight per word of a shingle: this fails to compile otherwise.
var _ [len(shingleWeights) - shingleWords]struct{}
var _ [shingleWords - len(shingleWeights)]struct{}

// minhash computes the signature of text's word 5-grams by one-permutation
// hashing (Li, Owen & Zhang, 2012): each shingle's hash picks one of the
// 128 bins with its top 7 bits and competes for that bin's minimum with
// the rest, so a shingle costs one hash instead of 128. Empty bins (short
// texts) are filled by rotation (Shrivastava & Li, 2014): from the next
// non-empty bin to the right, plus an offset for the distance. The fraction
// of equal bins estimates the Jaccard similarity as k independent
// permutations would. Text of fewer than five words is one shingle.
func minhash(text string) signature {
	const empty = ^uint64(0)
	var sig signature
	for i := range sig {
		sig[i] = empty
	}
	var ring [shingleWords]uint64 // hashes of the last words
	n := 0
	add := func(h uint64) {
		bin, v := h>>57, h&(1<<57-1)
		if v < sig[bin] {
			sig[bin] = v
		}
	}
	// A shingle's hash is its words' hashes weighted by position, mixed:
	// one mix per shingle, where chaining them took ten.
	shingle := func() uint64 {
		var h uint64
		for k := range shingleWords {
			h += ring[(n+k)%shingleWords] * shingleWeights[k]
		}
		return mix(h)
	}
	start := -1
	for i := 0; i <= len(text); {
		word, size := false, 1 // past the end: a space ends the last word
		if i < len(text) {
			if c := text[i]; c < utf8.RuneSelf {
				word = wordByte[c]
			} else {
				var r rune
				r, size = utf8.DecodeRuneInString(text[i:])
				word = unicode.IsLetter(r) || unicode.IsDigit(r)
			}
		}
		switch {
		case word && start < 0:
			start = i
		case !word && start >= 0:
			ring[n%shingleWords] = mix(fnvAdd(fnvOffset, text[start:i]))
			n++
			start = -1
			if n >= shingleWords {
				add(shingle())
			}
		}
		i += size
	}
	if n > 0 && n < shingleWords {
		var h uint64
		for k := range n {
			h += ring[k] * shingleWeights[k]
		}
		add(mix(h))
	}
	if n == 0 {
		return signature{}
	}
	for j := range sig {
		if sig[j] != empty {
			continue
		}
		for d := 1; d < permutations; d++ {
			// v < 1<<57: a bin a shingle filled, not one filled by rotation.
			if v := sig[(j+d)%permutations]; v < 1<<57 {
				sig[j] = mix(v+uint64(d)*0x9e3779b97f4a7c15) | 1<<63
				break
			}
		}
	}
	return sig
}

// wordByte marks the ASCII bytes minhash counts as part of a word.
var wordByte = func() (t [utf8.RuneSelf]bool) {
	for c := range utf8.RuneSelf {
		t[c] = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '[' || c == ']' || c == '_'
	}
	return t
}()

// deduper finds exact and near duplicates of what it has seen.
type deduper struct {
	exact hashSet
	sigs  []uint8 // permutations per kept conversation: 8 bits of a hash of each minimum
	table bandTable
	a     *arena // where the tables live; nil: the Go heap
}

func newDeduper(a *arena) *deduper {
	return &deduper{exact: hashSet{a: a}, table: bandTable{a: a}, a: a}
}

// dupKind is what dedupe found.
type dupKind int

const (
	unique dupKind = iota
	exactDup
	nearDup
)

// prepareDedup computes what decide needs; it runs on the workers.
//
// The exact hash covers every message; the near one leaves out the system
// prompts: an app's long prompt, shared by all its conversations, would
// make them all look alike whatever was asked and answered.
func prepareDedup(msgs []Message) (uint64, signature) {
	norm := normalize(msgs)
	lead := 0 // the system prompts before the first other message
	for lead < len(msgs) && system(msgs[lead].Role) {
		lead++
	}
	body := norm
	if lead > 0 {
		// normalize writes a line per message, and a message's text has
		// no newline left: the body starts after the lead's lines.
		cut := 0
		for range lead {
			cut += strings.IndexByte(norm[cut:], '\n') + 1
		}
		body = norm[cut:]
	}
	for _, m := range msgs[lead:] {
		if system(m.Role) { // one further in, rare: normalize again without it
			body = normalize(slices.DeleteFunc(slices.Clone(msgs), func(m Message) bool { return system(m.Role) }))
			break
		}
	}
	return xxhash.Sum64String(norm), minhash(body)
}

func system(role string) bool { return role == "system" || role == "developer" }

// decide reports whether the conversation duplicates one kept before, and
// keeps it when it does not. It runs in export order.
func (d *deduper) decide(exact uint64, sig *signature) dupKind {
	if !d.exact.add(exact) {
		return exactDup
	}
	var keys [bands]uint64
	for b := range keys {
		h := uint64(b+1) * 0x9e3779b97f4a7c15
		for r := 0; r < rows; r++ {
			h = chain(h, sig[b*rows+r])
		}
		keys[b] = h
		if idx, ok := d.table.get(h); ok && d.similar(idx, sig) {
			return nearDup
		}
	}
	idx := uint32(len(d.sigs) / permutations)
	if len(d.sigs)+permutations > cap(d.sigs) {
		old := d.sigs
		d.sigs = d.a.bytes(max(64<<10, 2*cap(old)))[:len(old)]
		copy(d.sigs, old)
		d.a.free(old)
	}
	for _, v := range sig {
		d.sigs = append(d.sigs, uint8(mix(v)))
	}
	for _, k := range keys {
		d.table.putIfAbsent(k, idx)
	}
	return unique
}

// similar estimates the Jaccard similarity of kept conversation idx and sig.
func (d *deduper) similar(idx uint32, sig *signature) bool {
	kept := d.sigs[int(idx)*permutations : int(idx+1)*permutations]
	same := 0
	for i, v := range kept {
		if v == uint8(mix(sig[i])) { // minima are small numbers: hash before truncating
			same++
		}
	}
	return float64(same)/permutations >= nearJaccard
}

func (d *deduper) bytes() int {
	return d.exact.bytes() + cap(d.sigs) + d.table.bytes()
}

// bandTable maps band hashes to the first conversation kept with them. It
// keeps 32 bits of each hash, which also pick the slot: a false match costs
// a signature check, nothing more. 8 bytes a slot, at most 3/4 full.
type bandTable struct {
	keys []uint32 // 0 is empty
	vals []uint32
	n    int
	a    *arena // where the arrays live; nil: the Go heap
}

func fingerprint(k uint64) uint32 { return uint32(k>>32) | 1 }

func (t *bandTable) get(k uint64) (uint32, bool) {
	if len(t.keys) == 0 {
		return 0, false
	}
	f := fingerprint(k)
	mask := uint32(len(t.keys) - 1)
	for i := f & mask; ; i = (i + 1) & mask {
		switch t.keys[i] {
		case 0:
			return 0, false
		case f:
			return t.vals[i], true
		}
	}
}

func (t *bandTable) putIfAbsent(k uint64, v uint32) {
	t.put(fingerprint(k), v)
}

func (t *bandTable) put(f, v uint32) {
	if 4*(t.n+1) > 3*len(t.keys) {
		old, oldVals := t.keys, t.vals
		size := max(1024, 2*len(old))
		t.keys, t.vals, t.n = t.a.uint32s(size), t.a.uint32s(size), 0
		for i, of := range old {
			if of != 0 {
				t.put(of, oldVals[i])
			}
		}
		t.a.freeUint32s(old)
		t.a.freeUint32s(oldVals)
	}
	mask := uint32(len(t.keys) - 1)
	for i := f & mask; ; i = (i + 1) & mask {
		switch t.keys[i] {
		case 0:
			t.keys[i], t.vals[i] = f, v
			t.n++
			return
		case f:
			return
		}
	}
}

func (t *bandTable) bytes() int { return 8 * len(t.keys) }
