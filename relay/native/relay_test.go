package native

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakegithub"
	"github.com/caddy-outstatic/caddy-outstatic/internal/testredis"
	"github.com/caddy-outstatic/caddy-outstatic/relay"
	"github.com/caddy-outstatic/caddy-outstatic/relay/github"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
	"github.com/caddy-outstatic/caddy-outstatic/store"
	"github.com/caddy-outstatic/caddy-outstatic/validate"
)

const (
	nativeCallback  = "https://blog.example.com/outstatic/api/outstatic/callback"
	nativeSiteOrig  = "https://blog.example.com"
	nativeAppOrigin = "http://localhost:3000"
)

// nativeEnv is two native relay instances sharing one file store and one
// secret, in front of a fake GitHub.
type nativeEnv struct {
	gh       *fakegithub.Server
	relays   [2]*Native
	urls     [2]string
	cfgs     [2]NativeConfig  // as the relays were built from
	handlers [2]*atomic.Value // serve urls[i]; rebuild swaps them
	mem      *relay.MemoryCallbacks
	key      string
	now      atomic.Int64 // unix nanos; the relays' clock
	client   *http.Client
}

func nativeProject() Project {
	o, err := validate.ParseOrigin(nativeSiteOrig + "/outstatic")
	if err != nil {
		panic(err)
	}
	return Project{Project: roster.Project{
		Slug: "blog", RepoOwner: "acme", RepoSlug: "blog", Pro: true,
		Targets: validate.Targets{Origins: []validate.Origin{o}},
		Members: map[string]string{"ada": "owner", "bob@example.com": "editor"},
	}}
}

func newNativeEnv(t *testing.T, edit func(i int, c *NativeConfig)) *nativeEnv {
	t.Helper()
	env := &nativeEnv{mem: relay.NewMemoryCallbacks(time.Minute)}
	env.now.Store(time.Now().UnixNano())
	env.gh = fakegithub.New("relay-client", "relay-secret", fakegithub.User{
		Login: "ada", Name: "Ada", ID: 1,
		Emails: []fakegithub.Email{{Email: "ada@example.com", Primary: true, Verified: true}},
	})
	env.gh.Now = func() time.Time { return time.Unix(0, env.now.Load()) } // one clock for relay and GitHub
	env.gh.Start()
	t.Cleanup(env.gh.Close)
	dir := t.TempDir()
	secret := bytes.Repeat([]byte("s"), 32)
	for i := range env.relays {
		handler := new(atomic.Value)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			handler.Load().(http.Handler).ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		pub, _ := url.Parse(srv.URL)
		cfg := NativeConfig{
			PublicURL: pub,
			Projects:  []Project{nativeProject()},
			GitHub: github.OAuthApp{ClientID: "relay-client", ClientSecret: "relay-secret",
				BaseURL: env.gh.URL(), APIURL: env.gh.APIURL(), GraphQLURL: env.gh.GraphQLURL()},
			Store:     store.NewStorage(&certmagic.FileStorage{Path: dir}, "outstatic"),
			Secret:    secret,
			Callbacks: env.mem,
			AppHosts:  []string{"localhost:3000"},
			Now:       func() time.Time { return time.Unix(0, env.now.Load()) },
		}
		if edit != nil {
			edit(i, &cfg)
		}
		n, err := NewNative(cfg)
		if err != nil {
			t.Fatal(err)
		}
		handler.Store(http.Handler(n))
		env.relays[i], env.urls[i], env.cfgs[i], env.handlers[i] = n, srv.URL, cfg, handler
	}
	key, _, err := env.relays[0].Roster().CreateKey(context.Background(), "blog", false)
	if err != nil {
		t.Fatal(err)
	}
	env.key = key
	env.client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return env
}

func (e *nativeEnv) advance(d time.Duration) { e.now.Add(int64(d)) }

// rebuild makes relay i anew from its configuration, edited by edit if
// not nil, at the same URL and on the same store: a relay that has
// forgotten everything it kept in memory (an issuer it discovered, say).
func (e *nativeEnv) rebuild(t *testing.T, i int, edit func(*NativeConfig)) {
	t.Helper()
	cfg := e.cfgs[i]
	if edit != nil {
		edit(&cfg)
	}
	n, err := NewNative(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.handlers[i].Store(http.Handler(n))
	e.relays[i] = n
}

// call makes a JSON call to relay i and decodes the answer.
func (e *nativeEnv) call(t *testing.T, i int, method, path, auth string, body any) (int, map[string]any, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.urls[i]+path, rd)
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out, res.Header
}

