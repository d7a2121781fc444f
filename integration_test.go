package outstatic

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-outstatic/caddy-outstatic/guard"
	"github.com/caddy-outstatic/caddy-outstatic/internal/testwait"
	"github.com/caddy-outstatic/caddy-outstatic/store"

	"github.com/caddyserver/caddy/v2/caddytest"
)

// appRecorder is a real HTTP upstream standing in for the site: it records
// every request that reaches it and redirects as the stock site does, to
// its own listen address.
type appRecorder struct {
	mu   sync.Mutex
	seen []string // path?query of every request
}

func (a *appRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.seen = append(a.seen, r.URL.RequestURI())
	a.mu.Unlock()
	switch {
	case r.URL.Path == "/api/outstatic/login":
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"url":"https://relay.example/start"}`)
	case strings.HasPrefix(r.URL.Path, "/api/outstatic/callback"):
		http.Redirect(w, r, "http://localhost:3000/outstatic", http.StatusFound)
	default:
		fmt.Fprint(w, "app")
	}
}

func (a *appRecorder) reached(substr string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, s := range a.seen {
		if strings.Contains(s, substr) {
			return true
		}
	}
	return false
}

// startGuard starts in-process Caddy with the guard for
// http://blog.localhost:9080/outstatic in front of the app at upstream.
func startGuard(t *testing.T, upstream string) {
	t.Helper()
	tester := newTester(t)
	tester.InitServer(ports(fmt.Sprintf(`
	{
		admin localhost:2999
		http_port 9080
		https_port 9443
		grace_period 1ns
		skip_install_trust
	}
	http://:9080 {
		outstatic http://blog.localhost:9080/outstatic
		reverse_proxy %s
	}
	`, strings.TrimPrefix(upstream, "http://"))), "caddyfile")
}

func TestGuardInCaddy(t *testing.T) {
	app := &appRecorder{}
	upstream := httptest.NewServer(app)
	defer upstream.Close()

	startGuard(t, upstream.URL)

	jar, _ := cookiejar.New(nil)
	client := &http.Client{
		Transport:     caddytest.CreateTestingTransport(),
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	get := func(u string, headers ...string) *http.Response {
		t.Helper()
		req, err := http.NewRequest("GET", ports(u), nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			if headers[i] == "Host" {
				req.Host = headers[i+1]
				continue
			}
			req.Header.Set(headers[i], ports(headers[i+1]))
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}

	// hostile callbacks never reach the app
	hostile := []struct {
		name string
		url  string
		hdr  []string
	}{
		{"unbound token", "http://blog.localhost:9080/api/outstatic/callback?exchange_token=attacker-token-1", nil},
		{"foreign host", "http://evil.localhost:9080/api/outstatic/callback?exchange_token=attacker-token-2", nil},
		{"spoofed forwarded host", "http://evil.localhost:9080/api/outstatic/callback?exchange_token=attacker-token-3",
			[]string{"X-Forwarded-Host", "blog.localhost:9080"}},
		{"extra parameter", "http://blog.localhost:9080/api/outstatic/callback?exchange_token=attacker-token-4&next=//evil", nil},
		{"dot segment", "http://blog.localhost:9080/api/outstatic/x/../callback?exchange_token=attacker-token-5", nil},
		{"encoded route", "http://blog.localhost:9080/api/outstatic/%63allback?exchange_token=attacker-token-6", nil},
		{"encoded slashes", "http://blog.localhost:9080/api/outstatic/callback/..%2F..%2F..?exchange_token=attacker-token-7", nil},
	}
	for _, h := range hostile {
		res := get(h.url, h.hdr...)
		if res.StatusCode < 300 {
			t.Errorf("%s: status %d", h.name, res.StatusCode)
		}
	}
	if app.reached("attacker-token") {
		t.Fatalf("a hostile callback reached the app: %v", app.seen)
	}

	// a login started in this browser comes back through
	if res := get("http://blog.localhost:9080/api/outstatic/login", "Sec-Fetch-Site", "same-origin", "Sec-Fetch-Mode", "cors"); res.StatusCode != 200 {
		t.Fatalf("login: %d", res.StatusCode)
	}
	res := get("http://blog.localhost:9080/outstatic/api/outstatic/callback?exchange_token=good-token-123")
	if !app.reached("/api/outstatic/callback?exchange_token=good-token-123") {
		t.Fatalf("the good callback did not reach the app as /api/outstatic/callback: %v", app.seen)
	}
	// and the app's redirect to its own listen address is fixed
	if loc := res.Header.Get("Location"); loc != ports("http://blog.localhost:9080/outstatic") {
		t.Fatalf("Location %q", loc)
	}
	// the binding is spent: the same browser cannot reuse it
	get("http://blog.localhost:9080/api/outstatic/callback?exchange_token=second-token-1")
	if app.reached("second-token-1") {
		t.Fatal("a binding served two callbacks")
	}

	// a request for the wrong host on an auth route is answered with the protocol's error
	res = get("http://evil.localhost:9080/api/outstatic/login")
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("foreign host login: %d", res.StatusCode)
	}
	// other routes pass untouched
	if res := get("http://evil.localhost:9080/blog?x=1"); res.StatusCode != 200 || !app.reached("/blog?x=1") {
		t.Fatalf("plain route: %d", res.StatusCode)
	}
}

// TestGuardStripsFlagTrailers: a client may send the flag headers as
// request trailers, declared or not, in any spelling. Caddy forwards
// request trailers to the app, so the guard removes them there too.
func TestGuardStripsFlagTrailers(t *testing.T) {
	type seen struct {
		Body    string
		Header  http.Header
		Trailer http.Header
	}
	got := make(chan seen, 1)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- seen{string(body), r.Header.Clone(), r.Trailer.Clone()}
		fmt.Fprint(w, "app")
	}))
	defer upstream.Close()

	startGuard(t, upstream.URL)

	for i, path := range []string{"/blog/post", "/api/outstatic/github", "/blog/undeclared"} {
		declared := "Trailer: X-Outstatic-Pro, x_outstatic_features, X-Keep\r\n" +
			"Trailer: X.Outstatic.Project\r\n"
		if i == 2 {
			declared = "" // trailers sent without a Trailer header
		}
		conn, err := net.Dial("tcp", ports("127.0.0.1:9080"))
		if err != nil {
			t.Fatal(err)
		}
		raw := "POST " + path + " HTTP/1.1\r\n" +
			"Host: " + ports("blog.localhost:9080") + "\r\n" +
			"Content-Type: application/json\r\n" +
			"Transfer-Encoding: chunked\r\n" +
			declared +
			"Connection: close\r\n\r\n" +
			"2\r\n{}\r\n0\r\n" +
			"X-Outstatic-Pro: true\r\n" +
			"x_outstatic_features: ai-completions\r\n" +
			"X.Outstatic.Project: proj_spoofed\r\n" +
			"X-OUTSTATIC-PRO: true\r\n" + // not declared
			"x-outstatic_project: proj_undeclared\r\n" + // not declared
			"X-Keep: kept\r\n\r\n"
		if _, err := io.WriteString(conn, raw); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		conn.Close()
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d", path, res.StatusCode)
		}
		s := <-got
		if s.Body != "{}" {
			t.Fatalf("%s: body %q", path, s.Body)
		}
		// the trailers do reach the app: X-Keep proves it
		if declared != "" && s.Trailer.Get("X-Keep") != "kept" {
			t.Fatalf("%s: the app got trailers %v: the test no longer sends any", path, s.Trailer)
		}
		for _, h := range []http.Header{s.Header, s.Trailer} {
			if flags := flagHeaders(h); len(flags) != 0 {
				t.Errorf("%s: the app got client flags %v", path, flags)
			}
			for _, v := range h.Values("Trailer") {
				if strings.Contains(strings.ToLower(v), "outstatic") {
					t.Errorf("%s: the app was told of trailer %q", path, v)
				}
			}
		}
	}
}

// TestGuardLoginCSRFInCaddy plays the attack through real Caddy: a hostile
// page opens the site's login in the victim's browser (a cross-site
// navigation or popup), then sends that browser to the callback with the
// attacker's own exchange_token. No binding, so no login. And a binding a
// browser got honestly serves one token: sent again, with another token,
// it is refused even though the client keeps the cookie.
func TestGuardLoginCSRFInCaddy(t *testing.T) {
	app := &appRecorder{}
	upstream := httptest.NewServer(app)
	defer upstream.Close()
	startGuard(t, upstream.URL)

	jar, _ := cookiejar.New(nil)
	victim := &http.Client{
		Transport:     caddytest.CreateTestingTransport(),
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	do := func(c *http.Client, u string, hdr ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", ports(u), nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	site := "http://blog.localhost:9080"
	hostile := "http://evil.localhost:9081/"
	for _, route := range []string{"login", "google-login"} {
		res := do(victim, site+"/api/outstatic/"+route,
			"Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document", "Referer", hostile)
		if res.StatusCode < 300 || len(res.Cookies()) != 0 {
			t.Errorf("%s opened from a hostile page: %d, cookies %v", route, res.StatusCode, res.Cookies())
		}
		// an old browser without fetch metadata, the hostile page hiding its referer
		res = do(victim, site+"/api/outstatic/"+route)
		if res.StatusCode < 300 || len(res.Cookies()) != 0 {
			t.Errorf("%s with no referer: %d, cookies %v", route, res.StatusCode, res.Cookies())
		}
		// the hostile page opens the stock dashboard's redirect page with
		// redirectTo=<this route>: the site's own page then navigates to it,
		// same-origin, without a click
		res = do(victim, site+"/api/outstatic/"+route,
			"Sec-Fetch-Site", "same-origin", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document",
			"Referer", ports(site)+"/outstatic/redirect?redirectTo="+url.QueryEscape(ports(site)+"/api/outstatic/"+route))
		if res.StatusCode < 300 || len(res.Cookies()) != 0 {
			t.Errorf("%s from the redirect page: %d, cookies %v", route, res.StatusCode, res.Cookies())
		}
	}
	res := do(victim, site+"/api/outstatic/callback?exchange_token=attacker-own-token",
		"Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate")
	if loc := res.Header.Get("Location"); loc != ports(site+"/outstatic?error=auth-callback-failed") {
		t.Errorf("the attacker's callback: %d %q", res.StatusCode, loc)
	}
	if app.reached("attacker-own-token") || app.reached("/api/outstatic/login") {
		t.Fatalf("the attack reached the app: %v", app.seen)
	}

	// an honest login: the sign-in page's fetch, then the callback
	res = do(victim, site+"/api/outstatic/login", "Sec-Fetch-Site", "same-origin", "Sec-Fetch-Mode", "cors")
	var binding *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == guard.BindingCookie {
			binding = c
		}
	}
	if res.StatusCode != 200 || binding == nil {
		t.Fatalf("login from the site's page: %d, binding %v", res.StatusCode, binding)
	}
	do(victim, site+"/api/outstatic/callback?exchange_token=honest-token-1")
	if !app.reached("honest-token-1") {
		t.Fatal("the honest callback was refused")
	}
	// the same cookie again, from a client that ignores the clearing
	keeper := &http.Client{Transport: victim.Transport, CheckRedirect: victim.CheckRedirect}
	for _, token := range []string{"second-token-same-binding", "honest-token-1"} {
		req, _ := http.NewRequest("GET", ports(site+"/api/outstatic/callback?exchange_token="+token), nil)
		req.AddCookie(&http.Cookie{Name: binding.Name, Value: binding.Value})
		res, err := keeper.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if loc := res.Header.Get("Location"); loc != ports(site+"/outstatic?error=auth-callback-failed") {
			t.Errorf("%s with a spent binding: %d %q", token, res.StatusCode, loc)
		}
	}
	if app.reached("second-token-same-binding") {
		t.Fatal("one binding let two tokens through")
	}
}

// TestGuardTokenStoreInCaddy: two guards sharing token_store caddy (two
// instances behind one load balancer, here two handlers of one Caddy): a
// binding spent on one is spent on the other, and the guards sweep the
// store's expired entries themselves, with no native relay around.
func TestGuardTokenStoreInCaddy(t *testing.T) {
	old := storeSweepInterval
	storeSweepInterval = 100 * time.Millisecond
	defer func() { storeSweepInterval = old }()
	app := &appRecorder{}
	upstream := httptest.NewServer(app)
	defer upstream.Close()
	dir := t.TempDir()
	t.Setenv("OUTSTATIC_TEST_BINDING", strings.Repeat("b", 32))
	tester := newTester(t)
	tester.InitServer(ports(fmt.Sprintf(`
	{
		admin localhost:2999
		http_port 9080
		https_port 9443
		grace_period 1ns
		skip_install_trust
		storage file_system %[2]s
	}
	http://:9080 {
		@b header X-Instance b
		handle @b {
			outstatic http://blog.localhost:9080/outstatic {
				binding_secret {env.OUTSTATIC_TEST_BINDING}
				token_store caddy
			}
			reverse_proxy %[1]s
		}
		handle {
			outstatic http://blog.localhost:9080/outstatic {
				binding_secret {env.OUTSTATIC_TEST_BINDING}
				token_store caddy
			}
			reverse_proxy %[1]s
		}
	}
	`, strings.TrimPrefix(upstream.URL, "http://"), dir)), "caddyfile")

	do := guardGet(t)
	binding := loginBinding(t, do, "http://blog.localhost:9080")
	do("http://blog.localhost:9080/api/outstatic/callback?exchange_token=across-a", binding)
	do("http://blog.localhost:9080/api/outstatic/callback?exchange_token=across-b", binding, "X-Instance", "b")
	if !app.reached("across-a") || app.reached("across-b") {
		t.Fatalf("a binding shared by two guards served %v", app.seen)
	}

	// an entry that expired and that nobody reads again: the guards' sweep
	// removes it
	st := store.NewStorage(&certmagic.FileStorage{Path: dir}, "outstatic")
	if err := st.Put(t.Context(), "seen/planted-expired", []byte{1}, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	planted := filepath.Join(dir, "outstatic", "seen", "planted-expired")
	if _, err := os.Stat(planted); err != nil {
		t.Fatalf("the planted entry is not where the test looks: %v", err)
	}
	testwait.Until(t, "a guard sweeping the expired entry", func() bool {
		_, err := os.Stat(planted)
		return errors.Is(err, fs.ErrNotExist)
	})
	// what the login left is still there, unexpired
	left, err := st.List(t.Context(), "")
	if err != nil || len(left) == 0 {
		t.Fatalf("the login's records: %v %v", left, err)
	}
}
