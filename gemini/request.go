package gemini

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/jsontext"
)

// request is a generateContent (and streamGenerateContent) body. The model
// is in the URL, not here.
type request struct {
	Contents          []content         `json:"contents"`
	SystemInstruction *content          `json:"systemInstruction,omitempty"`
	Tools             []tool            `json:"tools,omitempty"`
	ToolConfig        *toolConfig       `json:"toolConfig,omitempty"`
	GenerationConfig  *generationConfig `json:"generationConfig,omitempty"`
}

type content struct {
	Role  string `json:"role,omitempty"`
	Parts []part `json:"parts"`
}

// part is one of text, inlineData, fileData, functionCall or
// functionResponse.
type part struct {
	Text             string            `json:"text,omitempty"`
	InlineData       *blob             `json:"inlineData,omitempty"`
	FileData         *fileData         `json:"fileData,omitempty"`
	FunctionCall     *functionCall     `json:"functionCall,omitempty"`
	FunctionResponse *functionResponse `json:"functionResponse,omitempty"`
	ThoughtSignature string            `json:"thoughtSignature,omitempty"`
}

type blob struct {
	MimeType string `json:"mimeType"`
	Data     string `json:"data"`
}

type fileData struct {
	MimeType string `json:"mimeType"`
	FileURI  string `json:"fileUri"`
}

type functionCall struct {
	Name string          `json:"name"`
	Args json.RawMessage `json:"args"`
}

type functionResponse struct {
	Name     string          `json:"name"`
	Response json.RawMessage `json:"response"`
}

type tool struct {
	FunctionDeclarations []functionDeclaration `json:"functionDeclarations"`
}

type functionDeclaration struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	// ParametersJSONSchema, in place of Parameters, takes JSON Schema as
	// it is: for the tools Gemini's Schema cannot describe (see parameters).
	ParametersJSONSchema json.RawMessage `json:"parametersJsonSchema,omitempty"`
}

type toolConfig struct {
	FunctionCallingConfig functionCallingConfig `json:"functionCallingConfig"`
}

type functionCallingConfig struct {
	Mode                 string   `json:"mode"`
	AllowedFunctionNames []string `json:"allowedFunctionNames,omitempty"`
}

type generationConfig struct {
	MaxOutputTokens  int      `json:"maxOutputTokens,omitempty"`
	Temperature      *float64 `json:"temperature,omitempty"`
	TopP             *float64 `json:"topP,omitempty"`
	TopK             *int     `json:"topK,omitempty"`
	StopSequences    []string `json:"stopSequences,omitempty"`
	CandidateCount   int      `json:"candidateCount,omitempty"`
	Seed             *int64   `json:"seed,omitempty"`
	PresencePenalty  *float64 `json:"presencePenalty,omitempty"`
	FrequencyPenalty *float64 `json:"frequencyPenalty,omitempty"`
	ResponseMimeType string   `json:"responseMimeType,omitempty"`
	// ResponseJSONSchema takes JSON Schema as it is, unlike responseSchema
	// (OpenAPI's subset, which tools' parameters must be converted to).
	ResponseJSONSchema json.RawMessage `json:"responseJsonSchema,omitempty"`
	ThinkingConfig     *thinkingConfig `json:"thinkingConfig,omitempty"`
}

// maxCandidates is the most answers (candidateCount) Gemini gives to one
// request.
const maxCandidates = 8

// skipSignature stands in for the thoughtSignature Gemini 3 attaches to the
// function calls it makes and requires back with them in later turns (a
// 400 otherwise). The canonical form cannot carry signatures through a
// client, so every replayed call lacks its own; Google documents this value
// for history that did not come from the model, to skip the check.
const skipSignature = "skip_thought_signature_validator"

