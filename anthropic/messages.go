package anthropic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/lyumen/lyumen"
)

// object is a JSON object by key. Keys are matched exactly, as the upstream
// matches them: encoding/json matches struct fields case-insensitively, so
// {"Model": …} would hide a "model" the upstream obeys.
type object map[string]json.RawMessage

// invalid returns a KindInvalid error worded as Anthropic words its
// validation errors: "<path>: <problem>".
func invalid(path, format string, args ...any) *lyumen.Error {
	return &lyumen.Error{Kind: lyumen.KindInvalid, Param: path, Message: path + ": " + fmt.Sprintf(format, args...)}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return path + "." + strconv.Itoa(i) }

// parseObject reads raw as a JSON object; path names it in errors.
func parseObject(raw json.RawMessage, path string) (object, error) {
	var o object
	if err := json.Unmarshal(raw, &o); err != nil || o == nil {
		return nil, invalid(path, "Input should be a valid dictionary")
	}
	return o, nil
}

// Expected types, in Anthropic's wording.
const (
	wantString = "a valid string"
	wantInt    = "a valid integer"
	wantNumber = "a valid number"
	wantBool   = "a valid boolean"
	wantList   = "a valid list"
)

// get decodes o[key] into dst. A missing key (or null) leaves dst alone and
// reports false; a value of the wrong type is an error naming the field.
func (o object) get(path, key string, dst any, want string) (bool, error) {
	raw, ok := o[key]
	if !ok || string(raw) == "null" {
		return false, nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return false, invalid(join(path, key), "Input should be %s", want)
	}
	return true, nil
}

// required is get for a field that must be there.
func (o object) required(path, key string, dst any, want string) error {
	ok, err := o.get(path, key, dst, want)
	if err == nil && !ok {
		err = invalid(join(path, key), "Field required")
	}
	return err
}

// DecodeMessages parses and validates a /v1/messages body into the
// canonical form. Errors are *lyumen.Error of kind KindInvalid, worded as
// Anthropic words them. Content the canonical form cannot carry is kept by
// type (Part{Type: "anthropic:thinking"}), not refused: it passes through to
// an Anthropic upstream, and only a translating provider refuses it.
func DecodeMessages(body []byte) (*lyumen.Request, error) {
	return decode(body, true)
}

// DecodeCountTokens parses a /v1/messages/count_tokens body: a messages
// body without max_tokens.
func DecodeCountTokens(body []byte) (*lyumen.Request, error) {
	return decode(body, false)
}

// messagesRequest is what decode reads from a /v1/messages body before its
// tools and output format: read in one pass by fastMessagesFields, or by
// messagesFields.
type messagesRequest struct {
	Model       string
	Stream      bool
	MaxTokens   int // 0 for count_tokens
	Temperature *float64
	TopP        *float64
	TopK        *int
	Stop        []string
	Messages    []lyumen.Message // the system prompt's first
	// The tools, output format and thinking, as written (nil when absent),
	// are read by decode after the messages, whichever path read these.
	Tools, ToolChoice, OutputConfig, OutputFormat, Thinking json.RawMessage
}

// decode reads the fields in one pass when fastMessagesFields can, or else
// with messagesFields; what follows (the tools and output format, and the
// Request) is shared, so both paths end the same.
func decode(body []byte, needMaxTokens bool) (*lyumen.Request, error) {
	mr, ok := fastMessagesFields(body, needMaxTokens)
	if !ok {
		var err error
		if mr, err = messagesFields(body, needMaxTokens); err != nil {
			return nil, err
		}
	}
	req := &lyumen.Request{
		Surface:     lyumen.SurfaceAnthropicMessages,
		Model:       mr.Model,
		Stream:      mr.Stream,
		Body:        body,
		Messages:    mr.Messages,
		MaxTokens:   mr.MaxTokens,
		Temperature: mr.Temperature,
		TopP:        mr.TopP,
		TopK:        mr.TopK,
		Stop:        mr.Stop,
	}
	var err error
	if req.Tools, err = decodeTools(mr.Tools); err != nil {
		return nil, err
	}
	if req.ToolChoice, req.NoParallelToolCalls, err = decodeToolChoice(mr.ToolChoice); err != nil {
		return nil, err
	}
	if req.Format, err = decodeFormat(mr.OutputConfig, mr.OutputFormat); err != nil {
		return nil, err
	}
	if req.ReasoningBudget, err = decodeThinking(mr.Thinking); err != nil {
		return nil, err
	}
	return req, nil
}

