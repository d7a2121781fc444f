package outstatic

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
)

// relayJSON is a JSON config of Caddy with a native relay serving a
// project per slug, storing in dir, listening on loopback, admin at admin
// ("off" for none).
func relayJSON(t *testing.T, dir, admin string, slugs ...string) []byte {
	t.Helper()
	t.Setenv("TEST_GH_SECRET", "relay-secret")
	t.Setenv("TEST_RELAY_SECRET", strings.Repeat("x", 40))
	var projects []map[string]any
	for _, s := range slugs {
		projects = append(projects, map[string]any{"slug": s, "repo": "acme/blog",
			"callback_origins": []string{"http://blog.localhost:9080/outstatic"}})
	}
	adminCfg := map[string]any{"disabled": true}
	if admin != "off" {
		adminCfg = map[string]any{"listen": admin}
	}
	cfg := map[string]any{
		"admin":   adminCfg,
		"storage": map[string]any{"module": "file_system", "root": dir},
		"apps": map[string]any{"http": map[string]any{"http_port": 9080, "servers": map[string]any{"srv0": map[string]any{
			"listen": []string{"127.0.0.1:9080"},
			"routes": []any{map[string]any{"handle": []any{map[string]any{
				"handler": "outstatic_relay", "public_url": "http://relay.localhost:9080", "projects": projects,
				"github": map[string]any{"client_id": "relay-client", "client_secret": "{env.TEST_GH_SECRET}"},
				"secret": "{env.TEST_RELAY_SECRET}",
			}}}},
		}}}},
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(ports(string(b)))
}

// TestJSONSlugsRefused: a JSON config, which skips the Caddyfile's
// parser, gets the same slug rule, with the same clear error.
func TestJSONSlugsRefused(t *testing.T) {
	for _, slug := range []string{"blog/x", "..", "", "Blog", "blog x", "-blog", "bl\u00f6g", strings.Repeat("b", 65)} {
		err := caddy.Load(relayJSON(t, t.TempDir(), "off", "blog", slug), true)
		if err == nil {
			_ = caddy.Stop()
			t.Errorf("slug %q: Caddy started", slug)
			continue
		}
		if want := fmt.Sprintf("project slug %q: use 1 to 64 lowercase letters, digits, '-' and '_'", slug); !strings.Contains(err.Error(), want) {
			t.Errorf("slug %q: %v", slug, err)
		}
	}
}

// TestPrefixSlugsApartInCaddy: projects whose slugs prefix each other,
// configured in JSON, do not see each other's invitations or changes log
// through the admin API, and the admin API names a bad slug's rule.
func TestPrefixSlugsApartInCaddy(t *testing.T) {
	tester := newTester(t)
	tester.InitServer(string(relayJSON(t, t.TempDir(), ports("localhost:2999"), "blog", "blog-x", "blog_x")), "json")
	admin := func(method, path, body string) (int, string) {
		t.Helper()
		return adminRequest(t, method, path, body)
	}
	slugs := []string{"blog", "blog-x", "blog_x"}
	for _, s := range slugs {
		if status, body := admin("POST", "/outstatic/members/"+s+"/invite", `{"email":"lin-`+s+`@example.com","role":"author"}`); status != 200 {
			t.Fatalf("invite to %s: %d %s", s, status, body)
		}
	}
	_, body := admin("GET", "/outstatic/members", "")
	var list []struct {
		Project     string `json:"project"`
		Invitations []struct {
			Email string `json:"email"`
		} `json:"invitations"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil || len(list) != len(slugs) {
		t.Fatalf("member list: %s", body)
	}
	for _, p := range list {
		if len(p.Invitations) != 1 || p.Invitations[0].Email != "lin-"+p.Project+"@example.com" {
			t.Errorf("%s's invitations: %+v", p.Project, p.Invitations)
		}
	}
	for _, s := range slugs {
		_, log := admin("GET", "/outstatic/members/"+s+"/log", "")
		if strings.Count(log, `"what"`) != 1 || !strings.Contains(log, "lin-"+s+"@") {
			t.Errorf("%s's log: %s", s, log)
		}
	}
	for _, path := range []string{"/outstatic/members/Blog/log", "/outstatic/keys/Blog/create", "/outstatic/origins/Blog/add?origin=x"} {
		method := "POST"
		if strings.HasSuffix(path, "/log") {
			method = "GET"
		}
		if status, body := admin(method, path, "{}"); status != 404 || !strings.Contains(body, `project slug \"Blog\"`) {
			t.Errorf("%s: %d %s", path, status, body)
		}
	}
}
