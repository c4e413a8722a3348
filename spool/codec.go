package spool

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/lyumen/lyumen"
)

// A payload is one *lyumen.Record in a hand-written binary encoding. It
// starts with a version byte (recordVersion); the fields follow in the
// order of the struct:
//
//	string     uvarint length, bytes (any bytes: invalid UTF-8 survives)
//	int, dur   zig-zag varint
//	bool       one byte, 0 or 1
//	time       varint Unix seconds, uvarint nanoseconds, one byte zone
//	           (0 UTC, 1 fixed zone: string name, varint offset seconds)
//	[]byte     uvarint length+1, bytes; 0 means nil, so nil and empty differ
//	[]T        uvarint count+1, elements; 0 means nil
//	*T         one byte, 0 for nil or 1, then T
//	float      8 bytes, little endian IEEE 754
//
// Everything round-trips exactly except Response.Raw (json:"-", not
// stored) and a time's location, which comes back as UTC or as a fixed
// zone with the same name and offset (time.Time.Equal holds, and so does
// cmp.Diff, which uses it). A new field in lyumen.Record must be added
// here with a new recordVersion, read only from that version on (where it
// sits in the record is free, as long as the reader gates it); the
// round-trip test fills every field by reflection and fails until it is,
// and testdata/record_v<N>.bin holds each version's layout.
//
// Version 1 held the canonical conversation as JSON: encoding/json's
// reflection, both ways, cost more than the rest of the record. Version 2
// had no Tool.Strict, version 3 no Message.Reasoning or Refusal, version 4
// no Conversation.FrequencyPenalty or PresencePenalty, nor Usage.CachedTokens
// or ReasoningTokens. Segments written by any of them are still read.
const recordVersion = 5

var errPayload = errors.New("malformed record payload")

// errNewer is a whole frame whose record a newer release wrote: not
// corrupt, only not readable by this one, which must not set it aside.
var errNewer = errors.New("a record written by a newer release; run it to ship the spool")

// A progress payload (Spool.Progress) is progressTag, a uvarint
// generation, then a record's payload: the record of an exchange still
// being served, kept only until the record of the same ID that ends it.
// The generation grows with each progress of a process, so the latest of
// an ID's progress frames is known wherever copies of it sit in the log.
// progressTag is above every recordVersion: a release before progress
// frames sets one aside as written by a newer release.
const progressTag = 0x80

func appendProgress(b []byte, gen uint64, r *lyumen.Record) []byte {
	b = append(b, progressTag)
	b = binary.AppendUvarint(b, gen)
	return appendRecord(b, r)
}

// progressBody splits a progress payload into its generation and its
// record's payload.
func progressBody(p []byte) (gen uint64, rec []byte, ok bool) {
	if len(p) == 0 || p[0] != progressTag {
		return 0, nil, false
	}
	g, n := binary.Uvarint(p[1:])
	if n <= 0 {
		return 0, nil, false
	}
	return g, p[1+n:], true
}

// frameKey is what the spool needs to know of a payload without decoding
// it: the record's ID and, for a progress payload, its generation (0 for a
// record). The ID comes first in every version of a record's payload, so
// a progress around a newer release's record is known too (it is passed
// over like any progress). ok is false for a payload that does not start
// as one of ours.
func frameKey(p []byte) (id []byte, gen uint64, progress, ok bool) {
	if g, rec, isProgress := progressBody(p); isProgress {
		gen, progress, p = g, true, rec
	} else if len(p) > 0 && p[0] > recordVersion {
		return nil, 0, false, false
	}
	if len(p) == 0 || p[0] < 1 {
		return nil, 0, false, false
	}
	l, n := binary.Uvarint(p[1:])
	if n <= 0 || l > uint64(len(p)-1-n) {
		return nil, 0, false, false
	}
	return p[1+n : 1+n+int(l)], gen, progress, true
}

// decodeProgress decodes a progress payload's record.
func decodeProgress(p []byte) (*lyumen.Record, error) {
	_, rec, ok := progressBody(p)
	if !ok {
		return nil, errPayload
	}
	return decodeRecord(rec)
}