// messagesFields reads a messages body with encoding/json, field by field
// in the order Anthropic reports the first problem. Unlike chatFields in
// openai it checks values as it goes (an empty model, max_tokens below 1,
// no messages, a role), so that which error comes first is unchanged; the
// fast path leaves any body that fails one of those checks to it.
func messagesFields(body []byte, needMaxTokens bool) (mr messagesRequest, err error) {
	var top object
	if err := json.Unmarshal(body, &top); err != nil {
		if !json.Valid(body) {
			return mr, &lyumen.Error{Kind: lyumen.KindInvalid, Message: "the request body is not valid JSON", Err: err}
		}
		return mr, &lyumen.Error{Kind: lyumen.KindInvalid, Message: "the request body must be a JSON object", Err: err}
	}
	if top == nil {
		return mr, &lyumen.Error{Kind: lyumen.KindInvalid, Message: "the request body must be a JSON object"}
	}
	// A repeated key is refused: the gateway would read the last copy and
	// rewrite the first, and the upstream might read either.
	if k := duplicateKey(body, "model", "messages", "stream", "max_tokens", "system"); k != "" {
		return mr, invalid(k, "duplicate key in the request body")
	}
	if err := top.required("", "model", &mr.Model, wantString); err != nil {
		return mr, err
	}
	if mr.Model == "" {
		return mr, invalid("model", "String should have at least 1 character")
	}
	if _, err := top.get("", "stream", &mr.Stream, wantBool); err != nil {
		return mr, err
	}
	if needMaxTokens {
		if err := top.required("", "max_tokens", &mr.MaxTokens, wantInt); err != nil {
			return mr, err
		}
		if mr.MaxTokens < 1 {
			return mr, invalid("max_tokens", "Input should be greater than or equal to 1")
		}
	}
	for _, f := range []struct {
		key string
		dst any
		typ string
	}{
		{"temperature", &mr.Temperature, wantNumber},
		{"top_p", &mr.TopP, wantNumber},
		{"top_k", &mr.TopK, wantInt},
		{"stop_sequences", &mr.Stop, wantList + " of strings"},
	} {
		if _, err := top.get("", f.key, f.dst, f.typ); err != nil {
			return mr, err
		}
	}
	system, err := decodeSystem(top["system"])
	if err != nil {
		return mr, err
	}
	var raw []json.RawMessage
	if err := top.required("", "messages", &raw, wantList); err != nil {
		return mr, err
	}
	if len(raw) == 0 {
		return mr, invalid("messages", "at least one message is required")
	}
	mr.Messages = system
	for i, m := range raw {
		if mr.Messages, err = decodeMessage(mr.Messages, m, index("messages", i)); err != nil {
			return mr, err
		}
	}
	mr.Tools, mr.ToolChoice = top["tools"], top["tool_choice"]
	mr.OutputConfig, mr.OutputFormat, mr.Thinking = top["output_config"], top["output_format"], top["thinking"]
	return mr, nil
}

// decodeThinking reads extended thinking as a budget: budget_tokens when
// enabled, 0 when disabled, -1 when adaptive (the model decides); nil when
// absent, or of a type this decoder does not know, which an Anthropic
// upstream still gets as written.
func decodeThinking(raw json.RawMessage) (*int, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	o, err := parseObject(raw, "thinking")
	if err != nil {
		return nil, err
	}
	var typ string
	if err := o.required("thinking", "type", &typ, wantString); err != nil {
		return nil, err
	}
	var budget int
	switch typ {
	case "enabled":
		if err := o.required("thinking", "budget_tokens", &budget, wantInt); err != nil {
			return nil, err
		}
		// Below Anthropic's least (1024) an Anthropic upstream refuses it, a
		// compatible one may not; at least 1, it stays a budget.
		budget = max(budget, 1)
	case "disabled":
	case "adaptive":
		budget = -1
	default:
		return nil, nil
	}
	return &budget, nil
}

