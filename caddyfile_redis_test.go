package outstatic

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testredis"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// validateCaddyfile adapts a Caddyfile and provisions every module of it,
// as caddy validate does, without serving.
func validateCaddyfile(t *testing.T, caddyfile string) error {
	t.Helper()
	raw, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), nil)
	if err != nil {
		t.Fatalf("adapt: %v", err)
	}
	var cfg caddy.Config
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	return caddy.Validate(&cfg)
}

// relayOnRedis is a native relay whose storage is block; without a
// secret, loading it reads (or draws) the sealing secret in the store.
func relayOnRedis(block string) string {
	return `{
	admin off
	skip_install_trust
}
http://relay.localhost:9 {
	outstatic_relay {
		public_url http://relay.localhost:9
		project blog {
			callback_origin http://blog.localhost/outstatic
			repo acme/blog
			member ada owner
		}
		github {
			client_id relay-client
			client_secret {env.TEST_REDIS_GH_SECRET}
		}
		` + block + `
	}
}
`
}

// TestRelayOnManagedRedis: a relay loads on a TLS Redis with its own CA
// as an ACL user (the default user off), and its sealing secret lands
// there; with the certificate of another CA, or for another name, it
// refuses to load, and the error says it is the certificate and holds no
// password.
func TestRelayOnManagedRedis(t *testing.T) {
	const password = "pw-managed-3f9a"
	t.Setenv("TEST_REDIS_GH_SECRET", "gh-secret")
	t.Setenv("TEST_REDIS_PASSWORD", password)
	ca := testredis.NewCA(t, "managed CA")
	other := testredis.NewCA(t, "other CA")
	srv := testredis.Start(t, testredis.WithTLS(ca.Issue(t, "redis.internal")), testredis.WithACL("relay", password))
	block := func(caFile, serverName string) string {
		return `storage redis ` + srv.Addr + ` {
			username relay
			password {env.TEST_REDIS_PASSWORD}
			tls {
				ca_file ` + caFile + `
				server_name ` + serverName + `
			}
		}`
	}
	if err := validateCaddyfile(t, relayOnRedis(block(ca.File, "redis.internal"))); err != nil {
		t.Fatalf("the right CA and name: %v", err)
	}
	for name, tc := range map[string]struct{ caFile, serverName, want string }{
		"another CA":   {other.File, "redis.internal", "TLS certificate is refused (set tls ca_file"},
		"another name": {ca.File, "other.internal", "does not hold the name dialled (set tls server_name"},
	} {
		err := validateCaddyfile(t, relayOnRedis(block(tc.caFile, tc.serverName)))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want an error saying %q", name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), password) {
			t.Errorf("%s: the error shows the password: %v", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
	// The secret the relay drew is in Redis, written as the ACL user.
	got, err := srv.Client(t).Get(context.Background(), "outstatic:secret").Result()
	if err != nil || len(got) < 32 {
		t.Fatalf("the relay's secret in Redis: %q, %v", got, err)
	}
}

// TestDeploymentRedisExamplesAdapt: each Caddyfile of docs/deployment.md's
// "Redis as you run it" adapts in a relay, to the form it shows (the managed example's
// CA file swapped for the one in testdata).
func TestDeploymentRedisExamplesAdapt(t *testing.T) {
	doc, err := os.ReadFile("docs/deployment.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(doc), "## Redis as you run it")
	section, _, _ = strings.Cut(section, "\n## ")
	blocks := regexp.MustCompile("(?s)```caddyfile\n(.*?)```").FindAllStringSubmatch(section, -1)
	want := []string{`"db":2`, `"tls":{"ca_file":"testdata/redis-ca.pem"`, `"sentinel":{"master":"mymaster"`, `"cluster":true`}
	if len(blocks) != len(want) {
		t.Fatalf("%d examples in the section, want %d", len(blocks), len(want))
	}
	for i, b := range blocks {
		block := strings.ReplaceAll(b[1], "/etc/ssl/redis-ca.pem", "testdata/redis-ca.pem")
		raw, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(relayOnRedis(block)), nil)
		if err != nil {
			t.Errorf("example %d: %v", i+1, err)
			continue
		}
		if !strings.Contains(string(raw), want[i]) {
			t.Errorf("example %d adapts without %s: %s", i+1, want[i], raw)
		}
	}
}

func TestDidYouMean(t *testing.T) {
	valid := []string{"username", "password", "db", "prefix", "tls", "sentinel", "cluster"}
	for word, want := range map[string]string{
		"usrname": "; did you mean username?", "passwd": "; did you mean password?", "sentinal": "; did you mean sentinel?",
		"clus": "; did you mean cluster?", "host": "", "address": "",
	} {
		if got := didYouMean(word, valid...); got != want {
			t.Errorf("didYouMean(%q) = %q, want %q", word, got, want)
		}
	}
}
