package anthropic_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tidwall/sjson"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/anthropic"
	"github.com/lyumen/lyumen/internal/golden"
	"github.com/lyumen/lyumen/internal/sse"
	"github.com/lyumen/lyumen/openai"
)

// now is the creation time OpenAI bodies carry.
var now = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// upstreamModel is the model name the router asks the upstream for.
const upstreamModel = "upstream-model"

// canned is an upstream that answers every request with one body and keeps
// the request it was sent.
type canned struct {
	reply  []byte
	status int
	got    *http.Request
	body   []byte
}

func (c *canned) RoundTrip(r *http.Request) (*http.Response, error) {
	c.got = r
	c.body, _ = io.ReadAll(r.Body)
	ct := "application/json"
	if bytes.HasPrefix(c.reply, []byte("data:")) || bytes.HasPrefix(c.reply, []byte("event:")) {
		ct = "text/event-stream"
	}
	status := c.status
	if status == 0 {
		status = http.StatusOK
	}
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {ct}},
		Body: io.NopCloser(bytes.NewReader(c.reply)), Request: r}, nil
}

// surface is what a client-facing API does in an exchange: decode, and
// render a whole answer or a stream, as the httpapi codecs do.
type surface struct {
	decode   func([]byte) (*lyumen.Request, error)
	response func(*lyumen.Response, *lyumen.Request) []byte
	stream   func(*lyumen.Request) (event func([]byte, *lyumen.Event) []byte, end func([]byte, *lyumen.Response) []byte)
}

var surfaces = map[string]surface{
	"anthropic": {
		decode: anthropic.DecodeMessages,
		response: func(resp *lyumen.Response, req *lyumen.Request) []byte {
			return anthropic.EncodeMessage(resp, req.Model)
		},
		stream: func(req *lyumen.Request) (func([]byte, *lyumen.Event) []byte, func([]byte, *lyumen.Response) []byte) {
			enc := anthropic.NewStreamEncoder(req.Model)
			return enc.Event, enc.End
		},
	},
	"openai": {
		decode: openai.DecodeChat,
		response: func(resp *lyumen.Response, req *lyumen.Request) []byte {
			return openai.EncodeChat(resp, req.Model, now)
		},
		stream: func(req *lyumen.Request) (func([]byte, *lyumen.Event) []byte, func([]byte, *lyumen.Response) []byte) {
			event := func(dst []byte, ev *lyumen.Event) []byte {
				if len(ev.Choices) == 0 && ev.Usage != nil && !req.IncludeUsage {
					return dst
				}
				return sse.AppendData(dst, "", openai.EncodeChunk(ev, req.Model, now))
			}
			end := func(dst []byte, _ *lyumen.Response) []byte { return append(dst, "data: [DONE]\n\n"...) }
			return event, end
		},
	},
}

var upstreams = map[string]func(http.RoundTripper) lyumen.Provider{
	"anthropic": func(rt http.RoundTripper) lyumen.Provider {
		return anthropic.NewClient("http://upstream.test", "sk-ant-operator", nil, rt)
	},
	"openai": func(rt http.RoundTripper) lyumen.Provider {
		return openai.NewClient("http://upstream.test/v1", "sk-operator", nil, rt)
	},
}

// TestTranslation runs each case of testdata/<surface>_<upstream>/ through
// the surface's decoder, the upstream's real client (against a canned
// answer, <case>.reply.in) and the surface's encoder, and compares what the
// upstream was sent (<case>.upstream.golden), what the client receives
// (<case>.response.golden) and what is recorded (<case>.record.golden).
func TestTranslation(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*_*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no translation fixtures: %v", err)
	}
	for _, dir := range dirs {
		sname, uname, _ := strings.Cut(filepath.Base(dir), "_")
		s, ok := surfaces[sname]
		if !ok || upstreams[uname] == nil {
			t.Fatalf("%s: unknown surface or upstream", dir)
		}
		cases, _ := filepath.Glob(filepath.Join(dir, "*.request.in"))
		for _, in := range cases {
			name := strings.TrimSuffix(in, ".request.in")
			t.Run(strings.TrimPrefix(name, "testdata/"), func(t *testing.T) {
				translate(t, s, upstreams[uname], name)
			})
		}
	}
}

func translate(t *testing.T, s surface, newProvider func(http.RoundTripper) lyumen.Provider, name string) {
	body := mustRead(t, name+".request.in")
	req, err := s.decode(body)
	if err != nil {
		t.Fatal(err)
	}
	up := &canned{reply: mustRead(t, name+".reply.in")}
	p := newProvider(up)
	routed := *req // as the router hands it on
	routed.Model = upstreamModel

	var out []byte
	var resp *lyumen.Response
	if req.Stream {
		st, err := p.ChatStream(t.Context(), &routed)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		event, end := s.stream(req)
		var asm lyumen.Assembler
		for {
			ev, err := st.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if ev.Empty() { // a pause with nothing to send, as serveStream skips it
				continue
			}
			asm.Add(&ev)
			out = event(out, &ev)
		}
		resp = asm.Response()
		out = end(out, resp)
	} else {
		if resp, err = p.Chat(t.Context(), &routed); err != nil {
			t.Fatal(err)
		}
		out = s.response(resp, req)
	}
	golden.Check(t, name+".upstream.golden", up.body)
	golden.Check(t, name+".response.golden", out)
	record, _ := json.Marshal(struct {
		Conversation *lyumen.Conversation `json:"conversation"`
		Response     *lyumen.Response     `json:"response"`
	}{req.Conversation(), resp})
	golden.Check(t, name+".record.golden", record)
}

