package httpapi_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/providertest"
)

func responsesParams(text string) responses.ResponseNewParams {
	return responses.ResponseNewParams{
		Model:        publicModel,
		Instructions: openai.String("Be brief."),
		Input:        responses.ResponseNewParamsInputUnion{OfString: openai.String(text)},
	}
}

func weatherFunction() []responses.ToolUnionParam {
	return []responses.ToolUnionParam{{OfFunction: &responses.FunctionToolParam{
		Name:       "get_weather",
		Parameters: map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}},
	}}}
}

// checkSurfaceRecord compares the fields every record of a successful
// exchange on surface has, and its canonical conversation.
func checkSurfaceRecord(t *testing.T, rec *lyumen.Record, surface lyumen.Surface, stream bool, messages []lyumen.Message) {
	t.Helper()
	type summary struct {
		Surface                      lyumen.Surface
		Model, ServedModel, Provider string
		Stream                       bool
		Status                       int
		Completeness                 lyumen.Completeness
		Error                        string
		Attempts                     int
		UsageRecorded                bool
	}
	got := summary{rec.Surface, rec.Model, rec.ServedModel, rec.Provider, rec.Stream, rec.Status, rec.Completeness, rec.Error,
		len(rec.Attempts), rec.Usage.TotalTokens > 0}
	want := summary{surface, publicModel, remoteModel, "fake", stream, 200, lyumen.Complete, "", 1, true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("record (-want +got):\n%s", diff)
	}
	if rec.Duration <= 0 || rec.TTFT <= 0 || rec.TTFT > rec.Duration {
		t.Errorf("duration %v, ttft %v: want 0 < ttft <= duration", rec.Duration, rec.TTFT)
	}
	if messages == nil {
		if rec.Conversation != nil {
			t.Errorf("conversation %+v recorded, want none", rec.Conversation)
		}
		return
	}
	if rec.Conversation == nil {
		t.Fatal("no canonical conversation in the record")
	}
	if diff := cmp.Diff(messages, rec.Conversation.Messages); diff != "" {
		t.Errorf("recorded conversation (-want +got):\n%s", diff)
	}
}

func TestResponses_NonStreamed(t *testing.T) {
	g := newGateway(t)
	resp, err := g.client.Responses.New(t.Context(), responsesParams("hello there"))
	if err != nil {
		t.Fatal(err)
	}
	want := providertest.EchoText("hello there")
	if resp.OutputText() != want || resp.Status != "completed" || !strings.HasPrefix(resp.ID, "resp_") || resp.Object != "response" {
		t.Errorf("response: id %q object %q status %q text %q", resp.ID, resp.Object, resp.Status, resp.OutputText())
	}
	if resp.Usage.TotalTokens == 0 || resp.Usage.InputTokens == 0 {
		t.Errorf("usage %+v", resp.Usage)
	}
	rec := g.recs.wait(t, 1)
	checkSurfaceRecord(t, rec, lyumen.SurfaceOpenAIResponses, false, []lyumen.Message{
		{Role: "system", Content: "Be brief."}, {Role: "user", Content: "hello there"},
	})
	if got := rec.Response.Choices[0].Message.Content; got != want {
		t.Errorf("recorded answer %q, want %q", got, want)
	}
	// The upstream was asked in chat format.
	seen := g.up.Seen()[0]
	if seen.Path != "/v1/chat/completions" || seen.Body["model"] != remoteModel || len(seen.Body["messages"].([]any)) != 2 {
		t.Errorf("upstream got %s %v", seen.Path, seen.Body)
	}
}

