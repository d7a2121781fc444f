package outstatic

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testproc"
	"github.com/caddy-outstatic/caddy-outstatic/internal/testwait"
	"github.com/caddy-outstatic/caddy-outstatic/relay"
)

// TestGuardLearnsOriginsAcrossProcesses runs the built Caddy twice on one
// machine: a guard with no callback_origin, started first, and a native
// relay, its service. Until the relay answers, the guard refuses the auth
// routes and says it waits for the relay; then it accepts the project's
// configured origin, an origin added with `caddy outstatic origin add` on
// the relay within its verdict's refresh (cache_ttl 1s), for the Host check
// and the logins it starts, and refuses that origin again once it is
// removed through the relay's admin API.
func TestGuardLearnsOriginsAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs caddy")
	}
	bin := caddyBinary(t)
	gh := adaGitHub()
	gh.Start()
	t.Cleanup(gh.Close)
	key, hash, _, err := relay.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	relayPort, relayAdmin := freeLoopbackPort(), freeLoopbackPort()
	guardPort, guardAdmin := freeLoopbackPort(), freeLoopbackPort()
	relayURL := fmt.Sprintf("http://127.0.0.1:%d", relayPort)

	start := func(name, cfg string, env ...string) *testproc.Proc {
		t.Helper()
		home := t.TempDir()
		path := filepath.Join(home, "Caddyfile")
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		p := testproc.Start(t, name, home, append(testproc.BaseEnv(home), env...), bin, "run", "--config", path, "--adapter", "caddyfile")
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("%s's output (end):\n%s", name, p.Tail(6000))
			}
		})
		return p
	}
	global := func(admin int) string {
		return fmt.Sprintf(`{
	admin 127.0.0.1:%d
	default_bind 127.0.0.1
	auto_https off
	persist_config off
	grace_period 1s
}`, admin)
	}

	guard := start("guard", global(guardAdmin)+fmt.Sprintf(`
http://:%d {
	outstatic {
		api_key {env.TEST_GUARD_KEY}
		service %s
		cache_ttl 1s
		negative_ttl 1s
	}
	respond "site"
}
`, guardPort, relayURL), "TEST_GUARD_KEY="+key)
	guard.WaitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/", guardPort), testwait.Bound, nil, nil)

	client := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(host, path string, header ...string) siteAnswer {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d%s", guardPort, path), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = fmt.Sprintf("%s:%d", host, guardPort)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return siteAnswer{res.StatusCode, strings.TrimSpace(string(b))}
	}
	user := func(host string) siteAnswer { return get(host, "/api/outstatic/user") }

	// no relay yet
	if a := user("blog.localhost"); a.status != 400 || a.code() != "project-url-not-configured" {
		t.Fatalf("before the relay answers: %d %s", a.status, a.body)
	}
	testwait.Until(t, "the guard's log says it waits for the relay", func() bool {
		return strings.Contains(guard.Output(), "waiting for the relay")
	})

	blog := fmt.Sprintf("http://blog.localhost:%d/outstatic", guardPort)
	preview := fmt.Sprintf("http://preview.localhost:%d/outstatic", guardPort)
	rl := start("relay", global(relayAdmin)+fmt.Sprintf(`
%s {
	%s
}
`, relayURL, blogRelay(relayURL, blog, hash, gh)), "TEST_GH_SECRET=relay-secret", "TEST_RELAY_SECRET="+strings.Repeat("x", 40))
	rl.WaitHTTP(t, relayURL+"/outstatic/project", testwait.Bound, nil, nil)

	testwait.Until(t, "the guard accepts the relay's configured origin", func() bool { return user("blog.localhost").body == "site" })
	if a := user("preview.localhost"); a.code() != "invalid-callback-domain" {
		t.Fatalf("an origin the relay does not have: %d %s", a.status, a.body)
	}

	cli := exec.Command(bin, "outstatic", "origin", "add", preview, "--project", "blog", "--address", fmt.Sprintf("127.0.0.1:%d", relayAdmin))
	cli.Env = testproc.BaseEnv(t.TempDir())
	if out, err := cli.CombinedOutput(); err != nil {
		t.Fatalf("caddy outstatic origin add: %v\n%s", err, out)
	}
	testwait.Until(t, "the guard accepts the origin added on the relay", func() bool { return user("preview.localhost").body == "site" })
	a := get("preview.localhost", "/api/outstatic/login", loginStart...)
	var started struct{ URL string }
	if err := json.Unmarshal([]byte(a.body), &started); err != nil || a.status != 200 || !strings.HasPrefix(started.URL, relayURL+"/outstatic/auth/github/start?") {
		t.Fatalf("a login started on the added origin: %d %s", a.status, a.body)
	}

	res, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/outstatic/origins/blog/remove?origin=%s", relayAdmin, url.QueryEscape(preview)), "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("origin remove: %d", res.StatusCode)
	}
	testwait.Until(t, "the guard refuses the origin removed on the relay", func() bool {
		return user("preview.localhost").code() == "invalid-callback-domain"
	})
	if a := get("preview.localhost", "/api/outstatic/login", loginStart...); a.code() != "invalid-callback-domain" {
		t.Fatalf("a login started on the removed origin: %d %s", a.status, a.body)
	}
	if user("blog.localhost").body != "site" {
		t.Fatal("the configured origin is refused after the removal")
	}
	for _, p := range []*testproc.Proc{guard, rl} {
		if out := p.Output(); strings.Contains(out, key) || strings.Contains(out, "relay-secret") {
			t.Errorf("%s logged a secret", p.Name)
		}
	}
}