// Content Gemini cannot take is refused with these messages.
var (
	errImageURL = lyumen.Unsupported(
		"image URLs cannot be sent to this model's provider, which does not fetch them: send the image inline as base64 (a data: URL); only gs:// URIs are passed by reference")
	errSystemImage = lyumen.Unsupported(
		"images in system messages cannot be sent to this model's provider: its system instruction takes text only")
	errToolResultImage = lyumen.Unsupported(
		"images in tool results cannot be sent to this model's provider: a function response holds JSON only")
)

// imageTypes are the image types Gemini reads, by extension, for gs://
// URIs, whose type the request does not say.
var imageTypes = map[string]string{
	".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp",
	".heic": "image/heic", ".heif": "image/heif",
}

// EncodeRequest renders the canonical request as a generateContent body.
// System messages become the system instruction, wherever they were (or,
// with no other turn, the user's turn: Gemini refuses a request without
// contents); consecutive turns of one role are merged into one content,
// since Gemini wants a function call's answers in the turn right after it;
// messages with nothing to send are left out. Content Gemini cannot take is a
// KindInvalid error that names it.
func EncodeRequest(req *lyumen.Request) ([]byte, error) {
	if req.Untranslated != nil {
		return nil, req.Untranslated
	}
	var b request
	var system []part
	add := func(role string, parts ...part) {
		if len(parts) == 0 {
			return
		}
		if n := len(b.Contents); n > 0 && b.Contents[n-1].Role == role {
			b.Contents[n-1].Parts = append(b.Contents[n-1].Parts, parts...)
			return
		}
		b.Contents = append(b.Contents, content{Role: role, Parts: parts})
	}
	for i := range req.Messages {
		m := &req.Messages[i]
		switch m.Role {
		case "system":
			if hasImage(m) {
				return nil, errSystemImage
			}
			if t := m.Text(); t != "" {
				system = append(system, part{Text: t})
			}
		case "user":
			parts, err := contentParts(m)
			if err != nil {
				return nil, err
			}
			add("user", parts...)
		case "assistant":
			parts, err := contentParts(m.WithoutThinking())
			if err != nil {
				return nil, err
			}
			for j, tc := range m.ToolCalls {
				args, err := callArgs(tc)
				if err != nil {
					return nil, err
				}
				p := part{FunctionCall: &functionCall{Name: tc.Name, Args: args}}
				if j == 0 {
					p.ThoughtSignature = skipSignature
				}
				parts = append(parts, p)
			}
			add("model", parts...)
		case "tool":
			if hasImage(m) {
				return nil, errToolResultImage
			}
			name, err := toolName(req.Messages[:i], m)
			if err != nil {
				return nil, err
			}
			add("user", part{FunctionResponse: &functionResponse{Name: name, Response: toolResponse(m.Text())}})
		default:
			return nil, lyumen.Unsupported("messages with the role '%s' cannot be sent to this model's provider", lyumen.Clip(m.Role))
		}
	}
	switch {
	case len(system) > 0 && len(b.Contents) == 0:
		// System messages alone: Gemini refuses a request without contents
		// ("contents is not specified") where OpenAI answers them. They are
		// all the user said.
		add("user", system...)
	case len(system) > 0:
		b.SystemInstruction = &content{Parts: system}
	}
	if len(req.Tools) > 0 {
		decls := make([]functionDeclaration, len(req.Tools))
		for i, t := range req.Tools {
			if strings.Contains(t.Name, ":") {
				// A tool built into another provider ("anthropic:web_search_…"
				// is kept that way): function names cannot hold a colon.
				return nil, lyumen.Unsupported("the built-in tool '%s' cannot be sent to this model's provider", lyumen.Clip(t.Name))
			}
			params, jsonSchema, err := parameters(t)
			if err != nil {
				return nil, err
			}
			decls[i] = functionDeclaration{Name: t.Name, Description: t.Description, Parameters: params}
			if jsonSchema {
				decls[i].Parameters, decls[i].ParametersJSONSchema = nil, params
			}
		}
		b.Tools = []tool{{FunctionDeclarations: decls}}
		if tc := req.ToolChoice; tc != nil {
			fc := functionCallingConfig{}
			switch tc.Mode {
			case "auto":
				fc.Mode = "AUTO"
			case "none":
				fc.Mode = "NONE"
			case "required":
				fc.Mode = "ANY"
			case "tool":
				fc.Mode, fc.AllowedFunctionNames = "ANY", []string{tc.Name}
			default:
				return nil, lyumen.Unsupported("the tool choice '%s' cannot be sent to this model's provider", lyumen.Clip(tc.Mode))
			}
			b.ToolConfig = &toolConfig{FunctionCallingConfig: fc}
		}
	}
	gc := generationConfig{MaxOutputTokens: req.MaxTokens, Temperature: req.Temperature,
		TopP: req.TopP, TopK: req.TopK, StopSequences: req.Stop}
	if req.Seed != nil {
		// Gemini's seed is 32 bits; OpenAI's clients send any integer. A
		// seed is only a request for the same sampling: any fixed 32-bit
		// value of it serves.
		seed := int64(int32(*req.Seed))
		gc.Seed = &seed
	}
	if (req.PresencePenalty != nil || req.FrequencyPenalty != nil) && takesPenalties(req.Model) {
		gc.PresencePenalty, gc.FrequencyPenalty = req.PresencePenalty, req.FrequencyPenalty
	}
	if req.N > maxCandidates {
		return nil, lyumen.Unsupported("%d answers per request cannot be asked of this model's provider, which gives at most %d", req.N, maxCandidates)
	}
	if req.N > 1 {
		gc.CandidateCount = req.N
	}
	if f := req.Format; f != nil {
		gc.ResponseMimeType, gc.ResponseJSONSchema = "application/json", f.Schema
	}
	var err error
	if gc.ThinkingConfig, err = thinking(req); err != nil {
		return nil, err
	}
	if gc.MaxOutputTokens > 0 || gc.Temperature != nil || gc.TopP != nil || gc.TopK != nil || len(gc.StopSequences) > 0 ||
		gc.CandidateCount > 0 || gc.Seed != nil || gc.PresencePenalty != nil || gc.FrequencyPenalty != nil ||
		gc.ResponseMimeType != "" || gc.ThinkingConfig != nil {
		b.GenerationConfig = &gc
	}
	if b.Contents == nil {
		b.Contents = []content{} // Gemini says what is missing better than null would
	}
	if body, ok := appendRequest(make([]byte, 0, 512), &b); ok {
		return body, nil
	}
	body, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encode gemini request: %w", err)
	}
	return body, nil
}

