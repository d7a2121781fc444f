//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakesmtp"
)

// The e-mail and Google logins of a native relay, from the stock site's
// sign-in page: the native relay has an email block (a fake SMTP server on
// 127.0.0.1 captures the message) and an oidc block (mockoidc, which signs
// in its queued user at once).
const (
	loginsEmail  = "editor@example.com"
	loginsGoogle = "Writer@Example.com"
)

// newLoginsBackend is the native backend with both logins configured.
func newLoginsBackend(smtp *fakesmtp.Server, idp *mockoidc.MockOIDC) func(*testing.T, *stack) backend {
	return newNativeBackendWith(nativeOptions{
		members: []string{loginsEmail + " editor", strings.ToLower(loginsGoogle) + " author"},
		blocks: fmt.Sprintf(`oidc google {
			issuer %s
			client_id %s
			client_secret {env.OUTSTATIC_E2E_OIDC_SECRET}
		}
		email {
			smtp %s
			from "Blog <login@example.com>"
			tls none
		}`, idp.Issuer(), idp.ClientID, smtp.Addr),
	})
}

// TestEmailAndGoogleLoginsInBrowser: a person signs in with an e-mailed
// link (the test takes it from the captured message and opens it in the
// same browser, then confirms), and another with Google; both end on the
// dashboard with a session of their own address and role.
func TestEmailAndGoogleLoginsInBrowser(t *testing.T) {
	smtp := fakesmtp.Start(t, fakesmtp.Options{})
	idp, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = idp.Shutdown() })
	s := setUp(t, func(t *testing.T, s *stack) backend {
		s.caddyEnv = append(s.caddyEnv, "OUTSTATIC_E2E_OIDC_SECRET="+idp.ClientSecret)
		return newLoginsBackend(smtp, idp)(t, s)
	})
	browser := newBrowser(t, s.browserOptions()...)

	t.Run("e-mail", func(t *testing.T) {
		tab := newBrowserContext(t, browser)
		run(t, tab, "opening the sign-in page", chromedp.Navigate(s.public+"/outstatic"))
		waitForText(t, tab, "Send Magic Link")
		waitHydrated(t, tab, `input[type="email"]`)
		run(t, tab, "asking for a link",
			// Enter submits as a person does, through the form's handler.
			chromedp.SendKeys(chromedp.CSS(`input[type="email"]`), loginsEmail+"\r"))
		waitForText(t, tab, "Check your email for a login link.")
		msg := smtp.Wait(t, 20*time.Second)
		link := regexp.MustCompile(`http://\S+/outstatic/auth/email/verify\?t=[A-Za-z0-9_-]+`).FindString(msg.Text)
		if len(msg.To) != 1 || msg.To[0] != loginsEmail || link == "" {
			t.Fatalf("message to %v with no login link:\n%s", msg.To, msg.Text)
		}
		run(t, tab, "opening the e-mailed link", chromedp.Navigate(link))
		waitForText(t, tab, "Continue signing in", loginsEmail)
		saveScreenshot(t, tab, "email-confirm.png")
		run(t, tab, "confirming", chromedp.Click(chromedp.CSS(`button[type="submit"]`)))
		sess, ok := waitLoggedIn(t, tab, s.public+"/outstatic")
		if !ok || sess.User.Email != loginsEmail || len(sess.User.Permissions) != 2 {
			t.Fatalf("session after the e-mail login: %v %+v", ok, sess)
		}
		time.Sleep(time.Second) // the dashboard's first render
		saveScreenshot(t, tab, "dashboard-email.png")
		t.Logf("e-mail login: provider %q, page %s", sess.Provider, pageState(tab))
		// The link was spent: opened again, it says so.
		run(t, tab, "opening the link again", chromedp.Navigate(link))
		waitForText(t, tab, "expired or was already used")
	})

	t.Run("google", func(t *testing.T) {
		tab := newBrowserContext(t, browser)
		idp.QueueUser(&mockoidc.MockUser{Subject: "w1", Email: loginsGoogle, EmailVerified: true})
		run(t, tab, "opening the sign-in page", chromedp.Navigate(s.public+"/outstatic"))
		waitForText(t, tab, "Sign in with Google")
		waitHydrated(t, tab, `a[href="/api/outstatic/google-login"]`)
		run(t, tab, "clicking Sign in with Google", chromedp.Click(chromedp.CSS(`a[href="/api/outstatic/google-login"]`)))
		sess, ok := waitLoggedIn(t, tab, s.public+"/outstatic")
		if !ok || sess.User.Email != loginsGoogle || len(sess.User.Permissions) != 1 {
			t.Fatalf("session after the Google login: %v %+v\n%s", ok, sess, pageState(tab))
		}
		time.Sleep(time.Second)
		saveScreenshot(t, tab, "dashboard-google.png")
		t.Logf("Google login: provider %q, page %s", sess.Provider, pageState(tab))
	})
}

// waitLoggedIn waits until tab is on the dashboard (dashboard, exactly: no
// ?error=) with a session at the site, and returns the session.
func waitLoggedIn(t *testing.T, tab context.Context, dashboard string) (siteSession, bool) {
	t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for time.Now().Before(deadline) {
		step, cancel := context.WithTimeout(tab, 2*time.Second)
		raw, err := chromedp.Run(step, chromedp.Evaluate[string](fmt.Sprintf(
			`location.href === %q && document.readyState === "complete" ? fetch("/api/outstatic/user").then(r => r.text()) : ""`, dashboard),
			chromedp.EvalAwaitPromise))
		cancel()
		var out struct{ Session *siteSession }
		if err == nil && raw != "" && json.Unmarshal([]byte(raw), &out) == nil && out.Session != nil {
			return *out.Session, true
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("no session on %s\n%s", dashboard, pageState(tab))
	return siteSession{}, false
}
