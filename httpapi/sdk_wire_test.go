package httpapi_test

// Wire shapes the official SDKs read, from translated upstreams: each test
// runs the real openai-go SDK against the whole gateway in front of a
// canned upstream (cannedUpstream, translationGateway from
// translate_test.go).

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
)

// sdkGateway serves reply from an upstream of the given kind (a key of
// translationUpstreams) and returns an openai-go client of the gateway and
// the fake upstream.
func sdkGateway(t *testing.T, kind, reply string) (openai.Client, *cannedUpstream) {
	t.Helper()
	fake := &cannedUpstream{reply: []byte(reply)}
	up := httptest.NewServer(fake)
	t.Cleanup(up.Close)
	gw := httptest.NewServer(translationGateway(translationUpstreams[kind].client(up.URL, up.Client().Transport), &records{}))
	t.Cleanup(gw.Close)
	return openai.NewClient(option.WithBaseURL(gw.URL+"/v1/"), option.WithAPIKey(clientKey), option.WithMaxRetries(0)), fake
}

// anthropicNoInputTool is Anthropic's stream of a call to a tool that
// takes no arguments: the tool_use block opens with input {} and its only
// input_json_delta is empty (as the API sends it), so no argument text is
// ever streamed.
const anthropicNoInputTool = `event: message_start
data: {"type":"message_start","message":{"id":"msg_noinput","type":"message","role":"assistant","model":"claude-x","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":20,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_01","name":"get_time","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":""}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":9}}

event: message_stop
data: {"type":"message_stop"}

`

func getTimeTool() []openai.ChatCompletionToolUnionParam {
	return []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{
		Name: "get_time", Parameters: openai.FunctionParameters{"type": "object", "properties": map[string]any{}},
	})}
}

// A call to a tool without arguments, streamed from an Anthropic upstream
// to a chat client, must carry JSON arguments ("{}", as the same answer
// unstreamed does): the SDK user json.Unmarshal's / JSON.parse's /
// json.loads them. The gateway sent "" (no arguments fragment at all).
func TestSDK_AnthropicToolWithoutInput_ChatStream(t *testing.T) {
	client, _ := sdkGateway(t, "anthropic", anthropicNoInputTool)
	s := client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{
		Model:    "claude-public",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("what time is it?")},
		Tools:    getTimeTool(),
	})
	var acc openai.ChatCompletionAccumulator
	for s.Next() {
		if !acc.AddChunk(s.Current()) {
			t.Fatalf("the SDK's accumulator refused a chunk: %s", s.Current().RawJSON())
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if len(acc.Choices) != 1 || len(acc.Choices[0].Message.ToolCalls) != 1 {
		t.Fatalf("assembled %+v", acc.Choices)
	}
	call := acc.Choices[0].Message.ToolCalls[0]
	var args map[string]any
	if err := json.Unmarshal([]byte(call.Function.Arguments), &args); err != nil {
		t.Errorf("tool call %s(%q): arguments are not JSON: %v", call.Function.Name, call.Function.Arguments, err)
	}
}

// The same answer on the Responses surface: the function_call item's
// arguments (in function_call_arguments.done, output_item.done and
// response.completed) must be JSON.
func TestSDK_AnthropicToolWithoutInput_ResponsesStream(t *testing.T) {
	client, _ := sdkGateway(t, "anthropic", anthropicNoInputTool)
	s := client.Responses.NewStreaming(t.Context(), responses.ResponseNewParams{
		Model: "claude-public",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("what time is it?")},
		Tools: []responses.ToolUnionParam{{OfFunction: &responses.FunctionToolParam{
			Name: "get_time", Parameters: map[string]any{"type": "object", "properties": map[string]any{}},
		}}},
	})
	checked := 0
	check := func(where, args string) {
		checked++
		if !json.Valid([]byte(args)) {
			t.Errorf("%s: arguments %q are not JSON", where, args)
		}
	}
	for s.Next() {
		switch ev := s.Current(); ev.Type {
		case "response.function_call_arguments.done":
			check(ev.Type, ev.Arguments)
		case "response.output_item.done":
			if it := ev.AsResponseOutputItemDone().Item; it.Type == "function_call" {
				check(ev.Type, it.AsFunctionCall().Arguments)
			}
		case "response.completed":
			for _, it := range ev.AsResponseCompleted().Response.Output {
				if it.Type == "function_call" {
					check(ev.Type, it.AsFunctionCall().Arguments)
				}
			}
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if checked != 3 {
		t.Errorf("saw the call's arguments %d times, want 3", checked)
	}
}

// openaiTextReply is a whole chat completion from an OpenAI upstream.
const openaiTextReply = `{"id":"chatcmpl-r1","object":"chat.completion","created":1700000000,"model":"gpt-x","choices":[{"index":0,"message":{"role":"assistant","content":"done","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}`

// README: "Every request field passes through to an OpenAI-compatible
// upstream." Custom tools (type "custom", GPT-5's free-form tools) and an
// allowed_tools tool_choice are part of the Chat Completions API the SDK
// sends: they reach an OpenAI upstream as written (a translating one
// refuses them with a 400 that names them).
func TestSDK_ChatCustomToolsReachAnOpenAIUpstream(t *testing.T) {
	for name, p := range map[string]openai.ChatCompletionNewParams{
		"custom tool": {
			Tools: []openai.ChatCompletionToolUnionParam{{OfCustom: &openai.ChatCompletionCustomToolParam{
				Custom: openai.ChatCompletionCustomToolCustomParam{Name: "run_sql", Description: openai.String("Runs one SQL query.")},
			}}},
		},
		"allowed_tools tool_choice": {
			Tools: getTimeTool(),
			ToolChoice: openai.ChatCompletionToolChoiceOptionUnionParam{OfAllowedTools: &openai.ChatCompletionAllowedToolChoiceParam{
				AllowedTools: openai.ChatCompletionAllowedToolsParam{
					Mode:  openai.ChatCompletionAllowedToolsModeAuto,
					Tools: []map[string]any{{"type": "function", "function": map[string]any{"name": "get_time"}}},
				},
			}},
		},
	} {
		t.Run(name, func(t *testing.T) {
			client, fake := sdkGateway(t, "openai", openaiTextReply)
			p.Model = "gpt-public"
			p.Messages = []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}
			if _, err := client.Chat.Completions.New(t.Context(), p); err != nil {
				t.Fatalf("refused: %v", err)
			}
			if _, sent := fake.seen(); !strings.Contains(string(sent), `"tools"`) {
				t.Errorf("the upstream got %s", sent)
			}
		})
	}
}

// anthropicText is a whole Anthropic message.
const anthropicText = `{"id":"msg_lp","type":"message","role":"assistant","model":"claude-x","content":[{"type":"text","text":"Paris"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":2}}`

// A chat client that asks for logprobs from a model whose upstream has
// none must be told (the Responses surface refuses top_logprobs, the
// legacy completions surface logprobs, both with a 400 that says so); the
// chat surface drops the field and answers 200 without logprobs, so
// choice.logprobs is None/undefined and the client's
// choice.logprobs.content fails far from the cause.
func TestSDK_ChatLogprobsRefusedWhereUntranslatable(t *testing.T) {
	client, fake := sdkGateway(t, "anthropic", anthropicText)
	resp, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
		Model:       "claude-public",
		Messages:    []openai.ChatCompletionMessageParamUnion{openai.UserMessage("capital of France?")},
		Logprobs:    openai.Bool(true),
		TopLogprobs: openai.Int(3),
	})
	if apiErr, ok := errors.AsType[*openai.Error](err); ok && apiErr.StatusCode == http.StatusBadRequest {
		return // refused, as the other OpenAI surfaces refuse it
	}
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Choices[0].JSON.Logprobs.Valid() {
		_, sent := fake.seen()
		t.Errorf("200 without the logprobs asked for (upstream got %s); answer %s", sent, resp.RawJSON())
	}
}

