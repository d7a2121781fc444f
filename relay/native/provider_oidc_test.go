package native

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/caddy-outstatic/caddy-outstatic/relay/github"
	"github.com/caddy-outstatic/caddy-outstatic/relay/login"
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
		c.OIDC = &login.OIDC{Name: "google", Issuer: m.Issuer(), ClientID: m.ClientID, ClientSecret: m.ClientSecret}
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
		c.OIDC = &login.OIDC{Name: "google", Issuer: "http://" + addr + "/oidc", ClientID: m.ClientID, ClientSecret: m.ClientSecret}
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
}

// A relay without GitHub's login (its github block the URLs alone) logs
// in with its other providers: GitHub's slot answers as any slot without
// a provider does, and the sessions read the repository as the GitHub
// App.
func TestNativeWithoutGitHubLogin(t *testing.T) {
	appKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(appKey)})
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	env := newNativeEnv(t, func(_ int, c *NativeConfig) {
		c.GitHub.ClientID, c.GitHub.ClientSecret = "", ""
		c.OIDC = &login.OIDC{Name: "google", Issuer: m.Issuer(), ClientID: m.ClientID, ClientSecret: m.ClientSecret}
		c.RepoApp = &github.App{AppID: 9, PrivateKey: pemKey}
	})
	env.gh.RegisterApp(9, "relay", &appKey.PublicKey)
	env.gh.Install(9, 90, "acme/blog")
	if status, body := rawCall(t, env, "POST", "/outstatic/auth/github-exchange", env.key, map[string]any{"callback_url": nativeCallback}); status != 501 || body != `{"error":"not-supported"}` {
		t.Fatalf("github-exchange: %d %s", status, body)
	}
	if status, _ := rawCall(t, env, "GET", login.SlotGitHub.Start.Path+"?s=x", "", nil); status != 404 {
		t.Fatalf("GitHub's start route: %d", status)
	}
	m.QueueUser(&mockoidc.MockUser{Subject: "b1", Email: "bob@example.com", EmailVerified: true})
	status, out, _ := env.call(t, 0, "POST", "/outstatic/auth/exchange-token", "",
		map[string]string{"exchange_token": tokenOf(t, env.googleLogin(t, 0, nil)), "callback_url": nativeCallback})
	if status != 200 {
		t.Fatalf("exchange-token: %d %v", status, out)
	}
	access := out["session"].(map[string]any)["access_token"].(string)
	if status, body := env.parser(t, 1, access); status != 200 || !strings.Contains(body, `"id"`) {
		t.Fatalf("parser through the App: %d %s", status, body)
	}
	if env.gh.InstallationTokensMinted(90) != 1 {
		t.Fatalf("App tokens minted: %d", env.gh.InstallationTokensMinted(90))
	}
}

// A native relay needs a way to log in, and without GitHub's login a
// GitHub App for the repository (the development login only warns).
func TestCheckLogins(t *testing.T) {
	app := github.OAuthApp{ClientID: "id", ClientSecret: "secret"}
	urls := github.OAuthApp{APIURL: "https://ghe.example/api/v3"}
	for _, tc := range []struct {
		name                      string
		gh                        github.OAuthApp
		dev, oidc, email, repoApp bool
		want                      string // in the error; "" for none
	}{
		{"github", app, false, false, false, false, ""},
		{"client_id alone", github.OAuthApp{ClientID: "id"}, false, true, false, true, "both client_id and client_secret"},
		{"nothing", urls, false, false, false, true, "needs a way to log in"},
		{"oidc with the app", urls, false, true, false, true, ""},
		{"email with the app", github.OAuthApp{}, false, false, true, true, ""},
		{"oidc without the app", urls, false, true, false, false, "add a github_app block"},
		{"dev login", github.OAuthApp{}, true, false, false, false, ""},
	} {
		err := CheckLogins(tc.gh, tc.dev, tc.oidc, tc.email, tc.repoApp)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