func appendRecord(b []byte, r *lyumen.Record) []byte {
	b = append(b, recordVersion)
	b = appendString(b, r.ID)
	b = appendTime(b, r.ReceivedAt)
	b = binary.AppendVarint(b, int64(r.Duration))
	b = binary.AppendVarint(b, int64(r.TTFT))
	b = appendString(b, string(r.Surface))
	b = appendString(b, r.Model)
	b = appendString(b, r.ServedModel)
	b = appendString(b, r.Provider)
	b = appendBool(b, r.Stream)
	b = binary.AppendVarint(b, int64(r.Status))
	b = appendString(b, r.Error)
	b = appendBytes(b, r.Request)
	b = appendBool(b, r.Response != nil)
	if r.Response != nil {
		b = appendResponse(b, r.Response)
	}
	b = appendUsage(b, &r.Usage)
	b = appendString(b, r.UserAgent)
	b = appendString(b, r.Country)
	b = appendString(b, string(r.Completeness))
	b = appendCount(b, r.Attempts == nil, len(r.Attempts))
	for i := range r.Attempts {
		a := &r.Attempts[i]
		b = appendString(b, a.Provider)
		b = appendString(b, a.Model)
		b = binary.AppendVarint(b, int64(a.Status))
		b = appendString(b, a.Error)
		b = binary.AppendVarint(b, int64(a.Duration))
	}
	b = appendBool(b, r.Conversation != nil)
	if r.Conversation != nil {
		b = appendConversation(b, r.Conversation)
	}
	return b
}

func appendConversation(b []byte, c *lyumen.Conversation) []byte {
	b = appendCount(b, c.Messages == nil, len(c.Messages))
	for i := range c.Messages {
		b = appendMessage(b, &c.Messages[i])
	}
	b = appendCount(b, c.Tools == nil, len(c.Tools))
	for i := range c.Tools {
		t := &c.Tools[i]
		b = appendString(b, t.Name)
		b = appendString(b, t.Description)
		b = appendBytes(b, t.Parameters)
		b = appendBool(b, t.Strict != nil)
		if t.Strict != nil {
			b = appendBool(b, *t.Strict)
		}
	}
	b = appendBool(b, c.ToolChoice != nil)
	if c.ToolChoice != nil {
		b = appendString(b, c.ToolChoice.Mode)
		b = appendString(b, c.ToolChoice.Name)
	}
	b = binary.AppendVarint(b, int64(c.MaxTokens))
	b = appendFloat(b, c.Temperature)
	b = appendFloat(b, c.TopP)
	b = appendCount(b, c.Stop == nil, len(c.Stop))
	for _, s := range c.Stop {
		b = appendString(b, s)
	}
	b = appendFloat(b, c.FrequencyPenalty)
	return appendFloat(b, c.PresencePenalty)
}

// appendFloat writes a *float64: present or not, then its bits.
func appendFloat(b []byte, f *float64) []byte {
	b = appendBool(b, f != nil)
	if f == nil {
		return b
	}
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(*f))
}

func appendResponse(b []byte, r *lyumen.Response) []byte {
	b = appendString(b, r.ID)
	b = appendString(b, r.Model)
	b = appendCount(b, r.Choices == nil, len(r.Choices))
	for i := range r.Choices {
		c := &r.Choices[i]
		b = binary.AppendVarint(b, int64(c.Index))
		b = appendMessage(b, &c.Message)
		b = appendString(b, c.FinishReason)
	}
	b = appendBool(b, r.Usage != nil)
	if r.Usage != nil {
		b = appendUsage(b, r.Usage)
	}
	return b
}

func appendMessage(b []byte, m *lyumen.Message) []byte {
	b = appendString(b, m.Role)
	b = appendString(b, m.Content)
	b = appendCount(b, m.ToolCalls == nil, len(m.ToolCalls))
	for i := range m.ToolCalls {
		tc := &m.ToolCalls[i]
		b = binary.AppendVarint(b, int64(tc.Index))
		b = appendString(b, tc.ID)
		b = appendString(b, tc.Type)
		b = appendString(b, tc.Name)
		b = appendString(b, tc.Arguments)
	}
	b = appendString(b, m.ToolCallID)
	b = appendString(b, m.Name)
	b = appendCount(b, m.Parts == nil, len(m.Parts))
	for i := range m.Parts {
		p := &m.Parts[i]
		b = appendString(b, p.Type)
		b = appendString(b, p.Text)
		b = appendString(b, p.URL)
		b = appendString(b, p.MediaType)
		b = appendString(b, p.Data)
	}
	b = appendString(b, m.Reasoning)
	b = appendString(b, m.Refusal)
	return b
}

