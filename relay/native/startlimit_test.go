package native

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/relay/login"
)

// TestNativeStartLimit: past its burst one client IP gets 429 with a
// Retry-After from the start route, and nothing is sent to GitHub; another
// IP is not affected; a token comes back with time; off means no limit.
func TestNativeStartLimit(t *testing.T) {
	ip := "192.0.2.1"
	env := newNativeEnv(t, func(_ int, c *NativeConfig) {
		c.StartLimit = login.StartLimit{Burst: 3, Every: time.Minute}
		c.ClientIP = func(*http.Request) string { return ip }
	})
	_, out, _ := env.call(t, 0, "POST", "/outstatic/auth/github-exchange", env.key, map[string]string{"callback_url": nativeCallback})
	start := out["url"].(string)
	for i := range 3 {
		if status, loc := env.follow(t, start); status != http.StatusFound || !strings.HasPrefix(loc, env.gh.URL()) {
			t.Fatalf("start %d: %d %q", i+1, status, loc)
		}
	}
	res, err := env.client.Get(start)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") != "60" || res.Header.Get("Location") != "" {
		t.Fatalf("fourth start: %d, Retry-After %q, Location %q", res.StatusCode, res.Header.Get("Retry-After"), res.Header.Get("Location"))
	}
	ip = "192.0.2.2"
	if status, _ := env.follow(t, start); status != http.StatusFound {
		t.Fatalf("another IP: %d", status)
	}
	ip = "192.0.2.1"
	env.advance(time.Minute)
	if status, _ := env.follow(t, start); status != http.StatusFound {
		t.Fatalf("a minute later: %d", status)
	}
	if status, _ := env.follow(t, start); status != http.StatusTooManyRequests {
		t.Fatalf("then again: %d", status)
	}

	off := newNativeEnv(t, func(_ int, c *NativeConfig) { c.StartLimit = login.StartLimit{Burst: -1} })
	_, out, _ = off.call(t, 0, "POST", "/outstatic/auth/github-exchange", off.key, map[string]string{"callback_url": nativeCallback})
	for i := range 100 {
		if status, _ := off.follow(t, out["url"].(string)); status != http.StatusFound {
			t.Fatalf("start %d with the limit off: %d", i+1, status)
		}
	}
}
