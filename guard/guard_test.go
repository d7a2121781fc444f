package guard

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/verdict"
)

// memory is an in-test TokenMemory and BindingMemory.
type memory map[string]bool

func (m memory) Remember(token, _ string) bool { return m.once("t" + token) }
func (m memory) SpendBinding(id string, _ time.Time) bool {
	return m.once("b" + id)
}
func (m memory) once(k string) bool {
	if m[k] {
		return false
	}
	m[k] = true
	return true
}

// TestCheckWithoutCaddy runs a relay login's two ends through Check, as
// the root's ServeHTTP does, with nothing of Caddy: the start from the
// site's page sets the binding, the callback with it passes once.
func TestCheckWithoutCaddy(t *testing.T) {
	mem := memory{}
	g := New(Config{Origins: testOrigins(t), BindLogin: true, BindMagic: true, Callbacks: mem, Bindings: mem})

	start := httptest.NewRequest(http.MethodGet, "https://blog.example.com/api/outstatic/login", nil)
	start.Header.Set("Sec-Fetch-Site", "same-origin")
	start.Header.Set("Sec-Fetch-Mode", "cors")
	w := httptest.NewRecorder()
	fix, done, err := g.Check(w, start, verdict.Verdict{}, false)
	if done || err != nil || !fix.Location.Matched() {
		t.Fatalf("start: done %v, err %v, matched %v", done, err, fix.Location.Matched())
	}
	cookies := w.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != BindingCookieSecure {
		t.Fatalf("start set %v", cookies)
	}

	callback := func() *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "https://blog.example.com/outstatic/api/outstatic/callback?exchange_token=xt_0123456789abcdef", nil)
		r.AddCookie(cookies[0])
		w := httptest.NewRecorder()
		if _, done, _ := g.Check(w, r, verdict.Verdict{}, false); !done && r.URL.Path != "/api/outstatic/callback" {
			t.Fatalf("documented callback not rewritten: %s", r.URL.Path)
		}
		return w
	}
	if w := callback(); w.Code != http.StatusOK || w.Header().Get("Location") != "" {
		t.Fatalf("first callback: %d %s", w.Code, w.Header().Get("Location"))
	}
	if w := callback(); w.Code != http.StatusTemporaryRedirect {
		t.Fatalf("the binding served twice: %d", w.Code)
	}

	// a foreign Host on an auth route is refused here too
	r := httptest.NewRequest(http.MethodGet, "https://evil.example/api/outstatic/login", nil)
	w = httptest.NewRecorder()
	if _, done, _ := g.Check(w, r, verdict.Verdict{}, false); !done || w.Code != http.StatusBadRequest {
		t.Fatalf("foreign host: done %v, %d", done, w.Code)
	}
}

// TestStartFromAnyRedirectPageOfTheSite: a site with two dashboards has
// two redirect pages, and either navigates on its own to any URL of the
// site, so a start whose Referer is either one is refused, whichever
// dashboard's route it is.
func TestStartFromAnyRedirectPageOfTheSite(t *testing.T) {
	mem := memory{}
	g := New(Config{Origins: parseOrigins(t, "https://blog.example.com/outstatic", "https://blog.example.com/docs/outstatic"),
		BindLogin: true, BindMagic: true, Callbacks: mem, Bindings: mem})
	for _, start := range []string{"/api/outstatic/google-login", "/docs/api/outstatic/google-login"} {
		for _, ref := range []string{"/outstatic/redirect?redirectTo=x", "/docs/outstatic/redirect?redirectTo=x", "/docs/outstatic/redirect/y?redirectTo=x"} {
			w, _, done := check(g, verdict.Verdict{}, "https://blog.example.com"+start, "Referer", "https://blog.example.com"+ref)
			if !done || w.Code != http.StatusFound || len(w.Result().Cookies()) != 0 {
				t.Errorf("%s from %s: done %v, %d, cookies %v", start, ref, done, w.Code, w.Result().Cookies())
			}
		}
		if w, _, done := check(g, verdict.Verdict{}, "https://blog.example.com"+start, "Referer", "https://blog.example.com/docs/outstatic"); done || len(w.Result().Cookies()) != 1 {
			t.Errorf("%s from the dashboard: done %v, %d", start, done, w.Code)
		}
	}
}
