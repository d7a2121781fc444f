package pages

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakegithub"
	"github.com/caddy-outstatic/caddy-outstatic/relay/github"
	"github.com/caddy-outstatic/caddy-outstatic/relay/native"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
	"github.com/caddy-outstatic/caddy-outstatic/store"
	"github.com/caddy-outstatic/caddy-outstatic/validate"
)

// pagesEnv is a native relay with its pages, in front of a fake GitHub.
type pagesEnv struct {
	gh    *fakegithub.Server
	relay *native.Native
	url   string // the relay's public URL
	key   string // the project's key
	logs  *observer.ObservedLogs
}

func origin(t *testing.T, raw string) validate.Origin {
	o, err := validate.ParseOrigin(raw)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func newPagesEnv(t *testing.T) *pagesEnv {
	t.Helper()
	return newPagesEnvWith(t, nil)
}

// newPagesEnvWith is newPagesEnv with edit applied to the relay's
// configuration.
func newPagesEnvWith(t *testing.T, edit func(*native.NativeConfig)) *pagesEnv {
	t.Helper()
	env := &pagesEnv{}
	env.gh = fakegithub.New("relay-client", "relay-secret", fakegithub.User{Login: "ada", Name: "Ada", ID: 1,
		Emails: []fakegithub.Email{{Email: "ada@example.com", Primary: true, Verified: true}}})
	env.gh.Start()
	t.Cleanup(env.gh.Close)
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	pub, _ := url.Parse(srv.URL)
	cfg := native.NativeConfig{
		PublicURL: pub,
		Projects: []native.Project{
			{Project: roster.Project{Slug: "blog", RepoOwner: "acme", RepoSlug: "blog",
				Targets: validate.Targets{Origins: []validate.Origin{origin(t, "https://blog.example.com/outstatic")}},
				Members: map[string]string{"ada": "owner", "bob@example.com": "editor"}}},
			{Project: roster.Project{Slug: "docs", RepoOwner: "acme", RepoSlug: "docs", Members: map[string]string{"bob@example.com": "owner"}}},
		},
		GitHub: github.OAuthApp{ClientID: "relay-client", ClientSecret: "relay-secret",
			BaseURL: env.gh.URL(), APIURL: env.gh.APIURL(), GraphQLURL: env.gh.GraphQLURL()},
		Store:  store.NewStorage(&certmagic.FileStorage{Path: t.TempDir()}, "outstatic"),
		Secret: bytes.Repeat([]byte("s"), 32),
	}
	if edit != nil {
		edit(&cfg)
	}
	n, err := native.NewNative(cfg)
	if err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zap.InfoLevel)
	operators, err := roster.KeyOperators([]string{"ada"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{SignIn: n.Logins(), Roster: n.Roster(), Operators: operators, Logger: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	n.SetPages(p)
	handler = n
	env.relay, env.url, env.logs = n, srv.URL, logs
	if env.key, _, err = n.Roster().CreateKey(context.Background(), "blog", false); err != nil {
		t.Fatal(err)
	}
	for who, role := range map[string]string{"mia": "manager", "ann": "author"} {
		if _, err := n.Roster().AddMember(context.Background(), "blog", who, role, roster.OperatorActor("test")); err != nil {
			t.Fatal(err)
		}
	}
	return env
}

// browser is a client with its own cookies that does not follow redirects.
type browser struct {
	t      *testing.T
	client *http.Client
	env    *pagesEnv
}

func (e *pagesEnv) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, env: e, client: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do makes a request and returns the status, the body and the headers.
func (b *browser) do(method, path string, form url.Values) (int, string, http.Header) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	target := path
	if strings.HasPrefix(path, "/") {
		target = b.env.url + path
	}
	req, _ := http.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data), resp.Header
}

// follow follows redirects from path and returns the last answer and URL.
func (b *browser) follow(path string) (int, string, string) {
	b.t.Helper()
	u := b.env.url + path
	for range 10 {
		st, body, h := b.do(http.MethodGet, u, nil)
		if st < 300 || st > 399 {
			return st, body, u
		}
		next, _ := url.Parse(h.Get("Location"))
		base, _ := url.Parse(u)
		u = base.ResolveReference(next).String()
	}
	b.t.Fatal("too many redirects")
	return 0, "", ""
}

// signIn signs in to the pages as login and lands on the members page.
func (b *browser) signIn(login string, emails ...string) {
	b.t.Helper()
	u := fakegithub.User{Login: login, ID: int64(len(login))}
	for i, e := range emails {
		u.Emails = append(u.Emails, fakegithub.Email{Email: e, Primary: i == 0, Verified: true})
	}
	b.env.gh.SetUser(u)
	st, _, last := b.follow("/home/acme/blog/signin?provider=github&next=members")
	if !strings.HasSuffix(last, "/home/acme/blog/members") {
		b.t.Fatalf("sign-in as %s ended at %s (status %d)", login, last, st)
	}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token from a page of path.
func (b *browser) csrf(path string) string {
	b.t.Helper()
	_, body, _ := b.do(http.MethodGet, path, nil)
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		b.t.Fatalf("no CSRF token on %s", path)
	}
	return m[1]
}

// post sends a form to path with the page's CSRF token.
func (b *browser) post(path string, form url.Values) (int, string, http.Header) {
	b.t.Helper()
	form.Set("csrf", b.csrf(path))
	return b.do(http.MethodPost, path, form)
}

func TestSignInAndSecurityHeaders(t *testing.T) {
	env := newPagesEnv(t)
	b := env.browser(t)
	st, _, h := b.do(http.MethodGet, "/home/acme/blog/members", nil)
	if st != http.StatusSeeOther || !strings.HasSuffix(h.Get("Location"), "/home/acme/blog/signin?next=members") {
		t.Fatalf("signed out: %d %s, want 303 to the sign-in page", st, h.Get("Location"))
	}
	st, body, h := b.do(http.MethodGet, "/home/acme/blog/signin?next=api-keys", nil)
	if st != http.StatusOK || !strings.Contains(body, "Sign in with GitHub") || !strings.Contains(body, "provider=github&amp;next=api-keys") {
		t.Fatalf("sign-in page: %d\n%s", st, body)
	}
	for name, want := range map[string]string{
		"Content-Security-Policy": "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		"X-Frame-Options":         "DENY", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
	} {
		if h.Get(name) != want {
			t.Errorf("%s = %q, want %q", name, h.Get(name), want)
		}
	}
	b.signIn("ada", "ada@example.com")
	_, body, _ = b.do(http.MethodGet, "/home/acme/blog/members", nil)
	for _, want := range []string{"ada", "bob@example.com", "Caddyfile", "mia", "Add a member", "Invite by e-mail"} {
		if !strings.Contains(body, want) {
			t.Errorf("members page lacks %q", want)
		}
	}
	// The session cookie: HttpOnly, SameSite=Lax, sealed (no login in it).
	u, _ := url.Parse(env.url)
	var found bool
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == "ost_pages" {
			found = true
			if strings.Contains(c.Value, "ada") {
				t.Error("the session cookie is readable")
			}
		}
	}
	if !found {
		t.Fatal("no session cookie")
	}
	// The static files are served, and the layout names only them.
	if st, css, _ := b.do(http.MethodGet, "/home/-/pages.css", nil); st != 200 || !strings.Contains(css, "--accent") {
		t.Errorf("pages.css: %d", st)
	}
	if st, _, _ := b.do(http.MethodGet, "/home/-/copy.js", nil); st != 200 {
		t.Errorf("copy.js: %d", st)
	}
	if st, _, _ := b.do(http.MethodGet, "/home/-/../relay.go", nil); st != http.StatusNotFound && st != http.StatusMovedPermanently {
		t.Errorf("a path outside the static files: %d", st)
	}
	// Sign out needs its token too.
	if st, _, _ := b.do(http.MethodPost, "/home/acme/blog/signout", url.Values{}); st != http.StatusForbidden {
		t.Errorf("sign-out without a token: %d, want 403", st)
	}
	if st, _, _ := b.do(http.MethodPost, "/home/acme/blog/signout", url.Values{"csrf": {b.csrf("/home/acme/blog/members")}}); st != http.StatusSeeOther {
		t.Errorf("sign-out: %d, want 303", st)
	}
	if st, _, _ := b.do(http.MethodGet, "/home/acme/blog/members", nil); st != http.StatusSeeOther {
		t.Errorf("after sign-out: %d, want 303 to the sign-in page", st)
	}
}

