//go:build e2e

// Package e2e runs the stock Outstatic site (testdata/stock-site, unmodified)
// behind a Caddy built from this repository, and drives it with a real
// headless Chromium: a relay login from the sign-in page to the Pro
// dashboard, then the guard's defences against the real client. The relay
// the site calls forwards either to a native relay in the same Caddy, which
// logs in on a fake GitHub, or to a fake of the hosted service. Run it with
// bash scripts/e2e.sh, which installs and builds the site first; it needs
// node and chromium, and fails without them.
package e2e

import (
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

// setUp starts everything on 127.0.0.1, in the order each part needs the
// one before: Caddy is built, the backend made (the site's key with it),
// Caddy started, the backend readied, and the stock site started last,
// with the key.
func setUp(t *testing.T, newBackend func(*testing.T, *stack) backend) *stack {
	t.Helper()
	return setUpStack(t, newBackend, false)
}

// setUpStack is setUp, over https (Caddy's tls internal) when useTLS.
func setUpStack(t *testing.T, newBackend func(*testing.T, *stack) backend, useTLS bool) *stack {
	t.Helper()
	root := repoRoot(t)
	if _, err := exec.LookPath("node"); err != nil {
		// A browser test that cannot run must fail, not pass unseen.
		t.Fatal("node is not installed: the stock site needs it (scripts/e2e.sh checks for it)")
	}
	s := &stack{tls: useTLS, caddyPort: freePort(t), adminPort: freePort(t), sitePort: freePort(t), storage: t.TempDir()}
	scheme := "http"
	if useTLS {
		scheme = "https"
	}
	s.public = fmt.Sprintf("%s://%s:%d", scheme, publicHost, s.caddyPort)
	s.evil = fmt.Sprintf("%s://%s:%d", scheme, evilHost, s.caddyPort)
	s.relay = fmt.Sprintf("%s://127.0.0.1:%d", scheme, s.caddyPort)
	s.echo = newEcho(t)

	start := time.Now()
	s.bin = builtCaddy(t, root)
	t.Logf("caddy build: %s", time.Since(start).Round(time.Millisecond))
	s.backend = newBackend(t, s)
	s.caddyEnv = append(s.caddyEnv, "OUTSTATIC_E2E_KEY="+s.key)
	if useTLS {
		// Caddy calls itself over https: the guard and the forward relay
		// must trust the CA it issues under.
		cert, _ := caFiles(t)
		s.caddyEnv = append(s.caddyEnv, "SSL_CERT_FILE="+cert)
	}

	logFile := filepath.Join(t.TempDir(), "caddy-log.json")
	start = time.Now()
	// registered first, so that it also reports a Caddy that did not start
	var caddy *proc
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("caddy's log, without the proxy's and the handshakes' entries (end):\n%s", pluginLog(logFile, 12000))
			if caddy != nil {
				t.Logf("caddy's output:\n%s", caddy.tail(2000))
			}
		}
	})
	caddy = startCaddy(t, s.bin, s.caddyfile(logFile), s.relay+"/", s.caddyEnv)
	t.Logf("caddy start: %s", time.Since(start).Round(time.Millisecond))
	start = time.Now()
	s.backend.ready(t, s)
	s.waitPro(t)
	t.Logf("keys, and Pro through the chain: %s", time.Since(start).Round(time.Millisecond))

	start = time.Now()
	startSite(t, filepath.Join(root, "testdata", "stock-site"), s.sitePort, s.siteEnv())
	t.Logf("site start: %s", time.Since(start).Round(time.Millisecond))
	return s
}

// TestNativeRelayInBrowser is the end-to-end test of the chain the issue
// asks for: site → guard → forward relay → native relay → GitHub (a fake),
// in one Caddy, from the sign-in page to the dashboard, then the defences.
func TestNativeRelayInBrowser(t *testing.T) {
	browserSuite(t, setUp(t, newNativeBackend))
}

// TestNativeRelayHTTPSInBrowser is TestNativeRelayInBrowser as sites are
// deployed: the public site and the relay over https (Caddy's tls
// internal), the app on plain http behind Caddy, and the guard in its
// short form, api_key and service with no callback_origin: it learns the
// project's callback origins from the key check, which the stock site
// reads too, extension and all. The login binding is then a __Host-
// cookie.
func TestNativeRelayHTTPSInBrowser(t *testing.T) {
	browserSuite(t, setUpStack(t, newNativeBackendWith(nativeOptions{guardLearns: true}), true))
}

