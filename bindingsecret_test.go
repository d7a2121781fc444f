package outstatic

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/caddy-outstatic/caddy-outstatic/guard"
)

// TestBindingFromAnotherInstanceSaysSo: two guards for one site with
// different binding_secrets (two Caddy instances behind one load balancer,
// here two handlers of one Caddy). A login started on one and come back to
// the other is refused with the protocol's auth-callback-failed, and the
// log says, at warn, that the binding was made by another instance or with
// another binding_secret and that the instances must share it. The same
// cookie is good on the guard that made it; a callback with no cookie at
// all is logged as before, at info.
func TestBindingFromAnotherInstanceSaysSo(t *testing.T) {
	app := &appRecorder{}
	upstream := httptest.NewServer(app)
	defer upstream.Close()
	logFile := filepath.Join(t.TempDir(), "caddy.log")
	t.Setenv("OUTSTATIC_TEST_BINDING_A", strings.Repeat("a", 32))
	t.Setenv("OUTSTATIC_TEST_BINDING_B", strings.Repeat("b", 32))
	tester := newTester(t)
	tester.InitServer(ports(fmt.Sprintf(`
	{
		admin localhost:2999
		http_port 9080
		https_port 9443
		grace_period 1ns
		skip_install_trust
		log {
			output file %[2]s
			format json
			level INFO
		}
	}
	http://:9080 {
		@b header X-Instance b
		handle @b {
			outstatic http://blog.localhost:9080/outstatic {
				binding_secret {env.OUTSTATIC_TEST_BINDING_B}
			}
			reverse_proxy %[1]s
		}
		handle {
			outstatic http://blog.localhost:9080/outstatic {
				binding_secret {env.OUTSTATIC_TEST_BINDING_A}
			}
			reverse_proxy %[1]s
		}
	}
	`, strings.TrimPrefix(upstream.URL, "http://"), logFile)), "caddyfile")

	do := guardGet(t)
	binding := loginBinding(t, do, "http://blog.localhost:9080")

	res := do("http://blog.localhost:9080/api/outstatic/callback?exchange_token=token-at-instance-b", binding, "X-Instance", "b")
	if want := ports("http://blog.localhost:9080/outstatic?error=auth-callback-failed"); res.StatusCode != http.StatusTemporaryRedirect || res.Header.Get("Location") != want {
		t.Errorf("callback on the other instance: %d %s, want 307 to %s", res.StatusCode, res.Header.Get("Location"), want)
	}
	if app.reached("token-at-instance-b") {
		t.Error("a token reached the site past a binding from another binding_secret")
	}
	warned := refusalLines(t, logFile, "login binding signed by another instance")
	if len(warned) != 1 {
		t.Fatalf("want one refusal for the foreign binding, got %v", warned)
	}
	for field, want := range map[string]string{
		"level": "warn",
		"why":   "the login binding was made by another Caddy instance or with another binding_secret",
		"fix":   "several instances that serve one site must share binding_secret",
		"route": "callback",
	} {
		if got, _ := warned[0][field].(string); !strings.Contains(got, want) {
			t.Errorf("log field %s = %q, want it to contain %q", field, got, want)
		}
	}

	// the cookie is good where it was made
	do("http://blog.localhost:9080/api/outstatic/callback?exchange_token=token-at-instance-a", binding)
	if !app.reached("token-at-instance-a") {
		t.Errorf("the binding's own guard refused it: %v", app.seen)
	}
	// no cookie: not another instance's doing, and not said to be
	do("http://blog.localhost:9080/api/outstatic/callback?exchange_token=token-without-cookie", nil)
	plain := refusalLines(t, logFile, "exchange token reached a browser that did not start the login")
	if len(plain) != 1 || plain[0]["level"] != "info" {
		t.Errorf("a callback without a binding: %v", plain)
	}
}

// guardGet returns a client's GET through Caddy that does not follow
// redirects, with a cookie and header pairs, its body read and closed.
func guardGet(t *testing.T) func(u string, c *http.Cookie, hdr ...string) *http.Response {
	client := &http.Client{Transport: caddytest.CreateTestingTransport(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return func(u string, c *http.Cookie, hdr ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", ports(u), nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		if c != nil {
			req.AddCookie(c)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
}

// loginBinding starts a login at the guard as the site's script does and
// returns the binding cookie the guard set.
func loginBinding(t *testing.T, get func(string, *http.Cookie, ...string) *http.Response, site string) *http.Cookie {
	t.Helper()
	res := get(site+"/api/outstatic/login", nil, "Sec-Fetch-Site", "same-origin", "Sec-Fetch-Mode", "cors")
	for _, c := range res.Cookies() {
		if c.Name == guard.BindingCookie {
			return &http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	t.Fatalf("login: %d, no binding", res.StatusCode)
	return nil
}

// refusalLines returns the guard's "refused" log entries with reason.
func refusalLines(t *testing.T, logFile, reason string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, e := range logEntries(t, logFile, "refused") {
		if e["reason"] == reason {
			out = append(out, e)
		}
	}
	return out
}

// logEntries returns the JSON log entries of logFile whose message is msg.
func logEntries(t *testing.T, logFile, msg string) []map[string]any {
	t.Helper()
	raw, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, line := range strings.Split(string(raw), "\n") {
		var e map[string]any
		if json.Unmarshal([]byte(line), &e) == nil && e["msg"] == msg {
			out = append(out, e)
		}
	}
	return out
}
