//go:build e2e

// Package e2e runs the stock Outstatic site (testdata/stock-site, unmodified)
// behind a Caddy built from this repository, and drives it with a real
// headless Chromium: a relay login from the sign-in page to the Pro
// dashboard, then the guard's defences against the real client. Run it with
// bash scripts/e2e.sh, which installs and builds the site first; it needs
// node and chromium, and fails without them.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// setUp starts everything on 127.0.0.1: the backend, the header echo, the
// stock site and Caddy (built from this repository), in that order of
// need. Caddy is built while the site starts.
func setUp(t *testing.T) *stack {
	t.Helper()
	root := repoRoot(t)
	if _, err := exec.LookPath("node"); err != nil {
		// A browser test that cannot run must fail, not pass unseen.
		t.Fatal("node is not installed: the stock site needs it (scripts/e2e.sh checks for it)")
	}
	s := &stack{key: newKey(), caddyPort: freePort(t), adminPort: freePort(t), sitePort: freePort(t)}
	s.public = fmt.Sprintf("http://%s:%d", publicHost, s.caddyPort)
	s.evil = fmt.Sprintf("http://%s:%d", evilHost, s.caddyPort)
	s.relay = fmt.Sprintf("http://127.0.0.1:%d", s.caddyPort)
	s.backend = newForwardBackend(t, s.key, s.public)
	s.echo = newEcho(t)

	// No t method runs in the goroutine: the test may end before it does.
	type built struct {
		bin  string
		err  error
		took time.Duration
	}
	done := make(chan built, 1)
	// a cold build cache takes minutes on two cores
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	t.Cleanup(cancel)
	binDir := t.TempDir()
	go func() {
		start := time.Now()
		bin, err := buildCaddy(ctx, root, binDir)
		done <- built{bin, err, time.Since(start)}
	}()
	start := time.Now()
	startSite(t, filepath.Join(root, "testdata", "stock-site"), s.sitePort, s.siteEnv())
	t.Logf("site start: %s", time.Since(start).Round(time.Millisecond))
	b := <-done
	if b.err != nil {
		t.Fatal(b.err)
	}
	t.Logf("caddy build: %s", b.took.Round(time.Millisecond))
	logFile := filepath.Join(t.TempDir(), "caddy-log.json")
	caddy := startCaddy(t, b.bin, s.caddyfile(logFile), s.relay+"/", []string{"OUTSTATIC_E2E_KEY=" + s.key})
	t.Cleanup(func() {
		if t.Failed() {
			data, _ := os.ReadFile(logFile)
			if len(data) > 6000 {
				data = data[len(data)-6000:]
			}
			t.Logf("caddy's log (end):\n%s\ncaddy's output:\n%s", data, caddy.tail(2000))
		}
	})
	return s
}

