package interop

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakegithub"
	"github.com/caddy-outstatic/caddy-outstatic/internal/testproc"
	"github.com/caddy-outstatic/caddy-outstatic/internal/toolcache"
	"github.com/caddy-outstatic/caddy-outstatic/relay"
)

// relaySecret is the relay's sealing secret in every test; the logs are
// searched for it.
const relaySecret = "interop-relay-secret-0123456789abcdef0123"

// relayStack is a built Caddy running a native relay for project blog,
// whose site (never started: the test plays its part) is siteOrigin.
type relayStack struct {
	// URL is the relay's public URL; Admin Caddy's admin API.
	URL, Admin string
	// Key is the project's API key.
	Key string
	// Site is the project's callback origin.
	Site string
	proc *testproc.Proc
	// client follows no redirects and keeps cookies, as a browser
	// stepping through a login.
	client *http.Client
	// secrets are what must never appear in Caddy's log.
	secrets []string
}

// relayOptions are the relay's login blocks and the secrets they name;
// startRelay asks for them once it knows the relay's URL, so that a
// client registered at a provider can name the relay's callback.
type relayOptions struct {
	// blocks are Caddyfile blocks inside outstatic_relay (oidc, email).
	blocks string
	// env is given to Caddy, for the blocks' {env.*} placeholders, and
	// secrets are searched for in its log at the end.
	env     map[string]string
	secrets []string
}

// startRelay runs the relay in the built Caddy on free loopback ports.
// Members: ada (GitHub) owner, bob@example.com editor.
func startRelay(t *testing.T, options func(relayURL string) relayOptions) *relayStack {
	t.Helper()
	bin := built(t, toolcache.Caddy)
	gh := fakegithub.New("relay-client", "relay-gh-secret", fakegithub.User{Login: "ada", ID: 1})
	gh.Start()
	t.Cleanup(gh.Close)
	key, hash, _, err := relay.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	port, admin := testproc.FreePort(t), testproc.FreePort(t)
	s := &relayStack{
		URL:   fmt.Sprintf("http://127.0.0.1:%d", port),
		Admin: fmt.Sprintf("http://127.0.0.1:%d", admin),
		Key:   key,
		Site:  fmt.Sprintf("http://127.0.0.1:%d/outstatic", testproc.FreePort(t)),
	}
	opts := options(s.URL)
	dir := t.TempDir()
	caddyfile := fmt.Sprintf(`{
	admin 127.0.0.1:%[1]d
	http_port %[2]d
	https_port %[3]d
	storage file_system %[4]s
	skip_install_trust
}
%[5]s {
	outstatic_relay {
		public_url %[5]s
		project blog {
			callback_origin %[6]s
			repo acme/blog
			member ada owner
			member bob@example.com editor
			key_sha256 %[7]s
		}
		github {
			client_id relay-client
			client_secret {env.GH_SECRET}
			base_url %[8]s
		}
%[9]s
		secret {env.RELAY_SECRET}
	}
}
`, admin, port, testproc.FreePort(t), filepath.Join(dir, "storage"), s.URL, s.Site, hash, gh.URL(), opts.blocks)
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(caddyfile), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(testproc.BaseEnv(dir), "GH_SECRET=relay-gh-secret", "RELAY_SECRET="+relaySecret)
	for k, v := range opts.env {
		env = append(env, k+"="+v)
	}
	s.proc = testproc.Start(t, "caddy", dir, env, bin, "run", "--config", path, "--adapter", "caddyfile")
	s.proc.WaitHTTP(t, s.Admin+"/config/", 30*time.Second, nil, nil)
	jar, _ := cookiejar.New(nil)
	s.client = &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	s.secrets = append([]string{relaySecret, "relay-gh-secret", key}, opts.secrets...)
	t.Cleanup(func() { s.checkLog(t) })
	return s
}

// checkLog fails the test if Caddy's log holds a secret of the run.
func (s *relayStack) checkLog(t *testing.T) {
	log := s.proc.Output()
	for _, secret := range s.secrets {
		if secret != "" && strings.Contains(log, secret) {
			t.Errorf("Caddy's log holds a secret (%.6s...)", secret)
		}
	}
	if t.Failed() {
		t.Logf("Caddy's log:\n%s", s.proc.Tail(8000))
	}
}

// Callback is the site's callback route for route ("callback" or
// "magic-link-callback"), in the documented form.
func (s *relayStack) Callback(route string) string {
	return s.Site + "/api/outstatic/" + route
}

// post sends body as JSON to the relay's path with the project's key
// (or none) and returns the status and the body.
func (s *relayStack) post(t *testing.T, path string, withKey bool, body any) (int, string) {
	t.Helper()
	data, _ := json.Marshal(body)
	req, err := http.NewRequest(http.MethodPost, s.URL+path, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if withKey {
		req.Header.Set("Authorization", "Bearer "+s.Key)
	}
	return s.do(t, req)
}

func (s *relayStack) do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	res, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return res.StatusCode, strings.TrimSpace(string(out))
}

// get fetches u without following a redirect: the status, the body and
// where it redirects to.
func (s *relayStack) get(t *testing.T, u string) (int, string, string) {
	t.Helper()
	res, err := s.client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return res.StatusCode, string(out), res.Header.Get("Location")
}

// followUntil follows redirects from u, as a browser, until one goes to
// a URL with the prefix stop (not fetched), and returns that URL and the
// URLs it passed. A page that does not redirect ends the test.
func (s *relayStack) followUntil(t *testing.T, u, stop string) (string, []string) {
	t.Helper()
	var hops []string
	for range 20 {
		if strings.HasPrefix(u, stop) {
			return u, hops
		}
		hops = append(hops, u)
		status, body, next := s.get(t, u)
		if next == "" {
			t.Fatalf("%s answered %d without a redirect (after %v): %.500s", u, status, hops, body)
		}
		base, _ := url.Parse(u)
		ref, err := url.Parse(next)
		if err != nil {
			t.Fatalf("%s redirects to %q: %v", u, next, err)
		}
		u = base.ResolveReference(ref).String()
	}
	t.Fatalf("more than 20 redirects: %v", hops)
	return "", nil
}

// redeem calls exchange-token as the site does; it returns the status
// and the decoded answer.
func (s *relayStack) redeem(t *testing.T, token, callback string) (int, map[string]any) {
	t.Helper()
	status, body := s.post(t, "/outstatic/auth/exchange-token", false, map[string]string{"exchange_token": token, "callback_url": callback})
	var out map[string]any
	_ = json.Unmarshal([]byte(body), &out)
	if out == nil {
		out = map[string]any{"body": body}
	}
	return status, out
}

// exchangeToken is the token in a redirect to callback?exchange_token=.
func exchangeToken(t *testing.T, final, callback string) string {
	t.Helper()
	token, ok := strings.CutPrefix(final, callback+"?exchange_token=")
	if !ok || token == "" {
		t.Fatalf("the login ended at %q, not at %s?exchange_token=", final, callback)
	}
	return token
}