// follow GETs u and returns the redirect target.
func (e *nativeEnv) follow(t *testing.T, u string) (int, string) {
	t.Helper()
	res, err := e.client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode, res.Header.Get("Location")
}

// login runs the relay hop on relay i up to the redirect to the callback,
// and returns where the browser is sent.
func (e *nativeEnv) login(t *testing.T, i int) string {
	t.Helper()
	status, out, _ := e.call(t, i, "POST", "/outstatic/auth/github-exchange", e.key, map[string]string{"callback_url": nativeCallback})
	start, _ := out["url"].(string)
	if status != 200 || !strings.HasPrefix(start, e.urls[i]+"/outstatic/auth/github/start?s=") {
		t.Fatalf("github-exchange: %d %v", status, out)
	}
	_, authorize := e.follow(t, start)
	if !strings.HasPrefix(authorize, e.gh.URL()+"/login/oauth/authorize?") || !strings.Contains(authorize, "code_challenge_method=S256") {
		t.Fatalf("start sent the browser to %q", authorize)
	}
	_, back := e.follow(t, authorize)
	_, final := e.follow(t, back)
	return final
}

func tokenOf(t *testing.T, callbackURL string) string {
	t.Helper()
	prefix := nativeCallback + "?exchange_token="
	if !strings.HasPrefix(callbackURL, prefix) {
		t.Fatalf("login ended at %q", callbackURL)
	}
	return strings.TrimPrefix(callbackURL, prefix)
}

func TestNativeLoginEndToEnd(t *testing.T) {
	env := newNativeEnv(t, nil)
	token := tokenOf(t, env.login(t, 0))

	// redeemed on the other instance, with the exact callback
	status, out, _ := env.call(t, 1, "POST", "/outstatic/auth/exchange-token", "", map[string]string{"exchange_token": token, "callback_url": nativeCallback})
	if status != 200 {
		t.Fatalf("exchange-token: %d %v", status, out)
	}
	user := out["user"].(map[string]any)
	session := out["session"].(map[string]any)
	if user["email"] != "ada@example.com" || user["login"] != "ada" || user["name"] != "Ada" || len(user["permissions"].([]any)) != 7 {
		t.Fatalf("user %v", user)
	}
	exp := int64(session["expires_at"].(float64))
	if now := time.Now().Unix(); exp < now+3500 || exp > now+3700 {
		t.Fatalf("expires_at %d is not Unix seconds an hour ahead", exp)
	}
	if session["refresh_token"] == "" || session["refresh_token_expires_at"] == nil {
		t.Fatalf("session %v", session)
	}
	access := session["access_token"].(string)

	// the parser forwards the dashboard's GraphQL with the user's GitHub token
	req, _ := http.NewRequest("POST", env.urls[0]+"/github/parser", strings.NewReader(`{"query":"query GetRepoInfo($owner: String!, $name: String!) { repository(owner: $owner, name: $name) { id } }","variables":{"owner":"acme","name":"blog"}}`))
	req.Header.Set("Authorization", "Bearer "+access)
	req.Header.Set("X-Project-Id", "blog")
	req.Header.Set("Origin", nativeSiteOrig)
	req.Header.Set("Content-Type", "application/json")
	res, err := env.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), `"repository"`) || res.Header.Get("Access-Control-Allow-Origin") != nativeSiteOrig {
		t.Fatalf("parser: %d %s %v", res.StatusCode, body, res.Header)
	}
	for _, r := range env.gh.Requests() {
		if strings.Contains(r.Path, "graphql") && !strings.Contains(r.Authorization, "gho_") {
			t.Fatalf("GraphQL reached GitHub without the user's token: %q", r.Authorization)
		}
	}
	// preflight for the site; none for another
	for origin, want := range map[string]int{nativeSiteOrig: 204, "https://evil.example": 403} {
		req, _ := http.NewRequest("OPTIONS", env.urls[1]+"/github/parser", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		res, err := env.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("preflight from %s: %d", origin, res.StatusCode)
		}
	}

	// refresh, on either instance
	status, out, _ = env.call(t, 1, "POST", "/outstatic/auth/refresh-token", "", map[string]string{"refresh_token": session["refresh_token"].(string)})
	if status != 200 || out["session"].(map[string]any)["access_token"] == "" {
		t.Fatalf("refresh: %d %v", status, out)
	}
}

