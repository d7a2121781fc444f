package outstatic

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap/zaptest"

	"github.com/caddy-outstatic/caddy-outstatic/guard"
	"github.com/caddy-outstatic/caddy-outstatic/internal/fakeservice"
	"github.com/caddy-outstatic/caddy-outstatic/internal/testredis"
	"github.com/caddy-outstatic/caddy-outstatic/internal/testwait"
	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/store"
	"github.com/caddy-outstatic/caddy-outstatic/verdict"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

const testKey = "ost_test_key_0123456789abcdef"

// proSetup starts a fake service and a guard holding its key.
func proSetup(t *testing.T, pro bool, edit func(*Guard)) (*Guard, *fakeservice.Service) {
	t.Helper()
	svc := fakeservice.New(testKey, pro, "https://blog.example.com/outstatic", "http://localhost:3000/outstatic")
	srv := httptest.NewServer(svc)
	t.Cleanup(srv.Close)
	t.Cleanup(svc.Release)
	svc.BaseURL = srv.URL
	t.Setenv("OUTSTATIC_TEST_KEY", testKey)
	g := &Guard{
		CallbackOrigins: []string{"https://blog.example.com/outstatic", "http://localhost:3000/outstatic"},
		APIKey:          "{env.OUTSTATIC_TEST_KEY}",
		Service:         srv.URL + "/api",
	}
	if edit != nil {
		edit(g)
	}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	if err := g.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Cleanup() })
	g.edge.SetLogger(zaptest.NewLogger(t))
	return g, svc
}

var spoofedFlagHeaders = []string{
	"X-Outstatic-Pro", "x-outstatic-pro", "X_Outstatic_Pro", "x.outstatic.pro", "X-OUTSTATIC-PRO",
	"X-Outstatic-Features", "x_outstatic_features", "X.Outstatic.Features",
	"X-Outstatic-Project", "x-outstatic_project", "X_OUTSTATIC.PROJECT",
}

func spoofedRequest(u string) *http.Request {
	r := request("GET", u, false)
	for _, h := range spoofedFlagHeaders {
		r.Header[h] = []string{"spoofed"} // as sent, not canonicalized
	}
	return r
}

func flagHeaders(h http.Header) map[string][]string {
	out := map[string][]string{}
	for k, v := range h {
		if protocol.FoldEqual(k, "x-outstatic-pro") || protocol.FoldEqual(k, "x-outstatic-features") || protocol.FoldEqual(k, "x-outstatic-project") {
			out[k] = v
		}
	}
	return out
}

