package outstatic

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestUnmarshalRelayCaddyfile(t *testing.T) {
	cases := []struct {
		name  string
		input string
		want  Relay
	}{
		{"forward, every subdirective", `outstatic_relay {
			upstream https://outstatic.com/api
			api_key {env.KEY_A}
			api_key {file./run/secrets/key_b}
			callback_origin https://blog.example.com/outstatic https://preview.example.com/outstatic
			callback_origin http://localhost:3000/outstatic
			strict_callbacks
			app_origin http://127.0.0.1:3000
			response_timeout 45s
			cache_ttl 1m
			negative_ttl 10s
			stale_grace 1h
			check_timeout 2s
			token_store redis 127.0.0.1:6379 {
				password {env.REDIS_PASSWORD}
				db 2
				prefix ost
			}
		}`, Relay{
			Upstream:        "https://outstatic.com/api",
			APIKeys:         []string{"{env.KEY_A}", "{file./run/secrets/key_b}"},
			CallbackOrigins: []string{"https://blog.example.com/outstatic", "https://preview.example.com/outstatic", "http://localhost:3000/outstatic"},
			StrictCallbacks: true,
			AppOrigins:      []string{"http://127.0.0.1:3000"},
			ResponseTimeout: caddy.Duration(45 * time.Second),
			KeyCheck: KeyCheck{CacheTTL: caddy.Duration(time.Minute), NegativeTTL: caddy.Duration(10 * time.Second),
				StaleGrace: caddy.Duration(time.Hour), CheckTimeout: caddy.Duration(2 * time.Second)},
			TokenStore: &SharedStore{Redis: &RelayRedis{Addresses: []string{"127.0.0.1:6379"}, Password: "{env.REDIS_PASSWORD}", DB: 2, Prefix: "ost"}},
		}},
		{"native, every subdirective", `outstatic_relay {
			public_url https://relay.example.com
			project blog {
				callback_origin https://blog.example.com/outstatic
				strict_callbacks
				repo acme/blog
				plan free
				member octocat owner
				member ada@example.com editor
				key_sha256 0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef
				id p_1
				account acme-inc
				monorepo_path apps/blog
			}
			github {
				client_id Iv1.abc
				client_secret {env.GITHUB_CLIENT_SECRET}
				base_url https://ghe.example.com
				api_url https://ghe.example.com/api/v3
				graphql_url https://ghe.example.com/api/graphql
			}
			secret {env.OUTSTATIC_RELAY_SECRET}
			storage caddy
			session_ttl 30m
			refresh_ttl 24h
			key_recheck 2s
			token_store caddy
		}`, Relay{
			PublicURL: "https://relay.example.com",
			Projects: []RelayProject{{
				Slug: "blog", ID: "p_1", Account: "acme-inc", Repo: "acme/blog", MonorepoPath: "apps/blog", Plan: "free",
				CallbackOrigins: []string{"https://blog.example.com/outstatic"}, StrictCallbacks: true,
				KeySHA256: []string{"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
				Members:   []RelayMember{{Who: "octocat", Role: "owner"}, {Who: "ada@example.com", Role: "editor"}},
			}},
			GitHub: &RelayGitHub{ClientID: "Iv1.abc", ClientSecret: "{env.GITHUB_CLIENT_SECRET}", BaseURL: "https://ghe.example.com",
				APIURL: "https://ghe.example.com/api/v3", GraphQLURL: "https://ghe.example.com/api/graphql"},
			Secret:     "{env.OUTSTATIC_RELAY_SECRET}",
			SessionTTL: caddy.Duration(30 * time.Minute),
			RefreshTTL: caddy.Duration(24 * time.Hour),
			KeyRecheck: caddy.Duration(2 * time.Second),
			TokenStore: &SharedStore{},
		}},
		{"native without GitHub's login", `outstatic_relay {
			public_url https://relay.example.com
			project blog {
				repo acme/blog
				callback_origin https://blog.example.com/outstatic
			}
			github {
				api_url https://ghe.example.com/api/v3
			}
			github_app {
				app_id 7
				private_key {file./run/secrets/app.pem}
			}
			oidc google {
				issuer https://accounts.google.com
				client_id x
				client_secret {env.GOOGLE_SECRET}
			}
		}`, Relay{
			PublicURL: "https://relay.example.com",
			Projects:  []RelayProject{{Slug: "blog", Repo: "acme/blog", CallbackOrigins: []string{"https://blog.example.com/outstatic"}}},
			GitHub:    &RelayGitHub{APIURL: "https://ghe.example.com/api/v3"},
			GitHubApp: &RelayGitHubApp{AppID: 7, PrivateKey: "{file./run/secrets/app.pem}"},
			OIDC:      &RelayOIDC{Name: "google", Issuer: "https://accounts.google.com", ClientID: "x", ClientSecret: "{env.GOOGLE_SECRET}"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var rl Relay
			if err := rl.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input)); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(rl, tc.want) {
				t.Fatalf("got %+v\nwant %+v", rl, tc.want)
			}
		})
	}
}

