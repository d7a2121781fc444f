package native

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/completion"
	"github.com/caddy-outstatic/caddy-outstatic/internal/fakeai"
)

// post sends body to relay 0 and returns the status, content type and body.
func (e *nativeEnv) post(t *testing.T, path, key, body string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.urls[0]+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Content-Type"), string(b)
}

// Generate's refusals are short texts the dashboard shows as they are,
// except the protocol's own 401 and 405; a configured project streams.
func TestNativeGenerate(t *testing.T) {
	ai := fakeai.New(fakeai.Reply{Done: true, Chunks: []fakeai.Chunk{{Content: "More words."}, {Finish: "stop"}}})
	defer ai.Close()
	streamer, err := completion.New(completion.Config{BaseURL: ai.BaseURL, Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	rate, _ := completion.ParseRate("1/1h")
	limiter, _ := completion.NewLimiter(rate, 0, nil)
	var withAI AI
	env := newNativeEnv(t, func(_ int, c *NativeConfig) {
		c.Projects[0].AI = &withAI
	})
	const body = `{"prompt":"A story","option":"continue","command":""}`

	// no AI configured: 501, as a sentence
	status, ct, got := env.post(t, "/outstatic/generate", env.key, body)
	if status != 501 || !strings.HasPrefix(ct, "text/plain") || got != "AI completions are not configured on this relay." {
		t.Fatalf("not configured: %d %q %q", status, ct, got)
	}
	withAI = AI{Streamer: streamer, Limiter: limiter}
	status, ct, got = env.post(t, "/outstatic/generate", env.key, body)
	if status != 200 || ct != "text/event-stream" || !strings.Contains(got, `"delta":"More words."`) || !strings.HasSuffix(got, "data: [DONE]\n\n") {
		t.Fatalf("generate: %d %q %q", status, ct, got)
	}
	// the budget is per project and spent
	if status, _, got = env.post(t, "/outstatic/generate", env.key, body); status != 429 || !strings.Contains(got, "Too many AI requests") {
		t.Fatalf("over budget: %d %q", status, got)
	}
	if n := len(ai.Requests()); n != 1 {
		t.Fatalf("the endpoint was called %d times, want 1", n)
	}
	// not Pro: 403, as a sentence, before any budget or endpoint
	blogOf(env.relays[0]).Pro = false
	defer func() { blogOf(env.relays[0]).Pro = true }()
	if status, ct, got = env.post(t, "/outstatic/generate", env.key, body); status != 403 || !strings.HasPrefix(ct, "text/plain") ||
		got != "AI completions need the Pro plan for this project." {
		t.Fatalf("free project: %d %q %q", status, ct, got)
	}
	if status, _, got = env.post(t, "/outstatic/generate", "ost_nope", body); status != 401 || got != `{"error":"invalid-api-key"}` {
		t.Fatalf("bad key: %d %q", status, got)
	}
	status, _, _ = env.call(t, 0, http.MethodGet, "/outstatic/generate", env.key, nil)
	if status != 405 {
		t.Fatalf("GET: %d", status)
	}
}

// A request the relay refuses for its body (not JSON, an unknown option, a
// prompt too large) reaches no endpoint and spends none of the project's
// budget: the next good one still streams.
func TestNativeGenerateRefusedBodySpendsNoBudget(t *testing.T) {
	ai := fakeai.New(fakeai.Reply{Done: true, Chunks: []fakeai.Chunk{{Content: "More words."}, {Finish: "stop"}}})
	defer ai.Close()
	streamer, err := completion.New(completion.Config{BaseURL: ai.BaseURL, Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	rate, _ := completion.ParseRate("1/1h")
	limiter, _ := completion.NewLimiter(rate, 0, nil)
	env := newNativeEnv(t, func(_ int, c *NativeConfig) {
		c.Projects[0].AI = &AI{Streamer: streamer, Limiter: limiter}
	})
	for _, tc := range []struct {
		body   string
		status int
	}{
		{`not json`, 400},
		{`{"prompt":"A story","option":"rewrite"}`, 400},
		{`{"prompt":"A story","option":"continue","model":"gpt-4"}`, 400},
		{`{"prompt":"` + strings.Repeat("a", completion.MaxPromptBytes+1) + `","option":"continue"}`, 413},
	} {
		if status, _, got := env.post(t, "/outstatic/generate", env.key, tc.body); status != tc.status {
			t.Fatalf("%.40s: %d %q, want %d", tc.body, status, got, tc.status)
		}
	}
	if n := len(ai.Requests()); n != 0 {
		t.Fatalf("the endpoint was called %d times for refused bodies", n)
	}
	status, _, got := env.post(t, "/outstatic/generate", env.key, `{"prompt":"A story","option":"continue","command":""}`)
	if status != 200 || !strings.Contains(got, `"delta":"More words."`) {
		t.Fatalf("a good request after refused ones: %d %q", status, got)
	}
}