func TestResponses_Streamed(t *testing.T) {
	g := newGateway(t)
	s := g.client.Responses.NewStreaming(t.Context(), responsesParams("stream me a reply"))
	var text strings.Builder
	var types []string
	var final responses.Response
	for s.Next() {
		ev := s.Current()
		if ev.SequenceNumber != int64(len(types)) {
			t.Errorf("event %d (%s): sequence_number %d", len(types), ev.Type, ev.SequenceNumber)
		}
		types = append(types, ev.Type)
		switch ev.Type {
		case "response.output_text.delta":
			text.WriteString(ev.Delta)
		case "response.completed":
			final = ev.AsResponseCompleted().Response
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	want := providertest.EchoText("stream me a reply")
	if text.String() != want || final.OutputText() != want || final.Usage.TotalTokens == 0 {
		t.Errorf("streamed %q, final %q with usage %d; want %q", text.String(), final.OutputText(), final.Usage.TotalTokens, want)
	}
	deltas := strings.Count(strings.Join(types, " "), "response.output_text.delta")
	if len(types) < 8 || types[0] != "response.created" || types[1] != "response.in_progress" || deltas < 3 {
		t.Errorf("event sequence %v: the stream was not passed on event by event", types)
	}
	rec := g.recs.wait(t, 1)
	checkSurfaceRecord(t, rec, lyumen.SurfaceOpenAIResponses, true, []lyumen.Message{
		{Role: "system", Content: "Be brief."}, {Role: "user", Content: "stream me a reply"},
	})
	if got := rec.Response.Choices[0].Message.Content; got != want {
		t.Errorf("recorded answer %q, want %q", got, want)
	}
}

func TestResponses_ToolCall(t *testing.T) {
	wantCall := lyumen.ToolCall{ID: "call_1", Type: "function", Name: "get_weather", Arguments: `{"city":"Paris"}`}
	t.Run("non-streamed", func(t *testing.T) {
		g := newGateway(t)
		g.up.Set(providertest.Behaviour{ToolCall: true})
		p := responsesParams("weather in Paris?")
		p.Tools = weatherFunction()
		resp, err := g.client.Responses.New(t.Context(), p)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Output) != 1 || resp.Output[0].Type != "function_call" {
			t.Fatalf("output %s", resp.RawJSON())
		}
		fc := resp.Output[0].AsFunctionCall()
		if fc.CallID != wantCall.ID || fc.Name != wantCall.Name || fc.Arguments != wantCall.Arguments {
			t.Errorf("function call %+v", fc)
		}
		rec := g.recs.wait(t, 1)
		if diff := cmp.Diff([]lyumen.ToolCall{wantCall}, rec.Response.Choices[0].Message.ToolCalls); diff != "" {
			t.Errorf("recorded tool calls (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]lyumen.Tool{{Name: "get_weather", Parameters: []byte(`{"properties":{"city":{"type":"string"}},"type":"object"}`)}}, rec.Conversation.Tools); diff != "" {
			t.Errorf("recorded tools (-want +got):\n%s", diff)
		}
		tools, _ := g.up.Seen()[0].Body["tools"].([]any)
		if fn, _ := tools[0].(map[string]any)["function"].(map[string]any); fn["name"] != "get_weather" {
			t.Errorf("upstream tools %v: not translated to chat's shape", tools)
		}
	})
	t.Run("streamed", func(t *testing.T) {
		g := newGateway(t)
		g.up.Set(providertest.Behaviour{ToolCall: true})
		p := responsesParams("weather in Paris?")
		p.Tools = weatherFunction()
		s := g.client.Responses.NewStreaming(t.Context(), p)
		var args strings.Builder
		var done responses.ResponseFunctionToolCall
		for s.Next() {
			ev := s.Current()
			switch ev.Type {
			case "response.function_call_arguments.delta":
				args.WriteString(ev.Delta)
			case "response.output_item.done":
				done = ev.AsResponseOutputItemDone().Item.AsFunctionCall()
			}
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		if args.String() != wantCall.Arguments || done.Arguments != wantCall.Arguments || done.CallID != wantCall.ID || done.Name != wantCall.Name {
			t.Errorf("streamed arguments %q, item %+v", args.String(), done)
		}
		rec := g.recs.wait(t, 1)
		if diff := cmp.Diff([]lyumen.ToolCall{wantCall}, rec.Response.Choices[0].Message.ToolCalls); diff != "" {
			t.Errorf("recorded tool calls (-want +got):\n%s", diff)
		}
	})
	t.Run("the result goes back", func(t *testing.T) {
		g := newGateway(t)
		p := responsesParams("")
		p.Tools = weatherFunction()
		p.Input = responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
			responses.ResponseInputItemParamOfMessage("weather in Paris?", responses.EasyInputMessageRoleUser),
			responses.ResponseInputItemParamOfFunctionCall(wantCall.Arguments, wantCall.ID, wantCall.Name),
			{OfFunctionCallOutput: &responses.ResponseInputItemFunctionCallOutputParam{
				CallID: openai.String(wantCall.ID),
				Output: responses.ResponseInputItemFunctionCallOutputOutputUnionParam{OfString: openai.String("18C, clear")},
			}},
		}}
		if _, err := g.client.Responses.New(t.Context(), p); err != nil {
			t.Fatal(err)
		}
		rec := g.recs.wait(t, 1)
		checkSurfaceRecord(t, rec, lyumen.SurfaceOpenAIResponses, false, []lyumen.Message{
			{Role: "system", Content: "Be brief."},
			{Role: "user", Content: "weather in Paris?"},
			{Role: "assistant", ToolCalls: []lyumen.ToolCall{wantCall}},
			{Role: "tool", ToolCallID: wantCall.ID, Content: "18C, clear"},
		})
		msgs, _ := g.up.Seen()[0].Body["messages"].([]any)
		if last, _ := msgs[len(msgs)-1].(map[string]any); last["role"] != "tool" || last["tool_call_id"] != wantCall.ID {
			t.Errorf("upstream messages %v", msgs)
		}
	})
}

func TestResponses_ImageInput(t *testing.T) {
	g := newGateway(t)
	const photo = "https://example.com/cat.png"
	p := responsesParams("")
	p.Input = responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
		responses.ResponseInputItemParamOfMessage(responses.ResponseInputMessageContentListParam{
			responses.ResponseInputContentParamOfInputText("what is this?"),
			{OfInputImage: &responses.ResponseInputImageParam{Detail: responses.ResponseInputImageDetailAuto, ImageURL: openai.String(photo)}},
			{OfInputImage: &responses.ResponseInputImageParam{Detail: responses.ResponseInputImageDetailLow, ImageURL: openai.String("data:image/png;base64,iVBORw0KGgo=")}},
		}, responses.EasyInputMessageRoleUser),
	}}
	resp, err := g.client.Responses.New(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	if want := providertest.EchoText("what is this?"); resp.OutputText() != want {
		t.Errorf("answer %q, want %q", resp.OutputText(), want)
	}
	rec := g.recs.wait(t, 1)
	checkSurfaceRecord(t, rec, lyumen.SurfaceOpenAIResponses, false, []lyumen.Message{
		{Role: "system", Content: "Be brief."},
		{Role: "user", Parts: []lyumen.Part{
			{Type: "text", Text: "what is this?"},
			{Type: "image", URL: photo},
			{Type: "image", MediaType: "image/png", Data: "iVBORw0KGgo="},
		}},
	})
	msgs, _ := g.up.Seen()[0].Body["messages"].([]any)
	parts, _ := msgs[1].(map[string]any)["content"].([]any)
	if len(parts) != 3 || parts[1].(map[string]any)["image_url"].(map[string]any)["url"] != photo {
		t.Errorf("upstream content %v: images not translated to chat's image_url parts", parts)
	}
}

