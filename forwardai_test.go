package outstatic

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakeservice"
	"github.com/caddy-outstatic/caddy-outstatic/internal/testwait"
)

// Forward mode passes generate on to the service through real Caddy,
// mounted under a path, streamed both ways: the client reads the
// service's first event while the service still holds back the second,
// and the body reaches the service as the site sent it.
func TestForwardGenerateStreamsInCaddy(t *testing.T) {
	svc := fakeservice.NewCanned(t, testKey)
	second := make(chan struct{})
	secondOnce := func() {
		select {
		case <-second:
		default:
			close(second)
		}
	}
	defer secondOnce()
	gotBody := make(chan string, 1)
	svc.Hook("/outstatic/generate", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotBody <- string(b)
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("X-Vercel-Ai-Ui-Message-Stream", "v1")
		_, _ = io.WriteString(w, "data: {\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"one\"}\n\n")
		_ = http.NewResponseController(w).Flush()
		select {
		case <-second:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, "data: {\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"two\"}\n\ndata: [DONE]\n\n")
	})
	t.Setenv("TEST_SITE_KEY", testKey)
	storage := caddyStorage(t, "outstatic-fwd-ai-")

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
				upstream %[2]s
				api_key {env.TEST_SITE_KEY}
				callback_origin http://blog.localhost:9080/outstatic
			}
		}
	}
	`, storage, svc.Base())), "caddyfile")

	const body = `{"prompt":"A story","option":"continue","command":""}`
	req, _ := http.NewRequest("POST", ports("http://relay.localhost:9080/relay/outstatic/generate"), strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testKey)
	res, err := (&http.Client{Transport: caddytest.CreateTestingTransport()}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" || res.Header.Get("X-Vercel-Ai-Ui-Message-Stream") != "v1" {
		t.Fatalf("generate: %d %v", res.StatusCode, res.Header)
	}
	if got := <-gotBody; got != body {
		t.Fatalf("the service got %q", got)
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
	next := func(want string) {
		t.Helper()
		select {
		case l := <-lines:
			if !strings.Contains(l, want) {
				t.Fatalf("saw %q, want %q", l, want)
			}
		case <-time.After(testwait.Bound):
			t.Fatalf("no %q while the endpoint held the rest: the stream is buffered", want)
		}
	}
	next(`"delta":"one"`)
	secondOnce()
	next(`"delta":"two"`)
	next(`[DONE]`)
}
