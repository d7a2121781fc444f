package native

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakegithub"
	"github.com/caddy-outstatic/caddy-outstatic/relay"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// sessionOn logs in on relay i and redeems the exchange token there.
func (e *nativeEnv) sessionOn(t *testing.T, i int) map[string]any {
	t.Helper()
	token := tokenOf(t, e.login(t, i))
	status, out, _ := e.call(t, i, "POST", "/outstatic/auth/exchange-token", "", map[string]string{"exchange_token": token, "callback_url": nativeCallback})
	if status != 200 {
		t.Fatalf("exchange-token: %d %v", status, out)
	}
	return out["session"].(map[string]any)
}

// refresh calls #7 on relay i with refresh.
func (e *nativeEnv) refresh(t *testing.T, i int, refresh string) (int, map[string]any) {
	t.Helper()
	status, out, _ := e.call(t, i, "POST", "/outstatic/auth/refresh-token", "", map[string]string{"refresh_token": refresh})
	return status, out
}

// parser runs the dashboard's first query through relay i with access.
func (e *nativeEnv) parser(t *testing.T, i int, access string) (int, string) {
	t.Helper()
	return e.parserWith(t, i, access, `{"query":"query GetRepoInfo { repository(owner: \"acme\", name: \"blog\") { id } }"}`)
}