func TestResponses_BadInput(t *testing.T) {
	const input = `"input": "x"`
	tests := []struct {
		name     string
		body     string
		upstream providertest.Behaviour
		want     apiError
		msg      string              // words the message must hold
		recorded lyumen.Completeness // "" when the request must not be recorded
	}{
		{name: "malformed JSON", body: `{"model": "gpt-test", `, want: apiError{400, "invalid_request_error", "", ""}},
		{name: "missing input", body: `{"model": "gpt-test"}`, want: apiError{400, "invalid_request_error", "input", ""}},
		{name: "unknown role", body: `{"model": "gpt-test", "input": [{"role": "wizard", "content": "x"}]}`, want: apiError{400, "invalid_request_error", "input[0].role", ""}},
		{name: "unknown model", body: `{"model": "gpt-nope", ` + input + `}`, want: apiError{404, "invalid_request_error", "", "model_not_found"}},
		{name: "built-in tool", body: `{"model": "gpt-test", ` + input + `, "tools": [{"type": "web_search"}]}`,
			want: apiError{400, "invalid_request_error", "tools[0].type", "unsupported_parameter"}, msg: "cannot be translated"},
		{name: "previous_response_id", body: `{"model": "gpt-test", ` + input + `, "previous_response_id": "resp_123"}`,
			want: apiError{400, "invalid_request_error", "previous_response_id", "unsupported_parameter"}, msg: "stores no responses"},
		{name: "unknown text format", body: `{"model": "gpt-test", ` + input + `, "text": {"format": {"type": "yaml"}}}`,
			want: apiError{400, "invalid_request_error", "text.format.type", ""}, msg: "Supported values are"},
		{name: "file input", body: `{"model": "gpt-test", "input": [{"role": "user", "content": [{"type": "input_file", "file_id": "file-1"}]}]}`,
			want: apiError{400, "invalid_request_error", "input[0].content[0].type", "unsupported_parameter"}, msg: "cannot be translated"},
		{name: "upstream 500", body: `{"model": "gpt-test", ` + input + `}`, upstream: providertest.Behaviour{Status: 500},
			want: apiError{502, "upstream_error", "", "upstream_error"}, recorded: lyumen.UpstreamRefused},
		{name: "upstream 500 stream", body: `{"model": "gpt-test", "stream": true, ` + input + `}`, upstream: providertest.Behaviour{Status: 500},
			want: apiError{502, "upstream_error", "", "upstream_error"}, recorded: lyumen.UpstreamRefused},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newGateway(t)
			g.up.Set(tc.upstream)
			checkAPIError(t, g.client.Post(t.Context(), "responses", []byte(tc.body), nil), tc.want, tc.msg)
			checkRecorded(t, g, tc.recorded, tc.want.status)
		})
	}
}

