package native

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakesmtp"
	"github.com/caddy-outstatic/caddy-outstatic/mail"
)

// emailSession logs in a verified address on relay i as an e-mail or
// Google provider would, with no GitHub token, and returns the session.
func (e *nativeEnv) emailSession(t *testing.T, i int, email string) map[string]any {
	t.Helper()
	xt, err := e.relays[i].CompleteVerifiedLogin(context.Background(), "blog", nativeCallback, email, "")
	if err != nil {
		t.Fatalf("login of %s: %v", email, err)
	}
	status, out, _ := e.call(t, i, "POST", "/outstatic/auth/exchange-token", "", map[string]string{"exchange_token": xt, "callback_url": nativeCallback})
	if status != 200 {
		t.Fatalf("exchange-token: %d %v", status, out)
	}
	return out["session"].(map[string]any)
}

// A session without a GitHub token, on a relay without a GitHub App, is
// refused with a code the dashboard does not take for an expired session,
// and the log says, as a warning, what to do.
func TestNativeNoRepositoryAccess(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	env := newNativeEnv(t, func(_ int, c *NativeConfig) { c.Logger = zap.New(core) })
	s := env.emailSession(t, 0, "bob@example.com")
	status, body := env.parser(t, 0, str(s, "access_token"))
	if status != 403 || strings.TrimSpace(body) != `{"error":"no-repository-access"}` || strings.Contains(body, "credentials") {
		t.Fatalf("parser: %d %s", status, body)
	}
	if warned := logs.FilterMessageSnippet("no GitHub token").FilterFieldKey("fix").All(); len(warned) != 1 ||
		!strings.Contains(warned[0].ContextMap()["fix"].(string), "github_app") {
		t.Fatalf("the refusal was not logged at warn with what to do: %+v", logs.All())
	}
	status, _, _ = env.call(t, 0, "GET", "/outstatic/media/acme/blog/main/public/images/a.png", str(s, "access_token"), nil)
	if status != 403 {
		t.Fatalf("media: %d", status)
	}
	// A GitHub login keeps using its own token.
	if status, body := env.parser(t, 0, str(env.sessionOn(t, 0), "access_token")); status != 200 {
		t.Fatalf("github session: %d %s", status, body)
	}
}

