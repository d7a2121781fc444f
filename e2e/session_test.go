//go:build e2e

package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The lifetimes in TestSessionExpiryInBrowser: the access token's
// (session_ttl), long enough for a login on a busy machine, short enough
// to wait out, and the login's (refresh_ttl), long enough for a refresh
// after the access token expired.
const (
	sessionTTL = 20 * time.Second
	refreshTTL = 45 * time.Second
)

// TestSessionExpiryInBrowser logs in through the native relay with a
// short session_ttl, waits until the access token has expired, and uses
// the dashboard again. The stock dashboard must get GitHub's 401 Bad
// credentials from the parser, refresh through the site's
// /api/outstatic/refresh (which calls the relay's refresh-token) and
// retry, so the person stays logged in and sees their content. Once the
// login's lifetime (refresh_ttl) is over, the site's cookie is gone with
// it and the dashboard is the sign-in page again, with no error.
func TestSessionExpiryInBrowser(t *testing.T) {
	s := setUp(t, newNativeBackendWith(nativeOptions{sessionTTL: sessionTTL, refreshTTL: refreshTTL}))
	browser := newBrowser(t)
	tab := newBrowserContext(t, browser)
	traffic := recordNetwork(t, tab)
	loginStart := time.Now()
	loginInBrowser(t, s, tab)
	loginEnd := time.Now()

	before, ok := currentSession(t, tab)
	if !ok {
		t.Fatal("no session after the login")
	}
	// The access token lives session_ttl, the refresh token refresh_ttl
	// from the login. The site's cookie must live as long as the refresh
	// token: the site sets its Max-Age from refresh_token_expires_at, and
	// from expires_at when the service sends none, and then the person
	// would be logged out, not refreshed, once the access token expires.
	// expires_at is session_ttl after the login less the relay's margin
	// (min(1m, session_ttl/10)), in whole seconds.
	margin := min(time.Minute, sessionTTL/10)
	if end := before.Expires; end.Before(loginStart.Add(sessionTTL-margin-time.Second)) || end.After(loginEnd.Add(sessionTTL)) {
		t.Fatalf("the session expires at %s, want session_ttl (%s) less the margin after the login (%s to %s)",
			end, sessionTTL, loginStart, loginEnd)
	}
	if end := before.RefreshTokenExpires; end.Before(loginStart.Add(refreshTTL-time.Second)) || end.After(loginEnd.Add(refreshTTL+time.Second)) {
		t.Fatalf("the refresh token expires at %s, want refresh_ttl (%s) after the login (%s to %s)",
			end, refreshTTL, loginStart, loginEnd)
	}
	cookie := cookies(t, tab, s.public)["ost_token"]
	if cookie == nil {
		t.Fatal("no ost_token cookie after the login")
	}
	// The site sets Max-Age from refresh_token_expires_at during the
	// login, and the browser counts it from when it got the cookie: the
	// cookie ends with the refresh token, give or take the seconds both
	// are rounded to and the time the login took.
	cookieExpires := time.Unix(int64(cookie.Expires), 0)
	if d := cookieExpires.Sub(before.RefreshTokenExpires); d < -2*time.Second || d > loginEnd.Sub(loginStart)+2*time.Second {
		t.Fatalf("the site's cookie expires at %s, want with the refresh token (%s), not with the access token (%s)",
			cookieExpires, before.RefreshTokenExpires, before.Expires)
	}
	// No refresh while the access token is good (asked only while it
	// still is: a slow machine may have spent it already).
	refreshes := s.backend.count(t, "/outstatic/auth/refresh-token")
	if refreshes != 0 && time.Now().Before(before.Expires) {
		t.Fatalf("%d refreshes before the access token expired", refreshes)
	}

	// Past the expiry. The relay reports expires_at a margin before the
	// token really ends (min(1m, session_ttl/10), so that the site's own
	// expiry has passed when the relay first refuses the token), and its
	// clock counts whole seconds.
	wait := time.Until(before.Expires) + margin + 1500*time.Millisecond
	t.Logf("waiting %s for the access token to expire", wait.Round(time.Millisecond))
	time.Sleep(wait)
	mark := len(traffic.find(func(*exchange) bool { return true }))

	// A page that needs GraphQL: the collection's documents, from the fake
	// GitHub's repository.
	run(t, tab, "opening the posts collection", chromedp.Navigate(s.public+"/outstatic/posts"))
	waitForText(t, tab, "Hello World", "Second Post")
	saveScreenshot(t, tab, "session-refreshed.png")

	after := traffic.find(func(*exchange) bool { return true })[mark:]
	var refreshed, denied, answered int
	parser := s.relay + "/github/parser"
	for _, x := range after {
		switch {
		case x.URL == s.public+"/api/outstatic/refresh" && x.Method == http.MethodPost:
			if x.Status != http.StatusOK {
				t.Errorf("POST /api/outstatic/refresh: %d", x.Status)
			}
			refreshed++
		case x.URL == parser && x.Method == http.MethodPost && x.Status == http.StatusUnauthorized:
			if !strings.HasPrefix(header(x.Request, "Authorization"), "Bearer "+before.AccessToken) {
				t.Errorf("a 401 from the parser for another token than the expired one")
			}
			denied++
		case x.URL == parser && x.Method == http.MethodPost && x.Status == http.StatusOK:
			if header(x.Request, "Authorization") == "Bearer "+before.AccessToken {
				t.Errorf("the parser answered 200 to the expired access token")
			}
			answered++
		}
	}
	t.Logf("after the expiry: %d parser 401s, %d refreshes at the site, %d parser answers", denied, refreshed, answered)
	if denied == 0 || refreshed == 0 || answered == 0 {
		t.Errorf("after the expiry: %d parser 401s, %d refreshes at the site, %d parser answers; want each at least once",
			denied, refreshed, answered)
	}
	if n := s.backend.count(t, "/outstatic/auth/refresh-token"); n < 1 {
		t.Errorf("no refresh reached the relay's refresh-token")
	}

	now, ok := currentSession(t, tab)
	if !ok {
		t.Fatalf("logged out after the refresh:\n%s", pageState(tab))
	}
	if now.AccessToken == before.AccessToken || !now.Expires.After(time.Now()) {
		t.Errorf("after the refresh the site holds the old or an expired access token (expires %s)", now.Expires)
	}
	if now.User.Email != s.backend.email() {
		t.Errorf("after the refresh the session is %q's, want %q's", now.User.Email, s.backend.email())
	}
	if !now.RefreshTokenExpires.Equal(before.RefreshTokenExpires) {
		t.Errorf("the refresh moved the login's end from %s to %s", before.RefreshTokenExpires, now.RefreshTokenExpires)
	}

	// The login's end: the cookie goes with the refresh token, and the
	// dashboard asks the person to sign in again, without an error.
	wait = time.Until(now.RefreshTokenExpires) + 1500*time.Millisecond
	t.Logf("waiting %s for the login to end", wait.Round(time.Millisecond))
	time.Sleep(wait)
	run(t, tab, "opening the dashboard", chromedp.Navigate(s.public+"/outstatic"))
	waitForText(t, tab, "Sign in with GitHub")
	saveScreenshot(t, tab, "session-ended.png")
	if text := eval[string](t, tab, "reading the page", `document.body.innerText`); strings.Contains(text, "Something went wrong") {
		t.Errorf("the sign-in page after the login's end shows an error:\n%s", text)
	}
	if cookies(t, tab, s.public)["ost_token"] != nil {
		t.Error("the site's cookie outlived the login")
	}
	if _, ok := currentSession(t, tab); ok {
		t.Error("the site still has a session after the login's end")
	}
}