// decodeFormat reads structured outputs: output_config.format, or the beta's
// output_format.
func decodeFormat(cfg, format json.RawMessage) (*lyumen.Format, error) {
	path, raw := "output_format", format
	if len(cfg) > 0 && string(cfg) != "null" {
		o, err := parseObject(cfg, "output_config")
		if err != nil {
			return nil, err
		}
		path, raw = "output_config.format", o["format"]
	}
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	o, err := parseObject(raw, path)
	if err != nil {
		return nil, err
	}
	var typ string
	if err := o.required(path, "type", &typ, wantString); err != nil {
		return nil, err
	}
	if typ != lyumen.FormatJSONSchema {
		return nil, invalid(join(path, "type"), "Input should be 'json_schema'")
	}
	schema := o["schema"]
	if len(schema) == 0 || string(schema) == "null" {
		return nil, invalid(join(path, "schema"), "Field required")
	}
	return &lyumen.Format{Type: typ, Schema: schema}, nil
}

// decodeSystem reads the top-level system prompt, a string or a list of
// text blocks, as leading system messages: one per block.
func decodeSystem(raw json.RawMessage) ([]lyumen.Message, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var text string
	if json.Unmarshal(raw, &text) == nil {
		if text == "" {
			return nil, nil
		}
		return []lyumen.Message{{Role: "system", Content: text}}, nil
	}
	var blocks []json.RawMessage
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return nil, invalid("system", "Input should be a valid string or a list of text blocks")
	}
	msgs := make([]lyumen.Message, 0, len(blocks))
	for i, b := range blocks {
		path := index("system", i)
		o, err := parseObject(b, path)
		if err != nil {
			return nil, err
		}
		var typ string
		if err := o.required(path, "type", &typ, wantString); err != nil {
			return nil, err
		}
		if typ != "text" {
			return nil, invalid(join(path, "type"), "Input should be 'text'")
		}
		if err := o.required(path, "text", &text, wantString); err != nil {
			return nil, err
		}
		msgs = append(msgs, lyumen.Message{Role: "system", Content: text})
	}
	return msgs, nil
}

// decodeMessage appends the canonical form of one message to msgs. A user
// message's tool_result blocks become "tool" messages, in order, split from
// the user's other blocks.
func decodeMessage(msgs []lyumen.Message, raw json.RawMessage, path string) ([]lyumen.Message, error) {
	o, err := parseObject(raw, path)
	if err != nil {
		return nil, err
	}
	var role string
	if err := o.required(path, "role", &role, wantString); err != nil {
		return nil, err
	}
	switch role {
	case "user", "assistant":
	case "system":
		return nil, &lyumen.Error{Kind: lyumen.KindInvalid, Param: join(path, "role"),
			Message: `messages: Unexpected role "system". The Messages API accepts a top-level ` + "`system`" + ` parameter, not "system" as an input message role.`}
	default:
		return nil, invalid(join(path, "role"), "Input should be 'user' or 'assistant'")
	}
	content, ok := o["content"]
	if !ok || string(content) == "null" {
		return nil, invalid(join(path, "content"), "Field required")
	}
	var text string
	if json.Unmarshal(content, &text) == nil {
		return append(msgs, lyumen.Message{Role: role, Content: text}), nil
	}
	var blocks []json.RawMessage
	if err := json.Unmarshal(content, &blocks); err != nil {
		return nil, invalid(join(path, "content"), "Input should be a valid string or a list of content blocks")
	}
	cur := lyumen.Message{Role: role}
	var parts []lyumen.Part
	pending := false // cur has content not yet appended
	for i, b := range blocks {
		bpath := index(join(path, "content"), i)
		bo, typ, err := block(b, bpath)
		if err != nil {
			return nil, err
		}
		switch {
		case typ == "tool_result" && role == "user":
			if pending {
				msgs = append(msgs, withParts(cur, parts))
				cur, parts, pending = lyumen.Message{Role: role}, nil, false
			}
			tool, err := decodeToolResult(bo, bpath)
			if err != nil {
				return nil, err
			}
			msgs = append(msgs, tool)
		case typ == "tool_use" && role == "assistant":
			tc, err := decodeToolUse(bo, bpath, len(cur.ToolCalls))
			if err != nil {
				return nil, err
			}
			cur.ToolCalls = append(cur.ToolCalls, tc)
			pending = true
		default:
			p, err := decodePart(bo, typ, bpath)
			if err != nil {
				return nil, err
			}
			parts = append(parts, p)
			pending = true
		}
	}
	if pending || len(blocks) == 0 {
		msgs = append(msgs, withParts(cur, parts))
	}
	return msgs, nil
}