func TestGuardFlagsOnlyWhenPro(t *testing.T) {
	g, _ := proSetup(t, true, nil)
	next := &recordingNext{}
	serve(t, g, spoofedRequest("https://blog.example.com/blog/post"), next)
	got := flagHeaders(next.header)
	want := map[string][]string{
		"X-Outstatic-Pro":      {"true"},
		"X-Outstatic-Features": {"ai-completions,email-login,social-login,github-relay,callback-origins,members"},
		"X-Outstatic-Project":  {"proj_1"},
	}
	if len(got) != len(want) {
		t.Fatalf("app got flags %v, want %v", got, want)
	}
	for k, v := range want {
		if len(got[k]) != 1 || got[k][0] != v[0] {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}

	free, _ := proSetup(t, false, nil)
	next = &recordingNext{}
	serve(t, free, spoofedRequest("https://blog.example.com/"), next)
	if got := flagHeaders(next.header); len(got) != 0 {
		t.Fatalf("free key: app got %v", got)
	}

	// without a key the guard still strips
	nokey := newTestGuard(t, nil)
	next = &recordingNext{}
	serve(t, nokey, spoofedRequest("https://evil.example/"), next)
	if got := flagHeaders(next.header); len(got) != 0 {
		t.Fatalf("no key: app got %v", got)
	}
}

func TestGuardRenamedHeaders(t *testing.T) {
	g, _ := proSetup(t, true, func(g *Guard) { g.Headers = &guard.HeaderNames{Pro: "x-cms-pro"} })
	r := request("GET", "https://blog.example.com/", false)
	r.Header["X_cms_pro"] = []string{"spoofed"}
	next := &recordingNext{}
	serve(t, g, r, next)
	if v := next.header.Values("X-Cms-Pro"); len(v) != 1 || v[0] != "true" {
		t.Fatalf("X-Cms-Pro = %v", v)
	}
	if _, ok := next.header["X_cms_pro"]; ok {
		t.Fatal("spoofed copy kept")
	}
}

func TestGuardColdCacheChecksOnce(t *testing.T) {
	g, svc := proSetup(t, true, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	pro := 0
	for i := 0; i < 1000; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := &recordingNext{}
			w := httptest.NewRecorder()
			_ = g.ServeHTTP(w, request("GET", "https://blog.example.com/", false), next)
			if next.header.Get("X-Outstatic-Pro") == "true" {
				mu.Lock()
				pro++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if n := svc.Count("/outstatic/project"); n != 1 {
		t.Fatalf("%d key checks for 1000 requests on a cold cache, want 1", n)
	}
	if pro != 1000 {
		t.Fatalf("%d of 1000 requests had the flags", pro)
	}
}

// guardVerdicts returns the verdict cache g shares, for a test to read
// what it holds.
func guardVerdicts(t *testing.T, g *Guard) *verdict.Cache {
	t.Helper()
	v, loaded, err := verdictCaches.LoadOrNew(g.poolKey, nil)
	if err != nil || !loaded {
		t.Fatalf("the guard's verdict cache is not in the pool: %v", err)
	}
	t.Cleanup(func() { _, _ = verdictCaches.Delete(g.poolKey) })
	return v.(pooledVerdicts).Cache
}

func hasFlags(t *testing.T, g *Guard) bool {
	next := &recordingNext{}
	serve(t, g, request("GET", "https://blog.example.com/", false), next)
	return next.header.Get("X-Outstatic-Pro") == "true"
}

func TestGuardRevokedKeyDropsFlags(t *testing.T) {
	g, svc := proSetup(t, true, func(g *Guard) { g.CacheTTL = caddy.Duration(200 * time.Millisecond) })
	if !hasFlags(t, g) {
		t.Fatal("no flags with a pro key")
	}
	svc.SetMode(fakeservice.Unauth)
	testwait.Until(t, "flags dropped after a 401", func() bool { return !hasFlags(t, g) })
	// and Pro-only routes are refused at the edge from then on
	next := &recordingNext{}
	w := serve(t, g, request("POST", "https://blog.example.com/api/outstatic/generate", false), next)
	if next.called || w.Code != http.StatusForbidden {
		t.Fatalf("generate after revocation: %d, app reached %v", w.Code, next.called)
	}
}

func TestGuardOutageKeepsFlagsForGrace(t *testing.T) {
	const ttl, grace = 100 * time.Millisecond, time.Second
	g, svc := proSetup(t, true, func(g *Guard) {
		g.CacheTTL = caddy.Duration(ttl)
		g.StaleGrace = caddy.Duration(grace)
	})
	if !hasFlags(t, g) {
		t.Fatal("no flags with a pro key")
	}
	svc.SetMode(fakeservice.Fail)
	// past the TTL, inside the grace: still Pro
	testwait.Until(t, "a failed refresh", func() bool { return svc.Count("/outstatic/project") >= 2 })
	if !hasFlags(t, g) {
		t.Fatal("flags dropped during the grace window")
	}
	// The last good answer, as the cache records it: the flags may go
	// only once it is older than the TTL and the grace.
	last := guardVerdicts(t, g).Lookup(context.Background(), testKey)
	if last.State != verdict.Valid || last.CheckedAt.IsZero() {
		t.Fatalf("verdict during the outage: %+v", last)
	}
	testwait.Until(t, "flags dropped after the grace window", func() bool { return !hasFlags(t, g) })
	if end := last.CheckedAt.Add(ttl + grace); time.Now().Before(end) {
		t.Fatalf("flags dropped before the grace window ended (%v after the last good answer)", ttl+grace)
	}
}

func TestGuardHungServiceNeverDelays(t *testing.T) {
	// The check timeout is an hour: a hung refresh holds until the test
	// ends, so requests that finish did not wait for it.
	g, svc := proSetup(t, true, func(g *Guard) {
		g.CacheTTL = caddy.Duration(100 * time.Millisecond)
		g.CheckTimeout = caddy.Duration(time.Hour)
	})
	if !hasFlags(t, g) {
		t.Fatal("no flags")
	}
	svc.SetMode(fakeservice.Hang)
	// let refreshes start and hang
	testwait.Until(t, "a hung refresh", func() bool { return svc.Count("/outstatic/project") >= 2 })
	done := make(chan bool, 1)
	go func() {
		ok := true
		for i := 0; i < 200; i++ {
			ok = ok && hasFlags(t, g)
		}
		done <- ok
	}()
	if ok := testwait.Recv(t, "requests while the service hangs (waiting on it, they would never end)", done); !ok {
		t.Fatal("flags lost while the service hangs")
	}
}

func TestGuardStartsRelayLoginAtEdge(t *testing.T) {
	g, svc := proSetup(t, true, nil)
	// prefetch: no service call, no binding
	r := start("GET", "https://blog.example.com/api/outstatic/login?_rsc=abc")
	r.Header.Set("Next-Router-Prefetch", "1")
	next := &recordingNext{}
	w := serve(t, g, r, next)
	if w.Code != http.StatusNoContent || next.called || svc.Count("/outstatic/auth/github-exchange") != 0 {
		t.Fatalf("prefetch: %d, app %v, service calls %d", w.Code, next.called, svc.Count("/outstatic/auth/github-exchange"))
	}

	// the click
	next = &recordingNext{}
	w = serve(t, g, start("GET", "https://blog.example.com/api/outstatic/login"), next)
	var body struct{ URL string }
	_ = json.Unmarshal(w.Body.Bytes(), &body)
	if w.Code != 200 || next.called || !strings.HasPrefix(body.URL, svc.BaseURL+"/api/authorize?") {
		t.Fatalf("login: %d %s app %v", w.Code, w.Body, next.called)
	}
	if cookieNamed(w, guard.BindingCookieSecure) == nil {
		t.Fatal("login started at the edge set no binding")
	}
	last := svc.Requests()[len(svc.Requests())-1]
	if cb := last.Body["callback_url"]; cb != "https://blog.example.com/outstatic/api/outstatic/callback" {
		t.Fatalf("service got callback_url %v", cb)
	}

	// google-login, GET and POST
	w = serve(t, g, start("GET", "https://blog.example.com/api/outstatic/google-login"), &recordingNext{})
	if w.Code != http.StatusFound || !strings.HasPrefix(w.Header().Get("Location"), svc.BaseURL) {
		t.Fatalf("google-login GET: %d %q", w.Code, w.Header().Get("Location"))
	}
	last = svc.Requests()[len(svc.Requests())-1]
	if last.Body["callbackUrl"] != "https://blog.example.com/outstatic/api/outstatic/callback" || last.Body["returnUrl"] != "https://blog.example.com/outstatic" {
		t.Fatalf("google-exchange body %v", last.Body)
	}
	pr := start("POST", "https://blog.example.com/api/outstatic/google-login")
	pr.Body = ioNopCloser(`{"returnUrl":"https://blog.example.com/outstatic/settings"}`)
	w = serve(t, g, pr, &recordingNext{})
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"url"`) {
		t.Fatalf("google-login POST: %d %s", w.Code, w.Body)
	}
	if last = svc.Requests()[len(svc.Requests())-1]; last.Body["returnUrl"] != "https://blog.example.com/outstatic/settings" {
		t.Fatalf("returnUrl %v", last.Body["returnUrl"])
	}
	pr = start("POST", "https://blog.example.com/api/outstatic/google-login")
	pr.Body = ioNopCloser(`{"returnUrl":"https://evil.example/"}`)
	n := len(svc.Requests())
	if w = serve(t, g, pr, &recordingNext{}); w.Code != 400 || len(svc.Requests()) != n {
		t.Fatalf("hostile returnUrl: %d, service calls %d", w.Code, len(svc.Requests())-n)
	}

	// magic link
	for body, want := range map[string]int{
		`{"email":"ada@example.com"}`:          200,
		`{"email":"not an email"}`:             400,
		`{}`:                                   400,
		`{"email":"Ada <ada@example.com>"}`:    400,
		`{"email":"a@b.co","returnUrl":"//x"}`: 400,
	} {
		mr := start("POST", "https://blog.example.com/api/outstatic/magic-link")
		mr.Body = ioNopCloser(body)
		w = serve(t, g, mr, &recordingNext{})
		if w.Code != want {
			t.Errorf("magic-link %s: %d %s", body, w.Code, w.Body)
		}
	}
	for _, r := range svc.Requests() {
		if r.Path == "/outstatic/auth/request-magic-link" && r.Body["callbackUrl"] != "https://blog.example.com/outstatic/api/outstatic/magic-link-callback" {
			t.Fatalf("magic link callback %v", r.Body["callbackUrl"])
		}
	}
}

func TestGuardRelayStartErrors(t *testing.T) {
	g, svc := proSetup(t, true, nil)
	if !hasFlags(t, g) {
		t.Fatal("no flags")
	}
	svc.SetMode(fakeservice.Fail)
	w := serve(t, g, start("GET", "https://blog.example.com/api/outstatic/login"), &recordingNext{})
	if w.Code != 500 || jsonError(t, w) != "github-relay-failed" {
		t.Fatalf("service failing: %d %s", w.Code, w.Body)
	}
	svc.SetMode(fakeservice.Malformed)
	w = serve(t, g, start("GET", "https://blog.example.com/api/outstatic/login"), &recordingNext{})
	if w.Code != 500 || jsonError(t, w) != "github-relay-failed" {
		t.Fatalf("malformed reply: %d %s", w.Code, w.Body)
	}
	svc.SetMode(fakeservice.Normal)
	// a callback origin the service does not know: its code passes through
	svc.Targets.Origins = svc.Targets.Origins[1:]
	w = serve(t, g, start("GET", "https://blog.example.com/api/outstatic/login"), &recordingNext{})
	if w.Code != 400 || jsonError(t, w) != "invalid-callback-domain" {
		t.Fatalf("service refused the callback: %d %s", w.Code, w.Body)
	}
	// a foreign host never reaches the service
	n := len(svc.Requests())
	w = serve(t, g, start("GET", "https://evil.example/api/outstatic/login"), &recordingNext{})
	if w.Code != 400 || len(svc.Requests()) != n {
		t.Fatalf("foreign host: %d, %d service calls", w.Code, len(svc.Requests())-n)
	}
}

func TestGuardKeepAppRoutes(t *testing.T) {
	g, svc := proSetup(t, true, func(g *Guard) { g.KeepAppRoutes = []string{"login"} })
	next := &recordingNext{}
	serve(t, g, start("GET", "https://blog.example.com/api/outstatic/login"), next)
	if !next.called || svc.Count("/outstatic/auth/github-exchange") != 0 {
		t.Fatal("keep_app_routes login: the guard answered login")
	}
}

func TestGuardProRoutesAtEdge(t *testing.T) {
	free, _ := proSetup(t, false, nil)
	pro, _ := proSetup(t, true, nil)
	for _, route := range []string{"generate", "scan"} {
		next := &recordingNext{}
		w := serve(t, free, request("POST", "https://blog.example.com/api/outstatic/"+route, false), next)
		if next.called || w.Code != http.StatusForbidden || jsonError(t, w) != "pro-required" {
			t.Errorf("free %s: %d %s", route, w.Code, w.Body)
		}
		next = &recordingNext{}
		serve(t, pro, request("POST", "https://blog.example.com/api/outstatic/"+route, false), next)
		if !next.called {
			t.Errorf("pro %s refused", route)
		}
	}
	w := serve(t, free, start("GET", "https://blog.example.com/api/outstatic/google-login"), &recordingNext{})
	if w.Header().Get("Location") != "https://blog.example.com/outstatic?error=google-relay-failed" {
		t.Errorf("free google-login: %d %q", w.Code, w.Header().Get("Location"))
	}
	mr := start("POST", "https://blog.example.com/api/outstatic/magic-link")
	mr.Body = ioNopCloser(`{"email":"ada@example.com"}`)
	if w = serve(t, free, mr, &recordingNext{}); w.Code != http.StatusForbidden {
		t.Errorf("free magic-link: %d", w.Code)
	}
	// switched off, the app answers
	off := false
	open, _ := proSetup(t, false, func(g *Guard) { g.RefuseProRoutes = &off })
	next := &recordingNext{}
	serve(t, open, request("POST", "https://blog.example.com/api/outstatic/generate", false), next)
	if !next.called {
		t.Error("refuse_pro_routes off still refused")
	}
}

func TestGuardRemembersTokenCallback(t *testing.T) {
	off := false
	g, _ := proSetup(t, true, func(g *Guard) { g.BindLogin = &off })
	for u, want := range map[string]string{
		"https://blog.example.com/outstatic/api/outstatic/callback?exchange_token=tok-documented-1": "https://blog.example.com/outstatic/api/outstatic/callback",
		"https://blog.example.com/api/outstatic/callback?exchange_token=tok-stock-form-1":           "https://blog.example.com/api/outstatic/callback",
	} {
		serve(t, g, request("GET", u, false), &recordingNext{})
		token := u[strings.Index(u, "=")+1:]
		got, ok := tokenCallbacks.Take(token)
		if !ok || got != want {
			t.Errorf("%s: recorded %q %v, want %q", u, got, ok, want)
		}
		if _, again := tokenCallbacks.Take(token); again {
			t.Error("a recorded callback served twice")
		}
	}
}

func ioNopCloser(s string) *nopCloser { return &nopCloser{strings.NewReader(s)} }

type nopCloser struct{ *strings.Reader }

func (nopCloser) Close() error { return nil }

// TestTokenStoreAcrossInstances: with token_store, a guard records where a
// token arrived in Redis, a relay provisioned apart reads it, and another
// guard sees a replay.
func TestTokenStoreAcrossInstances(t *testing.T) {
	srv := testredis.Start(t)
	shared := &SharedStore{Redis: &RelayRedis{Address: srv.Addr, Prefix: "test"}}
	off := false
	provision := func(m interface {
		Provision(caddy.Context) error
		Cleanup() error
	}) {
		ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
		t.Cleanup(cancel)
		if err := m.Provision(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = m.Cleanup() })
	}
	newGuard := func() *Guard {
		g := &Guard{CallbackOrigins: []string{"https://blog.example.com/outstatic"}, BindLogin: &off, TokenStore: shared}
		provision(g)
		g.edge.SetLogger(zaptest.NewLogger(t))
		return g
	}
	a, c := newGuard(), newGuard()
	t.Setenv("OUTSTATIC_TEST_KEY", testKey)
	rl := &Relay{Upstream: "http://127.0.0.1:1/api", APIKeys: []string{"{env.OUTSTATIC_TEST_KEY}"},
		CallbackOrigins: []string{"https://blog.example.com/outstatic"}, TokenStore: shared}
	provision(rl)

	const u = "https://blog.example.com/outstatic/api/outstatic/callback?exchange_token=shared-token-1"
	next := &recordingNext{}
	serve(t, a, request("GET", u, false), next)
	if !next.called {
		t.Fatal("first arrival refused")
	}
	next = &recordingNext{}
	if w := serve(t, c, request("GET", u, false), next); next.called || !strings.Contains(w.Header().Get("Location"), "session-error") {
		t.Fatal("another guard let a replay through")
	}
	cb, ok := rl.callbacks.Take("shared-token-1")
	if !ok || cb != "https://blog.example.com/outstatic/api/outstatic/callback" {
		t.Fatalf("the relay read %q %v", cb, ok)
	}
	if _, again := rl.callbacks.Take("shared-token-1"); again {
		t.Fatal("read twice")
	}
}

func TestGuardPlaceholders(t *testing.T) {
	for _, pro := range []bool{true, false} {
		g, _ := proSetup(t, pro, nil)
		r := request("GET", "https://blog.example.com/", false)
		repl := caddy.NewReplacer()
		r = r.WithContext(context.WithValue(r.Context(), caddy.ReplacerCtxKey, repl))
		serve(t, g, r, &recordingNext{})
		gotPro, _ := repl.GetString("http.outstatic.pro")
		gotProject, _ := repl.GetString("http.outstatic.project")
		if gotPro != fmt.Sprint(pro) || gotProject != "proj_1" {
			t.Errorf("pro %v: placeholders %q %q", pro, gotPro, gotProject)
		}
	}
}

// TestVerdictSurvivesReload: a new config with the same service and cache
// settings finds the verdicts of the old one, which Caddy cleans up after
// the new one is provisioned.
func TestVerdictSurvivesReload(t *testing.T) {
	old, svc := proSetup(t, true, nil)
	if !hasFlags(t, old) {
		t.Fatal("no flags")
	}
	reloaded := &Guard{CallbackOrigins: old.CallbackOrigins, APIKey: old.APIKey, Service: old.Service}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	if err := reloaded.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	defer reloaded.Cleanup()
	reloaded.edge.SetLogger(zaptest.NewLogger(t))
	if err := old.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if !hasFlags(t, reloaded) {
		t.Fatal("the reloaded guard lost the verdict")
	}
	if n := svc.Count("/outstatic/project"); n != 1 {
		t.Fatalf("%d key checks across a reload, want 1", n)
	}
}

// TestRelaySecretKeptInStore: without a configured secret, instances that
// share a store draw one secret between them and keep it.
func TestRelaySecretKeptInStore(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	var secrets [][]byte
	for i := 0; i < 2; i++ {
		st := store.NewStorage(&certmagic.FileStorage{Path: dir}, "outstatic")
		s, err := (&Relay{}).relaySecret(ctx, st, caddy.NewReplacer())
		if err != nil || len(s) != 32 {
			t.Fatalf("secret %x, %v", s, err)
		}
		secrets = append(secrets, s)
	}
	if string(secrets[0]) != string(secrets[1]) {
		t.Fatal("two instances drew different secrets")
	}
	t.Setenv("TEST_SHORT_SECRET", "short")
	if _, err := (&Relay{Secret: "{env.TEST_SHORT_SECRET}"}).relaySecret(ctx, nil, caddy.NewReplacer()); err == nil {
		t.Fatal("a short configured secret was accepted")
	}
}

// trailerBody fills the request's trailer map in the Read that returns
// io.EOF, as net/http does.
type trailerBody struct {
	r    *strings.Reader
	fill func()
}

func (b *trailerBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		b.fill()
	}
	return n, err
}

func (b *trailerBody) Close() error { return nil }

// TestGuardStripsTrailers: the flags are removed from the declared trailer
// names, from the values that arrive at the body's end (declared or not),
// and from a Trailer header net/http left in place.
func TestGuardStripsTrailers(t *testing.T) {
	g, _ := proSetup(t, true, nil)
	if !hasFlags(t, g) {
		t.Fatal("no flags")
	}
	r := request("POST", "https://blog.example.com/api/outstatic/generate", false)
	r.Trailer = http.Header{"X-Outstatic-Pro": nil, "X_outstatic_features": nil, "X-Keep": nil}
	trailer := r.Trailer
	r.Body = &trailerBody{r: strings.NewReader("{}"), fill: func() {
		trailer["X-Outstatic-Pro"] = []string{"true"}
		trailer["X_outstatic_features"] = []string{"ai-completions"}
		trailer["X.Outstatic.Project"] = []string{"undeclared"}
		trailer["X-Keep"] = []string{"kept"}
	}}
	r.Header["Trailer"] = []string{"X-Outstatic-Pro, X-Keep", "x_outstatic_project"}
	var body string
	var got http.Header
	var header http.Header
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		b, _ := io.ReadAll(r.Body)
		body, got, header = string(b), r.Trailer, r.Header
		return nil
	})
	if err := g.ServeHTTP(httptest.NewRecorder(), r, next); err != nil {
		t.Fatal(err)
	}
	if body != "{}" || got.Get("X-Keep") != "kept" || len(flagHeaders(got)) != 0 {
		t.Fatalf("body %q, trailers %v", body, got)
	}
	if tr := header.Values("Trailer"); len(tr) != 1 || tr[0] != "X-Keep" {
		t.Fatalf("Trailer header %q", tr)
	}
	if header.Get("X-Outstatic-Pro") != "true" {
		t.Fatal("the guard's own flag is gone from the header")
	}
}