// TestSessionEndedByRelayInBrowser logs in, then ends the session at the
// relay before its time: the project's key is rotated, which ends every
// session minted under the old one. Once the access token has run out the
// dashboard's refresh fails at the relay, and the stock site answers the
// failure but keeps its cookie; the guard clears the cookie on that
// answer, so the next page is the sign-in page, not a dashboard of errors.
func TestSessionEndedByRelayInBrowser(t *testing.T) {
	s := setUp(t, newNativeBackendWith(nativeOptions{sessionTTL: sessionTTL}))
	browser := newBrowser(t)
	tab := newBrowserContext(t, browser)
	traffic := recordNetwork(t, tab)
	loginInBrowser(t, s, tab)
	before, ok := currentSession(t, tab)
	if !ok || cookies(t, tab, s.public)["ost_token"] == nil {
		t.Fatal("no session after the login")
	}

	// The relay ends the session: a new key generation for the project.
	caddyCmd(t, s.bin, "outstatic", "key", "rotate", "--project", nativeProject, "--address", s.admin())

	// The stock site refreshes only an access token that has run out
	// (until then its refresh route answers success without asking the
	// relay); the relay reports expires_at a margin early.
	wait := time.Until(before.Expires) + min(time.Minute, sessionTTL/10) + 1500*time.Millisecond
	t.Logf("waiting %s for the access token to expire", wait.Round(time.Millisecond))
	time.Sleep(wait)
	run(t, tab, "opening the posts collection", chromedp.Navigate(s.public+"/outstatic/posts"))
	refresh := s.public + "/api/outstatic/refresh"
	var failed []exchange
	for deadline := time.Now().Add(stepTimeout); len(failed) == 0; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no failed POST %s after the session ended:\n%s", refresh, pageState(tab))
		}
		failed = traffic.find(func(x *exchange) bool {
			return x.URL == refresh && x.Method == http.MethodPost && x.Status == http.StatusUnauthorized
		})
	}
	if n := s.backend.count(t, "/outstatic/auth/refresh-token"); n < 1 {
		t.Error("the failed refresh never reached the relay's refresh-token")
	}
	saveScreenshot(t, tab, "session-revoked-dashboard.png")
	for deadline := time.Now().Add(stepTimeout); cookies(t, tab, s.public)["ost_token"] != nil; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the failed refresh left the site's cookie")
		}
	}

	// The next page is the sign-in page, without an error.
	run(t, tab, "opening the dashboard", chromedp.Navigate(s.public+"/outstatic"))
	waitForText(t, tab, "Sign in with GitHub")
	saveScreenshot(t, tab, "session-revoked.png")
	if text := eval[string](t, tab, "reading the page", `document.body.innerText`); strings.Contains(text, "Something went wrong") {
		t.Errorf("the sign-in page after the session's end shows an error:\n%s", text)
	}
	if _, ok := currentSession(t, tab); ok {
		t.Error("the site still has a session after the relay ended it")
	}
}
