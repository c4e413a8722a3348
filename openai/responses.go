package openai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/lyumen/lyumen"
)

// The Responses API (/v1/responses) is read into the canonical form and
// answered from it: every upstream, OpenAI's included, is asked through its
// chat format, so a Responses client can talk to any model in the catalogue.
// What the canonical form cannot carry is refused with a 400 that names it,
// rather than dropped: built-in tools (they run on OpenAI's servers), and
// everything that needs state kept on the server (previous_response_id,
// conversation, stored prompts, background mode), since the gateway keeps
// none. Structured output (text.format) is carried. Hints that change cost but not meaning
// (store, reasoning's summary, truncation, service_tier, include, metadata,
// user) are accepted and not passed on; parallel_tool_calls false,
// reasoning.effort and a function's strict are.

// responsesRequest holds the fields the gateway reads.
type responsesRequest struct {
	Model              *string
	Input              json.RawMessage
	Instructions       json.RawMessage
	Stream             *bool
	Tools              []responsesTool
	ToolChoice         json.RawMessage
	ParallelToolCalls  *bool
	MaxOutputTokens    *int
	Temperature        *float64
	TopP               *float64
	PreviousResponseID *string
	Conversation       json.RawMessage
	Prompt             json.RawMessage
	Background         *bool
	Text               *struct {
		Format *wireFormat `json:"format"`
	}
	Reasoning   *responsesReasoning
	TopLogprobs *int
	// InputMessages is Input already read, by fastResponsesFields; nil
	// leaves Input to responsesInput, after the checks that come first.
	InputMessages []lyumen.Message
}

// responsesReasoning is a request's reasoning: its effort goes on, its
// summary is a hint.
type responsesReasoning struct {
	Effort *string `json:"effort"`
}

// responsesTool is a tool of the Responses API: flat, unlike chat's.
type responsesTool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
	Strict      *bool           `json:"strict"`
	Function    json.RawMessage `json:"function"` // chat's shape, only to point out the mistake
}

// inputItem is one item of the input array: a message, a function call the
// model made, a function's result, or what the model thought.
type inputItem struct {
	Type      string          `json:"type"`
	Role      string          `json:"role"`
	Content   json.RawMessage `json:"content"`
	Summary   []reasoningText `json:"summary"` // of a reasoning item, as its content
	CallID    string          `json:"call_id"`
	Name      string          `json:"name"`
	Arguments string          `json:"arguments"`
	Output    json.RawMessage `json:"output"`
}

// inputPart is one part of a message's content.
type inputPart struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	Refusal  string `json:"refusal"`
	ImageURL string `json:"image_url"` // a string here, an object in chat
	FileID   string `json:"file_id"`
}

var responsesRoles = map[string]string{"user": "user", "assistant": "assistant", "system": "system", "developer": "system"}

