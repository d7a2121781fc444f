//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakegithub"
)

// TestRelayPagesInBrowser drives the relay's own Members and API Keys
// pages in headless Chromium, against Caddy built from this repository
// and a fake GitHub whose OAuth app has the relay's one registered
// callback: sign in, add and remove a member, invite, add a callback
// origin (and see a bad one refused with its reason next to the field),
// generate a key and see it once; then, as a manager, see only what a
// manager may do, and an owner added again refused. Screenshots of each page are kept in
// testdata/out/pages-*.png.
func TestRelayPagesInBrowser(t *testing.T) {
	relay, gh := startPagesRelay(t, "")
	tab := newBrowser(t)
	base := relay + "/home/acme/blog"

	// Signed out, the members page sends the browser to the sign-in page.
	run(t, tab, "opening the members page", chromedp.Navigate(base+"/members"))
	waitForURL(t, tab, base+"/signin?next=members")
	waitForText(t, tab, "Sign in with GitHub")
	saveFullScreenshot(t, tab, "pages-signin.png")
	run(t, tab, "clicking Sign in with GitHub", chromedp.Click(chromedp.CSS(`a.provider-github`)))
	waitForURL(t, tab, base+"/members")
	waitForText(t, tab, "octocat", "editor@example.com", "Caddyfile", "Add a member", "Invite by e-mail")
	if c := cookies(t, tab, relay)["ost_pages"]; c == nil || !c.HTTPOnly || c.SameSite != "Lax" {
		t.Fatalf("the session cookie: %+v", c)
	}

	// Add a member, invite one, remove the first.
	run(t, tab, "adding grace", chromedp.SetValue(chromedp.CSS("#who"), "grace"),
		chromedp.SetValue(chromedp.CSS("#add-role"), "editor"),
		chromedp.Click(chromedp.CSS(`input[name="action"][value="add"] ~ button`)))
	waitForText(t, tab, "Member added.", "grace")
	run(t, tab, "inviting lin", chromedp.SetValue(chromedp.CSS("#email"), "lin@example.com"),
		chromedp.Click(chromedp.CSS(`input[name="action"][value="invite"] ~ button`)))
	waitForText(t, tab, "Invitation recorded", "lin@example.com", "by octocat")
	saveFullScreenshot(t, tab, "pages-members.png")
	run(t, tab, "removing grace", chromedp.Click(chromedp.CSS(`button[aria-label="Remove grace"]`)))
	waitForText(t, tab, "Member removed.")
	if eval[bool](t, tab, "grace's row", `[...document.querySelectorAll(".member .name")].some(e => e.textContent === "grace")`) {
		t.Fatal("grace is still listed")
	}
	run(t, tab, "revoking lin's invitation", chromedp.Click(chromedp.CSS(`button[aria-label="Revoke the invitation of lin@example.com"]`)))
	waitForText(t, tab, "Invitation revoked.", "No pending invitations.")

	// API Keys: a bad origin is refused with its reason next to the field.
	run(t, tab, "opening API Keys", chromedp.Click(chromedp.CSS(`nav a[href$="/api-keys"]`)))
	waitForText(t, tab, "Callback origins", "https://blog.example.com/outstatic")
	run(t, tab, "adding a bad origin", chromedp.SetValue(chromedp.CSS("#origin"), "https://preview.example.com/admin"),
		chromedp.Click(chromedp.CSS(`input[name="action"][value="origin-add"] ~ button`)))
	waitFor(t, tab, "the origin's error", `!!document.querySelector("#origin-error")`)
	reason := eval[string](t, tab, "the origin's error", `document.querySelector("#origin-error").textContent`)
	if !strings.Contains(reason, `path must end with "/outstatic"`) {
		t.Fatalf("the reason shown: %q", reason)
	}
	if v := eval[string](t, tab, "the field", `document.querySelector("#origin").value`); v != "https://preview.example.com/admin" {
		t.Fatalf("the field lost what was entered: %q", v)
	}
	saveFullScreenshot(t, tab, "pages-api-keys-refused.png")
	run(t, tab, "adding an origin", chromedp.SetValue(chromedp.CSS("#origin"), "https://preview.example.com/outstatic"),
		chromedp.Click(chromedp.CSS(`input[name="action"][value="origin-add"] ~ button`)))
	waitForText(t, tab, "Callback origin added.", "https://preview.example.com/outstatic")

	// Generate a key: shown once, with a copy button (the relay's own
	// script), then only its prefix.
	run(t, tab, "generating a key", chromedp.Click(chromedp.CSS(`input[name="action"][value="key"] ~ button`)))
	waitFor(t, tab, "the new key", `!!document.querySelector("#new-key")`)
	key := eval[string](t, tab, "the new key", `document.querySelector("#new-key").value`)
	if !strings.HasPrefix(key, "ost_") {
		t.Fatalf("the key shown: %q", key)
	}
	waitFor(t, tab, "the copy button", `!document.querySelector("button.copy").hidden`)
	saveFullScreenshot(t, tab, "pages-api-key-once.png")
	run(t, tab, "reopening API Keys", chromedp.Navigate(base+"/api-keys"))
	waitForText(t, tab, "Active key", "Regenerate key")
	if eval[bool](t, tab, "the key's absence", fmt.Sprintf(`document.documentElement.outerHTML.includes(%q)`, key)) {
		t.Fatal("the key is shown a second time")
	}
	saveFullScreenshot(t, tab, "pages-api-keys.png")

	// The members page on a phone.
	run(t, tab, "a phone's viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)), chromedp.Navigate(base+"/members"))
	waitForText(t, tab, "octocat")
	saveFullScreenshot(t, tab, "pages-members-phone.png")

	// A manager is offered only what the one rule lets a manager do: no
	// role change at all, nothing against an owner; adding an owner again
	// with a lower role is refused with the reason next to the field.
	run(t, tab, "a desktop viewport", chromedp.EmulateViewport(1280, 900))
	for who, role := range map[string]string{"olga": "owner", "mia": "manager"} {
		run(t, tab, "adding "+who, chromedp.Navigate(base+"/members"), chromedp.SetValue(chromedp.CSS("#who"), who),
			chromedp.SetValue(chromedp.CSS("#add-role"), role),
			chromedp.Click(chromedp.CSS(`input[name="action"][value="add"] ~ button`)))
		waitForText(t, tab, "Member added.", who)
	}
	run(t, tab, "signing out", chromedp.Click(chromedp.CSS(`form.who button`)))
	waitForURL(t, tab, base+"/signin")
	gh.SetUser(fakegithub.User{Login: "mia", ID: 7})
	run(t, tab, "signing in as mia", chromedp.Navigate(base+"/signin?next=members"), chromedp.Click(chromedp.CSS(`a.provider-github`)))
	waitForURL(t, tab, base+"/members")
	waitForText(t, tab, "mia · manager", "olga")
	if eval[bool](t, tab, "olga's controls", `!!document.querySelector('button[aria-label="Remove olga"], #role-olga, select[id^="role-"]')`) {
		t.Fatal("the manager is offered a role change, or a change of the owner")
	}
	run(t, tab, "re-adding olga as author", chromedp.SetValue(chromedp.CSS("#who"), "olga"),
		chromedp.SetValue(chromedp.CSS("#add-role"), "author"),
		chromedp.Click(chromedp.CSS(`input[name="action"][value="add"] ~ button`)))
	waitFor(t, tab, "the refusal", `!!document.querySelector("#who-error")`)
	if reason := eval[string](t, tab, "the refusal", `document.querySelector("#who-error").textContent`); !strings.Contains(reason, "olga is a member already, as owner") {
		t.Fatalf("the reason shown: %q", reason)
	}
	saveFullScreenshot(t, tab, "pages-members-manager.png")
}

// startPagesRelay runs a native relay with project blog (owner octocat)
// and relayLines in its block, and the fake GitHub it signs in with.
func startPagesRelay(t *testing.T, relayLines string) (string, *fakegithub.Server) {
	t.Helper()
	root := repoRoot(t)
	bin := builtCaddy(t, root)
	port := freePort(t)
	relay := fmt.Sprintf("http://127.0.0.1:%d", port)
	secret := randomString(24)
	gh := fakegithub.New("pages-client", secret, fakegithub.User{
		Login: "octocat", Name: "The Octocat", ID: 583231,
		Emails: []fakegithub.Email{{Email: "octocat@example.com", Primary: true, Verified: true}},
	})
	gh.CallbackURL = relay + "/outstatic/auth/github/callback"
	gh.Start()
	t.Cleanup(gh.Close)
	caddyfile := fmt.Sprintf(`{
	admin off
	auto_https off
	storage file_system %[1]s
}
%[2]s {
	outstatic_relay {
		public_url %[2]s
		project blog {
			callback_origin https://blog.example.com/outstatic
			repo acme/blog
			member octocat owner
			member editor@example.com editor
		}
		github {
			client_id pages-client
			client_secret {env.PAGES_GITHUB_SECRET}
			base_url %[3]s
			api_url %[4]s
			graphql_url %[5]s
		}
		%[6]s
		secret {env.PAGES_RELAY_SECRET}
	}
}
`, t.TempDir(), relay, gh.URL(), gh.APIURL(), gh.GraphQLURL(), relayLines)
	startCaddy(t, bin, caddyfile, relay+"/home/-/pages.css",
		[]string{"PAGES_GITHUB_SECRET=" + secret, "PAGES_RELAY_SECRET=" + randomString(40)})

	return relay, gh
}

// saveFullScreenshot writes the whole page, not only the viewport, to
// testdata/out/name: the pages are longer than a screen.
func saveFullScreenshot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	step, cancel := context.WithTimeout(tab, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(step, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("taking a screenshot: %v", err)
	}
	out := filepath.Join(repoRoot(t), "testdata", "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
