package outstatic

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakeservice"
	"github.com/caddy-outstatic/caddy-outstatic/internal/fakesite"

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
	// with the filter the README shows.
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
