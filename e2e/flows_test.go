//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// loginInBrowser logs tab in as a person would: the sign-in page, the
// GitHub button, through the backend's provider, back to the dashboard.
func loginInBrowser(t *testing.T, s *stack, tab context.Context) {
	t.Helper()
	run(t, tab, "opening the sign-in page", chromedp.Navigate(s.public+"/outstatic"))
	waitForText(t, tab, "Sign in with GitHub")
	waitHydrated(t, tab, `a[href="/api/outstatic/login"]`)
	run(t, tab, "clicking Sign in with GitHub", chromedp.Click(chromedp.CSS(`a[href="/api/outstatic/login"]`)))
	waitForURL(t, tab, s.public+"/outstatic")
	waitForText(t, tab, "Dashboard", "Collections", "Posts")
}

// siteSession is the session the stock site keeps in its cookie, as its
// /api/outstatic/user route shows it.
type siteSession struct {
	User struct {
		Email       string
		Permissions []string
	}
	Provider            string
	AccessToken         string    `json:"access_token"`
	RefreshToken        string    `json:"refresh_token"`
	Expires             time.Time `json:"expires"`
	RefreshTokenExpires time.Time `json:"refresh_token_expires"`
}

// currentSession fetches the site's session in tab; ok is false when the
// site has none.
func currentSession(t *testing.T, tab context.Context) (siteSession, bool) {
	t.Helper()
	raw := eval[string](t, tab, "fetching /api/outstatic/user", `fetch("/api/outstatic/user").then(r => r.text())`)
	var out struct{ Session *siteSession }
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		t.Fatalf("/api/outstatic/user: %v: %s", err, raw)
	}
	if out.Session == nil {
		return siteSession{}, false
	}
	return *out.Session, true
}

// saveScreenshot writes the tab's viewport to testdata/out/name, the
// test's artifact.
func saveScreenshot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	png := screenshot(t, tab)
	out := filepath.Join(repoRoot(t), "testdata", "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
