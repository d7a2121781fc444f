package pages

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/relay/login"
	"github.com/caddy-outstatic/caddy-outstatic/relay/native"
)

// addressLogin stands in the Google slot for an OpenID Connect issuer: it
// sends the browser straight back to the slot's callback, and the user it
// vouches for has a verified address and no GitHub login, as an issuer's
// users have.
type addressLogin struct{ callback, email string }

func (*addressLogin) Name() string { return "oidc:corp" }

func (a *addressLogin) LoginURL(_ context.Context, state, _ string) (string, error) {
	return a.callback + "?code=c&state=" + url.QueryEscape(state), nil
}

func (a *addressLogin) Redeem(context.Context, string, string) (login.Member, error) {
	return login.Member{Email: a.email, Emails: []string{a.email}, Name: "Bob"}, nil
}

// A member known only by an address, signed in through the issuer, gets
// the pages their role allows, and their changes are recorded as theirs.
func TestSignInByAddress(t *testing.T) {
	env := newPagesEnvWith(t, func(c *native.NativeConfig) {
		c.Logins = login.Builtin().With(login.SlotGoogle, func(s login.Setup) (login.Provider, error) {
			return &addressLogin{callback: s.Callback, email: "Bob@example.com"}, nil
		})
	})
	// bob@example.com is the Caddyfile's owner of docs.
	b := env.browser(t)
	st, body, last := b.follow("/home/acme/docs/signin?provider=oidc:corp&next=members")
	if st != http.StatusOK || !strings.HasSuffix(last, "/home/acme/docs/members") {
		t.Fatalf("sign-in by address ended at %s (status %d)\n%s", last, st, body)
	}
	if !strings.Contains(body, "bob@example.com") || !strings.Contains(body, "Add a member") {
		t.Fatalf("the owner's members page:\n%s", body)
	}
	const page = "/home/acme/docs/members"
	if st, _, _ := b.post(page, url.Values{"action": {"add"}, "who": {"lin"}, "role": {"editor"}}); st != http.StatusSeeOther {
		t.Fatalf("add: %d", st)
	}
	list, err := env.relay.Roster().Members(context.Background(), "docs")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range list {
		if m.Who == "lin" && (m.Role != "editor" || m.By != "bob@example.com") {
			t.Fatalf("lin: %+v, want an editor added by bob@example.com", m)
		}
	}
	// The same session is an editor's on blog: not its Members page.
	if st, body, _ := b.do(http.MethodGet, "/home/acme/blog/members", nil); st != http.StatusForbidden || !strings.Contains(body, `title="Bob@example.com">Bob@example.com`) {
		t.Fatalf("blog's members page for its editor: %d\n%s", st, body)
	}
}
