package outstatic

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// validateOnly is the global options of a Caddyfile only validated
// (validateCaddyfile): no admin API, no trust store, file storage in dir.
func validateOnly(dir string) string {
	return "{\n\tadmin off\n\tskip_install_trust\n\tstorage file_system " + dir + "\n}"
}

// placeholderSite is a Caddyfile with a guard and a native relay, each
// secret of every block written as {env.<NAME>} with NAME as the block's
// slot in the table below; storage in dir.
func placeholderSite(dir string, secret map[string]string) string {
	return validateOnly(dir) + `
http://blog.localhost:9 {
	outstatic {
		callback_origin http://blog.localhost:9/outstatic
		api_key ` + secret["guard api_key"] + `
		binding_secret ` + secret["binding_secret"] + `
	}
}
http://relay.localhost:9 {
	outstatic_relay {
		public_url http://relay.localhost:9
		project blog {
			repo acme/blog
			callback_origin http://blog.localhost:9/outstatic
			member ada owner
		}
		github {
			client_id relay-client
			client_secret ` + secret["github client_secret"] + `
		}
		github_app {
			app_id 1
			private_key ` + secret["github_app private_key"] + `
		}
		oidc google {
			issuer https://accounts.example.com
			client_id c
			client_secret ` + secret["oidc client_secret"] + `
		}
		email {
			from login@example.com
			smtp 127.0.0.1:9
			username login
			password ` + secret["email password"] + `
		}
		ai {
			model gpt-4o-mini
			api_key ` + secret["ai api_key"] + `
		}
		secret ` + secret["secret"] + `
	}
}
`
}

// TestEmptyPlaceholderSaysWhich: through Caddy's own loading, a
// placeholder that expands to nothing in any block (guard, relay, github,
// github_app, oidc, email, ai, storage redis) is refused with one message:
// the subdirective, the placeholder, and whether the variable or file is
// set.
func TestEmptyPlaceholderSaysWhich(t *testing.T) {
	dir := t.TempDir()
	values := map[string]string{
		"guard api_key":          "ost_test_key_0123456789abcdef",
		"binding_secret":         strings.Repeat("b", 40),
		"github client_secret":   "relay-secret",
		"github_app private_key": testAppKeyPEM(t),
		"oidc client_secret":     "oidc-secret",
		"email password":         "smtp-secret",
		"ai api_key":             "ai-key",
		"secret":                 strings.Repeat("x", 40),
	}
	good := map[string]string{}
	for field, v := range values {
		name := "OUTSTATIC_TEST_" + strings.NewReplacer(" ", "_", "-", "_").Replace(strings.ToUpper(field))
		t.Setenv(name, v)
		good[field] = "{env." + name + "}"
	}
	if err := os.WriteFile(filepath.Join(dir, "empty"), []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OUTSTATIC_TEST_EMPTY", "")
	if err := validateCaddyfile(t, placeholderSite(dir, good)); err != nil {
		t.Fatalf("the set placeholders: %v", err)
	}
	for field := range good {
		for _, tc := range []struct{ value, why string }{
			{"{env.OUTSTATIC_TEST_UNSET}", "the environment variable OUTSTATIC_TEST_UNSET is not set in Caddy's environment"},
			{"{env.OUTSTATIC_TEST_EMPTY}", "the environment variable OUTSTATIC_TEST_EMPTY is set but empty"},
			{"{file." + dir + "/missing}", "the file " + dir + "/missing does not exist"},
			{"{file." + dir + "/empty}", "the file " + dir + "/empty is empty"},
		} {
			secrets := map[string]string{}
			for k, v := range good {
				secrets[k] = v
			}
			secrets[field] = tc.value
			err := validateCaddyfile(t, placeholderSite(dir, secrets))
			name := strings.TrimPrefix(field, "guard ")
			want := name + ": " + tc.value + " expands to nothing: " + tc.why
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s %s: got %v\nwant it to contain %q", field, tc.value, err, want)
			}
		}
	}
	t.Run("redis", func(t *testing.T) {
		for _, block := range []string{
			"storage redis 127.0.0.1:9 {\n\t\t\tpassword {env.OUTSTATIC_TEST_UNSET}\n\t\t}",
			"storage redis 127.0.0.1:9 {\n\t\t\tsentinel mymaster {\n\t\t\t\tpassword {env.OUTSTATIC_TEST_UNSET}\n\t\t\t}\n\t\t}",
		} {
			err := validateCaddyfile(t, relayOnRedis(block))
			if err == nil || !strings.Contains(err.Error(), "password: {env.OUTSTATIC_TEST_UNSET} expands to nothing: the environment variable OUTSTATIC_TEST_UNSET is not set") {
				t.Errorf("%s: got %v", block, err)
			}
		}
	})
}

// testAppKeyPEM is a fresh GitHub App private key, PEM-encoded.
func testAppKeyPEM(t *testing.T) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
}
