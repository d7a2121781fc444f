//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Names the browser uses. Chromium maps them to 127.0.0.1
// (--host-resolver-rules); nothing else resolves them, so only the browser
// and localClient use them. The site reaches Caddy on 127.0.0.1.
const (
	publicHost = "blog.localhost" // the site's public name: not the name the site gives itself
	evilHost   = "evil.localhost" // another name for the same Caddy: not a callback origin
)

// graphQLCall is a GraphQL request that reached the GitHub side: the token
// it was sent with and the operation's name.
type graphQLCall struct {
	Token, Operation string
}

// backend is what stands behind the relay the site and the browser call
// (the site's OUTSTATIC_API_URL, a relay in forward mode). The test speaks
// only to this interface, so a topology is swapped in one place.
type backend interface {
	// relayConfig returns the body of the forward relay's block.
	relayConfig(s *stack) string
	// sites returns the Caddyfile site blocks the backend adds, if any.
	sites(s *stack) string
	// guardService is the guard's service: where it checks the key and
	// starts logins.
	guardService(s *stack) string
	// ready runs once Caddy answers, before the site starts.
	ready(t *testing.T, s *stack)
	// mint returns an exchange token for the public callback from a login
	// that went through the provider, in another client than the browser.
	mint(t *testing.T, s *stack) string
	// count returns how many calls of a protocol endpoint
	// ("/outstatic/auth/github-exchange", "/outstatic/auth/exchange-token")
	// reached the service.
	count(t *testing.T, endpoint string) int
	// graphQL returns the GraphQL requests that reached the GitHub side.
	graphQL() []graphQLCall
	// githubToken returns the token the GitHub side must see on the
	// GraphQL calls of the session whose access token is accessToken.
	githubToken(t *testing.T, accessToken string) string
	// email is the address of the user a login logs in.
	email() string
	// projectID is the project's id, which the dashboard sends with its
	// GraphQL calls.
	projectID() string
	// hops are the prefixes of the URLs the browser must pass through, in
	// order, on its way from the click to the public callback.
	hops() []string
	// screenshot names the file, under testdata/out, the dashboard's
	// screenshot is written to.
	screenshot() string
}

// allPermissions are an owner's: the dashboard shows the Settings group,
// whose Members item is Pro-only, only with settings.manage.
var allPermissions = []string{"roles.manage", "settings.manage", "members.manage", "invites.manage",
	"collections.manage", "content.manage", "projects.manage"}

// stack is one running setup: Caddy, the stock site, the backend and a
// header echo, all on 127.0.0.1.
type stack struct {
	// tls serves the public site and the relay over https with Caddy's
	// tls internal (under the test CA, tls_test.go), as sites are
	// deployed; the app stays on plain http behind Caddy. Otherwise
	// everything is plain http, as in local development.
	tls       bool
	key       string // the site's OUTSTATIC_API_KEY, fresh for every run
	caddyPort int
	adminPort int
	sitePort  int
	storage   string   // Caddy's storage: the native relay's keys and tokens
	public    string   // the public origin, http(s)://blog.localhost:<caddy>
	evil      string   // http(s)://evil.localhost:<caddy>
	relay     string   // the forward relay's origin, the site's OUTSTATIC_API_URL
	bin       string   // the Caddy built from this repository
	caddyEnv  []string // what Caddy's {env.*} placeholders read
	backend   backend
	echo      *echo
}

// callback is the public callback a relay login comes back to: the
// documented form under the callback origin.
func (s *stack) callback() string { return s.public + "/outstatic/api/outstatic/callback" }

// bindingCookie is the name of the guard's login binding cookie: with the
// __Host- prefix on an https site. otherBindingCookie is the other name.
func (s *stack) bindingCookie() string {
	if s.tls {
		return "__Host-ost_login_binding"
	}
	return "ost_login_binding"
}

func (s *stack) otherBindingCookie() string {
	if s.tls {
		return "ost_login_binding"
	}
	return "__Host-ost_login_binding"
}

// browserOptions are the Chromium flags the stack needs: with tls, no
// certificate errors, as the test CA Caddy issues under is not in
// Chromium's certificate store.
func (s *stack) browserOptions() []chromedp.ExecAllocatorOption {
	if s.tls {
		return []chromedp.ExecAllocatorOption{chromedp.Flag("ignore-certificate-errors", true)}
	}
	return nil
}

// admin is the address of Caddy's admin API.
func (s *stack) admin() string { return fmt.Sprintf("127.0.0.1:%d", s.adminPort) }