// On https the cookies are Secure and __Host- prefixed.
func TestCookiesOnHTTPS(t *testing.T) {
	pub, _ := url.Parse("https://relay.example.com/api")
	n, err := native.NewNative(native.NativeConfig{PublicURL: pub, Projects: []native.Project{{Project: roster.Project{Slug: "blog", RepoOwner: "acme", RepoSlug: "blog"}}},
		GitHub: github.OAuthApp{ClientID: "c", ClientSecret: "s"}, Store: store.NewStorage(&certmagic.FileStorage{Path: t.TempDir()}, "o"),
		Secret: bytes.Repeat([]byte("s"), 32)})
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{SignIn: n.Logins(), Roster: n.Roster()})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	p.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "https://relay.example.com/home/acme/blog/signin?provider=github", nil))
	if w.Code != http.StatusFound || !strings.HasPrefix(w.Header().Get("Location"), "https://github.com/login/oauth/authorize?") {
		t.Fatalf("start: %d %s", w.Code, w.Header().Get("Location"))
	}
	c := w.Header().Get("Set-Cookie")
	for _, want := range []string{"__Host-ost_pages_signin=", "Path=/", "HttpOnly", "Secure", "SameSite=Lax"} {
		if !strings.Contains(c, want) {
			t.Errorf("Set-Cookie %q lacks %q", c, want)
		}
	}
	if strings.Contains(c, "Domain=") {
		t.Errorf("a __Host- cookie has no Domain: %q", c)
	}
	if p.root != "/api/home/" {
		t.Errorf("pages root = %q, want the public URL's path + /home/", p.root)
	}
}