// takesPenalties says whether model takes generationConfig's
// presencePenalty and frequencyPenalty (ai.google.dev/api/generate-content,
// whose GenerationConfig warns that not every parameter is configurable for
// every model). Gemini 1.5 and 2.0 take them; Gemini 2.5 and later refuse
// any penalty but zero with a 400 ("Penalty is not enabled for
// models/gemini-2.5-flash"), so a client's penalties are left out there, as
// for Anthropic: sent, they could only turn a request answered today into
// an error. Models not known to take them (Gemma, tuned models, aliases such
// as gemini-flash-latest) are taken for the current ones.
func takesPenalties(model string) bool {
	_, major, minor := version(model)
	return major == 1 || major == 2 && minor == 0
}

// appendRequest appends b as json.Marshal renders it when it is a
// conversation of text with sampling options, the commonest request,
// without reflection; ok is false for anything else (tools, calls, images,
// a response schema).
func appendRequest(dst []byte, b *request) ([]byte, bool) {
	if len(b.Tools) > 0 || b.ToolConfig != nil {
		return nil, false
	}
	dst = append(dst, `{"contents":`...)
	if b.Contents == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i := range b.Contents {
			if i > 0 {
				dst = append(dst, ',')
			}
			var ok bool
			if dst, ok = appendTextContent(dst, &b.Contents[i]); !ok {
				return nil, false
			}
		}
		dst = append(dst, ']')
	}
	if b.SystemInstruction != nil {
		dst = append(dst, `,"systemInstruction":`...)
		var ok bool
		if dst, ok = appendTextContent(dst, b.SystemInstruction); !ok {
			return nil, false
		}
	}
	if gc := b.GenerationConfig; gc != nil {
		if len(gc.ResponseJSONSchema) > 0 {
			return nil, false
		}
		dst = append(dst, `,"generationConfig":{`...)
		n := len(dst)
		field := func(name string) {
			if len(dst) > n {
				dst = append(dst, ',')
			}
			dst = append(dst, '"')
			dst = append(dst, name...)
			dst = append(dst, `":`...)
		}
		if gc.MaxOutputTokens != 0 {
			field("maxOutputTokens")
			dst = strconv.AppendInt(dst, int64(gc.MaxOutputTokens), 10)
		}
		if gc.Temperature != nil {
			field("temperature")
			dst = jsontext.AppendFloat(dst, *gc.Temperature)
		}
		if gc.TopP != nil {
			field("topP")
			dst = jsontext.AppendFloat(dst, *gc.TopP)
		}
		if gc.TopK != nil {
			field("topK")
			dst = strconv.AppendInt(dst, int64(*gc.TopK), 10)
		}
		if len(gc.StopSequences) > 0 {
			field("stopSequences")
			dst = jsontext.AppendStrings(dst, gc.StopSequences)
		}
		if gc.CandidateCount != 0 {
			field("candidateCount")
			dst = strconv.AppendInt(dst, int64(gc.CandidateCount), 10)
		}
		if gc.Seed != nil {
			field("seed")
			dst = strconv.AppendInt(dst, *gc.Seed, 10)
		}
		if gc.PresencePenalty != nil {
			field("presencePenalty")
			dst = jsontext.AppendFloat(dst, *gc.PresencePenalty)
		}
		if gc.FrequencyPenalty != nil {
			field("frequencyPenalty")
			dst = jsontext.AppendFloat(dst, *gc.FrequencyPenalty)
		}
		if gc.ResponseMimeType != "" {
			field("responseMimeType")
			dst = jsontext.AppendString(dst, gc.ResponseMimeType)
		}
		if tc := gc.ThinkingConfig; tc != nil {
			field("thinkingConfig")
			dst = appendThinkingConfig(dst, tc)
		}
		dst = append(dst, '}')
	}
	return append(dst, '}'), true
}

