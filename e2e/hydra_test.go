//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/caddy-outstatic/caddy-outstatic/internal/hydratest"
	"github.com/caddy-outstatic/caddy-outstatic/internal/toolcache"
)

// hydraEditor is the person who signs in at Hydra: a configured editor.
var hydraEditor = hydratest.User{Subject: "hydra-editor", Email: "hydra-editor@example.com", EmailVerified: true, Name: "Hydra Editor"}

// TestGoogleLoginThroughHydraInBrowser: the stock site's "Sign in with
// Google" button, with the native relay's oidc block pointing at Ory
// Hydra (OpenID Certified) rather than mockoidc. The browser goes from the
// sign-in page to the relay, to Hydra's authorization endpoint, through
// Hydra's login and consent steps (answered by the test's login app
// through Hydra's admin API), back to the relay and the site, and lands
// on the dashboard with the editor's session, reading the repository
// through the relay's GitHub App. The relay has no GitHub OAuth app (a
// team that signs in with Google alone): its github block gives GitHub's
// URLs only, and it answers the GitHub sign-in as not supported, which the
// stock page shows as a failed GitHub login. Hydra is the interop module's tool
// dependency, built once into toolcache.Dir (scripts/interop.sh, which
// runs first, leaves it there), so this module's go.mod gains nothing.
func TestGoogleLoginThroughHydraInBrowser(t *testing.T) {
	bin, err := toolcache.Build(repoRoot(t), toolcache.Hydra)
	if err != nil {
		t.Fatal(err)
	}
	hydra := hydratest.Start(t, bin, hydratest.Options{})
	var native *nativeBackend
	s := setUp(t, func(t *testing.T, s *stack) backend {
		b := newNativeBackend(t, s).(*nativeBackend)
		native = b
		// Registered as an operator would, with Hydra's defaults.
		client := hydra.CreateClient(t, hydratest.Client{ID: "blog-relay",
			RedirectURIs: []string{b.url + "/outstatic/auth/oidc/callback"}})
		s.caddyEnv = append(s.caddyEnv, "OUTSTATIC_E2E_OIDC_SECRET="+client.Secret)
		b.opts = nativeOptions{members: []string{hydraEditor.Email + " editor"}, githubApp: true, noGitHubLogin: true,
			blocks: fmt.Sprintf("oidc google {\n\t\t\tissuer %s\n\t\t\tclient_id %s\n\t\t\tclient_secret {env.OUTSTATIC_E2E_OIDC_SECRET}\n\t\t}",
				hydra.Issuer, client.ID)}
		b.appKey = b.appKeyFile(t)
		return b
	})
	browser := newBrowser(t, s.browserOptions()...)
	tab := newBrowserContext(t, browser)

	run(t, tab, "opening the sign-in page", chromedp.Navigate(s.public+"/outstatic"))
	waitForText(t, tab, "Sign in with GitHub")
	waitHydrated(t, tab, `a[href="/api/outstatic/login"]`)
	// GitHub's button is the stock page's own: its login is refused, and
	// the site says so in its words.
	run(t, tab, "clicking Sign in with GitHub", chromedp.Click(chromedp.CSS(`a[href="/api/outstatic/login"]`)))
	waitForText(t, tab, "GitHub relay login failed")
	saveScreenshot(t, tab, "github-not-offered.png")

	hydra.Logins.Queue(hydratest.Login{User: hydraEditor})
	run(t, tab, "opening the sign-in page", chromedp.Navigate(s.public+"/outstatic"))
	waitForText(t, tab, "Sign in with Google")
	waitHydrated(t, tab, `a[href="/api/outstatic/google-login"]`)
	run(t, tab, "clicking Sign in with Google", chromedp.Click(chromedp.CSS(`a[href="/api/outstatic/google-login"]`)))
	sess, ok := waitLoggedIn(t, tab, s.public+"/outstatic")
	if !ok || sess.User.Email != hydraEditor.Email || !slices.Contains(sess.User.Permissions, "content.manage") ||
		slices.Contains(sess.User.Permissions, "settings.manage") {
		t.Fatalf("session after the login through Hydra: %v %+v\n%s", ok, sess, pageState(tab))
	}
	if n := hydra.Logins.Answered(); n != 1 {
		t.Fatalf("Hydra's login step was answered %d times, want once", n)
	}
	waitDashboardLoaded(t, tab)
	saveScreenshot(t, tab, "dashboard-hydra.png")
	run(t, tab, "opening the posts", chromedp.Navigate(s.public+"/outstatic/posts"))
	waitForText(t, tab, "Hello World", "Second Post")
	t.Logf("login through Hydra: provider %q, page %s", sess.Provider, pageState(tab))
	req, err := http.NewRequest(http.MethodPost, native.url+"/outstatic/auth/github-exchange",
		strings.NewReader(`{"callback_url":"`+s.public+`/api/outstatic/callback"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.key)
	res, err := localClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusNotImplemented || string(body) != `{"error":"not-supported"}` {
		t.Fatalf("github-exchange on a relay without GitHub's login: %d %s", res.StatusCode, body)
	}
}