func mustRead(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestTranslation_PassThroughIsExact checks that an Anthropic client's
// body reaches an Anthropic upstream byte for byte but for the model, and
// that the upstream's answer comes back unchanged.
func TestTranslation_PassThroughIsExact(t *testing.T) {
	for _, name := range []string{"passthrough", "passthrough_stream"} {
		t.Run(name, func(t *testing.T) {
			base := filepath.Join("testdata", "anthropic_anthropic", name)
			body := mustRead(t, base+".request.in")
			req, err := anthropic.DecodeMessages(body)
			if err != nil {
				t.Fatal(err)
			}
			req.Model = upstreamModel
			reply := mustRead(t, base+".reply.in")
			up := &canned{reply: reply}
			c := anthropic.NewClient("http://upstream.test", "k", nil, up)
			want, _ := sjson.SetBytes(body, "model", upstreamModel)
			if !req.Stream {
				resp, err := c.Chat(t.Context(), req)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(resp.Raw, reply) {
					t.Errorf("answer changed on its way:\n%s", resp.Raw)
				}
			} else {
				st, err := c.ChatStream(t.Context(), req)
				if err != nil {
					t.Fatal(err)
				}
				enc := anthropic.NewStreamEncoder("claude-public")
				var out []byte
				var asm lyumen.Assembler
				for {
					ev, err := st.Next()
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					if ev.Empty() { // a pause with nothing to send, as serveStream skips it
						continue
					}
					asm.Add(&ev)
					out = enc.Event(out, &ev)
				}
				out = enc.End(out, asm.Response())
				// Every event but the ping comes back as sent.
				wantOut := strings.ReplaceAll(string(reply), "event: ping\ndata: {\"type\": \"ping\"}\n\n", "")
				if diff := cmp.Diff(wantOut, string(out)); diff != "" {
					t.Errorf("stream changed on its way (-upstream +client):\n%s", diff)
				}
			}
			if diff := cmp.Diff(string(want), string(up.body)); diff != "" {
				t.Errorf("upstream body (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTranslation_Refused lists what cannot be translated: a clear 400
// that names it, before any upstream is called.
func TestTranslation_Refused(t *testing.T) {
	tests := []struct {
		name, surface, upstream, body, want string
	}{
		{
			name: "document to OpenAI", surface: "anthropic", upstream: "openai",
			body: `{"model":"m","max_tokens":9,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"url","url":"https://example.com/a.pdf"}},{"type":"text","text":"sum up"}]}]}`,
			want: "content of type 'anthropic:document' cannot be sent to this model's provider",
		},
		{
			name: "image by file id to OpenAI", surface: "anthropic", upstream: "openai",
			body: `{"model":"m","max_tokens":9,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"file","file_id":"file_1"}},{"type":"text","text":"what?"}]}]}`,
			want: "content of type 'anthropic:image_file' cannot be sent to this model's provider",
		},
		{
			name: "audio to Anthropic", surface: "openai", upstream: "anthropic",
			body: `{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAA","format":"wav"}}]}]}`,
			want: "content of type 'input_audio' cannot be sent to this model's provider",
		},
		{
			name: "broken tool arguments to Anthropic", surface: "openai", upstream: "anthropic",
			body: `{"model":"m","messages":[{"role":"user","content":"q"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{oops"}}]},{"role":"tool","tool_call_id":"c1","content":"r"}]}`,
			want: "the arguments of the call to tool 'f' are not a JSON object, which this model's provider requires",
		},
		{
			name: "several answers to Anthropic", surface: "openai", upstream: "anthropic",
			body: `{"model":"m","n":2,"messages":[{"role":"user","content":"q"}]}`,
			want: "2 answers per request cannot be asked of this model's provider, which gives one: send 2 requests",
		},
		{
			name: "JSON mode to Anthropic", surface: "openai", upstream: "anthropic",
			body: `{"model":"m","response_format":{"type":"json_object"},"messages":[{"role":"user","content":"q"}]}`,
			want: "JSON mode without a schema cannot be asked of this model's provider, whose structured outputs follow a JSON Schema: send a response format of type json_schema",
		},
		{
			name: "system image to Anthropic", surface: "openai", upstream: "anthropic",
			body: `{"model":"m","messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]},{"role":"user","content":"q"}]}`,
			want: "a system message with images cannot be sent to this model's provider: Anthropic's system prompt is text only",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := surfaces[tc.surface].decode([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			up := &canned{reply: []byte(`{}`)}
			p := upstreams[tc.upstream](up)
			_, err = p.Chat(t.Context(), req)
			e, ok := errors.AsType[*lyumen.Error](err)
			if !ok || e.Kind != lyumen.KindInvalid || e.Message != tc.want {
				t.Fatalf("err = %v, want KindInvalid %q", err, tc.want)
			}
			if up.got != nil {
				t.Error("the upstream was called")
			}
			status, body := anthropic.Error(err)
			if status != http.StatusBadRequest || !strings.Contains(string(body), tc.want) {
				t.Errorf("Anthropic surface: %d %s", status, body)
			}
		})
	}
}