// appendTextContent appends a content whose parts are all text; ok is
// false otherwise.
func appendTextContent(dst []byte, c *content) ([]byte, bool) {
	dst = append(dst, '{')
	if c.Role != "" {
		dst = append(dst, `"role":`...)
		dst = jsontext.AppendString(dst, c.Role)
		dst = append(dst, ',')
	}
	dst = append(dst, `"parts":`...)
	if c.Parts == nil {
		dst = append(dst, "null"...)
		return append(dst, '}'), true
	}
	dst = append(dst, '[')
	for i := range c.Parts {
		p := &c.Parts[i]
		if p.InlineData != nil || p.FileData != nil || p.FunctionCall != nil || p.FunctionResponse != nil || p.ThoughtSignature != "" {
			return nil, false
		}
		if i > 0 {
			dst = append(dst, ',')
		}
		if p.Text == "" {
			dst = append(dst, "{}"...)
			continue
		}
		dst = append(dst, `{"text":`...)
		dst = jsontext.AppendString(dst, p.Text)
		dst = append(dst, '}')
	}
	return append(dst, "]}"...), true
}

func hasImage(m *lyumen.Message) bool {
	for _, p := range m.Parts {
		if p.Type == lyumen.PartImage {
			return true
		}
	}
	return false
}

// contentParts renders a message's text and images. Empty text is left
// out: Gemini refuses an empty part.
func contentParts(m *lyumen.Message) ([]part, error) {
	if m.Parts == nil {
		if m.Content == "" {
			return nil, nil
		}
		return []part{{Text: m.Content}}, nil
	}
	parts := make([]part, 0, len(m.Parts)+len(m.ToolCalls))
	for _, p := range m.Parts {
		switch p.Type {
		case lyumen.PartText:
			if p.Text != "" {
				parts = append(parts, part{Text: p.Text})
			}
		case lyumen.PartImage:
			ip, err := imagePart(p)
			if err != nil {
				return nil, err
			}
			parts = append(parts, ip)
		default:
			return nil, lyumen.Unsupported("content of type '%s' cannot be sent to this model's provider", lyumen.Clip(p.Type))
		}
	}
	return parts, nil
}