// caddyfile is the configuration under test. The relay has a site of its
// own (127.0.0.1), so the dashboard's GraphQL is a cross-origin call that
// needs CORS, as it is with a hosted service. The public site block takes
// every other host: the guard, not Caddy's routing, decides which hosts are
// the site's, which is the case the Host checks exist for.
func (s *stack) caddyfile(logFile string) string {
	// Plain http: one site block per port, for every host. With tls: the
	// names the browser uses, each with a certificate from Caddy's own CA.
	httpsOpts, relayAddr, publicAddr, tlsLine := "auto_https off", "http://127.0.0.1:%[5]d", "http://:%[5]d", ""
	if s.tls {
		// Caddy issues under the test CA (setUpStack made it)
		cert, key := testCA.cert, testCA.key
		httpsOpts = "auto_https disable_redirects\n\tskip_install_trust\n\tpki {\n\t\tca local {\n\t\t\troot {\n\t\t\t\tcert " + cert +
			"\n\t\t\t\tkey " + key + "\n\t\t\t}\n\t\t}\n\t}"
		relayAddr = "https://127.0.0.1:%[5]d"
		publicAddr = "https://" + publicHost + ":%[5]d, https://" + evilHost + ":%[5]d"
		tlsLine = "\n\ttls internal"
	}
	return fmt.Sprintf(`{
	admin %[1]s
	default_bind 127.0.0.1
	`+httpsOpts+`
	persist_config off
	grace_period 1s
	storage file_system %[2]s
	log {
		output file %[3]s
		level DEBUG
	}
}
%[4]s
# the relay: the site's OUTSTATIC_API_URL, called by the site and the browser
`+relayAddr+` {`+tlsLine+`
	outstatic_relay {
		%[6]s
	}
}

# the public site
`+publicAddr+` {`+tlsLine+`
	outstatic {
		%[7]s
		app_origin http://localhost:%[8]d
		api_key {env.OUTSTATIC_E2E_KEY}
		service %[9]s
	}
	# a tap that shows what a request looks like once the guard is done
	handle /__echo {
		reverse_proxy 127.0.0.1:%[10]d
	}
	handle {
		reverse_proxy 127.0.0.1:%[8]d
	}
}
`, s.admin(), s.storage, logFile, s.backend.sites(s), s.caddyPort, s.backend.relayConfig(s), s.guardOrigin(),
		s.sitePort, s.backend.guardService(s), s.echo.port)
}

// originLearner is a backend whose guard may leave callback_origin out,
// to learn the project's origins from the key check.
type originLearner interface{ learnsOrigins() bool }

// guardOrigin is the guard's callback_origin line: none when the backend's
// guard learns them.
func (s *stack) guardOrigin() string {
	if l, ok := s.backend.(originLearner); ok && l.learnsOrigins() {
		return "# no callback_origin: learned from the relay's key check"
	}
	return "callback_origin " + s.public + "/outstatic"
}

// siteEnv is everything the stock site is given: what a user sets.
func (s *stack) siteEnv() map[string]string {
	env := map[string]string{
		"OUTSTATIC_API_KEY": s.key,
		"OUTSTATIC_API_URL": s.relay,
		"OST_TOKEN_SECRET":  randomString(48),
		"OST_REPO_OWNER":    "acme",
		"OST_REPO_SLUG":     "blog",
	}
	if s.tls {
		// The site calls the relay over https: it trusts the test CA,
		// under which Caddy issues.
		env["NODE_EXTRA_CA_CERTS"] = testCA.cert
	}
	return env
}

// waitPro waits until the key check answers Pro through the whole chain:
// at the relay the site calls, and at the guard, which shows the site
// X-Outstatic-Pro. The site caches a failed key check for 30 minutes, so
// it must not start before.
func (s *stack) waitPro(t *testing.T) {
	t.Helper()
	client := localClient()
	deadline := time.Now().Add(20 * time.Second)
	var relay int
	var pro string
	for time.Now().Before(deadline) {
		relay, _ = getJSON(t, s.relay+"/outstatic/project", s.key)
		if res, err := client.Get(s.public + "/__echo"); err == nil {
			var h http.Header
			_ = json.NewDecoder(res.Body).Decode(&h)
			res.Body.Close()
			pro = h.Get("X-Outstatic-Pro")
		}
		if relay == http.StatusOK && pro == "true" {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("the key check is not Pro through the chain: the relay answers %d, the guard sets X-Outstatic-Pro %q", relay, pro)
}

// getJSON sends a keyed GET and decodes the JSON answer.
func getJSON(t *testing.T, rawURL, key string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := localClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// localClient is an HTTP client for the Go side of the test: it follows
// no redirect, and it reaches the names only the browser resolves
// (blog.localhost) on 127.0.0.1, as the browser does.
func localClient() *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				host, port, err := net.SplitHostPort(addr)
				if err == nil && strings.HasSuffix(host, ".localhost") {
					addr = net.JoinHostPort("127.0.0.1", port)
				}
				return dialer.DialContext(ctx, network, addr)
			},
			TLSClientConfig: clientTLS(),
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// newKey returns a key in the form the service hands out.
func newKey() string { return "ost_" + randomString(32) }

// randomString returns n random bytes, base64url-encoded.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// echo records the headers of the requests Caddy passes to it and sends
// them back as JSON.
type echo struct {
	port int
	mu   sync.Mutex
	last http.Header
}

// newEcho starts an echo on 127.0.0.1.
func newEcho(t *testing.T) *echo {
	e := &echo{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.last = r.Header.Clone()
		e.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(r.Header)
	}))
	t.Cleanup(srv.Close)
	e.port = srv.Listener.Addr().(*net.TCPAddr).Port
	return e
}

// seen returns the headers of the last request.
func (e *echo) seen() http.Header {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.last.Clone()
}