func TestNativeKeyCheck(t *testing.T) {
	env := newNativeEnv(t, nil)
	status, out, _ := env.call(t, 1, "GET", "/outstatic/project", env.key, nil)
	if status != 200 || out["project_id"] != "blog" || out["is_pro"] != true || out["repo_owner"] != "acme" || out["repo_slug"] != "blog" {
		t.Fatalf("project: %d %v", status, out)
	}
	other, _, _, _ := relay.NewKey()
	for name, key := range map[string]string{"none": "", "malformed": "ost_nope", "well-formed, unknown": other,
		"checksum broken": env.key[:len(env.key)-2] + "AA"} {
		if status, out, _ := env.call(t, 0, "GET", "/outstatic/project", key, nil); status != 401 || out["error"] != "invalid-api-key" {
			t.Errorf("%s key: %d %v", name, status, out)
		}
	}
	// a key declared by its hash
	declared, hash, _, _ := relay.NewKey()
	env2 := newNativeEnv(t, func(_ int, c *NativeConfig) { c.Projects[0].KeySHA256 = []string{hash} })
	if status, _, _ := env2.call(t, 0, "GET", "/outstatic/project", declared, nil); status != 200 {
		t.Errorf("declared key: %d", status)
	}
}

func TestNativeRefusals(t *testing.T) {
	env := newNativeEnv(t, nil)
	for cb, code := range map[string]string{
		"https://evil.example/outstatic/api/outstatic/callback":             "invalid-callback-domain",
		"https://blog.example.com/outstatic/api/outstatic/login":            "invalid-callback-target",
		"https://blog.example.com@evil.example/outstatic/api/outstatic/cb":  "invalid-callback-domain",
		"https://blog.example.com/outstatic/api/outstatic/callback?next=//": "invalid-callback-target",
	} {
		if status, out, _ := env.call(t, 0, "POST", "/outstatic/auth/github-exchange", env.key, map[string]string{"callback_url": cb}); status != 400 || out["error"] != code {
			t.Errorf("%s: %d %v, want %s", cb, status, out, code)
		}
	}
	// the site's own localhost origin is moved to the public one
	status, out, _ := env.call(t, 0, "POST", "/outstatic/auth/github-exchange", env.key, map[string]string{"callback_url": nativeAppOrigin + "/api/outstatic/callback"})
	if status != 200 {
		t.Fatalf("localhost callback: %d %v", status, out)
	}
	if status, _, _ := env.call(t, 0, "POST", "/outstatic/auth/github-exchange", "", map[string]string{"callback_url": nativeCallback}); status != 401 {
		t.Errorf("no key: %d", status)
	}
	// a tampered start or state is a plain 400, naming no callback
	for _, u := range []string{"/outstatic/auth/github/start?s=AAAA", "/outstatic/auth/github/callback?code=x&state=AAAA"} {
		if status, loc := env.follow(t, env.urls[0]+u); status != 400 || loc != "" {
			t.Errorf("%s: %d %q", u, status, loc)
		}
	}
	// the start route answers no CORS
	_, out, _ = env.call(t, 0, "POST", "/outstatic/auth/github-exchange", env.key, map[string]string{"callback_url": nativeCallback})
	req, _ := http.NewRequest("GET", out["url"].(string), nil)
	req.Header.Set("Origin", nativeSiteOrig)
	res, err := env.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("the start route answered CORS")
	}
}

