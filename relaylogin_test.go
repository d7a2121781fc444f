package outstatic

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
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

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakeservice"
	"github.com/caddy-outstatic/caddy-outstatic/internal/fakesite"
	"github.com/caddy-outstatic/caddy-outstatic/relay"

	"github.com/caddyserver/caddy/v2/caddytest"
)

// TestRelayLoginThroughGuardAndRelay runs a whole relay login through real
// Caddy: the browser on http://blog.localhost:9080, a stock-like site that
// names itself localhost:<port>, the guard in front of it, the relay (forward
// mode) at /relay, and a fake of the service. The service must only ever
// see the public callback.
func TestRelayLoginThroughGuardAndRelay(t *testing.T) {
	public := ports("http://blog.localhost:9080")
	svc := fakeservice.New(testKey, true, public+"/outstatic")
	svcSrv := httptest.NewServer(svc)
	defer svcSrv.Close()
	defer svc.Release()
	svc.BaseURL = svcSrv.URL

	siteLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sitePort := siteLn.Addr().(*net.TCPAddr).Port
	site := &fakesite.Site{
		Self:   fmt.Sprintf("http://localhost:%d", sitePort),
		APIURL: public + "/relay",
		APIKey: testKey,
		Dial:   ports("127.0.0.1:9080"),
	}
	siteSrv := httptest.NewUnstartedServer(site)
	siteSrv.Listener = siteLn
	siteSrv.Start()
	defer siteSrv.Close()

	t.Setenv("OUTSTATIC_E2E_KEY", testKey)
	logFile := filepath.Join(t.TempDir(), "caddy.log")
	accessFile := filepath.Join(t.TempDir(), "access.log")
	tester := newTester(t)
	tester.InitServer(ports(fmt.Sprintf(`
	{
		admin localhost:2999
		http_port 9080
		https_port 9443
		grace_period 1ns
		skip_install_trust
		log {
			output file %[1]s
			level DEBUG
		}
	}
	%[2]s {
		log {
			output file %[5]s
			format filter {
				request>uri query {
					replace exchange_token REDACTED
				}
			}
		}
		outstatic {
			callback_origin %[2]s/outstatic
			app_origin http://localhost:%[3]d
			api_key {env.OUTSTATIC_E2E_KEY}
			service %[4]s/api
		}
		handle_path /relay/* {
			outstatic_relay {
				upstream %[4]s/api
				api_key {env.OUTSTATIC_E2E_KEY}
				callback_origin %[2]s/outstatic
				app_origin http://localhost:%[3]d
			}
		}
		reverse_proxy 127.0.0.1:%[3]d
	}
	`, logFile, public, sitePort, svcSrv.URL, accessFile)), "caddyfile")

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{
		Transport: caddytest.CreateTestingTransport(),
		Jar:       jar,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	get := func(u string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest("GET", u, nil)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(u, "/api/outstatic/login") {
			// the sign-in page's fetch
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			req.Header.Set("Sec-Fetch-Mode", "cors")
		}
		res, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res, string(body)
	}

	// 1. the sign-in page's click: the guard starts the login itself
	res, body := get(public + "/api/outstatic/login")
	var start struct{ URL string }
	if err := json.Unmarshal([]byte(body), &start); err != nil || res.StatusCode != 200 {
		t.Fatalf("login: %d %s", res.StatusCode, body)
	}
	// 2. the provider's round trip (the fake service plays it)
	res, _ = get(start.URL)
	callback := res.Header.Get("Location")
	if !strings.HasPrefix(callback, public+"/outstatic/api/outstatic/callback?exchange_token=") {
		t.Fatalf("the login came back to %q", callback)
	}
	// 3. the callback: the site redeems through the relay and sets its session
	res, _ = get(callback)
	if loc := res.Header.Get("Location"); loc != public+"/outstatic" {
		t.Fatalf("after the callback: %d Location %q (want the public dashboard)", res.StatusCode, loc)
	}
	var session string
	for _, c := range res.Cookies() {
		if c.Name == "ost_token" {
			session = c.Value
		}
	}
	if session == "" {
		t.Fatal("the site set no session")
	}
	// 4. the dashboard gets the Pro flags
	get(public + "/outstatic")
	seen := site.Seen()
	if last := seen[len(seen)-1]; last.Header.Get("X-Outstatic-Pro") != "true" || last.Header.Get("X-Outstatic-Project") != "proj_1" {
		t.Fatalf("dashboard request headers: %v", last.Header)
	}
	// the site's own key check goes through the relay and its cache
	req, _ := http.NewRequest("GET", public+"/relay/outstatic/project", nil)
	req.Header.Set("Authorization", "Bearer "+testKey)
	pres, err := browser.Do(req)
	if err != nil || pres.StatusCode != 200 {
		t.Fatalf("project through the relay: %v %v", err, pres)
	}
	pres.Body.Close()

	// 5. a replayed token: the site's redemption names localhost, the relay
	// has no record left, and refuses it before the service sees it
	get(public + "/api/outstatic/login") // a fresh binding, so the guard lets it through
	res, _ = get(callback)
	if loc := res.Header.Get("Location"); loc != public+"/outstatic?error=session-error" {
		t.Fatalf("replay: Location %q", loc)
	}

	// the service only ever saw the public origin
	if svc.Count("/outstatic/project") != 1 {
		t.Errorf("%d key checks, want 1 (guard and relay share the verdict)", svc.Count("/outstatic/project"))
	}
	for _, r := range svc.Requests() {
		b, _ := json.Marshal(r.Body)
		if strings.Contains(string(b), "localhost:") && !strings.Contains(string(b), strings.TrimPrefix(public, "http://")) {
			t.Errorf("the service saw the site's own origin: %s %s", r.Path, b)
		}
	}
	if n := svc.Count("/outstatic/auth/exchange-token"); n != 1 {
		t.Errorf("%d redemptions reached the service, want 1", n)
	}

	// no key in the log
	logs, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) == 0 {
		t.Fatal("empty log")
	}
	if strings.Contains(string(logs), testKey) {
		t.Fatal("the API key is in Caddy's log")
	}
	// Caddy's own reverse_proxy DEBUG entries record request URIs; the
	// plugin's entries never carry a token, and neither does an access log
	// with the filter docs/operations.md shows.
	token := callback[strings.Index(callback, "=")+1:]
	for _, line := range strings.Split(string(logs), "\n") {
		if strings.Contains(line, `"logger":"http.handlers.outstatic`) && strings.Contains(line, token) {
			t.Fatalf("an exchange token is in the plugin's log: %s", line)
		}
	}
	access, err := os.ReadFile(accessFile)
	if err != nil || !strings.Contains(string(access), "exchange_token=REDACTED") {
		t.Fatalf("access log has no redacted callback: %v", err)
	}
	if strings.Contains(string(access), token) || strings.Contains(string(access), testKey) {
		t.Fatal("a token or the key is in the access log")
	}
}

