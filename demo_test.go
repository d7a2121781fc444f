package outstatic

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	// the demo's stand-in site, which examples/Caddyfile uses
	_ "github.com/caddy-outstatic/caddy-outstatic/internal/demosite"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testwait"
)

// demoConfig is examples/Caddyfile on this run's ports, with its storage
// in dir.
func demoConfig(t *testing.T, dir string) string {
	t.Helper()
	raw, err := os.ReadFile("examples/Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.NewReplacer("localhost:8080", "localhost:9080", "http_port 8080", "http_port 9080",
		"admin localhost:2019", "admin localhost:2999\n\tstorage file_system "+dir).Replace(string(raw))
	return ports(s)
}

// TestDemo runs the README's fast demo's config in Caddy and clicks
// through it as a browser without JavaScript would: the demo page shows
// the Pro flags the guard injected; "Log in" goes through the guard's
// login start and the relay to the development login's page; picking a
// member lands on the demo page logged in as them, with the session's
// expiry, and no token anywhere on the page.
func TestDemo(t *testing.T) {
	tester := newTester(t)
	tester.InitServer(demoConfig(t, t.TempDir()), "caddyfile")
	site := ports("http://localhost:9080")
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second}

	get := func(u, referer string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", u, nil)
		if referer != "" {
			req.Header.Set("Referer", referer)
		}
		res, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	// The guard checks the key at the relay in the background: the first
	// check ran before Caddy listened.
	var home string
	for deadline := time.Now().Add(testwait.Bound); ; time.Sleep(200 * time.Millisecond) {
		_, home = get(site+"/", "")
		if strings.Contains(home, "<code>true</code>") || time.Now().After(deadline) {
			break
		}
	}
	for _, want := range []string{"X-Outstatic-Pro</code></th><td><code>true</code>", "<code>demo</code>", "members</code>", "Not logged in.",
		"What this fast demo does not show:", "the real Outstatic dashboard", "<code>bash scripts/demo.sh</code>"} {
		if !strings.Contains(home, want) {
			t.Fatalf("the demo page lacks %q:\n%s", want, home)
		}
	}

	// "Log in": the browser follows the redirects to the member page.
	res, page := get(site+"/demo/login", site+"/")
	if !strings.HasPrefix(res.Request.URL.String(), site+"/relay/outstatic/auth/dev/login?state=") {
		t.Fatalf("Log in ended at %s (%d)", res.Request.URL, res.StatusCode)
	}
	form := url.Values{}
	for _, m := range regexp.MustCompile(`name="(state|csrf)" value="([^"]*)"`).FindAllStringSubmatch(page, -1) {
		form.Set(m[1], m[2])
	}
	form.Set("member", "editor@example.com")
	page0 := res.Request.URL.String()
	res, err := browser.PostForm(page0, form)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	landed := string(b)
	if res.Request.URL.String() != site+"/" {
		t.Fatalf("the login ended at %s:\n%s", res.Request.URL, landed)
	}
	for _, want := range []string{"<td>editor@example.com</td>", "<code>content.manage</code>", "Session expires", "Pro flags"} {
		if !strings.Contains(landed, want) {
			t.Errorf("the logged-in page lacks %q:\n%s", want, landed)
		}
	}
	if strings.Contains(landed, "<code>roles.manage</code>") {
		t.Error("an editor was shown an owner's permissions")
	}
	if m := regexp.MustCompile(`xt_|ost_|access_token|refresh_token`).FindString(landed); m != "" {
		t.Errorf("the page shows a token (%q)", m)
	}

	// The same form again: its state is spent, the relay refuses the
	// login; and a made-up exchange token is refused.
	res, err = browser.PostForm(page0, form)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if !strings.Contains(res.Request.URL.RawQuery, "error=invalid-state") {
		t.Errorf("a replayed form ended at %s", res.Request.URL)
	}
	res, err = http.Post(site+"/relay/outstatic/auth/exchange-token", "application/json",
		strings.NewReader(`{"exchange_token":"xt_made-up","callback_url":"`+site+`/api/outstatic/callback"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()

	// Metrics, on the config's registry, as the admin API serves them.
	_, metrics := get(ports("http://localhost:2999/metrics"), "")
	for _, want := range []string{
		`caddy_outstatic_relay_logins_total{outcome="started",provider="dev",reason=""} 1`,
		`caddy_outstatic_relay_logins_total{outcome="completed",provider="dev",reason=""} 1`,
		`caddy_outstatic_relay_logins_total{outcome="refused",provider="dev",reason="invalid-state"} 1`,
		`caddy_outstatic_relay_token_redemptions_total{result="ok"} 1`,
		`caddy_outstatic_relay_token_redemptions_total{result="refused"} 1`,
		`caddy_outstatic_key_checks_total{result="ok"}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestDemoRefusesStrangeLoginStart: the demo starts a login only for a
// click on its own page (the guard's rule for the site's script).
func TestDemoRefusesStrangeLoginStart(t *testing.T) {
	tester := newTester(t)
	tester.InitServer(demoConfig(t, t.TempDir()), "caddyfile")
	req, _ := http.NewRequest("GET", ports("http://localhost:9080/demo/login"), nil)
	req.Header.Set("Referer", "https://evil.example/")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("a login start from another site: %d, want 403", res.StatusCode)
	}
}

// TestDevLoginRefusesNonLoopbackListener: the demo config without its
// bind line listens on every interface, and Caddy refuses to start it.
func TestDevLoginRefusesNonLoopbackListener(t *testing.T) {
	cfg := strings.Replace(demoConfig(t, t.TempDir()), "\tbind 127.0.0.1\n", "", 1)
	cfg = strings.Replace(cfg, "admin localhost:"+strings.TrimPrefix(ports("localhost:2999"), "localhost:"), "admin off", 1)
	adapted, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), map[string]any{"filename": "Caddyfile"})
	if err != nil {
		t.Fatal(err)
	}
	err = caddy.Load(adapted, true)
	if err == nil {
		_ = caddy.Stop()
		t.Fatal("Caddy started dev_login on every interface")
	}
	want := "dev_login: server srv0 listens on " + ports(":9080") +
		", which is not a loopback address: bind it to 127.0.0.1 (Caddyfile: bind 127.0.0.1 in the site block), or remove dev_login"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q\nwant it to contain %q", err, want)
	}
}

