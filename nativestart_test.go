package outstatic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakegithub"
)

// adaGitHub is a fake GitHub for the relay's OAuth app (client
// relay-client, secret relay-secret) whose user is ada, with a verified
// primary address; the caller starts and closes it.
func adaGitHub() *fakegithub.Server {
	return fakegithub.New("relay-client", "relay-secret", fakegithub.User{
		Login: "ada", Name: "Ada", ID: 1,
		Emails: []fakegithub.Email{{Email: "ada@example.com", Primary: true, Verified: true}},
	})
}

// startNativeRelay starts in-process Caddy, storing in storage, with a
// native relay at http://relay.localhost:9080 that signs in through gh
// (client relay-client, secret relay-secret) and serves project blog
// (repo acme/blog, member ada owner). project adds lines to the project
// block, relay to the relay's block after github.
func startNativeRelay(t *testing.T, gh *fakegithub.Server, storage, project, relay string) {
	t.Helper()
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
		outstatic_relay {
			public_url http://relay.localhost:9080
			project blog {
				callback_origin http://blog.localhost:9080/outstatic
				repo acme/blog
				member ada owner
				%[5]s
			}
			github {
				client_id relay-client
				client_secret {env.TEST_GH_SECRET}
				base_url %[2]s
				api_url %[3]s
				graphql_url %[4]s
			}
			%[6]s
			secret {env.TEST_RELAY_SECRET}
		}
	}
	`, storage, gh.URL(), gh.APIURL(), gh.GraphQLURL(), project, relay)), "caddyfile")
}

// postJSON posts body as JSON to u with client, with auth as a bearer
// token unless it is empty, and returns the answer's status and body.
func postJSON(t *testing.T, client *http.Client, u, auth string, body any) (int, []byte) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", u, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, out
}
