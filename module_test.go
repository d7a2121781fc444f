package outstatic

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/caddy-outstatic/caddy-outstatic/guard"
	"github.com/caddy-outstatic/caddy-outstatic/protocol"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// newTestGuard provisions a guard for https://blog.example.com/outstatic and
// http://localhost:3000/outstatic, the origins of the shared vectors.
func newTestGuard(t *testing.T, edit func(*Guard)) *Guard {
	t.Helper()
	g := &Guard{CallbackOrigins: []string{"https://blog.example.com/outstatic", "http://localhost:3000/outstatic"}}
	if edit != nil {
		edit(g)
	}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	if err := g.Provision(ctx); err != nil {
		t.Fatalf("provision: %v", err)
	}
	if err := g.Validate(); err != nil {
		t.Fatalf("validate: %v", err)
	}
	g.edge.SetLogger(zaptest.NewLogger(t))
	return g
}

// recordingNext is the app behind the guard: it records what reached it.
type recordingNext struct {
	called   bool
	path     string
	query    string
	header   http.Header
	location string
}

func (n *recordingNext) ServeHTTP(w http.ResponseWriter, r *http.Request) error {
	n.called = true
	n.path = r.URL.Path
	n.query = r.URL.RawQuery
	n.header = r.Header.Clone()
	if n.location != "" {
		w.Header().Set("Location", n.location)
		w.WriteHeader(http.StatusFound)
		return nil
	}
	_, err := w.Write([]byte("app"))
	return err
}

// request builds a request for the public URL u (scheme decides r.TLS).
func request(method, u string, trusted bool) *http.Request {
	r := httptest.NewRequest(method, u, nil)
	if strings.HasPrefix(u, "https://") {
		r.TLS = &tls.ConnectionState{}
	}
	vars := map[string]any{caddyhttp.TrustedProxyVarKey: trusted}
	return r.WithContext(context.WithValue(r.Context(), caddyhttp.VarsCtxKey, vars))
}

func serve(t *testing.T, g *Guard, r *http.Request, next *recordingNext) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	if err := g.ServeHTTP(w, r, next); err != nil {
		t.Fatalf("ServeHTTP: %v", err)
	}
	return w
}

func jsonError(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var body struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q is not a JSON error: %v", w.Body.String(), err)
	}
	return body.Error
}

func TestGuardPassesOtherRequests(t *testing.T) {
	g := newTestGuard(t, nil)
	for _, u := range []string{
		"https://blog.example.com/",
		"https://evil.example/blog/post?x=1",
		"https://blog.example.com/outstatic",
		"https://blog.example.com/apix/outstatic/login",
	} {
		next := &recordingNext{}
		w := serve(t, g, request("GET", u, false), next)
		if !next.called || w.Body.String() != "app" {
			t.Errorf("%s: app not reached (status %d)", u, w.Code)
		}
	}
}

func TestGuardRefusesUnknownPublicOrigin(t *testing.T) {
	g := newTestGuard(t, nil)
	cases := []struct {
		name    string
		url     string
		headers map[string]string
		trusted bool
	}{
		{"other host", "https://evil.example/api/outstatic/login", nil, false},
		{"other host documented form", "https://evil.example/outstatic/api/outstatic/callback?exchange_token=abcdefgh12", nil, false},
		{"wrong scheme", "http://blog.example.com/api/outstatic/login", nil, false},
		{"wrong port", "http://localhost:3001/api/outstatic/login", nil, false},
		{"forwarded host from untrusted peer", "https://evil.example/api/outstatic/login",
			map[string]string{"X-Forwarded-Host": "blog.example.com"}, false},
		{"forwarded host names an unknown host", "https://blog.example.com/api/outstatic/login",
			map[string]string{"X-Forwarded-Host": "evil.example"}, true},
		{"forwarded proto downgrades", "https://blog.example.com/api/outstatic/login",
			map[string]string{"X-Forwarded-Proto": "http"}, true},
		{"host with userinfo-like text", "https://blog.example.com/api/outstatic/user", map[string]string{"Host": "blog.example.com@evil.example"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := request("GET", tc.url, tc.trusted)
			for k, v := range tc.headers {
				if k == "Host" {
					r.Host = v
					continue
				}
				r.Header.Set(k, v)
			}
			next := &recordingNext{}
			w := serve(t, g, r, next)
			if next.called {
				t.Fatal("request reached the app")
			}
			if w.Code != http.StatusBadRequest || jsonError(t, w) != "invalid-callback-domain" {
				t.Fatalf("got %d %s, want 400 invalid-callback-domain", w.Code, w.Body)
			}
		})
	}
}

