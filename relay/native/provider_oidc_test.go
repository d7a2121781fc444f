package native

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"
	"golang.org/x/oauth2"
)

// oidcEnv is the native environment with an OpenID Connect login at a
// mockoidc issuer on 127.0.0.1.
func oidcEnv(t *testing.T) (*nativeEnv, *mockoidc.MockOIDC) {
	t.Helper()
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	env := newNativeEnv(t, func(_ int, c *NativeConfig) {
		c.OIDC = &OIDCIssuer{Name: "google", Issuer: m.Issuer(), ClientID: m.ClientID, ClientSecret: m.ClientSecret}
	})
	return env, m
}

// googleStart calls #3 on relay i and follows the start route to the
// issuer's authorize URL.
func (e *nativeEnv) googleStart(t *testing.T, i int, body map[string]any) string {
	t.Helper()
	status, out, _ := e.call(t, i, "POST", "/outstatic/auth/google-exchange", e.key, body)
	start, _ := out["url"].(string)
	if status != 200 || !strings.HasPrefix(start, e.urls[i]+"/outstatic/auth/oidc/start?s=") {
		t.Fatalf("google-exchange: %d %v", status, out)
	}
	_, authorize := e.follow(t, start)
	return authorize
}

// googleLogin runs the whole hop for the queued user and returns where
// the browser ends.
func (e *nativeEnv) googleLogin(t *testing.T, i int, edit func(url.Values)) string {
	t.Helper()
	authorize := e.googleStart(t, i, map[string]any{"callbackUrl": nativeCallback,
		"returnUrl": "http://localhost:3000/outstatic/collections"})
	u, err := url.Parse(authorize)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		q := u.Query()
		edit(q)
		u.RawQuery = q.Encode()
	}
	_, back := e.follow(t, u.String())
	if !strings.HasPrefix(back, e.urls[i]+"/outstatic/auth/oidc/callback?") {
		t.Fatalf("issuer sent the browser to %q", back)
	}
	_, final := e.follow(t, back)
	return final
}

func TestOIDCLoginEndToEnd(t *testing.T) {
	env, m := oidcEnv(t)
	authorize := env.googleStart(t, 0, map[string]any{"callbackUrl": nativeCallback})
	q, _ := url.Parse(authorize)
	if !strings.HasPrefix(authorize, m.AuthorizationEndpoint()+"?") || q.Query().Get("code_challenge_method") != "S256" ||
		q.Query().Get("nonce") == "" || !strings.Contains(q.Query().Get("scope"), "email") {
		t.Fatalf("start sent the browser to %q", authorize)
	}

	// A member by verified address, in another case; the stock site names
	// its listen address in returnUrl, which the relay maps to the public
	// one.
	m.QueueUser(&mockoidc.MockUser{Subject: "b1", Email: "BOB@example.com", EmailVerified: true})
	final := env.googleLogin(t, 1, nil)
	token := tokenOf(t, final)
	status, out, _ := env.call(t, 0, "POST", "/outstatic/auth/exchange-token", "",
		map[string]string{"exchange_token": token, "callback_url": nativeCallback})
	if status != 200 {
		t.Fatalf("exchange-token: %d %v", status, out)
	}
	user := out["user"].(map[string]any)
	if user["email"] != "BOB@example.com" || len(user["permissions"].([]any)) != 2 ||
		out["return_url"] != "https://blog.example.com/outstatic/collections" {
		t.Fatalf("exchange-token: %v", out)
	}
	// No GitHub token: the parser says so plainly.
	access := out["session"].(map[string]any)["access_token"].(string)
	req, _ := http.NewRequest("POST", env.urls[0]+"/github/parser", strings.NewReader(`{"query":"{ viewer { login } }"}`))
	req.Header.Set("Authorization", "Bearer "+access)
	res, err := env.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 403 {
		t.Fatalf("parser with an OIDC session: %d", res.StatusCode)
	}
}

