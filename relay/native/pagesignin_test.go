package native

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/relay/login"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
	"github.com/caddy-outstatic/caddy-outstatic/relay/seal"
)

// A pages sign-in comes back only to the relay's own pages, with a ticket
// that opens once, in the browser that holds its nonce.
func TestPageSignIn(t *testing.T) {
	env := newNativeEnv(t, nil)
	n := env.relays[0]
	done := env.urls[0] + protocol.Pages.Path + "acme/blog/signin"
	for _, bad := range []string{"https://evil.example/home/acme/blog/signin", done + "?next=x", env.urls[0] + "/outstatic/project", done + "#x"} {
		if _, _, err := n.Logins().PageSignInURL(nil, "github", "blog", bad); err == nil {
			t.Errorf("PageSignInURL accepted done = %q", bad)
		}
	}
	if _, _, err := n.Logins().PageSignInURL(nil, "myspace", "blog", done); !errors.Is(err, login.ErrUnknownProvider) {
		t.Errorf("unknown provider: %v", err)
	}
	if _, _, err := n.Logins().PageSignInURL(nil, "github", "nope", done); !errors.Is(err, roster.ErrUnknownProject) {
		t.Errorf("unknown project: %v", err)
	}
	login, nonce, err := n.Logins().PageSignInURL(nil, "github", "blog", done)
	if err != nil {
		t.Fatal(err)
	}
	// Through GitHub to the relay's callback, as a browser would.
	res, err := env.client.Get(login)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	res, err = env.client.Get(res.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	back, _ := url.Parse(res.Header.Get("Location"))
	if !strings.HasPrefix(back.String(), done+"?ticket=") || back.Query().Has("exchange_token") {
		t.Fatalf("came back to %s", back)
	}
	ticket := back.Query().Get("ticket")
	ctx := context.Background()
	if _, err := n.Logins().OpenPageTicket(ctx, ticket, "another-browser"); err == nil {
		t.Fatal("a ticket opened with another nonce")
	}
	// Any instance that shares the secret and the store opens it, once.
	u, err := env.relays[1].Logins().OpenPageTicket(ctx, ticket, nonce)
	if err != nil || u.Login != "ada" || len(u.Emails) == 0 {
		t.Fatalf("OpenPageTicket = %+v, %v", u, err)
	}
	if _, err := n.Logins().OpenPageTicket(ctx, ticket, nonce); err == nil {
		t.Fatal("a ticket opened twice")
	}
	// A pages seal is not a session token, nor the other way round.
	sealed, err := n.Logins().SealPage(map[string]string{"u": "ada"}, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]string
	if n.seal.Open(seal.Access, sealed, &v) == nil || n.Logins().OpenPage(ticket, &v) == nil {
		t.Fatal("a value sealed for one purpose opened as another")
	}
}