// TestDevLoginPublicURLCaddyfile: dev_login with a public_url that is not
// loopback is a Caddyfile error at the line that makes it so, whichever
// comes first; and dev_login makes the github block optional.
func TestDevLoginPublicURLCaddyfile(t *testing.T) {
	const proj = " project demo {\n  repo acme/demo\n  callback_origin http://localhost:8080/outstatic\n  member ada owner\n }\n"
	for _, c := range []struct{ input, want string }{
		{"outstatic_relay {\n public_url https://relay.example.com\n dev_login\n" + proj + "}",
			"dev_login needs a loopback public_url (localhost, 127.0.0.1 or [::1]), not https://relay.example.com, at Testfile:3"},
		{"outstatic_relay {\n dev_login\n public_url http://10.0.0.2:8080/relay\n" + proj + "}",
			"dev_login needs a loopback public_url (localhost, 127.0.0.1 or [::1]), not http://10.0.0.2:8080/relay, at Testfile:3"},
		{"outstatic_relay {\n upstream https://outstatic.com/api\n api_key {env.K}\n callback_origin https://a.example/outstatic\n dev_login\n}",
			"Testfile:1 - Error during parsing: dev_login belongs to native mode: forward mode's logins are the service's"},
	} {
		err := new(Relay).UnmarshalCaddyfile(caddyfile.NewTestDispenser(c.input))
		if err == nil || err.Error() != c.want {
			t.Errorf("%q:\n got %v\nwant %s", c.input, err, c.want)
		}
	}
	rl := new(Relay)
	if err := rl.UnmarshalCaddyfile(caddyfile.NewTestDispenser("outstatic_relay {\n public_url http://[::1]:8080/relay\n dev_login\n" + proj + "}")); err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(rl)
	if !strings.Contains(string(js), `"dev_login":true`) || strings.Contains(string(js), `"github"`) {
		t.Errorf("adapted: %s", js)
	}
}

// TestDemoShowsErrorCodes: a login that fails ends, as the stock site's
// does, on the dashboard's path with ?error=; the demo site shows the code
// and what to do there instead of a 404. Here a callback that reaches the
// guard without a login binding (another browser) is sent to
// /outstatic?error=auth-callback-failed, and the page names binding_secret;
// a code the demo does not expect is shown, escaped, with a pointer to the
// troubleshooting page.
func TestDemoShowsErrorCodes(t *testing.T) {
	tester := newTester(t)
	tester.InitServer(demoConfig(t, t.TempDir()), "caddyfile")
	site := ports("http://localhost:9080")
	client := &http.Client{Timeout: 10 * time.Second}
	res, err := client.Get(site + "/api/outstatic/callback?exchange_token=xt_from-another-browser")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	page := string(b)
	if res.StatusCode != http.StatusOK || res.Request.URL.String() != site+"/outstatic?error=auth-callback-failed" {
		t.Fatalf("the refused callback ended at %s (%d)", res.Request.URL, res.StatusCode)
	}
	for _, want := range []string{"The login ended with <code>auth-callback-failed</code>", "another binding_secret", "Pro flags the guard injected"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q:\n%s", want, page)
		}
	}

	res, err = client.Get(site + "/outstatic/?error=" + url.QueryEscape("<b>odd</b>"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	page = string(b)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "<code>&lt;b&gt;odd&lt;/b&gt;</code>") ||
		!strings.Contains(page, "docs/troubleshooting.md") {
		t.Errorf("an unexpected code: %d\n%s", res.StatusCode, page)
	}
	// what is not the dashboard's path is still not found
	res, err = client.Get(site + "/outstatic-not")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("/outstatic-not: %d, want 404", res.StatusCode)
	}
}