// checkAPIError checks the official SDK sees err as the API error want,
// with a message that holds msg.
func checkAPIError(t *testing.T, err error, want apiError, msg string) {
	t.Helper()
	apiErr, ok := errors.AsType[*openai.Error](err)
	if !ok {
		t.Fatalf("SDK error = %v, want an *openai.Error", err)
	}
	got := apiError{apiErr.StatusCode, apiErr.Type, apiErr.Param, apiErr.Code}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(apiError{})); diff != "" {
		t.Errorf("error %q (-want +got):\n%s", apiErr.Message, diff)
	}
	if apiErr.Message == "" || !strings.Contains(apiErr.Message, msg) {
		t.Errorf("message %q, want one that says %q", apiErr.Message, msg)
	}
}

// checkRecorded checks the gateway kept a record exactly when it should.
func checkRecorded(t *testing.T, g *gateway, want lyumen.Completeness, status int) {
	t.Helper()
	if want == "" {
		if n := len(g.recs.all()); n != 0 {
			t.Errorf("%d records for a refused request, want none", n)
		}
		return
	}
	rec := g.recs.wait(t, 1)
	if rec.Completeness != want || rec.Status != status || rec.Error == "" {
		t.Errorf("record: completeness %q status %d error %q; want %q %d and an error", rec.Completeness, rec.Status, rec.Error, want, status)
	}
}

