package native

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
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
	"github.com/caddy-outstatic/caddy-outstatic/relay/github"
	"github.com/caddy-outstatic/caddy-outstatic/relay/login"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
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
	if _, err := env.relays[0].CompleteVerifiedLogin(ctx, "blog", nativeCallback, "grace@example.com", ""); !errors.Is(err, login.ErrNotMember) {
		t.Fatalf("a stranger: %v", err)
	}
	if _, err := env.relays[0].Roster().AddMember(ctx, "blog", "Grace@example.com", "author", roster.OperatorActor("test")); err != nil {
		t.Fatal(err)
	}
	s := env.emailSession(t, 1, "GRACE@example.com")
	if _, err := env.relays[0].Roster().AddMember(ctx, "blog", "ada", "author", roster.OperatorActor("test")); !errors.Is(err, roster.ErrConfigMember) {
		t.Fatalf("changing a configured member: %v", err)
	}
	if _, err := env.relays[0].Roster().SetRole(ctx, "blog", "nobody@example.com", "author", roster.OperatorActor("test")); !errors.Is(err, roster.ErrNoSuchMember) {
		t.Fatalf("role of nobody: %v", err)
	}
	if _, err := env.relays[0].Roster().AddMember(ctx, "blog", "x y", "author", roster.OperatorActor("test")); !errors.Is(err, roster.ErrBadMember) {
		t.Fatalf("a bad name: %v", err)
	}
	if err := env.relays[0].Roster().RemoveMember(ctx, "blog", "grace@example.com", roster.OperatorActor("test")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(roster.MemberCacheTTL + 100*time.Millisecond)
	if status, _ := env.refresh(t, 1, str(s, "refresh_token")); status != 401 {
		t.Fatalf("refresh on the other instance after removal: %d", status)
	}
	list, err := env.relays[1].Roster().Members(ctx, "blog")
	if err != nil || len(list) != 2 || list[0].Source != "config" {
		t.Fatalf("members: %v %v", list, err)
	}
	log, err := env.relays[1].Roster().MemberLog(ctx, "blog")
	if err != nil || len(log) != 2 || log[0].What != "added grace@example.com as author" || log[1].By != "test" {
		t.Fatalf("log: %v %v", log, err)
	}
}

// Invitations are single use and keyed by the address without case.
func TestNativeInvitationSingleUse(t *testing.T) {
	env := newNativeEnv(t, nil)
	ctx := context.Background()
	inv, link, sent, err := env.relays[0].Roster().Invite(ctx, "blog", "Lin@Example.com", "editor", roster.OperatorActor("test"))
	if err != nil || sent || link != nativeSiteOrig+"/outstatic" || inv.Email != "lin@example.com" ||
		inv.Expires.Sub(inv.Created) != 7*24*time.Hour {
		t.Fatalf("invite: %v %q %v %v", inv, link, sent, err)
	}
	if _, _, _, err := env.relays[0].Roster().Invite(ctx, "blog", "not-an-address", "editor", roster.OperatorActor("test")); !errors.Is(err, roster.ErrBadMember) {
		t.Fatalf("inviting a login: %v", err)
	}
	env.emailSession(t, 1, "lin@EXAMPLE.com")
	if pending, _ := env.relays[0].Roster().Invitations(ctx, "blog"); len(pending) != 0 {
		t.Fatalf("still pending: %v", pending)
	}
	if err := env.relays[0].Roster().RevokeInvitation(ctx, "blog", "lin@example.com", roster.OperatorActor("test")); !errors.Is(err, roster.ErrNoSuchInvitation) {
		t.Fatalf("revoking a used invitation: %v", err)
	}
	if _, _, _, err := env.relays[0].Roster().Invite(ctx, "blog", "lin@example.com", "owner", roster.OperatorActor("test")); !errors.Is(err, roster.ErrMemberExists) {
		t.Fatalf("inviting a member: %v", err)
	}
	if _, _, _, err := env.relays[0].Roster().Invite(ctx, "blog", "bob@example.com", "owner", roster.OperatorActor("test")); !errors.Is(err, roster.ErrConfigMember) {
		t.Fatalf("inviting a configured member: %v", err)
	}
	if err := env.relays[0].Roster().RemoveMember(ctx, "blog", "lin@example.com", roster.OperatorActor("test")); err != nil {
		t.Fatal(err)
	}
	if _, err := env.relays[0].CompleteVerifiedLogin(ctx, "blog", nativeCallback, "lin@example.com", ""); !errors.Is(err, login.ErrNotMember) {
		t.Fatalf("the invitation served twice: %v", err)
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
	_, link, sent, err := env.relays[0].Roster().Invite(context.Background(), "blog", "lin@example.com", "author", roster.Actor{Name: "Ada", Login: "ada"})
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
		c.RepoApp = &github.App{AppID: 9, PrivateKey: pemKey}
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
	env.relays[0].apps["blog"].ts.Invalidate() // the App's token would be minted again if used
	minted := env.gh.InstallationTokensMinted(90)
	if status, _ := env.parser(t, 0, str(env.sessionOn(t, 0), "access_token")); status != 200 || env.gh.InstallationTokensMinted(90) != minted {
		t.Fatalf("github session: %d, app tokens %d → %d", status, minted, env.gh.InstallationTokensMinted(90))
	}
}
