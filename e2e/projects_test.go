//go:build e2e

package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestProjectsPageInBrowser signs an operator in on the relay's Projects
// page in Chromium, makes a project with the form (a bad slug first,
// refused beside its field), deletes it once its slug is typed again, and
// signs out and in again on the Caddyfile's project, whose Activity page
// lists that sign-in. Screenshots: testdata/out/projects-*.png, activity.png.
func TestProjectsPageInBrowser(t *testing.T) {
	relay, _ := startPagesRelay(t, "operators octocat")
	tab := newBrowser(t)
	page := relay + "/home/projects"

	run(t, tab, "opening the Projects page", chromedp.Navigate(page))
	waitForURL(t, tab, page+"/signin?next=projects")
	waitForText(t, tab, "Sign in as one of its operators")
	run(t, tab, "clicking Sign in with GitHub", chromedp.Click(chromedp.CSS(`a.provider-github`)))
	waitForURL(t, tab, page)
	waitForText(t, tab, "blog", "Caddyfile", "New project")

	create := func(slug string) {
		run(t, tab, "creating "+slug, chromedp.SetValue(chromedp.CSS("#slug"), slug),
			chromedp.SetValue(chromedp.CSS("#repo"), "acme/docs"),
			chromedp.SetValue(chromedp.CSS("#origin"), "https://docs.example.com/outstatic"),
			chromedp.SetValue(chromedp.CSS("#owner"), "octocat"),
			chromedp.Click(chromedp.CSS(`input[name="action"][value="create"] ~ button`)))
	}
	create("docs/x")
	waitFor(t, tab, "the slug's error", `!!document.querySelector("#slug-error")`)
	if v := eval[string](t, tab, "the repo field", `document.querySelector("#repo").value`); v != "acme/docs" {
		t.Fatalf("the form lost what was entered: %q", v)
	}
	saveFullScreenshot(t, tab, "projects-refused.png")
	create("docs")
	waitForText(t, tab, "Project created.", "acme/docs", "https://docs.example.com/outstatic")
	saveFullScreenshot(t, tab, "projects.png")

	run(t, tab, "deleting docs", chromedp.Click(chromedp.CSS(`#project-docs summary`)),
		chromedp.SetValue(chromedp.CSS("#confirm-docs"), "docs"),
		chromedp.Click(chromedp.CSS(`button[aria-label="Delete docs"]`)))
	waitForText(t, tab, "Project deleted")
	if eval[bool](t, tab, "docs' row", `!!document.querySelector("#project-docs")`) {
		t.Fatal("docs is still listed")
	}

	// Signed out, then in on blog's pages (octocat owns blog): its
	// Activity page lists that sign-in.
	run(t, tab, "signing out", chromedp.Click(chromedp.CSS(`form.who button`)))
	waitForURL(t, tab, page+"/signin")
	run(t, tab, "opening blog's activity", chromedp.Navigate(relay+"/home/acme/blog/activity"))
	waitForURL(t, tab, relay+"/home/acme/blog/signin?next=activity")
	run(t, tab, "signing in to blog", chromedp.Click(chromedp.CSS(`a.provider-github`)))
	waitForURL(t, tab, relay+"/home/acme/blog/activity")
	waitForText(t, tab, "Activity", "sign-in", "octocat signed in to the pages of blog")
	if strings.Contains(eval[string](t, tab, "the page", `document.body.innerText`), "ost_") {
		t.Fatal("the Activity page shows a key")
	}
	saveFullScreenshot(t, tab, "activity.png")
}
