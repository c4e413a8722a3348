package pack

// skeleton is the dictionary for the JSON left of a record once its content
// is cut out: the keys and the usual values of the request formats Lyumen
// takes (OpenAI chat, compact and as Python's json.dumps spaces it;
// Anthropic messages), of lyumen.Conversation, lyumen.Response and
// []lyumen.Attempt. The coder finds matches in it as if it came before
// each value, which makes a 200-byte value compress to a third instead of
// not at all.
//
// It holds no model or provider names and no text: what it helps must be
// the formats, not one deployment's traffic.
//
// Stored values need it to be read, so it must never change, nor must
// skeletonRepeat (where S2 starts looking for a match): a better dictionary
// gets a new tag, and this one stays for reading. TestPack_Golden holds
// both to their bytes.
const (
	skeletonRepeat = 0
	skeleton       = `{"model": "", "max_tokens": 1024, "system": "", "messages": [{"role": "user", "content": [{"type": "text", "text": ""}, {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": ""}}]}, {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_", "name": "", "input": {}}]}, {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_", "content": ""}]}], "stop_sequences": [], "metadata": {"user_id": ""}, "stream": true}` +
		`{"model":"","max_tokens":1024,"system":"","messages":[{"role":"user","content":[{"type":"text","text":""},{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,"}}]}],"temperature":0,"top_p":1,"n":1,"stop":null,"seed":42,"user":"","response_format":{"type":"json_object"},"frequency_penalty":0,"presence_penalty":0,"logprobs":false,"parallel_tool_calls":true,"max_completion_tokens":4096,"reasoning_effort":"medium"}` +
		`{"model": "", "messages": [{"role": "system", "content": }, {"role": "user", "content": }, {"role": "assistant", "content": }, {"role": "assistant", "content": null, "tool_calls": [{"id": "call_", "type": "function", "function": {"name": "", "arguments": "{}"}}]}, {"role": "tool", "tool_call_id": "call_", "content": }], "tools": , "tool_choice": "auto", "temperature": 0.7, "max_tokens": 1024, "stream": true, "stream_options": {"include_usage": true}}` +
		`{"content":,"refusal":null,"role":"assistant","annotations":[]}` +
		`{"messages":[{"role":"user","parts":[{"type":"text","text":},{"type":"image","media_type":"image/png","data":},{"type":"image","url":"https://"}]},{"role":"assistant","tool_calls":[{"index":0,"id":"call_","type":"function","name":"","arguments":"{\"\":\"\"}"}]},{"role":"tool","content":,"tool_call_id":"call_"}],"tools":[{"name":"","description":"","parameters":{"type":"object","properties":{"":{"type":"string","description":""}},"required":[""]}}],"tool_choice":{"mode":"auto"},"max_tokens":1024,"temperature":0.7,"top_p":1,"stop":[""]}` +
		`{"messages":[{"role":"system","content":},{"role":"user","content":},{"role":"assistant","content":},{"role":"user","content":}]}` +
		`[{"provider":"","model":"","status":429,"error":"rate limited","duration":},{"provider":"","model":"","status":503,"error":"upstream: ","duration":}]` +
		`{"model":"","messages":[{"role":"system","content":},{"role":"user","content":},{"role":"assistant","content":},{"role":"assistant","content":null,"tool_calls":[{"id":"call_","type":"function","function":{"name":"","arguments":"{}"}}]},{"role":"tool","tool_call_id":"call_","content":}],"tools":,"tool_choice":"auto","temperature":0.7,"max_tokens":1024,"stream":true,"stream_options":{"include_usage":true}}` +
		`{"id":"chatcmpl-","model":"","choices":[{"index":0,"message":{"role":"assistant","content":,"tool_calls":[{"index":0,"id":"call_","type":"function","name":"","arguments":"{}"}]},"finish_reason":"tool_calls"},{"index":0,"message":{"role":"assistant","content":},"finish_reason":"stop"}],"usage":{"prompt_tokens":,"completion_tokens":,"total_tokens":}}` +
		`[{"provider":"","model":"","status":200,"duration":}]`
)
