package outstatic

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakeai"
	"github.com/caddy-outstatic/caddy-outstatic/internal/fakegithub"
	"github.com/caddy-outstatic/caddy-outstatic/internal/testwait"
	"github.com/caddy-outstatic/caddy-outstatic/relay"
)

// The native relay's AI completions through real Caddy, mounted under a
// path: the key names the project, the project's own ai block replaces the
// relay's, a free project is refused with a text the dashboard shows, the
// per-project rate applies, and the stream is not buffered anywhere in
// Caddy: the client reads the first piece while the endpoint still holds
// back the second.
func TestNativeGenerateInCaddy(t *testing.T) {
	gh := fakegithub.New("relay-client", "relay-secret", fakegithub.User{Login: "ada", ID: 1})
	gh.Start()
	defer gh.Close()
	second := make(chan struct{})
	shared := fakeai.New(fakeai.Reply{Done: true, Chunks: []fakeai.Chunk{
		{Content: "Once upon"}, {Content: " a time", Wait: second}, {Finish: "stop"}}})
	defer shared.Close()
	own := fakeai.New(fakeai.Reply{Done: true, Chunks: []fakeai.Chunk{{Content: "Docs."}, {Finish: "stop"}}})
	defer own.Close()
	keys := map[string]string{}
	hashes := map[string]string{}
	for _, p := range []string{"blog", "docs", "free"} {
		key, hash, _, err := relay.NewKey()
		if err != nil {
			t.Fatal(err)
		}
		keys[p], hashes[p] = key, hash
	}
	t.Setenv("TEST_GH_SECRET", "relay-secret")
	t.Setenv("TEST_RELAY_SECRET", strings.Repeat("x", 40))
	t.Setenv("TEST_AI_KEY", "sk-test-secret")

	storage := caddyStorage(t, "outstatic-ai-")

	tester := newTester(t)
	tester.InitServer(ports(fmt.Sprintf(`
	{
		admin localhost:2999
		http_port 9080
		https_port 9443
		grace_period 1ns
		skip_install_trust
		storage file_system %[1]s
	}
	http://relay.localhost:9080 {
		handle_path /relay/* {
			outstatic_relay {
				public_url http://relay.localhost:9080/relay
				project blog {
					callback_origin http://blog.localhost:9080/outstatic
					repo acme/blog
					key_sha256 %[3]s
				}
				project docs {
					callback_origin http://docs.localhost:9080/outstatic
					repo acme/docs
					key_sha256 %[4]s
					ai {
						base_url %[7]s
						model docs-model
						rate 2/1h
					}
				}
				project free {
					callback_origin http://free.localhost:9080/outstatic
					repo acme/free
					plan free
					key_sha256 %[5]s
				}
				github {
					client_id relay-client
					client_secret {env.TEST_GH_SECRET}
					api_url %[2]s
				}
				secret {env.TEST_RELAY_SECRET}
				ai {
					base_url %[6]s
					api_key {env.TEST_AI_KEY}
					model shared-model
				}
			}
		}
	}
	`, storage, gh.APIURL(), hashes["blog"], hashes["docs"], hashes["free"], shared.BaseURL, own.BaseURL)), "caddyfile")

	client := &http.Client{Transport: caddytest.CreateTestingTransport()}
	generate := func(key string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("POST", ports("http://relay.localhost:9080/relay/outstatic/generate"),
			bytes.NewReader([]byte(`{"prompt":"Tell a story","option":"continue","command":""}`)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	text := func(res *http.Response) string {
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}

	// the stream, event by event, while the endpoint holds back its second piece
	res := generate(keys["blog"])
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" ||
		res.Header.Get("X-Vercel-Ai-Ui-Message-Stream") != "v1" {
		t.Fatalf("generate: %d %v", res.StatusCode, res.Header)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			if sc.Text() != "" {
				lines <- sc.Text()
			}
		}
	}()
	var seen []string
	next := func(want string) {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the stream ended; saw %q, want %q next", seen, want)
			}
			seen = append(seen, l)
			if !strings.Contains(l, want) {
				t.Fatalf("saw %q, want %q", l, want)
			}
		case <-time.After(testwait.Bound):
			close(second)
			t.Fatalf("no %q while the endpoint held the rest: the stream is buffered (saw %q)", want, seen)
		}
	}
	next(`"type":"start"`)
	next(`"type":"text-start"`)
	// The endpoint holds its second piece until second is closed: the
	// first delta got here while it was held, so nothing buffered it.
	next(`"delta":"Once upon"`)
	close(second)
	next(`"delta":" a time"`)
	next(`"type":"text-end"`)
	next(`"type":"finish"`)
	next(`[DONE]`)
	res.Body.Close()
	reqs := shared.Requests()
	if len(reqs) != 1 || reqs[0].Model != "shared-model" || reqs[0].Authorization != "Bearer sk-test-secret" || !reqs[0].Stream {
		t.Fatalf("the endpoint was asked %+v", reqs)
	}

	// the project's own block, and its rate: two, then a text the dashboard shows
	for i := 0; i < 2; i++ {
		if res := generate(keys["docs"]); res.StatusCode != 200 || !strings.Contains(text(res), `"delta":"Docs."`) {
			t.Fatalf("docs generate %d: %d", i, res.StatusCode)
		}
	}
	if got := own.Requests(); len(got) != 2 || got[0].Model != "docs-model" || got[0].Authorization != "" {
		t.Fatalf("the docs endpoint was asked %+v", got)
	}
	res = generate(keys["docs"])
	if body := text(res); res.StatusCode != 429 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") ||
		!strings.Contains(body, "Too many AI requests") {
		t.Fatalf("over the rate: %d %q", res.StatusCode, body)
	}
	if len(own.Requests()) != 2 {
		t.Fatal("a refused completion reached the endpoint")
	}

	// a free project: 403 with a sentence, not a JSON code
	res = generate(keys["free"])
	if body := text(res); res.StatusCode != 403 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") ||
		body != "AI completions need the Pro plan for this project." {
		t.Fatalf("free project: %d %q", res.StatusCode, body)
	}
	// a bad key: the protocol's 401
	res = generate("ost_" + strings.Repeat("A", 43))
	if body := text(res); res.StatusCode != 401 || body != `{"error":"invalid-api-key"}` {
		t.Fatalf("bad key: %d %q", res.StatusCode, body)
	}
	if len(shared.Requests()) != 1 {
		t.Fatal("a refused completion reached the shared endpoint")
	}

	// the scan, until the relay has a GitHub App: 501 with a {message}
	req, _ := http.NewRequest("POST", ports("http://relay.localhost:9080/relay/outstatic/scan"),
		strings.NewReader(`{"projectId":"blog","branch":"main"}`))
	req.Header.Set("Authorization", "Bearer "+keys["blog"])
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if body := text(res); res.StatusCode != 501 || body != `{"message":"scan needs the relay's github_app"}`+"\n" {
		t.Fatalf("scan: %d %q", res.StatusCode, body)
	}
}
