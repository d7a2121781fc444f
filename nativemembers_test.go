package outstatic

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/adminapi"
	"github.com/caddy-outstatic/caddy-outstatic/internal/fakegithub"

	"github.com/caddyserver/caddy/v2/caddytest"
)

// TestMemberRuleInCaddy drives every door that changes members, in real
// Caddy and with the built binary, against the one rule: a manager on the
// Members page can neither re-add an owner with a lower role, nor demote
// or remove them, nor grant, revoke or (through an invitation accepted
// after they were lowered) hand out more than they hold; the admin API
// and the CLI answer 409 for an existing member, and keep the last owner.
func TestMemberRuleInCaddy(t *testing.T) {
	if testing.Short() {
		t.Skip("builds caddy")
	}
	gh := adaGitHub()
	gh.Start()
	defer gh.Close()
	// blog has a configured owner (ada); docs has none, so its stored
	// owners are its only ones.
	startNativeRelay(t, gh, t.TempDir(), "", `project docs {
				callback_origin http://docs.localhost:9080/outstatic
				repo acme/docs
			}`)
	relayURL := ports("http://relay.localhost:9080")
	bin := caddyBinary(t)
	cli := func(args ...string) (string, error) {
		out, err := exec.Command(bin, append(append([]string{"outstatic"}, args...), "--address", ports("localhost:2999"))...).CombinedOutput()
		return string(out), err
	}
	admin := func(project, action string, body map[string]string) (int, string) {
		t.Helper()
		st, out := postJSON(t, http.DefaultClient, ports("http://localhost:2999")+"/outstatic/members/"+project+"/"+action, "", body)
		return st, string(out)
	}
	// storedRole is who's role in project as the admin API lists it.
	storedRole := func(project, who string) string {
		t.Helper()
		res, err := http.Get(ports("http://localhost:2999") + "/outstatic/members")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var list []adminapi.ProjectMembers
		if err := json.NewDecoder(res.Body).Decode(&list); err != nil {
			t.Fatal(err)
		}
		for _, p := range list {
			for _, m := range p.Members {
				if p.Project == project && m.Who == who {
					return m.Role
				}
			}
		}
		return ""
	}
	for who, role := range map[string]string{"olga": "owner", "mia": "manager", "ed": "editor"} {
		if st, body := admin("blog", "add", map[string]string{"who": who, "role": role}); st != http.StatusOK {
			t.Fatalf("adding %s: %d %s", who, st, body)
		}
	}

	// The exact attack: mia (manager: members.manage, no roles.manage)
	// on the Members page.
	jar, _ := cookiejar.New(nil)
	mia := &http.Client{Transport: caddytest.CreateTestingTransport(), Jar: jar}
	gh.SetUser(fakegithub.User{Login: "mia", ID: 3})
	res, err := mia.Get(relayURL + "/home/acme/blog/signin?provider=github&next=members")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasSuffix(res.Request.URL.Path, "/home/acme/blog/members") {
		t.Fatalf("mia's sign-in ended at %s with %d", res.Request.URL, res.StatusCode)
	}
	// The page offers her nothing against olga: no role form, no Remove.
	if strings.Contains(string(page), `aria-label="Remove olga"`) || strings.Contains(string(page), `id="role-olga"`) {
		t.Fatal("the page offers mia a change of olga")
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)[1]
	form := func(values ...string) (int, string) {
		t.Helper()
		v := url.Values{"csrf": {string(csrf)}}
		for i := 0; i+1 < len(values); i += 2 {
			v.Set(values[i], values[i+1])
		}
		res, err := mia.PostForm(relayURL+"/home/acme/blog/members", v)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	for _, attempt := range []struct {
		values []string
		status int
		says   string
	}{
		{[]string{"action", "add", "who", "olga", "role", "author"}, http.StatusConflict, "olga is a member already, as owner"},
		{[]string{"action", "add", "who", "OLGA", "role", "author"}, http.StatusConflict, "olga is a member already, as owner"},
		{[]string{"action", "add", "who", "Ada", "role", "author"}, http.StatusConflict, "listed in the Caddyfile"},
		{[]string{"action", "role", "who", "olga", "role", "author"}, http.StatusForbidden, "does not allow this: it needs roles.manage"},
		{[]string{"action", "remove", "who", "olga"}, http.StatusForbidden, "olga is owner, above your role (manager)"},
		{[]string{"action", "add", "who", "zed", "role", "admin"}, http.StatusForbidden, "up to your own (manager)"},
		{[]string{"action", "invite", "email", "zed@example.com", "role", "owner"}, http.StatusForbidden, "up to your own (manager)"},
	} {
		st, body := form(attempt.values...)
		if st != attempt.status || !strings.Contains(body, attempt.says) {
			t.Errorf("mia posting %v: %d, want %d saying %q\n%s", attempt.values, st, attempt.status, attempt.says, body)
		}
	}
	if r := storedRole("blog", "olga"); r != "owner" {
		t.Fatalf("after mia's attempts olga is %q, want owner", r)
	}
	if r := storedRole("blog", "zed"); r != "" {
		t.Fatalf("zed became %q", r)
	}

	// An invitation made by the operator above mia's role is not hers
	// to revoke; one she made is, while she may make it.
	if st, body := admin("blog", "invite", map[string]string{"email": "kim@example.com", "role": "admin"}); st != http.StatusOK {
		t.Fatalf("operator invite: %d %s", st, body)
	}
	if st, body := form("action", "revoke", "email", "kim@example.com"); st != http.StatusForbidden || !strings.Contains(body, "kim@example.com is admin, above your role") {
		t.Errorf("mia revoking an admin's invitation: %d\n%s", st, body)
	}
	if st, body := form("action", "invite", "email", "kim@example.com", "role", "author"); st != http.StatusConflict || !strings.Contains(body, "invited already") {
		t.Errorf("mia replacing a pending invitation: %d\n%s", st, body)
	}
	if st, _ := form("action", "invite", "email", "nia@example.com", "role", "manager"); st != http.StatusSeeOther && st != http.StatusOK {
		t.Fatalf("mia inviting a manager: %d", st)
	}

	// mia is lowered to author: her pending invitation grants nothing,
	// since she could not make it now. nia's login ends not a member;
	// kim's (the operator's invitation) makes her an admin.
	if st, body := admin("blog", "role", map[string]string{"who": "mia", "role": "author"}); st != http.StatusOK {
		t.Fatalf("lowering mia: %d %s", st, body)
	}
	out, err := cli("key", "create", "--project", "blog")
	key := regexp.MustCompile(`key:\s+(ost_[A-Za-z0-9_-]+)`).FindStringSubmatch(out)
	if err != nil || key == nil {
		t.Fatalf("key create: %v\n%s", err, out)
	}
	siteLogin := func(login, email string) string {
		t.Helper()
		gh.SetUser(fakegithub.User{Login: login, ID: int64(len(login)) + 100,
			Emails: []fakegithub.Email{{Email: email, Primary: true, Verified: true}}})
		callback := ports("http://blog.localhost:9080/outstatic/api/outstatic/callback")
		st, b := postJSON(t, &http.Client{Transport: caddytest.CreateTestingTransport()}, relayURL+"/outstatic/auth/github-exchange", key[1],
			map[string]string{"callback_url": callback})
		var start struct{ URL string }
		if st != http.StatusOK || json.Unmarshal(b, &start) != nil {
			t.Fatalf("github-exchange: %d %s", st, b)
		}
		c := &http.Client{Transport: caddytest.CreateTestingTransport(),
			CheckRedirect: func(r *http.Request, _ []*http.Request) error {
				if strings.HasPrefix(r.URL.String(), callback) {
					return http.ErrUseLastResponse
				}
				return nil
			}}
		res, err := c.Get(start.URL)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.Header.Get("Location")
	}
	if to := siteLogin("nia", "nia@example.com"); !strings.Contains(to, "error=not-collaborator") {
		t.Fatalf("nia, invited by a manager lowered since, logged in: %s", to)
	}
	if r := storedRole("blog", "nia@example.com"); r != "" {
		t.Fatalf("nia became %q", r)
	}
	if to := siteLogin("kim", "kim@example.com"); !strings.Contains(to, "exchange_token=") {
		t.Fatalf("kim's invitation was not accepted: %s", to)
	}
	if r := storedRole("blog", "kim@example.com"); r != "admin" {
		t.Fatalf("kim is %q, want admin", r)
	}

	// The admin API and the CLI: an existing member is not added again,
	// in any case, and keeps their role.
	if st, body := admin("blog", "add", map[string]string{"who": "Olga", "role": "editor"}); st != http.StatusConflict || !strings.Contains(body, "olga is a member already, as owner") {
		t.Fatalf("admin API adding an existing member: %d %s", st, body)
	}
	if out, err := cli("member", "add", "OLGA", "--role", "author", "--project", "blog"); err == nil ||
		!strings.Contains(out, "Error: olga is a member already, as owner: change their role instead (HTTP 409)") {
		t.Fatalf("CLI adding an existing member: %v\n%s", err, out)
	}
	if r := storedRole("blog", "olga"); r != "owner" {
		t.Fatalf("olga is %q, want owner", r)
	}
	if st, _ := admin("blog", "invite", map[string]string{"email": "kim@example.com", "role": "author"}); st != http.StatusConflict {
		t.Fatalf("admin API inviting a member: %d, want 409", st)
	}
	// blog's configured owner counts: olga, a stored owner, may go.
	if st, body := admin("blog", "remove", map[string]string{"who": "olga"}); st != http.StatusOK {
		t.Fatalf("removing a stored owner beside a configured one: %d %s", st, body)
	}

	// The last owner of docs is neither removed nor demoted, by the
	// operator either; with a second owner, the first may go.
	if st, body := admin("docs", "add", map[string]string{"who": "carol", "role": "owner"}); st != http.StatusOK {
		t.Fatalf("docs add: %d %s", st, body)
	}
	for _, try := range []struct {
		action string
		body   map[string]string
	}{
		{"remove", map[string]string{"who": "carol"}},
		{"role", map[string]string{"who": "Carol", "role": "admin"}},
	} {
		if st, body := admin("docs", try.action, try.body); st != http.StatusConflict || !strings.Contains(body, "carol is the project's last owner") {
			t.Fatalf("%s of the last owner: %d %s", try.action, st, body)
		}
	}
	if out, err := cli("member", "remove", "carol", "--project", "docs"); err == nil || !strings.Contains(out, "last owner") {
		t.Fatalf("CLI removing the last owner: %v\n%s", err, out)
	}
	if r := storedRole("docs", "carol"); r != "owner" {
		t.Fatalf("carol is %q, want owner", r)
	}
	if st, body := admin("docs", "add", map[string]string{"who": "dan", "role": "owner"}); st != http.StatusOK {
		t.Fatalf("a second owner: %d %s", st, body)
	}
	if st, body := admin("docs", "remove", map[string]string{"who": "carol"}); st != http.StatusOK {
		t.Fatalf("removing one of two owners: %d %s", st, body)
	}
	if st, _ := admin("docs", "role", map[string]string{"who": "dan", "role": "editor"}); st != http.StatusConflict {
		t.Fatalf("demoting the new last owner: %d, want 409", st)
	}

	// What was refused is in the log, with the reason.
	logOut, err := cli("member", "log", "--project", "blog")
	if err != nil || !strings.Contains(logOut, "the invitation of nia@example.com as manager (by mia) is void") {
		t.Fatalf("member log: %v\n%s", err, logOut)
	}
}

// The admin API reads a member change's body as it was written or not at
// all: a key given twice, a key in another case (which encoding/json
// alone would take for role) or a second value after the object is a
// 400 that names the key, and changes nothing.
func TestAdminMemberBodyReadAsWritten(t *testing.T) {
	gh := adaGitHub()
	gh.Start()
	defer gh.Close()
	startNativeRelay(t, gh, t.TempDir(), "", "")
	for _, try := range []struct{ body, says string }{
		{`{"who":"zed","role":"author","role":"owner"}`, `field \"role\" given twice`},
		{`{"who":"zed","role":"author","Role":"owner"}`, `unknown field \"Role\"`},
		{`{"who":"zed","role":"author"}{"role":"owner"}`, "more than one JSON value"},
	} {
		st, body := adminRequest(t, http.MethodPost, "/outstatic/members/blog/add", try.body)
		if st != http.StatusBadRequest || !strings.Contains(body, try.says) {
			t.Errorf("%s: %d %s, want 400 saying %s", try.body, st, body, try.says)
		}
	}
	if st, body := adminRequest(t, http.MethodGet, "/outstatic/members", ""); st != http.StatusOK || strings.Contains(body, `"zed"`) {
		t.Fatalf("a refused body changed the members: %d %s", st, body)
	}
}
