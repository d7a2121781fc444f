package native

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
)

// The relay's pages offer the OpenID Connect issuer too, and its callback
// ends a pages sign-in with a ticket, as GitHub's does; a pages state of
// one provider is refused at the other's callback.
func TestPageSignInWithOIDC(t *testing.T) {
	env, m := oidcEnv(t)
	n := env.relays[0]
	if got := n.Logins().SignInProviders(); !slices.Equal(got, []string{"github", "oidc:google"}) {
		t.Fatalf("SignInProviders = %v", got)
	}
	done := env.urls[0] + protocol.Pages.Path + "acme/blog/signin"
	login, nonce, err := n.Logins().PageSignInURL(nil, "oidc:google", "blog", done)
	if err != nil || !strings.HasPrefix(login, m.AuthorizationEndpoint()+"?") {
		t.Fatalf("PageSignInURL = %q, %v", login, err)
	}
	m.QueueUser(&mockoidc.MockUser{Subject: "b1", Email: "bob@example.com", EmailVerified: true})
	_, back := env.follow(t, login)
	if !strings.HasPrefix(back, env.urls[0]+"/outstatic/auth/oidc/callback?") {
		t.Fatalf("issuer sent the browser to %q", back)
	}
	// A GitHub callback does not take the issuer's state.
	if status, _ := env.follow(t, strings.Replace(back, "/outstatic/auth/oidc/callback", "/outstatic/auth/github/callback", 1)); status != http.StatusBadRequest {
		t.Fatalf("the oidc pages state at the GitHub callback: %d, want 400", status)
	}
	_, final := env.follow(t, back)
	u, _ := url.Parse(final)
	if !strings.HasPrefix(final, done+"?ticket=") || u.Query().Has("exchange_token") {
		t.Fatalf("came back to %s", final)
	}
	user, err := env.relays[1].Logins().OpenPageTicket(context.Background(), u.Query().Get("ticket"), nonce)
	if err != nil || user.Email != "bob@example.com" {
		t.Fatalf("OpenPageTicket = %+v, %v", user, err)
	}
}

// An address with a pending invitation is sent a login link (it is not a
// member yet), and that login accepts the invitation: the role offered.
func TestEmailLinkAcceptsInvitation(t *testing.T) {
	env, smtp, _ := emailEnv(t)
	ctx := context.Background()
	if _, _, _, err := env.relays[0].Roster().Invite(ctx, "blog", "new@example.com", "author", roster.Actor{Name: "ada", Login: "ada"}); err != nil {
		t.Fatal(err)
	}
	// A stranger still gets nothing.
	if status, _ := env.askLink(t, 1, "stranger@example.com"); status != 200 {
		t.Fatalf("request-magic-link: %d", status)
	}
	if status, _ := env.askLink(t, 1, "new@example.com"); status != 200 {
		t.Fatalf("request-magic-link: %d", status)
	}
	msg := smtp.Wait(t, 5*time.Second)
	env.settle()
	if msg.To[0] != "new@example.com" || smtp.Pending() != 0 {
		t.Fatalf("message to %v, %d more", msg.To, smtp.Pending())
	}
	c := browser()
	_, _, form := openLink(t, c, linkOf(t, msg))
	status, loc := confirm(t, c, env.urls[0], form)
	prefix := magicCallback + "?exchange_token="
	if status != http.StatusFound || !strings.HasPrefix(loc, prefix) {
		t.Fatalf("confirm: %d %q", status, loc)
	}
	status, out, _ := env.call(t, 0, "POST", "/outstatic/auth/exchange-token", "",
		map[string]string{"exchange_token": strings.TrimPrefix(loc, prefix), "callback_url": magicCallback})
	perms, _ := out["user"].(map[string]any)["permissions"].([]any)
	if status != 200 || len(perms) != 1 || perms[0] != "content.manage" {
		t.Fatalf("exchange-token: %d %v", status, out)
	}
	if inv, err := env.relays[1].Roster().Invitations(ctx, "blog"); err != nil || len(inv) != 0 {
		t.Fatalf("invitations after the login: %v %v", inv, err)
	}
	// Relay 0 accepted it (relay 1 may cache its members for a second).
	if role, err := env.relays[0].roster.RoleSince(ctx, blogOf(env.relays[0]), "", []string{"new@example.com"}, time.Time{}); err != nil || role != "author" {
		t.Fatalf("stored role after the login: %q %v", role, err)
	}
}