func TestOIDCRefusals(t *testing.T) {
	env, m := oidcEnv(t)
	cases := []struct {
		name string
		user *mockoidc.MockUser
		edit func(url.Values)
		want string
	}{
		{"stranger", &mockoidc.MockUser{Subject: "s", Email: "stranger@example.com", EmailVerified: true}, nil, "?error=not-collaborator"},
		{"unverified address", &mockoidc.MockUser{Subject: "u", Email: "bob@example.com"}, nil, "?error=missing-user-data"},
		// The issuer signs whatever nonce it was given: one that is not the
		// login's is refused.
		{"another nonce", &mockoidc.MockUser{Subject: "n", Email: "bob@example.com", EmailVerified: true},
			func(q url.Values) { q.Set("nonce", "attacker") }, "?error=google-relay-failed"},
		// PKCE: the issuer refuses a verifier that does not match.
		{"another challenge", &mockoidc.MockUser{Subject: "c", Email: "bob@example.com", EmailVerified: true},
			func(q url.Values) { q.Set("code_challenge", strings.Repeat("A", 43)) }, "?error=google-relay-failed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m.QueueUser(tc.user)
			if final := env.googleLogin(t, 0, tc.edit); final != nativeCallback+tc.want {
				t.Fatalf("ended at %q, want %q", final, nativeCallback+tc.want)
			}
		})
	}

	// A state is good once: replaying the issuer's return is refused.
	m.QueueUser(&mockoidc.MockUser{Subject: "r", Email: "bob@example.com", EmailVerified: true})
	authorize := env.googleStart(t, 0, map[string]any{"callbackUrl": nativeCallback})
	_, back := env.follow(t, authorize)
	if _, final := env.follow(t, back); !strings.HasPrefix(final, nativeCallback+"?exchange_token=") {
		t.Fatalf("first return: %q", final)
	}
	if _, final := env.follow(t, back); final != nativeCallback+"?error=invalid-state" {
		t.Fatalf("replayed return: %q", final)
	}
	// An OIDC start value is not good at GitHub's start route.
	_, out, _ := env.call(t, 0, "POST", "/outstatic/auth/google-exchange", env.key, map[string]any{"callbackUrl": nativeCallback})
	start := out["url"].(string)
	if status, _ := env.follow(t, strings.Replace(start, "/oidc/start", "/github/start", 1)); status != 400 {
		t.Fatalf("OIDC start at GitHub's route: %d", status)
	}

	for _, tc := range []struct {
		name, auth string
		body       map[string]any
		status     int
		want       string
	}{
		{"bad key", "ost_nope", map[string]any{"callbackUrl": nativeCallback}, 401, `{"error":"invalid-api-key"}`},
		{"foreign callback", env.key, map[string]any{"callbackUrl": "https://evil.example/outstatic/api/outstatic/callback"}, 400, `{"error":"invalid-callback-domain"}`},
		{"wrong route", env.key, map[string]any{"callbackUrl": "https://blog.example.com/outstatic/api/outstatic/user"}, 400, `{"error":"invalid-callback-target"}`},
		{"foreign return", env.key, map[string]any{"callbackUrl": nativeCallback, "returnUrl": "https://evil.example/outstatic"}, 400, `{"error":"invalid-callback-domain"}`},
		{"no callback", env.key, map[string]any{"returnUrl": "https://blog.example.com/outstatic"}, 400, `{"error":"invalid-callback-target"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if status, body := rawCall(t, env, "POST", "/outstatic/auth/google-exchange", tc.auth, tc.body); status != tc.status || body != tc.want {
				t.Fatalf("%d %s, want %d %s", status, body, tc.status, tc.want)
			}
		})
	}
}

func TestOIDCIssuerDownAtStart(t *testing.T) {
	// The issuer is discovered at the first login, so the relay starts
	// without it; a login while it is down fails back to the site, and
	// the next one, once it is up, works.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	env := newNativeEnv(t, func(_ int, c *NativeConfig) {
		c.OIDC = &OIDCIssuer{Name: "google", Issuer: "http://" + addr + "/oidc", ClientID: m.ClientID, ClientSecret: m.ClientSecret}
	})
	if final := env.googleStart(t, 0, map[string]any{"callbackUrl": nativeCallback}); final != nativeCallback+"?error=google-relay-failed" {
		t.Fatalf("issuer down: %q", final)
	}
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the issuer's port was taken meanwhile: %v", err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	m.QueueUser(&mockoidc.MockUser{Subject: "b", Email: "bob@example.com", EmailVerified: true})
	if final := env.googleLogin(t, 0, nil); !strings.HasPrefix(final, nativeCallback+"?exchange_token=") {
		t.Fatalf("issuer up: %q", final)
	}
}

func TestOIDCNotConfigured(t *testing.T) {
	env := newNativeEnv(t, nil)
	if status, body := rawCall(t, env, "POST", "/outstatic/auth/google-exchange", env.key, map[string]any{"callbackUrl": nativeCallback}); status != 501 || body != `{"error":"not-supported"}` {
		t.Fatalf("%d %s", status, body)
	}
}

func TestSiteReturnURL(t *testing.T) {
	for _, tc := range []struct{ checked, callback, want string }{
		// the stock site names its listen address: the checked path and
		// query go back on it, where the site follows them
		{"https://blog.example.com/outstatic/collections?x=1", "http://localhost:3000/api/outstatic/magic-link-callback",
			"http://localhost:3000/outstatic/collections?x=1"},
		// a site that names its public origin gets it back as checked
		{"https://blog.example.com/outstatic", nativeCallback, "https://blog.example.com/outstatic"},
		// a callback that is no absolute http(s) URL changes nothing
		{"https://blog.example.com/outstatic", "javascript:alert(1)", "https://blog.example.com/outstatic"},
		{"https://blog.example.com/outstatic", "/api/outstatic/callback", "https://blog.example.com/outstatic"},
	} {
		if got := siteReturnURL(tc.checked, tc.callback); got != tc.want {
			t.Errorf("siteReturnURL(%q, %q) = %q, want %q", tc.checked, tc.callback, got, tc.want)
		}
	}
}

func TestReturnURLOmittedWhenTheSiteFallback(t *testing.T) {
	env, m := oidcEnv(t)
	// The stock site's own form: its callback at the site root, and its
	// default returnUrl, both named by its listen address.
	stock := "https://blog.example.com/api/outstatic/callback"
	for _, tc := range []struct {
		ret  string
		want any
	}{
		{"http://localhost:3000/outstatic", nil},
		{"http://localhost:3000/outstatic/collections", "https://blog.example.com/outstatic/collections"},
	} {
		m.QueueUser(&mockoidc.MockUser{Subject: "b", Email: "bob@example.com", EmailVerified: true})
		authorize := env.googleStart(t, 0, map[string]any{"callbackUrl": "http://localhost:3000/api/outstatic/callback", "returnUrl": tc.ret})
		_, back := env.follow(t, authorize)
		_, final := env.follow(t, back)
		token, ok := strings.CutPrefix(final, stock+"?exchange_token=")
		if !ok {
			t.Fatalf("login ended at %q", final)
		}
		status, out, _ := env.call(t, 0, "POST", "/outstatic/auth/exchange-token", "", map[string]string{"exchange_token": token, "callback_url": stock})
		if status != 200 || out["return_url"] != tc.want {
			t.Fatalf("returnUrl %s: %d return_url %v, want %v", tc.ret, status, out["return_url"], tc.want)
		}
	}
	// Both forms of both routes fall back to the callback origin.
	p := nativeProject()
	for _, cb := range []string{magicCallback, nativeCallback, stock, "https://blog.example.com/api/outstatic/magic-link-callback"} {
		if got := siteFallback(p.Targets, cb); got != "https://blog.example.com/outstatic" {
			t.Errorf("siteFallback(%s) = %q", cb, got)
		}
	}
}

func TestTokenAuthStyle(t *testing.T) {
	for _, tc := range []struct {
		methods []string
		want    oauth2.AuthStyle
	}{
		{nil, oauth2.AuthStyleInHeader}, // the spec's default: client_secret_basic
		{[]string{"client_secret_basic"}, oauth2.AuthStyleInHeader},
		{[]string{"client_secret_basic", "client_secret_post"}, oauth2.AuthStyleInHeader}, // Google's, Hydra's, mockoidc's
		{[]string{"client_secret_post"}, oauth2.AuthStyleInParams},
		{[]string{"private_key_jwt"}, oauth2.AuthStyleInHeader},
	} {
		if got := tokenAuthStyle(tc.methods); got != tc.want {
			t.Errorf("tokenAuthStyle(%v) = %v, want %v", tc.methods, got, tc.want)
		}
	}
}

// TestOIDCTokenAuthFallback: the token endpoint is asked the spec's way
// first (Basic), and once the other way after a definite refusal of the
// client's authentication; the way that worked is kept, and any other
// failure is not asked again.
func TestOIDCTokenAuthFallback(t *testing.T) {
	for _, tc := range []struct {
		name    string
		accepts string // "basic", "post", or "" (a 500 to every request)
		calls   []string
		ok      bool
	}{
		{"basic only (Hydra, Okta)", "basic", []string{"basic", "basic"}, true},
		// mockoidc lists both but reads only the form: invalid_request
		{"post only", "post", []string{"basic", "post", "post"}, true},
		{"failing", "", []string{"basic", "basic"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_ = r.ParseForm()
				way := "post"
				if _, _, ok := r.BasicAuth(); ok {
					way = "basic"
				}
				calls = append(calls, way)
				w.Header().Set("Content-Type", "application/json")
				switch {
				case tc.accepts == "":
					w.WriteHeader(500)
					_, _ = w.Write([]byte(`{"error":"server_error"}`))
				case way != tc.accepts && way == "basic":
					w.WriteHeader(400)
					_, _ = w.Write([]byte(`{"error":"invalid_request"}`))
				case way != tc.accepts:
					w.WriteHeader(401)
					_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
				default:
					_, _ = w.Write([]byte(`{"access_token":"a","token_type":"bearer"}`))
				}
			}))
			defer srv.Close()
			o := &oidcLogin{}
			o.oauth = &oauth2.Config{ClientID: "c", ClientSecret: "s",
				Endpoint: oauth2.Endpoint{TokenURL: srv.URL, AuthStyle: tokenAuthStyle([]string{"client_secret_basic", "client_secret_post"})}}
			for range 2 {
				_, err := o.exchange(t.Context(), o.oauth, "code", "verifier")
				if (err == nil) != tc.ok {
					t.Fatalf("exchange: %v", err)
				}
			}
			if !slices.Equal(calls, tc.calls) {
				t.Fatalf("the token endpoint was asked %v, want %v", calls, tc.calls)
			}
		})
	}
}