// TestForwardServiceInBrowser runs the same browser session with the
// relay forwarding to a fake of the hosted service.
func TestForwardServiceInBrowser(t *testing.T) {
	browserSuite(t, setUp(t, newForwardBackend))
}

// browserSuite is one browser run on s, from the sign-in page to the
// dashboard, then the defences.
func browserSuite(t *testing.T, s *stack) {
	browser := newBrowser(t, s.browserOptions()...)
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
		if s.backend.count(t, "/outstatic/project") == 0 {
			t.Error("the key check never reached the service")
		}
	})

	must("login through the relay", func(t *testing.T) {
		starts := s.backend.count(t, "/outstatic/auth/github-exchange")
		redeemed := s.backend.count(t, "/outstatic/auth/exchange-token")
		waitHydrated(t, tab, `a[href="/api/outstatic/login"]`)
		run(t, tab, "clicking Sign in with GitHub", chromedp.Click(chromedp.CSS(`a[href="/api/outstatic/login"]`)))
		waitForURL(t, tab, s.public+"/outstatic")
		waitForText(t, tab, "Dashboard", "Libraries", "Media Library", "Collections", "Posts", "Singletons", "acme", "blog", "main")
		if n := s.backend.count(t, "/outstatic/auth/github-exchange") - starts; n != 1 {
			t.Errorf("the click started %d logins, want 1", n)
		}
		if n := s.backend.count(t, "/outstatic/auth/exchange-token") - redeemed; n != 1 {
			t.Errorf("the login redeemed %d exchange tokens, want 1", n)
		}
		// the browser went through the provider's pages, in order, and came
		// back to the public callback
		docs := traffic.find(func(x *exchange) bool { return x.Type == "Document" })
		hops := s.backend.hops()
		seen := 0
		for _, x := range docs {
			if seen < len(hops) && strings.HasPrefix(x.URL, hops[seen]) {
				seen++
			}
			if seen == len(hops) && strings.HasPrefix(x.URL, s.callback()+"?exchange_token=") {
				firstCallback = x.URL
				// the login binding came back with the token, under the
				// name the scheme asks for
				sent := cookieNames(header(x.Request, "Cookie"))
				if !sent[s.bindingCookie()] || sent[s.otherBindingCookie()] {
					t.Errorf("the callback was sent with the cookies %v, want %s and not %s", sent, s.bindingCookie(), s.otherBindingCookie())
				}
			}
		}
		if firstCallback == "" {
			t.Fatalf("no navigation through %q to %s?exchange_token=...; navigations: %v", hops, s.callback(), urls(docs))
		}
	})

	must("session", func(t *testing.T) {
		c := cookies(t, tab, s.public)
		if tok := c["ost_token"]; tok == nil || !tok.HTTPOnly || tok.Value == "" {
			t.Fatalf("no HttpOnly ost_token cookie on %s: %v", s.public, c)
		}
		if s.tls && !c["ost_token"].Secure {
			t.Error("the ost_token cookie of an https site is not Secure")
		}
		if c[s.bindingCookie()] != nil || c[s.otherBindingCookie()] != nil {
			t.Error("the login binding outlived the login")
		}
		raw := eval[string](t, tab, "fetching /api/outstatic/user", `fetch("/api/outstatic/user").then(r => r.text())`)
		var user struct {
			Session struct {
				User struct {
					Email       string
					Permissions []string
				}
				Provider    string
				AccessToken string `json:"access_token"`
			}
		}
		if err := json.Unmarshal([]byte(raw), &user); err != nil || user.Session.User.Email != s.backend.email() {
			t.Fatalf("/api/outstatic/user: %v %s", err, raw)
		}
		// an owner: every permission, Settings and Members in the sidebar
		if got := strings.Join(user.Session.User.Permissions, ","); got != strings.Join(allPermissions, ",") {
			t.Errorf("the session's permissions are %q, want an owner's %q", got, allPermissions)
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
		name := s.backend.screenshot()
		if s.tls {
			name = strings.TrimSuffix(name, ".png") + "-https.png"
		}
		saveScreenshot(t, tab, name)
	})

	must("GraphQL through the relay, with CORS", func(t *testing.T) {
		// On the GitHub side: the dashboard's first operations, each with
		// the token the backend says this session must reach GitHub with.
		want := s.backend.githubToken(t, accessToken)
		ops := map[string]int{}
		for _, c := range s.backend.graphQL() {
			if c.Token != want {
				t.Errorf("GraphQL call %s reached GitHub with token %q, want %q", c.Operation, c.Token, want)
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
				if header(x.Request, "Origin") != s.public || header(x.Request, "Authorization") != "Bearer "+accessToken ||
					header(x.Request, "X-Project-Id") != s.backend.projectID() {
					t.Errorf("POST from origin %q with authorization %q, project %q", header(x.Request, "Origin"),
						header(x.Request, "Authorization"), header(x.Request, "X-Project-Id"))
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
		if n := s.backend.count(t, "/github/parser"); n < posts {
			t.Errorf("%d of the browser's %d GraphQL POSTs reached the service's parser", n, posts)
		}
	})

	t.Run("login CSRF: a callback in another browser", func(t *testing.T) {
		other := newBrowserContext(t, browser)
		redeemed := s.backend.count(t, "/outstatic/auth/exchange-token")
		// the attacker's own login, finished, sent to the victim
		link := s.callback() + "?exchange_token=" + s.backend.mint(t, s)
		run(t, other, "opening the attacker's callback", chromedp.Navigate(link))
		waitForURL(t, other, s.public+"/outstatic?error=auth-callback-failed")
		waitForText(t, other, "Something went wrong during login", "Sign in with GitHub")
		if c := cookies(t, other, s.public); c["ost_token"] != nil {
			t.Error("the victim's browser got a session")
		}
		if n := s.backend.count(t, "/outstatic/auth/exchange-token") - redeemed; n != 0 {
			t.Errorf("%d redemptions reached the service", n)
		}
	})

	t.Run("replayed exchange token", func(t *testing.T) {
		redeemed := s.backend.count(t, "/outstatic/auth/exchange-token")
		// a fresh binding, as a new login in this browser would have
		status := eval[int](t, tab, "starting a login", `fetch("/api/outstatic/login").then(r => r.status)`)
		if status != http.StatusOK {
			t.Fatalf("login: %d", status)
		}
		run(t, tab, "opening the spent callback", chromedp.Navigate(firstCallback))
		waitForURL(t, tab, s.public+"/outstatic?error=session-error")
		if n := s.backend.count(t, "/outstatic/auth/exchange-token") - redeemed; n != 0 {
			t.Errorf("%d redemptions of a spent token reached the service", n)
		}
	})

	t.Run("login on a host that is no callback origin", func(t *testing.T) {
		other := newBrowserContext(t, browser)
		otherTraffic := recordNetwork(t, other)
		starts := s.backend.count(t, "/outstatic/auth/github-exchange")
		run(t, other, "opening the sign-in page on "+s.evil, chromedp.Navigate(s.evil+"/outstatic"))
		waitHydrated(t, other, `a[href="/api/outstatic/login"]`)
		run(t, other, "clicking Sign in with GitHub", chromedp.Click(chromedp.CSS(`a[href="/api/outstatic/login"]`)))
		waitForURL(t, other, s.evil+"/outstatic?error=invalid-callback-domain")
		waitForText(t, other, "does not match your configured callback origins")
		clicks := otherTraffic.find(func(x *exchange) bool { return x.URL == s.evil+"/api/outstatic/login" })
		if len(clicks) != 1 || clicks[0].Status != http.StatusBadRequest {
			t.Errorf("the click's login on %s: %+v, want one 400", s.evil, clicks)
		}
		if n := s.backend.count(t, "/outstatic/auth/github-exchange") - starts; n != 0 {
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

// pluginLog returns the end of Caddy's log, at most n bytes, without the
// reverse proxy's and the TLS handshakes' entries: at DEBUG they come with
// every request, and would push the plugin's own entries out of a
// failure's report.
func pluginLog(path string, n int) string {
	data, _ := os.ReadFile(path)
	var keep []string
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.Contains(line, `"logger":"http.handlers.reverse_proxy"`) && !strings.Contains(line, `"logger":"tls.handshake"`) &&
			!strings.Contains(line, `"name":"tls_get_certificate"`) {
			keep = append(keep, line)
		}
	}
	out := strings.Join(keep, "\n")
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return out
}

// cookieNames returns the names in a Cookie header.
func cookieNames(h string) map[string]bool {
	out := map[string]bool{}
	for _, c := range strings.Split(h, ";") {
		name, _, _ := strings.Cut(strings.TrimSpace(c), "=")
		if name != "" {
			out[name] = true
		}
	}
	return out
}