// DecodeResponses parses and validates a /v1/responses body. Errors are
// *lyumen.Error of kind KindInvalid with OpenAI-style messages.
func DecodeResponses(body []byte) (*lyumen.Request, error) {
	rr, ok := fastResponsesFields(body)
	if !ok {
		var err error
		if rr, err = responsesFields(body); err != nil {
			return nil, err
		}
	}
	switch {
	case rr.Model == nil || *rr.Model == "":
		return nil, invalid("model", "you must provide a model parameter")
	case rr.PreviousResponseID != nil && *rr.PreviousResponseID != "":
		return nil, untranslatable("previous_response_id",
			"'previous_response_id' is not supported: this gateway stores no responses; send the whole conversation in 'input'")
	case !isNull(rr.Conversation):
		return nil, untranslatable("conversation",
			"'conversation' is not supported: this gateway stores no conversations; send the whole conversation in 'input'")
	case !isNull(rr.Prompt):
		return nil, untranslatable("prompt",
			"stored prompts ('prompt') are not supported: send the instructions and the input themselves")
	case rr.Background != nil && *rr.Background:
		return nil, untranslatable("background",
			"background responses are not supported: this gateway stores no responses to poll")
	case rr.TopLogprobs != nil && *rr.TopLogprobs > 0:
		return nil, untranslatable("top_logprobs", "'top_logprobs' cannot be translated for this gateway's upstreams")
	case rr.MaxOutputTokens != nil && *rr.MaxOutputTokens < 0:
		return nil, invalid("max_output_tokens", "'max_output_tokens' must not be negative")
	}
	instructions, hasInstructions := "", !isNull(rr.Instructions)
	if hasInstructions {
		var ok bool
		if instructions, ok = plainString(rr.Instructions); !ok { // what json.Unmarshal would make of it, sooner
			var text string
			if err := json.Unmarshal(rr.Instructions, &text); err != nil {
				return nil, invalid("instructions", "invalid type for 'instructions': expected a string")
			}
			instructions = text
		}
	}
	msgs := rr.InputMessages
	if msgs == nil {
		var err error
		if msgs, err = responsesInput(rr.Input); err != nil {
			return nil, err
		}
	}
	if hasInstructions {
		msgs = slices.Insert(msgs, 0, lyumen.Message{Role: "system", Content: instructions})
	}
	req := &lyumen.Request{
		Surface:     lyumen.SurfaceOpenAIResponses,
		Model:       *rr.Model,
		Stream:      rr.Stream != nil && *rr.Stream,
		Body:        body,
		Messages:    msgs,
		Temperature: rr.Temperature,
		TopP:        rr.TopP,

		NoParallelToolCalls: rr.ParallelToolCalls != nil && !*rr.ParallelToolCalls,
	}
	if rr.MaxOutputTokens != nil {
		req.MaxTokens = *rr.MaxOutputTokens
	}
	if rr.Reasoning != nil && rr.Reasoning.Effort != nil {
		req.ReasoningEffort = *rr.Reasoning.Effort
	}
	var err error
	if rr.Text != nil && rr.Text.Format != nil {
		if req.Format, err = format(*rr.Text.Format, "text.format"); err != nil {
			return nil, err
		}
	}
	for i, t := range rr.Tools {
		param := fmt.Sprintf("tools[%d]", i)
		switch {
		case t.Type != "function":
			return nil, untranslatable(param+".type",
				"tools of type '%s' cannot be translated: only function tools are supported (OpenAI's built-in tools run on its servers, custom tools take free-form text)", lyumen.Clip(t.Type))
		case t.Name == "" && t.Function != nil:
			return nil, invalid(param+".name",
				"missing required parameter: '%s.name': function tools in the Responses API are flat ({\"type\": \"function\", \"name\": …}), not nested under 'function' as in chat completions", param)
		case t.Name == "":
			return nil, invalid(param+".name", "missing required parameter: '%s.name'", param)
		}
		req.Tools = append(req.Tools, lyumen.Tool{Name: t.Name, Description: t.Description, Parameters: t.Parameters, Strict: t.Strict})
	}
	if req.ToolChoice, err = responsesToolChoice(rr.ToolChoice); err != nil {
		return nil, err
	}
	return req, nil
}

// responsesFields reads the fields of a /v1/responses body that the
// gateway uses, with encoding/json. Input stays raw: responsesInput reads it
// once the request has passed the checks that come first.
func responsesFields(body []byte) (rr responsesRequest, err error) {
	fields, err := decodeObject(body)
	if err != nil {
		return rr, err
	}
	if k := duplicateKey(body, "model", "input", "instructions", "stream", "tools", "tool_choice"); k != "" {
		return rr, invalid(k, "duplicate key '%s' in the request body", k)
	}
	err = readFields(fields,
		field{"model", &rr.Model}, field{"input", &rr.Input}, field{"instructions", &rr.Instructions},
		field{"stream", &rr.Stream}, field{"tools", &rr.Tools}, field{"tool_choice", &rr.ToolChoice},
		field{"parallel_tool_calls", &rr.ParallelToolCalls},
		field{"max_output_tokens", &rr.MaxOutputTokens}, field{"temperature", &rr.Temperature},
		field{"top_p", &rr.TopP}, field{"previous_response_id", &rr.PreviousResponseID},
		field{"conversation", &rr.Conversation}, field{"prompt", &rr.Prompt},
		field{"background", &rr.Background}, field{"text", &rr.Text}, field{"top_logprobs", &rr.TopLogprobs},
		field{"reasoning", &rr.Reasoning},
	)
	return rr, err
}

