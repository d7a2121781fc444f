package interop

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/hydratest"
	"github.com/caddy-outstatic/caddy-outstatic/internal/toolcache"
)

// oidcStack is Hydra, the relay's client at it, and the relay.
type oidcStack struct {
	*relayStack
	hydra  *hydratest.Server
	client hydratest.Client
}

// startOIDC runs Hydra and a relay whose oidc block ("hydra") is a client
// registered at it with Hydra's defaults (client_secret_basic), as an
// operator following Hydra's documentation would.
func startOIDC(t *testing.T, opts hydratest.Options) *oidcStack {
	t.Helper()
	st := &oidcStack{hydra: hydratest.Start(t, built(t, toolcache.Hydra), opts)}
	st.relayStack = startRelay(t, func(relayURL string) relayOptions {
		st.client = st.hydra.CreateClient(t, hydratest.Client{ID: "blog-relay",
			RedirectURIs: []string{relayURL + "/outstatic/auth/oidc/callback"}})
		block := fmt.Sprintf("\t\toidc hydra {\n\t\t\tissuer %s\n\t\t\tclient_id %s\n\t\t\tclient_secret {env.OIDC_SECRET}\n\t\t}",
			st.hydra.Issuer, st.client.ID)
		return relayOptions{blocks: block, env: map[string]string{"OIDC_SECRET": st.client.Secret},
			secrets: []string{st.client.Secret}}
	})
	return st
}

// start calls google-exchange as the site does and follows the relay's
// start route: it returns Hydra's authorize URL.
func (st *oidcStack) start(t *testing.T) *url.URL {
	t.Helper()
	status, body := st.post(t, "/outstatic/auth/google-exchange", true, map[string]string{"callbackUrl": st.Callback("callback")})
	start := jsonField(t, body, "url")
	if status != 200 || !strings.HasPrefix(start, st.URL+"/outstatic/auth/oidc/start?s=") {
		t.Fatalf("google-exchange: %d %s", status, body)
	}
	_, _, authorize := st.get(t, start)
	u, err := url.Parse(authorize)
	if err != nil || !strings.HasPrefix(authorize, st.hydra.Issuer+"/oauth2/auth?") {
		t.Fatalf("the start route sent the browser to %q, not to Hydra's authorization endpoint", authorize)
	}
	return u
}

// toRelay runs a login of l through Hydra, with edit applied to the
// authorize URL, up to the relay's callback (not fetched), and returns
// that URL.
func (st *oidcStack) toRelay(t *testing.T, l hydratest.Login, edit func(url.Values)) string {
	t.Helper()
	st.hydra.Logins.Queue(l)
	authorize := st.start(t)
	if edit != nil {
		q := authorize.Query()
		edit(q)
		authorize.RawQuery = q.Encode()
	}
	back, _ := st.followUntil(t, authorize.String(), st.URL+"/outstatic/auth/oidc/callback?")
	return back
}

// login is toRelay and then the relay's callback: where the site's
// browser ends.
func (st *oidcStack) login(t *testing.T, l hydratest.Login, edit func(url.Values)) string {
	t.Helper()
	final, _ := st.followUntil(t, st.toRelay(t, l, edit), st.Site)
	return final
}

var (
	bob      = hydratest.User{Subject: "user-bob", Email: "bob@example.com", EmailVerified: true, Name: "Bob"}
	stranger = hydratest.User{Subject: "user-carol", Email: "carol@example.com", EmailVerified: true}
)

