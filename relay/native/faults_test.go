package native

import (
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/faulty"
	"github.com/caddy-outstatic/caddy-outstatic/internal/testwait"
)

// TestNativeGitHubFaults puts GitHub's API behind a fault injector and
// runs the two steps that call it through every fault: GitHub's return
// (the user lookup) and the parser. Each ends by the relay's own doing:
// the login goes back to the site with ?error=missing-user-data, the
// parser answers 502 service-unavailable when GitHub gives no answer and
// passes GitHub's own answer on (at most 32 MB of it) when it gives one.
// When GitHub is slow or hangs, GitHub sees the relay give up (its client
// timeout, 1s here, holds: GitHub would answer only after an hour); of a
// 100 MB answer the relay passes on at most 32 MB and stops reading, so
// GitHub never gets to write it all; and no goroutine is left behind.
func TestNativeGitHubFaults(t *testing.T) {
	var gh *faulty.Server
	env := newNativeEnv(t, func(_ int, c *NativeConfig) {
		if gh == nil {
			real, _ := url.Parse(c.GitHub.BaseURL)
			proxy := httputil.NewSingleHostReverseProxy(real)
			proxy.ErrorLog = log.New(io.Discard, "", 0) // canceled calls are the point
			gh = faulty.New(proxy)
			gh.Delay = time.Hour // only the relay's giving up ends a slow call
			t.Cleanup(gh.Close)
		}
		swap := func(u string) string { return gh.URL + strings.TrimPrefix(u, c.GitHub.BaseURL) }
		// the browser's authorize page stays where it is; every call the
		// relay makes to GitHub's API goes through the faults
		c.GitHub.APIURL, c.GitHub.GraphQLURL = swap(c.GitHub.APIURL), swap(c.GitHub.GraphQLURL)
		c.Client = &http.Client{Timeout: time.Second}
	})
	env.client.Timeout = testwait.Bound // a relay that never answers fails the test, not hangs it
	token := tokenOf(t, env.login(t, 0))
	_, out, _ := env.call(t, 0, "POST", "/outstatic/auth/exchange-token", "", map[string]string{"exchange_token": token, "callback_url": nativeCallback})
	p := &parserEnv{nativeEnv: env, access: out["session"].(map[string]any)["access_token"].(string)}
	query := string(gqlBody(t, "GetRepoInfo", dashboardDocs(t)["GetRepoInfo"], map[string]any{"owner": "acme", "name": "blog"}))
	if status, body := p.parser(t, query); status != 200 {
		t.Fatalf("healthy parser: %d %.200s", status, body)
	}
	env.client.CloseIdleConnections()
	before := testwait.Running()

	// cut says whether the relay must be seen leaving GitHub's answer
	// unfinished: it gives up on a slow or hung GitHub, and stops reading
	// a huge answer.
	cut := map[faulty.Fault]bool{faulty.Slow: true, faulty.Hang: true, faulty.Huge: true}
	for _, f := range faulty.All {
		t.Run(f.String(), func(t *testing.T) {
			// sent to GitHub while it works, back from it during the fault
			_, out, _ := env.call(t, 0, "POST", "/outstatic/auth/github-exchange", env.key, map[string]string{"callback_url": nativeCallback})
			_, authorize := env.follow(t, out["url"].(string))
			_, back := env.follow(t, authorize)
			gh.Set(f)
			defer gh.Set(faulty.None)
			gaveUp := gh.GaveUp()
			status, final := env.follow(t, back)
			if status != http.StatusFound || final != nativeCallback+"?error=missing-user-data" {
				t.Errorf("GitHub's return during %s: %d to %q", f, status, final)
			}
			if cut[f] {
				testwait.Until(t, "GitHub sees the relay leave the user lookup during "+f.String(), func() bool { return gh.GaveUp() > gaveUp })
			}

			gaveUp, sent := gh.GaveUp(), gh.HugeSent()
			status, body := p.parser(t, query)
			want := map[faulty.Fault]int{faulty.Slow: 502, faulty.Hang: 502, faulty.Reset: 502, faulty.Status500: 500,
				faulty.Malformed: 200, faulty.Huge: 200}[f]
			if status != want || len(body) > 32<<20 {
				t.Errorf("parser during %s: %d, %d bytes; want %d, at most 32 MB", f, status, len(body), want)
			}
			if want == 502 && body != `{"error":"service-unavailable"}` {
				t.Errorf("parser during %s: %.100s", f, body)
			}
			if cut[f] {
				testwait.Until(t, "GitHub sees the relay leave the parser's call during "+f.String(), func() bool { return gh.GaveUp() > gaveUp })
			}
			// What GitHub wrote of its 100 MB: the 32 MB the relay passes
			// on, and what the buffers between them hold when it stops.
			if read := gh.HugeSent() - sent; f == faulty.Huge && read > 64<<20 {
				t.Errorf("the relay read %d MB of a 100 MB answer, want at most 32 MB and the buffers", read>>20)
			}
		})
	}
	env.client.CloseIdleConnections()
	// the relay's client to GitHub is the default one: its idle
	// connections are not left behind, only kept for the next call
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	before.Ended(t, 2)
}
