//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// hostilePage serves an attacker's pages on another origin
// (http://127.0.0.1:<port>, another site than the public one). Every page
// ends by sending the browser to the site's callback with the attacker's
// own exchange token; before that, each makes the victim's browser start a
// login on the site in its own way, so that the guard sees a login start in
// this browser that no page of the site asked for.
type hostilePage struct {
	url string
}

func newHostilePage(t *testing.T, login, callback string) *hostilePage {
	t.Helper()
	js := func(v string) string { b, _ := json.Marshal(v); return string(b) }
	site := strings.TrimSuffix(login, "/api/outstatic/login")
	pages := map[string]string{
		// a top-level navigation to the login route
		"/toplevel": `<script>location.href = ` + js(login) + `</script>`,
		// a popup on the login route, then the callback in the opener
		"/popup": `<button id="open" onclick="` + html.EscapeString(`window.open(`+js(login)+`, "login")`) + `">open</button>
<button id="finish" onclick="` + html.EscapeString(`location.href = `+js(callback)) + `">finish</button>`,
		// the callback, from the attacker's page
		"/finish": `<script>location.href = ` + js(callback) + `</script>`,
		// the stock dashboard's redirect page, which navigates on its own,
		// after three seconds, to any URL of the site it is given: the
		// login route, as a navigation from the site itself
		"/via-redirect": `<script>location.href = ` + js(site+"/outstatic/redirect?redirectTo="+url.QueryEscape(login)) + `</script>`,
		// a magic link asked for from a form, whose text/plain body is
		// JSON: {"email":"victim@example.com","x":"="}
		"/magic-form": `<form id="f" method="POST" enctype="text/plain" action="` + html.EscapeString(site+"/api/outstatic/magic-link") +
			`"><input name="` + html.EscapeString(`{"email":"victim@example.com","x":"`) + `" value="` + html.EscapeString(`"}`) +
			`"></form><script>document.getElementById("f").submit()</script>`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><title>hostile</title><body>%s</body>", body)
	}))
	t.Cleanup(srv.Close)
	return &hostilePage{url: srv.URL}
}

// TestCrossSiteLoginCSRFInBrowser is login CSRF from another site: a
// hostile page makes the victim's browser start a login on the site (a
// top-level navigation or a popup on /api/outstatic/login, or the
// dashboard's own redirect page sent there), which would leave the browser
// looking like one that started a login, then sends it to the site's
// callback with the attacker's own exchange token. A victim who was
// logged out must end on the sign-in page with an error, not logged in as
// the attacker; one who was logged in must keep their own session.
func TestCrossSiteLoginCSRFInBrowser(t *testing.T) {
	s := setUp(t, newNativeBackend)
	browser := newBrowser(t)
	login := s.public + "/api/outstatic/login"

	// noBinding checks the hostile start left no login binding behind.
	noBinding := func(t *testing.T, victim context.Context) {
		t.Helper()
		if cookies(t, victim, s.public)[s.bindingCookie()] != nil {
			t.Error("a login started from another site left a login binding in the victim's browser")
		}
	}
	cases := []struct {
		name     string
		loggedIn bool // the victim has a session of their own
		attack   func(t *testing.T, victim context.Context, page *hostilePage)
	}{
		{"top-level navigation", false, func(t *testing.T, victim context.Context, page *hostilePage) {
			run(t, victim, "opening the hostile page", chromedp.Navigate(page.url+"/toplevel"))
			waitFor(t, victim, "the login route, loaded", fmt.Sprintf(
				`location.href === %q && document.readyState === "complete"`, login))
			noBinding(t, victim)
			run(t, victim, "opening the hostile page's second step", chromedp.Navigate(page.url+"/finish"))
		}},
		{"popup", false, func(t *testing.T, victim context.Context, page *hostilePage) {
			run(t, victim, "opening the hostile page", chromedp.Navigate(page.url+"/popup"))
			opened := chromedp.WaitNewTarget(victim, func(i *target.Info) bool { return i.Type == "page" })
			// a click: the user activation a popup needs
			run(t, victim, "clicking the hostile button", chromedp.Click(chromedp.CSS("#open")))
			var id target.ID
			select {
			case id = <-opened:
			case <-time.After(stepTimeout):
				t.Fatal("the hostile page opened no popup")
			}
			popup, cancel := chromedp.NewContext(victim, chromedp.WithTargetID(id))
			defer cancel()
			waitFor(t, popup, "the login route, loaded in the popup", fmt.Sprintf(
				`location.href === %q && document.readyState === "complete"`, login))
			noBinding(t, victim)
			run(t, victim, "clicking the hostile page's second button", chromedp.Click(chromedp.CSS("#finish")))
		}},
		{"the dashboard's redirect page", true, func(t *testing.T, victim context.Context, page *hostilePage) {
			run(t, victim, "opening the hostile page", chromedp.Navigate(page.url+"/via-redirect"))
			waitFor(t, victim, "the login route, loaded", fmt.Sprintf(
				`location.href === %q && document.readyState === "complete"`, login))
			noBinding(t, victim)
			run(t, victim, "opening the hostile page's second step", chromedp.Navigate(page.url+"/finish"))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			victim := newBrowserContext(t, browser)
			var own *network.Cookie
			if c.loggedIn {
				loginInBrowser(t, s, victim)
				if own = cookies(t, victim, s.public)["ost_token"]; own == nil {
					t.Fatal("the victim's own login left no ost_token cookie")
				}
			}
			redeemed := s.backend.count(t, "/outstatic/auth/exchange-token")
			page := newHostilePage(t, login, s.callback()+"?exchange_token="+s.backend.mint(t, s))
			c.attack(t, victim, page)

			// the callback answers with a redirect to the dashboard: with an
			// error, or (the attack working) without one
			waitFor(t, victim, "the dashboard", fmt.Sprintf(`location.href.startsWith(%q) && document.readyState === "complete"`,
				s.public+"/outstatic"))
			time.Sleep(300 * time.Millisecond) // a redirect that is still on its way
			defer saveScreenshot(t, victim, "csrf-"+fileName(c.name)+".png")
			loc := eval[string](t, victim, "reading the location", `location.href`)
			t.Logf("the victim's browser ends at %s", loc)
			if !strings.HasPrefix(loc, s.public+"/outstatic?error=") {
				t.Errorf("the victim's browser is at %s, want the dashboard with an error", loc)
			}
			cookie := cookies(t, victim, s.public)["ost_token"]
			if c.loggedIn {
				if cookie == nil || cookie.Value != own.Value {
					t.Error("the victim's session was replaced")
				}
				// and it still works
				waitForText(t, victim, "Create a Singleton")
			} else {
				if strings.HasPrefix(loc, s.public+"/outstatic?error=") {
					waitForText(t, victim, "Sign in with GitHub")
				}
				if cookie != nil {
					t.Error("the victim's browser has an ost_token cookie")
				}
				if sess, ok := currentSession(t, victim); ok {
					t.Errorf("the victim is logged in, as %s", sess.User.Email)
				}
			}
			if n := s.backend.count(t, "/outstatic/auth/exchange-token") - redeemed; n != 0 {
				t.Errorf("%d redemptions of the attacker's token reached the service", n)
			}
		})
	}
}

