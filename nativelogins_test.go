package outstatic

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakegithub"
	"github.com/caddy-outstatic/caddy-outstatic/internal/fakesmtp"
	"github.com/caddy-outstatic/caddy-outstatic/relay"

	"github.com/caddyserver/caddy/v2/caddytest"
)

// TestNativeLoginsInCaddy runs the e-mail and OpenID Connect logins in
// real Caddy, under a path (handle_path), with their secrets given as
// {env.*} placeholders that only Provision expands: an e-mail link taken
// from the message a fake SMTP server captured, confirmed and redeemed;
// and the OpenID Connect hop against mockoidc.
func TestNativeLoginsInCaddy(t *testing.T) {
	gh := fakegithub.New("relay-client", "relay-secret", fakegithub.User{Login: "ada", ID: 1})
	gh.Start()
	defer gh.Close()
	smtp := fakesmtp.Start(t, fakesmtp.Options{Username: "relay", Password: "smtp-secret"})
	idp, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = idp.Shutdown() }()
	key, hash, _, err := relay.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_GH_SECRET", "relay-secret")
	t.Setenv("TEST_RELAY_SECRET", strings.Repeat("x", 40))
	t.Setenv("TEST_SMTP_PASSWORD", "smtp-secret")
	t.Setenv("TEST_OIDC_SECRET", idp.ClientSecret)

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
					member bob@example.com editor
					key_sha256 %[3]s
				}
				github {
					client_id relay-client
					client_secret {env.TEST_GH_SECRET}
					base_url %[2]s
				}
				oidc google {
					issuer %[4]s
					client_id %[5]s
					client_secret {env.TEST_OIDC_SECRET}
				}
				email {
					smtp %[6]s
					username relay
					password {env.TEST_SMTP_PASSWORD}
					from "Blog <login@example.com>"
					tls none
					link_ttl 5m
				}
				secret {env.TEST_RELAY_SECRET}
			}
		}
	}
	`, t.TempDir(), gh.URL(), hash, idp.Issuer(), idp.ClientID, smtp.Addr)), "caddyfile")

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Transport: caddytest.CreateTestingTransport(), Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	base := ports("http://relay.localhost:9080/relay")
	post := func(path, auth string, body any) (int, string) {
		t.Helper()
		status, out := postJSON(t, client, base+path, auth, body)
		return status, strings.TrimSpace(string(out))
	}
	get := func(u string) (int, string, string) {
		t.Helper()
		c := client
		if strings.HasPrefix(u, idp.Issuer()) { // not behind Caddy
			c = &http.Client{CheckRedirect: client.CheckRedirect}
		}
		res, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res.StatusCode, string(body), res.Header.Get("Location")
	}
	redeem := func(token, callback string) map[string]any {
		t.Helper()
		status, body := post("/outstatic/auth/exchange-token", "", map[string]string{"exchange_token": token, "callback_url": callback})
		var out map[string]any
		_ = json.Unmarshal([]byte(body), &out)
		if status != 200 {
			t.Fatalf("exchange-token: %d %s", status, body)
		}
		return out
	}

	// E-mail: the same answer for a member and a stranger; the member's
	// message carries the link.
	magic := ports("http://blog.localhost:9080/outstatic/api/outstatic/magic-link-callback")
	if status, body := post("/outstatic/auth/request-magic-link", "ost_wrong", map[string]string{"email": "bob@example.com", "callbackUrl": magic}); status != 401 || body != `{"error":"Invalid API key"}` {
		t.Fatalf("bad key: %d %s", status, body)
	}
	sm, bm := post("/outstatic/auth/request-magic-link", key, map[string]string{"email": "stranger@example.com", "callbackUrl": magic})
	ss, bs := post("/outstatic/auth/request-magic-link", key, map[string]string{"email": "bob@example.com", "callbackUrl": magic})
	if sm != 200 || sm != ss || bm != bs {
		t.Fatalf("stranger %d %s, member %d %s", sm, bm, ss, bs)
	}
	msg := smtp.Wait(t, 10*time.Second)
	if msg.To[0] != "bob@example.com" {
		t.Fatalf("message to %v", msg.To)
	}
	link := regexp.MustCompile(`http://\S+/relay/outstatic/auth/email/verify\?t=[A-Za-z0-9_-]+`).FindString(msg.Text)
	if link == "" {
		t.Fatalf("no link under the relay's path in %q", msg.Text)
	}
	status, page, _ := get(link)
	fields := regexp.MustCompile(`name="(t|csrf)" value="([^"]+)"`).FindAllStringSubmatch(page, -1)
	if status != 200 || len(fields) != 2 {
		t.Fatalf("link page: %d %s", status, page)
	}
	form := url.Values{fields[0][1]: {fields[0][2]}, fields[1][1]: {fields[1][2]}}
	res, err := client.PostForm(base+"/outstatic/auth/email/confirm", form)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc := res.Header.Get("Location")
	if res.StatusCode != 302 || !strings.HasPrefix(loc, magic+"?exchange_token=") {
		t.Fatalf("confirm (the cookie's path must be the relay's public one): %d %q", res.StatusCode, loc)
	}
	if user := redeem(strings.TrimPrefix(loc, magic+"?exchange_token="), magic)["user"].(map[string]any); user["email"] != "bob@example.com" {
		t.Fatalf("e-mail login user %v", user)
	}
	if status, _, _ := get(link); status != http.StatusGone {
		t.Fatalf("used link: %d", status)
	}

	// OpenID Connect, ending at the site's callback.
	callback := ports("http://blog.localhost:9080/outstatic/api/outstatic/callback")
	idp.QueueUser(&mockoidc.MockUser{Subject: "b", Email: "Bob@Example.com", EmailVerified: true})
	status, body := post("/outstatic/auth/google-exchange", key, map[string]string{"callbackUrl": callback})
	var out map[string]string
	_ = json.Unmarshal([]byte(body), &out)
	if status != 200 || !strings.HasPrefix(out["url"], base+"/outstatic/auth/oidc/start?s=") {
		t.Fatalf("google-exchange: %d %s", status, body)
	}
	_, _, authorize := get(out["url"])
	_, _, back := get(authorize)
	if !strings.HasPrefix(back, base+"/outstatic/auth/oidc/callback?") {
		t.Fatalf("issuer sent the browser to %q", back)
	}
	_, _, final := get(back)
	if !strings.HasPrefix(final, callback+"?exchange_token=") {
		t.Fatalf("OIDC hop ended at %q", final)
	}
	if user := redeem(strings.TrimPrefix(final, callback+"?exchange_token="), callback)["user"].(map[string]any); user["email"] != "Bob@Example.com" {
		t.Fatalf("OIDC login user %v", user)
	}
}