func TestNativeStateIsSingleUseAndExpires(t *testing.T) {
	env := newNativeEnv(t, nil)
	_, out, _ := env.call(t, 0, "POST", "/outstatic/auth/github-exchange", env.key, map[string]string{"callback_url": nativeCallback})
	_, authorize := env.follow(t, out["url"].(string))
	_, back := env.follow(t, authorize)
	if _, loc := env.follow(t, back); !strings.Contains(loc, "exchange_token=") {
		t.Fatalf("first return: %q", loc)
	}
	// GitHub's return replayed, on the other instance
	backOther := strings.Replace(back, env.urls[0], env.urls[1], 1)
	if _, loc := env.follow(t, backOther); loc != nativeCallback+"?error=invalid-state" {
		t.Fatalf("replayed state: %q", loc)
	}
	// an expired state
	_, out, _ = env.call(t, 0, "POST", "/outstatic/auth/github-exchange", env.key, map[string]string{"callback_url": nativeCallback})
	_, authorize = env.follow(t, out["url"].(string))
	_, back = env.follow(t, authorize)
	env.advance(11 * time.Minute)
	if _, loc := env.follow(t, back); loc != nativeCallback+"?error=invalid-state" {
		t.Fatalf("expired state: %q", loc)
	}
}

func TestNativeMembership(t *testing.T) {
	env := newNativeEnv(t, nil)
	env.gh.SetUser(fakegithub.User{Login: "mallory", ID: 2, Emails: []fakegithub.Email{{Email: "mallory@example.com", Primary: true, Verified: true}}})
	if loc := env.login(t, 0); loc != nativeCallback+"?error=not-collaborator" {
		t.Fatalf("non-member: %q", loc)
	}
	// a member by verified e-mail, with that role's permissions
	env.gh.SetUser(fakegithub.User{Login: "bobby", ID: 3, Emails: []fakegithub.Email{{Email: "bob@example.com", Primary: true, Verified: true}}})
	token := tokenOf(t, env.login(t, 0))
	_, out, _ := env.call(t, 0, "POST", "/outstatic/auth/exchange-token", "", map[string]string{"exchange_token": token, "callback_url": nativeCallback})
	perms, _ := out["user"].(map[string]any)["permissions"].([]any)
	if len(perms) != 2 {
		t.Fatalf("editor permissions %v", perms)
	}
	// an unverified address counts for nothing
	env.gh.SetUser(fakegithub.User{Login: "eve", ID: 4, Emails: []fakegithub.Email{{Email: "bob@example.com", Primary: true, Verified: false}}})
	if loc := env.login(t, 0); loc != nativeCallback+"?error=not-collaborator" {
		t.Fatalf("unverified e-mail: %q", loc)
	}
	env.gh.SetDeny(true)
	if loc := env.login(t, 0); loc != nativeCallback+"?error=github-relay-failed" {
		t.Fatalf("denied: %q", loc)
	}
}

func TestNativeExchangeTokens(t *testing.T) {
	env := newNativeEnv(t, nil)
	redeem := func(i int, token, cb string) int {
		status, _, _ := env.call(t, i, "POST", "/outstatic/auth/exchange-token", "", map[string]string{"exchange_token": token, "callback_url": cb})
		return status
	}
	token := tokenOf(t, env.login(t, 0))
	if redeem(0, token, nativeCallback) != 200 || redeem(1, token, nativeCallback) != 400 || redeem(0, token, nativeCallback) != 400 {
		t.Fatal("a token served more than once")
	}
	// the wrong callback burns it
	token = tokenOf(t, env.login(t, 0))
	if redeem(0, token, "https://blog.example.com/api/outstatic/magic-link-callback") != 400 || redeem(0, token, nativeCallback) != 400 {
		t.Fatal("wrong callback")
	}
	// expired after two minutes
	token = tokenOf(t, env.login(t, 0))
	env.advance(3 * time.Minute)
	if redeem(0, token, nativeCallback) != 400 {
		t.Fatal("an expired token was redeemed")
	}
	// the stock site's localhost callback: only with the guard's record
	token = tokenOf(t, env.login(t, 0))
	if redeem(0, token, nativeAppOrigin+"/api/outstatic/callback") != 400 {
		t.Fatal("localhost callback without a record")
	}
	token = tokenOf(t, env.login(t, 0))
	env.mem.Remember(token, nativeCallback)
	if redeem(1, token, nativeAppOrigin+"/api/outstatic/callback") != 200 {
		t.Fatal("localhost callback with the guard's record refused")
	}
}