// TestStockSiteInBrowser is the end-to-end test: one browser run, from the
// sign-in page to the dashboard, then the defences.
func TestStockSiteInBrowser(t *testing.T) {
	s := setUp(t)
	browser := newBrowser(t)
	tab := newBrowserContext(t, browser)
	traffic := recordNetwork(t, tab)
	var firstCallback, accessToken string

	must := func(name string, f func(t *testing.T)) {
		if !t.Run(name, f) {
			t.FailNow()
		}
	}

	must("sign-in page, Pro", func(t *testing.T) {
		run(t, tab, "opening the sign-in page", chromedp.Navigate(s.public+"/outstatic"))
		waitForText(t, tab, "Sign in with GitHub", "Sign in with Google", "Send Magic Link")
		// Pro: Google is a link and no PRO or FREE badge is shown
		// (FACTS.md §7); the site learned it through the relay's key check.
		google := eval[bool](t, tab, "reading the sign-in page", `!!document.querySelector('a[href="/api/outstatic/google-login"]')`)
		badges := eval[bool](t, tab, "looking for badges", badgeJS)
		if !google || badges {
			t.Fatalf("the sign-in page is not Pro: google link %v, badges %v\n%s", google, badges, pageState(tab))
		}
	})

	must("login through the relay", func(t *testing.T) {
		starts := s.backend.count("/outstatic/auth/github-exchange")
		waitHydrated(t, tab, `a[href="/api/outstatic/login"]`)
		run(t, tab, "clicking Sign in with GitHub", chromedp.Click(chromedp.CSS(`a[href="/api/outstatic/login"]`)))
		waitForURL(t, tab, s.public+"/outstatic")
		waitForText(t, tab, "Dashboard", "Libraries", "Media Library", "Collections", "Posts", "Singletons", "acme", "blog", "main")
		if n := s.backend.count("/outstatic/auth/github-exchange") - starts; n != 1 {
			t.Errorf("the click started %d logins, want 1", n)
		}
		// the browser went to the provider and came back to the public callback
		docs := traffic.find(func(x *exchange) bool { return x.Type == "Document" })
		provider := false
		for _, x := range docs {
			provider = provider || strings.HasPrefix(x.URL, s.backend.provider()+"/")
			if provider && strings.HasPrefix(x.URL, s.callback()+"?exchange_token=") {
				firstCallback = x.URL
			}
		}
		if firstCallback == "" {
			t.Fatalf("no navigation through %s to %s?exchange_token=...; navigations: %v", s.backend.provider(), s.callback(), urls(docs))
		}
	})

	must("session", func(t *testing.T) {
		c := cookies(t, tab, s.public)
		if tok := c["ost_token"]; tok == nil || !tok.HTTPOnly || tok.Value == "" {
			t.Fatalf("no HttpOnly ost_token cookie on %s: %v", s.public, c)
		}
		if c["ost_login_binding"] != nil {
			t.Error("the login binding outlived the login")
		}
		raw := eval[string](t, tab, "fetching /api/outstatic/user", `fetch("/api/outstatic/user").then(r => r.text())`)
		var user struct {
			Session struct {
				User        struct{ Email string }
				Provider    string
				AccessToken string `json:"access_token"`
			}
		}
		if err := json.Unmarshal([]byte(raw), &user); err != nil || user.Session.User.Email != s.backend.email() {
			t.Fatalf("/api/outstatic/user: %v %s", err, raw)
		}
		accessToken = user.Session.AccessToken
	})

	must("Pro dashboard", func(t *testing.T) {
		// Members is Pro-only: a link when Pro, a PRO badge and an upgrade
		// dialog otherwise.
		waitFor(t, tab, "the Members link", `!!document.querySelector('a[href*="members"]')`)
		if eval[bool](t, tab, "looking for badges", badgeJS) {
			t.Fatalf("the dashboard shows a PRO badge:\n%s", pageState(tab))
		}
		png := screenshot(t, tab)
		out := filepath.Join(repoRoot(t), "testdata", "out")
		if err := os.MkdirAll(out, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, "dashboard.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	})

	must("GraphQL through the relay, with CORS", func(t *testing.T) {
		ops := map[string]int{}
		for _, c := range s.backend.graphQL() {
			if c.Authorization != "Bearer "+accessToken || c.ProjectID != s.backend.projectID() {
				t.Errorf("GraphQL call %s with authorization %q, project %q", c.Operation, c.Authorization, c.ProjectID)
			}
			ops[c.Operation]++
		}
		for _, op := range []string{"GetRepoInfo", "File"} {
			if ops[op] == 0 {
				t.Errorf("no %s reached the GitHub side; saw %v", op, ops)
			}
		}
		parser := s.relay + "/github/parser"
		calls := traffic.find(func(x *exchange) bool { return x.URL == parser })
		var posts, preflights int
		for _, x := range calls {
			if got := header(x.Response, "Access-Control-Allow-Origin"); got != s.public {
				t.Errorf("%s %s (%s): Access-Control-Allow-Origin %q, want %q", x.Method, parser, x.Type, got, s.public)
			}
			switch x.Method {
			case http.MethodPost:
				posts++
				if header(x.Request, "Origin") != s.public {
					t.Errorf("POST from origin %q", header(x.Request, "Origin"))
				}
			case http.MethodOptions:
				preflights++
				allow := strings.ToLower(header(x.Response, "Access-Control-Allow-Headers"))
				if !strings.Contains(allow, "authorization") || !strings.Contains(allow, "x-project-id") {
					t.Errorf("preflight allows headers %q", allow)
				}
			}
		}
		if posts == 0 || preflights == 0 {
			t.Errorf("the browser made %d GraphQL POSTs and %d preflights to %s", posts, preflights, parser)
		}
	})

	t.Run("login CSRF: a callback in another browser", func(t *testing.T) {
		other := newBrowserContext(t, browser)
		redeemed := s.backend.count("/outstatic/auth/exchange-token")
		// the attacker's own login, finished, sent to the victim
		link := s.callback() + "?exchange_token=" + s.backend.mint(s.callback())
		run(t, other, "opening the attacker's callback", chromedp.Navigate(link))
		waitForURL(t, other, s.public+"/outstatic?error=auth-callback-failed")
		waitForText(t, other, "Something went wrong during login", "Sign in with GitHub")
		if c := cookies(t, other, s.public); c["ost_token"] != nil {
			t.Error("the victim's browser got a session")
		}
		if n := s.backend.count("/outstatic/auth/exchange-token") - redeemed; n != 0 {
			t.Errorf("%d redemptions reached the service", n)
		}
	})

	t.Run("replayed exchange token", func(t *testing.T) {
		redeemed := s.backend.count("/outstatic/auth/exchange-token")
		// a fresh binding, as a new login in this browser would have
		status := eval[int](t, tab, "starting a login", `fetch("/api/outstatic/login").then(r => r.status)`)
		if status != http.StatusOK {
			t.Fatalf("login: %d", status)
		}
		run(t, tab, "opening the spent callback", chromedp.Navigate(firstCallback))
		waitForURL(t, tab, s.public+"/outstatic?error=session-error")
		if n := s.backend.count("/outstatic/auth/exchange-token") - redeemed; n != 0 {
			t.Errorf("%d redemptions of a spent token reached the service", n)
		}
	})

	t.Run("login on a host that is no callback origin", func(t *testing.T) {
		other := newBrowserContext(t, browser)
		otherTraffic := recordNetwork(t, other)
		starts := s.backend.count("/outstatic/auth/github-exchange")
		run(t, other, "opening the sign-in page on "+s.evil, chromedp.Navigate(s.evil+"/outstatic"))
		waitHydrated(t, other, `a[href="/api/outstatic/login"]`)
		run(t, other, "clicking Sign in with GitHub", chromedp.Click(chromedp.CSS(`a[href="/api/outstatic/login"]`)))
		waitForURL(t, other, s.evil+"/outstatic?error=invalid-callback-domain")
		waitForText(t, other, "does not match your configured callback origins")
		clicks := otherTraffic.find(func(x *exchange) bool { return x.URL == s.evil+"/api/outstatic/login" })
		if len(clicks) != 1 || clicks[0].Status != http.StatusBadRequest {
			t.Errorf("the click's login on %s: %+v, want one 400", s.evil, clicks)
		}
		if n := s.backend.count("/outstatic/auth/github-exchange") - starts; n != 0 {
			t.Errorf("%d logins from %s reached the service", n, s.evil)
		}
		// and that origin may not read the relay's GraphQL answers
		before := len(s.backend.graphQL())
		outcome := eval[string](t, other, "calling the parser from "+s.evil, fmt.Sprintf(`fetch(%q, {method: "POST",
			headers: {"content-type": "application/json", authorization: "Bearer %s", "x-project-id": %q},
			body: JSON.stringify({query: "query GetRepoInfo { x }"})}).then(() => "read", e => "blocked: " + e)`,
			s.relay+"/github/parser", accessToken, s.backend.projectID()))
		if !strings.HasPrefix(outcome, "blocked") || len(s.backend.graphQL()) != before {
			t.Errorf("a page on %s called the parser: %s", s.evil, outcome)
		}
	})

	t.Run("spoofed X-Outstatic headers", func(t *testing.T) {
		spoof := network.Headers{
			"X-Outstatic-Pro": "spoofed", "X-Outstatic-Project": "evil", "X-Outstatic-Features": "everything",
			"x_outstatic_project": "evil", "x.outstatic.pro": "spoofed",
		}
		setHeaders(t, tab, spoof)
		run(t, tab, "opening the echo with spoofed headers", chromedp.Navigate(s.public+"/__echo"))
		setHeaders(t, tab, network.Headers{})
		sent := traffic.find(func(x *exchange) bool { return x.URL == s.public+"/__echo" })
		if len(sent) == 0 || header(sent[len(sent)-1].Request, "x_outstatic_project") != "evil" {
			t.Fatalf("the browser did not send the spoofed headers: %v", sent)
		}
		got := s.echo.seen()
		want := map[string]string{"X-Outstatic-Pro": "true", "X-Outstatic-Project": s.backend.projectID()}
		for k, v := range want {
			if vals := got.Values(k); len(vals) != 1 || vals[0] != v {
				t.Errorf("%s reached the site as %q, want only the guard's %q", k, vals, v)
			}
		}
		if vals := got.Values("X-Outstatic-Features"); len(vals) != 1 || strings.Contains(vals[0], "everything") {
			t.Errorf("X-Outstatic-Features reached the site as %q", vals)
		}
		for k, v := range got {
			folded := strings.NewReplacer("_", "-", ".", "-").Replace(strings.ToLower(k))
			if strings.HasPrefix(folded, "x-outstatic-") && k != "X-Outstatic-Pro" && k != "X-Outstatic-Project" && k != "X-Outstatic-Features" {
				t.Errorf("a client copy reached the site: %s: %q", k, v)
			}
		}
	})
}

// badgeJS is true when the page shows a PRO or FREE badge, the marks of a
// site that is not Pro.
const badgeJS = `[...document.querySelectorAll("body *")].some(e => e.children.length === 0 && /^(PRO|FREE)$/.test(e.textContent.trim()))`

// urls lists the URLs of exchanges, for failure messages.
func urls(xs []exchange) []string {
	var out []string
	for _, x := range xs {
		out = append(out, x.URL)
	}
	return out
}