// Stored members count on every instance within a second, and at once on
// the instance that changed them; the configuration's are read-only.
func TestNativeStoredMembersAcrossInstances(t *testing.T) {
	env := newNativeEnv(t, nil)
	ctx := context.Background()
	if _, err := env.relays[0].CompleteVerifiedLogin(ctx, "blog", nativeCallback, "grace@example.com", ""); !errors.Is(err, ErrNotMember) {
		t.Fatalf("a stranger: %v", err)
	}
	if _, err := env.relays[0].AddMember(ctx, "blog", "Grace@example.com", "author", OperatorActor("test")); err != nil {
		t.Fatal(err)
	}
	s := env.emailSession(t, 1, "GRACE@example.com")
	if _, err := env.relays[0].AddMember(ctx, "blog", "ada", "author", OperatorActor("test")); !errors.Is(err, ErrConfigMember) {
		t.Fatalf("changing a configured member: %v", err)
	}
	if _, err := env.relays[0].SetRole(ctx, "blog", "nobody@example.com", "author", OperatorActor("test")); !errors.Is(err, ErrNoSuchMember) {
		t.Fatalf("role of nobody: %v", err)
	}
	if _, err := env.relays[0].AddMember(ctx, "blog", "x y", "author", OperatorActor("test")); !errors.Is(err, ErrBadMember) {
		t.Fatalf("a bad name: %v", err)
	}
	if err := env.relays[0].RemoveMember(ctx, "blog", "grace@example.com", OperatorActor("test")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(memberCacheTTL + 100*time.Millisecond)
	if status, _ := env.refresh(t, 1, str(s, "refresh_token")); status != 401 {
		t.Fatalf("refresh on the other instance after removal: %d", status)
	}
	list, err := env.relays[1].Members(ctx, "blog")
	if err != nil || len(list) != 2 || list[0].Source != "config" {
		t.Fatalf("members: %v %v", list, err)
	}
	log, err := env.relays[1].MemberLog(ctx, "blog")
	if err != nil || len(log) != 2 || log[0].What != "added grace@example.com as author" || log[1].By != "test" {
		t.Fatalf("log: %v %v", log, err)
	}
}

// Invitations are single use and keyed by the address without case.
func TestNativeInvitationSingleUse(t *testing.T) {
	env := newNativeEnv(t, nil)
	ctx := context.Background()
	inv, link, sent, err := env.relays[0].Invite(ctx, "blog", "Lin@Example.com", "editor", OperatorActor("test"))
	if err != nil || sent || link != nativeSiteOrig+"/outstatic" || inv.Email != "lin@example.com" ||
		inv.Expires.Sub(inv.Created) != 7*24*time.Hour {
		t.Fatalf("invite: %v %q %v %v", inv, link, sent, err)
	}
	if _, _, _, err := env.relays[0].Invite(ctx, "blog", "not-an-address", "editor", OperatorActor("test")); !errors.Is(err, ErrBadMember) {
		t.Fatalf("inviting a login: %v", err)
	}
	env.emailSession(t, 1, "lin@EXAMPLE.com")
	if pending, _ := env.relays[0].Invitations(ctx, "blog"); len(pending) != 0 {
		t.Fatalf("still pending: %v", pending)
	}
	if err := env.relays[0].RevokeInvitation(ctx, "blog", "lin@example.com", OperatorActor("test")); !errors.Is(err, ErrNoSuchInvitation) {
		t.Fatalf("revoking a used invitation: %v", err)
	}
	if _, _, _, err := env.relays[0].Invite(ctx, "blog", "lin@example.com", "owner", OperatorActor("test")); !errors.Is(err, ErrMemberExists) {
		t.Fatalf("inviting a member: %v", err)
	}
	if _, _, _, err := env.relays[0].Invite(ctx, "blog", "bob@example.com", "owner", OperatorActor("test")); !errors.Is(err, ErrConfigMember) {
		t.Fatalf("inviting a configured member: %v", err)
	}
	if err := env.relays[0].RemoveMember(ctx, "blog", "lin@example.com", OperatorActor("test")); err != nil {
		t.Fatal(err)
	}
	if _, err := env.relays[0].CompleteVerifiedLogin(ctx, "blog", nativeCallback, "lin@example.com", ""); !errors.Is(err, ErrNotMember) {
		t.Fatalf("the invitation served twice: %v", err)
	}
}

func TestPathPermission(t *testing.T) {
	for path, want := range map[string]string{
		"outstatic/config.json":                           permSettings,
		"/Outstatic/Config.json":                          permSettings,
		"outstatic/content/collections.json":              permCollections,
		"outstatic/content/singletons.json":               permCollections,
		"outstatic/content/posts/schema.json":             permCollections,
		"outstatic/content/_singletons/about.schema.json": permCollections,
		"elsewhere/recipes/schema.json":                   permCollections,
		"outstatic/content/posts/hello.md":                permContent,
		"outstatic/content/metadata.json":                 permContent,
		"outstatic/media/media.json":                      permContent,
		"public/images/a.png":                             permContent,
		"docs/config.json":                                permContent,
	} {
		if got := pathPermission(path, "outstatic"); got != want {
			t.Errorf("%s: %s, want %s", path, got, want)
		}
	}
	if got := pathPermission("apps/web/outstatic/config.json", "apps/web/outstatic"); got != permSettings {
		t.Errorf("monorepo settings: %s", got)
	}
}

// authorize: each role's changes, the trailer only for App commits and
// only in a variable input, and no odd spelling of a path.
func TestAuthorizeRoles(t *testing.T) {
	commit := func(input string, vars map[string]any) gqlVerdict {
		t.Helper()
		decl := "" // an inline input declares no variable: GitHub refuses one unused
		if input == "$input" {
			decl = "($input: CreateCommitOnBranchInput!)"
		}
		doc := `mutation createCommit` + decl + ` { createCommitOnBranch(input: ` + input + `) { commit { oid } } }`
		body, _ := json.Marshal(map[string]any{"query": doc, "variables": vars})
		v, err := checkGraphQL(body, "acme", "blog")
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	input := func(paths ...string) map[string]any {
		var adds []any
		for _, p := range paths {
			adds = append(adds, map[string]any{"path": p, "contents": "eA=="})
		}
		return map[string]any{"input": map[string]any{
			"branch":          map[string]any{"repositoryNameWithOwner": "acme/blog", "branchName": "main"},
			"message":         map[string]any{"headline": "h", "body": "why"},
			"fileChanges":     map[string]any{"additions": adds, "deletions": []any{}},
			"expectedHeadOid": "abc",
		}}
	}
	cases := []struct {
		role  string
		paths []string
		ok    bool
	}{
		{"author", []string{"outstatic/content/posts/a.md", "outstatic/content/metadata.json"}, true},
		{"author", []string{"outstatic/content/posts/a.md", "outstatic/content/posts/schema.json"}, true}, // a new tag
		{"author", []string{"outstatic/content/posts/schema.json"}, false},
		{"author", []string{"outstatic/content/posts/a.md", "outstatic/content/collections.json"}, false},
		{"author", []string{"outstatic/content/singletons.json"}, false},
		{"author", []string{"outstatic/config.json"}, false},
		{"editor", []string{"outstatic/content/collections.json"}, true},
		{"editor", []string{"outstatic/config.json"}, false},
		{"manager", []string{"outstatic/content/recipes/schema.json"}, true},
		{"admin", []string{"outstatic/config.json"}, true},
		{"owner", []string{"outstatic/content/../config.json"}, false},
		{"owner", []string{"outstatic//config.json"}, false},
		{"nobody", []string{"outstatic/content/posts/a.md"}, false},
	}
	for _, tc := range cases {
		v := commit("$input", input(tc.paths...))
		if err := v.authorize(gqlAccess{role: tc.role, ost: "outstatic"}); (err == nil) != tc.ok {
			t.Errorf("%s %v: %v", tc.role, tc.paths, err)
		}
	}
	// The member's own token: the body is forwarded untouched.
	v := commit("$input", input("outstatic/content/posts/a.md"))
	before := string(v.Body)
	if err := v.authorize(gqlAccess{role: "author", ost: "outstatic"}); err != nil || string(v.Body) != before {
		t.Fatalf("github session: %v", err)
	}
	// The App's token: the member is credited.
	if err := v.authorize(gqlAccess{role: "author", ost: "outstatic", coAuthor: "grace@example.com"}); err != nil ||
		!strings.Contains(string(v.Body), `"body":"why\n\nCo-authored-by: grace@example.com <grace@example.com>"`) {
		t.Fatalf("app session: %v %s", err, v.Body)
	}
	// An inline input cannot carry the trailer, and is refused for App commits.
	inline := commit(`{branch: {repositoryNameWithOwner: "acme/blog", branchName: "main"}, message: {headline: "h"}, fileChanges: {additions: [{path: "outstatic/content/posts/a.md", contents: "eA=="}]}, expectedHeadOid: "abc"}`, nil)
	if err := inline.authorize(gqlAccess{role: "owner", ost: "outstatic", coAuthor: "grace@example.com"}); err == nil {
		t.Fatal("an inline commit input went out with the app's token")
	}
	// Queries need nothing beyond membership; createRef needs content.manage.
	body, _ := json.Marshal(map[string]any{"query": `mutation CreateBranch($repositoryId: ID!, $name: String!, $oid: GitObjectID!) { createRef(input: {repositoryId: $repositoryId, name: $name, oid: $oid}) { ref { name } } }`,
		"variables": map[string]any{"repositoryId": "R_1", "name": "refs/heads/x", "oid": "abc"}})
	ref, err := checkGraphQL(body, "acme", "blog")
	if err != nil {
		t.Fatal(err)
	}
	if ref.authorize(gqlAccess{role: "author"}) != nil || ref.authorize(gqlAccess{role: "nobody"}) == nil {
		t.Fatal("createRef permissions")
	}
}

// With a mailer, an invitation is e-mailed through it (a real SMTP
// conversation with the fake server) and names the sign-in page.
func TestNativeInvitationMailed(t *testing.T) {
	srv := fakesmtp.Start(t, fakesmtp.Options{Mode: fakesmtp.Plain})
	sender, err := mail.NewSender(mail.Config{Addr: srv.Addr, From: "Blog <login@example.com>", TLS: mail.TLSNone})
	if err != nil {
		t.Fatal(err)
	}
	env := newNativeEnv(t, func(_ int, c *NativeConfig) { c.Mailer = sender })
	_, link, sent, err := env.relays[0].Invite(context.Background(), "blog", "lin@example.com", "author", Actor{Name: "Ada", Login: "ada"})
	if err != nil || !sent {
		t.Fatalf("invite: %v %v", sent, err)
	}
	got := srv.Wait(t, 5*time.Second)
	if len(got.To) != 1 || got.To[0] != "lin@example.com" || !strings.Contains(got.Subject, "Ada invited you to blog") ||
		!strings.Contains(got.Text, link) || !strings.Contains(got.Text, "author") {
		t.Fatalf("mail to %v: %q\n%s", got.To, got.Subject, got.Text)
	}
}

// With a GitHub App, a session without a GitHub token reads through the
// installation; an App not installed on the repository is no access, not
// a bad session.
func TestNativeAppAccess(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	env := newNativeEnv(t, func(_ int, c *NativeConfig) {
		c.RepoApp = &RepoApp{AppID: 9, PrivateKey: pemKey}
	})
	env.gh.RegisterApp(9, "relay", &key.PublicKey)
	s := env.emailSession(t, 0, "bob@example.com")
	if status, body := env.parser(t, 0, str(s, "access_token")); status != 403 || !strings.Contains(body, "no-repository-access") {
		t.Fatalf("app not installed: %d %s", status, body)
	}
	env.gh.Install(9, 90, "acme/blog")
	if status, body := env.parser(t, 1, str(s, "access_token")); status != 200 || !strings.Contains(body, `"id"`) {
		t.Fatalf("app installed: %d %s", status, body)
	}
	if env.gh.InstallationTokensMinted(90) != 1 {
		t.Fatalf("tokens minted: %d", env.gh.InstallationTokensMinted(90))
	}
	// The content scan, keyed and without a session, reads with the App's
	// token too.
	if status, _, body := env.post(t, "/outstatic/scan", env.key, `{"projectId":"blog","branch":"main"}`); status != 200 || !strings.Contains(body, "outstatic/content/posts") {
		t.Fatalf("scan through the app: %d %s", status, body)
	}
	// A GitHub login still uses its own token, not the App's.
	env.relays[0].apps["blog"].Invalidate() // the App's token would be minted again if used
	minted := env.gh.InstallationTokensMinted(90)
	if status, _ := env.parser(t, 0, str(env.sessionOn(t, 0), "access_token")); status != 200 || env.gh.InstallationTokensMinted(90) != minted {
		t.Fatalf("github session: %d, app tokens %d → %d", status, minted, env.gh.InstallationTokensMinted(90))
	}
}