// geminiNoResponseID is a Gemini stream whose chunks carry no responseId.
const geminiNoResponseID = `data: {"candidates":[{"content":{"parts":[{"text":"Hello"}],"role":"model"},"index":0}],"modelVersion":"gemini-x"}

data: {"candidates":[{"content":{"parts":[{"text":" there"}],"role":"model"},"index":0}],"modelVersion":"gemini-x"}

data: {"candidates":[{"content":{"parts":[{"text":"."}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":3,"totalTokenCount":6},"modelVersion":"gemini-x"}

`

// Every chunk of one chat stream must carry the same id: openai-go's
// ChatCompletionAccumulator refuses (AddChunk false) a chunk whose id
// differs from the first, dropping its text. With an upstream that names
// no answer id, the gateway made a new id for every chunk.
func TestSDK_TranslatedChatStreamKeepsOneID(t *testing.T) {
	client, _ := sdkGateway(t, "gemini", geminiNoResponseID)
	s := client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{
		Model:    "gpt-public",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	var acc openai.ChatCompletionAccumulator
	ids := map[string]bool{}
	for s.Next() {
		ids[s.Current().ID] = true
		acc.AddChunk(s.Current())
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 {
		t.Errorf("%d chunk ids in one stream: %v", len(ids), ids)
	}
	if got := acc.Choices[0].Message.Content; got != "Hello there." {
		t.Errorf("the SDK assembled %q, want %q", got, "Hello there.")
	}
}

// The Chat Completions object's choices[].logprobs and message.refusal are
// required (nullable) fields: the official API always sends them, and
// openai-go tags them api:"required". A translated answer left both
// out, which typed clients that validate responses (openai-java's validate(),
// async-openai) reject.
func TestSDK_TranslatedChatCompletionHasRequiredNullableFields(t *testing.T) {
	client, _ := sdkGateway(t, "anthropic", anthropicText)
	resp, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
		Model:    "claude-public",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("capital of France?")},
	})
	if err != nil {
		t.Fatal(err)
	}
	ch := resp.Choices[0]
	if !ch.JSON.Logprobs.Valid() && !strings.Contains(ch.RawJSON(), `"logprobs":null`) {
		t.Errorf("choices[0] has no logprobs key: %s", ch.RawJSON())
	}
	if !strings.Contains(ch.Message.RawJSON(), `"refusal"`) {
		t.Errorf("message has no refusal key: %s", ch.Message.RawJSON())
	}
}