// TestOIDCLoginWithHydra runs the relay's oidc login against Ory Hydra:
// discovery, authorize with PKCE S256 and a nonce, Hydra's login and
// consent (accepted by the test's app through Hydra's admin API), the
// code exchange with the client's registered authentication, the ID token
// verified, email_verified honoured, the member admitted and the exchange
// token redeemed once; and the ways it must fail.
func TestOIDCLoginWithHydra(t *testing.T) {
	st := startOIDC(t, hydratest.Options{})
	callback := st.Callback("callback")

	t.Run("member admitted", func(t *testing.T) {
		st.hydra.Logins.Queue(hydratest.Login{User: bob})
		authorize := st.start(t)
		q := authorize.Query()
		if q.Get("client_id") != st.client.ID || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" ||
			len(q.Get("code_challenge")) != 43 || q.Get("nonce") == "" || q.Get("state") == "" ||
			!slices.Contains(strings.Fields(q.Get("scope")), "openid") || !slices.Contains(strings.Fields(q.Get("scope")), "email") {
			t.Fatalf("authorize request: %v", q)
		}
		final, hops := st.followUntil(t, authorize.String(), st.Site)
		if !slices.ContainsFunc(hops, func(h string) bool { return strings.HasPrefix(h, st.hydra.Logins.URL+"/consent?") }) {
			t.Fatalf("the login did not pass Hydra's consent step: %v", hops)
		}
		token := exchangeToken(t, final, callback)
		status, out := st.redeem(t, token, callback)
		if status != 200 {
			t.Fatalf("exchange-token: %d %v", status, out)
		}
		user, _ := out["user"].(map[string]any)
		session, _ := out["session"].(map[string]any)
		if user["email"] != "bob@example.com" || user["name"] != "Bob" || session["access_token"] == "" || session["refresh_token"] == "" {
			t.Fatalf("exchange-token: %v", out)
		}
		perms, _ := user["permissions"].([]any)
		if !slices.Contains(perms, any("content.manage")) || slices.Contains(perms, any("settings.manage")) {
			t.Fatalf("an editor's permissions: %v", perms)
		}
		if status, out := st.redeem(t, token, callback); status == 200 {
			t.Fatalf("the exchange token was redeemed twice: %v", out)
		}
	})

	// Each refusal is for its own reason: the relay's log line says which.
	cases := []struct {
		name  string
		login hydratest.Login
		edit  func(url.Values)
		want  string
		log   string
	}{
		// The address is bob's, but the issuer does not vouch for it.
		{"unverified e-mail", hydratest.Login{User: hydratest.User{Subject: "user-bob2", Email: "bob@example.com", Name: "Bob"}}, nil,
			"missing-user-data", "the e-mail address is not verified"},
		{"stranger", hydratest.Login{User: stranger}, nil, "not-collaborator", "login refused: not a member"},
		// Hydra sends the browser back with error=access_denied; nothing
		// is exchanged.
		{"consent refused", hydratest.Login{User: bob, RefuseConsent: true}, nil, "google-relay-failed", ""},
		// A login made for another client of the same issuer, whose
		// redirect URI is the relay's too: its code (and the ID token it
		// stands for) has that client's audience, and Hydra refuses it to
		// the relay's client.
		{"another client's code", hydratest.Login{User: bob}, func(q url.Values) { q.Set("client_id", "other-app") }, "google-relay-failed", "invalid_grant"},
		// The verifier the relay sends no longer matches.
		{"another PKCE challenge", hydratest.Login{User: bob}, func(q url.Values) { q.Set("code_challenge", strings.Repeat("A", 43)) },
			"google-relay-failed", "invalid_grant"},
		// Hydra signs the nonce it was given; the relay wants its own.
		{"another nonce", hydratest.Login{User: bob}, func(q url.Values) { q.Set("nonce", "another-nonce-of-an-attacker") },
			"google-relay-failed", "the ID token's nonce is not this login's"},
	}
	st.hydra.CreateClient(t, hydratest.Client{ID: "other-app", RedirectURIs: []string{st.URL + "/outstatic/auth/oidc/callback"}})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(st.proc.Output())
			if final := st.login(t, c.login, c.edit); final != callback+"?error="+c.want {
				t.Fatalf("the login ended at %q; want ?error=%s", final, c.want)
			}
			if logged := st.proc.Output()[before:]; !strings.Contains(logged, c.log) {
				t.Fatalf("the relay's log does not say %q:\n%s", c.log, logged)
			}
		})
	}

	t.Run("replayed callback", func(t *testing.T) {
		back := st.toRelay(t, hydratest.Login{User: bob}, nil)
		first, _ := st.followUntil(t, back, st.Site)
		exchangeToken(t, first, callback)
		if again, _ := st.followUntil(t, back, st.Site); again != callback+"?error=invalid-state" {
			t.Fatalf("the same code and state again ended at %q", again)
		}
	})
}

// TestOIDCExpiredCode lets Hydra's code expire (ttl.auth_code 1s) before
// the browser brings it to the relay: Hydra refuses the exchange, and the
// login ends with the relay's documented error.
func TestOIDCExpiredCode(t *testing.T) {
	st := startOIDC(t, hydratest.Options{AuthCodeTTL: time.Second})
	back := st.toRelay(t, hydratest.Login{User: bob}, nil)
	time.Sleep(2 * time.Second) // past the code's lifetime; nothing is timed
	if final, _ := st.followUntil(t, back, st.Site); final != st.Callback("callback")+"?error=google-relay-failed" {
		t.Fatalf("an expired code ended at %q", final)
	}
	if log := st.proc.Output(); !strings.Contains(log, "code exchange failed") || !strings.Contains(log, "invalid_grant") {
		t.Fatalf("no log line for the refused exchange")
	}
}