// block reads a content block's object and its type.
func block(raw json.RawMessage, path string) (object, string, error) {
	o, err := parseObject(raw, path)
	if err != nil {
		return nil, "", err
	}
	var typ string
	if err := o.required(path, "type", &typ, wantString); err != nil {
		return nil, "", err
	}
	return o, typ, nil
}

// withParts sets m's content from its parts: one text block is plain
// Content; anything else keeps its parts, so no block boundary is lost.
func withParts(m lyumen.Message, parts []lyumen.Part) lyumen.Message {
	switch {
	case len(parts) == 0:
	case len(parts) == 1 && parts[0].Type == lyumen.PartText:
		m.Content = parts[0].Text
	default:
		m.Parts = parts
	}
	return m
}

// decodePart reads a text or image block. Any other block is kept by type
// only ("anthropic:thinking" keeps its text, for the record).
func decodePart(o object, typ, path string) (lyumen.Part, error) {
	switch typ {
	case "text":
		var p lyumen.Part
		p.Type = lyumen.PartText
		return p, o.required(path, "text", &p.Text, wantString)
	case "image":
		return decodeImage(o, path)
	case "thinking":
		p := lyumen.Part{Type: partPrefix + typ}
		_, err := o.get(path, "thinking", &p.Text, wantString)
		return p, err
	case "document":
		// A document's text, plain or as content blocks, is kept for the
		// record and the token count.
		p := lyumen.Part{Type: partPrefix + typ}
		var src struct {
			Type    string          `json:"type"`
			Data    string          `json:"data"`
			Content json.RawMessage `json:"content"`
		}
		if json.Unmarshal(o["source"], &src) == nil {
			switch src.Type {
			case "text":
				p.Text = src.Data
			case "content":
				p.Text = blockTexts(src.Content)
			}
		}
		return p, nil
	case "search_result":
		// Its title, source and text, likewise.
		var title, source string
		json.Unmarshal(o["title"], &title)
		json.Unmarshal(o["source"], &source)
		return lyumen.Part{Type: partPrefix + typ, Text: joinTexts([]string{title, source, blockTexts(o["content"])})}, nil
	}
	return lyumen.Part{Type: partPrefix + typ}, nil
}

// blockTexts returns the text of content given as a string or as an array
// of blocks, the text blocks' joined by newlines.
func blockTexts(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var blocks []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	json.Unmarshal(raw, &blocks)
	texts := make([]string, 0, len(blocks))
	for _, b := range blocks {
		if b.Type == "text" {
			texts = append(texts, b.Text)
		}
	}
	return joinTexts(texts)
}

// joinTexts joins the texts that are not empty, a newline between each.
func joinTexts(texts []string) string {
	return strings.Join(slices.DeleteFunc(texts, func(s string) bool { return s == "" }), "\n")
}

func decodeImage(o object, path string) (lyumen.Part, error) {
	var src object
	if err := o.required(path, "source", &src, "a valid dictionary"); err != nil {
		return lyumen.Part{}, err
	}
	path = join(path, "source")
	var typ string
	if err := src.required(path, "type", &typ, wantString); err != nil {
		return lyumen.Part{}, err
	}
	p := lyumen.Part{Type: lyumen.PartImage}
	switch typ {
	case "base64":
		if err := src.required(path, "media_type", &p.MediaType, wantString); err != nil {
			return p, err
		}
		return p, src.required(path, "data", &p.Data, wantString)
	case "url":
		return p, src.required(path, "url", &p.URL, wantString)
	}
	// A file id (Files API) means nothing to another provider.
	return lyumen.Part{Type: partPrefix + "image_" + typ}, nil
}

func decodeToolUse(o object, path string, n int) (lyumen.ToolCall, error) {
	tc := lyumen.ToolCall{Index: n, Type: "function"}
	if err := o.required(path, "id", &tc.ID, wantString); err != nil {
		return tc, err
	}
	if err := o.required(path, "name", &tc.Name, wantString); err != nil {
		return tc, err
	}
	input := bytes.TrimSpace(o["input"])
	if len(input) == 0 || input[0] != '{' {
		return tc, invalid(join(path, "input"), "Input should be a valid dictionary")
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, input); err != nil {
		return tc, invalid(join(path, "input"), "Input should be a valid dictionary")
	}
	tc.Arguments = buf.String()
	return tc, nil
}

