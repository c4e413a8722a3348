// Package storage measures what the record stores cost on disk and how fast
// they take records, on a generated workload shaped like real chat traffic:
// multi-turn conversations whose client resends the whole history with
// every turn. The workload is deterministic for a given seed, so runs
// compare.
//
//	go test -run '^$' -bench . ./bench/storage/
//	go run ./bench/storage/cmd/storagebench
package storage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/openai"
)

// Config shapes a conversation workload.
type Config struct {
	Seed          uint64
	Conversations int
	// Conversations begin at random within [Start, Start+Span).
	Start time.Time
	Span  time.Duration
}

// DefaultConfig is the workload STORAGE.md reports on.
func DefaultConfig() Config {
	return Config{
		Seed:          1,
		Conversations: 3000,
		Start:         time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC),
		Span:          24 * time.Hour,
	}
}

// model is what a client asks for and what serves it.
type model struct {
	name, served, provider string
	weight                 int
}

var models = []model{
	{"gpt-4o-mini", "gpt-4o-mini-2024-07-18", "openai", 40},
	{"gpt-4o", "gpt-4o-2024-08-06", "openai", 20},
	{"claude-sonnet-4", "claude-sonnet-4-20250514", "anthropic", 15},
	{"llama-3.3-70b", "meta-llama/Llama-3.3-70B-Instruct-Turbo", "together", 15},
	{"gemini-2.0-flash", "gemini-2.0-flash-001", "gemini", 10},
}

var userAgents = []string{
	"OpenAI/Python 1.82.0", "OpenAI/Python 1.82.0", "OpenAI/Python 1.79.0", "OpenAI/JS 4.98.0",
	"OpenAI/JS 5.1.0", "python-requests/2.32.3", "curl/8.7.1", "LangChain/0.3.25", "litellm/1.72.0",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/137.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.4 Safari/605.1.15",
}

var countries = []string{"US", "US", "US", "DE", "DE", "GB", "FR", "IN", "IN", "BR", "JP", "NL", "PL", "CA", "T1", ""}

var toolNames = []string{
	"get_weather", "search_web", "read_file", "run_sql", "send_email", "create_ticket",
	"lookup_order", "get_stock_price", "list_calendar_events", "http_get", "run_python", "translate",
}

// shared is what many conversations have in common: system prompts and
// tools arrays, as apps built on the gateway send them.
type shared struct {
	systems []string
	tools   []json.RawMessage
}

func newShared(seed uint64) *shared {
	r := rand.New(rand.NewPCG(seed, math.MaxUint64))
	t := newText(r)
	s := &shared{}
	for range 6 {
		var b strings.Builder
		b.WriteString("You are a helpful assistant. ")
		t.prose(&b, 200+r.IntN(1300))
		s.systems = append(s.systems, b.String())
	}
	for range 3 {
		s.tools = append(s.tools, toolSet(r, t))
	}
	return s
}

// toolSet returns a tools array of two to six function definitions.
func toolSet(r *rand.Rand, t *text) json.RawMessage {
	type prop struct {
		Type        string `json:"type"`
		Description string `json:"description"`
	}
	type fn struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		Parameters  struct {
			Type       string          `json:"type"`
			Properties map[string]prop `json:"properties"`
			Required   []string        `json:"required"`
		} `json:"parameters"`
	}
	type tool struct {
		Type     string `json:"type"`
		Function fn     `json:"function"`
	}
	var tools []tool
	for _, i := range r.Perm(len(toolNames))[:2+r.IntN(5)] {
		var f fn
		f.Name = toolNames[i]
		var sb strings.Builder
		t.sentence(&sb, ".")
		f.Description = sb.String()
		f.Parameters.Type = "object"
		f.Parameters.Properties = map[string]prop{}
		for j := range 1 + r.IntN(4) {
			name := identifiers[r.IntN(len(identifiers))]
			var d strings.Builder
			t.sentence(&d, ".")
			f.Parameters.Properties[name] = prop{Type: []string{"string", "integer", "boolean"}[r.IntN(3)], Description: d.String()}
			if j == 0 {
				f.Parameters.Required = append(f.Parameters.Required, name)
			}
		}
		tools = append(tools, tool{Type: "function", Function: f})
	}
	return marshal(tools)
}