// imagePart sends inline data as inlineData. Gemini fetches no URLs but
// Cloud Storage ones, so a gs:// URI goes as fileData and any other URL is
// refused.
func imagePart(p lyumen.Part) (part, error) {
	switch {
	case p.URL == "":
		if p.MediaType == "" {
			return part{}, lyumen.Unsupported(
				"an inline image needs its media type (data:image/png;base64,…) for this model's provider")
		}
		return part{InlineData: &blob{MimeType: p.MediaType, Data: p.Data}}, nil
	case strings.HasPrefix(p.URL, "gs://"):
		mt, ok := imageTypes[strings.ToLower(path.Ext(p.URL))]
		if !ok {
			return part{}, lyumen.Errorf(lyumen.KindInvalid,
				"the type of a gs:// image is read from its extension, and this one is not .png, .jpg, .jpeg, .webp, .heic or .heif")
		}
		return part{FileData: &fileData{MimeType: mt, FileURI: p.URL}}, nil
	}
	return part{}, errImageURL
}

// callArgs turns a tool call's JSON text into the object Gemini wants.
func callArgs(tc lyumen.ToolCall) (json.RawMessage, error) {
	s := strings.TrimSpace(tc.Arguments)
	if s == "" {
		return json.RawMessage("{}"), nil
	}
	var b bytes.Buffer
	if s[0] != '{' || json.Compact(&b, []byte(s)) != nil {
		return nil, lyumen.Unsupported(
			"the arguments of the tool call '%s' are not a JSON object, which this model's provider needs", lyumen.Clip(tc.ID))
	}
	return b.Bytes(), nil
}

// toolName finds the function a tool result answers: Gemini names it, the
// canonical form points at the call. The nearest earlier call with that id
// wins (ids repeat across turns when an upstream numbers its calls).
func toolName(earlier []lyumen.Message, m *lyumen.Message) (string, error) {
	if m.ToolCallID != "" {
		for i := len(earlier) - 1; i >= 0; i-- {
			if earlier[i].Role != "assistant" {
				continue
			}
			for _, tc := range earlier[i].ToolCalls {
				if tc.ID == m.ToolCallID {
					return tc.Name, nil
				}
			}
		}
	}
	if m.Name != "" {
		return m.Name, nil // the legacy function role names the function itself
	}
	return "", lyumen.Unsupported(
		"the tool result for '%s' answers no earlier tool call, and this model's provider needs the name of the function it answers", lyumen.Clip(m.ToolCallID))
}

// toolResponse is a tool's result as the object Gemini wants: a JSON
// object as is, anything else wrapped as {"content": …}, text as a string.
func toolResponse(text string) json.RawMessage {
	s := strings.TrimSpace(text)
	var b bytes.Buffer
	if s != "" && json.Compact(&b, []byte(s)) == nil {
		if s[0] == '{' {
			return b.Bytes()
		}
		return json.RawMessage(`{"content":` + b.String() + `}`)
	}
	out, _ := json.Marshal(map[string]string{"content": text})
	return out
}