// loginSite is a stock-like site for TestAccessLogHidesLoginSecrets: like
// the real one behind a proxy it names itself by its listen address, and it
// keeps the sessions it gets so that the test knows every token to look for.
type loginSite struct {
	self, apiURL, dial string
	mu                 sync.Mutex
	secrets            []string
}

func (s *loginSite) call(path string, body any) map[string]any {
	payload, _ := json.Marshal(body)
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, s.dial)
	}}
	res, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Post(s.apiURL+path, "application/json", bytes.NewReader(payload))
	if err != nil {
		return nil
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	session, _ := out["session"].(map[string]any)
	s.mu.Lock()
	for _, k := range []string{"access_token", "refresh_token"} {
		if v, _ := session[k].(string); v != "" {
			s.secrets = append(s.secrets, v)
		}
	}
	s.mu.Unlock()
	return session
}

func (s *loginSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/api/outstatic/callback":
		session := s.call("/outstatic/auth/exchange-token", map[string]string{
			"exchange_token": r.URL.Query().Get("exchange_token"), "callback_url": s.self + r.URL.Path})
		access, _ := session["access_token"].(string)
		refresh, _ := session["refresh_token"].(string)
		if access == "" {
			http.Redirect(w, r, s.self+"/outstatic?error=session-error", http.StatusTemporaryRedirect)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "ost_token", Value: access + "." + refresh, Path: "/", HttpOnly: true})
		http.Redirect(w, r, s.self+"/outstatic", http.StatusTemporaryRedirect)
	case "/api/outstatic/refresh":
		c, err := r.Cookie("ost_token")
		if err != nil {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		_, refresh, _ := strings.Cut(c.Value, ".")
		s.call("/outstatic/auth/refresh-token", map[string]string{"refresh_token": refresh})
		fmt.Fprint(w, `{"success":true}`)
	default:
		fmt.Fprint(w, "page")
	}
}

