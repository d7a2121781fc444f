package outstatic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"
	"golang.org/x/net/idna"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakegithub"
	"github.com/caddy-outstatic/caddy-outstatic/internal/fakesmtp"
	"github.com/caddy-outstatic/caddy-outstatic/relay"

	"github.com/caddyserver/caddy/v2/caddytest"
)

// lookAlikes of local@mail.example.com (local has a "k", maybe an "s" or an "i"):
// addresses that strings.ToLower, strings.EqualFold, NFKC or UTS #46
// mapping would take for it, and that someone else can own or register.
func lookAlikes(t *testing.T, local string) []string {
	t.Helper()
	puny, err := idna.Punycode.ToASCII("ma\u0130l")
	if err != nil {
		t.Fatal(err)
	}
	const d = "mail.example.com"
	out := []string{
		strings.Replace(local, "k", "\u212A", 1) + "@" + d,  // Kelvin sign: ToLower makes it "k"
		strings.Replace(local, "k", "\uFF4B", 1) + "@" + d,  // fullwidth k: NFKC makes it "k"
		strings.Replace(local, "k", "k\u0301", 1) + "@" + d, // a combining mark
		local + "@ma\u0130l.example.com",                    // İ: ToLower makes it "i"
		local + "@MA\u0130L.EXAMPLE.COM",                    //
		local + "@ma\u0131l.example.com",                    // dotless ı, a letter of its own
		local + "@mai\u0307l.example.com",                   // i and a combining dot above
		local + "@mai\u0301l.example.com",                   // not NFC (í)
		local + "@\uFF4Dail.example.com",                    // fullwidth m
		local + "@mai\u217C.example.com",                    // ⅼ, NFKC "l"
		local + "@mail\uFF0Eexample.com",                    // fullwidth full stop
		local + "@mail\u3002example.com",                    // ideographic full stop, mapped to "."
		local + "@mail.exam\u00ADple.com",                   // soft hyphen, which mapping drops
		local + "@" + puny + ".example.com",                 // the A-label of maİl
		local + "@mail.example.com.",                        // trailing dot
	}
	if strings.Contains(local, "s") {
		out = append(out, strings.Replace(local, "s", "\u017F", 1)+"@"+d) // long s: EqualFold makes it "s"
	}
	if strings.Contains(local, "i") {
		out = append(out, strings.Replace(local, "i", "\u0130", 1)+"@"+d) // İ: ToLower makes it "i"
	}
	return out
}

