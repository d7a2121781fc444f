// Package hydratest runs Ory Hydra, an OpenID Certified provider, for
// tests: started on free loopback ports with an in-memory database, with
// a login-and-consent app of the test's own (LoginApp) that accepts or
// refuses each login through Hydra's admin API. The binary comes from the
// interop module's tool dependency (toolcache.Hydra).
package hydratest

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testproc"
)

// Options change how Hydra is started.
type Options struct {
	// AuthCodeTTL is how long a code can be exchanged (ttl.auth_code);
	// zero keeps Hydra's default, 10 minutes.
	AuthCodeTTL time.Duration
}

// Server is a running Hydra and its login-and-consent app.
type Server struct {
	// Issuer is the public URL, the issuer of its tokens (no trailing /).
	Issuer string
	// Admin is the admin API's URL.
	Admin string
	// Logins decides each login.
	Logins *LoginApp
	// Proc is the hydra process (its log is Proc.Log).
	Proc *testproc.Proc
}

// Start runs bin (hydra) as `hydra serve all --dev` with DSN=memory, both
// listeners bound to 127.0.0.1, telemetry off, and stops it when the test
// ends. --dev allows an http issuer; nothing else of its checks is
// switched off.
func Start(t testing.TB, bin string, opts Options) *Server {
	t.Helper()
	app := newLoginApp(t)
	public, admin := testproc.FreePort(t), testproc.FreePort(t)
	s := &Server{Issuer: fmt.Sprintf("http://127.0.0.1:%d", public), Admin: fmt.Sprintf("http://127.0.0.1:%d", admin), Logins: app}
	app.admin = s.Admin
	dir := t.TempDir()
	env := append(testproc.BaseEnv(dir),
		"DSN=memory",
		// Hydra wants at least 32 characters; rand.Text has 26 each.
		"SECRETS_SYSTEM="+rand.Text()+rand.Text(),
		"URLS_SELF_ISSUER="+s.Issuer,
		"URLS_LOGIN="+app.URL+"/login",
		"URLS_CONSENT="+app.URL+"/consent",
		"SERVE_PUBLIC_HOST=127.0.0.1", "SERVE_PUBLIC_PORT="+strconv.Itoa(public),
		"SERVE_ADMIN_HOST=127.0.0.1", "SERVE_ADMIN_PORT="+strconv.Itoa(admin),
		// No anonymous usage reports to Ory's servers: the tests reach
		// nothing but loopback.
		"SQA_OPT_OUT=true",
		"LOG_LEVEL=info",
	)
	if opts.AuthCodeTTL > 0 {
		env = append(env, "TTL_AUTH_CODE="+opts.AuthCodeTTL.String())
	}
	s.Proc = testproc.Start(t, "hydra", dir, env, bin, "serve", "all", "--dev", "--sqa-opt-out")
	s.Proc.WaitHTTP(t, s.Admin+"/health/ready", 60*time.Second, nil, func(r *http.Response) bool { return r.StatusCode == 200 })
	s.Proc.WaitHTTP(t, s.Issuer+"/health/ready", 10*time.Second, nil, func(r *http.Response) bool { return r.StatusCode == 200 })
	return s
}

// Client is an OAuth 2.0 client at Hydra, as its admin API names the
// fields.
type Client struct {
	ID     string `json:"client_id,omitempty"`
	Secret string `json:"client_secret,omitempty"`
	// RedirectURIs are the registered redirect URIs.
	RedirectURIs []string `json:"redirect_uris"`
	// Scope lists the scopes the client may ask for, space-separated.
	Scope string `json:"scope"`
	// AuthMethod is token_endpoint_auth_method; "" is Hydra's default,
	// client_secret_basic.
	AuthMethod    string   `json:"token_endpoint_auth_method,omitempty"`
	GrantTypes    []string `json:"grant_types"`
	ResponseTypes []string `json:"response_types"`
}

// CreateClient registers an authorization code client through the admin
// API (POST /admin/clients) and returns it with the secret Hydra made.
func (s *Server) CreateClient(t testing.TB, c Client) Client {
	t.Helper()
	c.GrantTypes, c.ResponseTypes = []string{"authorization_code"}, []string{"code"}
	if c.Scope == "" {
		c.Scope = "openid email profile"
	}
	var out Client
	if status := adminCall(t, http.MethodPost, s.Admin+"/admin/clients", c, &out); status != http.StatusCreated {
		t.Fatalf("hydra: creating client %q: status %d", c.ID, status)
	}
	return out
}

// adminCall sends body as JSON to Hydra's admin API and decodes the
// answer into out; it returns the status.
func adminCall(t testing.TB, method, url string, body, out any) int {
	t.Helper()
	status, err := callJSON(method, url, body, out)
	if err != nil {
		t.Fatalf("hydra admin API %s %s: %v", method, url, err)
	}
	return status
}

// callJSON is adminCall for the login app's handlers, which report
// errors to the browser rather than to the test.
func callJSON(method, url string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	client := &http.Client{Timeout: 10 * time.Second}
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return res.StatusCode, err
	}
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			return res.StatusCode, fmt.Errorf("decoding %s: %v", data, err)
		}
	}
	if res.StatusCode >= 300 {
		return res.StatusCode, fmt.Errorf("status %d: %s", res.StatusCode, data)
	}
	return res.StatusCode, nil
}

// startApp serves h on 127.0.0.1 until the test ends.
func startApp(t testing.TB, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}
