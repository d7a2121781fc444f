package native

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/relay/login"
)

// fakeLogin is a login provider of this test's own, to show what adding
// one takes: this type, and the one line that registers it. Its "login
// page" is no page at all: it sends the browser straight back to its
// slot's callback with a code naming the user it was told to be, bound
// to the login's PKCE verifier as an OAuth server binds its codes.
type fakeLogin struct {
	callback string
	as       string // who the next login is
}

func newFakeLogin(as string) login.Constructor {
	return func(s login.Setup) (login.Provider, error) { return &fakeLogin{callback: s.Callback, as: as}, nil }
}

func (*fakeLogin) Name() string { return "fake" }

func (f *fakeLogin) LoginURL(_ context.Context, state, verifier string) (string, error) {
	return f.callback + "?code=" + url.QueryEscape(f.as+" "+challenge(verifier)) + "&state=" + url.QueryEscape(state), nil
}

func (*fakeLogin) Redeem(_ context.Context, code, verifier string) (login.Member, error) {
	who, sum, _ := strings.Cut(code, " ")
	if sum != challenge(verifier) {
		return login.Member{}, errors.New("fake: the code was minted for another login")
	}
	return login.Member{Login: who, Name: who, Email: who + "@users.example.com"}, nil
}

func challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// A provider registered only here answers GitHub's slot: the site's
// "Sign in with GitHub" logs a member in through it, end to end, and the
// session it leads to is a member's; a user who is not a member goes back
// to the site refused, as with any provider.
func TestFakeProviderLogsInEndToEnd(t *testing.T) {
	fakeEnv := func(as string) *nativeEnv {
		return newNativeEnv(t, func(_ int, c *NativeConfig) {
			c.Logins = login.Builtin().With(login.SlotGitHub, newFakeLogin(as)) // the registration
		})
	}
	env := fakeEnv("ada")
	status, out, _ := env.call(t, 0, "POST", "/outstatic/auth/github-exchange", env.key, map[string]string{"callback_url": nativeCallback})
	start, _ := out["url"].(string)
	if status != 200 || !strings.HasPrefix(start, env.urls[0]+"/outstatic/auth/github/start?s=") {
		t.Fatalf("github-exchange: %d %v", status, out)
	}
	_, provider := env.follow(t, start)
	if !strings.HasPrefix(provider, env.urls[0]+"/outstatic/auth/github/callback?code=ada+") {
		t.Fatalf("the start sent the browser to %q, not the fake provider's", provider)
	}
	_, final := env.follow(t, provider)
	token := tokenOf(t, final)
	status, out, _ = env.call(t, 1, "POST", "/outstatic/auth/exchange-token", "", map[string]string{"exchange_token": token, "callback_url": nativeCallback})
	user, _ := out["user"].(map[string]any)
	if status != 200 || user["login"] != "ada" || user["email"] != "ada@users.example.com" || len(user["permissions"].([]any)) != 7 {
		t.Fatalf("exchange-token: %d %v", status, out)
	}
	// the code is good only for its own login
	if _, again := env.follow(t, provider); again != nativeCallback+"?error=invalid-state" {
		t.Errorf("the callback replayed: %q", again)
	}

	stranger := fakeEnv("mallory")
	_, out, _ = stranger.call(t, 0, "POST", "/outstatic/auth/github-exchange", stranger.key, map[string]string{"callback_url": nativeCallback})
	_, provider = stranger.follow(t, out["url"].(string))
	if _, final := stranger.follow(t, provider); final != nativeCallback+"?error=not-collaborator" {
		t.Errorf("a non-member's login ended at %q", final)
	}
}