// The request body as OpenAI clients send it.
type (
	chatRequest struct {
		Model         string          `json:"model"`
		Messages      []any           `json:"messages"` // chatMessage or sdkMessage
		Tools         json.RawMessage `json:"tools,omitempty"`
		ToolChoice    string          `json:"tool_choice,omitempty"`
		Temperature   *float64        `json:"temperature,omitempty"`
		MaxTokens     int             `json:"max_tokens,omitempty"`
		Stream        bool            `json:"stream,omitempty"`
		StreamOptions *streamOptions  `json:"stream_options,omitempty"`
	}
	streamOptions struct {
		IncludeUsage bool `json:"include_usage"`
	}
	chatMessage struct {
		Role       string         `json:"role"`
		Content    *string        `json:"content"` // null beside tool calls
		ToolCalls  []chatToolCall `json:"tool_calls,omitempty"`
		ToolCallID string         `json:"tool_call_id,omitempty"`
	}
	// sdkMessage is an answer sent back as the SDK's message object, with
	// the fields the response had.
	sdkMessage struct {
		Content     *string        `json:"content"`
		Refusal     *string        `json:"refusal"`
		Role        string         `json:"role"`
		Annotations []any          `json:"annotations"`
		ToolCalls   []chatToolCall `json:"tool_calls,omitempty"`
	}
	chatToolCall struct {
		ID       string       `json:"id"`
		Type     string       `json:"type"`
		Function chatFunction `json:"function"`
	}
	chatFunction struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	}
)

// Client styles: how a client encodes its requests and sends answers back.
const (
	styleCompact = iota // JSON.stringify, httpx 0.28+: compact, UTF-8 as is
	stylePython         // json.dumps defaults (requests, older httpx): ", " and ": ", non-ASCII as \uXXXX
	styleSDK            // compact, answers sent back as the SDK's message objects
)

// marshal encodes v as JS and Python clients do: without escaping <, > and &.
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // the workload's own types always encode
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// pyDumps turns compact JSON into what Python's json.dumps makes of the
// same value by default.
func pyDumps(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/8)
	in := false
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case in && c == '\\':
			out = append(out, b[i], b[i+1])
			i += 2
			continue
		case c == '"':
			in = !in
		case !in && (c == ',' || c == ':'):
			out = append(out, c, ' ')
			i++
			continue
		case in && c >= utf8.RuneSelf:
			r, n := utf8.DecodeRune(b[i:])
			if r > 0xffff {
				r1, r2 := utf16.EncodeRune(r)
				out = fmt.Appendf(out, `\u%04x\u%04x`, r1, r2)
			} else {
				out = fmt.Appendf(out, `\u%04x`, r)
			}
			i += n
			continue
		}
		out = append(out, c)
		i++
	}
	return out
}

// conv generates one conversation.
type conv struct {
	style  int
	r      *rand.Rand
	t      *text
	sh     *shared
	at     time.Time
	model  model
	req    chatRequest
	agent  string
	nation string
	recs   []*lyumen.Record
	// answer, when set, sizes every answer and turns failures off.
	answer func() int
}

// Conversations generates the workload: cfg.Conversations conversations of
// 1 to 30 turns, one record per request, in the order they were received.
func Conversations(cfg Config) []*lyumen.Record {
	sh := newShared(cfg.Seed)
	var recs []*lyumen.Record
	for i := range cfg.Conversations {
		r := rand.New(rand.NewPCG(cfg.Seed, uint64(i)))
		start := cfg.Start.Add(time.Duration(r.Int64N(int64(cfg.Span))))
		recs = append(recs, conversation(r, sh, start, turns(r))...)
	}
	return ordered(cfg.Seed, recs)
}

// turns draws a conversation's length: three in ten are one question, the
// rest a long tail up to 30 turns (about 5 on average, retries included).
func turns(r *rand.Rand) int {
	if r.IntN(10) < 3 {
		return 1
	}
	return min(2+int(r.ExpFloat64()*5), 30)
}