func TestGuardHonoursTrustedForwardedHeaders(t *testing.T) {
	g := newTestGuard(t, nil)
	r := request("GET", "http://10.0.0.5:8080/api/outstatic/login", true)
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.Header.Set("Sec-Fetch-Mode", "cors")
	r.Header.Set("X-Forwarded-Proto", "https")
	r.Header.Set("X-Forwarded-Host", "blog.example.com")
	next := &recordingNext{}
	w := serve(t, g, r, next)
	if !next.called {
		t.Fatalf("trusted forwarded request refused: %d %s", w.Code, w.Body)
	}
}

func TestGuardRefusesNonCanonicalAuthPaths(t *testing.T) {
	g := newTestGuard(t, nil)
	for _, p := range []string{
		"/api//outstatic/login",
		"/API/outstatic/login",
		"/api/Outstatic/callback?exchange_token=abcdefgh12",
		"/api/outstatic/./login",
		"/api/outstatic/x/../callback?exchange_token=abcdefgh12",
		"/api/outstatic/%6cogin",
		"/api/%6futstatic/callback?exchange_token=abcdefgh12",
		"/outstatic/api/outstatic//callback?exchange_token=abcdefgh12",
		"/outstatic/API/outstatic/callback?exchange_token=abcdefgh12",
		// one segment to the app, which splits before it decodes; two
		// that cancel the route once decoded
		"/api/outstatic/callback/..%2F..%2F..?exchange_token=abcdefgh12",
		"/api/outstatic/callback/x%2f..%2f..%2f..%2f..?exchange_token=abcdefgh12",
		"/outstatic/api/outstatic/callback/..%2F..%2F..%2F..?exchange_token=abcdefgh12",
		"/api/outstatic/login/..%2F..%2F..",
	} {
		next := &recordingNext{}
		w := serve(t, g, request("GET", "https://blog.example.com"+p, false), next)
		if next.called || w.Code != http.StatusBadRequest {
			t.Errorf("%s: got %d (app reached: %v), want 400 and no app", p, w.Code, next.called)
		}
	}
}

