package native

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakegithub"
	"github.com/caddy-outstatic/caddy-outstatic/internal/testredis"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// storeNames matches a store name in a recorded command: the prefix, and
// the last segment of a path, which names one token, family or project.
var storeNames = regexp.MustCompile(`outstatic:([^ ]*/)?[^ /|]*`)

// takeTrips is trips' round trips since the last take, each store name
// written as its path with the last segment "*": "GET sessions/ended/*".
func takeTrips(trips *testredis.RoundTrips) []string {
	out := trips.Take()
	for i, trip := range out {
		out[i] = storeNames.ReplaceAllStringFunc(trip, func(name string) string {
			name = strings.TrimPrefix(name, "outstatic:")
			if j := strings.LastIndexByte(name, '/'); j >= 0 {
				return name[:j+1] + "*"
			}
			return name
		})
	}
	return out
}

// TestNativeRedisRoundTrips counts the Redis round trips of each step of a
// login, once the relays' memories are warm: the keyed start and the start
// route none; GitHub's return three for a member the configuration lists
// (the state spent; the user's invitations taken and the exchange token
// stored; the audit record), and for a stored member with two addresses
// five (the token stored once the stored members, read, admit them); the exchange
// token's redemption, the parser call and a session refresh one each, the
// key epoch read with the step's own operations. After a key rotation on
// the other instance, a refresh costs one more (the key record, read for
// the new epoch) and ends the session at once.
func TestNativeRedisRoundTrips(t *testing.T) {
	srv := testredis.Start(t)
	var trips testredis.RoundTrips
	env := newNativeEnv(t, func(_ int, c *NativeConfig) {
		rc := testredis.Client(t, srv.Addr)
		rc.AddHook(&trips)
		c.Store = store.NewRedis(rc, "outstatic")
	})
	step := func(name string, want ...string) {
		t.Helper()
		if got := takeTrips(&trips); !slices.Equal(got, want) {
			t.Errorf("%s: %d round trips %q, want %d %q", name, len(got), got, len(want), want)
		}
	}
	// warm: each relay has read the key epoch and the callback origins
	// and made its connections
	for i := range env.relays {
		s := env.sessionOn(t, i)
		env.parser(t, i, str(s, "access_token"))
		env.refresh(t, i, str(s, "refresh_token"))
	}
	trips.Take()

	status, out, _ := env.call(t, 0, "POST", "/outstatic/auth/github-exchange", env.key, map[string]string{"callback_url": nativeCallback})
	if status != 200 {
		t.Fatalf("github-exchange: %d %v", status, out)
	}
	step("github-exchange (the key from memory)")
	_, authorize := env.follow(t, out["url"].(string))
	step("the start route")
	_, back := env.follow(t, authorize)
	_, final := env.follow(t, back)
	step("GitHub's return", "SET spent/state/*", "GETDEL invites/blog/* | SET xt/*", "SET auditlog/blog/*")
	status, out, _ = env.call(t, 1, "POST", "/outstatic/auth/exchange-token", "", map[string]string{"exchange_token": tokenOf(t, final), "callback_url": nativeCallback})
	if status != 200 {
		t.Fatalf("exchange-token: %d %v", status, out)
	}
	step("exchange-token", "GETDEL xt/* | GET keyepoch")
	session := out["session"].(map[string]any)
	if status, body := env.parser(t, 0, str(session, "access_token")); status != 200 {
		t.Fatalf("parser: %d %s", status, body)
	}
	step("the parser", "GET keyepoch | GET sessions/ended/*")
	status, out = env.refresh(t, 1, str(session, "refresh_token"))
	if status != 200 {
		t.Fatalf("refresh: %d %v", status, out)
	}
	step("refresh-token", "GET keyepoch | GET sessions/ended/* | SET sessions/spent/*")

	if _, _, err := env.relays[1].Roster().CreateKey(context.Background(), "blog", true); err != nil {
		t.Fatal(err)
	}
	trips.Take()
	refresh := str(out["session"].(map[string]any), "refresh_token")
	if status, out := env.refresh(t, 0, refresh); status != 401 || out["error"] != "session-revoked" {
		t.Fatalf("refresh after a rotation on the other instance: %d %v", status, out)
	}
	step("refresh-token after a rotation elsewhere", "GET keyepoch | GET sessions/ended/* | SET sessions/spent/*", "GET keys/*")

	// a stored member with two verified addresses
	env.gh.SetUser(fakegithub.User{Login: "carol", Name: "Carol", ID: 3, Emails: []fakegithub.Email{
		{Email: "carol@example.com", Primary: true, Verified: true}, {Email: "3+carol@users.noreply.github.com", Verified: true}}})
	if _, err := env.relays[0].Roster().AddMember(context.Background(), "blog", "carol", "editor", roster.OperatorActor("test")); err != nil {
		t.Fatal(err)
	}
	trips.Take()
	final = env.login(t, 0)
	tokenOf(t, final)
	step("GitHub's return for a stored member", "SET spent/state/*", "GETDEL invites/blog/* | GETDEL invites/blog/*", "GET members/*", "SET xt/*", "SET auditlog/blog/*")
}