func TestMembersForms(t *testing.T) {
	env := newPagesEnv(t)
	b := env.browser(t)
	b.signIn("ada", "ada@example.com")
	const page = "/home/acme/blog/members"

	// Forms without their token, or with another's, are refused.
	if st, _, _ := b.do(http.MethodPost, page, url.Values{"action": {"add"}, "who": {"zed"}, "role": {"editor"}}); st != http.StatusForbidden {
		t.Errorf("add without CSRF: %d, want 403", st)
	}
	if st, _, _ := b.do(http.MethodPost, page, url.Values{"action": {"add"}, "who": {"zed"}, "role": {"editor"}, "csrf": {"forged"}}); st != http.StatusForbidden {
		t.Errorf("add with a forged CSRF token: %d, want 403", st)
	}
	if env.storedRole(t, "zed") != "" {
		t.Fatal("a refused form changed the members")
	}

	st, _, h := b.post(page, url.Values{"action": {"add"}, "who": {"Zed"}, "role": {"editor"}})
	if st != http.StatusSeeOther || !strings.HasSuffix(h.Get("Location"), "/members?done=added") {
		t.Fatalf("add: %d %s", st, h.Get("Location"))
	}
	_, body, _ := b.do(http.MethodGet, page+"?done=added", nil)
	if !strings.Contains(body, "Member added.") || !strings.Contains(body, ">zed<") {
		t.Fatalf("added member not shown:\n%s", body)
	}
	if st, _, _ := b.post(page, url.Values{"action": {"role"}, "who": {"zed"}, "role": {"admin"}}); st != http.StatusSeeOther {
		t.Fatalf("role: %d", st)
	}
	if r := env.storedRole(t, "zed"); r != "admin" {
		t.Fatalf("zed is %q, want admin", r)
	}
	if st, _, _ := b.post(page, url.Values{"action": {"remove"}, "who": {"zed"}}); st != http.StatusSeeOther {
		t.Fatalf("remove: %d", st)
	}
	if r := env.storedRole(t, "zed"); r != "" {
		t.Fatalf("zed still %q", r)
	}
	// A bad name is refused with its reason next to the field.
	st, body, _ = b.post(page, url.Values{"action": {"add"}, "who": {"not a login"}, "role": {"editor"}})
	if st != http.StatusBadRequest || !strings.Contains(body, `id="who-error"`) || !strings.Contains(body, `value="not a login"`) {
		t.Fatalf("bad login: %d\n%s", st, body)
	}
	// Caddyfile members are read-only here.
	if st, body, _ = b.post(page, url.Values{"action": {"role"}, "who": {"bob@example.com"}, "role": {"author"}}); st != http.StatusConflict || !strings.Contains(body, "change them there") {
		t.Fatalf("changing a Caddyfile member: %d", st)
	}
	// Invite and revoke.
	st, _, h = b.post(page, url.Values{"action": {"invite"}, "email": {"cy@example.com"}, "role": {"author"}})
	if st != http.StatusSeeOther || !strings.HasSuffix(h.Get("Location"), "?done=invited-unsent") {
		t.Fatalf("invite (no mailer): %d %s", st, h.Get("Location"))
	}
	_, body, _ = b.do(http.MethodGet, page, nil)
	if !strings.Contains(body, "cy@example.com") || !strings.Contains(body, "by ada") {
		t.Fatalf("invitation not listed")
	}
	st, body, _ = b.post(page, url.Values{"action": {"invite"}, "email": {"Cy <cy@example.com>"}, "role": {"author"}})
	if st != http.StatusBadRequest || !strings.Contains(body, `id="email-error"`) {
		t.Fatalf("bad address: %d", st)
	}
	if st, _, _ := b.post(page, url.Values{"action": {"revoke"}, "email": {"cy@example.com"}}); st != http.StatusSeeOther {
		t.Fatalf("revoke: %d", st)
	}
	if inv, _ := env.relay.Roster().Invitations(context.Background(), "blog"); len(inv) != 0 {
		t.Fatalf("invitations left: %v", inv)
	}
	// Every change is logged, with who made it.
	if n := env.logs.FilterMessage("pages: members changed").FilterField(zap.String("by", "ada")).Len(); n != 5 {
		t.Errorf("%d member changes logged, want 5", n)
	}
}