func TestUnmarshalRelayCaddyfileErrors(t *testing.T) {
	const fwd = "outstatic_relay {\n upstream https://outstatic.com/api\n api_key {env.K}\n callback_origin https://a.example/outstatic\n"
	const nat = "outstatic_relay {\n public_url https://relay.example.com\n github {\n  client_id x\n  client_secret {env.S}\n }\n"
	const proj = " project blog {\n  repo acme/blog\n  callback_origin https://a.example/outstatic\n"
	cases := []struct {
		name, input string
		// every fragment must be in the error: the line and what is wrong
		want []string
	}{
		{"empty", "outstatic_relay", []string{"Testfile:1", "upstream", "project"}},
		{"argument", "outstatic_relay x", []string{"Testfile:1", "wrong argument count"}},
		{"unknown", fwd + " upstreams x\n}", []string{"Testfile:5", `unknown subdirective "upstreams" of outstatic_relay; did you mean upstream?`}},
		{"forward without key", "outstatic_relay {\n upstream https://outstatic.com/api\n callback_origin https://a.example/outstatic\n}",
			[]string{"Testfile:1", "api_key"}},
		{"forward without origin", "outstatic_relay {\n upstream https://outstatic.com/api\n api_key {env.K}\n}",
			[]string{"Testfile:1", "callback_origin"}},
		{"bad upstream", "outstatic_relay {\n upstream outstatic.com\n}", []string{"Testfile:2", "upstream"}},
		{"upstream twice", fwd + " upstream https://other.example/api\n}", []string{"Testfile:5", "upstream is given twice"}},
		{"literal key", "outstatic_relay {\n api_key ost_secret\n}", []string{"Testfile:2", "{env.NAME}"}},
		{"bad origin", fwd + " callback_origin https://a.example/admin\n}", []string{"Testfile:5", "/outstatic"}},
		{"bad app origin", fwd + " app_origin localhost:3000\n}", []string{"Testfile:5", "app_origin"}},
		{"bad duration", fwd + " response_timeout soon\n}", []string{"Testfile:5", "response_timeout"}},
		{"duration twice", fwd + " cache_ttl 1m\n cache_ttl 2m\n}", []string{"Testfile:6", "cache_ttl is given twice"}},
		{"flag with argument", fwd + " strict_callbacks yes\n}", []string{"Testfile:5", "wrong argument count"}},
		{"native without public_url", "outstatic_relay {\n" + proj + " }\n github {\n  client_id x\n  client_secret {env.S}\n }\n}",
			[]string{"Testfile:1", "public_url"}},
		{"native without github", "outstatic_relay {\n public_url https://relay.example.com\n" + proj + " }\n}",
			[]string{"Testfile:1", "github"}},
		{"oidc alone without github_app", "outstatic_relay {\n public_url https://relay.example.com\n" + proj + " }\n oidc google {\n  issuer https://accounts.google.com\n  client_id x\n  client_secret {env.S}\n }\n}",
			[]string{"Testfile:1", "github_app"}},
		{"bad public_url", "outstatic_relay {\n public_url relay.example.com\n}", []string{"Testfile:2", "public_url"}},
		{"public_url twice", nat + " public_url https://relay2.example.com\n}", []string{"Testfile:7", "public_url is given twice"}},
		{"literal secret", nat + " secret hunter2\n}", []string{"Testfile:7", "{env.NAME}"}},
		{"project without slug", nat + " project {\n }\n}", []string{"Testfile:7", "slug"}},
		{"bad slug", nat + " project a/b {\n }\n}", []string{"Testfile:7", `project slug "a/b"`, `(e.g. "a-b")`}},
		{"upper-case slug", nat + " project Blog {\n }\n}", []string{"Testfile:7", `project slug "Blog"`, "lowercase", `(e.g. "blog")`}},
		{"dot-dot slug", nat + " project .. {\n }\n}", []string{"Testfile:7", `project slug ".."`}},
		{"slug starting with a hyphen", nat + " project -blog {\n }\n}", []string{"Testfile:7", `project slug "-blog"`, `(e.g. "blog")`}},
		{"look-alike member domain", nat + proj + "  member kasper@ma\u0130l.example.com editor\n }\n}",
			[]string{"Testfile:10", "\"kasper@ma\u0130l.example.com\"", "nothing is mapped"}},
		{"fullwidth member domain", nat + proj + "  member ada@\uff45xample.com editor\n }\n}", []string{"Testfile:10", "IDNA"}},
		{"member not a login", nat + proj + "  member octo_cat editor\n }\n}", []string{"Testfile:10", "GitHub login"}},
		{"member not a login, non-ASCII", nat + proj + "  member \u212Aim editor\n }\n}", []string{"Testfile:10", "GitHub login"}},
		{"member twice with two roles", nat + proj + "  member Ada@Example.com editor\n  member ada@example.COM owner\n }\n}",
			[]string{"ada@example.com is listed twice", "as editor and as owner"}},
		{"project without repo", nat + " project blog {\n  callback_origin https://a.example/outstatic\n }\n}",
			[]string{"Testfile:7", "repo"}},
		{"project without origin", nat + " project blog {\n  repo acme/blog\n }\n}", []string{"Testfile:7", "callback_origin"}},
		{"bad repo", nat + " project blog {\n  repo acme\n }\n}", []string{"Testfile:8", "owner/name"}},
		{"repo twice", nat + proj + "  repo acme/other\n }\n}", []string{"Testfile:10", "repo is given twice"}},
		{"bad plan", nat + proj + "  plan gold\n }\n}", []string{"Testfile:10", "pro or free"}},
		{"bad role", nat + proj + "  member octocat boss\n }\n}", []string{"Testfile:10", `role "boss"`}},
		{"member without role", nat + proj + "  member octocat\n }\n}", []string{"Testfile:10", "role"}},
		{"bad key hash", nat + proj + "  key_sha256 abc\n }\n}", []string{"Testfile:10", "64 hex digits"}},
		{"unknown in project", nat + proj + "  members x\n }\n}", []string{"Testfile:10", `unknown subdirective "members" of project; did you mean member?`}},
		{"github without secret", "outstatic_relay {\n github {\n  client_id x\n }\n}", []string{"Testfile:2", "client_secret"}},
		{"github literal secret", "outstatic_relay {\n github {\n  client_secret s3cret\n }\n}", []string{"Testfile:3", "{env.NAME}"}},
		{"github bad url", "outstatic_relay {\n github {\n  api_url api.github.com\n }\n}", []string{"Testfile:3", "api_url"}},
		{"github client_id twice", "outstatic_relay {\n github {\n  client_id a\n  client_id b\n }\n}", []string{"Testfile:4", "client_id is given twice"}},
		{"unknown in github", "outstatic_relay {\n github {\n  client x\n }\n}", []string{"Testfile:3", `unknown subdirective "client" of github; did you mean client_id?`}},
		{"app without id", nat + " github_app {\n  private_key {file./k.pem}\n }\n}", []string{"Testfile:7", "app_id"}},
		{"app without key", nat + " github_app {\n  app_id 1\n }\n}", []string{"Testfile:7", "private_key"}},
		{"app bad id", nat + " github_app {\n  app_id x1\n }\n}", []string{"Testfile:8", `app_id "x1"`}},
		{"app bad installation", nat + " github_app {\n  installation_id -3\n }\n}", []string{"Testfile:8", "installation_id"}},
		{"app literal key", nat + " github_app {\n  private_key pem\n }\n}", []string{"Testfile:8", "{env.NAME}"}},
		{"app id twice", nat + " github_app {\n  app_id 1\n  app_id 2\n }\n}", []string{"Testfile:9", "app_id is given twice"}},
		{"unknown in app", nat + " github_app {\n  key x\n }\n}", []string{"Testfile:8", `unknown subdirective "key" of github_app`}},
		{"app in forward mode", fwd + " github_app {\n  app_id 1\n  private_key {env.K}\n }\n}", []string{"Testfile:1", "github_app"}},
		{"bad storage", nat + " storage disk\n}", []string{"Testfile:7", "caddy or redis"}},
		{"redis without address", nat + " storage redis\n}", []string{"Testfile:7", "address"}},
		{"redis bad db", nat + " storage redis 127.0.0.1:6379 {\n  db -1\n }\n}", []string{"Testfile:8", "database number"}},
		{"redis literal password", nat + " storage redis 127.0.0.1:6379 {\n  password pw\n }\n}", []string{"Testfile:8", "{env.NAME}"}},
		{"redis prefix twice", nat + " storage redis 127.0.0.1:6379 {\n  prefix a\n  prefix b\n }\n}", []string{"Testfile:9", "prefix is given twice"}},
		{"unknown in redis", nat + " storage redis 127.0.0.1:6379 {\n  host x\n }\n}", []string{"Testfile:8", `unknown subdirective "host" of storage redis`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var rl Relay
			err := rl.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input))
			if err == nil {
				t.Fatal("no error")
			}
			for _, frag := range tc.want {
				if !strings.Contains(err.Error(), frag) {
					t.Errorf("error %q does not contain %q", err, frag)
				}
			}
		})
	}
}

