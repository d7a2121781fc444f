package outstatic

import (
	"net/url"
	"strings"
	"testing"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-outstatic/caddy-outstatic/relay/github"
	"github.com/caddy-outstatic/caddy-outstatic/relay/native"
	"github.com/caddy-outstatic/caddy-outstatic/store"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// Members may be written in any case in the Caddyfile; the relay folds it,
// and refuses one login listed with two roles whatever its case.
func TestRelayMembersAnyCase(t *testing.T) {
	build := func(members string) error {
		t.Helper()
		var rl Relay
		d := caddyfile.NewTestDispenser(`outstatic_relay {
			public_url https://relay.example.com
			project blog {
				callback_origin https://blog.example.com/outstatic
				repo acme/blog
				` + members + `
			}
			github {
				client_id id
				client_secret {env.GH_SECRET}
			}
		}`)
		// A member listed twice with two roles is a Caddyfile error now.
		if err := rl.UnmarshalCaddyfile(d); err != nil {
			return err
		}
		projects, err := rl.nativeProjects(parseTargets)
		if err != nil {
			return err
		}
		pub, _ := url.Parse(rl.PublicURL)
		_, err = native.NewNative(native.NativeConfig{PublicURL: pub, Projects: projects,
			GitHub: github.OAuthApp{ClientID: "id", ClientSecret: "secret"},
			Store:  store.NewStorage(&certmagic.FileStorage{Path: t.TempDir()}, "outstatic"),
			Secret: []byte(strings.Repeat("s", 32))})
		return err
	}
	if err := build("member Octocat owner\nmember Ada@Example.com editor\nmember octocat owner"); err != nil {
		t.Fatalf("mixed-case members: %v", err)
	}
	for _, members := range []string{"member Octocat owner\nmember octocat editor", "member ada owner\nmember ada author"} {
		if err := build(members); err == nil || !strings.Contains(err.Error(), "listed twice") {
			t.Errorf("%q: %v", members, err)
		}
	}
}
