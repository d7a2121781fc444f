package pages

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakegithub"
)

// signInOperator signs b in on the Projects page as login.
func (b *browser) signInOperator(login string) (int, string) {
	b.t.Helper()
	b.env.gh.SetUser(fakeUser(login))
	st, body, last := b.follow("/home/projects/signin?provider=github")
	if !strings.HasSuffix(last, "/home/projects") {
		b.t.Fatalf("sign-in of %s to the Projects page ended at %s (%d)", login, last, st)
	}
	return st, body
}

// TestProjectsPage: an operator makes a project (its refusals shown
// beside the field, the form kept), deletes it only once its slug is typed
// again, and cannot delete the Caddyfile's; a member who is no operator is
// refused the page; each change is on the new project's Activity page.
func TestProjectsPage(t *testing.T) {
	env := newPagesEnv(t)
	mia := env.browser(t)
	if st, body := mia.signInOperator("mia"); st != http.StatusForbidden || !strings.Contains(body, "not one of this relay") {
		t.Fatalf("a member who is no operator: %d %s", st, body)
	}
	b := env.browser(t)
	if st, body := b.signInOperator("ada"); st != 200 || !strings.Contains(body, "blog") || !strings.Contains(body, "Caddyfile") {
		t.Fatalf("the Projects page: %d %s", st, body)
	}
	create := url.Values{"action": {"create"}, "slug": {"wiki"}, "repo": {"acme/wiki"}, "origin": {"https://wiki.example.com/outstatic"},
		"plan": {"pro"}, "owner": {"ada"}}
	if st, _, h := b.post("/home/projects", create); st != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "done=project-created") {
		t.Fatalf("create: %d %v", st, h)
	}
	if p, err := env.relay.Roster().Project(context.Background(), "wiki"); err != nil || p == nil || !p.Stored {
		t.Fatalf("wiki after the form: %v %v", p, err)
	}
	st, body, _ := b.post("/home/projects", create)
	if st != http.StatusConflict || !strings.Contains(body, "exists already") || !strings.Contains(body, `value="acme/wiki"`) {
		t.Fatalf("a taken slug: %d %s", st, body)
	}
	bad := url.Values{"action": {"create"}, "slug": {"x/y"}, "repo": {"acme/x"}, "origin": {"https://x.example.com/outstatic?q=1"}}
	if st, body, _ := b.post("/home/projects", bad); st != http.StatusBadRequest || !strings.Contains(body, `id="slug-error"`) {
		t.Fatalf("a bad slug: %d %s", st, body)
	}
	if st, body, _ := b.post("/home/projects", url.Values{"action": {"delete"}, "slug": {"blog"}, "confirm": {"blog"}}); st != http.StatusConflict ||
		!strings.Contains(body, "Caddyfile") {
		t.Fatalf("a delete of the Caddyfile's project: %d %s", st, body)
	}
	if st, body, _ := b.post("/home/projects", url.Values{"action": {"delete"}, "slug": {"wiki"}, "confirm": {"wik"}}); st != http.StatusBadRequest ||
		!strings.Contains(body, "to delete it") {
		t.Fatalf("a delete with the slug mistyped: %d %s", st, body)
	}
	// the Activity page of wiki, for its owner ada
	ada := env.browser(t)
	ada.env.gh.SetUser(fakeUser("ada"))
	st, body, last := ada.follow("/home/acme/wiki/signin?provider=github&next=activity")
	if st != 200 || !strings.HasSuffix(last, "/home/acme/wiki/activity") || !strings.Contains(body, "project-created") || !strings.Contains(body, "member-added") {
		t.Fatalf("wiki's activity: %d %s %s", st, last, body)
	}
	if _, body, _ := ada.do(http.MethodGet, "/home/acme/wiki/activity?kind=member-added", nil); strings.Contains(body, `kind-project-created`) {
		t.Fatalf("the kind filter let another kind through: %s", body)
	}
	if st, _, _ := ada.do(http.MethodGet, "/home/acme/wiki/activity?kind=nonsense", nil); st != http.StatusBadRequest {
		t.Fatalf("an unknown kind: %d", st)
	}
	if st, _, h := b.post("/home/projects", url.Values{"action": {"delete"}, "slug": {"wiki"}, "confirm": {"wiki"}}); st != http.StatusSeeOther ||
		!strings.Contains(h.Get("Location"), "done=project-deleted") {
		t.Fatalf("delete: %d %v", st, h)
	}
	if p, _ := env.relay.Roster().Project(context.Background(), "wiki"); p != nil {
		t.Fatal("wiki is served after its delete")
	}
}

// fakeUser is login as the fake GitHub answers them, with no address.
func fakeUser(login string) fakegithub.User {
	return fakegithub.User{Login: login, ID: int64(len(login))}
}
