package outstatic

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakeservice"
	"github.com/caddy-outstatic/caddy-outstatic/internal/faulty"
	"github.com/caddy-outstatic/caddy-outstatic/internal/testwait"
)

// zeroReader is an endless body that costs the sender no memory. read,
// when set, counts the bytes taken from it.
type zeroReader struct{ read *atomic.Int64 }

func (z zeroReader) Read(p []byte) (int, error) {
	clear(p)
	if z.read != nil {
		z.read.Add(int64(len(p)))
	}
	return len(p), nil
}

// faultKey is the key of TestServiceFaultsInCaddy, marked for the search
// of the logs (secrets_test.go).
const faultKey = "ost_SECRETMARKfault_0123456789abcdef"

// TestServiceFaultsInCaddy puts the service behind a fault injector and
// runs, in real Caddy, the guard (its key check) and a forward relay (its
// upstream) through every fault: slow past the timeouts, hung, reset,
// 500, malformed JSON, a 100 MB body. Every request ends with the
// documented answer, by the timeouts when the service is slow (it would
// answer after an hour) or hangs: the guard keeps the last good
// verdict (stale within stale_grace) and passes pages through with the
// Pro flags, the relay answers the site's key check from the same cache
// and refuses forwarded calls with 502 service-unavailable (or passes the
// service's own 500 on); a definite 401 then drops the verdict at once;
// and the goroutines come back to where they were.
func TestServiceFaultsInCaddy(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Caddy through every fault")
	}
	const key = faultKey
	svc := fakeservice.New(key, true, ports("http://blog.localhost:9080/outstatic"))
	up := faulty.New(http.StripPrefix("/api", svc))
	up.Delay = time.Hour // past every timeout below: only they end a slow call
	t.Cleanup(up.Close)
	t.Cleanup(svc.Release)
	svc.BaseURL = up.URL + "/api"
	t.Setenv("FAULT_TEST_KEY", key)

	tester := newTester(t)
	tester.InitServer(ports(fmt.Sprintf(`
	{
		admin localhost:2999
		http_port 9080
		https_port 9443
		grace_period 1ns
		skip_install_trust
	}
	http://blog.localhost:9080 {
		outstatic {
			callback_origin http://blog.localhost:9080/outstatic
			api_key {env.FAULT_TEST_KEY}
			service %[1]s/api
			cache_ttl 1s
			negative_ttl 500ms
			stale_grace 1h
			check_timeout 500ms
		}
		respond "pro={http.request.header.X-Outstatic-Pro}"
	}
	http://relay.localhost:9080 {
		outstatic_relay {
			upstream %[1]s/api
			api_key {env.FAULT_TEST_KEY}
			callback_origin http://blog.localhost:9080/outstatic
			response_timeout 1s
			cache_ttl 1s
			negative_ttl 500ms
			stale_grace 1h
			check_timeout 500ms
		}
	}
	`, up.URL)), "caddyfile")
	client := &http.Client{Transport: caddytest.CreateTestingTransport(), Timeout: testwait.Bound}
	do := func(method, u, body string) (int, string) {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, ports(u), rd)
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, u, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		return res.StatusCode, string(b)
	}
	page := func() string {
		_, body := do("GET", "http://blog.localhost:9080/blog/post", "")
		return body
	}
	exchange := ports(`{"callback_url":"http://blog.localhost:9080/api/outstatic/callback"}`)

	// healthy: the verdict is Pro everywhere
	if got := page(); got != "pro=true" {
		t.Fatalf("healthy page: %q", got)
	}
	if status, body := do("POST", "http://relay.localhost:9080/outstatic/auth/github-exchange", exchange); status != 200 {
		t.Fatalf("healthy github-exchange: %d %s", status, body)
	}
	// a definite 401 drops the verdict at once, with or without faults
	svc.SetMode(fakeservice.Unauth)
	time.Sleep(1200 * time.Millisecond) // past cache_ttl: the next page asks again
	testwait.Until(t, "the guard dropping the Pro flags after the service said 401", func() bool { return page() == "pro=" })
	if status, body := do("GET", "http://relay.localhost:9080/outstatic/project", ""); status != 401 || body != `{"error":"invalid-api-key"}` {
		t.Fatalf("the site's key check after a 401: %d %s", status, body)
	}
	svc.SetMode(fakeservice.Normal)
	testwait.Until(t, "the guard taking the key back once the service accepted it", func() bool { return page() == "pro=true" })
	before := testwait.Running()

	for _, f := range faulty.All {
		t.Run(f.String(), func(t *testing.T) {
			up.Set(f)
			defer up.Set(faulty.None)
			time.Sleep(1200 * time.Millisecond) // past cache_ttl: every lookup wants a check
			for range 3 {
				if got := page(); got != "pro=true" {
					t.Errorf("page during %s: %q (want the stale Pro verdict)", f, got)
				}
				status, body := do("GET", "http://relay.localhost:9080/outstatic/project", "")
				if status != 200 || !strings.Contains(body, `"is_pro":true`) {
					t.Errorf("the site's key check during %s: %d %.80s", f, status, body)
				}
			}
			gaveUp := up.GaveUp()
			status, body := do("POST", "http://relay.localhost:9080/outstatic/auth/github-exchange", exchange)
			want := map[faulty.Fault]int{faulty.Slow: 502, faulty.Hang: 502, faulty.Reset: 502, faulty.Status500: 500,
				faulty.Malformed: 200, faulty.Huge: 200}[f]
			if status != want {
				t.Errorf("github-exchange during %s: %d %.80s; want %d", f, status, body, want)
			}
			if f == faulty.Slow || f == faulty.Hang {
				testwait.Until(t, "the service seeing Caddy leave the calls it holds", func() bool { return up.GaveUp() > gaveUp })
			}
			if want == 502 && body != `{"error":"service-unavailable"}` {
				t.Errorf("github-exchange during %s: body %.80s", f, body)
			}
		})
	}
	// the idle connections to the service are kept for the next call, not
	// left behind: close them, and what remains is what the faults left
	client.CloseIdleConnections()
	up.CloseClientConnections()
	before.Ended(t, 2)

	// 100 MB bodies on the forward relay's POST endpoints: the ones it
	// checks (every one with a callback or an exchange token) are refused
	// at once with 413 request-too-large; the others (refresh-token,
	// generate, scan, the parser, media) stream to the service, which
	// sets its own limits.
	for path, want := range map[string]int{
		"/outstatic/auth/github-exchange":      413,
		"/outstatic/auth/google-exchange":      413,
		"/outstatic/auth/request-magic-link":   413,
		"/outstatic/auth/exchange-token":       413,
		"/outstatic/auth/validate-github-user": 413,
	} {
		var read atomic.Int64
		req, _ := http.NewRequest("POST", ports("http://relay.localhost:9080")+path, io.LimitReader(zeroReader{&read}, 100<<20))
		req.ContentLength = 100 << 20
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			t.Errorf("%s with 100 MB: %v", path, err)
			continue
		}
		body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		res.Body.Close()
		if res.StatusCode != want || string(body) != `{"error":"request-too-large"}` {
			t.Errorf("%s with 100 MB: %d %s; want %d", path, res.StatusCode, body, want)
		}
		// at once: the answer came before the client had sent it all
		if n := read.Load(); n >= 100<<20 {
			t.Errorf("%s with 100 MB: answered only once all of it was sent", path)
		}
	}

}