// storedRole is who's stored role in blog, "" for none.
func (e *pagesEnv) storedRole(t *testing.T, who string) string {
	list, err := e.relay.Roster().Members(context.Background(), "blog")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range list {
		if m.Source == "store" && m.Who == who {
			return m.Role
		}
	}
	return ""
}

func TestPermissions(t *testing.T) {
	env := newPagesEnv(t)
	const members, keys = "/home/acme/blog/members", "/home/acme/blog/api-keys"

	// An editor (Caddyfile, by e-mail) has none of the members
	// permissions, nor projects.manage.
	bob := env.browser(t)
	bob.signIn("bob", "bob@example.com")
	// bob's sign-in lands on members, which refuses him: 403.
	if st, body, _ := bob.do(http.MethodGet, members, nil); st != http.StatusForbidden || !strings.Contains(body, "does not allow") {
		t.Errorf("editor on members: %d", st)
	}
	if st, _, _ := bob.do(http.MethodGet, keys, nil); st != http.StatusForbidden {
		t.Errorf("editor on api-keys: %d", st)
	}
	// bob owns another project: that does not let him manage this one,
	// and his own project's token does not either.
	token := bob.csrf("/home/acme/docs/members")
	if st, _, _ := bob.do(http.MethodPost, members, url.Values{"csrf": {token}, "action": {"add"}, "who": {"x"}, "role": {"owner"}}); st != http.StatusForbidden {
		t.Errorf("editor posting to members: %d, want 403", st)
	}

	// A manager (stored) manages members up to their own role, and not
	// the keys.
	mia := env.browser(t)
	mia.signIn("mia")
	if st, _, _ := mia.do(http.MethodGet, keys, nil); st != http.StatusForbidden {
		t.Errorf("manager on api-keys: %d, want 403", st)
	}
	if st, _, _ := mia.do(http.MethodPost, keys, url.Values{"csrf": {mia.csrf(members)}, "action": {"key"}}); st != http.StatusForbidden {
		t.Errorf("manager generating a key: %d, want 403", st)
	}
	if st, _, _ := mia.post(members, url.Values{"action": {"add"}, "who": {"eve"}, "role": {"owner"}}); st != http.StatusForbidden {
		t.Errorf("manager adding an owner: %d, want 403", st)
	}
	if st, _, _ := mia.post(members, url.Values{"action": {"role"}, "who": {"ann"}, "role": {"editor"}}); st != http.StatusForbidden {
		t.Errorf("manager changing a role without roles.manage: %d, want 403", st)
	}
	if st, _, _ := mia.post(members, url.Values{"action": {"add"}, "who": {"eve"}, "role": {"editor"}}); st != http.StatusSeeOther {
		t.Errorf("manager adding an editor: %d, want 303", st)
	}
	// An author (stored) may not see the members page.
	ann := env.browser(t)
	ann.signIn("ann")
	if st, _, _ := ann.do(http.MethodGet, members, nil); st != http.StatusForbidden {
		t.Errorf("author on members: %d, want 403", st)
	}
	// Someone who is no member at all.
	zoe := env.browser(t)
	zoe.signIn("zoe")
	if st, body, _ := zoe.do(http.MethodGet, members, nil); st != http.StatusForbidden || !strings.Contains(body, "not a member") {
		t.Errorf("non-member: %d", st)
	}
	// The URL must name a configured project, under its account.
	if st, _, _ := zoe.do(http.MethodGet, "/home/other/blog/members", nil); st != http.StatusNotFound {
		t.Errorf("wrong account: %d, want 404", st)
	}
	if st, _, _ := zoe.do(http.MethodGet, "/home/acme/nope/members", nil); st != http.StatusNotFound {
		t.Errorf("unknown project: %d, want 404", st)
	}
	if st, _, _ := zoe.do(http.MethodDelete, members, nil); st != http.StatusMethodNotAllowed {
		t.Errorf("DELETE: %d, want 405", st)
	}
}

