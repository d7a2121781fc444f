package outstatic

import (
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// TestRelayStartLimitCaddyfile: start_limit reads a burst and a rate, or
// off, and a bad value names the line and the token.
func TestRelayStartLimitCaddyfile(t *testing.T) {
	const nat = "outstatic_relay {\n public_url https://relay.example.com\n github {\n  client_id x\n  client_secret {env.S}\n }\n project blog {\n  repo acme/blog\n  callback_origin https://a.example/outstatic\n }\n"
	for input, want := range map[string]RelayStartLimit{
		nat + " start_limit 5 10s\n}": {Burst: 5, Every: caddy.Duration(10 * time.Second)},
		nat + " start_limit off\n}":   {Off: true},
	} {
		var rl Relay
		if err := rl.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input)); err != nil {
			t.Fatalf("%q: %v", input, err)
		}
		if rl.StartLimit == nil || *rl.StartLimit != want {
			t.Fatalf("%q: %+v, want %+v", input, rl.StartLimit, want)
		}
	}
	for input, want := range map[string][]string{
		nat + " start_limit 5\n}":                      {"Testfile:11", "<burst> <every>"},
		nat + " start_limit many 10s\n}":               {"Testfile:11", `burst "many"`},
		nat + " start_limit 5 soon\n}":                 {"Testfile:11", `every "soon"`},
		nat + " start_limit -1 1s\n}":                  {"Testfile:11", "negative"},
		nat + " start_limit 5 1s\n start_limit off\n}": {"Testfile:12", "start_limit is given twice"},
	} {
		var rl Relay
		err := rl.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input))
		for _, frag := range want {
			if err == nil || !strings.Contains(err.Error(), frag) {
				t.Errorf("%q: error %v does not contain %q", input, err, frag)
			}
		}
	}
	// JSON: the same rule through Validate
	rl := Relay{PublicURL: "https://relay.example.com", GitHub: &RelayGitHub{ClientID: "x", ClientSecret: "{env.S}"},
		Projects:   []RelayProject{{Slug: "blog", Repo: "acme/blog", CallbackOrigins: []string{"https://a.example/outstatic"}}},
		StartLimit: &RelayStartLimit{Burst: -2}}
	if err := rl.Validate(); err == nil || !strings.Contains(err.Error(), "start_limit") {
		t.Fatalf("Validate: %v", err)
	}
}