func TestGuardCallbackQueries(t *testing.T) {
	g := newTestGuard(t, func(g *Guard) { off := false; g.BindLogin = &off })
	good := []string{
		"exchange_token=abcdefgh00001",
		"exchange_token=eyJhbGciOi.JIUzI1NiJ9-_~",
		"error=session-error",
		"error=access_denied&error_description=The+user+denied&state=abc",
		"code=0123abcd&state=xyz-123",
	}
	for _, q := range good {
		next := &recordingNext{}
		w := serve(t, g, request("GET", "https://blog.example.com/api/outstatic/callback?"+q, false), next)
		if !next.called || next.query != q {
			t.Errorf("%q: refused (%d %s)", q, w.Code, w.Header().Get("Location"))
		}
	}
	bad := []string{
		"",
		"exchange_token=",
		"exchange_token=short",
		"exchange_token=abcdefgh00002&exchange_token=other12345678",
		"exchange_token=abcdefgh00003&next=/",
		"exchange_token=abcdefgh00004&error=session-error",
		"exchange_token=abc%0Adefgh12345",
		"exchange_token=abc%20defgh12345",
		"exchange_token=" + strings.Repeat("a", 3000),
		"error=%3Cscript%3E",
		"error=made-up-code",
		"error",
		"code=abc",
		"state=abc",
		"code=abc&state=x&extra=1",
		"exchange_token=abcdefgh00005;x=1",
		"exchange_token=%zz",
	}
	for _, q := range bad {
		next := &recordingNext{}
		w := serve(t, g, request("GET", "https://blog.example.com/api/outstatic/callback?"+q, false), next)
		if next.called {
			t.Errorf("%q: reached the app", q)
			continue
		}
		loc := w.Header().Get("Location")
		if w.Code != http.StatusTemporaryRedirect || loc != "https://blog.example.com/outstatic?error="+protocol.CodeAuthCallbackFailed {
			t.Errorf("%q: got %d Location %q", q, w.Code, loc)
		}
	}
	// the magic-link callback takes no code and state
	next := &recordingNext{}
	serve(t, g, request("GET", "https://blog.example.com/api/outstatic/magic-link-callback?code=a&state=b", false), next)
	if next.called {
		t.Error("magic-link-callback with code and state reached the app")
	}
}

func TestGuardCallbackMethodAndSubpath(t *testing.T) {
	g := newTestGuard(t, nil)
	next := &recordingNext{}
	w := serve(t, g, request("POST", "https://blog.example.com/api/outstatic/callback?exchange_token=abcdefgh00006", false), next)
	if next.called || w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST callback: %d, app reached %v", w.Code, next.called)
	}
	next = &recordingNext{}
	w = serve(t, g, request("GET", "https://blog.example.com/api/outstatic/callback/x?exchange_token=abcdefgh00007", false), next)
	if next.called || w.Code != http.StatusNotFound {
		t.Errorf("callback/x: %d, app reached %v", w.Code, next.called)
	}
}