// A sign-in ends only in the browser that started it, once, and returns
// only to the pages.
func TestSignInTicket(t *testing.T) {
	env := newPagesEnv(t)
	a := env.browser(t)
	st, _, h := a.do(http.MethodGet, "/home/acme/blog/signin?provider=github&next=https://evil.example/", nil)
	if st != http.StatusFound {
		t.Fatalf("start: %d", st)
	}
	// Through GitHub, back to the relay's callback, which sends a ticket.
	st, _, h = a.do(http.MethodGet, h.Get("Location"), nil)
	if st != http.StatusFound {
		t.Fatalf("authorize: %d", st)
	}
	st, _, h = a.do(http.MethodGet, h.Get("Location"), nil)
	ticketURL := h.Get("Location")
	if st != http.StatusFound || !strings.Contains(ticketURL, "/home/acme/blog/signin?ticket=") {
		t.Fatalf("callback: %d %s", st, ticketURL)
	}
	// Another browser cannot use it.
	other := env.browser(t)
	if st, _, h := other.do(http.MethodGet, ticketURL, nil); st != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "error=ticket") {
		t.Fatalf("ticket in another browser: %d %s", st, h.Get("Location"))
	}
	// The browser that started goes to a page of its own project, not
	// to the next it was given.
	st, _, h = a.do(http.MethodGet, ticketURL, nil)
	if st != http.StatusSeeOther || h.Get("Location") != "/home/acme/blog/members" {
		t.Fatalf("ticket: %d %s", st, h.Get("Location"))
	}
	// Replayed, even with the nonce, it is refused.
	b := env.browser(t)
	b.client.Jar = a.client.Jar
	if st, _, h := b.do(http.MethodGet, ticketURL, nil); st != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "error=ticket") {
		t.Fatalf("replayed ticket: %d %s", st, h.Get("Location"))
	}
	// A provider the relay lacks.
	if st, _, h := a.do(http.MethodGet, "/home/acme/blog/signin?provider=myspace", nil); st != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "error=provider") {
		t.Fatalf("unknown provider: %d %s", st, h.Get("Location"))
	}
	// An error from the provider is shown on the sign-in page.
	if st, body, _ := a.do(http.MethodGet, "/home/acme/blog/signin?error=invalid-state", nil); st != http.StatusBadRequest || !strings.Contains(body, "took too long") {
		t.Fatalf("error page: %d", st)
	}
}

