//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestDemoInBrowser runs the README's fast demo (examples/Caddyfile,
// on a free port) with the built Caddy and uses it as a person would:
// the demo site shows the Pro flags the guard injected; "Log in" leads
// through the guard's login start and the native relay to the
// development login's page; picking a member lands on the demo site,
// logged in as them, with the session's expiry and no token on the page.
// The page says what the fast demo does not show and names the full one.
// Screenshots: testdata/out/demo-site.png, demo-dev-login.png,
// demo-logged-in.png.
func TestDemoInBrowser(t *testing.T) {
	root := repoRoot(t)
	raw, err := os.ReadFile(filepath.Join(root, "examples", "Caddyfile"))
	if err != nil {
		t.Fatal(err)
	}
	port, admin := freePort(t), freePort(t)
	site := fmt.Sprintf("http://localhost:%d", port)
	cfg := strings.NewReplacer(
		"localhost:8080", fmt.Sprintf("localhost:%d", port),
		"http_port 8080", fmt.Sprintf("http_port %d", port),
		"admin localhost:2019", fmt.Sprintf("admin localhost:%d", admin),
		// Caddy runs in a folder of its own; the demo's key file stays in the repository
		"{file.examples/demo/api-key}", "{file."+filepath.Join(root, "examples", "demo", "api-key")+"}",
	).Replace(string(raw))
	startCaddy(t, builtCaddy(t, root), cfg, site+"/", nil)

	browser := newBrowser(t)
	tab := newBrowserContext(t, browser)
	// The guard's first key check ran before Caddy listened: the flags
	// appear once the next check has answered.
	for i := 0; ; i++ {
		run(t, tab, "opening the demo site", chromedp.Navigate(site+"/"))
		if eval[bool](t, tab, "reading the flags", `document.body.innerText.includes("X-Outstatic-Pro\ttrue")`) {
			break
		}
		if i == 20 {
			t.Fatalf("the demo site never showed the Pro flag\n%s", pageState(tab))
		}
		run(t, tab, "waiting", chromedp.Sleep(500e6))
	}
	waitForText(t, tab, "X-Outstatic-Project\tdemo", "members", "Not logged in.",
		// and what it does not show, with the command that does
		"What this fast demo does not show:", "the real Outstatic dashboard", "bash scripts/demo.sh")
	saveFullScreenshot(t, tab, "demo-site.png")

	run(t, tab, "clicking Log in", chromedp.Click(chromedp.CSS("form[action='/demo/login'] button")))
	waitForText(t, tab, "Development login", "Who are you?", "octocat", "editor@example.com", "author@example.com")
	waitFor(t, tab, "the dev login page's URL", fmt.Sprintf("location.href.startsWith(%q)", site+"/relay/outstatic/auth/dev/login?state="))
	saveScreenshot(t, tab, "demo-dev-login.png")

	run(t, tab, "picking the editor", chromedp.Click(chromedp.CSS(`input[value="editor@example.com"]`)))
	run(t, tab, "logging in", chromedp.Click(chromedp.CSS("button[type=submit]")))
	waitForURL(t, tab, site+"/")
	waitForText(t, tab, "editor@example.com", "content.manage", "Session expires", "X-Outstatic-Pro\ttrue")
	saveScreenshot(t, tab, "demo-logged-in.png")

	text := eval[string](t, tab, "reading the page", "document.documentElement.outerHTML")
	if strings.Contains(text, "roles.manage") {
		t.Error("an editor was shown an owner's permissions")
	}
	if m := regexp.MustCompile(`xt_|ost_|access_token|refresh_token`).FindString(text); m != "" {
		t.Errorf("the page shows a token (%q)", m)
	}
}
