package outstatic

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/caddyserver/certmagic"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakegithub"
	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/relay/audit"
	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// auditRun is a native relay in Caddy whose audit log a test reads after
// each action, with every secret and token the test saw along the way.
type auditRun struct {
	t       *testing.T
	gh      *fakegithub.Server
	base    string
	client  *http.Client // follows no redirect
	secrets []string
}

// saw adds values to the secrets no record and no log line may hold.
func (a *auditRun) saw(values ...string) {
	for _, v := range values {
		if v == "" {
			a.t.Fatal("a secret the test needs is empty")
		}
		a.secrets = append(a.secrets, v)
	}
}

// events reads the audit log's records through the admin API, newest
// first: of kind, or every kind for "".
func (a *auditRun) events(kind audit.Kind) []audit.Event {
	a.t.Helper()
	status, body := adminRequest(a.t, "GET", "/outstatic/audit?limit=1000&kind="+url.QueryEscape(string(kind)), "")
	var page audit.Page
	if status != http.StatusOK || json.Unmarshal([]byte(body), &page) != nil || page.Total != len(page.Events) {
		a.t.Fatalf("GET /outstatic/audit?kind=%s: %d %s", kind, status, body)
	}
	return page.Events
}

// once runs action and checks that it recorded exactly one event of kind,
// and returns it.
func (a *auditRun) once(kind audit.Kind, what string, action func()) audit.Event {
	a.t.Helper()
	before := len(a.events(kind))
	action()
	after := a.events(kind)
	if len(after) != before+1 {
		a.t.Fatalf("%s recorded %d %s events, want 1: %+v", what, len(after)-before, kind, after)
	}
	return after[0]
}