// TestRelayValidate checks the rules Validate shares with the Caddyfile
// parser, for a config written in JSON.
func TestRelayValidate(t *testing.T) {
	good := func() Relay {
		return Relay{PublicURL: "https://relay.example.com",
			GitHub: &RelayGitHub{ClientID: "x", ClientSecret: "{env.S}"},
			Projects: []RelayProject{{Slug: "blog", Repo: "acme/blog", CallbackOrigins: []string{"https://a.example/outstatic"},
				Members: []RelayMember{{Who: "octocat", Role: "owner"}}}}}
	}
	if rl := good(); rl.Validate() != nil {
		t.Fatalf("good config refused: %v", rl.Validate())
	}
	// Without GitHub's login (a github block of URLs alone, or none), an
	// OIDC login and the GitHub App for the repository.
	for _, gh := range []*RelayGitHub{nil, {APIURL: "https://ghe.example/api/v3"}} {
		rl := good()
		rl.GitHub = gh
		rl.OIDC = &RelayOIDC{Name: "google", Issuer: "https://accounts.google.com", ClientID: "x", ClientSecret: "{env.S}"}
		rl.GitHubApp = &RelayGitHubApp{AppID: 1, PrivateKey: "{file./k.pem}"}
		if err := rl.Validate(); err != nil {
			t.Errorf("oidc and github_app, github %+v: %v", gh, err)
		}
	}
	for name, c := range map[string]struct {
		edit func(*Relay)
		want string
	}{
		"no public_url":  {func(rl *Relay) { rl.PublicURL = "" }, "public_url"},
		"bad public_url": {func(rl *Relay) { rl.PublicURL = "https://relay.example.com/#x" }, "public_url"},
		"no github":      {func(rl *Relay) { rl.GitHub = nil }, "client_id and client_secret"},
		"no secret":      {func(rl *Relay) { rl.GitHub.ClientSecret = "" }, "client_id and client_secret"},
		"no github login, no app": {func(rl *Relay) {
			rl.GitHub = nil
			rl.Email = &RelayEmail{SMTP: "127.0.0.1:25", From: "login@example.com"}
		}, "github_app"},
		"bad role":           {func(rl *Relay) { rl.Projects[0].Members[0].Role = "boss" }, `role "boss"`},
		"bad repo":           {func(rl *Relay) { rl.Projects[0].Repo = "acme" }, "owner/name"},
		"bad plan":           {func(rl *Relay) { rl.Projects[0].Plan = "gold" }, "pro or free"},
		"no origin":          {func(rl *Relay) { rl.Projects[0].CallbackOrigins = nil }, "callback_origin"},
		"look-alike member":  {func(rl *Relay) { rl.Projects[0].Members[0].Who = "kasper@ma\u0130l.example.com" }, "nothing is mapped"},
		"member not a login": {func(rl *Relay) { rl.Projects[0].Members[0].Who = "octo cat" }, "GitHub login"},
		"member twice": {func(rl *Relay) {
			rl.Projects[0].Members = append(rl.Projects[0].Members, RelayMember{Who: "OctoCat", Role: "author"})
		}, "listed twice"},
	} {
		rl := good()
		c.edit(&rl)
		if err := rl.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