func appendUsage(b []byte, u *lyumen.Usage) []byte {
	b = binary.AppendVarint(b, int64(u.PromptTokens))
	b = binary.AppendVarint(b, int64(u.CompletionTokens))
	b = binary.AppendVarint(b, int64(u.TotalTokens))
	b = binary.AppendVarint(b, int64(u.CachedTokens))
	b = binary.AppendVarint(b, int64(u.ReasoningTokens))
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b, p []byte) []byte {
	b = appendCount(b, p == nil, len(p))
	return append(b, p...)
}

// appendCount writes 0 for nil and n+1 otherwise.
func appendCount(b []byte, isNil bool, n int) []byte {
	if isNil {
		return append(b, 0)
	}
	return binary.AppendUvarint(b, uint64(n)+1)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func appendTime(b []byte, t time.Time) []byte {
	b = binary.AppendVarint(b, t.Unix())
	b = binary.AppendUvarint(b, uint64(t.Nanosecond()))
	if t.Location() == time.UTC {
		return append(b, 0)
	}
	name, off := t.Zone()
	b = append(b, 1)
	b = appendString(b, name)
	return binary.AppendVarint(b, int64(off))
}

// decodeRecord decodes a payload written by appendRecord. It never panics
// and never allocates more than a small multiple of len(p), whatever p holds.
func decodeRecord(p []byte) (*lyumen.Record, error) {
	if len(p) == 0 {
		return nil, errPayload
	}
	version := p[0]
	if version > recordVersion {
		return nil, fmt.Errorf("record payload version %d: %w", p[0], errNewer)
	}
	if version < 1 {
		return nil, fmt.Errorf("record payload version %d: %w", p[0], errPayload)
	}
	// One string holds every text field, so decoding a record costs one
	// allocation for its text however many fields it has.
	d := decoder{b: p, s: string(p), off: 1, version: version}
	r := &lyumen.Record{}
	r.ID = d.string()
	r.ReceivedAt = d.time()
	r.Duration = time.Duration(d.varint())
	r.TTFT = time.Duration(d.varint())
	r.Surface = lyumen.Surface(d.string())
	r.Model = d.string()
	r.ServedModel = d.string()
	r.Provider = d.string()
	r.Stream = d.bool()
	r.Status = d.int()
	r.Error = d.string()
	r.Request = d.bytes()
	if d.bool() {
		r.Response = d.response()
	}
	d.usage(&r.Usage)
	r.UserAgent = d.string()
	r.Country = d.string()
	r.Completeness = lyumen.Completeness(d.string())
	r.Attempts = list(&d, 5, func(a *lyumen.Attempt) {
		a.Provider = d.string()
		a.Model = d.string()
		a.Status = d.int()
		a.Error = d.string()
		a.Duration = time.Duration(d.varint())
	})
	if version == 1 {
		if conv := d.bytes(); conv != nil && d.err == nil {
			r.Conversation = new(lyumen.Conversation)
			if err := json.Unmarshal(conv, r.Conversation); err != nil {
				d.err = errPayload
			}
		}
	} else if d.bool() {
		r.Conversation = d.conversation()
	}
	if d.err == nil && d.off != len(p) {
		d.err = errPayload // trailing bytes: not what we wrote
	}
	if d.err != nil {
		return nil, d.err
	}
	return r, nil
}

type decoder struct {
	b       []byte
	s       string // b as a string: text fields are substrings of it
	off     int
	err     error
	version byte // the payload's recordVersion
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errPayload
	}
	d.off = len(d.b) // every later read fails fast
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail()
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.fail()
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) int() int {
	v := d.varint()
	if v < math.MinInt || v > math.MaxInt {
		d.fail()
		return 0
	}
	return int(v)
}

// length reads a byte length and checks that that many bytes remain.
func (d *decoder) length(v uint64) int {
	if v > uint64(len(d.b)-d.off) {
		d.fail()
		return 0
	}
	return int(v)
}

func (d *decoder) string() string {
	n := d.length(d.uvarint())
	if d.err != nil {
		return ""
	}
	s := d.s[d.off : d.off+n]
	d.off += n
	return s
}

func (d *decoder) bytes() []byte {
	n, ok := d.count(1)
	if !ok {
		return nil
	}
	p := make([]byte, n)
	copy(p, d.b[d.off:])
	d.off += n
	return p
}

// count reads a slice length written by appendCount. ok is false for nil.
// Each element takes at least size bytes, which bounds what a corrupt count
// can make the caller allocate.
func (d *decoder) count(size int) (n int, ok bool) {
	v := d.uvarint()
	if d.err != nil || v == 0 {
		return 0, false
	}
	v--
	if v > uint64(len(d.b)-d.off)/uint64(size) {
		d.fail()
		return 0, false
	}
	return int(v), true
}