// storeKinds runs f with the relays' state in the file store and in a real
// Redis (two clients, as two instances would have).
func storeKinds(t *testing.T, f func(t *testing.T, edit func(int, *NativeConfig))) {
	t.Run("file", func(t *testing.T) { f(t, nil) })
	t.Run("redis", func(t *testing.T) {
		srv := testredis.Start(t)
		f(t, func(_ int, c *NativeConfig) {
			c.Store = store.NewRedis(testredis.Client(t, srv.Addr), "outstatic")
		})
	})
}

func TestNativeConcurrentRedemptionsAcrossInstances(t *testing.T) {
	storeKinds(t, testConcurrentRedemptions)
}

func testConcurrentRedemptions(t *testing.T, edit func(int, *NativeConfig)) {
	env := newNativeEnv(t, edit)
	token := tokenOf(t, env.login(t, 0))
	ok := env.concurrentPosts(100, "/outstatic/auth/exchange-token", map[string]string{"exchange_token": token, "callback_url": nativeCallback})
	if ok != 1 {
		t.Fatalf("%d of 100 concurrent redemptions succeeded, want 1", ok)
	}
}

// concurrentPosts posts body to path n times at once, on both relays in
// turn, and counts the 200s.
func (e *nativeEnv) concurrentPosts(n int, path string, body any) int {
	b, _ := json.Marshal(body)
	var ok atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			res, err := http.Post(e.urls[i%2]+path, "application/json", bytes.NewReader(b))
			if err != nil {
				return
			}
			res.Body.Close()
			if res.StatusCode == 200 {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	return int(ok.Load())
}

func TestNativeRotationEndsKeyAndSessions(t *testing.T) {
	storeKinds(t, testRotation)
}

func testRotation(t *testing.T, edit func(int, *NativeConfig)) {
	env := newNativeEnv(t, edit)
	token := tokenOf(t, env.login(t, 0))
	_, out, _ := env.call(t, 0, "POST", "/outstatic/auth/exchange-token", "", map[string]string{"exchange_token": token, "callback_url": nativeCallback})
	refresh := out["session"].(map[string]any)["refresh_token"].(string)

	newKey, _, err := env.relays[1].Roster().CreateKey(context.Background(), "blog", true)
	if err != nil {
		t.Fatal(err)
	}
	// instance 0 answers from its key memory for up to KeyRecheck (1s)
	env.advance(time.Second)
	for i := range env.relays {
		if status, _, _ := env.call(t, i, "GET", "/outstatic/project", env.key, nil); status != 401 {
			t.Errorf("old key on instance %d: %d", i, status)
		}
		if status, _, _ := env.call(t, i, "GET", "/outstatic/project", newKey, nil); status != 200 {
			t.Errorf("new key on instance %d: %d", i, status)
		}
	}
	if status, out, _ := env.call(t, 0, "POST", "/outstatic/auth/refresh-token", "", map[string]string{"refresh_token": refresh}); status != 401 || out["error"] != "session-revoked" {
		t.Fatalf("refresh after rotation: %d %v", status, out)
	}
	if err := env.relays[0].Roster().RevokeKey(context.Background(), "blog"); err != nil {
		t.Fatal(err)
	}
	env.advance(time.Second)
	if status, _, _ := env.call(t, 1, "GET", "/outstatic/project", newKey, nil); status != 401 {
		t.Fatal("revoked key still works")
	}
	if _, _, err := env.relays[0].Roster().CreateKey(context.Background(), "nope", false); err != roster.ErrUnknownProject {
		t.Fatalf("unknown project: %v", err)
	}
}

func TestNativeRemovedMemberLosesSession(t *testing.T) {
	var removed atomic.Bool
	env := newNativeEnv(t, func(i int, c *NativeConfig) {
		if i == 1 {
			// instance 1 runs a config without ada, as after a reload
			delete(c.Projects[0].Members, "ada")
			removed.Store(true)
		}
	})
	token := tokenOf(t, env.login(t, 0))
	_, out, _ := env.call(t, 0, "POST", "/outstatic/auth/exchange-token", "", map[string]string{"exchange_token": token, "callback_url": nativeCallback})
	s := out["session"].(map[string]any)
	if status, out, _ := env.call(t, 1, "POST", "/outstatic/auth/refresh-token", "", map[string]string{"refresh_token": s["refresh_token"].(string)}); status != 401 || out["error"] != "not-collaborator" {
		t.Fatalf("refresh for a removed member: %d %v", status, out)
	}
	req, _ := http.NewRequest("POST", env.urls[1]+"/github/parser", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+s["access_token"].(string))
	req.Header.Set("X-Project-Id", "blog")
	res, err := env.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 || !removed.Load() {
		t.Fatalf("parser for a removed member: %d", res.StatusCode)
	}
}

func TestNativeTamperedTokens(t *testing.T) {
	env := newNativeEnv(t, nil)
	token := tokenOf(t, env.login(t, 0))
	_, out, _ := env.call(t, 0, "POST", "/outstatic/auth/exchange-token", "", map[string]string{"exchange_token": token, "callback_url": nativeCallback})
	s := out["session"].(map[string]any)
	access, refresh := s["access_token"].(string), s["refresh_token"].(string)
	flip := func(v string) string {
		b := []byte(v)
		b[len(b)/2] ^= 1
		if b[len(b)/2] == v[len(b)/2] {
			b[len(b)/2]++
		}
		return string(b)
	}
	// a tampered refresh, an access token used as a refresh token
	for _, bad := range []string{flip(refresh), access, ""} {
		if status, _, _ := env.call(t, 0, "POST", "/outstatic/auth/refresh-token", "", map[string]string{"refresh_token": bad}); status != 401 {
			t.Errorf("refresh with a bad token: %d", status)
		}
	}
	for _, bad := range []string{flip(access), refresh} {
		req, _ := http.NewRequest("POST", env.urls[0]+"/github/parser", strings.NewReader(`{}`))
		req.Header.Set("Authorization", "Bearer "+bad)
		req.Header.Set("X-Project-Id", "blog")
		res, err := env.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 401 {
			t.Errorf("parser with a bad token: %d", res.StatusCode)
		}
	}
	// another project's id
	req, _ := http.NewRequest("POST", env.urls[0]+"/github/parser", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+access)
	req.Header.Set("X-Project-Id", "other")
	res, err := env.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 403 {
		t.Errorf("parser for another project: %d", res.StatusCode)
	}
	// an expired access token
	env.advance(2 * time.Hour)
	req, _ = http.NewRequest("POST", env.urls[0]+"/github/parser", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+access)
	req.Header.Set("X-Project-Id", "blog")
	if res, err = env.client.Do(req); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Errorf("parser with an expired token: %d", res.StatusCode)
	}
}