// responsesInput reads input: a string (one user message) or an array of
// input items.
func responsesInput(raw json.RawMessage) ([]lyumen.Message, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case isNull(raw):
		return nil, invalid("input", "missing required parameter: 'input'")
	case raw[0] == '"':
		var text string
		if err := json.Unmarshal(raw, &text); err != nil {
			return nil, decodeError(err, "input")
		}
		return []lyumen.Message{{Role: "user", Content: text}}, nil
	case raw[0] != '[':
		return nil, invalid("input", "invalid type for 'input': expected a string or an array of input items")
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, decodeError(err, "input")
	}
	if len(items) == 0 {
		return nil, invalid("input", "'input' must contain at least one item")
	}
	var msgs []lyumen.Message
	// thought is the reasoning items' text, for the assistant turn that
	// follows them; a turn of another role between them ends it, so that a
	// response cut short while it reasoned gives no later turn its thought.
	var thought strings.Builder
	for i, rawItem := range items {
		param := fmt.Sprintf("input[%d]", i)
		var it inputItem
		if err := json.Unmarshal(rawItem, &it); err != nil {
			return nil, decodeError(err, param)
		}
		switch it.Type {
		case "message", "":
			role, ok := responsesRoles[it.Role]
			if !ok {
				return nil, invalid(param+".role", "invalid value for '%s.role': must be one of user, assistant, system, developer", param)
			}
			msg := lyumen.Message{Role: role}
			var err error
			if msg.Content, msg.Parts, err = responsesContent(it.Content, param+".content"); err != nil {
				return nil, err
			}
			if role == "assistant" {
				msg.Reasoning = thought.String()
			}
			thought.Reset()
			msgs = append(msgs, msg)
		case "function_call":
			switch {
			case it.CallID == "":
				return nil, invalid(param+".call_id", "missing required parameter: '%s.call_id'", param)
			case it.Name == "":
				return nil, invalid(param+".name", "missing required parameter: '%s.name'", param)
			}
			// Calls made together are one assistant turn, with the text
			// that came before them: that is how chat upstreams read them.
			if n := len(msgs); n == 0 || msgs[n-1].Role != "assistant" {
				msgs = append(msgs, lyumen.Message{Role: "assistant"})
			}
			last := &msgs[len(msgs)-1]
			last.Reasoning += thought.String()
			thought.Reset()
			last.ToolCalls = append(last.ToolCalls, lyumen.ToolCall{
				Index: len(last.ToolCalls), ID: it.CallID, Type: "function", Name: it.Name, Arguments: it.Arguments,
			})
		case "function_call_output":
			if it.CallID == "" {
				return nil, invalid(param+".call_id", "missing required parameter: '%s.call_id'", param)
			}
			msg := lyumen.Message{Role: "tool", ToolCallID: it.CallID}
			var err error
			if msg.Content, msg.Parts, err = responsesContent(it.Output, param+".output"); err != nil {
				return nil, err
			}
			thought.Reset()
			msgs = append(msgs, msg)
		case "reasoning":
			// What the model thought, sent back with the rest of a
			// response's output, as the SDKs do: kept with the assistant's
			// turn in the record. Chat upstreams take no earlier
			// reasoning, and an encrypted_content is OpenAI's alone.
			var content []reasoningText
			if !isNull(it.Content) {
				if err := json.Unmarshal(it.Content, &content); err != nil {
					return nil, decodeError(err, param+".content")
				}
			}
			if len(content) == 0 {
				content = it.Summary
			}
			for _, p := range content {
				thought.WriteString(p.Text)
			}
		case "item_reference":
			return nil, untranslatable(param+".type",
				"input items of type 'item_reference' point to stored responses, and this gateway stores none: send the items themselves")
		default:
			return nil, untranslatable(param+".type",
				"input items of type '%s' cannot be translated: only message, function_call, function_call_output and reasoning items are supported", lyumen.Clip(it.Type))
		}
	}
	return msgs, nil
}

