package native

import (
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/faulty"
)

// TestNativeGitHubFaults puts GitHub's API behind a fault injector and
// runs the two steps that call it through every fault: GitHub's return
// (the user lookup) and the parser. Each ends within the relay's client
// timeout (1s here): the login goes back to the site with
// ?error=missing-user-data, the parser answers 502 service-unavailable
// when GitHub gives no answer and passes GitHub's own answer on (at most
// 32 MB of it) when it gives one; and no goroutine is left behind.
func TestNativeGitHubFaults(t *testing.T) {
	var gh *faulty.Server
	env := newNativeEnv(t, func(_ int, c *NativeConfig) {
		if gh == nil {
			real, _ := url.Parse(c.GitHub.BaseURL)
			proxy := httputil.NewSingleHostReverseProxy(real)
			proxy.ErrorLog = log.New(io.Discard, "", 0) // canceled calls are the point
			gh = faulty.New(proxy)
			gh.Delay = 3 * time.Second
			t.Cleanup(gh.Close)
		}
		swap := func(u string) string { return gh.URL + strings.TrimPrefix(u, c.GitHub.BaseURL) }
		// the browser's authorize page stays where it is; every call the
		// relay makes to GitHub's API goes through the faults
		c.GitHub.APIURL, c.GitHub.GraphQLURL = swap(c.GitHub.APIURL), swap(c.GitHub.GraphQLURL)
		c.Client = &http.Client{Timeout: time.Second}
	})
	token := tokenOf(t, env.login(t, 0))
	_, out, _ := env.call(t, 0, "POST", "/outstatic/auth/exchange-token", "", map[string]string{"exchange_token": token, "callback_url": nativeCallback})
	p := &parserEnv{nativeEnv: env, access: out["session"].(map[string]any)["access_token"].(string)}
	query := string(gqlBody(t, "GetRepoInfo", dashboardDocs(t)["GetRepoInfo"], map[string]any{"owner": "acme", "name": "blog"}))
	if status, body := p.parser(t, query); status != 200 {
		t.Fatalf("healthy parser: %d %.200s", status, body)
	}
	env.client.CloseIdleConnections()
	baseline := steadyGoroutines()

	for _, f := range faulty.All {
		t.Run(f.String(), func(t *testing.T) {
			// sent to GitHub while it works, back from it during the fault
			_, out, _ := env.call(t, 0, "POST", "/outstatic/auth/github-exchange", env.key, map[string]string{"callback_url": nativeCallback})
			_, authorize := env.follow(t, out["url"].(string))
			_, back := env.follow(t, authorize)
			gh.Set(f)
			defer gh.Set(faulty.None)
			began := time.Now()
			status, final := env.follow(t, back)
			if took := time.Since(began); took > 1500*time.Millisecond {
				t.Errorf("GitHub's return during %s took %v", f, took)
			}
			if status != http.StatusFound || final != nativeCallback+"?error=missing-user-data" {
				t.Errorf("GitHub's return during %s: %d to %q", f, status, final)
			}

			began = time.Now()
			status, body := p.parser(t, query)
			took := time.Since(began)
			want := map[faulty.Fault]int{faulty.Slow: 502, faulty.Hang: 502, faulty.Reset: 502, faulty.Status500: 500,
				faulty.Malformed: 200, faulty.Huge: 200}[f]
			if status != want || took > 1500*time.Millisecond || len(body) > 32<<20 {
				t.Errorf("parser during %s: %d, %d bytes in %v; want %d within the timeout", f, status, len(body), took, want)
			}
			if want == 502 && body != `{"error":"service-unavailable"}` {
				t.Errorf("parser during %s: %.100s", f, body)
			}
		})
	}
	env.client.CloseIdleConnections()
	if n := settled(baseline + 2); n > baseline+2 {
		t.Errorf("goroutines: %d before the faults, %d after", baseline, n)
	}
}

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

// settled waits up to 5s for the goroutine count to come back to at most
// want, and returns the last count.
func settled(want int) int {
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(5 * time.Second); n > want && time.Now().Before(deadline); n = runtime.NumGoroutine() {
		time.Sleep(50 * time.Millisecond)
	}
	return n
}
