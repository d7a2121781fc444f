package relay

import (
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakegithub"
)

const nativeAppCallback = nativeAppOrigin + "/api/outstatic/callback"

// The stock site with its own GitHub OAuth app: validate-github-user with
// the user's token and the site's listen-address callback, then the
// immediate redemption naming that address, then a session that works.
func TestNativeValidateGitHubUserEndToEnd(t *testing.T) {
	env := newNativeEnv(t, nil)
	env.gh.PutFile("main", "public/images/a.png", pngBytes)
	siteToken := env.gh.IssueToken("repo", "read:user", "user:email") // from the site's own app

	status, out, _ := env.call(t, 0, "POST", "/outstatic/auth/validate-github-user", env.key,
		map[string]string{"github_token": siteToken, "callback_url": nativeAppCallback})
	if status != 200 || out["valid"] != true {
		t.Fatalf("validate-github-user: %d %v", status, out)
	}
	user, _ := out["user"].(map[string]any)
	if user["name"] != "Ada" || user["login"] != "ada" || user["avatar_url"] == nil {
		t.Fatalf("user %v", user)
	}
	token, _ := out["exchange_token"].(string)

	// redeemed at once, on the other instance, with the listen address
	status, out, _ = env.call(t, 1, "POST", "/outstatic/auth/exchange-token", "",
		map[string]string{"exchange_token": token, "callback_url": nativeAppCallback})
	if status != 200 {
		t.Fatalf("exchange-token: %d %v", status, out)
	}
	if u := out["user"].(map[string]any); u["login"] != "ada" || u["email"] != "ada@example.com" || len(u["permissions"].([]any)) != 7 {
		t.Fatalf("user %v", u)
	}
	access := out["session"].(map[string]any)["access_token"].(string)
	// the session reads the repository with the token the site sent
	res, body, _ := env.media(t, 0, "GET", "/outstatic/media/acme/blog/main/public/images/a.png", access)
	if res.StatusCode != 200 || body != pngBytes {
		t.Fatalf("media with the session: %d %q", res.StatusCode, body)
	}
	last := env.gh.Requests()[len(env.gh.Requests())-1]
	if last.Authorization != "Bearer "+siteToken {
		t.Errorf("media read GitHub with %q, want the site's token", last.Authorization)
	}
	// once only
	if status, _, _ := env.call(t, 0, "POST", "/outstatic/auth/exchange-token", "",
		map[string]string{"exchange_token": token, "callback_url": nativeAppCallback}); status != 400 {
		t.Errorf("second redemption: %d", status)
	}
	// The public callback works too, and a token for one callback is not
	// redeemed for another.
	_, out, _ = env.call(t, 0, "POST", "/outstatic/auth/validate-github-user", env.key,
		map[string]string{"github_token": siteToken, "callback_url": nativeCallback})
	if status, out, _ := env.call(t, 0, "POST", "/outstatic/auth/exchange-token", "",
		map[string]string{"exchange_token": out["exchange_token"].(string), "callback_url": nativeCallback}); status != 200 {
		t.Errorf("public callback: %d %v", status, out)
	}
}

func TestNativeValidateGitHubUserRefusals(t *testing.T) {
	env := newNativeEnv(t, nil)
	member := env.gh.IssueToken("repo", "read:user", "user:email")
	env.gh.SetUser(fakegithub.User{Login: "mallory", ID: 2, Emails: []fakegithub.Email{{Email: "mallory@example.com", Primary: true, Verified: true}}})
	stranger := env.gh.IssueToken("repo", "read:user", "user:email")
	validate := func(key, token, callback string) (int, map[string]any) {
		t.Helper()
		status, out, _ := env.call(t, 0, "POST", "/outstatic/auth/validate-github-user", key,
			map[string]string{"github_token": token, "callback_url": callback})
		return status, out
	}
	if status, out := validate(env.key, stranger, nativeAppCallback); status != 403 || out["valid"] != false || out["exchange_token"] != nil {
		t.Errorf("non-member: %d %v", status, out)
	}
	for name, c := range map[string]struct {
		key, token, callback string
		status               int
		code                 string
	}{
		"bad github token":   {env.key, "gho_nope", nativeAppCallback, 401, "invalid-github-token"},
		"no github token":    {env.key, "", nativeAppCallback, 401, "invalid-github-token"},
		"no key":             {"", member, nativeAppCallback, 401, "invalid-api-key"},
		"another domain":     {env.key, member, "https://evil.example/api/outstatic/callback", 400, "invalid-callback-domain"},
		"not a callback":     {env.key, member, nativeSiteOrig + "/outstatic/api/outstatic/login", 400, "invalid-callback-target"},
		"userinfo trick":     {env.key, member, "http://localhost:3000@evil.example/api/outstatic/callback", 400, "invalid-callback-domain"},
		"a member, for real": {env.key, member, nativeAppCallback, 200, ""},
	} {
		status, out := validate(c.key, c.token, c.callback)
		if status != c.status || (c.code != "" && out["error"] != c.code) {
			t.Errorf("%s: %d %v, want %d %s", name, status, out, c.status, c.code)
		}
		if c.status != 200 && out["exchange_token"] != nil {
			t.Errorf("%s: an exchange token came with a refusal", name)
		}
	}
	if status, _, _ := env.call(t, 0, "GET", "/outstatic/auth/validate-github-user", env.key, nil); status != 405 {
		t.Errorf("GET: %d", status)
	}
}