// parserWith sends body to relay i's parser with access, for blog.
func (e *nativeEnv) parserWith(t *testing.T, i int, access, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", e.urls[i]+"/github/parser", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+access)
	req.Header.Set("X-Project-Id", "blog")
	req.Header.Set("Content-Type", "application/json")
	res, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

// A key change ends the sessions minted before it, and no later change
// brings them back: revoking leaves a new generation, not the declared one.
func TestNativeKeyGenerationsMoveForward(t *testing.T) {
	declared, hash, _, _ := relay.NewKey()
	env := newNativeEnv(t, func(_ int, c *NativeConfig) { c.Projects[0].KeySHA256 = []string{hash} })
	ctx := context.Background()
	// no stored key: the declared key's sessions
	if err := env.relays[0].Roster().RevokeKey(ctx, "blog"); err != nil {
		t.Fatal(err)
	}
	if err := env.cfgStore(0).Delete(ctx, roster.KeyRecordName("blog")); err != nil {
		t.Fatal(err)
	}
	env.key = declared
	before := env.sessionOn(t, 0)
	if status, body := env.parser(t, 1, str(before, "access_token")); status != 200 {
		t.Fatalf("declared-key session: %d %s", status, body)
	}
	// a stored key ends them; revoking it must not revive them
	if _, _, err := env.relays[1].Roster().CreateKey(ctx, "blog", false); err != nil {
		t.Fatal(err)
	}
	if err := env.relays[0].Roster().RevokeKey(ctx, "blog"); err != nil {
		t.Fatal(err)
	}
	for i := range env.relays {
		if status, _ := env.parser(t, i, str(before, "access_token")); status != 401 {
			t.Errorf("instance %d: a session from before the key change works again at the parser: %d", i, status)
		}
		if status, out := env.refresh(t, i, str(before, "refresh_token")); status != 401 {
			t.Errorf("instance %d: a session from before the key change refreshes again: %d %v", i, status, out)
		}
	}
	// the declared key still works, and mints sessions that work
	if status, _, _ := env.call(t, 1, "GET", "/outstatic/project", declared, nil); status != 200 {
		t.Fatalf("declared key after revoke: %d", status)
	}
	after := env.sessionOn(t, 1)
	if status, body := env.parser(t, 0, str(after, "access_token")); status != 200 {
		t.Fatalf("session after revoke: %d %s", status, body)
	}
	// a second revoke is a new generation too; create works over the tombstone
	if err := env.relays[1].Roster().RevokeKey(ctx, "blog"); err != nil {
		t.Fatal(err)
	}
	if status, _ := env.parser(t, 0, str(after, "access_token")); status != 401 {
		t.Errorf("a session survived a revoke: %d", status)
	}
	if keys, err := env.relays[0].Roster().ListKeys(ctx); err != nil || len(keys) != 0 {
		t.Fatalf("list after revoke: %v %v", keys, err)
	}
	if _, _, err := env.relays[0].Roster().CreateKey(ctx, "blog", false); err != nil {
		t.Fatalf("create over a tombstone: %v", err)
	}
	if _, _, err := env.relays[1].Roster().CreateKey(ctx, "blog", false); err != roster.ErrKeyExists {
		t.Fatalf("create over a key: %v", err)
	}
}

func (e *nativeEnv) cfgStore(i int) store.Store { return e.relays[i].cfg.Store }

// TestNativeUnknownKeysCostOneRead: a well-formed unknown key costs one
// store read, on either instance, however many projects there are; keys
// made on one instance count on the other at once (an unknown key is read),
// rotated and revoked ones within KeyRecheck (1s).
func TestNativeUnknownKeysCostOneRead(t *testing.T) {
	counting := &countingStore{Store: store.NewStorage(&certmagic.FileStorage{Path: t.TempDir()}, "outstatic")}
	env := newNativeEnv(t, func(i int, c *NativeConfig) {
		c.Store = counting
		for j := 0; j < 20; j++ {
			p := nativeProject()
			p.Slug = "site" + string(rune('a'+j))
			c.Projects = append(c.Projects, p)
		}
	})
	ctx := context.Background()
	for i := range env.relays {
		unknown, _, _, _ := relay.NewKey()
		if status, _, _ := env.call(t, i, "GET", "/outstatic/project", unknown, nil); status != 401 {
			t.Fatalf("unknown key: %d", status)
		}
	}
	before := counting.gets.Load()
	for j := 0; j < 40; j++ {
		unknown, _, _, _ := relay.NewKey()
		if status, out, _ := env.call(t, j%2, "GET", "/outstatic/project", unknown, nil); status != 401 || out["error"] != "invalid-api-key" {
			t.Fatalf("unknown key: %d %v", status, out)
		}
	}
	if reads := counting.gets.Load() - before; reads != 40 {
		t.Fatalf("%d store reads for 40 unknown keys over 21 projects, want 40", reads)
	}
	// made on one instance, good on the other at once
	made, _, err := env.relays[1].Roster().CreateKey(ctx, "sitec", false)
	if err != nil {
		t.Fatal(err)
	}
	if status, out, _ := env.call(t, 0, "GET", "/outstatic/project", made, nil); status != 200 || out["project_slug"] != "sitec" {
		t.Fatalf("a key made on the other instance: %d %v", status, out)
	}
	rotated, _, err := env.relays[0].Roster().CreateKey(ctx, "sitec", true)
	if err != nil {
		t.Fatal(err)
	}
	for i := range env.relays {
		if status, _, _ := env.call(t, i, "GET", "/outstatic/project", made, nil); status != 401 {
			t.Errorf("instance %d: a rotated key: %d", i, status)
		}
		if status, _, _ := env.call(t, i, "GET", "/outstatic/project", rotated, nil); status != 200 {
			t.Errorf("instance %d: the new key: %d", i, status)
		}
	}
	if err := env.relays[1].Roster().RevokeKey(ctx, "sitec"); err != nil {
		t.Fatal(err)
	}
	env.advance(time.Second) // instance 0 trusts its key memory that long
	if status, _, _ := env.call(t, 0, "GET", "/outstatic/project", rotated, nil); status != 401 {
		t.Errorf("a revoked key: %d", status)
	}
}

// A key stored before hash records existed keeps working.
func TestNativeKeyStoredBeforeHashRecords(t *testing.T) {
	env := newNativeEnv(t, nil)
	key, hash, prefix, _ := relay.NewKey()
	data, _ := json.Marshal(map[string]any{"hash": hash, "prefix": prefix, "created": time.Now()})
	if err := env.cfgStore(0).Put(context.Background(), roster.KeyRecordName("blog"), data, 0); err != nil {
		t.Fatal(err)
	}
	for i := range env.relays {
		if status, _, _ := env.call(t, i, "GET", "/outstatic/project", key, nil); status != 200 {
			t.Errorf("instance %d: a key stored the old way: %d", i, status)
		}
	}
}

// A member listed by a secondary verified address is one at every step:
// the login, the exchange, the refresh and the parser.
func TestNativeMemberBySecondaryEmail(t *testing.T) {
	env := newNativeEnv(t, nil)
	env.gh.SetUser(fakegithub.User{Login: "bobby", ID: 3, Emails: []fakegithub.Email{
		{Email: "bobby@home.example", Primary: true, Verified: true},
		{Email: "Bob@Example.com", Verified: true},
		{Email: "ada@example.com", Verified: false},
	}})
	s := env.sessionOn(t, 0)
	status, out := env.refresh(t, 1, str(s, "refresh_token"))
	if status != 200 {
		t.Fatalf("refresh: %d %v", status, out)
	}
	next := out["session"].(map[string]any)
	if status, body := env.parser(t, 0, str(next, "access_token")); status != 200 {
		t.Fatalf("parser: %d %s", status, body)
	}
	if status, body := env.parser(t, 1, str(s, "access_token")); status != 200 {
		t.Fatalf("parser with the first access token: %d %s", status, body)
	}
}

// Refresh tokens rotate, and a spent one presented after the grace ends
// the whole session family, on both instances, at #7 and at the parser.
func TestNativeRefreshRotationEndsReusedFamily(t *testing.T) {
	storeKinds(t, testRefreshRotation)
}

func testRefreshRotation(t *testing.T, edit func(int, *NativeConfig)) {
	env := newNativeEnv(t, edit)
	first := env.sessionOn(t, 0)
	end := first["refresh_token_expires_at"]
	status, out := env.refresh(t, 1, str(first, "refresh_token"))
	if status != 200 {
		t.Fatalf("refresh: %d %v", status, out)
	}
	second := out["session"].(map[string]any)
	if str(second, "refresh_token") == "" || str(second, "refresh_token") == str(first, "refresh_token") {
		t.Fatal("the refresh token did not rotate")
	}
	if second["refresh_token_expires_at"] != end {
		t.Fatalf("a refresh moved the family's end: %v, was %v", second["refresh_token_expires_at"], end)
	}
	// the concurrent refresh of a page with several requests, within the grace
	env.advance(10 * time.Second)
	status, out = env.refresh(t, 0, str(first, "refresh_token"))
	if status != 200 {
		t.Fatalf("the just-spent token within the grace: %d %v", status, out)
	}
	sibling := out["session"].(map[string]any)
	if status, body := env.parser(t, 1, str(sibling, "access_token")); status != 200 {
		t.Fatalf("parser with the grace answer: %d %s", status, body)
	}
	// the second session goes on normally
	status, out = env.refresh(t, 0, str(second, "refresh_token"))
	if status != 200 {
		t.Fatalf("refresh of the successor: %d %v", status, out)
	}
	third := out["session"].(map[string]any)
	// the first token again, after the grace: taken for stolen
	env.advance(refreshGrace)
	if status, out := env.refresh(t, 1, str(first, "refresh_token")); status != 401 || out["error"] != "session-revoked" {
		t.Fatalf("a spent token after the grace: %d %v", status, out)
	}
	for i := range env.relays {
		for name, s := range map[string]map[string]any{"third": third, "sibling": sibling} {
			if status, out := env.refresh(t, i, str(s, "refresh_token")); status != 401 || out["error"] != "session-revoked" {
				t.Errorf("instance %d: the %s refresh token of an ended family: %d %v", i, name, status, out)
			}
			if status, body := env.parser(t, i, str(s, "access_token")); status != 401 || !strings.Contains(body, "Bad credentials") {
				t.Errorf("instance %d: the %s access token of an ended family: %d %s", i, name, status, body)
			}
		}
	}
	// another login of the same member is another family
	other := env.sessionOn(t, 1)
	if status, out := env.refresh(t, 0, str(other, "refresh_token")); status != 200 {
		t.Fatalf("another family: %d %v", status, out)
	}
}

// The dashboard fires refreshes at once; every one of them gets a session.
func TestNativeConcurrentRefreshes(t *testing.T) {
	env := newNativeEnv(t, nil)
	s := env.sessionOn(t, 0)
	if ok := env.concurrentPosts(8, "/outstatic/auth/refresh-token", map[string]string{"refresh_token": str(s, "refresh_token")}); ok != 8 {
		t.Fatalf("%d of 8 concurrent refreshes succeeded", ok)
	}
}

// A GitHub App's user token expires after 8 hours: the relay renews it with
// GitHub's refresh token, once, and the session keeps working.
func TestNativeGitHubTokenRenewed(t *testing.T) {
	env := newNativeEnv(t, func(_ int, c *NativeConfig) { c.SessionTTL = 12 * time.Hour })
	env.gh.SetTokenTTL(8 * time.Hour)
	renewals := func() int {
		n := 0
		for _, r := range env.gh.Requests() {
			if r.Path == "/login/oauth/access_token" && r.Form.Get("grant_type") == "refresh_token" {
				n++
			}
		}
		return n
	}
	s := env.sessionOn(t, 0)
	for _, v := range []string{str(s, "access_token"), str(s, "refresh_token")} {
		if strings.Contains(v, "ghr_") || strings.Contains(v, "ghu_") {
			t.Fatal("a GitHub token shows in a session token")
		}
	}
	if status, body := env.parser(t, 0, str(s, "access_token")); status != 200 {
		t.Fatalf("parser: %d %s", status, body)
	}
	// GitHub's token has expired, the session's has not: the parser renews
	env.advance(9 * time.Hour)
	var wg sync.WaitGroup
	statuses := make([]int, 6)
	for i := range statuses {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			statuses[i], _ = env.parser(t, i%2, str(s, "access_token"))
		}(i)
	}
	wg.Wait()
	for i, status := range statuses {
		if status != 200 {
			t.Fatalf("parser call %d after GitHub's expiry: %d", i, status)
		}
	}
	if n := renewals(); n != 1 {
		t.Fatalf("%d renewals for concurrent calls on two instances, want 1", n)
	}
	// the session refresh carries the renewed token on: no renewal
	status, out := env.refresh(t, 1, str(s, "refresh_token"))
	if status != 200 {
		t.Fatalf("refresh: %d %v", status, out)
	}
	next := out["session"].(map[string]any)
	if status, body := env.parser(t, 0, str(next, "access_token")); status != 200 || renewals() != 1 {
		t.Fatalf("parser after refresh: %d %s, %d renewals", status, body, renewals())
	}
	// expired again: the session refresh renews, and the parser needs nothing
	env.advance(9 * time.Hour)
	status, out = env.refresh(t, 0, str(next, "refresh_token"))
	if status != 200 || renewals() != 2 {
		t.Fatalf("refresh after the second expiry: %d %v, %d renewals", status, out, renewals())
	}
	last := out["session"].(map[string]any)
	if status, body := env.parser(t, 1, str(last, "access_token")); status != 200 || renewals() != 2 {
		t.Fatalf("parser after the second renewal: %d %s, %d renewals", status, body, renewals())
	}
	// GitHub ends the grant: the session ends as the dashboard expects
	for _, tok := range env.gh.Tokens() {
		env.gh.RevokeToken(tok.Value)
	}
	env.gh.SetTokenTTL(0)
	env.advance(9 * time.Hour)
	if status, body := env.parser(t, 0, str(last, "access_token")); status != 401 || !strings.Contains(body, "Bad credentials") {
		t.Fatalf("parser once GitHub refuses to renew: %d %s", status, body)
	}
}