func TestAPIKeysPage(t *testing.T) {
	env := newPagesEnv(t)
	b := env.browser(t)
	b.signIn("ada", "ada@example.com")
	const page = "/home/acme/blog/api-keys"
	_, body, _ := b.do(http.MethodGet, page, nil)
	info, _, _ := env.relay.Roster().StoredKey(context.Background(), "blog")
	if !strings.Contains(body, "https://blog.example.com/outstatic") || !strings.Contains(body, info.Prefix+"…") || strings.Contains(body, env.key) {
		t.Fatalf("api-keys page:\n%s", body)
	}
	if st, _, _ := b.do(http.MethodPost, page, url.Values{"action": {"origin-add"}, "origin": {"https://preview.example.com/outstatic"}}); st != http.StatusForbidden {
		t.Errorf("origin without CSRF: %d, want 403", st)
	}
	// A bad origin: 400 with validate's reason next to the field.
	st, body, _ := b.post(page, url.Values{"action": {"origin-add"}, "origin": {"https://preview.example.com/admin"}})
	if st != http.StatusBadRequest || !strings.Contains(body, `<p class="field-error" id="origin-error">callback origin &#34;https://preview.example.com/admin&#34;`) {
		t.Fatalf("bad origin: %d\n%s", st, body)
	}
	st, _, h := b.post(page, url.Values{"action": {"origin-add"}, "origin": {"https://Preview.example.com/outstatic"}})
	if st != http.StatusSeeOther || !strings.HasSuffix(h.Get("Location"), "?done=origin-added") {
		t.Fatalf("add origin: %d %s", st, h.Get("Location"))
	}
	// The relay accepts callbacks on it at once.
	callback := `{"callback_url":"https://preview.example.com/outstatic/api/outstatic/callback"}`
	req, _ := http.NewRequest(http.MethodPost, env.url+"/outstatic/auth/github-exchange", strings.NewReader(callback))
	req.Header.Set("Authorization", "Bearer "+env.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("github-exchange on the added origin: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()

	// Generate: the key is in this answer, once.
	st, body, h = b.post(page, url.Values{"action": {"key"}})
	m := regexp.MustCompile(`id="new-key" class="key" value="(ost_[^"]+)"`).FindStringSubmatch(body)
	if st != http.StatusOK || m == nil || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("generate: %d\n%s", st, body)
	}
	newKey := m[1]
	_, body, _ = b.do(http.MethodGet, page, nil)
	if strings.Contains(body, newKey) {
		t.Fatal("the key is shown twice")
	}
	info, _, _ = env.relay.Roster().StoredKey(context.Background(), "blog")
	if !strings.HasPrefix(newKey, info.Prefix) || !strings.Contains(body, info.Prefix+"…") {
		t.Fatalf("prefix %q not shown", info.Prefix)
	}
	// The old key is revoked at once; the new one works.
	for key, want := range map[string]int{env.key: http.StatusUnauthorized, newKey: http.StatusOK} {
		req, _ := http.NewRequest(http.MethodGet, env.url+"/outstatic/project", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != want {
			t.Fatalf("key check: %v %v, want %d", resp.StatusCode, err, want)
		}
		resp.Body.Close()
	}
	// Remove the stored origin; the Caddyfile's cannot be.
	if st, _, _ := b.post(page, url.Values{"action": {"origin-remove"}, "origin": {"https://blog.example.com/outstatic"}}); st != http.StatusConflict {
		t.Errorf("removing the Caddyfile origin: %d, want 409", st)
	}
	if st, _, _ := b.post(page, url.Values{"action": {"origin-remove"}, "origin": {"https://preview.example.com/outstatic"}}); st != http.StatusSeeOther {
		t.Errorf("removing a stored origin: %d, want 303", st)
	}
	// The logs name the change and the prefix, never the key.
	for _, e := range env.logs.All() {
		for _, f := range e.Context {
			if strings.Contains(f.String, newKey) {
				t.Fatalf("the key was logged: %s", e.Message)
			}
		}
	}
	if env.logs.FilterMessage("pages: API key generated").Len() != 1 || env.logs.FilterMessage("pages: callback origin added").Len() != 1 {
		t.Error("changes not logged")
	}
}

// A role is read at every request: a member removed, or lowered, while
// signed in loses the pages at once.
func TestRoleReadAtEveryRequest(t *testing.T) {
	env := newPagesEnv(t)
	mia := env.browser(t)
	mia.signIn("mia")
	const members = "/home/acme/blog/members"
	token := mia.csrf(members)
	if err := env.relay.Roster().RemoveMember(context.Background(), "blog", "mia", roster.OperatorActor("test")); err != nil {
		t.Fatal(err)
	}
	if st, body, _ := mia.do(http.MethodGet, members, nil); st != http.StatusForbidden || !strings.Contains(body, "not a member") {
		t.Fatalf("removed member: %d", st)
	}
	if st, _, _ := mia.do(http.MethodPost, members, url.Values{"csrf": {token}, "action": {"add"}, "who": {"x"}, "role": {"author"}}); st != http.StatusForbidden {
		t.Fatalf("removed member posting: %d, want 403", st)
	}
	if env.storedRole(t, "x") != "" {
		t.Fatal("a removed member changed the members")
	}
}

// The page offers only what the rule allows the signed-in user, and the
// relay refuses the rest when posted anyway: a manager re-adding a member
// is told they are one (their role unchanged), an owner's invitation
// above the manager has no Revoke button, and the manager's own rows
// offer no role change (no roles.manage).
func TestMembersPageFollowsTheRule(t *testing.T) {
	env := newPagesEnv(t)
	ctx, op := context.Background(), roster.OperatorActor("test")
	if _, err := env.relay.Roster().AddMember(ctx, "blog", "olga", "owner", op); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := env.relay.Roster().Invite(ctx, "blog", "kim@example.com", "admin", op); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := env.relay.Roster().Invite(ctx, "blog", "cy@example.com", "author", op); err != nil {
		t.Fatal(err)
	}
	const page = "/home/acme/blog/members"
	mia := env.browser(t)
	mia.signIn("mia")
	_, body, _ := mia.do(http.MethodGet, page, nil)
	for _, absent := range []string{`aria-label="Remove olga"`, `id="role-olga"`, `id="role-ann"`,
		`aria-label="Revoke the invitation of kim@example.com"`, `<option>owner</option>`, `<option>admin</option>`} {
		if strings.Contains(body, absent) {
			t.Errorf("the manager's page offers %s", absent)
		}
	}
	for _, present := range []string{`aria-label="Remove ann"`, `aria-label="Revoke the invitation of cy@example.com"`, `<option>manager</option>`} {
		if !strings.Contains(body, present) {
			t.Errorf("the manager's page lacks %s", present)
		}
	}
	st, body, _ := mia.post(page, url.Values{"action": {"add"}, "who": {"Ann"}, "role": {"manager"}})
	if st != http.StatusConflict || !strings.Contains(body, `id="who-error">ann is a member already, as author`) ||
		!strings.Contains(body, `<option selected>manager</option>`) {
		t.Fatalf("re-adding ann: %d\n%s", st, body)
	}
	if env.storedRole(t, "ann") != "author" {
		t.Fatalf("ann is %q", env.storedRole(t, "ann"))
	}
	if st, _, _ := mia.post(page, url.Values{"action": {"revoke"}, "email": {"kim@example.com"}}); st != http.StatusForbidden {
		t.Fatalf("revoking an admin's invitation: %d, want 403", st)
	}

	// An owner, olga may change anyone stored, but as a stored owner
	// beside the Caddyfile's ada she is not the last one.
	olga := env.browser(t)
	olga.signIn("olga")
	_, body, _ = olga.do(http.MethodGet, page, nil)
	if !strings.Contains(body, `id="role-olga"`) || !strings.Contains(body, `aria-label="Remove olga"`) || strings.Contains(body, `id="role-ada"`) {
		t.Fatalf("the owner's page:\n%s", body)
	}
}