// TestAccessLogHidesLoginSecrets runs a whole login through the guard and
// the native relay in real Caddy, with the access log block of
// examples/outstatic-log.caddy (the one docs/operations.md shows), then reads the
// access log: no exchange token, GitHub code or state, session token,
// refresh token, GitHub token, cookie or key may be in it.
func TestAccessLogHidesLoginSecrets(t *testing.T) {
	snippet, err := filepath.Abs("examples/outstatic-log.caddy")
	if err != nil {
		t.Fatal(err)
	}
	checkDocsLogBlock(t, snippet)

	gh := adaGitHub()
	gh.Start()
	defer gh.Close()
	key, keySum, _, err := relay.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_GH_SECRET", "relay-secret")
	t.Setenv("TEST_RELAY_SECRET", strings.Repeat("r", 40))
	t.Setenv("TEST_SITE_KEY", key)

	public := ports("http://blog.localhost:9080")
	siteLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sitePort := siteLn.Addr().(*net.TCPAddr).Port
	site := &loginSite{self: fmt.Sprintf("http://localhost:%d", sitePort), apiURL: public + "/relay", dial: ports("127.0.0.1:9080")}
	siteSrv := httptest.NewUnstartedServer(site)
	siteSrv.Listener = siteLn
	siteSrv.Start()
	defer siteSrv.Close()

	accessFile := filepath.Join(t.TempDir(), "access.log")
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
	http://blog.localhost:9080, http://127.0.0.2:9080 {
		import %[2]s %[3]s
		handle_path /relay/* {
			outstatic_relay {
				public_url http://blog.localhost:9080/relay
				project blog {
					callback_origin http://blog.localhost:9080/outstatic
					repo acme/blog
					member ada owner
					key_sha256 %[4]s
				}
				github {
					client_id relay-client
					client_secret {env.TEST_GH_SECRET}
					base_url %[5]s
					api_url %[6]s
					graphql_url %[7]s
				}
				secret {env.TEST_RELAY_SECRET}
				app_origin http://localhost:%[8]d
			}
		}
		outstatic {
			callback_origin http://blog.localhost:9080/outstatic
			app_origin http://localhost:%[8]d
			api_key {env.TEST_SITE_KEY}
			# 127.0.0.2: a host no earlier test's kept-alive connection
			# (served by that test's config) is pooled for
			service http://127.0.0.2:9080/relay
		}
		reverse_proxy 127.0.0.1:%[8]d
	}
	`, t.TempDir(), snippet, accessFile, keySum, gh.URL(), gh.APIURL(), gh.GraphQLURL(), sitePort)), "caddyfile")

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Transport: caddytest.CreateTestingTransport(), Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	direct := &http.Client{CheckRedirect: browser.CheckRedirect}
	do := func(method, u string, body string, hdr ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, u, strings.NewReader(body))
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		c := browser
		if strings.HasPrefix(u, gh.URL()) {
			c = direct // the fake GitHub is not behind Caddy
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(res.Body)
		res.Body.Close()
		res.Body = io.NopCloser(bytes.NewReader(data))
		return res
	}
	queryOf := func(u, name string) string {
		p, err := url.Parse(u)
		if err != nil || p.Query().Get(name) == "" {
			t.Fatalf("no %s in %q", name, u)
		}
		return p.Query().Get(name)
	}
	var secrets []string

	// the sign-in page's click: the guard starts the login with the relay
	res := do("GET", public+"/api/outstatic/login", "", "Sec-Fetch-Site", "same-origin", "Sec-Fetch-Mode", "cors")
	body, _ := io.ReadAll(res.Body)
	var start struct{ URL string }
	if err := json.Unmarshal(body, &start); err != nil || res.StatusCode != 200 {
		t.Fatalf("login: %d %s", res.StatusCode, body)
	}
	for _, c := range res.Cookies() {
		secrets = append(secrets, c.Value)
	}
	authorize := do("GET", start.URL, "").Header.Get("Location")
	secrets = append(secrets, queryOf(authorize, "state"))
	back := do("GET", authorize, "").Header.Get("Location")
	secrets = append(secrets, queryOf(back, "code"), queryOf(back, "state"))
	callback := do("GET", back, "").Header.Get("Location")
	token := queryOf(callback, "exchange_token")
	secrets = append(secrets, token)
	res = do("GET", callback, "")
	if loc := res.Header.Get("Location"); loc != public+"/outstatic" {
		t.Fatalf("after the callback: %d %q", res.StatusCode, loc)
	}
	// the dashboard, with the callback as its referer (a page's subresource)
	do("GET", public+"/outstatic", "", "Referer", callback)
	do("GET", public+"/outstatic/favicon.ico", "", "Referer", back)
	// the dashboard's GraphQL through the relay, with the session's token
	site.mu.Lock()
	access := site.secrets[0]
	site.mu.Unlock()
	// (what it answers does not matter here: the request is logged)
	do("POST", public+"/relay/github/parser",
		`{"operationName":"GetRepoInfo","variables":{"owner":"acme","name":"blog"},"query":"query GetRepoInfo($owner: String!, $name: String!) { repository(owner: $owner, name: $name) { id defaultBranchRef { name target { oid } } } }"}`,
		"Authorization", "Bearer "+access, "Origin", public, "Content-Type", "application/json")
	// a refresh, through the site
	do("POST", public+"/api/outstatic/refresh", "{}", "Origin", public, "Content-Type", "application/json")
	// a replay of the spent callback, and a hostile spelling of one
	do("GET", callback, "")
	do("GET", public+"/api/outstatic/callback?exchange%5Ftoken="+token+"x", "")

	site.mu.Lock()
	secrets = append(secrets, site.secrets...)
	sessions := len(site.secrets)
	site.mu.Unlock()
	if sessions < 4 {
		t.Fatalf("the site saw %d session tokens, want a login's two and a refresh's two", sessions)
	}
	for _, tok := range gh.Tokens() {
		secrets = append(secrets, tok.Value)
	}
	secrets = append(secrets, key)

	logs, err := os.ReadFile(accessFile)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(logs)), "\n")
	if len(lines) < 9 || !strings.Contains(string(logs), "exchange_token=REDACTED") || !strings.Contains(string(logs), "code=REDACTED") {
		t.Fatalf("the access log does not show the filter at work (%d lines):\n%s", len(lines), logs)
	}
	for _, s := range secrets {
		if len(s) < 8 {
			t.Fatalf("secret %q too short to look for", s)
		}
		for _, line := range lines {
			if strings.Contains(line, s) {
				t.Errorf("a login secret (%.6s...) is in the access log: %s", s, line)
			}
		}
	}
}

// checkDocsLogBlock: the Logs section of docs/operations.md shows the
// snippet's log block, with a file name for its argument.
func checkDocsLogBlock(t *testing.T, snippet string) {
	t.Helper()
	data, err := os.ReadFile(snippet)
	if err != nil {
		t.Fatal(err)
	}
	block := string(data[strings.Index(string(data), "log {"):])
	doc, err := os.ReadFile("docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	logs := string(doc)[strings.Index(string(doc), "## Logs"):]
	shown := strings.ReplaceAll(block, "{args[0]}", "/var/log/caddy/blog.access.log")
	if !strings.Contains(logs, shown) {
		t.Fatalf("the Logs section of docs/operations.md does not show the log block of %s:\n%s", snippet, shown)
	}
}
