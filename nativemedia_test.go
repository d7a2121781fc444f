package outstatic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/caddy-outstatic/caddy-outstatic/relay"
)

// The native relay's media proxy and validate-github-user through Caddy,
// mounted under a path as the examples do: Caddy's prefix stripping must
// keep the escaped path the media checks read, and the stream must get
// through Caddy's response recorder.
func TestNativeMediaAndValidateInCaddy(t *testing.T) {
	gh := adaGitHub()
	gh.Start()
	defer gh.Close()
	png := "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff"
	gh.PutFile("main", "public/images/a b.png", png)
	key, hash, _, err := relay.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_GH_SECRET", "relay-secret")
	t.Setenv("TEST_RELAY_SECRET", strings.Repeat("x", 40))

	tester := newTester(t)
	tester.InitServer(ports(fmt.Sprintf(`
	{
		admin localhost:2999
		http_port 9080
		https_port 9443
		grace_period 1ns
		skip_install_trust
		storage file_system %[1]s
	}
	http://relay.localhost:9080 {
		handle_path /relay/* {
			outstatic_relay {
				public_url http://relay.localhost:9080/relay
				project blog {
					callback_origin http://blog.localhost:9080/outstatic
					repo acme/blog
					member ada owner
					key_sha256 %[5]s
				}
				github {
					client_id relay-client
					client_secret {env.TEST_GH_SECRET}
					base_url %[2]s
					api_url %[3]s
					graphql_url %[4]s
				}
				secret {env.TEST_RELAY_SECRET}
			}
		}
	}
	`, t.TempDir(), gh.URL(), gh.APIURL(), gh.GraphQLURL(), hash)), "caddyfile")

	client := &http.Client{Transport: caddytest.CreateTestingTransport(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	base := ports("http://relay.localhost:9080/relay")
	post := func(path, auth string, body any) (int, map[string]any) {
		t.Helper()
		status, b := postJSON(t, client, base+path, auth, body)
		var out map[string]any
		_ = json.NewDecoder(bytes.NewReader(b)).Decode(&out)
		return status, out
	}

	// validate-github-user with the site's own token, redeemed at once
	// with the site's listen address
	appCallback := "http://localhost:3000/api/outstatic/callback"
	status, out := post("/outstatic/auth/validate-github-user", key,
		map[string]string{"github_token": gh.IssueToken("repo", "read:user", "user:email"), "callback_url": appCallback})
	if status != 200 || out["valid"] != true {
		t.Fatalf("validate-github-user: %d %v", status, out)
	}
	status, out = post("/outstatic/auth/exchange-token", "", map[string]string{"exchange_token": out["exchange_token"].(string), "callback_url": appCallback})
	if status != 200 {
		t.Fatalf("exchange-token: %d %v", status, out)
	}
	access := out["session"].(map[string]any)["access_token"].(string)

	media := func(rawPath string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+"/", nil)
		req.URL.Opaque = "//" + req.URL.Host + req.URL.Path + strings.TrimPrefix(rawPath, "/")
		req.Header.Set("Authorization", "Bearer "+access)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	res, body := media("/outstatic/media/acme/blog/main/public/images/a%20b.png")
	if res.StatusCode != 200 || body != png || res.Header.Get("Content-Type") != "image/png" ||
		res.Header.Get("Content-Security-Policy") != "default-src 'none'; sandbox" {
		t.Fatalf("media: %d %q %v", res.StatusCode, body, res.Header)
	}
	for p, want := range map[string]int{
		// Caddy keeps an encoded "/" or "\" in RawPath after stripping
		// /relay: the relay sees and refuses it.
		"/outstatic/media/acme/blog/main/public%2Fimages/a%20b.png": 400,
		"/outstatic/media/acme/blog/main/public%5Cimages/a%20b.png": 400,
		// Caddy resolves encoded dot segments itself after stripping; what
		// reaches the relay is then checked as any path: here, another
		// repository.
		"/outstatic/media/acme/blog/main/%2e%2e/%2e%2e/%2e%2e/evil/x/main/a.png": 403,
		"/outstatic/media/acme/other/main/a.png":                                 403,
	} {
		if res, body := media(p); res.StatusCode != want {
			t.Errorf("%s: %d %s, want %d", p, res.StatusCode, body, want)
		}
	}
}
