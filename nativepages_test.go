package outstatic

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakegithub"

	"github.com/caddyserver/caddy/v2/caddytest"
)

// TestRelayPagesInCaddy runs the relay's own pages in real Caddy: a
// sign-in through a fake GitHub, the pages' headers, a form refused
// without its CSRF token and for a role without the permission, a key
// generated on the API Keys page, and the stored callback origins shared
// by the page, the admin API and `caddy outstatic origin`.
func TestRelayPagesInCaddy(t *testing.T) {
	gh := adaGitHub()
	gh.Start()
	defer gh.Close()
	startNativeRelay(t, gh, t.TempDir(), "member bob editor", "")

	relayURL := ports("http://relay.localhost:9080")
	newBrowser := func() *http.Client {
		jar, _ := cookiejar.New(nil)
		return &http.Client{Transport: caddytest.CreateTestingTransport(), Jar: jar}
	}
	get := func(c *http.Client, path string) (int, string, http.Header, string) {
		t.Helper()
		res, err := c.Get(relayURL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b), res.Header, res.Request.URL.String()
	}
	post := func(c *http.Client, path string, form url.Values) (int, string) {
		t.Helper()
		res, err := c.PostForm(relayURL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	csrfRe := regexp.MustCompile(`name="csrf" value="([^"]+)"`)

	// Sign in as ada (owner), through GitHub and back.
	ada := newBrowser()
	st, body, h, last := get(ada, "/home/acme/blog/signin?provider=github&next=api-keys")
	if st != http.StatusOK || !strings.HasSuffix(last, "/home/acme/blog/api-keys") || !strings.Contains(body, "Callback origins") {
		t.Fatalf("sign-in ended at %s with %d", last, st)
	}
	if h.Get("X-Frame-Options") != "DENY" || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("headers: %v", h)
	}
	token := csrfRe.FindStringSubmatch(body)[1]

	// Without its token the form is refused, and nothing changes.
	if st, _ := post(ada, "/home/acme/blog/api-keys", url.Values{"action": {"key"}}); st != http.StatusForbidden {
		t.Fatalf("generate without CSRF: %d, want 403", st)
	}
	bin := caddyBinary(t)
	cli := func(args ...string) (string, error) {
		out, err := exec.Command(bin, append(append([]string{"outstatic"}, args...), "--address", ports("localhost:2999"))...).CombinedOutput()
		return string(out), err
	}
	if out, _ := cli("key", "list"); strings.Contains(out, "blog") {
		t.Fatalf("a key exists after a refused form: %s", out)
	}
	// With it, the key is shown once.
	st, body = post(ada, "/home/acme/blog/api-keys", url.Values{"action": {"key"}, "csrf": {token}})
	m := regexp.MustCompile(`value="(ost_[A-Za-z0-9_-]+)"`).FindStringSubmatch(body)
	if st != http.StatusOK || m == nil {
		t.Fatalf("generate: %d", st)
	}
	key := m[1]
	if out, err := cli("key", "list"); err != nil || !strings.Contains(out, key[:12]) || strings.Contains(out, key) {
		t.Fatalf("key list: %v\n%s", err, out)
	}

	// An origin added with the CLI shows on the page and takes callbacks.
	if out, err := cli("origin", "add", "http://preview.localhost:9080/outstatic", "--project", "blog"); err != nil || !strings.Contains(out, "stored") {
		t.Fatalf("origin add: %v\n%s", err, out)
	}
	if out, err := cli("origin", "add", "http://preview.localhost:9080/admin", "--project", "blog"); err == nil || !strings.Contains(out, "/outstatic") {
		t.Fatalf("a bad origin: %v\n%s", err, out)
	}
	if _, body, _, _ = get(ada, "/home/acme/blog/api-keys"); !strings.Contains(body, "http://preview.localhost:9080/outstatic") {
		t.Fatal("the stored origin is not on the page")
	}
	req, _ := http.NewRequest(http.MethodPost, relayURL+"/outstatic/auth/github-exchange",
		strings.NewReader(`{"callback_url":"http://preview.localhost:9080/outstatic/api/outstatic/callback"}`))
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := (&http.Client{Transport: caddytest.CreateTestingTransport()}).Do(req)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("github-exchange on the stored origin: %v %v", res.StatusCode, err)
	}
	res.Body.Close()
	if out, err := cli("origin", "remove", "http://preview.localhost:9080/outstatic", "--project", "blog"); err != nil {
		t.Fatalf("origin remove: %v\n%s", err, out)
	}
	if out, _ := cli("origin", "list", "--project", "blog"); strings.Contains(out, "preview") || !strings.Contains(out, "Caddyfile") {
		t.Fatalf("origin list: %s", out)
	}

	// bob is an editor: he signs in, but may not open the API Keys page
	// nor post its form, even with his own valid token.
	bob := newBrowser()
	gh.SetUser(fakegithub.User{Login: "bob", ID: 2})
	st, body, _, _ = get(bob, "/home/acme/blog/signin?provider=github&next=api-keys")
	if st != http.StatusForbidden || !strings.Contains(body, "does not allow") {
		t.Fatalf("editor on api-keys: %d", st)
	}
	bobToken := csrfRe.FindStringSubmatch(body)[1] // the sign-out form's
	if st, _ := post(bob, "/home/acme/blog/api-keys", url.Values{"action": {"key"}, "csrf": {bobToken}}); st != http.StatusForbidden {
		t.Fatalf("editor generating a key: %d, want 403", st)
	}
}
