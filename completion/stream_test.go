package completion

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakeai"
	"github.com/caddy-outstatic/caddy-outstatic/internal/testwait"
)

const testKey = "sk-test-secret-key-123"

// relay starts a server that answers every POST with s, as the relay would
// after authenticating the site.
func relay(t *testing.T, s *Streamer) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv
}

func newStreamer(t *testing.T, ai *fakeai.Server, mod func(*Config)) *Streamer {
	t.Helper()
	cfg := Config{BaseURL: ai.BaseURL, APIKey: testKey, Model: "gpt-test"}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// testClient is the dashboard: a relay that never answers fails the test
// rather than hangs it.
var testClient = &http.Client{Timeout: testwait.Bound}

func post(t *testing.T, url, body string) *http.Response {
	t.Helper()
	resp, err := testClient.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

const improveBody = `{"prompt":"Hello wrold","option":"improve","command":""}`

// sseReader reads the UI message stream event by event, checking the framing
// (every event one data line then a blank line).
type sseReader struct {
	t  *testing.T
	br *bufio.Reader
}

// next returns the payload of the next event, or "" at the end of the body.
func (r *sseReader) next() string {
	r.t.Helper()
	line, err := r.br.ReadString('\n')
	if err == io.EOF && line == "" {
		return ""
	}
	if err != nil {
		r.t.Fatalf("reading event: %v (got %q)", err, line)
	}
	payload, ok := strings.CutPrefix(line, "data: ")
	if !ok {
		r.t.Fatalf("event line %q does not start with \"data: \"", line)
	}
	blank, err := r.br.ReadString('\n')
	if err != nil || blank != "\n" {
		r.t.Fatalf("event %q not followed by a blank line: %q, %v", line, blank, err)
	}
	return strings.TrimSuffix(payload, "\n")
}

// all reads the rest of the stream.
func (r *sseReader) all() []string {
	var out []string
	for {
		p := r.next()
		if p == "" {
			return out
		}
		out = append(out, p)
	}
}

// decode parses each payload as JSON (except [DONE]) so comparisons do not
// depend on member order, and checks the text id is the same throughout.
func decode(t *testing.T, payloads []string) []map[string]any {
	t.Helper()
	var out []map[string]any
	id := ""
	for _, p := range payloads {
		if p == "[DONE]" {
			out = append(out, map[string]any{"DONE": true})
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(p), &m); err != nil {
			t.Fatalf("event %q is not JSON: %v", p, err)
		}
		if v, ok := m["id"].(string); ok {
			if id == "" {
				id = v
			}
			if v != id || !strings.HasPrefix(v, "txt-") {
				t.Fatalf("event %q has id %q, want the stream's %q", p, v, id)
			}
			m["id"] = "ID"
		}
		out = append(out, m)
	}
	return out
}

func ev(typ string, kv ...string) map[string]any {
	m := map[string]any{"type": typ}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

var done = map[string]any{"DONE": true}

func checkStreamHeaders(t *testing.T, resp *http.Response) {
	t.Helper()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	for k, want := range map[string]string{
		"Content-Type":                  "text/event-stream",
		"X-Vercel-Ai-Ui-Message-Stream": "v1",
		"Cache-Control":                 "no-cache",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
}

func TestStreamEventShapes(t *testing.T) {
	ai := fakeai.New(fakeai.Reply{Chunks: []fakeai.Chunk{
		{Content: ""}, // a role-only first chunk carries no text
		{Content: "Hello"},
		{Content: ", \"world\"\n"},
		{Content: "é", Finish: "stop"},
	}, Done: true})
	defer ai.Close()
	srv := relay(t, newStreamer(t, ai, nil))
	resp := post(t, srv.URL, improveBody)
	checkStreamHeaders(t, resp)
	got := decode(t, (&sseReader{t: t, br: bufio.NewReader(resp.Body)}).all())
	want := []map[string]any{
		ev("start"),
		ev("text-start", "id", "ID"),
		ev("text-delta", "id", "ID", "delta", "Hello"),
		ev("text-delta", "id", "ID", "delta", ", \"world\"\n"),
		ev("text-delta", "id", "ID", "delta", "é"),
		ev("text-end", "id", "ID"),
		ev("finish"),
		done,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("events:\n got %v\nwant %v", got, want)
	}
	reqs := ai.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d upstream requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Path != "/v1/chat/completions" || r.Authorization != "Bearer "+testKey || r.Model != "gpt-test" || !r.Stream {
		t.Errorf("upstream request %+v", r)
	}
}

func TestStreamExactBytes(t *testing.T) {
	// The AI SDK's own writer puts members in this order; a byte-exact check
	// guards the framing the dashboard's parser sees.
	ai := fakeai.New(fakeai.Reply{Chunks: []fakeai.Chunk{{Content: "Hi"}}, Done: true})
	defer ai.Close()
	srv := relay(t, newStreamer(t, ai, nil))
	resp := post(t, srv.URL, improveBody)
	b, _ := io.ReadAll(resp.Body)
	id := strings.SplitN(strings.SplitN(string(b), `"text-start","id":"`, 2)[1], `"`, 2)[0]
	want := `data: {"type":"start"}` + "\n\n" +
		`data: {"type":"text-start","id":"` + id + `"}` + "\n\n" +
		`data: {"type":"text-delta","id":"` + id + `","delta":"Hi"}` + "\n\n" +
		`data: {"type":"text-end","id":"` + id + `"}` + "\n\n" +
		`data: {"type":"finish"}` + "\n\n" +
		"data: [DONE]\n\n"
	if string(b) != want {
		t.Fatalf("body:\n%s\nwant:\n%s", b, want)
	}
}

// TestStreamNotBuffered proves each piece reaches the client before the
// endpoint has sent the next: the endpoint holds its second chunk until the
// test has read the first delta, so any buffering on the way deadlocks.
func TestStreamNotBuffered(t *testing.T) {
	gate := make(chan struct{})
	ai := fakeai.New(fakeai.Reply{Chunks: []fakeai.Chunk{
		{Content: "first"},
		{Content: "second", Wait: gate},
		{Content: "", Finish: "stop"},
	}, Done: true})
	defer ai.Close()
	srv := relay(t, newStreamer(t, ai, nil))

	// The request and the first read both run under the deadline: a server
	// that buffers holds back its headers too.
	got := make(chan map[string]any, 1)
	var r *sseReader
	go func() {
		defer close(got)
		resp, err := http.Post(srv.URL, "application/json", strings.NewReader(improveBody))
		if err != nil {
			return
		}
		checkStreamHeaders(t, resp)
		r = &sseReader{t: t, br: bufio.NewReader(resp.Body)}
		for {
			p := r.next()
			if p == "" {
				return
			}
			var m map[string]any
			_ = json.Unmarshal([]byte(p), &m)
			if m["type"] == "text-delta" {
				got <- m
				return
			}
		}
	}()
	select {
	case m, ok := <-got:
		if !ok {
			t.Fatal("the stream ended before its first delta")
		}
		if m["delta"] != "first" {
			t.Fatalf("first delta %v, want \"first\"", m)
		}
		if n := ai.Sent(); n != 1 {
			t.Fatalf("endpoint had sent %d chunks when the first delta arrived, want 1", n)
		}
	case <-time.After(testwait.Bound):
		close(gate)
		t.Error("the first delta did not reach the client while the endpoint held the second chunk: the stream is buffered")
		<-got
		return
	}
	close(gate)
	rest := decode(t, r.all())
	want := []map[string]any{
		ev("text-delta", "id", "ID", "delta", "second"),
		ev("text-end", "id", "ID"),
		ev("finish"),
		done,
	}
	if !reflect.DeepEqual(rest, want) {
		t.Fatalf("rest of the stream:\n got %v\nwant %v", rest, want)
	}
}

// TestStreamRefusals: before streaming, every failure is a plain-text non-2xx
// answer with our words, never the endpoint's body or the key.
func TestStreamRefusals(t *testing.T) {
	const leak = `{"error":{"message":"Incorrect API key provided: sk-test-s***123 for org-secret"}}`
	tests := []struct {
		name   string
		reply  fakeai.Reply
		mod    func(*Config)
		status int
		text   string
	}{
		{"401", fakeai.Reply{Status: 401, Body: leak}, nil, 502, textConfig},
		{"403", fakeai.Reply{Status: 403, Body: leak}, nil, 502, textConfig},
		{"429", fakeai.Reply{Status: 429, Body: leak}, nil, 429, textBusy},
		{"400", fakeai.Reply{Status: 400, Body: leak}, nil, 502, textRefused},
		{"500", fakeai.Reply{Status: 500, Body: leak}, nil, 502, textUnavailable},
		{"503", fakeai.Reply{Status: 503, Body: leak}, nil, 502, textUnavailable},
		{"json-200", fakeai.Reply{ContentType: "application/json", Chunks: []fakeai.Chunk{{Raw: leak}}}, nil, 502, textUnavailable},
		{"header-timeout", fakeai.Reply{HangHeaders: true}, func(c *Config) { c.HeaderTimeout = 200 * time.Millisecond }, 504, textTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ai := fakeai.New(tt.reply)
			defer ai.Close()
			srv := relay(t, newStreamer(t, ai, tt.mod))
			resp := post(t, srv.URL, improveBody)
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || string(b) != tt.text {
				t.Fatalf("answer %d %q, want %d %q", resp.StatusCode, b, tt.status, tt.text)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

func TestStreamUnreachable(t *testing.T) {
	ai := fakeai.New(fakeai.Reply{})
	base := ai.BaseURL
	ai.Close() // nothing listens there any more
	s, err := New(Config{BaseURL: base, APIKey: testKey, Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	srv := relay(t, s)
	resp := post(t, srv.URL, improveBody)
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 502 || string(b) != textUnavailable {
		t.Fatalf("answer %d %q", resp.StatusCode, b)
	}
}

// TestStreamMidStreamErrors: once streaming has begun, a failure is an error
// event then [DONE], after whatever text had arrived.
func TestStreamMidStreamErrors(t *testing.T) {
	hello := fakeai.Chunk{Content: "Hello"}
	tests := []struct {
		name  string
		reply fakeai.Reply
		mod   func(*Config)
		text  string
	}{
		{"malformed", fakeai.Reply{Chunks: []fakeai.Chunk{hello, {Raw: `{"choices":[{"delta":`}}, Done: true}, nil, textBroken},
		{"reset", fakeai.Reply{Chunks: []fakeai.Chunk{hello}, Reset: true}, nil, textBroken},
		{"no-done", fakeai.Reply{Chunks: []fakeai.Chunk{hello}}, nil, textBroken},
		{"idle-timeout", fakeai.Reply{Chunks: []fakeai.Chunk{hello}, HangAfter: true}, func(c *Config) { c.IdleTimeout = 200 * time.Millisecond }, textTimeout},
		{"max-duration", fakeai.Reply{Chunks: []fakeai.Chunk{hello}, KeepAlive: 20 * time.Millisecond}, func(c *Config) { c.MaxDuration = 300 * time.Millisecond }, textTimeout},
		{"error-object", fakeai.Reply{Chunks: []fakeai.Chunk{hello, {Raw: `{"error":{"message":"overloaded sk-secret"}}`}}, Done: true}, nil, textRefused},
		{"content-filter", fakeai.Reply{Chunks: []fakeai.Chunk{hello, {Finish: "content_filter"}}, Done: true}, nil, textFiltered},
		{"line-too-long", fakeai.Reply{Chunks: []fakeai.Chunk{hello, {Raw: strings.Repeat("x", MaxChunkLine+1)}}, Done: true}, nil, textBroken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ai := fakeai.New(tt.reply)
			defer ai.Close()
			srv := relay(t, newStreamer(t, ai, tt.mod))
			resp := post(t, srv.URL, improveBody)
			checkStreamHeaders(t, resp)
			got := decode(t, (&sseReader{t: t, br: bufio.NewReader(resp.Body)}).all())
			want := []map[string]any{
				ev("start"),
				ev("text-start", "id", "ID"),
				ev("text-delta", "id", "ID", "delta", "Hello"),
				ev("error", "errorText", tt.text),
				done,
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("events:\n got %v\nwant %v", got, want)
			}
		})
	}
}

// TestStreamFinishReason: the answer ends at the first finish_reason even if
// the endpoint keeps the connection open or sends more.
func TestStreamFinishReason(t *testing.T) {
	for _, reason := range []string{"stop", "length"} {
		t.Run(reason, func(t *testing.T) {
			ai := fakeai.New(fakeai.Reply{Chunks: []fakeai.Chunk{{Content: "a"}, {Content: "b", Finish: reason}, {Content: "ignored"}}, HangAfter: true})
			defer ai.Close()
			srv := relay(t, newStreamer(t, ai, nil))
			got := decode(t, (&sseReader{t: t, br: bufio.NewReader(post(t, srv.URL, improveBody).Body)}).all())
			want := []map[string]any{
				ev("start"), ev("text-start", "id", "ID"),
				ev("text-delta", "id", "ID", "delta", "a"), ev("text-delta", "id", "ID", "delta", "b"),
				ev("text-end", "id", "ID"), ev("finish"), done,
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("events:\n got %v\nwant %v", got, want)
			}
		})
	}
}

func TestStreamMaxOutput(t *testing.T) {
	ai := fakeai.New(fakeai.Reply{Chunks: []fakeai.Chunk{{Content: "12345"}, {Content: "67é9"}, {Content: "never"}}, HangAfter: true})
	defer ai.Close()
	// 8 bytes cut inside é (two bytes at 7 and 8): the cut backs off to 7.
	srv := relay(t, newStreamer(t, ai, func(c *Config) { c.MaxOutput = 8 }))
	got := decode(t, (&sseReader{t: t, br: bufio.NewReader(post(t, srv.URL, improveBody).Body)}).all())
	want := []map[string]any{
		ev("start"), ev("text-start", "id", "ID"),
		ev("text-delta", "id", "ID", "delta", "12345"), ev("text-delta", "id", "ID", "delta", "67"),
		ev("text-end", "id", "ID"), ev("finish"), done,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("events:\n got %v\nwant %v", got, want)
	}
}

func TestServeHTTPRefusesBadBodies(t *testing.T) {
	ai := fakeai.New(fakeai.Reply{Chunks: []fakeai.Chunk{{Content: "x"}}, Done: true})
	defer ai.Close()
	srv := relay(t, newStreamer(t, ai, nil))
	for body, status := range map[string]int{
		`{"prompt":"x","option":"poem"}`:                                            400,
		`{"prompt":"x","option":"fix","extra":1}`:                                   400,
		`{"prompt":"` + strings.Repeat("a", MaxPromptBytes+1) + `","option":"fix"}`: 413,
	} {
		resp := post(t, srv.URL, body)
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || len(b) == 0 {
			t.Errorf("body %.40q: answer %d %q, want %d", body, resp.StatusCode, b, status)
		}
	}
	if resp, err := http.Get(srv.URL); err != nil || resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET: %v, %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if n := len(ai.Requests()); n != 0 {
		t.Errorf("refused bodies reached the endpoint %d times", n)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	for _, cfg := range []Config{
		{BaseURL: "", Model: "m"},
		{BaseURL: "ftp://x/v1", Model: "m"},
		{BaseURL: "https://x/v1?k=1", Model: "m"},
		{BaseURL: "https://user:pw@x/v1", Model: "m"},
		{BaseURL: "https://x/v1"},
		{BaseURL: "https://x/v1", Model: "m", IdleTimeout: -1},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		} else if strings.Contains(err.Error(), "pw") {
			t.Errorf("error %q quotes the password", err)
		}
	}
}