// decodeToolResult reads a tool_result block as a "tool" message. is_error
// has no canonical form: the result's text is kept, the flag only passes
// through to an Anthropic upstream.
func decodeToolResult(o object, path string) (lyumen.Message, error) {
	m := lyumen.Message{Role: "tool"}
	if err := o.required(path, "tool_use_id", &m.ToolCallID, wantString); err != nil {
		return m, err
	}
	content := bytes.TrimSpace(o["content"])
	if len(content) == 0 || string(content) == "null" {
		return m, nil
	}
	if json.Unmarshal(content, &m.Content) == nil {
		return m, nil
	}
	var blocks []json.RawMessage
	if err := json.Unmarshal(content, &blocks); err != nil {
		return m, invalid(join(path, "content"), "Input should be a valid string or a list of content blocks")
	}
	parts := make([]lyumen.Part, 0, len(blocks))
	for i, b := range blocks {
		bpath := index(join(path, "content"), i)
		bo, typ, err := block(b, bpath)
		if err != nil {
			return m, err
		}
		p, err := decodePart(bo, typ, bpath)
		if err != nil {
			return m, err
		}
		parts = append(parts, p)
	}
	return withParts(m, parts), nil
}

// decodeTools reads custom tools as functions. A server tool (web search,
// code execution, a computer) has a type other than "custom" and no
// canonical form: it is kept by name as "anthropic:<type>".
func decodeTools(raw json.RawMessage) ([]lyumen.Tool, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, invalid("tools", "Input should be %s", wantList)
	}
	tools := make([]lyumen.Tool, 0, len(list))
	for i, r := range list {
		path := index("tools", i)
		o, err := parseObject(r, path)
		if err != nil {
			return nil, err
		}
		var typ string
		if _, err := o.get(path, "type", &typ, wantString); err != nil {
			return nil, err
		}
		if typ != "" && typ != "custom" {
			tools = append(tools, lyumen.Tool{Name: partPrefix + typ})
			continue
		}
		var t lyumen.Tool
		if err := o.required(path, "name", &t.Name, wantString); err != nil {
			return nil, err
		}
		if _, err := o.get(path, "description", &t.Description, wantString); err != nil {
			return nil, err
		}
		if schema, ok := o["input_schema"]; ok && string(schema) != "null" {
			if s := bytes.TrimSpace(schema); len(s) == 0 || s[0] != '{' {
				return nil, invalid(join(path, "input_schema"), "Input should be a valid dictionary")
			}
			t.Parameters = schema
		}
		tools = append(tools, t)
	}
	return tools, nil
}

// decodeToolChoice reads {"type": "auto" | "any" | "tool" | "none"}; any is
// the canonical "required". noParallel is its disable_parallel_tool_use.
func decodeToolChoice(raw json.RawMessage) (tc *lyumen.ToolChoice, noParallel bool, err error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, false, nil
	}
	o, err := parseObject(raw, "tool_choice")
	if err != nil {
		return nil, false, err
	}
	var typ string
	if err := o.required("tool_choice", "type", &typ, wantString); err != nil {
		return nil, false, err
	}
	switch typ {
	case "auto", "none":
		tc = &lyumen.ToolChoice{Mode: typ}
	case "any":
		tc = &lyumen.ToolChoice{Mode: "required"}
	case "tool":
		tc = &lyumen.ToolChoice{Mode: "tool"}
		if err := o.required("tool_choice", "name", &tc.Name, wantString); err != nil {
			return nil, false, err
		}
	default:
		return nil, false, invalid("tool_choice.type", "Input tag '%s' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'", lyumen.Clip(typ))
	}
	if _, err := o.get("tool_choice", "disable_parallel_tool_use", &noParallel, wantBool); err != nil {
		return nil, false, err
	}
	return tc, noParallel, nil
}

// duplicateKey returns the first of keys that the JSON object obj holds
// more than once.
func duplicateKey(obj []byte, keys ...string) string {
	var seen [8]string
	n, dup := 0, ""
	gjson.ParseBytes(obj).ForEach(func(k, _ gjson.Result) bool {
		if !slices.Contains(keys, k.Str) {
			return true
		}
		if slices.Contains(seen[:n], k.Str) {
			dup = k.Str
			return false
		}
		seen[n] = k.Str
		n++
		return true
	})
	return dup
}