// list decodes a list (nil when absent) whose elements take at least size
// bytes each, decoding each element with one.
func list[T any](d *decoder, size int, one func(*T)) []T {
	n, ok := d.count(size)
	if !ok {
		return nil
	}
	s := make([]T, n)
	for i := range s {
		one(&s[i])
	}
	return s
}

func (d *decoder) bool() bool {
	if d.err != nil {
		return false
	}
	if d.off >= len(d.b) || d.b[d.off] > 1 {
		d.fail()
		return false
	}
	d.off++
	return d.b[d.off-1] == 1
}

func (d *decoder) time() time.Time {
	sec := d.varint()
	nsec := d.uvarint()
	if nsec >= 1e9 || d.off >= len(d.b) {
		d.fail()
	}
	if d.err != nil {
		return time.Time{}
	}
	t := time.Unix(sec, int64(nsec))
	zone := d.b[d.off]
	d.off++
	switch zone {
	case 0:
		return t.UTC()
	case 1:
		name := d.string()
		off := d.varint()
		if off < math.MinInt32 || off > math.MaxInt32 {
			d.fail()
		}
		if d.err != nil {
			return time.Time{}
		}
		// A time the gateway took (time.Now) is in time.Local: give it
		// back in Local, not in a new zone of three allocations per record.
		local := t.In(time.Local)
		if lname, loff := local.Zone(); lname == name && int64(loff) == off {
			return local
		}
		return t.In(time.FixedZone(name, int(off)))
	}
	d.fail()
	return time.Time{}
}

func (d *decoder) usage(u *lyumen.Usage) {
	u.PromptTokens = d.int()
	u.CompletionTokens = d.int()
	u.TotalTokens = d.int()
	if d.version >= 5 {
		u.CachedTokens = d.int()
		u.ReasoningTokens = d.int()
	}
}

func (d *decoder) response() *lyumen.Response {
	r := &lyumen.Response{}
	r.ID = d.string()
	r.Model = d.string()
	r.Choices = list(d, 4, func(c *lyumen.Choice) {
		c.Index = d.int()
		d.message(&c.Message)
		c.FinishReason = d.string()
	})
	if d.bool() {
		r.Usage = &lyumen.Usage{}
		d.usage(r.Usage)
	}
	return r
}

func (d *decoder) message(m *lyumen.Message) {
	m.Role = d.string()
	m.Content = d.string()
	m.ToolCalls = list(d, 5, func(tc *lyumen.ToolCall) {
		tc.Index = d.int()
		tc.ID = d.string()
		tc.Type = d.string()
		tc.Name = d.string()
		tc.Arguments = d.string()
	})
	m.ToolCallID = d.string()
	m.Name = d.string()
	m.Parts = list(d, 5, func(p *lyumen.Part) {
		p.Type = d.string()
		p.Text = d.string()
		p.URL = d.string()
		p.MediaType = d.string()
		p.Data = d.string()
	})
	if d.version >= 4 {
		m.Reasoning = d.string()
		m.Refusal = d.string()
	}
}

func (d *decoder) conversation() *lyumen.Conversation {
	c := &lyumen.Conversation{}
	c.Messages = list(d, 6, d.message) // a message takes at least 6 bytes
	c.Tools = list(d, 3, func(t *lyumen.Tool) {
		t.Name = d.string()
		t.Description = d.string()
		t.Parameters = d.bytes()
		if d.version >= 3 && d.bool() {
			strict := d.bool()
			t.Strict = &strict
		}
	})
	if d.bool() {
		c.ToolChoice = &lyumen.ToolChoice{Mode: d.string(), Name: d.string()}
	}
	c.MaxTokens = d.int()
	c.Temperature = d.float()
	c.TopP = d.float()
	c.Stop = list(d, 1, func(s *string) { *s = d.string() })
	if d.version >= 5 {
		c.FrequencyPenalty = d.float()
		c.PresencePenalty = d.float()
	}
	return c
}

func (d *decoder) float() *float64 {
	if !d.bool() {
		return nil
	}
	if len(d.b)-d.off < 8 {
		d.fail()
		return nil
	}
	f := math.Float64frombits(binary.LittleEndian.Uint64(d.b[d.off:]))
	d.off += 8
	return &f
}