// TestIdentityDoorsInCaddy tries look-alikes of a configured member and of
// an invited address at every door of a native relay in real Caddy: an
// e-mail link (no message is sent to a look-alike), OpenID Connect,
// GitHub's primary and secondary addresses, the invitation's acceptance,
// and the admin API. Only ASCII case makes two addresses one person.
func TestIdentityDoorsInCaddy(t *testing.T) {
	gh := fakegithub.New("relay-client", "relay-secret", fakegithub.User{Login: "ada", ID: 1})
	gh.Start()
	defer gh.Close()
	smtp := fakesmtp.Start(t, fakesmtp.Options{})
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
	t.Setenv("TEST_OIDC_SECRET", idp.ClientSecret)
	logFile := filepath.Join(t.TempDir(), "caddy.log")

	tester := newTester(t)
	tester.InitServer(ports(fmt.Sprintf(`
	{
		admin localhost:2999
		http_port 9080
		https_port 9443
		grace_period 1ns
		skip_install_trust
		storage file_system %[1]s
		log {
			output file %[7]s
			level INFO
		}
	}
	http://relay.localhost:9080 {
		outstatic_relay {
			public_url http://relay.localhost:9080
			project blog {
				callback_origin http://blog.localhost:9080/outstatic
				repo acme/blog
				member ada owner
				member kasper@mail.example.com editor
				key_sha256 %[3]s
			}
			github {
				client_id relay-client
				client_secret {env.TEST_GH_SECRET}
				base_url %[2]s
				api_url %[8]s
			}
			oidc google {
				issuer %[4]s
				client_id %[5]s
				client_secret {env.TEST_OIDC_SECRET}
			}
			email {
				smtp %[6]s
				from "Blog <login@example.com>"
				tls none
			}
			secret {env.TEST_RELAY_SECRET}
			start_limit off
		}
	}
	`, t.TempDir(), gh.URL(), hash, idp.Issuer(), idp.ClientID, smtp.Addr, logFile, gh.APIURL())), "caddyfile")

	client := &http.Client{Transport: caddytest.CreateTestingTransport(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	base := ports("http://relay.localhost:9080")
	callback := ports("http://blog.localhost:9080/outstatic/api/outstatic/callback")
	magic := ports("http://blog.localhost:9080/outstatic/api/outstatic/magic-link-callback")
	post := func(path string, body any) (int, string) {
		t.Helper()
		status, out := postJSON(t, client, base+path, key, body)
		return status, strings.TrimSpace(string(out))
	}
	follow := func(u string) string {
		t.Helper()
		c := client
		if !strings.HasPrefix(u, base) { // the issuer and GitHub are not behind Caddy
			c = &http.Client{CheckRedirect: client.CheckRedirect}
		}
		res, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.Header.Get("Location")
	}
	admin := func(method, path string, body any) (int, string) {
		t.Helper()
		b, _ := json.Marshal(body)
		return adminRequest(t, method, path, string(b))
	}
	pending := func() []string {
		t.Helper()
		_, body := admin("GET", "/outstatic/members", nil)
		var list []struct {
			Invitations []struct{ Email string } `json:"invitations"`
		}
		if err := json.Unmarshal([]byte(body), &list); err != nil || len(list) != 1 {
			t.Fatalf("member list: %s", body)
		}
		var out []string
		for _, inv := range list[0].Invitations {
			out = append(out, inv.Email)
		}
		return out
	}
	// ends reports whether a login hop that ended at final got a token.
	ends := func(final, cb string) bool {
		t.Helper()
		switch {
		case strings.HasPrefix(final, cb+"?exchange_token="):
			return true
		case final == cb+"?error=not-collaborator", final == cb+"?error=missing-user-data":
			return false
		}
		t.Fatalf("the login ended at %q", final)
		return false
	}

	// nik is invited (and e-mailed); kasper is in the Caddyfile.
	if status, body := admin("POST", "/outstatic/members/blog/invite", map[string]string{"email": "nik@mail.example.com", "role": "author"}); status != 200 {
		t.Fatalf("invite: %d %s", status, body)
	}
	if msg := smtp.Wait(t, 10*time.Second); msg.To[0] != "nik@mail.example.com" {
		t.Fatalf("invitation sent to %v", msg.To)
	}
	alikes := append(lookAlikes(t, "kasper"), lookAlikes(t, "nik")...)

	// 1. E-mail links: a look-alike is refused (400) or answered as any
	// stranger is, and is sent nothing.
	answered := 0
	for _, a := range alikes {
		status, body := post("/outstatic/auth/request-magic-link", map[string]string{"email": a, "callbackUrl": magic})
		switch {
		case status == 200 && body == `{"success":true}`:
			answered++
		case status == 400 && body == `{"error":"invalid-request"}`:
		default:
			t.Fatalf("request-magic-link for %q: %d %s", a, status, body)
		}
	}
	if answered == 0 {
		t.Fatal("no look-alike was valid as written: the table tests nothing past the parse")
	}
	// Each answered request ends in the background with this log line,
	// after which it sends nothing.
	deadline := time.Now().Add(20 * time.Second)
	for countLines(t, logFile, "magic link not sent: not a member") < answered {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d look-alike requests finished", countLines(t, logFile, "magic link not sent: not a member"), answered)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := smtp.Pending(); n != 0 {
		t.Fatalf("%d messages were sent to look-alikes (first to %v)", n, smtp.Wait(t, time.Second).To)
	}
	for _, real := range []string{"Kasper@MAIL.example.com", "NIK@mail.Example.COM"} {
		if status, body := post("/outstatic/auth/request-magic-link", map[string]string{"email": real, "callbackUrl": magic}); status != 200 || body != `{"success":true}` {
			t.Fatalf("request-magic-link for %s: %d %s", real, status, body)
		}
		if msg := smtp.Wait(t, 10*time.Second); len(msg.To) != 1 || msg.To[0] != strings.ToLower(real) {
			t.Fatalf("the link for %s went to %v", real, msg.To)
		}
	}

	// 2. OpenID Connect: the verified address a look-alike brings admits
	// no one, and accepts no invitation.
	oidcLogin := func(email string) bool {
		t.Helper()
		idp.QueueUser(&mockoidc.MockUser{Subject: "s-" + email, Email: email, EmailVerified: true})
		status, body := post("/outstatic/auth/google-exchange", map[string]string{"callbackUrl": callback})
		var out map[string]string
		if status != 200 || json.Unmarshal([]byte(body), &out) != nil {
			t.Fatalf("google-exchange: %d %s", status, body)
		}
		return ends(follow(follow(follow(out["url"]))), callback)
	}
	// 3. GitHub: a look-alike as the primary or a secondary verified
	// address of a user who is no member.
	githubLogin := func(emails ...fakegithub.Email) bool {
		t.Helper()
		gh.SetUser(fakegithub.User{Login: "stranger", ID: 9, Emails: emails})
		status, body := post("/outstatic/auth/github-exchange", map[string]string{"callback_url": callback})
		var out map[string]string
		if status != 200 || json.Unmarshal([]byte(body), &out) != nil {
			t.Fatalf("github-exchange: %d %s", status, body)
		}
		return ends(follow(follow(follow(out["url"]))), callback)
	}
	for _, a := range alikes {
		if oidcLogin(a) {
			t.Errorf("OpenID Connect: %q logged in", a)
		}
		if githubLogin(fakegithub.Email{Email: a, Primary: true, Verified: true}) {
			t.Errorf("GitHub, primary: %q logged in", a)
		}
		if githubLogin(fakegithub.Email{Email: "stranger@elsewhere.example", Primary: true, Verified: true}, fakegithub.Email{Email: a, Verified: true}) {
			t.Errorf("GitHub, secondary: %q logged in", a)
		}
	}
	if got := pending(); len(got) != 1 || got[0] != "nik@mail.example.com" {
		t.Fatalf("pending invitations after the look-alikes: %v", got)
	}
	if !oidcLogin("KASPER@Mail.Example.com") || !githubLogin(fakegithub.Email{Email: "Kasper@mail.EXAMPLE.com", Verified: true, Primary: true}) {
		t.Fatal("the member, in other ASCII case, was refused")
	}
	// 4. The invitation is accepted by the invited address, in any ASCII
	// case, and then by nobody else.
	if !githubLogin(fakegithub.Email{Email: "stranger@elsewhere.example", Primary: true, Verified: true}, fakegithub.Email{Email: "Nik@Mail.Example.com", Verified: true}) {
		t.Fatal("the invited address did not accept its invitation")
	}
	if got := pending(); len(got) != 0 {
		t.Fatalf("pending invitations after the login: %v", got)
	}

	// 5. The admin API: a look-alike of the configured kasper is refused
	// (400) or is someone else (never the Caddyfile's 409); a look-alike
	// of the stored nik removes nobody.
	if status, body := admin("POST", "/outstatic/members/blog/add", map[string]string{"who": "KASPER@mail.example.com", "role": "owner"}); status != 409 {
		t.Fatalf("add of the configured member in capitals: %d %s", status, body)
	}
	for _, a := range lookAlikes(t, "kasper") {
		status, body := admin("POST", "/outstatic/members/blog/add", map[string]string{"who": a, "role": "owner"})
		var m struct{ Who string }
		switch {
		case status == 400:
		case status == 200 && json.Unmarshal([]byte(body), &m) == nil && m.Who != "kasper@mail.example.com":
		default:
			t.Errorf("add %q: %d %s", a, status, body)
		}
	}
	for _, a := range lookAlikes(t, "nik") {
		if status, body := admin("POST", "/outstatic/members/blog/remove", map[string]string{"who": a}); status != 400 && status != 404 {
			t.Errorf("remove %q: %d %s", a, status, body)
		}
		if status, body := admin("POST", "/outstatic/members/blog/invite", map[string]string{"email": a, "role": "owner"}); status == 200 {
			var inv struct{ Email string }
			if json.Unmarshal([]byte(body), &inv) != nil || inv.Email == "nik@mail.example.com" {
				t.Errorf("invite %q: %s", a, body)
			}
			_ = smtp.Wait(t, 10*time.Second) // the look-alike's own invitation, to its own address
		} else if status != 400 {
			t.Errorf("invite %q: %d %s", a, status, body)
		}
	}
	if status, body := admin("POST", "/outstatic/members/blog/role", map[string]string{"who": "NIK@mail.example.com", "role": "editor"}); status != 200 || !strings.Contains(body, `"who":"nik@mail.example.com"`) {
		t.Fatalf("role of nik, in capitals: %d %s", status, body)
	}
}

// adminRequest sends body (JSON) to the in-process Caddy's admin API.
func adminRequest(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, ports("http://localhost:2999")+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(out)
}

// countLines counts the lines of path that contain s.
func countLines(t *testing.T, path, s string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte(s))
}
