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