// TestCrossSiteMagicLinkCSRFInBrowser is login CSRF through the magic-link
// route: a hostile page on another origin posts a form to the site's
// /api/outstatic/magic-link (a text/plain body that is JSON, so no
// preflight), which would leave the victim's browser looking like one that
// asked for a magic link, then sends it to the site's magic-link callback
// with the attacker's own exchange token. The hosted service's fake sends
// magic links; the native relay does not.
func TestCrossSiteMagicLinkCSRFInBrowser(t *testing.T) {
	s := setUp(t, newForwardBackend)
	svc := s.backend.(*forwardBackend).svc
	browser := newBrowser(t)
	victim := newBrowserContext(t, browser)
	starts := s.backend.count(t, "/outstatic/auth/request-magic-link")
	redeemed := s.backend.count(t, "/outstatic/auth/exchange-token")
	callback := s.public + "/outstatic/api/outstatic/magic-link-callback"
	page := newHostilePage(t, s.public+"/api/outstatic/login", callback+"?exchange_token="+svc.Mint(callback))

	run(t, victim, "opening the hostile page", chromedp.Navigate(page.url+"/magic-form"))
	waitFor(t, victim, "the magic-link route's answer", fmt.Sprintf(
		`location.href === %q && document.readyState === "complete"`, s.public+"/api/outstatic/magic-link"))
	t.Logf("the magic-link route answered the form: %s", eval[string](t, victim, "reading the answer", `document.body.innerText`))
	if cookies(t, victim, s.public)[s.bindingCookie()] != nil {
		t.Error("a magic link asked for from another site left a login binding in the victim's browser")
	}
	if n := s.backend.count(t, "/outstatic/auth/request-magic-link") - starts; n != 0 {
		t.Errorf("the form's magic-link request reached the service %d times", n)
	}
	run(t, victim, "opening the hostile page's second step", chromedp.Navigate(page.url+"/finish"))
	waitFor(t, victim, "the dashboard", fmt.Sprintf(`location.href.startsWith(%q) && document.readyState === "complete"`,
		s.public+"/outstatic"))
	time.Sleep(300 * time.Millisecond) // a redirect that is still on its way
	saveScreenshot(t, victim, "csrf-magic-link.png")
	loc := eval[string](t, victim, "reading the location", `location.href`)
	t.Logf("the victim's browser ends at %s", loc)
	if !strings.HasPrefix(loc, s.public+"/outstatic?error=") {
		t.Errorf("the victim's browser is at %s, want the sign-in page with an error", loc)
	} else {
		waitForText(t, victim, "Sign in with GitHub")
	}
	if cookies(t, victim, s.public)["ost_token"] != nil {
		t.Error("the victim's browser has an ost_token cookie")
	}
	if sess, ok := currentSession(t, victim); ok {
		t.Errorf("the victim is logged in, as %s", sess.User.Email)
	}
	if n := s.backend.count(t, "/outstatic/auth/exchange-token") - redeemed; n != 0 {
		t.Errorf("%d redemptions of the attacker's token reached the service", n)
	}
}

// fileName makes a file name of a case's name: letters and digits, the
// rest dashes.
func fileName(name string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, name)
}
