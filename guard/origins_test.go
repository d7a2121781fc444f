package guard

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testwait"
	"github.com/caddy-outstatic/caddy-outstatic/validate"
	"github.com/caddy-outstatic/caddy-outstatic/verdict"
)

// relayVerdict is a Valid verdict whose answer named origins, as a native
// relay's key check does; each call makes a new answer, as each check
// does.
func relayVerdict(origins ...string) verdict.Verdict {
	body, _ := json.Marshal(map[string]any{"project_id": "blog", "callback_origins": origins})
	return verdict.Verdict{State: verdict.Valid, Body: body, Project: verdict.Project{
		ProjectID: "blog", ProjectSlug: "blog", IsPro: true, Plan: "pro",
		CallbackOrigins: origins, HasCallbackOrigins: origins != nil,
	}}
}

// serviceVerdict is a Valid verdict from a service that sends no origins.
func serviceVerdict() verdict.Verdict {
	return verdict.Verdict{State: verdict.Valid, Body: []byte(`{"project_id":"p"}`),
		Project: verdict.Project{ProjectID: "p", IsPro: true}}
}

func parseOrigins(t *testing.T, raw ...string) []validate.Origin {
	t.Helper()
	var out []validate.Origin
	for _, s := range raw {
		o, err := validate.ParseOrigin(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, o)
	}
	return out
}

// learningGuard is a guard with a key and local as its own origins,
// logging to the observer it returns.
func learningGuard(t *testing.T, local ...string) (*Guard, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	mem := memory{}
	g := New(Config{Origins: parseOrigins(t, local...), APIKey: "ost_test", BindLogin: true, BindMagic: true,
		Callbacks: mem, Bindings: mem, Logger: zap.New(core)})
	return g, logs
}