// ordered sorts recs by the time they were received and gives them
// UUIDv7 ids, as the gateway does.
func ordered(seed uint64, recs []*lyumen.Record) []*lyumen.Record {
	slices.SortStableFunc(recs, func(a, b *lyumen.Record) int { return a.ReceivedAt.Compare(b.ReceivedAt) })
	r := rand.New(rand.NewPCG(seed, math.MaxUint64-1))
	for _, rec := range recs {
		ms := uint64(rec.ReceivedAt.UnixMilli())
		rec.ID = fmt.Sprintf("%08x-%04x-7%03x-%04x-%012x",
			ms>>16, ms&0xffff, r.Uint64N(1<<12), 0x8000|r.Uint64N(1<<14), r.Uint64N(1<<48))
	}
	return recs
}

func conversation(r *rand.Rand, sh *shared, start time.Time, n int) []*lyumen.Record {
	c := &conv{r: r, t: newText(r), sh: sh, at: start}
	switch k := r.IntN(20); {
	case k < 11:
		c.style = styleCompact
	case k < 16:
		c.style = stylePython
	default:
		c.style = styleSDK
	}
	if r.IntN(100) < 15 {
		c.t.foreign = true // some words in other scripts
	}
	c.model = pick(r, models)
	c.agent = userAgents[r.IntN(len(userAgents))]
	c.nation = countries[r.IntN(len(countries))]
	c.req.Model = c.model.name
	if r.IntN(10) < 6 {
		c.req.Stream = true
		if r.IntN(2) == 0 {
			c.req.StreamOptions = &streamOptions{IncludeUsage: true}
		}
	}
	if r.IntN(3) == 0 {
		temp := float64(r.IntN(11)) / 10
		c.req.Temperature = &temp
	}
	if r.IntN(4) == 0 {
		c.req.MaxTokens = []int{256, 512, 1024, 4096}[r.IntN(4)]
	}
	if r.IntN(4) == 0 {
		c.req.Tools = sh.tools[r.IntN(len(sh.tools))]
		c.req.ToolChoice = "auto"
	}
	if r.IntN(10) < 9 {
		// Apps share a few system prompts; the first ones are the busiest.
		c.say("system", sh.systems[min(int(r.ExpFloat64()*2), len(sh.systems)-1)])
	}
	c.say("user", c.t.question(c.t.logNormal(150, 1.1, 8, 8000)))
	for turn := 0; turn < n; turn++ {
		last := c.turn()
		if last.Completeness != lyumen.Complete {
			if last.Completeness == lyumen.UpstreamRefused {
				turn-- // the client tries the same request again
				c.at = c.at.Add(time.Duration(1+r.IntN(10)) * time.Second)
				continue
			}
			break // the user left
		}
		msg := last.Response.Choices[0].Message
		c.reply(msg)
		if len(msg.ToolCalls) > 0 {
			for _, tc := range msg.ToolCalls {
				c.req.Messages = append(c.req.Messages, chatMessage{
					Role: "tool", Content: ptr(c.toolResult()), ToolCallID: tc.ID,
				})
			}
			c.at = c.at.Add(time.Duration(200+r.IntN(3000)) * time.Millisecond)
			continue
		}
		c.say("user", c.t.question(c.t.logNormal(150, 1.1, 8, 8000)))
		c.at = c.at.Add(time.Duration(5+r.IntN(180)) * time.Second) // reading and typing
	}
	return c.recs
}

func (c *conv) say(role, content string) {
	c.req.Messages = append(c.req.Messages, chatMessage{Role: role, Content: &content})
}

// reply appends the assistant's message as the client sends it back.
func (c *conv) reply(m lyumen.Message) {
	var content *string
	if m.Content != "" || len(m.ToolCalls) == 0 {
		content = ptr(m.Content)
	}
	var calls []chatToolCall
	for _, tc := range m.ToolCalls {
		calls = append(calls, chatToolCall{ID: tc.ID, Type: tc.Type, Function: chatFunction{tc.Name, tc.Arguments}})
	}
	if c.style == styleSDK {
		c.req.Messages = append(c.req.Messages, sdkMessage{Content: content, Role: "assistant", Annotations: []any{}, ToolCalls: calls})
		return
	}
	c.req.Messages = append(c.req.Messages, chatMessage{Role: "assistant", Content: content, ToolCalls: calls})
}

