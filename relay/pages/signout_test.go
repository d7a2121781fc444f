package pages

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"
)

// Signing out ends the session on the relay, not only in the browser: a
// copy of the cookie taken before, with its CSRF token, opens no page and
// changes nothing afterwards, while another session of the same user goes
// on.
func TestSignOutEndsTheSession(t *testing.T) {
	env := newPagesEnv(t)
	const page = "/home/acme/blog/members"
	a := env.browser(t)
	a.signIn("ada", "ada@example.com")
	other := env.browser(t)
	other.signIn("ada", "ada@example.com")
	token := a.csrf(page)
	u, _ := url.Parse(env.url)
	stolen := env.browser(t)
	stolen.client.Jar, _ = cookiejar.New(nil)
	stolen.client.Jar.SetCookies(u, a.client.Jar.Cookies(u))
	if st, _, _ := stolen.do(http.MethodGet, page, nil); st != http.StatusOK {
		t.Fatalf("the copied cookie before sign-out: %d, want 200", st)
	}
	if st, _, _ := a.do(http.MethodPost, "/home/acme/blog/signout", url.Values{"csrf": {token}}); st != http.StatusSeeOther {
		t.Fatalf("sign-out: %d, want 303", st)
	}
	if st, _, h := stolen.do(http.MethodGet, page, nil); st != http.StatusSeeOther {
		t.Errorf("the copied cookie after sign-out: %d %s, want 303 to the sign-in page", st, h.Get("Location"))
	}
	if st, _, _ := stolen.do(http.MethodPost, page, url.Values{"csrf": {token}, "action": {"add"}, "who": {"zed"}, "role": {"owner"}}); st != http.StatusForbidden {
		t.Errorf("a form replayed after sign-out: %d, want 403", st)
	}
	if st, _, _ := stolen.do(http.MethodPost, "/home/acme/blog/signout", url.Values{"csrf": {token}}); st != http.StatusForbidden {
		t.Errorf("a sign-out replayed: %d, want 403", st)
	}
	if env.storedRole(t, "zed") != "" {
		t.Fatal("a form replayed after sign-out changed the members")
	}
	if st, _, _ := other.do(http.MethodGet, page, nil); st != http.StatusOK {
		t.Errorf("the user's other session: %d, want 200", st)
	}
}