// responsesContent reads a message's content (or a function's output): a
// string, or an array of parts. Text-only content becomes one string, as in
// the chat decoder; content with images keeps its parts.
func responsesContent(raw json.RawMessage, param string) (string, []lyumen.Part, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case isNull(raw):
		return "", nil, nil
	case raw[0] == '"':
		var text string
		if err := json.Unmarshal(raw, &text); err != nil {
			return "", nil, decodeError(err, param)
		}
		return text, nil, nil
	case raw[0] != '[':
		return "", nil, invalid(param, "invalid type for '%s': expected a string or an array of content parts", param)
	}
	var parts []inputPart
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", nil, decodeError(err, param)
	}
	out := make([]lyumen.Part, 0, len(parts))
	onlyText := true
	for j, p := range parts {
		pp := fmt.Sprintf("%s[%d]", param, j)
		switch p.Type {
		case "input_text", "output_text":
			out = append(out, lyumen.Part{Type: lyumen.PartText, Text: p.Text})
		case "refusal":
			// An earlier refusal, sent back: to any other model it is what
			// the assistant said.
			out = append(out, lyumen.Part{Type: lyumen.PartText, Text: p.Refusal})
		case "input_image":
			switch {
			case p.ImageURL != "":
				out = append(out, ImagePart(p.ImageURL))
				onlyText = false
			case p.FileID != "":
				return "", nil, untranslatable(pp+".file_id",
					"images given by 'file_id' cannot be translated: this gateway stores no files; send 'image_url' (an address or a data: URL) instead")
			default:
				return "", nil, invalid(pp+".image_url", "missing required parameter: '%s.image_url'", pp)
			}
		default:
			return "", nil, untranslatable(pp+".type",
				"content of type '%s' cannot be translated: only input_text, input_image, output_text and refusal are supported", lyumen.Clip(p.Type))
		}
	}
	if !onlyText {
		return "", out, nil
	}
	var text strings.Builder
	for _, p := range out {
		text.WriteString(p.Text)
	}
	return text.String(), nil, nil
}

// responsesToolChoice reads "auto" | "none" | "required" | {"type": "function", "name": …}.
func responsesToolChoice(raw json.RawMessage) (*lyumen.ToolChoice, error) {
	if isNull(raw) {
		return nil, nil
	}
	var mode string
	if json.Unmarshal(raw, &mode) == nil {
		switch mode {
		case "auto", "none", "required":
			return &lyumen.ToolChoice{Mode: mode}, nil
		}
		return nil, invalid("tool_choice", "invalid value for 'tool_choice': '%s' is not one of auto, none, required", lyumen.Clip(mode))
	}
	var named struct {
		Type string `json:"type"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal(raw, &named); err != nil {
		return nil, invalid("tool_choice", "invalid value for 'tool_choice': expected a string or {\"type\": \"function\", \"name\": …}")
	}
	switch {
	case named.Type == "function" && named.Name != "":
		return &lyumen.ToolChoice{Mode: "tool", Name: named.Name}, nil
	case named.Type == "function":
		return nil, invalid("tool_choice.name", "missing required parameter: 'tool_choice.name'")
	case named.Type == "allowed_tools":
		return nil, untranslatable("tool_choice.type", "'tool_choice' of type 'allowed_tools' cannot be translated: name one function or use auto, none or required")
	}
	return nil, untranslatable("tool_choice.type",
		"'tool_choice' of type '%s' cannot be translated: only function tools are supported", lyumen.Clip(named.Type))
}