func cookieNamed(w *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, c := range w.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestGuardBindsLoginToBrowser(t *testing.T) {
	g := newTestGuard(t, nil)
	const cb = "https://blog.example.com/api/outstatic/callback?exchange_token=abcdefgh00008"

	// a token arriving in a browser that started no login is refused
	next := &recordingNext{}
	w := serve(t, g, request("GET", cb, false), next)
	if next.called || w.Header().Get("Location") != "https://blog.example.com/outstatic?error="+protocol.CodeAuthCallbackFailed {
		t.Fatalf("unbound callback: %d %q", w.Code, w.Header().Get("Location"))
	}

	// a prefetch of login sets no binding
	r := start("GET", "https://blog.example.com/api/outstatic/login")
	r.Header.Set("Next-Router-Prefetch", "1")
	w = serve(t, g, r, &recordingNext{})
	if c := cookieNamed(w, guard.BindingCookieSecure); c != nil {
		t.Fatal("prefetch set a binding cookie")
	}

	// a real login start sets a __Host- cookie on https
	w = serve(t, g, start("GET", "https://blog.example.com/api/outstatic/login"), &recordingNext{})
	c := cookieNamed(w, guard.BindingCookieSecure)
	if c == nil || !c.HttpOnly || !c.Secure || c.Path != "/" || c.Domain != "" || c.SameSite != http.SameSiteLaxMode {
		t.Fatalf("binding cookie: %+v", c)
	}

	// the callback with it passes and clears it
	r = request("GET", cb, false)
	r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	next = &recordingNext{}
	w = serve(t, g, r, next)
	if !next.called {
		t.Fatalf("bound callback refused: %d %q", w.Code, w.Header().Get("Location"))
	}
	if cl := cookieNamed(w, guard.BindingCookieSecure); cl == nil || cl.MaxAge >= 0 {
		t.Fatalf("binding not cleared: %+v", cl)
	}

	// a forged, a tampered and an expired cookie do not count
	for name, v := range map[string]string{
		"forged":   "v1.9999999999.AAAA.AAAA",
		"tampered": strings.Replace(c.Value, "v2.", "v2.9", 1),
		"expired": func() string {
			old := g.edge.Binding().WithClock(func() time.Time { return time.Now().Add(-time.Hour) })
			return old.Value("https://blog.example.com")
		}(),
	} {
		r = request("GET", cb, false)
		r.AddCookie(&http.Cookie{Name: guard.BindingCookieSecure, Value: v})
		next = &recordingNext{}
		serve(t, g, r, next)
		if next.called {
			t.Errorf("%s binding cookie accepted", name)
		}
	}

	// on http the cookie has no __Host- prefix (browsers refuse it there)
	w = serve(t, g, start("GET", "http://localhost:3000/api/outstatic/google-login"), &recordingNext{})
	if c := cookieNamed(w, guard.BindingCookie); c == nil || c.Secure {
		t.Fatalf("http binding cookie: %+v", c)
	}
}

func TestGuardMagicLinkBinding(t *testing.T) {
	g := newTestGuard(t, nil)
	const cb = "https://blog.example.com/api/outstatic/magic-link-callback?exchange_token=abcdefgh00009"
	next := &recordingNext{}
	serve(t, g, request("GET", cb, false), next)
	if next.called {
		t.Fatal("unbound magic link accepted")
	}
	w := serve(t, g, start("POST", "https://blog.example.com/api/outstatic/magic-link"), &recordingNext{})
	c := cookieNamed(w, guard.BindingCookieSecure)
	if c == nil {
		t.Fatal("magic-link POST set no binding")
	}
	r := request("GET", cb, false)
	r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	next = &recordingNext{}
	serve(t, g, r, next)
	if !next.called {
		t.Fatal("bound magic link refused")
	}

	// switched off, a link opened in another browser works
	g = newTestGuard(t, func(g *Guard) { off := false; g.BindMagicLink = &off })
	next = &recordingNext{}
	serve(t, g, request("GET", cb+"-other-browser", false), next)
	if !next.called {
		t.Fatal("bind_magic_link off still refused")
	}
	// ... while relay logins stay bound
	next = &recordingNext{}
	serve(t, g, request("GET", "https://blog.example.com/api/outstatic/callback?exchange_token=abcdefgh00010", false), next)
	if next.called {
		t.Fatal("bind_magic_link off unbound the login callback")
	}
}

func TestGuardRewritesDocumentedCallback(t *testing.T) {
	off := false
	g := newTestGuard(t, func(g *Guard) { g.BindLogin, g.BindMagicLink = &off, &off })
	for route, want := range map[string]string{
		"callback":            "/api/outstatic/callback",
		"magic-link-callback": "/api/outstatic/magic-link-callback",
	} {
		next := &recordingNext{}
		q := "exchange_token=documented-" + route
		serve(t, g, request("GET", "https://blog.example.com/outstatic/api/outstatic/"+route+"?"+q, false), next)
		if !next.called || next.path != want || next.query != q {
			t.Errorf("%s: app got %q ?%q", route, next.path, next.query)
		}
	}
	// with a base path
	g2 := &Guard{CallbackOrigins: []string{"https://example.com/blog/outstatic"}, BindLogin: &off}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	if err := g2.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	next := &recordingNext{}
	serve(t, g2, request("GET", "https://example.com/blog/outstatic/api/outstatic/callback?exchange_token=abcdefgh00013", false), next)
	if next.path != "/blog/api/outstatic/callback" {
		t.Errorf("base path: app got %q", next.path)
	}
}

func TestGuardRewritesAppLocation(t *testing.T) {
	g := newTestGuard(t, nil)
	cases := []struct {
		url, location, want string
	}{
		{"https://blog.example.com/api/outstatic/signout", "http://localhost:3000/outstatic?error=x", "https://blog.example.com/outstatic?error=x"},
		{"https://blog.example.com/outstatic", "https://LOCALHOST:3000/outstatic", "https://blog.example.com/outstatic"},
		{"https://blog.example.com/", "http://localhost:3000", "https://blog.example.com"},
		// other origins and relative redirects are left alone
		{"https://blog.example.com/", "https://github.com/login/oauth/authorize?x=1", "https://github.com/login/oauth/authorize?x=1"},
		{"https://blog.example.com/", "/outstatic", "/outstatic"},
		{"https://blog.example.com/", "http://localhost:30000/x", "http://localhost:30000/x"},
		// a Host that is no callback origin never steers a redirect
		{"https://evil.example/", "http://localhost:3000/outstatic", "http://localhost:3000/outstatic"},
	}
	for _, tc := range cases {
		w := serve(t, g, request("GET", tc.url, false), &recordingNext{location: tc.location})
		if got := w.Header().Get("Location"); got != tc.want {
			t.Errorf("%s with Location %q: got %q, want %q", tc.url, tc.location, got, tc.want)
		}
	}
}

func TestGuardProvisionErrors(t *testing.T) {
	for name, g := range map[string]*Guard{
		"bad origin":     {CallbackOrigins: []string{"https://blog.example.com/admin"}},
		"bad app origin": {CallbackOrigins: []string{"https://blog.example.com/outstatic"}, AppOrigins: []string{"localhost:3000"}},
	} {
		ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
		if err := g.Provision(ctx); err == nil {
			t.Errorf("%s: provisioned", name)
		}
		cancel()
	}
	if err := (&Guard{}).Validate(); err == nil {
		t.Error("no origins validated")
	}
}

func TestGuardSignout(t *testing.T) {
	g := newTestGuard(t, nil)
	cases := []struct {
		origin     string
		wantStatus int
		wantOrigin string
	}{
		{"https://blog.example.com", 200, "https://localhost:3000"},
		{"https://BLOG.example.com:443", 200, "https://localhost:3000"},
		{"", 403, ""},
		{"null", 403, ""},
		{"https://evil.example", 403, ""},
		{"http://blog.example.com", 403, ""},
		{"https://blog.example.com.evil.example", 403, ""},
		{"https://blog.example.com/", 403, ""},
	}
	for _, tc := range cases {
		r := request("POST", "https://blog.example.com/api/outstatic/signout", false)
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		next := &recordingNext{}
		w := serve(t, g, r, next)
		if w.Code != tc.wantStatus {
			t.Errorf("Origin %q: status %d, want %d", tc.origin, w.Code, tc.wantStatus)
			continue
		}
		if tc.wantStatus == 200 && next.header.Get("Origin") != tc.wantOrigin {
			t.Errorf("Origin %q: app saw %q, want %q", tc.origin, next.header.Get("Origin"), tc.wantOrigin)
		}
		if tc.wantStatus != 200 && (next.called || jsonError(t, w) != "invalid-origin") {
			t.Errorf("Origin %q: app reached %v, body %s", tc.origin, next.called, w.Body)
		}
	}
}

func TestGuardGoogleLoginReturnURL(t *testing.T) {
	g := newTestGuard(t, nil)
	for q, ok := range map[string]bool{
		"":           true,
		"?_rsc=1x2y": true,
		"?returnUrl=https%3A%2F%2Fblog.example.com%2Foutstatic":                                      true,
		"?returnUrl=https%3A%2F%2Fevil.example%2Fx":                                                  false,
		"?returnUrl=%2F%2Fevil.example":                                                              false,
		"?returnUrl=https%3A%2F%2Fblog.example.com%2Foutstatic&returnUrl=https%3A%2F%2Fevil.example": false,
		"?next=https%3A%2F%2Fevil.example":                                                           false,
	} {
		next := &recordingNext{}
		w := serve(t, g, start("GET", "https://blog.example.com/api/outstatic/google-login"+q), next)
		if next.called != ok {
			t.Errorf("%q: app reached %v, want %v (%d)", q, next.called, ok, w.Code)
		}
		if !ok && (w.Code != 400 || jsonError(t, w) != "Invalid url") {
			t.Errorf("%q: %d %s", q, w.Code, w.Body)
		}
	}
}

func TestGuardRefusesReplayedToken(t *testing.T) {
	off := false
	g := newTestGuard(t, func(g *Guard) { g.BindLogin = &off })
	const cb = "https://blog.example.com/api/outstatic/callback?exchange_token=replayed-token-01"
	next := &recordingNext{}
	serve(t, g, request("GET", cb, false), next)
	if !next.called {
		t.Fatal("first arrival refused")
	}
	for _, u := range []string{cb, "https://blog.example.com/outstatic/api/outstatic/callback?exchange_token=replayed-token-01"} {
		next = &recordingNext{}
		w := serve(t, g, request("GET", u, false), next)
		if next.called || w.Header().Get("Location") != "https://blog.example.com/outstatic?error=session-error" {
			t.Fatalf("replay %s: %d %q, app reached %v", u, w.Code, w.Header().Get("Location"), next.called)
		}
	}
}

// start builds a login start as the stock sign-in page sends it: a
// same-origin fetch (a JSON POST for google-login and magic-link).
func start(method, u string) *http.Request {
	r := request(method, u, false)
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.Header.Set("Sec-Fetch-Mode", "cors")
	r.Header.Set("Sec-Fetch-Dest", "empty")
	if method == http.MethodPost {
		r.Header.Set("Content-Type", "application/json")
	}
	return r
}

// TestGuardLoginStartMustComeFromSite: a binding is minted only for a login
// the site's own page starts; any other start is refused, with what the
// sign-in page shows, and sets no cookie. Both when the app answers the
// start and when the guard does.
func TestGuardLoginStartMustComeFromSite(t *testing.T) {
	const site = "https://blog.example.com"
	type req struct {
		name, method, route string
		hdr                 map[string]string
	}
	fetch := map[string]string{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty"}
	click := map[string]string{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", "Sec-Fetch-User": "?1", "Referer": site + "/outstatic"}
	json := map[string]string{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors", "Content-Type": "application/json"}
	good := []req{
		{"login fetch", "GET", "login", fetch},
		{"google-login link", "GET", "google-login", click},
		{"google-login fetch", "POST", "google-login", json},
		{"magic-link fetch", "POST", "magic-link", map[string]string{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "same-origin", "Content-Type": "application/json; charset=utf-8"}},
		{"no fetch metadata, referer", "GET", "login", map[string]string{"Referer": site + "/outstatic"}},
		{"no fetch metadata, origin", "POST", "magic-link", map[string]string{"Origin": site, "Content-Type": "application/json"}},
	}
	bad := []req{
		{"cross-site navigation", "GET", "login", map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Referer": site + "/outstatic"}},
		{"cross-site popup", "GET", "google-login", map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}},
		{"same-site sibling", "GET", "login", map[string]string{"Sec-Fetch-Site": "same-site"}},
		{"typed or bookmarked", "GET", "google-login", map[string]string{"Sec-Fetch-Site": "none"}},
		{"two metadata values", "GET", "login", map[string]string{"Sec-Fetch-Site": "same-origin, cross-site"}},
		{"upper case metadata", "GET", "login", map[string]string{"Sec-Fetch-Site": "SAME-ORIGIN"}},
		{"no headers at all", "GET", "login", nil},
		{"suppressed referer", "GET", "google-login", map[string]string{"Referer": ""}},
		{"foreign referer", "GET", "login", map[string]string{"Referer": "https://evil.example/blog.example.com"}},
		{"referer on a look-alike", "GET", "login", map[string]string{"Referer": "https://blog.example.com.evil.example/"}},
		{"referer with userinfo", "GET", "login", map[string]string{"Referer": "https://blog.example.com@evil.example/"}},
		{"referer on plain http", "GET", "login", map[string]string{"Referer": "http://blog.example.com/outstatic"}},
		{"foreign origin", "POST", "google-login", map[string]string{"Origin": "https://evil.example", "Content-Type": "application/json"}},
		{"null origin", "POST", "magic-link", map[string]string{"Origin": "null", "Content-Type": "application/json", "Referer": site + "/"}},
		// the stock dashboard's /outstatic/redirect?redirectTo=<site URL>
		// navigates there on its own: same-origin, but no click
		{"the redirect page's navigation", "GET", "google-login", map[string]string{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", "Referer": site + "/outstatic/redirect?redirectTo=x"}},
		{"a navigation with no click", "GET", "google-login", map[string]string{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}},
		{"a click from the redirect page", "GET", "google-login", map[string]string{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", "Sec-Fetch-User": "?1", "Referer": site + "/OUTSTATIC/redirect/"}},
		{"login opened as a page", "GET", "login", map[string]string{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", "Sec-Fetch-User": "?1"}},
		{"google-login in a frame", "GET", "google-login", map[string]string{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "iframe", "Sec-Fetch-User": "?1"}},
		{"an image on the site", "GET", "login", map[string]string{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"}},
		{"site without mode", "GET", "login", map[string]string{"Sec-Fetch-Site": "same-origin"}},
		{"old browser from the redirect page", "GET", "google-login", map[string]string{"Referer": site + "/outstatic/redirect?redirectTo=x"}},
		// the dashboard shows the same redirect page for every path below
		// it, and for one the site's router reaches through "..%2F.."
		{"a click from below the redirect page", "GET", "google-login", map[string]string{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", "Sec-Fetch-User": "?1", "Referer": site + "/outstatic/redirect/x?redirectTo=y"}},
		{"old browser from below the redirect page", "GET", "google-login", map[string]string{"Referer": site + "/outstatic/redirect/..%2F..?redirectTo=x"}},
		{"old browser from the redirect page, encoded", "GET", "login", map[string]string{"Referer": site + "/outstatic/%72edirect/x?redirectTo=x"}},
		{"form post", "POST", "magic-link", map[string]string{"Sec-Fetch-Site": "same-origin", "Content-Type": "application/x-www-form-urlencoded"}},
		{"text/plain post", "POST", "google-login", map[string]string{"Sec-Fetch-Site": "same-origin", "Content-Type": "text/plain"}},
		{"no content type", "POST", "magic-link", map[string]string{"Sec-Fetch-Site": "same-origin"}},
		{"cross-site text/plain", "POST", "magic-link", map[string]string{"Sec-Fetch-Site": "cross-site", "Content-Type": "text/plain"}},
	}
	build := func(q req) *http.Request {
		r := request(q.method, site+"/api/outstatic/"+q.route, false)
		if q.method == "POST" {
			r.Body = ioNopCloser(`{"email":"ada@example.com"}`)
		}
		for k, v := range q.hdr {
			if v == "" {
				continue
			}
			r.Header.Set(k, v)
		}
		return r
	}
	appGuard := newTestGuard(t, nil)
	edgeGuard, svc := proSetup(t, true, nil)
	hasFlags(t, edgeGuard)
	for _, g := range []*Guard{appGuard, edgeGuard} {
		edge := g == edgeGuard
		for _, q := range good {
			next := &recordingNext{}
			w := serve(t, g, build(q), next)
			if cookieNamed(w, guard.BindingCookieSecure) == nil || w.Code >= 400 || next.called == edge {
				t.Errorf("edge %v, %s: %d %s, app reached %v, binding %v", edge, q.name, w.Code, w.Body, next.called, cookieNamed(w, guard.BindingCookieSecure) != nil)
			}
		}
		calls := len(svc.Requests())
		for _, q := range bad {
			next := &recordingNext{}
			w := serve(t, g, build(q), next)
			if next.called || cookieNamed(w, guard.BindingCookieSecure) != nil {
				t.Errorf("edge %v, %s: app reached %v, binding set %v", edge, q.name, next.called, cookieNamed(w, guard.BindingCookieSecure) != nil)
				continue
			}
			switch {
			case q.route == "google-login" && q.method == "GET":
				if w.Code != http.StatusFound || w.Header().Get("Location") != site+"/outstatic?error=google-relay-failed" {
					t.Errorf("%s: %d %q", q.name, w.Code, w.Header().Get("Location"))
				}
			case w.Code != http.StatusForbidden:
				t.Errorf("%s: %d", q.name, w.Code)
			default:
				want := map[string]string{"login": "github-relay-failed", "google-login": "google-relay-failed", "magic-link": "invalid-origin"}[q.route]
				if got := jsonError(t, w); got != want {
					t.Errorf("%s: error %q, want %q", q.name, got, want)
				}
			}
		}
		if n := len(svc.Requests()) - calls; n != 0 {
			t.Errorf("refused starts made %d service calls", n)
		}
	}

	// bind_login off and bind_magic_link off: starts are left alone, as before
	off := false
	g := newTestGuard(t, func(g *Guard) { g.BindLogin, g.BindMagicLink = &off, &off })
	for _, q := range bad {
		next := &recordingNext{}
		serve(t, g, build(q), next)
		if !next.called {
			t.Errorf("binding off, %s: refused", q.name)
		}
	}
}

// TestGuardBindingIsSingleUse: a binding serves one callback, on the
// server: the same cookie sent again (by the browser, or by whoever copied
// it) is refused and records nothing, and a cookie minted for one site
// does not serve another.
func TestGuardBindingIsSingleUse(t *testing.T) {
	g := newTestGuard(t, nil)
	w := serve(t, g, start("GET", "https://blog.example.com/api/outstatic/login"), &recordingNext{})
	c := cookieNamed(w, guard.BindingCookieSecure)
	if c == nil {
		t.Fatal("no binding")
	}
	callback := func(token string, cookie *http.Cookie) (*recordingNext, *httptest.ResponseRecorder) {
		r := request("GET", "https://blog.example.com/outstatic/api/outstatic/callback?exchange_token="+token, false)
		r.AddCookie(cookie)
		next := &recordingNext{}
		return next, serve(t, g, r, next)
	}
	if next, _ := callback("single-use-first", c); !next.called {
		t.Fatal("the first callback was refused")
	}
	for _, token := range []string{"single-use-second", "single-use-first"} {
		next, w := callback(token, c)
		if next.called || w.Header().Get("Location") != "https://blog.example.com/outstatic?error="+protocol.CodeAuthCallbackFailed {
			t.Fatalf("%s with a spent binding: app reached %v, %d %q", token, next.called, w.Code, w.Header().Get("Location"))
		}
	}
	if _, ok := tokenCallbacks.Take("single-use-second"); ok {
		t.Fatal("a spent binding recorded a second token")
	}
	if cb, ok := tokenCallbacks.Take("single-use-first"); !ok || cb != "https://blog.example.com/outstatic/api/outstatic/callback" {
		t.Fatalf("the first token's record: %q %v", cb, ok)
	}

	// a binding for http://localhost:3000 is no binding for blog.example.com
	w = serve(t, g, start("GET", "http://localhost:3000/api/outstatic/login"), &recordingNext{})
	other := cookieNamed(w, guard.BindingCookie)
	if other == nil {
		t.Fatal("no binding on localhost")
	}
	other.Name = guard.BindingCookieSecure
	if next, _ := callback("other-site-token", other); next.called {
		t.Fatal("a binding served another site")
	}
}