// get sends a GET to u and returns the redirect it answers with.
func (a *auditRun) get(u string) string {
	a.t.Helper()
	res, err := a.client.Get(u)
	if err != nil {
		a.t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.Header.Get("Location")
}

// post posts body as JSON to the relay's path and decodes the answer.
func (a *auditRun) post(path, auth string, body any) (int, map[string]any) {
	a.t.Helper()
	status, b := postJSON(a.t, a.client, a.base+path, auth, body)
	var out map[string]any
	_ = json.NewDecoder(bytes.NewReader(b)).Decode(&out)
	return status, out
}

// siteLogin starts a site's login with key and follows it through the
// fake GitHub to the relay's last redirect, which it returns, with the
// relay's callback URL (its code and state).
func (a *auditRun) siteLogin(key, callback string) (final, relayCallback string) {
	a.t.Helper()
	status, out := a.post("/outstatic/auth/github-exchange", key, map[string]string{"callback_url": callback})
	if status != http.StatusOK {
		a.t.Fatalf("github-exchange: %d %v", status, out)
	}
	authorize := a.get(out["url"].(string))
	relayCallback = a.get(authorize)
	code, _ := url.Parse(relayCallback)
	a.saw(code.Query().Get("code"))
	return a.get(relayCallback), relayCallback
}

// TestAuditOncePerActionInCaddy does each sign-in, sign-out and session
// action once, in real Caddy, and reads the audit log after each: exactly
// one record of its kind, with its fields, and one entry on the
// outstatic.audit logger. Neither the records, read through the admin API
// and as the store holds them, nor anything Caddy logged holds one of the
// keys, tokens, codes and secrets the test used.
func TestAuditOncePerActionInCaddy(t *testing.T) {
	finishTee, err := teeStderr()
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if finishTee != nil {
			finishTee()
		}
	}()
	gh := adaGitHub()
	gh.Start()
	defer gh.Close()
	storage := caddyStorage(t, "outstatic-audit-once-")
	startNativeRelay(t, gh, storage, "", "")
	a := &auditRun{t: t, gh: gh, base: ports("http://relay.localhost:9080"),
		client: &http.Client{Transport: caddytest.CreateTestingTransport(),
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	a.saw("relay-secret", strings.Repeat("x", 40))

	var key string
	created := a.once(audit.KeyCreated, "creating a key", func() {
		status, body := adminRequest(t, "POST", "/outstatic/keys/blog/create", "")
		var reply struct{ Key, Prefix string }
		if status != http.StatusOK || json.Unmarshal([]byte(body), &reply) != nil || reply.Key == "" {
			t.Fatalf("creating a key: %d %s", status, body)
		}
		key = reply.Key
	})
	a.saw(key)
	if created.KeyPrefix == "" || !strings.HasPrefix(key, created.KeyPrefix) || created.Project != "blog" || !created.Operator {
		t.Errorf("key-created: %+v", created)
	}

	// A site's login, admitted.
	callback := ports("http://blog.localhost:9080/outstatic/api/outstatic/callback")
	var exchange, relayCallback string
	in := a.once(audit.SignIn, "a site's login", func() {
		var final string
		final, relayCallback = a.siteLogin(key, callback)
		var ok bool
		if exchange, ok = strings.CutPrefix(final, callback+"?exchange_token="); !ok {
			t.Fatalf("the login ended at %q", final)
		}
	})
	a.saw(exchange)
	want := audit.Event{Kind: audit.SignIn, Project: "blog", By: "ada", Member: "ada", Role: "owner",
		Provider: "github", ClientIP: "127.0.0.1", Result: audit.ResultOK}
	checkEvent(t, in, want)

	// The same return from GitHub again: the state is spent, refused.
	replay := a.once(audit.SignIn, "a replayed return from GitHub", func() {
		if back := a.get(relayCallback); back != callback+"?error="+protocol.CodeInvalidState {
			t.Fatalf("a replayed return went to %q", back)
		}
	})
	checkEvent(t, replay, audit.Event{Kind: audit.SignIn, Project: "blog", Provider: "github", ClientIP: "127.0.0.1",
		Result: audit.ResultRefused, Reason: protocol.CodeInvalidState})

	// A GitHub user who is not a member: refused, and named.
	gh.SetUser(fakegithub.User{Login: "mallory", ID: 66,
		Emails: []fakegithub.Email{{Email: "mallory@example.com", Primary: true, Verified: true}}})
	refused := a.once(audit.SignIn, "a non-member's login", func() {
		if final, _ := a.siteLogin(key, callback); final != callback+"?error="+protocol.CodeNotCollaborator {
			t.Fatalf("a non-member's login ended at %q", final)
		}
	})
	checkEvent(t, refused, audit.Event{Kind: audit.SignIn, Project: "blog", By: "mallory", Member: "mallory",
		Provider: "github", ClientIP: "127.0.0.1", Result: audit.ResultRefused, Reason: protocol.CodeNotCollaborator})

	// The session: redeemed, refreshed once, and then its spent refresh
	// token comes back after the grace: the family ends, once.
	status, out := a.post("/outstatic/auth/exchange-token", "", map[string]string{"exchange_token": exchange, "callback_url": callback})
	session, _ := out["session"].(map[string]any)
	if status != http.StatusOK || session == nil {
		t.Fatalf("exchange-token: %d %v", status, out)
	}
	access, _ := session["access_token"].(string)
	first, _ := session["refresh_token"].(string)
	a.saw(access, first)
	status, out = a.post("/outstatic/auth/refresh-token", "", map[string]string{"refresh_token": first})
	session, _ = out["session"].(map[string]any)
	if status != http.StatusOK || session == nil {
		t.Fatalf("refresh: %d %v", status, out)
	}
	second, _ := session["refresh_token"].(string)
	access2, _ := session["access_token"].(string)
	a.saw(second, access2)
	ageSpentMarkers(t, storage, time.Minute)
	reused := a.once(audit.SessionReused, "a spent refresh token after the grace", func() {
		if status, out := a.post("/outstatic/auth/refresh-token", "", map[string]string{"refresh_token": first}); status != http.StatusUnauthorized {
			t.Fatalf("a spent refresh token after the grace: %d %v", status, out)
		}
	})
	checkEvent(t, reused, audit.Event{Kind: audit.SessionReused, Project: "blog", By: "ada", Member: "ada",
		ClientIP: "127.0.0.1", Reason: protocol.CodeSessionRevoked})
	// The ended family's tokens are refused from then on, and that is no
	// new event.
	for _, refresh := range []string{first, second} {
		if status, out := a.post("/outstatic/auth/refresh-token", "", map[string]string{"refresh_token": refresh}); status != http.StatusUnauthorized {
			t.Fatalf("a refresh token of an ended family: %d %v", status, out)
		}
	}
	if n := len(a.events(audit.SessionReused)); n != 1 {
		t.Fatalf("the ended family's later refreshes recorded %d session-reused events in all, want 1", n)
	}

	// The relay's pages: ada signs in, then out.
	gh.SetUser(fakegithub.User{Login: "ada", Name: "Ada", ID: 1,
		Emails: []fakegithub.Email{{Email: "ada@example.com", Primary: true, Verified: true}}})
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Transport: caddytest.CreateTestingTransport(), Jar: jar,
		CheckRedirect: func(r *http.Request, _ []*http.Request) error {
			if ticket := r.URL.Query().Get("ticket"); ticket != "" {
				a.saw(ticket)
			}
			if code := r.URL.Query().Get("code"); code != "" {
				a.saw(code)
			}
			return nil
		}}
	var page string
	pagesIn := a.once(audit.SignIn, "a sign-in to the pages", func() {
		res, err := browser.Get(a.base + "/home/acme/blog/signin?provider=github&next=members")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if page = string(b); res.StatusCode != http.StatusOK || !strings.HasSuffix(res.Request.URL.Path, "/home/acme/blog/members") {
			t.Fatalf("the pages' sign-in ended at %s with %d", res.Request.URL, res.StatusCode)
		}
	})
	// The pages check membership at every request, not at the sign-in:
	// no role is recorded.
	want.Role = ""
	checkEvent(t, pagesIn, want)
	relayURL, _ := url.Parse(a.base)
	for _, c := range jar.Cookies(relayURL) {
		a.saw(c.Value)
	}
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no CSRF token on the members page")
	}
	a.saw(m[1])
	out2 := a.once(audit.SignOut, "a sign-out from the pages", func() {
		res, err := browser.PostForm(a.base+"/home/acme/blog/signout", url.Values{"csrf": {m[1]}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if !strings.HasSuffix(res.Request.URL.Path, "/home/acme/blog/signin") {
			t.Fatalf("the sign-out ended at %s", res.Request.URL)
		}
	})
	checkEvent(t, out2, audit.Event{Kind: audit.SignOut, Project: "blog", By: "ada", Member: "ada", ClientIP: "127.0.0.1"})
	for _, tok := range gh.Tokens() {
		a.saw(tok.Value)
	}

	// Every record, through the admin API and as the store keeps it,
	// and everything Caddy logged: no secret, and one audit log entry per
	// record.
	all := a.events("")
	raw, _ := json.Marshal(all)
	var stored bytes.Buffer
	st := store.NewStorage(&certmagic.FileStorage{Path: storage}, "outstatic")
	names, err := st.List(context.Background(), "auditlog/") // package roster's names of the records
	if err != nil || len(names) != len(all) {
		t.Fatalf("the store holds %d audit records (%v), the admin API answers %d", len(names), err, len(all))
	}
	for _, name := range names {
		b, err := st.Get(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		stored.Write(b)
		stored.WriteByte('\n')
	}
	log := finishTee()
	finishTee = nil
	for what, b := range map[string][]byte{"the admin API's records": raw, "the stored records": stored.Bytes(), "Caddy's log": log} {
		if leaks := leakedSecrets(b, a.secrets); len(leaks) > 0 {
			t.Errorf("%s hold secrets:\n%s", what, strings.Join(leaks, "\n"))
		}
	}
	perKind := map[string]int{}
	for _, line := range bytes.Split(log, []byte("\n")) {
		var entry struct{ Logger, Msg, Kind string }
		if json.Unmarshal(line, &entry) == nil && entry.Logger == "outstatic.audit" {
			perKind[entry.Kind]++
		}
	}
	recorded := map[string]int{}
	for _, e := range all {
		recorded[string(e.Kind)]++
	}
	if fmt.Sprint(perKind) != fmt.Sprint(recorded) {
		t.Errorf("the outstatic.audit logger wrote %v, the store recorded %v", perKind, recorded)
	}
	if recorded[string(audit.SignIn)] != 4 || recorded[string(audit.SignOut)] != 1 || recorded[string(audit.SessionReused)] != 1 {
		t.Errorf("recorded %v, want 4 sign-in, 1 sign-out, 1 session-reused", recorded)
	}
}

// checkEvent compares e with want on every field but At and What, which
// must be set.
func checkEvent(t *testing.T, e, want audit.Event) {
	t.Helper()
	if e.At.IsZero() || e.What == "" {
		t.Errorf("%s: no time or no text: %+v", want.Kind, e)
	}
	e.At, e.What = time.Time{}, ""
	if e != want {
		t.Errorf("%s recorded\n %+v\nwant\n %+v", want.Kind, e, want)
	}
}

// ageSpentMarkers dates every spent refresh token's marker in the relay's
// storage back by ago, as if that long had passed since it was spent.
func ageSpentMarkers(t *testing.T, storage string, ago time.Duration) {
	t.Helper()
	ctx := context.Background()
	st := store.NewStorage(&certmagic.FileStorage{Path: storage}, "outstatic")
	names, err := st.List(ctx, "sessions/spent/")
	if err != nil || len(names) == 0 {
		t.Fatalf("spent markers: %v %v", names, err)
	}
	at, _ := json.Marshal(time.Now().Add(-ago).UnixMilli())
	for _, name := range names {
		if err := st.Put(ctx, name, at, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
}