// turn records one request and its outcome.
func (c *conv) turn() *lyumen.Record {
	r := c.r
	body := marshal(c.req)
	if c.style == stylePython {
		body = pyDumps(body)
	}
	req, err := openai.DecodeChat(body) // as the gateway does, for the canonical conversation
	if err != nil {
		panic(fmt.Sprintf("workload: own request does not decode: %v", err))
	}
	rec := &lyumen.Record{
		ReceivedAt:   c.at,
		Surface:      lyumen.SurfaceOpenAIChat,
		Model:        c.model.name,
		ServedModel:  c.model.served,
		Provider:     c.model.provider,
		Stream:       c.req.Stream,
		Status:       200,
		Request:      body,
		Conversation: req.Conversation(),
		UserAgent:    c.agent,
		Country:      c.nation,
		Completeness: lyumen.Complete,
	}
	c.recs = append(c.recs, rec)
	if c.answer == nil && r.IntN(100) < 2 { // every target refused: the client will retry
		rec.Status, rec.Error, rec.Completeness = 429, "upstream: rate limited by every target", lyumen.UpstreamRefused
		rec.ServedModel, rec.Provider = "", ""
		rec.Duration = time.Duration(30+r.IntN(200)) * time.Millisecond
		rec.Attempts = []lyumen.Attempt{
			{Provider: c.model.provider, Model: c.model.served, Status: 429, Error: "rate limited", Duration: rec.Duration / 2},
			{Provider: "azure", Model: c.model.name, Status: 429, Error: "rate limited", Duration: rec.Duration / 2},
		}
		return rec
	}

	msg := lyumen.Message{Role: "assistant"}
	finish := "stop"
	last, _ := c.req.Messages[len(c.req.Messages)-1].(chatMessage)
	if c.req.Tools != nil && last.Role == "user" && r.IntN(2) == 0 {
		finish = "tool_calls"
		for i := range 1 + r.IntN(2) {
			msg.ToolCalls = append(msg.ToolCalls, lyumen.ToolCall{
				Index: i, ID: "call_" + c.token(24), Type: "function", Name: c.toolName(), Arguments: c.arguments(),
			})
		}
	} else {
		n := c.t.logNormal(700, 0.8, 20, 8000)
		if c.answer != nil {
			n = c.answer()
		}
		msg.Content = c.t.answer(n)
	}
	completion := (len(msg.Content) + 40*len(msg.ToolCalls)) / 4
	prompt := len(body) / 4
	usage := lyumen.Usage{PromptTokens: prompt, CompletionTokens: completion, TotalTokens: prompt + completion}
	ttft := time.Duration(150+r.IntN(1200)) * time.Millisecond
	rec.Duration = ttft + time.Duration(completion)*time.Duration(8+r.IntN(25))*time.Millisecond
	rec.TTFT = ttft
	if !rec.Stream {
		rec.TTFT = rec.Duration
	}
	rec.Usage = usage
	rec.Response = &lyumen.Response{
		ID:      "chatcmpl-" + c.token(29),
		Model:   c.model.served,
		Choices: []lyumen.Choice{{Message: msg, FinishReason: finish}},
		Usage:   &usage,
	}
	rec.Attempts = []lyumen.Attempt{{Provider: c.model.provider, Model: c.model.served, Status: 200, Duration: rec.Duration - time.Millisecond}}
	if r.IntN(100) < 5 { // the first target failed, the second served
		rec.Attempts = append([]lyumen.Attempt{{Provider: "azure", Model: c.model.name, Status: 503, Error: "service unavailable", Duration: 40 * time.Millisecond}}, rec.Attempts...)
	}
	if c.answer == nil && rec.Stream && r.IntN(100) < 2 { // the user closed the tab mid-answer
		rec.Completeness = lyumen.ClientDisconnected
		msg.Content = msg.Content[:len(msg.Content)/2]
		rec.Response.Choices[0].Message = msg
		rec.Response.Choices[0].FinishReason = ""
	}
	c.at = c.at.Add(rec.Duration)
	return rec
}

