package store

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testredis"
)

// TestRedisConfigCheck: each rule refuses with the field at fault and
// what to write instead.
func TestRedisConfigCheck(t *testing.T) {
	ca := testredis.NewCA(t, "check CA")
	one := []string{"10.0.0.1:6379"}
	three := []string{"10.0.0.1:26379", "10.0.0.2:26379", "10.0.0.3:26379"}
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	writeFile(t, garbage, "not a certificate\n")
	for _, tc := range []struct {
		name        string
		c           RedisConfig
		field, want string // "" field: accepted
	}{
		{"one server", RedisConfig{Addresses: one}, "", ""},
		{"the older address", RedisConfig{Address: "10.0.0.1:6379"}, "", ""},
		{"sentinel", RedisConfig{Addresses: three, DB: 2, Sentinel: &RedisSentinel{Master: "m", Password: "{env.S}"}}, "", ""},
		{"cluster", RedisConfig{Addresses: three, Cluster: true, Username: "u", Password: "{file./run/pw}"}, "", ""},
		{"cluster by one endpoint", RedisConfig{Addresses: one, Cluster: true}, "", ""},
		{"tls with a CA", RedisConfig{Addresses: one, TLS: &RedisTLS{CAFile: ca.File, ServerName: "redis.internal"}}, "", ""},
		{"tls with system roots", RedisConfig{Addresses: one, TLS: &RedisTLS{}}, "", ""},

		{"no address", RedisConfig{}, "addresses", "write the server's host:port"},
		{"both address forms", RedisConfig{Address: "a:1", Addresses: one}, "address", "not both"},
		{"several for one server", RedisConfig{Addresses: three}, "addresses", "add sentinel <master>"},
		{"sentinel and cluster", RedisConfig{Addresses: three, Cluster: true, Sentinel: &RedisSentinel{Master: "m"}}, "cluster", "keep the one"},
		{"db with cluster", RedisConfig{Addresses: three, Cluster: true, DB: 1}, "db", "only database 0"},
		{"negative db", RedisConfig{Addresses: one, DB: -1}, "db", "not a database number"},
		{"a URL", RedisConfig{Addresses: []string{"rediss://10.0.0.1:6379"}}, "addresses", "write host:port"},
		{"a URL with a password", RedisConfig{Addresses: []string{"redis://relay:hunter2@10.0.0.1:6379"}}, "addresses", "is a URL"},
		{"userinfo without a scheme", RedisConfig{Addresses: []string{":hunter2@10.0.0.1:6379"}}, "addresses", "is a URL"},
		{"no port", RedisConfig{Addresses: []string{"10.0.0.1"}}, "addresses", "not host:port"},
		{"bad port", RedisConfig{Addresses: []string{"10.0.0.1:99999"}}, "addresses", "1 to 65535"},
		{"literal password", RedisConfig{Addresses: one, Password: "hunter2"}, "password", "{env.NAME}"},
		{"literal sentinel password", RedisConfig{Addresses: three, Sentinel: &RedisSentinel{Master: "m", Password: "hunter2"}}, "sentinel.password", "{env.NAME}"},
		{"no master name", RedisConfig{Addresses: three, Sentinel: &RedisSentinel{}}, "sentinel", "sentinel monitor"},
		{"bad prefix", RedisConfig{Addresses: one, Prefix: "a*b"}, "prefix", "invalid key"},
		{"bad user", RedisConfig{Addresses: one, Username: "a b"}, "username", "not a user name"},
		{"missing CA file", RedisConfig{Addresses: one, TLS: &RedisTLS{CAFile: filepath.Join(t.TempDir(), "none.pem")}}, "tls.ca_file", "reading the CA file"},
		{"CA file without a certificate", RedisConfig{Addresses: one, TLS: &RedisTLS{CAFile: garbage}}, "tls.ca_file", "holds no PEM certificate"},
	} {
		err := tc.c.Check()
		if tc.field == "" {
			if err != nil {
				t.Errorf("%s: refused: %v", tc.name, err)
			}
			continue
		}
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != tc.field || !strings.Contains(ce.Msg, tc.want) {
			t.Errorf("%s: Check = %v, want field %s saying %q", tc.name, err, tc.field, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the error shows the password: %v", tc.name, err)
		}
	}
}

// TestRedisConfigOptions: the fields land in go-redis's options, the
// placeholders expanded, and the older one-address JSON still reads.
func TestRedisConfigOptions(t *testing.T) {
	ca := testredis.NewCA(t, "options CA")
	var c RedisConfig
	raw := `{"addresses":["s1:26379","s2:26379"],"username":"{env.USER}","password":"{env.REDIS_PASSWORD}","db":4,
		"tls":{"ca_file":` + strconvQuote(ca.File) + `,"server_name":"redis.internal"},"sentinel":{"master":"mymaster","password":"{env.REDIS_PASSWORD}"}}`
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		t.Fatal(err)
	}
	expand := strings.NewReplacer("{env.USER}", "relay", "{env.REDIS_PASSWORD}", "pw").Replace
	o, err := c.Options(expand)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(o.Addrs, []string{"s1:26379", "s2:26379"}) || o.Username != "relay" || o.Password != "pw" ||
		o.DB != 4 || o.MasterName != "mymaster" || o.SentinelPassword != "pw" || o.IsClusterMode ||
		o.TLSConfig == nil || o.TLSConfig.RootCAs == nil || o.TLSConfig.ServerName != "redis.internal" {
		t.Fatalf("options %+v", o)
	}
	if c.Form() != "sentinel" {
		t.Errorf("Form = %q", c.Form())
	}

	var old RedisConfig
	if err := json.Unmarshal([]byte(`{"address":"10.0.0.7:6379","password":"{env.REDIS_PASSWORD}","db":2,"prefix":"blog"}`), &old); err != nil {
		t.Fatal(err)
	}
	o, err = old.Options(expand)
	if err != nil || !reflect.DeepEqual(o.Addrs, []string{"10.0.0.7:6379"}) || o.DB != 2 || o.Password != "pw" || old.KeyPrefix() != "blog" || old.Form() != "single" {
		t.Fatalf("the older JSON: %+v, %v", o, err)
	}
	cluster := RedisConfig{Addresses: []string{"c:6379"}, Cluster: true}
	if o, err := cluster.Options(expand); err != nil || !o.IsClusterMode || cluster.KeyPrefix() != DefaultRedisPrefix {
		t.Fatalf("cluster: %+v, %v", o, err)
	}
}

func strconvQuote(s string) string { b, _ := json.Marshal(s); return string(b) }

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}