// countingStore counts reads of a store.
type countingStore struct {
	store.Store
	gets atomic.Int64
}

func (c *countingStore) Get(ctx context.Context, key string) ([]byte, error) {
	c.gets.Add(1)
	return c.Store.Get(ctx, key)
}

// TestNativeKeyIndex: a known key is answered from memory, with no store
// read, however many projects; once a second the memory costs one read
// (the key epoch), and the answer one (the project's stored callback
// origins, which it names), whatever the number of checks.
func TestNativeKeyIndex(t *testing.T) {
	counting := &countingStore{Store: store.NewStorage(&certmagic.FileStorage{Path: t.TempDir()}, "outstatic")}
	env := newNativeEnv(t, func(i int, c *NativeConfig) {
		c.Store = counting
		for j := 0; j < 20; j++ {
			p := nativeProject()
			p.Slug = fmt.Sprintf("site%02d", j)
			c.Projects = append(c.Projects, p)
		}
	})
	env.call(t, 0, "GET", "/outstatic/project", env.key, nil) // fills the memory
	before := counting.gets.Load()
	for i := 0; i < 10; i++ {
		if status, _, _ := env.call(t, 0, "GET", "/outstatic/project", env.key, nil); status != 200 {
			t.Fatalf("key check: %d", status)
		}
	}
	if reads := counting.gets.Load() - before; reads != 0 {
		t.Fatalf("%d store reads for 10 key checks from memory, want 0", reads)
	}
	env.advance(time.Second)
	for i := 0; i < 10; i++ {
		if status, _, _ := env.call(t, 0, "GET", "/outstatic/project", env.key, nil); status != 200 {
			t.Fatalf("key check: %d", status)
		}
	}
	if reads := counting.gets.Load() - before; reads != 2 {
		t.Fatalf("%d store reads for 10 key checks a second later, want 2 (the epoch, the project's stored origins)", reads)
	}
}

