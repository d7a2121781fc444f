//go:build e2e

package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakegithub"
	"github.com/caddy-outstatic/caddy-outstatic/internal/fakesmtp"
)

// The e-mail and Google logins of a native relay, from the stock site's
// sign-in page: the native relay has an email block (a fake SMTP server on
// 127.0.0.1 captures the messages) and an oidc block (mockoidc, which signs
// in its queued user at once), and a GitHub App installed on the fake
// repository, through which these sessions, which have no GitHub token,
// read and write it. The e-mail address is not a member at first: it is
// invited as an author with 'caddy outstatic member invite', and its first
// login accepts the invitation. The Google address is a configured editor.
const (
	loginsEmail  = "author@example.com"
	loginsGoogle = "Writer@Example.com"
)

// newLoginsBackend is the native backend with both logins and the App.
func newLoginsBackend(smtp *fakesmtp.Server, idp *mockoidc.MockOIDC) func(*testing.T, *stack) backend {
	return newNativeBackendWith(nativeOptions{
		members:   []string{strings.ToLower(loginsGoogle) + " editor"},
		githubApp: true,
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

// TestEmailAndGoogleLoginsInBrowser: an invited person signs in with an
// e-mailed link (the test takes the invitation and the link from the
// captured messages, opens the link in the browser, then confirms), and
// another with Google; both end on the dashboard with a session of their
// own address and role, and see the repository's posts through the App.
// The Google editor saves a post: the commit lands in the fake GitHub
// with a Co-authored-by trailer naming them, and, as the repository's
// first save, adds mdExtension to its config.json (which the relay lets
// an editor do). The e-mail author is refused
// a change to a collection's schema.
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
	b := s.backend.(*nativeBackend)
	// The repository's config.json has no mdExtension, as a new one's: the
	// editor's first save writes it too, adding the extension, which the
	// relay lets through without settings.manage (gqlconfig.go).
	browser := newBrowser(t, s.browserOptions()...)

	t.Run("e-mail", func(t *testing.T) {
		// The invitation goes out through the email block's SMTP server.
		out := caddyCmd(t, s.bin, "outstatic", "member", "invite", loginsEmail, "--role", "author",
			"--project", nativeProject, "--address", s.admin())
		if !strings.Contains(out, "the invitation was e-mailed") {
			t.Fatalf("caddy outstatic member invite:\n%s", out)
		}
		inv := smtp.Wait(t, 20*time.Second)
		if len(inv.To) != 1 || inv.To[0] != loginsEmail || !strings.Contains(inv.Text, s.public+"/outstatic") {
			t.Fatalf("invitation to %v without the site's sign-in link:\n%s", inv.To, inv.Text)
		}

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
		if !ok || sess.User.Email != loginsEmail || !slices.Equal(sess.User.Permissions, []string{"content.manage"}) {
			t.Fatalf("session after the e-mail login (the invitation accepted as author): %v %+v", ok, sess)
		}
		// The repository, read through the App's installation.
		waitDashboardLoaded(t, tab)
		saveScreenshot(t, tab, "dashboard-email.png")
		run(t, tab, "opening the posts", chromedp.Navigate(s.public+"/outstatic/posts"))
		waitForText(t, tab, "Hello World", "Second Post")
		saveScreenshot(t, tab, "posts-email.png")
		t.Logf("e-mail login: provider %q, page %s", sess.Provider, pageState(tab))

		// An author may not change a collection: a commit of the posts'
		// schema, sent from the page with the session's token as the
		// dashboard sends its commits, is refused by the relay.
		head := b.gh.Head("main")
		status, body := commitFromPage(t, tab, s, sess.AccessToken, head, "outstatic/content/posts/schema.json",
			`{"title":"Posts","type":"object","properties":{"rating":{"type":"number"}}}`)
		if status != http.StatusForbidden || !strings.Contains(body, "forbidden-operation") {
			t.Fatalf("an author's schema commit: %d %s, want 403 forbidden-operation", status, body)
		}
		if b.gh.Head("main") != head {
			t.Fatal("the refused commit moved the branch")
		}
		if _, ok := b.gh.File("main", "outstatic/content/posts/schema.json"); ok {
			t.Fatal("the refused schema is in the repository")
		}

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
		if !ok || sess.User.Email != loginsGoogle || len(sess.User.Permissions) != 2 {
			t.Fatalf("session after the Google login: %v %+v\n%s", ok, sess, pageState(tab))
		}
		waitDashboardLoaded(t, tab)
		saveScreenshot(t, tab, "dashboard-google.png")
		t.Logf("Google login: provider %q, page %s", sess.Provider, pageState(tab))

		// The editor saves a post in the stock editor.
		const added = " Saved by the Google editor."
		run(t, tab, "opening the post", chromedp.Navigate(s.public+"/outstatic/posts/hello-world"))
		waitFor(t, tab, "the editor with the post's text",
			`(() => { const e = document.querySelector(".ProseMirror"); return !!e && e.isContentEditable && e.innerText.includes("The first post.") })()`)
		run(t, tab, "typing at the end of the post",
			chromedp.Click(chromedp.CSS(".ProseMirror p:last-of-type")),
			chromedp.KeyEvent(kb.End),
			chromedp.KeyEvent(added))
		waitFor(t, tab, "the save button, enabled and hydrated", `(() => {
			const b = document.querySelector('[data-testid="save-button-desktop"]');
			return !!b && !b.disabled && Object.keys(b).some(k => k.startsWith("__reactProps")) })()`)
		run(t, tab, "saving", chromedp.Click(chromedp.CSS(`[data-testid="save-button-desktop"]`)))
		deadline := time.Now().Add(stepTimeout)
		var msgText, doc string
		for time.Now().Before(deadline) {
			msgText, _ = b.gh.HeadMessage("main")
			doc, _ = b.gh.File("main", "outstatic/content/posts/hello-world.md")
			if strings.Contains(doc, strings.TrimSpace(added)) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		saveScreenshot(t, tab, "editor-saved-google.png")
		if !strings.Contains(doc, strings.TrimSpace(added)) {
			t.Fatalf("the saved post is not in the repository:\n%s\n%s", doc, pageState(tab))
		}
		trailer := "Co-authored-by: "
		if !strings.Contains(msgText, trailer) || !strings.Contains(strings.ToLower(msgText), strings.ToLower(loginsGoogle)+">") {
			t.Fatalf("the commit's message has no Co-authored-by trailer naming %s:\n%s", loginsGoogle, msgText)
		}
		if cfg, _ := b.gh.File("main", "outstatic/config.json"); !strings.Contains(cfg, `"mdExtension"`) {
			t.Fatalf("the first save did not record mdExtension in config.json:\n%s", cfg)
		}
		t.Logf("the editor's commit:\n%s", msgText)
	})
}

// waitDashboardLoaded waits until the dashboard shows the repository's
// collections: the Posts card, and no loading placeholder (the stock
// dashboard's skeletons pulse with animate-pulse).
func waitDashboardLoaded(t *testing.T, tab context.Context) {
	t.Helper()
	waitFor(t, tab, "the dashboard with the repository's collections",
		`!!document.body && document.body.innerText.includes("Collections") && document.body.innerText.includes("Posts") && !document.querySelector(".animate-pulse")`)
}

// commitFromPage sends, from tab's page, the dashboard's createCommit
// mutation adding path with contents on main at head, to the site's
// parser (the forward relay) with the session's access token, and
// returns the status and body.
func commitFromPage(t *testing.T, tab context.Context, s *stack, access, head, path, contents string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"query": fakegithub.DashboardDocuments()["createCommit"], "operationName": "createCommit",
		"variables": map[string]any{"input": map[string]any{
			"branch":          map[string]string{"repositoryNameWithOwner": "acme/blog", "branchName": "main"},
			"message":         map[string]string{"headline": "Change the posts' fields"},
			"fileChanges":     map[string]any{"additions": []map[string]string{{"path": path, "contents": base64.StdEncoding.EncodeToString([]byte(contents))}}},
			"expectedHeadOid": head,
		}},
	})
	out := eval[string](t, tab, "committing from the page", fmt.Sprintf(`fetch(%q, {method: "POST",
		headers: {"Authorization": "Bearer " + %q, "Content-Type": "application/json"}, body: %q})
		.then(async r => JSON.stringify({status: r.status, body: await r.text()}))`, s.relay+"/github/parser", access, string(body)))
	var res struct {
		Status int
		Body   string
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return res.Status, res.Body
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
