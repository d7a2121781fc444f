package outstatic

import (
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakeservice"
	"github.com/caddy-outstatic/caddy-outstatic/internal/faulty"
)

// steadyGoroutines is the goroutine count once it has not changed for
// 300ms (at most 3s): the baseline, with connections of the warm-up gone.
func steadyGoroutines() int {
	n, since := runtime.NumGoroutine(), time.Now()
	for deadline := time.Now().Add(3 * time.Second); time.Since(since) < 300*time.Millisecond && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		if m := runtime.NumGoroutine(); m != n {
			n, since = m, time.Now()
		}
	}
	return n
}

// zeroReader is an endless body that costs the sender no memory.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// faultKey is the key of TestServiceFaultsInCaddy, marked for the search
// of the logs (secrets_test.go).
const faultKey = "ost_SECRETMARKfault_0123456789abcdef"

// settledGoroutines waits up to 5s for the goroutine count to come back
// to at most want, and returns the last count.
func settledGoroutines(want int) int {
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(5 * time.Second); n > want && time.Now().Before(deadline); n = runtime.NumGoroutine() {
		time.Sleep(50 * time.Millisecond)
	}
	return n
}

// TestServiceFaultsInCaddy puts the service behind a fault injector and
// runs, in real Caddy, the guard (its key check) and a forward relay (its
// upstream) through every fault: slow past the timeouts, hung, reset,
// 500, malformed JSON, a 100 MB body. Every request ends within its
// timeout with the documented answer: the guard keeps the last good
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
	up.Delay = 3 * time.Second // past every timeout below
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
	client := &http.Client{Transport: caddytest.CreateTestingTransport(), Timeout: 10 * time.Second}
	do := func(method, u, body string) (int, string, time.Duration) {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, ports(u), rd)
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		began := time.Now()
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, u, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		return res.StatusCode, string(b), time.Since(began)
	}
	page := func() string {
		_, body, took := do("GET", "http://blog.localhost:9080/blog/post", "")
		if took > time.Second {
			t.Errorf("a page waited %v on the key check", took)
		}
		return body
	}
	exchange := ports(`{"callback_url":"http://blog.localhost:9080/api/outstatic/callback"}`)

	// healthy: the verdict is Pro everywhere
	if got := page(); got != "pro=true" {
		t.Fatalf("healthy page: %q", got)
	}
	if status, body, _ := do("POST", "http://relay.localhost:9080/outstatic/auth/github-exchange", exchange); status != 200 {
		t.Fatalf("healthy github-exchange: %d %s", status, body)
	}
	// a definite 401 drops the verdict at once, with or without faults
	svc.SetMode(fakeservice.Unauth)
	time.Sleep(1200 * time.Millisecond)
	deadline := time.Now().Add(3 * time.Second)
	for page() != "pro=" {
		if time.Now().After(deadline) {
			t.Fatal("the guard kept the Pro flags 3s after the service said 401")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if status, body, _ := do("GET", "http://relay.localhost:9080/outstatic/project", ""); status != 401 || body != `{"error":"invalid-api-key"}` {
		t.Fatalf("the site's key check after a 401: %d %s", status, body)
	}
	svc.SetMode(fakeservice.Normal)
	for page() != "pro=true" {
		if time.Now().After(deadline.Add(3 * time.Second)) {
			t.Fatal("the guard did not take the key back once the service accepted it")
		}
		time.Sleep(50 * time.Millisecond)
	}
	baseline := steadyGoroutines()

	for _, f := range faulty.All {
		t.Run(f.String(), func(t *testing.T) {
			up.Set(f)
			defer up.Set(faulty.None)
			time.Sleep(1200 * time.Millisecond) // past cache_ttl: every lookup wants a check
			for range 3 {
				if got := page(); got != "pro=true" {
					t.Errorf("page during %s: %q (want the stale Pro verdict)", f, got)
				}
				status, body, took := do("GET", "http://relay.localhost:9080/outstatic/project", "")
				if status != 200 || !strings.Contains(body, `"is_pro":true`) || took > time.Second {
					t.Errorf("the site's key check during %s: %d %.80s in %v", f, status, body, took)
				}
			}
			status, body, took := do("POST", "http://relay.localhost:9080/outstatic/auth/github-exchange", exchange)
			want := map[faulty.Fault]int{faulty.Slow: 502, faulty.Hang: 502, faulty.Reset: 502, faulty.Status500: 500,
				faulty.Malformed: 200, faulty.Huge: 200}[f]
			if status != want || took > 2*time.Second {
				t.Errorf("github-exchange during %s: %d %.80s in %v; want %d within 2s", f, status, body, took, want)
			}
			if want == 502 && body != `{"error":"service-unavailable"}` {
				t.Errorf("github-exchange during %s: body %.80s", f, body)
			}
		})
	}
	if n := settledGoroutines(baseline + 2); n > baseline+2 {
		t.Errorf("goroutines: %d before the faults, %d after", baseline, n)
	}

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
		req, _ := http.NewRequest("POST", ports("http://relay.localhost:9080")+path, io.LimitReader(zeroReader{}, 100<<20))
		req.ContentLength = 100 << 20
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		began := time.Now()
		res, err := client.Do(req)
		if err != nil {
			t.Errorf("%s with 100 MB: %v", path, err)
			continue
		}
		body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		res.Body.Close()
		if res.StatusCode != want || string(body) != `{"error":"request-too-large"}` || time.Since(began) > 5*time.Second {
			t.Errorf("%s with 100 MB: %d %s in %v; want %d at once", path, res.StatusCode, body, time.Since(began), want)
		}
	}

}