// The dashboard refreshes only on a 401/403 whose message holds
// "credentials" (PROTOCOL.md §8), and may send no x-project-id.
func TestNativeSessionAnswersAsGitHub(t *testing.T) {
	env := newNativeEnv(t, nil)
	token := tokenOf(t, env.login(t, 0))
	_, out, _ := env.call(t, 0, "POST", "/outstatic/auth/exchange-token", "", map[string]string{"exchange_token": token, "callback_url": nativeCallback})
	access := out["session"].(map[string]any)["access_token"].(string)
	parser := func(auth string, projectIDs ...string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", env.urls[0]+"/github/parser", strings.NewReader(`{"query":"query GetRepoInfo { repository(owner: \"acme\", name: \"blog\") { id } }"}`))
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		for _, id := range projectIDs {
			req.Header.Add("X-Project-Id", id)
		}
		res, err := env.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if status, body := parser(access); status != 200 {
		t.Fatalf("no x-project-id: %d %s", status, body)
	}
	if status, body := parser(access, "blog"); status != 200 {
		t.Fatalf("own x-project-id: %d %s", status, body)
	}
	for _, ids := range [][]string{{"other"}, {"blog", "other"}, {""}} {
		if status, body := parser(access, ids...); status != 403 || strings.Contains(body, "credentials") {
			t.Errorf("x-project-id %q: %d %s", ids, status, body)
		}
	}
	for name, auth := range map[string]string{"none": "", "garbage": "nope", "refresh as access": out["session"].(map[string]any)["refresh_token"].(string)} {
		status, body := parser(auth, "blog")
		var msg struct{ Message string }
		_ = json.Unmarshal([]byte(body), &msg)
		if status != 401 || !strings.Contains(msg.Message, "credentials") {
			t.Errorf("%s: %d %s", name, status, body)
		}
	}
	env.advance(2 * time.Hour)
	if status, body := parser(access, "blog"); status != 401 || !strings.Contains(body, `"message":"Bad credentials"`) {
		t.Errorf("expired session: %d %s", status, body)
	}
}

// Members may be configured in any case; GitHub's login and e-mail
// addresses match them whatever theirs.
func TestNativeMembersAnyCase(t *testing.T) {
	env := newNativeEnv(t, func(_ int, c *NativeConfig) {
		c.Projects[0].Members = map[string]string{"ADA": "owner", "Bob@Example.COM": "editor"}
	})
	for _, u := range []fakegithub.User{
		{Login: "Ada", ID: 1},
		{Login: "bobby", ID: 3, Emails: []fakegithub.Email{{Email: "bob@EXAMPLE.com", Primary: true, Verified: true}}},
	} {
		env.gh.SetUser(u)
		token := tokenOf(t, env.login(t, 0))
		status, out, _ := env.call(t, 1, "POST", "/outstatic/auth/exchange-token", "", map[string]string{"exchange_token": token, "callback_url": nativeCallback})
		if status != 200 {
			t.Fatalf("%s: exchange-token: %d %v", u.Login, status, out)
		}
		refresh := out["session"].(map[string]any)["refresh_token"].(string)
		if status, out, _ := env.call(t, 0, "POST", "/outstatic/auth/refresh-token", "", map[string]string{"refresh_token": refresh}); status != 200 {
			t.Fatalf("%s: refresh: %d %v", u.Login, status, out)
		}
	}
	if _, err := NewNative(NativeConfig{PublicURL: &url.URL{Scheme: "https", Host: "r.example"}, Store: store.NewStorage(&certmagic.FileStorage{Path: t.TempDir()}, "o"),
		GitHub: github.OAuthApp{ClientID: "a", ClientSecret: "b"}, Secret: bytes.Repeat([]byte("s"), 32),
		Projects: []Project{{Project: roster.Project{Slug: "x", Members: map[string]string{"Ada": "owner", "ada": "author"}}}}}); err == nil {
		t.Error("one login with two roles was accepted")
	}
}