// The site keeps both session tokens in one cookie, which browsers keep
// only up to 4 KB: the tokens stay small even for a user with many
// verified addresses and a GitHub App token with its refresh token.
func TestNativeSessionTokensStaySmall(t *testing.T) {
	env := newNativeEnv(t, nil)
	env.gh.SetTokenTTL(8 * time.Hour)
	var emails []fakegithub.Email
	for i := 0; i < 30; i++ {
		emails = append(emails, fakegithub.Email{Email: fmt.Sprintf("someone.with.a.long.name%02d@example-company.com", i), Verified: true, Primary: i == 5})
	}
	env.gh.SetUser(fakegithub.User{Login: "ada", Name: "Ada Lovelace", ID: 1, AvatarURL: "https://avatars.example.com/u/1?v=4&s=460", Emails: emails})
	s := env.sessionOn(t, 0)
	if n := len(str(s, "access_token")) + len(str(s, "refresh_token")); n > 2400 {
		t.Fatalf("the session's tokens take %d bytes", n)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A refresh that cannot renew the GitHub token (GitHub down) does not
// spend the refresh token: trying again later is no theft.
func TestNativeRefreshDuringGitHubOutage(t *testing.T) {
	var down atomic.Bool
	env := newNativeEnv(t, func(_ int, c *NativeConfig) {
		c.Client = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if down.Load() && r.URL.Path == "/login/oauth/access_token" {
				return nil, fmt.Errorf("github is down")
			}
			return http.DefaultTransport.RoundTrip(r)
		})}
	})
	env.gh.SetTokenTTL(8 * time.Hour)
	s := env.sessionOn(t, 0)
	env.advance(9 * time.Hour)
	down.Store(true)
	if status, out := env.refresh(t, 0, str(s, "refresh_token")); status != 503 {
		t.Fatalf("refresh while GitHub is down: %d %v", status, out)
	}
	down.Store(false)
	env.advance(time.Minute)
	status, out := env.refresh(t, 1, str(s, "refresh_token"))
	if status != 200 {
		t.Fatalf("refresh once GitHub is back: %d %v", status, out)
	}
	if status, body := env.parser(t, 0, str(out["session"].(map[string]any), "access_token")); status != 200 {
		t.Fatalf("parser: %d %s", status, body)
	}
}
