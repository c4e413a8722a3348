// Package anthropic speaks the Anthropic Messages wire format both ways: it
// decodes and encodes the client-facing /v1/messages surface (whole
// messages, the SSE event sequence, errors, token counts) and the models
// list, and its Client is a Provider for the Anthropic Messages API.
//
// Translation to and from the canonical form keeps system prompts,
// multi-turn history, tool calls and results, images (base64 and URL), stop
// sequences, stop reasons and usage. What the canonical form cannot carry
// (thinking blocks, documents, files, server tools) is kept by type, as
// Part{Type: "anthropic:<type>"} or Tool{Name: "anthropic:<type>"}: it passes
// through to an Anthropic upstream, and other upstreams refuse it by name.
package anthropic

import (
	"strconv"
	"strings"
	"time"

	"github.com/lyumen/lyumen"
)

// DefaultBaseURL is the Anthropic API; paths ("/v1/messages") are appended.
const DefaultBaseURL = "https://api.anthropic.com"

// Version is the anthropic-version header sent upstream. The client's own
// header is never forwarded: this is the version the gateway speaks.
const Version = "2023-06-01"

// DefaultMaxTokens is sent when a request translated from another surface
// does not say how long the answer may be: Anthropic requires max_tokens,
// other APIs do not. 4096 is what every current Claude model can produce.
const DefaultMaxTokens = 4096

// partPrefix marks a Part type or Tool name that only Anthropic understands.
const partPrefix = "anthropic:"

// finishReasons maps Anthropic's stop_reason to the canonical (OpenAI)
// finish reason. pause_turn (a server tool loop that paused) ends the turn
// like end_turn.
var finishReasons = map[string]string{
	"end_turn":                      "stop",
	"stop_sequence":                 "stop",
	"pause_turn":                    "stop",
	"max_tokens":                    "length",
	"model_context_window_exceeded": "length",
	"tool_use":                      "tool_calls",
	"refusal":                       "content_filter",
}

// finishReason returns the canonical finish reason for stop_reason; an
// unknown one is kept as it is.
func finishReason(stopReason string) string {
	if f, ok := finishReasons[stopReason]; ok {
		return f
	}
	return stopReason
}

// stopReason is the reverse of finishReason, for the answer c. A canonical
// "stop" becomes end_turn (the canonical form does not say whether a stop
// sequence was met), or tool_use when the model called tools:
// OpenAI-compatible upstreams end a call forced by a named tool_choice with
// "stop", while Anthropic says tool_use whenever it called one, and clients
// loop on that. An OpenAI model that refuses (structured outputs) also ends
// with "stop", its refusal in place of the content, which this surface does
// not show: without refusal the client would take the empty answer for a
// whole one.
func stopReason(c *lyumen.Choice) string {
	switch c.FinishReason {
	case "stop":
		switch {
		case len(c.Message.ToolCalls) > 0:
			return "tool_use"
		case c.Message.Refusal != "" && c.Message.Text() == "":
			return "refusal"
		}
	case "length":
		return "max_tokens"
	case "tool_calls", "function_call":
		return "tool_use"
	case "content_filter":
		return "refusal"
	}
	return "end_turn"
}

// messageID returns id if it is already an Anthropic message id, a message
// id derived from it otherwise, and a fresh one when there is none.
func messageID(id string) string {
	switch {
	case strings.HasPrefix(id, "msg_"):
		return id
	case id != "":
		return "msg_" + id
	}
	return "msg_" + strconv.FormatInt(time.Now().UnixNano(), 36)
}

// toolUseID returns the id of a tool call, or a fresh one when it has none:
// Anthropic clients answer a tool_use by its id.
func toolUseID(id string, index int) string {
	if id != "" {
		return id
	}
	return "toolu_" + strconv.FormatInt(time.Now().UnixNano(), 36) + "_" + strconv.Itoa(index)
}