// check runs a GET of u through g with v and returns the answer and fix.
func check(g *Guard, v verdict.Verdict, u string, header ...string) (*httptest.ResponseRecorder, ResponseFix, bool) {
	r := httptest.NewRequest(http.MethodGet, u, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	fix, done, _ := g.Check(w, r, v, false)
	return w, fix, done
}

// errorOf is the error code of a JSON refusal.
func errorOf(w *httptest.ResponseRecorder) string {
	var out struct{ Error string }
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	return out.Error
}

// TestNoOriginsRefusesEveryAuthRoute: a guard with a key and no origin of
// its own, before the relay answers, refuses every path that may reach
// the site's API (any base path, spelling or Host) with
// project-url-not-configured and a log line saying it waits for the relay;
// other paths pass, with no Location fix.
func TestNoOriginsRefusesEveryAuthRoute(t *testing.T) {
	g, logs := learningGuard(t)
	for _, v := range []verdict.Verdict{{}, {State: verdict.Invalid}, serviceVerdict(), relayVerdict([]string{}...)} {
		for _, u := range []string{
			"https://blog.example.com/api/outstatic/login",
			"https://blog.example.com/outstatic/api/outstatic/callback?exchange_token=xt_1",
			"https://anything.example/blog/api/outstatic/user",
			"https://anything.example/API/Outstatic/signout",
			"https://anything.example//api//outstatic/refresh",
			"https://anything.example/x/../api/outstatic",
			"https://anything.example/api/outstatic/callback/..%2F..%2F..?exchange_token=xt_1",
		} {
			w, _, done := check(g, v, u)
			if !done || w.Code != http.StatusBadRequest || errorOf(w) != "project-url-not-configured" {
				t.Errorf("verdict %v, %s: done %v, %d %s", v.State, u, done, w.Code, w.Body)
			}
		}
		for _, u := range []string{"https://blog.example.com/", "https://blog.example.com/outstatic", "https://blog.example.com/api/other"} {
			if w, fix, done := check(g, v, u); done || fix.Location.Matched() {
				t.Errorf("verdict %v, %s: done %v (%d), location fix %v", v.State, u, done, w.Code, fix.Location.Matched())
			}
		}
	}
	for _, want := range []string{"waiting for the relay", "the relay refused the key", "answers no callback origins (outstatic.com sends none)",
		"the relay answers no callback origins for the project"} {
		found := false
		for _, e := range logs.FilterMessage("refused").All() {
			if strings.Contains(e.ContextMap()["why"].(string), want) {
				found = true
			}
		}
		if !found {
			t.Errorf("no refusal logged with %q", want)
		}
	}
}

// TestLearnedOrigins: the relay's origins are the guard's for every check
// that reads them: the Host check, the callback's documented path, the
// Location fix, the sign-out Origin check, google-login's returnUrl. A
// stale verdict keeps them; a 401 drops them.
func TestLearnedOrigins(t *testing.T) {
	g, logs := learningGuard(t)
	v := relayVerdict("https://blog.example.com/outstatic", "https://preview.example.com/docs/outstatic")

	if w, fix, done := check(g, v, "https://preview.example.com/docs/api/outstatic/user"); done || !fix.Location.Matched() {
		t.Fatalf("learned origin: done %v, %d %s", done, w.Code, w.Body)
	}
	if w, _, done := check(g, v, "https://evil.example/api/outstatic/user"); !done || errorOf(w) != "invalid-callback-domain" {
		t.Fatalf("another host: done %v, %d %s", done, w.Code, w.Body)
	}
	// the documented callback route of a learned origin is served from the
	// site's own
	r := httptest.NewRequest(http.MethodGet, "https://preview.example.com/docs/outstatic/api/outstatic/callback?error=access_denied", nil)
	if _, done, _ := g.Check(httptest.NewRecorder(), r, v, false); done || r.URL.Path != "/docs/api/outstatic/callback" {
		t.Fatalf("documented callback: done %v, path %s", done, r.URL.Path)
	}
	// the app's redirect is fixed to the learned site
	_, fix, _ := check(g, v, "https://blog.example.com/outstatic")
	h := http.Header{"Location": {"http://localhost:3000/outstatic?error=x"}}
	fix.Location.Apply(h)
	if h.Get("Location") != "https://blog.example.com/outstatic?error=x" {
		t.Fatalf("Location %s", h.Get("Location"))
	}
	// sign-out: Origin must be the learned site
	signout := func(origin string) int {
		r := httptest.NewRequest(http.MethodPost, "https://blog.example.com/api/outstatic/signout", nil)
		r.Header.Set("Origin", origin)
		w := httptest.NewRecorder()
		if _, done, _ := g.Check(w, r, v, false); !done {
			return 0
		}
		return w.Code
	}
	if got := signout("https://blog.example.com"); got != 0 {
		t.Fatalf("same-origin sign-out: %d", got)
	}
	if got := signout("https://preview.example.com"); got != http.StatusForbidden {
		t.Fatalf("sign-out from the other learned site: %d", got)
	}
	// google-login's returnUrl must be on a learned site
	for u, ok := range map[string]bool{
		"https://blog.example.com/api/outstatic/google-login?returnUrl=https%3A%2F%2Fblog.example.com%2Foutstatic": true,
		"https://blog.example.com/api/outstatic/google-login?returnUrl=https%3A%2F%2Fevil.example%2Foutstatic":     false,
	} {
		w, _, done := check(g, v, u)
		if refused := done && w.Code == http.StatusBadRequest; refused == ok {
			t.Errorf("%s: %d %s", u, w.Code, w.Body)
		}
	}

	stale := v
	stale.Stale = true
	if w, _, done := check(g, stale, "https://preview.example.com/docs/api/outstatic/user"); done {
		t.Fatalf("stale verdict: %d %s", w.Code, w.Body)
	}
	if w, _, done := check(g, verdict.Verdict{State: verdict.Invalid}, "https://blog.example.com/api/outstatic/user"); !done || errorOf(w) != "project-url-not-configured" {
		t.Fatalf("after a 401: done %v, %d %s", done, w.Code, w.Body)
	}

	// a new answer without preview: refused from then on
	if w, _, done := check(g, relayVerdict("https://blog.example.com/outstatic"), "https://preview.example.com/docs/api/outstatic/user"); !done || errorOf(w) != "invalid-callback-domain" {
		t.Fatalf("removed origin: done %v, %d %s", done, w.Code, w.Body)
	}
	if logs.FilterMessage("callback origins from the relay").Len() != 2 {
		t.Errorf("want a log line for each new list: %v", logs.All())
	}
}

// TestLocalOriginsNarrow: origins written in the guard's config narrow the
// relay's: one the relay does not allow is refused, and said so in the log;
// one the relay allows and the guard does not list is refused too. Before
// the relay answers, or from a service that sends no list, the guard's own
// are the set.
func TestLocalOriginsNarrow(t *testing.T) {
	g, logs := learningGuard(t, "https://blog.example.com/outstatic", "https://old.example.com/outstatic")
	v := relayVerdict("https://blog.example.com/outstatic", "https://preview.example.com/outstatic", "not an origin")
	for u, code := range map[string]string{
		"https://blog.example.com/api/outstatic/user":    "",
		"https://old.example.com/api/outstatic/user":     "invalid-callback-domain",
		"https://preview.example.com/api/outstatic/user": "invalid-callback-domain",
	} {
		w, _, done := check(g, v, u)
		if got := map[bool]string{true: errorOf(w)}[done]; got != code {
			t.Errorf("%s: %q, want %q (%d %s)", u, got, code, w.Code, w.Body)
		}
	}
	refused := logs.FilterMessage("callback origin refused: the relay does not allow it for the project").All()
	if len(refused) != 1 || refused[0].ContextMap()["origin"] != "https://old.example.com/outstatic" {
		t.Errorf("refused origins logged: %v", refused)
	}
	if logs.FilterMessageSnippet("not one; ignored").Len() != 1 {
		t.Errorf("the bad origin the relay answered is not logged")
	}

	for _, v := range []verdict.Verdict{{}, serviceVerdict()} {
		if w, _, done := check(g, v, "https://old.example.com/api/outstatic/user"); done {
			t.Errorf("verdict %v: the guard's own origin refused: %d %s", v.State, w.Code, w.Body)
		}
	}
	// nothing in common: every auth route refused
	if w, _, done := check(g, relayVerdict("https://preview.example.com/outstatic"), "https://blog.example.com/api/outstatic/user"); !done || errorOf(w) != "project-url-not-configured" {
		t.Errorf("no origin in common: done %v, %d %s", done, w.Code, w.Body)
	}
}

// TestEdgeStartUsesLearnedOrigin: a login started at the edge names the
// learned origin's canonical callback to the service.
func TestEdgeStartUsesLearnedOrigin(t *testing.T) {
	var sent struct {
		CallbackURL string `json:"callback_url"`
	}
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &sent)
		_, _ = io.WriteString(w, `{"url":"https://relay.example.com/outstatic/auth/github/start?s=1"}`)
	}))
	defer svc.Close()
	mem := memory{}
	g := New(Config{APIKey: "ost_test", ServiceURL: svc.URL, BindLogin: true, Callbacks: mem, Bindings: mem, StartTimeout: testwait.Bound})
	w, _, done := check(g, relayVerdict("https://preview.example.com/outstatic"), "https://preview.example.com/api/outstatic/login",
		"Sec-Fetch-Site", "same-origin", "Sec-Fetch-Mode", "cors")
	if !done || w.Code != http.StatusOK || sent.CallbackURL != "https://preview.example.com/outstatic/api/outstatic/callback" {
		t.Fatalf("start: done %v, %d %s; the service got %q", done, w.Code, w.Body, sent.CallbackURL)
	}
}
