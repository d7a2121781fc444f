//go:build e2e

package e2e

import (
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

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakeservice"
)

// Names the browser uses. Chromium maps them to 127.0.0.1
// (--host-resolver-rules); nothing else resolves them, so only the browser
// uses them. The site and the Go side reach Caddy on 127.0.0.1.
const (
	publicHost = "blog.localhost" // the site's public name: not the name the site gives itself
	evilHost   = "evil.localhost" // another name for the same Caddy: not a callback origin
)

// graphQLCall is a GraphQL request that reached the GitHub side: the
// authorization the browser sent it with (the session's access token), the
// project id and the operation's name.
type graphQLCall struct {
	Authorization, ProjectID, Operation string
}

// backend is what stands behind the relay. Forward mode: a fake of the
// hosted service, which also plays the provider round trip and GitHub's
// GraphQL. Native mode: the relay itself, with a fake GitHub. The test
// speaks only to this interface, so a topology is swapped in one place.
type backend interface {
	// relayConfig returns the body of the outstatic_relay block.
	relayConfig(s *stack) string
	// guardService is the guard's service: where it checks the key and
	// starts logins.
	guardService(s *stack) string
	// mint issues an exchange token bound to callback, as a login that
	// went through the provider would.
	mint(callback string) string
	// count returns how many calls of a protocol endpoint
	// ("/outstatic/auth/github-exchange", "/outstatic/auth/exchange-token")
	// reached the service side.
	count(endpoint string) int
	// graphQL returns the GraphQL requests that reached the GitHub side.
	graphQL() []graphQLCall
	// email is the address of the user a login logs in.
	email() string
	// projectID is the project's id, which the dashboard sends with its
	// GraphQL calls.
	projectID() string
	// provider is the origin of the sign-in pages the browser passes
	// through on its way back to the callback.
	provider() string
}

// forwardBackend is the relay in forward mode in front of
// internal/fakeservice, standing in for outstatic.com.
type forwardBackend struct {
	svc *fakeservice.Service
	url string
}

// allPermissions makes the user an owner, so that the dashboard shows the
// Settings group, whose Members item is Pro-only.
var allPermissions = []string{"roles.manage", "settings.manage", "members.manage", "invites.manage",
	"collections.manage", "content.manage", "projects.manage"}

// newForwardBackend starts the fake service for key, with the public
// site's callback origin, as outstatic.com would hold it for the project.
func newForwardBackend(t *testing.T, key, public string) *forwardBackend {
	svc := fakeservice.New(key, true, public+"/outstatic")
	svc.Permissions = allPermissions
	srv := httptest.NewServer(svc)
	t.Cleanup(srv.Close)
	t.Cleanup(svc.Release)
	svc.BaseURL = srv.URL
	return &forwardBackend{svc: svc, url: srv.URL}
}

func (b *forwardBackend) relayConfig(s *stack) string {
	return fmt.Sprintf(`upstream %s/api
		api_key {env.OUTSTATIC_E2E_KEY}
		callback_origin %s/outstatic
		app_origin http://localhost:%d`, b.url, s.public, s.sitePort)
}

func (b *forwardBackend) guardService(*stack) string { return b.url + "/api" }

func (b *forwardBackend) mint(callback string) string { return b.svc.Mint(callback) }

func (b *forwardBackend) count(endpoint string) int { return b.svc.Count(endpoint) }

func (b *forwardBackend) email() string { return b.svc.Email }

func (b *forwardBackend) provider() string { return b.url }

func (b *forwardBackend) projectID() string { return b.svc.ProjectID }

func (b *forwardBackend) graphQL() []graphQLCall {
	var out []graphQLCall
	for _, r := range b.svc.Requests() {
		if r.Path != "/github/parser" || r.Method != http.MethodPost {
			continue
		}
		op, _ := r.Body["operationName"].(string)
		if op == "" {
			q, _ := r.Body["query"].(string)
			if f := strings.Fields(q); len(f) > 1 {
				op, _, _ = strings.Cut(f[1], "(")
			}
		}
		out = append(out, graphQLCall{Authorization: r.Authorization, ProjectID: r.Header.Get("X-Project-Id"), Operation: op})
	}
	return out
}

// stack is one running setup: Caddy, the stock site, the backend and a
// header echo, all on 127.0.0.1.
type stack struct {
	key       string // the site's OUTSTATIC_API_KEY, fresh for every run
	caddyPort int
	adminPort int
	sitePort  int
	public    string // the public origin, http://blog.localhost:<caddy>
	evil      string // http://evil.localhost:<caddy>
	relay     string // the relay's origin, the site's OUTSTATIC_API_URL
	backend   backend
	echo      *echo
}

// callback is the public callback a relay login comes back to: the
// documented form under the callback origin.
func (s *stack) callback() string { return s.public + "/outstatic/api/outstatic/callback" }

// caddyfile is the configuration under test. The relay has a site of its
// own (127.0.0.1), so the dashboard's GraphQL is a cross-origin call that
// needs CORS, as it is with a hosted service. The public site block takes
// every other host: the guard, not Caddy's routing, decides which hosts are
// the site's, which is the case the Host checks exist for.
func (s *stack) caddyfile(logFile string) string {
	return fmt.Sprintf(`{
	admin 127.0.0.1:%[1]d
	default_bind 127.0.0.1
	auto_https off
	persist_config off
	grace_period 1s
	log {
		output file %[2]s
		level DEBUG
	}
}

# the relay: the site's OUTSTATIC_API_URL, called by the site and the browser
http://127.0.0.1:%[3]d {
	outstatic_relay {
		%[4]s
	}
}

# the public site
http://:%[3]d {
	outstatic {
		callback_origin %[5]s/outstatic
		app_origin http://localhost:%[6]d
		api_key {env.OUTSTATIC_E2E_KEY}
		service %[7]s
	}
	# a tap that shows what a request looks like once the guard is done
	handle /__echo {
		reverse_proxy 127.0.0.1:%[8]d
	}
	handle {
		reverse_proxy 127.0.0.1:%[6]d
	}
}
`, s.adminPort, logFile, s.caddyPort, s.backend.relayConfig(s), s.public, s.sitePort,
		s.backend.guardService(s), s.echo.port)
}

// siteEnv is everything the stock site is given: what a user sets.
func (s *stack) siteEnv() map[string]string {
	return map[string]string{
		"OUTSTATIC_API_KEY": s.key,
		"OUTSTATIC_API_URL": s.relay,
		"OST_TOKEN_SECRET":  randomString(48),
		"OST_REPO_OWNER":    "acme",
		"OST_REPO_SLUG":     "blog",
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
