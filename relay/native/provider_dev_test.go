package native

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddy-outstatic/caddy-outstatic/relay/github"
)

// devEnv is a native relay with dev_login and no GitHub app, and a
// browser (a cookie jar) that stops at every redirect. Each instance must
// have warned at its start.
func devEnv(t *testing.T) (*nativeEnv, *http.Client) {
	core, logs := observer.New(zapcore.WarnLevel)
	env := newNativeEnv(t, func(_ int, c *NativeConfig) {
		c.DevLogin = true
		c.GitHub = github.OAuthApp{}
		c.Logger = zap.New(core)
	})
	if n := logs.FilterMessageSnippet("dev_login is on").Len(); n != len(env.relays) {
		t.Errorf("%d start warnings for %d relays", n, len(env.relays))
	}
	jar, _ := cookiejar.New(nil)
	return env, &http.Client{Jar: jar, CheckRedirect: env.client.CheckRedirect}
}

// openDevPage starts a login and returns the member page's URL and body.
func openDevPage(t *testing.T, env *nativeEnv, browser *http.Client) (string, string) {
	t.Helper()
	status, out, _ := env.call(t, 0, "POST", "/outstatic/auth/github-exchange", env.key, map[string]string{"callback_url": nativeCallback})
	if status != 200 {
		t.Fatalf("github-exchange: %d %v", status, out)
	}
	res, err := browser.Get(out["url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	page := res.Header.Get("Location")
	if !strings.HasPrefix(page, env.urls[0]+"/outstatic/auth/dev/login?state=") {
		t.Fatalf("the start sent the browser to %q, not the dev login page", page)
	}
	res, err = browser.Get(page)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("dev login page: %d %s", res.StatusCode, body)
	}
	return page, string(body)
}

var hiddenField = regexp.MustCompile(`name="(state|csrf)" value="([^"]*)"`)

func formOf(t *testing.T, body string) url.Values {
	t.Helper()
	v := url.Values{}
	for _, m := range hiddenField.FindAllStringSubmatch(body, -1) {
		v.Set(m[1], m[2])
	}
	if v.Get("state") == "" || v.Get("csrf") == "" {
		t.Fatalf("the page has no state or csrf field:\n%s", body)
	}
	return v
}

// TestDevLogin: the page lists the project's members with their roles;
// picking one ends at the site's callback with an exchange token that
// redeems to that member, with their role's permissions.
func TestDevLogin(t *testing.T) {
	env, browser := devEnv(t)
	page, body := openDevPage(t, env, browser)
	for _, want := range []string{`value="ada"`, `value="bob@example.com"`, ">owner<", ">editor<", "Development login"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	form := formOf(t, body)
	form.Set("member", "bob@example.com")
	res, err := browser.PostForm(page, form)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	back := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(back, env.urls[0]+"/outstatic/auth/github/callback?code=") {
		t.Fatalf("choosing: %d to %q", res.StatusCode, back)
	}
	_, final := env.follow(t, back)
	token := tokenOf(t, final)
	status, out, _ := env.call(t, 0, "POST", "/outstatic/auth/exchange-token", "", map[string]string{"exchange_token": token, "callback_url": nativeCallback})
	if status != 200 {
		t.Fatalf("exchange-token: %d %v", status, out)
	}
	user := out["user"].(map[string]any)
	if user["email"] != "bob@example.com" || user["login"] != "" && user["login"] != nil {
		t.Errorf("user = %v, want bob@example.com and no login", user)
	}
	if perms, _ := user["permissions"].([]any); len(perms) != 2 {
		t.Errorf("an editor got permissions %v", perms)
	}
	// The code was for that login: its state is spent, so it is refused again.
	if _, again := env.follow(t, back); !strings.Contains(again, "error=invalid-state") {
		t.Errorf("a replayed dev code ended at %q", again)
	}
}

// TestDevLoginRefusals: a form without the page's cookie (a cross-site
// POST) is refused; a name that is not a member shows the page again; a
// code does not open for another login's verifier; without dev_login the
// page does not exist.
func TestDevLoginRefusals(t *testing.T) {
	env, browser := devEnv(t)
	page, body := openDevPage(t, env, browser)
	form := formOf(t, body)
	form.Set("member", "ada")

	stranger := &http.Client{CheckRedirect: env.client.CheckRedirect}
	res, err := stranger.PostForm(page, form)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("a POST without the CSRF cookie: %d, want 403", res.StatusCode)
	}

	form.Set("member", "mallory")
	res, err = browser.PostForm(page, form)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(out), "Pick one of the project&#39;s members.") {
		t.Errorf("a non-member: %d\n%s", res.StatusCode, out)
	}

	plain := newNativeEnv(t, nil)
	if status, _, _ := plain.call(t, 0, "GET", "/outstatic/auth/dev/login", "", nil); status != http.StatusNotFound {
		t.Errorf("the dev page without dev_login: %d, want 404", status)
	}
}

// The development login takes the member the form names by key: in any
// ASCII case, and no look-alike.
func TestDevLoginMemberByKey(t *testing.T) {
	env, browser := devEnv(t)
	for who, ok := range map[string]bool{"BOB@Example.com": true, "ADA": true, "\u212Aada": false, "bob@ex\u0430mple.com": false, "b\u00f6b@example.com": false} {
		page, body := openDevPage(t, env, browser)
		form := formOf(t, body)
		form.Set("member", who)
		res, err := browser.PostForm(page, form)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if got := res.StatusCode == http.StatusSeeOther; got != ok {
			t.Errorf("dev login as %q: %d", who, res.StatusCode)
		}
	}
}
