package outstatic

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakegithub"
	"github.com/caddy-outstatic/caddy-outstatic/internal/fakeservice"
	"github.com/caddy-outstatic/caddy-outstatic/internal/testwait"
	"github.com/caddy-outstatic/caddy-outstatic/relay"
)

// Guards that learn their callback origins from the relay's key check, in
// one in-process Caddy. The two-process form (a relay and a guard, each
// its own Caddy) is guardlearn_procs_test.go.

// siteAnswer is one request to a site block of the test Caddy.
type siteAnswer struct {
	status int
	body   string // the site's page, or the guard's JSON refusal
}

// code is the refusal's error code, "" for a page.
func (a siteAnswer) code() string {
	var out struct{ Error string }
	_ = json.Unmarshal([]byte(a.body), &out)
	return out.Error
}

// siteGet sends GET u (a URL with the test's ports) through the testing
// transport, with header pairs.
func siteGet(t *testing.T, u string, header ...string) siteAnswer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, ports(u), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	client := &http.Client{Transport: caddytest.CreateTestingTransport(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return siteAnswer{res.StatusCode, strings.TrimSpace(string(b))}
}

// blogRelay is a native relay block for project blog, with one configured
// callback origin and the key whose SHA-256 is hash, logging in on gh.
func blogRelay(publicURL, origin, hash string, gh *fakegithub.Server) string {
	return fmt.Sprintf(`outstatic_relay {
		public_url %s
		project blog {
			callback_origin %s
			repo acme/blog
			plan pro
			member ada owner
			key_sha256 %s
		}
		github {
			client_id relay-client
			client_secret {env.TEST_GH_SECRET}
			base_url %s
			api_url %s
		}
		secret {env.TEST_RELAY_SECRET}
	}`, publicURL, origin, hash, gh.URL(), gh.APIURL())
}

// loginStart is the sign-in page's fetch of the login route.
var loginStart = []string{"Sec-Fetch-Site", "same-origin", "Sec-Fetch-Mode", "cors"}

// TestGuardLearnsOriginsInCaddy: a native relay and two guards in one
// Caddy. The guard without callback_origin accepts the project's
// configured origin, and an origin added through the admin API once its
// verdict is refreshed (cache_ttl 1s), for the Host check and for the
// logins it starts; the origin removed, it refuses it again. The guard
// with callback_origin lines accepts only those the relay allows too, and
// logs the one it does not.
func TestGuardLearnsOriginsInCaddy(t *testing.T) {
	gh := adaGitHub()
	gh.Start()
	defer gh.Close()
	key, hash, _, err := relay.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_GH_SECRET", "relay-secret")
	t.Setenv("TEST_RELAY_SECRET", strings.Repeat("x", 40))
	t.Setenv("TEST_GUARD_KEY", key)
	logFile := filepath.Join(t.TempDir(), "caddy.log")
	newTester(t).InitServer(ports(fmt.Sprintf(`
	{
		admin localhost:2999
		http_port 9080
		https_port 9443
		grace_period 1ns
		skip_install_trust
		storage file_system %[1]s
		log {
			output file %[2]s
			format json
			level INFO
		}
	}
	http://127.0.0.1:9080 {
		%[3]s
	}
	http://blog.localhost:9080, http://preview.localhost:9080, http://old.localhost:9080 {
		@narrowing header X-Test-Guard narrowing
		handle @narrowing {
			outstatic {
				callback_origin http://blog.localhost:9080/outstatic http://old.localhost:9080/outstatic
				api_key {env.TEST_GUARD_KEY}
				service http://127.0.0.1:9080
				cache_ttl 1s
			}
			respond "narrowing site"
		}
		handle {
			outstatic {
				api_key {env.TEST_GUARD_KEY}
				service http://127.0.0.1:9080
				cache_ttl 1s
			}
			respond "site"
		}
	}
	`, caddyStorage(t, "guardlearn"), logFile, blogRelay("http://127.0.0.1:9080", "http://blog.localhost:9080/outstatic", hash, gh))), "caddyfile")

	user := func(host string, header ...string) siteAnswer {
		return siteGet(t, "http://"+host+":9080/api/outstatic/user", header...)
	}
	accepted := func(host string) func() bool {
		return func() bool { return user(host).body == "site" }
	}
	refused := func(host string) func() bool {
		return func() bool { return user(host).code() == "invalid-callback-domain" }
	}
	testwait.Until(t, "the guard accepts the relay's configured origin", accepted("blog.localhost"))
	if a := user("preview.localhost"); a.code() != "invalid-callback-domain" {
		t.Fatalf("an origin the relay does not have: %d %s", a.status, a.body)
	}

	preview := ports("http://preview.localhost:9080/outstatic")
	if status, body := adminRequest(t, "POST", "/outstatic/origins/blog/add?origin="+url.QueryEscape(preview), ""); status != 200 {
		t.Fatalf("origin add: %d %s", status, body)
	}
	testwait.Until(t, "the guard accepts the added origin", accepted("preview.localhost"))
	start := siteGet(t, "http://preview.localhost:9080/api/outstatic/login", loginStart...)
	var started struct{ URL string }
	if err := json.Unmarshal([]byte(start.body), &started); err != nil || start.status != 200 ||
		!strings.HasPrefix(started.URL, ports("http://127.0.0.1:9080/outstatic/auth/github/start?")) {
		t.Fatalf("a login started on the added origin: %d %s", start.status, start.body)
	}

	// the narrowing guard: its own origins, as far as the relay allows them
	narrowing := []string{"X-Test-Guard", "narrowing"}
	for host, want := range map[string]string{"blog.localhost": "", "old.localhost": "invalid-callback-domain", "preview.localhost": "invalid-callback-domain"} {
		a := user(host, narrowing...)
		if a.code() != want || (want == "" && a.body != "narrowing site") {
			t.Errorf("narrowing guard, %s: %d %s, want %q", host, a.status, a.body, want)
		}
	}
	if n := countLines(t, logFile, `"callback origin refused: the relay does not allow it for the project"`); n == 0 ||
		countLines(t, logFile, `"origin":"`+ports("http://old.localhost:9080/outstatic")+`"`) == 0 {
		t.Errorf("no log line says old.localhost is refused because of the relay")
	}

	if status, body := adminRequest(t, "POST", "/outstatic/origins/blog/remove?origin="+url.QueryEscape(preview), ""); status != 200 {
		t.Fatalf("origin remove: %d %s", status, body)
	}
	testwait.Until(t, "the guard refuses the removed origin", refused("preview.localhost"))
	if a := siteGet(t, "http://preview.localhost:9080/api/outstatic/login", loginStart...); a.code() != "invalid-callback-domain" {
		t.Fatalf("a login started on the removed origin: %d %s", a.status, a.body)
	}
	if !accepted("blog.localhost")() {
		t.Fatal("the configured origin is refused after the removal")
	}
}

// TestGuardWithoutOriginsInCaddy: a guard without callback_origin whose
// service sends no callback origins (a forward relay in front of a fake of
// outstatic.com) has nothing to learn: with its key verified Pro, it
// refuses every auth route with project-url-not-configured and logs why,
// while a guard with callback_origin behind the same relay works. A guard
// whose relay does not answer at all refuses the same way, and logs that
// it waits for the relay.
func TestGuardWithoutOriginsInCaddy(t *testing.T) {
	svc := fakeservice.New(testKey, true, "http://blog.localhost:9080/outstatic")
	srv := httptest.NewServer(svc)
	defer srv.Close()
	defer svc.Release()
	svc.BaseURL = srv.URL
	t.Setenv("TEST_GUARD_KEY", testKey)
	logFile := filepath.Join(t.TempDir(), "caddy.log")
	down := fmt.Sprintf("http://127.0.0.1:%d", freeLoopbackPort())
	newTester(t).InitServer(ports(fmt.Sprintf(`
	{
		admin localhost:2999
		http_port 9080
		https_port 9443
		grace_period 1ns
		skip_install_trust
		log {
			output file %[1]s
			format json
			level INFO
		}
	}
	http://127.0.0.1:9080 {
		outstatic_relay {
			upstream %[2]s/api
			api_key {env.TEST_GUARD_KEY}
			callback_origin http://blog.localhost:9080/outstatic
		}
	}
	http://blog.localhost:9080 {
		@own header X-Test-Guard own
		handle @own {
			outstatic {
				callback_origin http://blog.localhost:9080/outstatic
				api_key {env.TEST_GUARD_KEY}
				service http://127.0.0.1:9080
			}
			respond "site"
		}
		@waiting header X-Test-Guard waiting
		handle @waiting {
			outstatic {
				api_key {env.TEST_GUARD_KEY}
				service %[3]s
			}
			respond "site"
		}
		handle {
			outstatic {
				api_key {env.TEST_GUARD_KEY}
				service http://127.0.0.1:9080
			}
			respond "pro={http.request.header.X-Outstatic-Pro}"
		}
	}
	`, logFile, srv.URL, down)), "caddyfile")

	testwait.Until(t, "the key is verified Pro through the forward relay", func() bool {
		return siteGet(t, "http://blog.localhost:9080/").body == "pro=true"
	})
	for _, p := range []string{"/api/outstatic/user", "/outstatic/api/outstatic/callback?exchange_token=xt_1", "/api/outstatic/login"} {
		if a := siteGet(t, "http://blog.localhost:9080"+p, loginStart...); a.status != 400 || a.code() != "project-url-not-configured" {
			t.Errorf("%s: %d %s", p, a.status, a.body)
		}
	}
	if countLines(t, logFile, "answers no callback origins (outstatic.com sends none): set callback_origin in the guard") == 0 {
		t.Error("the log does not say the service answers no callback origins")
	}
	if a := siteGet(t, "http://blog.localhost:9080/api/outstatic/user", "X-Test-Guard", "own"); a.body != "site" {
		t.Errorf("the guard with callback_origin: %d %s", a.status, a.body)
	}

	if a := siteGet(t, "http://blog.localhost:9080/api/outstatic/user", "X-Test-Guard", "waiting"); a.status != 400 || a.code() != "project-url-not-configured" {
		t.Errorf("the guard whose relay is down: %d %s", a.status, a.body)
	}
	if countLines(t, logFile, "waiting for the relay") == 0 {
		t.Error("the log does not say the guard waits for the relay")
	}
}