func (c *conv) toolName() string {
	var tools []struct {
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	_ = json.Unmarshal(c.req.Tools, &tools) // our own tools array
	return tools[c.r.IntN(len(tools))].Function.Name
}

func (c *conv) arguments() string {
	args := map[string]any{}
	for range 1 + c.r.IntN(3) {
		k := identifiers[c.r.IntN(len(identifiers))]
		switch c.r.IntN(3) {
		case 0:
			args[k] = c.r.IntN(10000)
		default:
			args[k] = c.t.word() + " " + c.t.word()
		}
	}
	return string(marshal(args))
}

// toolResult is what a tool returned: a JSON document or a page of text.
func (c *conv) toolResult() string {
	n := c.t.logNormal(400, 1.0, 20, 6000)
	if c.r.IntN(2) == 0 {
		var items []map[string]any
		for size := 0; size < n; size += 60 {
			items = append(items, map[string]any{
				"id": c.r.IntN(1 << 20), "name": c.t.word() + " " + c.t.word(), "score": float64(c.r.IntN(1000)) / 10,
			})
		}
		return string(marshal(map[string]any{"results": items}))
	}
	var sb strings.Builder
	c.t.prose(&sb, n)
	return sb.String()
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func (c *conv) token(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alnum[c.r.IntN(len(alnum))]
	}
	return string(b)
}

// Flat generates n single-turn records of about 2 KB each (request and
// response), all different but for a shared system prompt: the shape
// BenchmarkWriteRecords measures write speed with. first numbers the
// records, so consecutive calls continue one deterministic stream.
func Flat(seed uint64, first, n int) []*lyumen.Record {
	sh := newShared(seed)
	start := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	recs := make([]*lyumen.Record, n)
	for i := range recs {
		k := first + i
		r := rand.New(rand.NewPCG(seed^0xf1a7, uint64(k)))
		c := &conv{r: r, t: newText(r), sh: sh, at: start.Add(time.Duration(k) * time.Millisecond)}
		c.answer = func() int { return 300 + r.IntN(200) }
		c.model = pick(r, models)
		c.agent = userAgents[r.IntN(len(userAgents))]
		c.nation = countries[r.IntN(len(countries))]
		c.req = chatRequest{Model: c.model.name, Stream: r.IntN(2) == 0}
		c.say("system", sh.systems[0][:min(300, len(sh.systems[0]))])
		c.say("user", c.t.question(850+r.IntN(200)))
		recs[i] = c.turn()
	}
	return ordered(seed+uint64(first), recs)
}

func pick(r *rand.Rand, ms []model) model {
	total := 0
	for _, m := range ms {
		total += m.weight
	}
	n := r.IntN(total)
	for _, m := range ms {
		if n < m.weight {
			return m
		}
		n -= m.weight
	}
	return ms[len(ms)-1]
}

func ptr[T any](v T) *T { return &v }

// RawBytes is what a record weighs before storage: its request body and
// its response as JSON.
func RawBytes(rec *lyumen.Record) int64 {
	n := int64(len(rec.Request))
	if rec.Response != nil {
		b, _ := json.Marshal(rec.Response) // a Response always encodes
		n += int64(len(b))
	}
	return n
}

// Describe summarises a workload in one line.
func Describe(recs []*lyumen.Record) string {
	var raw, largest int64
	var streamed, tools, failed int
	for _, r := range recs {
		raw += RawBytes(r)
		largest = max(largest, int64(len(r.Request)))
		if r.Stream {
			streamed++
		}
		if bytes.Contains(r.Request, []byte(`"tools":`)) {
			tools++
		}
		if r.Completeness != lyumen.Complete {
			failed++
		}
	}
	n := max(len(recs), 1)
	return fmt.Sprintf("%d records, %.1f MB raw, %d bytes per record, largest body %d bytes, %d%% streamed, %d%% with tools, %d%% incomplete",
		len(recs), float64(raw)/1e6, raw/int64(n), largest, 100*streamed/n, 100*tools/n, 100*failed/n)
}
