package login

import (
	"bytes"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-outstatic/caddy-outstatic/relay/github"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
	"github.com/caddy-outstatic/caddy-outstatic/relay/seal"
	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// testLogins are the logins of a relay at https://relay.example.com with
// one project, blog, on a file store; edit changes the configuration.
// Nothing here calls GitHub.
func testLogins(t *testing.T, edit func(*Config)) *Logins {
	t.Helper()
	st := store.NewStorage(&certmagic.FileStorage{Path: t.TempDir()}, "outstatic")
	r, err := roster.New(roster.Config{Store: st, Projects: []*roster.Project{
		{Slug: "blog", RepoOwner: "acme", RepoSlug: "blog", Members: map[string]string{"ada": "owner"}}}})
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := seal.New(bytes.Repeat([]byte("s"), 32), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := url.Parse("https://relay.example.com")
	client := &http.Client{Timeout: time.Second}
	cfg := Config{PublicURL: pub, Roster: r, Seal: sealer, Store: st, Client: client,
		GitHub: github.New(github.OAuthApp{ClientID: "c", ClientSecret: "s"}, "https://relay.example.com/cb", client, time.Now)}
	if edit != nil {
		edit(&cfg)
	}
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