func TestResponses_UpstreamDiesMidStream(t *testing.T) {
	g := newGateway(t)
	g.up.Set(providertest.Behaviour{DieAfter: 3})
	s := g.client.Responses.NewStreaming(t.Context(), responsesParams("one two three four five"))
	var text strings.Builder
	var last responses.ResponseStreamEventUnion
	sawError := false
	for s.Next() {
		last = s.Current()
		switch last.Type {
		case "response.output_text.delta":
			text.WriteString(last.Delta)
		case "error":
			sawError = true
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if !sawError || last.Type != "response.failed" || last.Response.Status != "failed" {
		t.Errorf("stream ended with %q (error event seen: %v), want an error event then response.failed", last.Type, sawError)
	}
	rec := g.recs.wait(t, 1)
	if rec.Completeness != lyumen.UpstreamFailed || rec.Error == "" {
		t.Errorf("record completeness %q error %q, want upstream_failed with an error", rec.Completeness, rec.Error)
	}
	if got := rec.Response.Choices[0].Message.Content; got != text.String() || got == "" {
		t.Errorf("recorded %q, but the client received %q", got, text.String())
	}
}

// TestResponses_Refusal checks a model's refusal reaches the client as the
// official API shows it: a message whose content is a refusal part, and
// refusal events in a stream.
func TestResponses_Refusal(t *testing.T) {
	const refusal = "I'm sorry, I can't help with that."
	for _, stream := range []bool{false, true} {
		t.Run(map[bool]string{false: "non-streamed", true: "streamed"}[stream], func(t *testing.T) {
			g := newGateway(t)
			g.up.Set(providertest.Behaviour{Refusal: refusal})
			var resp responses.Response
			var deltas, done strings.Builder
			if stream {
				s := g.client.Responses.NewStreaming(t.Context(), responsesParams("how do I pick a lock?"))
				for s.Next() {
					switch ev := s.Current(); ev.Type {
					case "response.refusal.delta":
						deltas.WriteString(ev.Delta)
					case "response.refusal.done":
						done.WriteString(ev.Refusal)
					case "response.completed":
						resp = ev.AsResponseCompleted().Response
					}
				}
				if err := s.Err(); err != nil {
					t.Fatal(err)
				}
				if deltas.String() != refusal || done.String() != refusal {
					t.Errorf("refusal deltas %q, done %q; want %q", deltas.String(), done.String(), refusal)
				}
			} else {
				r, err := g.client.Responses.New(t.Context(), responsesParams("how do I pick a lock?"))
				if err != nil {
					t.Fatal(err)
				}
				resp = *r
			}
			if len(resp.Output) != 1 || resp.Output[0].Type != "message" {
				t.Fatalf("output %s, want one message", resp.RawJSON())
			}
			msg := resp.Output[0].AsMessage()
			if len(msg.Content) != 1 || msg.Content[0].Type != "refusal" || msg.Content[0].Refusal != refusal || msg.Status != "completed" {
				t.Errorf("message %s, want one refusal part %q", msg.RawJSON(), refusal)
			}
			rec := g.recs.wait(t, 1)
			if got := rec.Response.Choices[0].Message.Refusal; got != refusal {
				t.Errorf("recorded refusal %q, want %q", got, refusal)
			}
		})
	}
}

// TestResponses_Reasoning checks the reasoning an upstream shows
// (reasoning_content) reaches the client as the official API shows a
// reasoning model's thinking: a reasoning item before the message, its
// text in reasoning_text content, streamed as reasoning_text events; and
// that the output sent back as the next turn's input, as the SDKs' ToParam
// makes it, is accepted.
func TestResponses_Reasoning(t *testing.T) {
	const reasoning = "The user greets me. I greet back."
	for _, stream := range []bool{false, true} {
		t.Run(map[bool]string{false: "non-streamed", true: "streamed"}[stream], func(t *testing.T) {
			g := newGateway(t)
			g.up.Set(providertest.Behaviour{Reasoning: reasoning})
			var resp responses.Response
			var deltas strings.Builder
			if stream {
				s := g.client.Responses.NewStreaming(t.Context(), responsesParams("hello"))
				for s.Next() {
					switch ev := s.Current(); ev.Type {
					case "response.reasoning_text.delta":
						deltas.WriteString(ev.Delta)
					case "response.completed":
						resp = ev.AsResponseCompleted().Response
					}
				}
				if err := s.Err(); err != nil {
					t.Fatal(err)
				}
				if deltas.String() != reasoning {
					t.Errorf("reasoning deltas %q, want %q", deltas.String(), reasoning)
				}
			} else {
				r, err := g.client.Responses.New(t.Context(), responsesParams("hello"))
				if err != nil {
					t.Fatal(err)
				}
				resp = *r
			}
			want := providertest.EchoText("hello")
			if len(resp.Output) != 2 || resp.Output[0].Type != "reasoning" || resp.OutputText() != want {
				t.Fatalf("output %s, want a reasoning item and the message %q", resp.RawJSON(), want)
			}
			r := resp.Output[0].AsReasoning()
			if len(r.Content) != 1 || r.Content[0].Type != "reasoning_text" || r.Content[0].Text != reasoning || !strings.HasPrefix(r.ID, "rs_") {
				t.Errorf("reasoning item %s, want its text %q", r.RawJSON(), reasoning)
			}
			rec := g.recs.wait(t, 1)
			if got := rec.Response.Choices[0].Message.Reasoning; got != reasoning {
				t.Errorf("recorded reasoning %q, want %q", got, reasoning)
			}

			// The next turn sends the output back.
			rp, mp := r.ToParam(), resp.Output[1].AsMessage().ToParam()
			p := responsesParams("")
			p.Input = responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
				responses.ResponseInputItemParamOfMessage("hello", responses.EasyInputMessageRoleUser),
				{OfReasoning: &rp}, {OfOutputMessage: &mp},
				responses.ResponseInputItemParamOfMessage("and then?", responses.EasyInputMessageRoleUser),
			}}
			if _, err := g.client.Responses.New(t.Context(), p); err != nil {
				t.Fatal(err)
			}
			rec = g.recs.wait(t, 2)
			checkSurfaceRecord(t, rec, lyumen.SurfaceOpenAIResponses, false, []lyumen.Message{
				{Role: "system", Content: "Be brief."},
				{Role: "user", Content: "hello"},
				{Role: "assistant", Content: want, Reasoning: reasoning},
				{Role: "user", Content: "and then?"},
			})
		})
	}
}
