package outstatic

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"
)

// idRecorder sends a client-chosen X-Request-Id with every request and
// records the id Caddy gave each one (its X-Caddy-Id response header, set
// from {http.request.uuid}), redirects included.
type idRecorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	ids  map[string]bool
}

func (rt *idRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Request-Id", "client-chosen")
	res, err := rt.next.RoundTrip(r)
	if err == nil {
		rt.mu.Lock()
		rt.ids[res.Header.Get("X-Caddy-Id")] = true
		rt.mu.Unlock()
	}
	return res, err
}

// TestLogEntriesCarryCaddysRequestID: the guard's refusal, a native login's
// steps, a pages action and a pages sign-in whose provider is down are
// logged with request_id, the id Caddy gave the request, not the
// X-Request-Id the client sent.
func TestLogEntriesCarryCaddysRequestID(t *testing.T) {
	gh := adaGitHub()
	gh.Start()
	defer gh.Close()
	// An OpenID Connect issuer that is down: its discovery fails.
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer down.Close()
	dir := t.TempDir()
	logFile := filepath.Join(dir, "caddy.log")
	t.Setenv("TEST_GH_SECRET", "relay-secret")
	t.Setenv("TEST_RELAY_SECRET", strings.Repeat("x", 40))
	t.Setenv("TEST_OIDC_SECRET", "oidc-secret")
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
		}
	}
	http://blog.localhost:9080 {
		header X-Caddy-Id {http.request.uuid}
		outstatic {
			callback_origin http://blog.localhost:9080/outstatic
		}
		respond "site"
	}
	http://relay.localhost:9080 {
		header X-Caddy-Id {http.request.uuid}
		outstatic_relay {
			public_url http://relay.localhost:9080
			project blog {
				callback_origin http://blog.localhost:9080/outstatic
				repo acme/blog
				member ada owner
			}
			github {
				client_id relay-client
				client_secret {env.TEST_GH_SECRET}
				base_url %[3]s
				api_url %[4]s
				graphql_url %[5]s
			}
			oidc corp {
				issuer %[6]s
				client_id corp-client
				client_secret {env.TEST_OIDC_SECRET}
			}
			secret {env.TEST_RELAY_SECRET}
		}
	}
	`, dir, logFile, gh.URL(), gh.APIURL(), gh.GraphQLURL(), down.URL)), "caddyfile")

	rec := &idRecorder{next: caddytest.CreateTestingTransport(), ids: map[string]bool{}}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Transport: rec, Jar: jar}
	do := func(method, u string, form url.Values) {
		t.Helper()
		var res *http.Response
		var err error
		if method == http.MethodPost {
			res, err = browser.PostForm(u, form)
		} else {
			res, err = browser.Get(u)
		}
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	// A guard refusal: a callback on another origin.
	do(http.MethodGet, ports("http://blog.localhost:9080/outstatic/api/outstatic/login?callback=http://evil.example/outstatic/api/outstatic/callback"), nil)
	// A native login (GitHub, for the relay's pages) and a pages action
	// refused without its CSRF token.
	do(http.MethodGet, ports("http://relay.localhost:9080/home/acme/blog/signin?provider=github&next=api-keys"), nil)
	do(http.MethodPost, ports("http://relay.localhost:9080/home/acme/blog/api-keys"), url.Values{"action": {"key"}})
	// A pages sign-in with a provider that is not ready.
	do(http.MethodGet, ports("http://relay.localhost:9080/home/acme/blog/signin?provider=oidc:corp&next=members"), nil)

	want := map[string]bool{
		"refused":                 false, // the guard
		"pages sign-in completed": false, // relay/login
		"pages: signed in":        false, // relay/pages
		"pages: form refused without its CSRF token": false,
		"login provider not ready":                   false, // relay/login, a pages sign-in
	}
	f, err := os.Open(logFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e map[string]any
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		msg, _ := e["msg"].(string)
		if _, ok := want[msg]; !ok {
			continue
		}
		want[msg] = true
		id, _ := e["request_id"].(string)
		if id == "" || !rec.ids[id] {
			t.Errorf("%q (%v): request_id %q is not an id Caddy gave (%v)", msg, e["logger"], id, rec.ids)
		}
	}
	for msg, seen := range want {
		if !seen {
			t.Errorf("no entry %q", msg)
		}
	}
}
